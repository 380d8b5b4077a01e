"""`lineid scan`: one analysis written out as a report, data files and an evidence manifest.

Outputs (fixed names; nothing named after input content):
    report.html         self-contained page for a reader (identifiers redacted by default)
    findings.parquet    the timeline, and .csv (spreadsheet-safe) and .jsonl (Timesketch)
    messages.parquet    every HTTP message, written in batches as they are read
    headers.parquet     every header line
    anomalies.parquet   everything odd about the inputs
    manifest.json       inputs with size and SHA-256, tool version, options, counts, times

Everything is written into a hidden temporary folder inside OUTDIR and moved into place
at the end, so a run that is killed leaves no half-written file under a final name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

import analyzer
from analyzer.analysis import Analysis
from analyzer.api import InputResult, Options, hashed_findings, read_input
from analyzer.errors import InputError, UsageError
from analyzer.redact import redactor
from analyzer.report.chart import UNIT_NAMES, bin_for_span, timeline_svg
from analyzer.report.exports import redact_findings, write_csv, write_jsonl, write_parquet
from analyzer.schema import CONFIDENCE_LEVELS, MESSAGES, from_arrow
from analyzer.tables import ParquetSink

OUTPUT_FILES = (
    "report.html",
    "findings.parquet",
    "findings.csv",
    "findings.jsonl",
    "messages.parquet",
    "headers.parquet",
    "anomalies.parquet",
    "manifest.json",
)
# Columns of messages.parquet read back for the report's timeline (not the whole table).
REPORT_MESSAGE_COLUMNS = ["message_id", "source", "ts", "direction", "host", "server_ip", "method", "status"]
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


@dataclass(frozen=True)
class ScanOptions:
    outdir: Path
    redact_report: str = "mask"
    redact_exports: str = "none"
    hmac_key: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    fail_on: str = "medium"
    jobs: int = 1

    def check(self) -> None:
        for mode in (self.redact_report, self.redact_exports):
            redactor(mode, self.hmac_key)  # UsageError for a bad mode or a missing key
        if self.fail_on not in CONFIDENCE_LEVELS:
            raise UsageError(f"--fail-on must be one of {', '.join(CONFIDENCE_LEVELS)}")
        if self.jobs < 1:
            raise UsageError("--jobs must be at least 1")


@dataclass
class ScanResult:
    analysis: Analysis
    exit_code: int
    outputs: dict[str, Path] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


def scan(
    paths: Sequence[str],
    options: Options,
    scan_options: ScanOptions,
    *,
    progress: Callable[[int], None] | None = None,
) -> ScanResult:
    scan_options.check()
    started = datetime.now(UTC)
    outdir = scan_options.outdir
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".lineid-partial-", dir=outdir))
    try:
        results = _read_all(paths, options, scan_options, work, progress)
        analysis = Analysis.from_results(results, options, hashed_findings(results))
        analysis.messages = _messages_for_report(work / "messages.parquet")
        _write_outputs(analysis, results, options, scan_options, work, started)
        for name in OUTPUT_FILES:
            os.replace(work / name, outdir / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    return ScanResult(
        analysis=analysis,
        exit_code=exit_code(analysis, scan_options.fail_on),
        outputs={name: outdir / name for name in OUTPUT_FILES},
        manifest=manifest,
    )


def _read_all(
    paths: Sequence[str],
    options: Options,
    scan_options: ScanOptions,
    work: Path,
    progress: Callable[[int], None] | None,
) -> list[InputResult]:
    sink = ParquetSink(work / "messages.parquet", work / "headers.parquet")
    results: list[InputResult] = []
    try:
        for index, path in enumerate(paths):
            try:
                if scan_options.jobs > 1:
                    from analyzer.ingest.parallel import read_input_sharded

                    result = read_input_sharded(path, index, options, scan_options.jobs, progress=progress)
                    sink.add_frames(result.messages, result.headers)
                    result.messages = result.headers = None
                else:
                    result = read_input(path, index, options, progress=progress, sink=sink)
            except InputError as exc:
                result = InputResult(str(path), index, status="failed", error=str(exc))
            results.append(result)
    finally:
        sink.close()
    return results


def _messages_for_report(path: Path) -> pd.DataFrame:
    """The requests, with the columns the report's timeline needs, read back from what was
    written (the timeline counts requests; responses would double the memory for nothing)."""
    categories = [c.name for c in MESSAGES if c.dtype == "category" and c.name in REPORT_MESSAGE_COLUMNS]
    table = pq.read_table(
        path, columns=REPORT_MESSAGE_COLUMNS, read_dictionary=categories, filters=[("direction", "=", "request")]
    )
    return from_arrow("messages", table, REPORT_MESSAGE_COLUMNS)


def _write_outputs(
    analysis: Analysis,
    results: list[InputResult],
    options: Options,
    scan_options: ScanOptions,
    work: Path,
    started: datetime,
) -> None:
    from analyzer.report.html import render_report

    key = scan_options.hmac_key
    exported = analysis.findings
    if scan_options.redact_exports != "none":
        exported = redact_findings(exported, redactor(scan_options.redact_exports, key))
    write_parquet("findings", exported, work / "findings.parquet")
    write_csv(exported, work / "findings.csv")
    write_jsonl(exported, work / "findings.jsonl")
    write_parquet("anomalies", analysis.anomalies, work / "anomalies.parquet")
    manifest = build_manifest(analysis, results, options, scan_options, started)
    tables = report_tables(analysis, scan_options.trusted_hosts)
    html = render_report(
        analysis,
        redact=redactor(scan_options.redact_report, key),
        redaction=scan_options.redact_report,
        manifest=manifest,
        **tables,
    )
    (work / "report.html").write_text(html, encoding="utf-8")
    manifest["finished"] = datetime.now(UTC).isoformat()
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def report_tables(analysis: Analysis, trusted_hosts: Sequence[str]) -> dict[str, Any]:
    """The summaries the report shows: per identifier, per site, the exposure window, the chart."""
    trusted = list(trusted_hosts) or None
    windows = analysis.onset(trusted_hosts=trusted) if len(analysis.messages) else None
    if windows is None or not len(windows):
        reading = "no exposure window found" if windows is not None else "not determined (no messages)"
        shown = pd.DataFrame()
    else:
        reading = str(windows)
        if not trusted:
            reading += " (no --trusted-hosts given: legitimate partners count as exposure too)"
        shown = windows[["start", "end", "requests", "identified", "identifiers", "hosts", "confidence"]]
    chart = None
    if len(analysis.findings) and analysis.messages["ts"].notna().any():
        times = analysis.messages["ts"].dropna()
        freq = bin_for_span(times.min(), times.max())
        title = f"Exposure: {reading}" if windows is not None and len(windows) else "Requests carrying identifiers"
        chart = (timeline_svg(analysis.daily(freq), windows, with_all=True, title=title), UNIT_NAMES.get(freq, freq))
    return {
        "exposures": analysis.exposures(),
        "recipients": analysis.recipients(),
        "windows": shown,
        "window_text": reading,
        "chart": chart,
    }


def build_manifest(
    analysis: Analysis,
    results: list[InputResult],
    options: Options,
    scan_options: ScanOptions,
    started: datetime,
) -> dict[str, Any]:
    findings = analysis.findings
    by_confidence = findings["confidence"].value_counts().reindex(list(CONFIDENCE_LEVELS), fill_value=0)
    return {
        "tool": "lineid",
        "version": analyzer.__version__,
        "started": started.isoformat(),
        "finished": None,
        "inputs": [
            {
                "index": r.index,
                "path": r.path,
                "size": r.size,
                "sha256": r.sha256,
                "format": r.format,
                "compression": r.compression,
                "status": r.status,
                "error": r.error,
                "messages": r.message_count,
            }
            for r in results
        ],
        "options": {
            **options.describe(),
            "redact_report": scan_options.redact_report,
            "redact_exports": scan_options.redact_exports,
            "trusted_hosts": len(scan_options.trusted_hosts),
            "fail_on": scan_options.fail_on,
            "jobs": scan_options.jobs,
        },
        "counts": {
            "messages": int(sum(r.message_count for r in results)),
            "findings": len(findings),
            "findings_by_confidence": {k: int(v) for k, v in by_confidence.items()},
            "identifiers": int(findings["identifier"].nunique()),
            "anomalies": len(analysis.anomalies),
            "failed_inputs": sum(r.status == "failed" for r in results),
        },
        "outputs": list(OUTPUT_FILES),
    }


def exit_code(analysis: Analysis, fail_on: str) -> int:
    """0 clean, 1 findings at or above `fail_on`, 2 no input read, 3 some inputs failed."""
    statuses = analysis.inputs["status"]
    if len(statuses) and (statuses == "failed").all():
        return EXIT_USAGE
    if (statuses == "failed").any():
        return EXIT_PARTIAL
    threshold = CONFIDENCE_LEVELS.index(fail_on)
    levels = {CONFIDENCE_LEVELS.index(str(c)) for c in analysis.findings["confidence"].dropna().unique()}
    return EXIT_FINDINGS if any(level >= threshold for level in levels) else EXIT_OK
