#!/usr/bin/env python3
"""Throughput of `lineid batch` with 1 and 2 worker processes, on 20 synthetic captures.

    benchmarks/batch_speed.py [--files 20] [--size 10MB] [--runs 3] [--workers 1 2] [--json OUT]

Generates the captures once (`gen_gateway_capture.py --size SIZE --seed N`, N = 1..FILES)
into benchmarks/work/batch/, then runs `lineid batch FILES -o OUT --workers W --quiet` RUNS
times for each W, interleaved round by round (the order rotates) so that the machine's
noise falls on every W alike, each time into a fresh dataset. Prints each run and the
median throughput (input MB per wall second) per W, and the ratio to the first W.

The machine may be shared: a speedup needs free cores. Each run also records the CPU
the whole machine spent meanwhile (/proc/stat) and lineid's own (its process tree, from
wait4: the workers are its children), so "others" is what other work took. From it,
`free cores` = cores - others/wall: a ratio below target with ~1 free core is the
machine's, not the batch's. The task phase (first input started to last finished, from
the batch manifest) is shown beside the wall time: it leaves out interpreter start-up.

Exit status: 0 when the median ratio of the last W to the first reaches --target, 1 when
it does not, 2 when a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "work" / "batch"
MB = 1_000_000
# The command under test; batch_command is what analyzer/cli.py registers as `lineid batch`.
BATCH = "from analyzer.batch.cli import batch_command; batch_command()"
# /proc/stat cpu fields counted as busy: user nice system (idle iowait) irq softirq steal
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)


@dataclass
class Run:
    workers: int
    round: int
    wall_s: float
    task_phase_s: float  # first input started → last input finished (batch manifest)
    mb_per_s: float
    lineid_cpu_s: float
    machine_cpu_s: float
    others_cpu_s: float
    free_cores: float
    load_avg_1m: float
    exit_code: int


def busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in BUSY_FIELDS) / ticks


def generate(count: int, size: str) -> list[Path]:
    """The captures, generated when missing (two at a time: the generator is one process)."""
    WORK.mkdir(parents=True, exist_ok=True)
    paths = [WORK / f"gi-{size}-{seed:02d}.pcap" for seed in range(1, count + 1)]
    # PATH.truth.json is written after PATH: without it, PATH may be cut short.
    missing = [(seed, p) for seed, p in enumerate(paths, start=1) if not Path(f"{p}.truth.json").exists()]
    generator = HERE / "gen_gateway_capture.py"
    for i in range(0, len(missing), 2):
        procs = [
            subprocess.Popen(
                [sys.executable, str(generator), "--size", size, "--seed", str(seed), "--out", str(p), "--quiet"]
            )
            for seed, p in missing[i : i + 2]
        ]
        if any(proc.wait() != 0 for proc in procs):
            raise SystemExit("gen_gateway_capture.py failed")
    return paths


def task_phase(dataset: Path) -> float:
    sys.path.insert(0, str(REPO))
    from analyzer.batch import manifest_frame

    manifest = manifest_frame(dataset)
    return float((manifest["finished"].max() - manifest["started"].min()).total_seconds())


def run_once(files: list[Path], workers: int, round_no: int, total_mb: float) -> Run:
    out = WORK / f"out-w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-c", BATCH, *map(str, files), "-o", str(out), "--workers", str(workers), "--quiet"]
    load = os.getloadavg()[0]
    machine_before = busy_seconds()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    machine = busy_seconds() - machine_before
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.read().decode(errors="replace") if proc.stderr else "")
    ours = usage.ru_utime + usage.ru_stime
    cores = len(os.sched_getaffinity(0))
    phase = task_phase(out) if proc.returncode == 0 else float("nan")
    shutil.rmtree(out, ignore_errors=True)
    return Run(
        workers=workers,
        round=round_no,
        wall_s=round(wall, 2),
        task_phase_s=round(phase, 2),
        mb_per_s=round(total_mb / wall, 2),
        lineid_cpu_s=round(ours, 2),
        machine_cpu_s=round(machine, 2),
        others_cpu_s=round(max(0.0, machine - ours), 2),
        free_cores=round(max(0.0, cores - max(0.0, machine - ours) / wall), 2),
        load_avg_1m=round(load, 2),
        exit_code=proc.returncode,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--size", default="10MB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--target", type=float, default=1.7, help="ratio of the last --workers to the first")
    parser.add_argument("--json", type=Path, help="write every run and the summary here")
    args = parser.parse_args(argv)

    files = generate(args.files, args.size)
    total_mb = sum(p.stat().st_size for p in files) / MB
    print(f"{len(files)} captures, {total_mb:.1f} MB, in {WORK}; cores usable: {len(os.sched_getaffinity(0))}")
    print("workers round   wall  tasks   MB/s  lineid-cpu  machine-cpu  others-cpu  free-cores  load1")
    runs: list[Run] = []
    for round_no in range(args.runs):
        shift = round_no % len(args.workers)
        for workers in args.workers[shift:] + args.workers[:shift]:
            r = run_once(files, workers, round_no, total_mb)
            runs.append(r)
            print(
                f"{r.workers:>7} {r.round:>5} {r.wall_s:>6.2f} {r.task_phase_s:>6.2f} {r.mb_per_s:>6.2f} "
                f"{r.lineid_cpu_s:>11.2f} {r.machine_cpu_s:>12.2f} {r.others_cpu_s:>11.2f} "
                f"{r.free_cores:>11.2f} {r.load_avg_1m:>6.2f}",
                flush=True,
            )
            if r.exit_code != 0:
                print(f"run failed with exit code {r.exit_code}", file=sys.stderr)
                return 2
    summary = {}
    for workers in args.workers:
        mine = [r for r in runs if r.workers == workers]
        summary[workers] = {
            "median_wall_s": statistics.median(r.wall_s for r in mine),
            "median_task_phase_s": statistics.median(r.task_phase_s for r in mine),
            "median_mb_per_s": statistics.median(r.mb_per_s for r in mine),
            "median_free_cores": statistics.median(r.free_cores for r in mine),
        }
    first, last = summary[args.workers[0]], summary[args.workers[-1]]
    ratio = last["median_mb_per_s"] / first["median_mb_per_s"]
    phase_ratio = first["median_task_phase_s"] / last["median_task_phase_s"]
    print()
    for workers, s in summary.items():
        print(
            f"workers {workers}: median {s['median_mb_per_s']:.2f} MB/s (wall {s['median_wall_s']:.2f} s, "
            f"task phase {s['median_task_phase_s']:.2f} s, free cores {s['median_free_cores']:.2f})"
        )
    verdict = "reached" if ratio >= args.target else "NOT reached"
    print(
        f"ratio {args.workers[-1]}:{args.workers[0]} workers: {ratio:.2f}x end to end, {phase_ratio:.2f}x task phase "
        f"(target {args.target}x {verdict})"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": [asdict(r) for r in runs], "summary": summary, "ratio": ratio}, indent=2)
        )
    return 0 if ratio >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
