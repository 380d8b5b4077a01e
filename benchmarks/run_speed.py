#!/usr/bin/env python3
"""Time lineid against tshark and scapy on one capture, and check lineid's request count.

    benchmarks/run_speed.py CAPTURE [--runs 3] [--lineid-cmd "..."] [--jobs 2] [--json OUT]

Tools, each run --runs times, interleaved round by round (the order rotates every round)
so that the machine's noise falls on all of them alike:

* lineid: `lineid scan CAPTURE -o OUTDIR --quiet`; while `lineid scan --help` fails,
  `lineid headers CAPTURE --format parquet -o OUTDIR/headers.parquet` (said at start).
  With --jobs N > 1 and a scan that has --jobs, `lineid scan ... --jobs N` as well.
* tshark: the HTTP requests, with out-of-order reassembly on, output to /dev/null.
* scapy: a plain PcapReader loop counting packets (when scapy imports); stopped once it
  would pass --scapy-limit, and then reported as a lower bound from its packet rate.

After every lineid run its output is read back and its request count compared with the
generator's truth (CAPTURE.truth.json). Exit status: 0 all well, 1 a count differs,
2 a tool failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `speed` when run as a script

from speed.checks import SCAPY_LOOP, count_lineid_output, count_tshark_requests
from speed.measure import machine_info, run_measured

SCAN_TEMPLATE = "{lineid} scan {capture} -o {outdir} --quiet"
HEADERS_TEMPLATE = "{lineid} headers {capture} --format parquet -o {outdir}/headers.parquet"
TSHARK_ARGS = ["-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", "http.request", "-T", "fields"]
TSHARK_FIELDS = ["frame.number", "http.host", "http.request.uri", "http.request.line"]
MB = 1_000_000


@dataclass
class Tool:
    name: str
    template: list[str]  # argv with {capture} {outdir} placeholders
    checks_lineid: bool = False
    runs: list[dict[str, Any]] = field(default_factory=list)  # JSON-ready records


def find_lineid() -> str:
    # The lineid next to this interpreter is the one of this checkout's venv.
    sibling = Path(sys.executable).with_name("lineid")
    return str(sibling) if sibling.exists() else shutil.which("lineid") or "lineid"


def scan_help(lineid: str) -> str | None:
    try:
        done = subprocess.run([lineid, "scan", "--help"], capture_output=True, text=True, timeout=120, check=False)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def read_and_hash(path: Path) -> str:
    """SHA-256 of the capture; reading it also puts it in the page cache, so the first
    timed tool does not pay the disk for the others."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def count_packets(path: Path) -> int:
    """Records in a classic pcap, by walking record headers (for scapy's extrapolation)."""
    import struct

    count = 0
    with open(path, "rb") as f:
        order = "<" if f.read(24)[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        header = struct.Struct(order + "IIII")
        while len(head := f.read(16)) == 16:
            f.seek(header.unpack(head)[2], 1)
            count += 1
    return count


def build_tools(args: argparse.Namespace, lineid: str) -> tuple[list[Tool], str]:
    tools: list[Tool] = []
    if args.lineid_cmd:
        note = f"lineid command given: {args.lineid_cmd}"
        tools.append(Tool("lineid (given command)", shlex.split(args.lineid_cmd), checks_lineid=True))
    else:
        help_text = scan_help(lineid)
        if help_text is not None:
            note = "lineid scan is available: timing `lineid scan`"
            tools.append(Tool("lineid scan", shlex.split(SCAN_TEMPLATE.replace("{lineid}", lineid)), True))
            if args.jobs > 1 and "--jobs" in help_text:
                argv = [*shlex.split(SCAN_TEMPLATE.replace("{lineid}", lineid)), "--jobs", str(args.jobs)]
                tools.append(Tool(f"lineid scan --jobs {args.jobs}", argv, True))
            elif args.jobs > 1:
                note += f" (it has no --jobs option: no --jobs {args.jobs} variant)"
        else:
            note = "`lineid scan --help` failed: falling back to `lineid headers --format parquet`"
            tools.append(
                Tool("lineid headers (parquet)", shlex.split(HEADERS_TEMPLATE.replace("{lineid}", lineid)), True)
            )
    tshark = shutil.which("tshark")
    if tshark and not args.no_tshark:
        fields = [x for f in TSHARK_FIELDS for x in ("-e", f)]
        tools.append(Tool("tshark -Y http.request", [tshark, *TSHARK_ARGS, *fields, "-r", "{capture}"]))
    if not args.no_scapy and subprocess.run([sys.executable, "-c", "import scapy.utils"], check=False).returncode == 0:
        tools.append(
            Tool("scapy PcapReader count", [sys.executable, "-c", SCAPY_LOOP, "{capture}", "{limit}", "{total}"])
        )
    return tools, note


def render(argv: list[str], values: dict[str, str]) -> list[str]:
    return [a.format(**values) if "{" in a else a for a in argv]


def run_tool(tool: Tool, capture: Path, truth: dict[str, Any] | None, args: argparse.Namespace, total: int) -> bool:
    """One timed run; returns False when the tool failed or its count is wrong."""
    truth_requests = truth["http"]["requests"] if truth else None
    truth_ids = {i for ids in truth["identifiers"].values() for i in ids} if truth else None
    with tempfile.TemporaryDirectory(prefix="run_speed.", dir=args.tmp) as outdir:
        values = {"capture": str(capture), "outdir": outdir, "limit": str(args.scapy_limit), "total": str(total)}
        is_scapy = tool.name.startswith("scapy")
        stdout_to = str(Path(outdir) / "stdout.txt") if is_scapy else None
        result = run_measured(render(tool.template, values), stdout_to=stdout_to, timeout_s=args.timeout)
        run: dict[str, Any] = {
            "wall_s": round(result.wall_s, 3),
            "cpu_s": round(result.cpu_s, 3),
            "max_rss_mb": round(result.max_rss_mb, 1),
            "tree_rss_mb": round(result.tree_rss_mb, 1),
            "exit_code": result.exit_code,
            "rss_source": result.rss_source,
        }
        ok = result.exit_code == 0 and not result.killed
        if is_scapy and ok:
            packets, loop_s, stopped = result.stdout.split()
            run |= {"packets": int(packets), "loop_s": float(loop_s), "stopped_early": stopped == "1"}
            if stopped == "1":
                rate = int(packets) / float(loop_s)
                run |= {"packet_rate": round(rate), "estimated_s": round(total / rate, 1)}
        if tool.checks_lineid and ok:
            count = count_lineid_output(Path(outdir))
            run |= {"requests": count.requests, "responses": count.responses, "count_from": count.how}
            if count.identifiers is not None:
                run["distinct_identifiers"] = len(count.identifiers)
                if truth_ids is not None:
                    run["identifiers_missed"] = len(truth_ids - count.identifiers)
                    run["identifiers_not_in_truth"] = len(count.identifiers - truth_ids)
            if truth_requests is not None and count.requests != truth_requests:
                ok = False
        if not ok:
            run["stderr_tail"] = result.stderr_tail
    tool.runs.append(run)
    shown = f"{tool.name}: {result.wall_s:.2f} s ({result.cpu_s:.2f} s CPU), {result.tree_rss_mb:.0f} MB"
    if "requests" in run:
        shown += f", {run['requests']} requests"
    if "identifiers_missed" in run:
        shown += f", ids: {run['identifiers_missed']} missed, {run['identifiers_not_in_truth']} not in truth"
    if "estimated_s" in run:
        shown += f" (stopped after {run['packets']} packets; whole file ≈ {run['estimated_s']} s)"
    print(("  " if ok else "  FAILED ") + shown, flush=True)
    if not ok:
        print("    " + str(run.get("stderr_tail", "")).replace("\n", "\n    "), flush=True)
    return ok


def summarise(tool: Tool) -> dict[str, Any]:
    walls = [float(r["wall_s"]) for r in tool.runs if r["exit_code"] == 0]
    if any(r.get("estimated_s") for r in tool.runs):
        # Stopped early: the wall time is of a partial run; the estimate is the figure.
        walls = [max(float(r["wall_s"]), float(r["estimated_s"])) for r in tool.runs if r.get("estimated_s")]
    return {
        "median_s": statistics.median(walls) if walls else None,
        "min_s": min(walls, default=None),
        "max_s": max(walls, default=None),
        "median_cpu_s": statistics.median(float(r["cpu_s"]) for r in tool.runs) if tool.runs else None,
        "max_rss_mb": max((float(r["max_rss_mb"]) for r in tool.runs), default=None),
        "tree_rss_mb": max((float(r["tree_rss_mb"]) for r in tool.runs), default=None),
        "lower_bound": any(r.get("estimated_s") for r in tool.runs),
    }


def print_table(tools: list[Tool], summaries: list[dict[str, Any]], size_mb: float) -> None:
    base = summaries[0]["median_s"] if summaries and summaries[0]["median_s"] else None
    head = f"{'tool':<28}{'runs':>5}{'median s':>10}{'min s':>9}{'max s':>9}{'CPU s':>8}{'MB/s':>8}{'RSS MB':>8}"
    head += f"{'tree MB':>9}"
    print(head + f"{'× lineid':>10}")
    print("-" * (len(head) + 10))
    for tool, s in zip(tools, summaries, strict=True):
        med = s["median_s"]
        if not isinstance(med, float | int):
            print(f"{tool.name:<28}{len(tool.runs):>5}{'failed':>10}")
            continue
        shown = ("≥" if s["lower_bound"] else "") + f"{med:.2f}"
        ratio = f"{med / base:9.2f}×" if base else ""
        print(
            f"{tool.name:<28}{len(tool.runs):>5}{shown:>10}{s['min_s']:>9.2f}{s['max_s']:>9.2f}{s['median_cpu_s']:>8.2f}"
            f"{size_mb / med:>8.1f}{s['max_rss_mb']:>8.0f}{s['tree_rss_mb']:>9.0f}{ratio:>10}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("capture", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lineid-cmd", help="lineid command with {capture} and {outdir} placeholders")
    parser.add_argument("--jobs", type=int, default=2, help="also time `lineid scan --jobs N` when scan has it")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--scapy-limit", type=float, default=600.0, help="seconds before scapy is stopped")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds before any other tool is killed")
    parser.add_argument("--no-tshark", action="store_true")
    parser.add_argument("--no-scapy", action="store_true")
    parser.add_argument("--count-tshark", action="store_true", help="one extra, untimed tshark run to count requests")
    parser.add_argument("--tmp", help="directory for the tools' outputs (default: the system's)")
    args = parser.parse_args(argv)

    capture = args.capture.resolve()
    if not capture.is_file():
        parser.error(f"{capture}: no such file")
    lineid = find_lineid()
    truth_path = Path(f"{capture}.truth.json")
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else None
    truth_requests = truth["http"]["requests"] if truth else None
    machine = machine_info(sys.executable, lineid, shutil.which("tshark"))
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    size_mb = capture.stat().st_size / MB
    print(f"capture: {capture} ({size_mb:.1f} MB), hashing it (and warming the page cache)...", flush=True)
    sha256 = read_and_hash(capture)
    total = truth["packets"] if truth else count_packets(capture)
    print(f"  sha256 {sha256}, {total} packets")
    if truth:
        h = truth["http"]
        print(
            f"  truth: {h['requests']} requests, {h['responses']} responses, {h['requests_with_identifier']} with an id"
        )
    else:
        print(f"  no {truth_path.name}: the request count cannot be checked")

    tools, note = build_tools(args, lineid)
    print(note)
    for tool in tools:
        print(f"  {tool.name}: {shlex.join(tool.template)[:200]}")
    failed = False
    for round_no in range(args.runs):
        shift = round_no % len(tools)
        print(f"round {round_no + 1}/{args.runs}", flush=True)
        for tool in tools[shift:] + tools[:shift]:
            failed |= not run_tool(tool, capture, truth, args, total)

    summaries = [summarise(t) for t in tools]
    print()
    print_table(tools, summaries, size_mb)
    source = next((r["rss_source"] for t in tools for r in t.runs), "?")
    print("median s, min s, max s: wall time; CPU s: median user + system time (steadier on a busy machine)")
    print(f"RSS MB: peak of the largest process ({source}); tree MB: peak of the process tree's sum, sampled")
    tshark_count = None
    if args.count_tshark and shutil.which("tshark"):
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
            argv = [shutil.which("tshark") or "tshark", *TSHARK_ARGS, "-e", "frame.number", "-e", "http.request.method"]
            run_measured([*argv, "-r", str(capture)], stdout_to=out.name)
            tshark_count = count_tshark_requests(Path(out.name).read_text())
    print()
    status = 2 if failed else 0
    for tool in (t for t in tools if t.checks_lineid):
        counts = {r.get("requests") for r in tool.runs}
        how = next((r.get("count_from") for r in tool.runs if r.get("count_from")), "no output read")
        if truth_requests is None:
            print(f"request count: {tool.name} reported {counts} ({how}); no truth to compare")
        elif counts == {truth_requests}:
            print(f"request count OK: {tool.name} reported {truth_requests} requests in every run ({how}) = truth")
        else:
            print(
                f"request count WRONG: {tool.name} reported {sorted(counts, key=str)} ({how}), truth {truth_requests}"
            )
            status = max(status, 1)
    if tshark_count is not None:
        print(f"tshark (untimed extra run) reported {tshark_count} requests; truth {truth_requests}")
    if args.json:
        record = {
            "machine": machine,
            "capture": {"path": str(capture), "bytes": capture.stat().st_size, "sha256": sha256, "packets": total},
            "truth": {k: v for k, v in (truth or {}).items() if k != "identifiers"},
            "lineid_note": note,
            "tools": [
                {"name": t.name, "argv": t.template, "runs": t.runs, **s} for t, s in zip(tools, summaries, strict=True)
            ],
            "tshark_request_count": tshark_count,
            "status": status,
        }
        args.json.write_text(json.dumps(record, indent=1, default=str) + "\n")
        print(f"results: {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
