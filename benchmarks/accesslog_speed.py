#!/usr/bin/env python3
"""Throughput of `analyzer.analyze` on an access log, with and without detection.

    benchmarks/accesslog_speed.py benchmarks/work/access-1GB.log [--runs 1] [--profile 20MB] [--json OUT]

Generate the log first (`benchmarks/gen_accesslog.py --size 1GB`). Each run is one
`analyze([log], log_format=FORMAT)` in this process, timed with perf_counter, twice: with
the default rules and with `rules="-all"` (reading, messages and frames only), so the
share of detection shows. The findings are checked against the generator's truth (every
line with a number gives one x-msisdn finding, identifier +447700900xxx).

`--only ingest` times the log reader alone (`iter_messages`: reading, parsing, message
records; no tables, no detection), the part of the work this reader owns.

`--profile N` also runs cProfile over the first N bytes of the log (a slice written next
to it) with the default rules, and prints where the time goes, by module of lineid.
Machine details (CPU, load average before and after) are printed with the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gen_accesslog, when run as a script
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # analyzer, from a checkout

from gen_accesslog import FORMAT, parse_size

import analyzer

MB = 1_000_000
LOG_FORMAT = "nginx:" + FORMAT


def analyze(path: Path, rules: str | None) -> Any:
    return analyzer.analyze([path], rules=rules, log_format=LOG_FORMAT)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()}


def timed(path: Path, rules: str | None, truth: dict[str, Any] | None) -> dict[str, Any]:
    load = os.getloadavg()
    started = time.perf_counter()
    result = analyze(path, rules)
    elapsed = time.perf_counter() - started
    size = path.stat().st_size
    findings = result.findings
    msisdn = findings[(findings["kind"] == "msisdn") & (findings["field"].str.lower() == "x-msisdn")]
    record = {
        "rules": rules or "default",
        "seconds": round(elapsed, 2),
        "mb_per_s": round(size / elapsed / MB, 2),
        "messages": len(result.messages),
        "header_rows": len(result.headers),
        "findings": len(findings),
        "x_msisdn_findings": len(msisdn),
        "load_before": load,
        "load_after": os.getloadavg(),
    }
    if truth is not None and rules != "-all":
        # Drama-range numbers are not valid E.164 for libphonenumber: the catalog rule reports
        # them as written (without '+'), at medium confidence.
        found = {str(i).lstrip("+") for i in msisdn["identifier"]}
        record["truth_ok"] = len(msisdn) == truth["lines_with_msisdn"] and found == {
            n.lstrip("+") for n in truth["distinct_msisdns"]
        }
    return record


def ingest_only(path: Path) -> dict[str, Any]:
    from analyzer.anomalies import Recorder
    from analyzer.ingest.pipeline import iter_messages
    from analyzer.limits import Limits
    from analyzer.sources import open_evidence

    load = os.getloadavg()
    started = time.perf_counter()
    recorder = Recorder(str(path))
    count = 0
    with open_evidence(path, recorder) as evidence:
        for _ in iter_messages(evidence, source_index=0, limits=Limits(), recorder=recorder, log_format=LOG_FORMAT):
            count += 1
    elapsed = time.perf_counter() - started
    return {
        "rules": "ingest only",
        "seconds": round(elapsed, 2),
        "mb_per_s": round(path.stat().st_size / elapsed / MB, 2),
        "messages": count,
        "load_before": load,
        "load_after": os.getloadavg(),
    }


def profile(path: Path, size: int) -> str:
    piece = path.with_name(path.name + f".first-{size // MB}MB")
    with open(path, "rb") as src, open(piece, "wb") as dst:
        data = src.read(size)
        dst.write(data[: data.rfind(b"\n") + 1])
    profiler = cProfile.Profile()
    profiler.enable()
    analyze(piece, None)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_module: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = filename.split("/analyzer/", 1)[1] if "/analyzer/" in filename else "(python, pandas, re, …)"
        by_module[key] += tottime
    total = sum(by_module.values())
    out = io.StringIO()
    print(f"cProfile, {piece.stat().st_size / MB:.0f} MB, own time by module ({total:.1f} s in all):", file=out)
    for name, seconds in sorted(by_module.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {seconds:7.2f} s {100 * seconds / total:5.1f} %  {name}", file=out)
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(25)
    piece.unlink()
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", default=None, help="also profile the first SIZE of the log (e.g. 20MB)")
    parser.add_argument("--only", choices=("default", "-all", "ingest"), default=None, help="time one configuration")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    truth_path = Path(str(args.log) + ".truth.json")
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else None
    report: dict[str, Any] = {"log": str(args.log), "bytes": args.log.stat().st_size, "machine": machine(), "runs": []}
    print(f"{args.log}: {report['bytes'] / MB:.0f} MB; {report['machine']}", flush=True)
    plans: dict[str | None, list[str | None]] = {
        None: [None, "-all"],
        "default": [None],
        "-all": ["-all"],
        "ingest": ["ingest"],
    }
    configs = plans[args.only]
    for _ in range(args.runs):
        for rules in configs:
            record = ingest_only(args.log) if rules == "ingest" else timed(args.log, rules, truth)
            report["runs"].append(record)
            print(json.dumps(record), flush=True)
    if args.profile:
        text = profile(args.log, parse_size(args.profile))
        report["profile"] = text
        print(text)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0 if all(r.get("truth_ok", True) for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
