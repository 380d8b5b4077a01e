"""`lineid`: a thin command line over `analyzer.analyze`.

Exit codes (also in the README):
    0  finished; no finding at or above --fail-on
    1  findings at or above --fail-on
    2  usage error, or no input could be read
    3  some inputs failed; the others were processed
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
import pyarrow as pa

import analyzer
from analyzer.batch.cli import batch_command, report_command
from analyzer.cli_options import limit_option, log_format_option
from analyzer.errors import InputError, LineidError, UsageError
from analyzer.limits import Limits

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"lineid: {message}", err=True)
    sys.exit(code)


def parse_limits(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in values:
        name, eq, number = item.partition("=")
        if not eq or not number.strip().isdigit():
            raise click.BadParameter(f"{item!r}: expected NAME=INTEGER (names: {', '.join(Limits.names())})")
        out[name.strip()] = int(number)
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(analyzer.__version__, prog_name="lineid")
def main() -> None:
    """Find where subscriber identifiers (MSISDN, IMSI, IMEI, tracking tokens) travelled
    in clear HTTP, from packet captures (pcap, pcapng, compressed), HAR files and HTTP logs
    (Zeek http.log, Suricata EVE, web and proxy access logs)."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        # Arrow's default pool (mimalloc) keeps freed pages: ~45 MB of a 2 GB scan's peak for
        # its short-lived Parquet buffers. The C library's pool gives them back.
        pa.set_memory_pool(pa.system_memory_pool())


def _analyze(inputs: Sequence[str], **kwargs: Any) -> analyzer.Analysis:
    try:
        result = analyzer.analyze(list(inputs), errors="record", **kwargs)
    except UsageError as exc:
        fail(str(exc))
    except LineidError as exc:  # pragma: no cover - analyze(errors="record") raises no InputError
        fail(str(exc))
    failed = result.failed_inputs
    for error in failed["error"]:
        click.echo(f"lineid: {error}", err=True)
    if len(failed) == len(result.inputs):
        sys.exit(EXIT_USAGE)
    return result


@main.command("headers")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "parquet"]),
    default="csv",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Output file (default: standard output; required for parquet).",
)
@log_format_option
@limit_option
def headers_command(
    inputs: Sequence[str], fmt: str, output: Path | None, log_format: str | None, limits: Sequence[str]
) -> None:
    """Write every header of every HTTP message, one row per header line, with the
    message's provenance (source, frames or HAR entry, flow, endpoints, method, URI)."""
    from analyzer.report.export import header_table, write_table

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    result = _analyze(inputs, log_format=log_format, **parse_limits(limits))
    write_table(header_table(result), fmt, output)
    sys.exit(EXIT_PARTIAL if len(result.failed_inputs) else EXIT_OK)


