"""Peak memory and wall time of lineid reading a large HAR, against haralyzer loading it.

    python benchmarks/har_memory.py /tmp/big.har [--mb 220] [--profile page-load] [--runs 3] [--check]

Writes the HAR with `gen_har.py` first unless it exists already (then it is reused: give
a fresh path, or --regenerate, after changing the generator). Each measurement is its own
subprocess, so peak RSS is the child's alone (`os.wait4` → `ru_maxrss`) and imports are
paid by each side as a user would pay them. Runs alternate between the contenders so that
drift (page cache, CPU frequency) falls on both, and the median of `--runs` is reported:

- lineid: `analyzer.analyze([path])`, the public API: reading, detection and frames.
- lineid, no rules: `analyzer.analyze([path], rules="-all")`, the same without detection,
  which is the part that compares with loading a HAR into haralyzer (which detects nothing).
- haralyzer: `HarParser.from_file(path)` (json.load of the whole file), then every entry
  the documented way (`for page in parser.pages: for entry in page.entries`), touching
  each entry's request and response headers.
- haralyzer, minimal: the same load, then `HarEntry` over `log.entries` directly, which
  skips the per-page sort on dateutil-parsed start times (the cheapest use of haralyzer).

Targets (the issue): lineid's peak memory at most 25 % of haralyzer's, its time no worse.
--check exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gen_har, when run as a script

from gen_har import PROFILES, generate

ROOT = Path(__file__).resolve().parent.parent
CHILDREN = {
    "lineid": """
import sys
import analyzer
result = analyzer.analyze([sys.argv[1]])
print(len(result.messages), len(result.headers))
""",
    "lineid-no-rules": """
import sys
import analyzer
result = analyzer.analyze([sys.argv[1]], rules="-all")
print(len(result.messages), len(result.headers))
""",
    "haralyzer": """
import sys
from haralyzer import HarParser
parser = HarParser.from_file(sys.argv[1])
count = 0
for page in parser.pages:
    for entry in page.entries:
        entry.request.headers, entry.response.headers
        count += 1
print(count)
""",
    "haralyzer-minimal": """
import sys
from haralyzer import HarEntry, HarParser
parser = HarParser.from_file(sys.argv[1])
count = 0
for raw in parser.har_data["entries"]:
    entry = HarEntry(raw)
    entry.request.headers, entry.response.headers
    count += 1
print(count)
""",
}


def measure(name: str, path: Path) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MiB, what the child printed) of one child run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILDREN[name], str(path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all of them).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed:\n{err}")
    cpu = usage.ru_utime + usage.ru_stime  # less sensitive than wall time to a busy machine
    return wall, cpu, usage.ru_maxrss / 1024, out.strip()  # ru_maxrss is in KiB on Linux


def warm(path: Path) -> None:
    """Read the file once, so every run finds it in the page cache alike."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="HAR to read (written first if missing; keep it out of the repo)")
    parser.add_argument("--mb", type=int, default=220, help="size of a generated HAR in MiB (at least 200)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="page-load")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true", help="write the HAR even if the path exists")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--only", type=lambda text: text.split(","), default=list(CHILDREN), help=f"subset of {','.join(CHILDREN)}"
    )
    args = parser.parse_args(argv)
    if args.mb < 200:
        parser.error("--mb must be at least 200 (the issue's size)")
    where = args.path.resolve()
    if where.is_relative_to(ROOT) and not where.is_relative_to(ROOT / "benchmarks" / "work"):
        parser.error("write the HAR outside the repository (or under the git-ignored benchmarks/work/)")
    if args.regenerate or not args.path.exists():
        print(f"writing {args.path} ({args.mb} MiB, {args.profile}) ...", file=sys.stderr)
        generate(args.path, args.mb, profile=args.profile)
    size = args.path.stat().st_size
    warm(args.path)
    names = [name for name in CHILDREN if name in args.only]
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for i in range(args.runs):
        for name in names:
            wall, cpu, rss, out = measure(name, args.path)
            runs[name].append((wall, cpu, rss))
            print(
                f"run {i + 1} {name:18s} {wall:7.2f} s {cpu:7.2f} s CPU {rss:8.1f} MiB  ({out})",
                file=sys.stderr,
                flush=True,
            )
    medians = {name: tuple(statistics.median(column) for column in zip(*r, strict=True)) for name, r in runs.items()}
    print(f"\n{args.path}: {size / 2**20:.1f} MiB ({size} bytes), {args.profile}, median of {args.runs} runs")
    print(f"{'':18s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MiB':>13s}")
    for name, (wall, cpu, rss) in medians.items():
        print(f"{name:18s} {wall:8.2f} {cpu:8.2f} {rss:13.1f}")
    missed = False
    if "haralyzer" in medians:
        har_wall, _, har_rss = medians["haralyzer"]
        print()
        for name in ("lineid", "lineid-no-rules"):
            if name in medians:
                wall, _, rss = medians[name]
                print(
                    f"{name}: peak memory {rss / har_rss:.0%} of haralyzer's (target <= 25%), "
                    f"wall time {wall / har_wall:.2f}x haralyzer's (target <= 1.00x)"
                )
                missed |= name == "lineid" and (rss > 0.25 * har_rss or wall > har_wall)
    summary = {"path": str(args.path), "bytes": size, "profile": args.profile, "runs": args.runs}
    summary |= {
        name: {"wall_s": round(w, 3), "cpu_s": round(c, 3), "peak_rss_mib": round(m, 1)}
        for name, (w, c, m) in medians.items()
    }
    print(json.dumps(summary))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
