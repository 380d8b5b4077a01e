"""`lineid`: a thin command line over `analyzer.analyze`.

Exit codes (also in the README):
    0  finished; no finding at or above --fail-on
    1  findings at or above --fail-on
    2  usage error, or no input could be read
    3  some inputs failed; the others were processed
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

import analyzer
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


limit_option = click.option(
    "--limit",
    "limits",
    multiple=True,
    metavar="NAME=N",
    help="Change a named limit, e.g. --limit max_live_flows=50000 (see docs/limits.md).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(analyzer.__version__, prog_name="lineid")
def main() -> None:
    """Find where subscriber identifiers (MSISDN, IMSI, IMEI, tracking tokens) travelled
    in clear HTTP, from packet captures (pcap, pcapng, compressed) and HAR files."""


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
@limit_option
def headers_command(inputs: Sequence[str], fmt: str, output: Path | None, limits: Sequence[str]) -> None:
    """Write every header of every HTTP message, one row per header line, with the
    message's provenance (source, frames or HAR entry, flow, endpoints, method, URI)."""
    from analyzer.report.export import header_table, write_table

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    result = _analyze(inputs, **parse_limits(limits))
    write_table(header_table(result), fmt, output)
    sys.exit(EXIT_PARTIAL if len(result.failed_inputs) else EXIT_OK)


def run() -> None:  # pragma: no cover - console entry for `python -m analyzer`
    try:
        main()
    except InputError as exc:
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    run()