def read_lines(path: Path | None) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a list file (watchlist, trusted hosts)."""
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"{path}: cannot be read ({exc.strerror or exc})")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


class Progress:
    """A tqdm bar of input bytes read, on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="lineid", leave=False, file=sys.stderr
            )

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command("scan")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "-o",
    "--outdir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.html, findings.*, messages/headers/anomalies.parquet, manifest.json.",
)
@click.option("--region", metavar="CC", help="ISO country for numbers written in national format (e.g. GB).")
@click.option(
    "--watchlist",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File of numbers to find in any form, one per line.",
)
@click.option(
    "--trusted-hosts",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File of hosts allowed to receive identifiers (names, .suffixes or patterns), one per line.",
)
@click.option("--rules", metavar="EXPR", help="Rule selection, e.g. 'all,-tracking-token' (see `lineid rules`).")
@click.option(
    "--redact", type=click.Choice(["none", "mask", "hmac"]), help="Redaction for both the report and the data files."
)
@click.option(
    "--redact-report", type=click.Choice(["none", "mask", "hmac"]), help="Redaction in report.html [default: mask]."
)
@click.option(
    "--redact-exports",
    type=click.Choice(["none", "mask", "hmac"]),
    help="Redaction in findings.parquet/csv/jsonl [default: none].",
)
@click.option("--hmac-key", envvar="LINEID_HMAC_KEY", help="Key for --redact hmac (or LINEID_HMAC_KEY).")
@click.option(
    "--fail-on",
    type=click.Choice(["low", "medium", "high"]),
    default="medium",
    show_default=True,
    help="Exit 1 when a finding at or above this confidence is found.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes per capture (flows are sharded by a hash of their key).",
)
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
@log_format_option
@limit_option
def scan_command(
    inputs: Sequence[str],
    outdir: Path,
    region: str | None,
    watchlist: Path | None,
    trusted_hosts: Path | None,
    rules: str | None,
    redact: str | None,
    redact_report: str | None,
    redact_exports: str | None,
    hmac_key: str | None,
    fail_on: str,
    jobs: int,
    quiet: bool,
    log_format: str | None,
    limits: Sequence[str],
) -> None:
    """Analyse INPUTs (captures, HAR files, HTTP logs) and write the report, data files and manifest.

    \b
    Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it;
    2 usage error or no readable input; 3 some inputs failed, the rest were processed.
    """
    from analyzer.api import _options
    from analyzer.report.scan import ScanOptions, scan

    scan_options = ScanOptions(
        outdir=outdir,
        redact_report=redact_report or redact or "mask",
        redact_exports=redact_exports or redact or "none",
        hmac_key=hmac_key,
        trusted_hosts=read_lines(trusted_hosts),
        fail_on=fail_on,
        jobs=jobs,
    )
    total = sum(Path(p).stat().st_size for p in inputs if Path(p).is_file())
    progress = Progress(total, enabled=not quiet)
    try:
        options = _options(read_lines(watchlist), region, rules, None, False, parse_limits(limits), log_format)
        result = scan(list(inputs), options, scan_options, progress=progress)
    except UsageError as exc:
        fail(str(exc))
    finally:
        progress.close()
    for error in result.analysis.failed_inputs["error"]:
        click.echo(f"lineid: {error}", err=True)
    if not quiet:
        click.echo(summary_text(result), err=True)
    sys.exit(result.exit_code)


def summary_text(result: Any) -> str:
    counts = result.manifest["counts"]
    conf = counts["findings_by_confidence"]
    lines = [
        f"inputs      {len(result.manifest['inputs'])} ({counts['failed_inputs']} failed)",
        f"messages    {counts['messages']}",
        f"findings    {counts['findings']} (high {conf['high']}, medium {conf['medium']}, low {conf['low']})",
        f"identifiers {counts['identifiers']}",
        f"anomalies   {counts['anomalies']}",
        f"report      {result.outputs['report.html']}",
    ]
    return "\n".join(lines)


@main.command("catalog")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def catalog_command(fmt: str) -> None:
    """Print the catalog of header names known to carry subscriber identity."""
    from analyzer.detect.catalog import entries

    rows = [
        (e.name, str(e.kind), str(e.evidence), "; ".join(e.operators) or "-", " ".join(e.sources)) for e in entries()
    ]
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["name", "kind", "evidence", "operators", "sources"])
        writer.writerows(rows)
        return
    width = max(len(r[0]) for r in rows)
    click.echo(f"{'header':<{width}}  {'kind':<20}  {'evidence':<13}  operators")
    for name, kind, evidence, operators, _ in rows:
        click.echo(f"{name:<{width}}  {kind:<20}  {evidence:<13}  {operators}")
    click.echo(f"\n{len(rows)} header names; sources in analyzer/data/header_sources.csv", err=True)


@main.command("rules")
def rules_command() -> None:
    """List the detection rules and decoders that --rules selects from."""
    from analyzer.detect.engine import registry

    reg = registry()
    for rule in reg:
        click.echo(f"{rule.id:<22} [{', '.join(rule.surfaces)}] {rule.description}")
    for decoder_id, decoder in reg.decoders.items():
        click.echo(f"{decoder_id:<22} [decoder] {getattr(decoder, 'description', '')}")


main.add_command(batch_command)
main.add_command(report_command)


def run() -> None:  # pragma: no cover - console entry for `python -m analyzer`
    try:
        main()
    except InputError as exc:
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    run()
