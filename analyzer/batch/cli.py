"""`lineid batch` and `lineid report`: the click commands over analyzer.batch.

Registered on the `lineid` group by analyzer/cli.py (`main.add_command(...)`). Helpers of
analyzer/cli.py are imported inside the functions, never at import time: analyzer/cli.py
imports this module to register the commands.

Exit codes, as for `lineid scan`: 0 every input done (or skipped: not a capture or HAR
file); 2 usage error, or no input done; 3 some inputs failed, the others are in the
dataset. `batch` does not exit 1 on findings: it fills a dataset, it does not judge it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from analyzer.cli_options import limit_option, log_format_option
from analyzer.errors import UsageError

REPORT_NAME = "report.html"


@click.command("batch")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    "dataset",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dataset folder: messages/, headers/, findings/, anomalies/ (Parquet by date=DAY), batch-manifest/.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=lambda: os.cpu_count() or 1,
    show_default="CPUs",
    help="Local worker processes.",
)
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run on this Dask scheduler (workers see DATASET).")
@click.option("--dask-local", type=click.IntRange(min=1), metavar="N", help="Run on a local Dask cluster of N workers.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a dataset: inputs done with the same SHA-256, lineid version and options are kept.",
)
@click.option("--region", metavar="CC", help="ISO country for numbers written in national format (e.g. GB).")
@click.option(
    "--watchlist",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File of numbers to find in any form, one per line.",
)
@click.option("--rules", metavar="EXPR", help="Rule selection, e.g. 'all,-tracking-token' (see `lineid rules`).")
@log_format_option
@limit_option
@click.option("--quiet", is_flag=True, help="Only failures and the summary.")
def batch_command(
    sources: Sequence[str],
    dataset: Path,
    workers: int,
    scheduler: str | None,
    dask_local: int | None,
    resume: bool,
    region: str | None,
    watchlist: Path | None,
    rules: str | None,
    log_format: str | None,
    limits: Sequence[str],
    quiet: bool,
) -> None:
    """Analyse every capture, HAR file and HTTP log under SOURCES (files, folders, globs, fsspec URLs
    such as s3://bucket/prefix/) into a Parquet dataset, one input per task.

    \b
    Files are recognised by content; others are skipped and listed. An input that cannot
    be read is recorded as failed and the rest go on (exit 3). A batch that was stopped
    is continued with --resume: inputs already done are only hashed, not analysed again.
    """
    from analyzer.api import _options
    from analyzer.batch.runner import run_batch
    from analyzer.batch.sources import expand_sources
    from analyzer.batch.task import Outcome
    from analyzer.cli import EXIT_USAGE, fail, parse_limits, read_lines

    def report(outcome: Outcome) -> None:
        row = outcome.row
        if outcome.unchanged:
            line = f"kept     {outcome.note or outcome.source + ' (done before)'}"
        elif row["status"] == "done":
            line = f"done     {outcome.source} ({row['messages']} messages, {row['findings']} findings)"
        else:
            line = f"{row['status']:<8} {row['error']}"
        if not quiet or row.get("status") == "failed":
            click.echo(f"lineid: {line}", err=True)

    try:
        # A bad rule expression or log format fails before any file is listed.
        options = _options(read_lines(watchlist), region, rules, None, False, parse_limits(limits), log_format)
        found = expand_sources(list(sources), exclude=dataset)
        if not found:
            fail("no input found under the SOURCES given", EXIT_USAGE)
        result = run_batch(
            found,
            dataset,
            options,
            workers=workers,
            scheduler=scheduler,
            dask_local=dask_local,
            resume=resume,
            on_outcome=report,
        )
    except UsageError as exc:
        fail(str(exc))
    for note in result.notes:
        click.echo(f"lineid: note: {note}", err=True)
    skipped = [r for r in result.rows if r["status"] == "skipped"]
    if skipped and quiet:
        click.echo(f"lineid: {len(skipped)} file(s) skipped (not a capture or HAR file):", err=True)
        for row in skipped:
            click.echo(f"lineid:   {row['error']}", err=True)
    click.echo(
        f"inputs   {len(result.rows)}: {result.count('done')} done ({result.unchanged} kept from before), "
        f"{result.count('skipped')} skipped, {result.count('failed')} failed\n"
        f"dataset  {result.root}",
        err=True,
    )
    sys.exit(result.exit_code)


@click.command("report")
@click.argument("dataset", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML report to write.",
)
@click.option(
    "--redact-report",
    "--redact",
    "redact",
    type=click.Choice(["none", "mask", "hmac"]),
    default="mask",
    show_default=True,
    help="How identifiers are shown.",
)
@click.option("--hmac-key", envvar="LINEID_HMAC_KEY", help="Key for --redact hmac (or LINEID_HMAC_KEY).")
@click.option(
    "--trusted-hosts",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File of hosts allowed to receive identifiers, one per line.",
)
def report_command(dataset: Path, output: Path, redact: str, hmac_key: str | None, trusted_hosts: Path | None) -> None:
    """Write the HTML report of a whole batch DATASET (what `lineid scan` writes for its
    inputs), from the dataset's files: no input is read again."""
    from analyzer.cli import EXIT_OK, fail, read_lines

    try:
        write_dataset_report(dataset, output, redact, hmac_key, read_lines(trusted_hosts))
    except UsageError as exc:
        fail(str(exc))
    click.echo(f"report   {output}", err=True)
    sys.exit(EXIT_OK)


def write_dataset_report(
    dataset: Path, output: Path, redact: str, hmac_key: str | None, trusted_hosts: tuple[str, ...]
) -> dict[str, Any]:
    """The report of `lineid scan`, over a dataset: the same tables and page, with the
    manifest's inputs and options taken from the batch manifest. Returns that manifest."""
    from analyzer.api import Options
    from analyzer.batch.dataset import publish, temp_path
    from analyzer.batch.reader import load_dataset
    from analyzer.redact import redactor
    from analyzer.report.html import render_report
    from analyzer.report.scan import ScanOptions, build_manifest, report_tables

    scan_options = ScanOptions(
        outdir=output.parent, redact_report=redact, hmac_key=hmac_key, trusted_hosts=trusted_hosts
    )
    scan_options.check()
    contents = load_dataset(dataset, headers=False)
    entries = contents.entries
    started = min((e["started"] for e in entries), default=datetime.now(UTC))
    manifest = build_manifest(contents.analysis, contents.results, Options(), scan_options, started)
    # What build_manifest takes from a scan's own options and run, replaced by what the
    # batch manifest recorded (one configuration, or several after a change of options).
    configs = sorted({e["options"] for e in entries})
    manifest["version"] = ", ".join(sorted({e["lineid_version"] for e in entries})) or manifest["version"]
    manifest["finished"] = max((e["finished"] for e in entries), default=started).isoformat()
    manifest["options"] = {
        "batch": configs[0] if len(configs) == 1 else configs,
        "redact_report": redact,
        "trusted_hosts": len(trusted_hosts),
    }
    manifest["skipped_inputs"] = [e["source"] for e in entries if e["status"] == "skipped"]
    manifest["outputs"] = [output.name]
    tables = report_tables(contents.analysis, trusted_hosts)
    html = render_report(
        contents.analysis, redact=redactor(redact, hmac_key), redaction=redact, manifest=manifest, **tables
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(output.parent, ".html")
    try:
        temp.write_text(html, encoding="utf-8")
        publish(temp, output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return manifest
