"""The public entry point: `analyze(paths, **options) -> Analysis`.

The CLI, batch workers and notebooks all come through here. One input is read by
`read_input`, which streams its messages through detection into columns; inputs are
independent, which is what lets `--jobs`, the batch pool and Dask split the work.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from analyzer.analysis import Analysis
from analyzer.anomalies import Recorder
from analyzer.detect.engine import build_detector
from analyzer.detect.rules.hashed import DigestCandidate, match_digests
from analyzer.errors import InputError, UsageError
from analyzer.ingest.pipeline import iter_messages
from analyzer.limits import DEFAULT_LIMITS, Limits
from analyzer.model import Anomaly
from analyzer.sources import open_evidence, sniff_format
from analyzer.tables import FindingColumns, MessageColumns, MessageSink

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Options:
    """Everything that changes what an analysis finds (recorded in manifests)."""

    limits: Limits = DEFAULT_LIMITS
    region: str | None = None
    watchlist: tuple[str, ...] = ()
    rules: str | None = None
    strict: bool = False
    # Access log format (a preset, a format string or the config directive); recognised
    # presets and the other inputs need none.
    log_format: str | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-able description: what a manifest records."""
        return {
            "limits": {name: getattr(self.limits, name) for name in Limits.names()},
            "region": self.region,
            "watchlist_size": len(self.watchlist),
            "rules": self.rules,
            "strict": self.strict,
            "log_format": self.log_format,
        }


@dataclass
class InputResult:
    """What one input gave: its frames and how it went."""

    path: str
    index: int
    format: str | None = None
    compression: str | None = None
    size: int | None = None
    status: Literal["done", "failed"] = "done"
    error: str | None = None
    sha256: str | None = None
    message_count: int = 0
    messages: pd.DataFrame | None = None
    headers: pd.DataFrame | None = None
    findings: pd.DataFrame | None = None
    anomalies: list[Anomaly] = field(default_factory=list)
    # Digest-shaped tokens, matched against every number of the analysis at its end.
    digest_candidates: list[DigestCandidate] = field(default_factory=list)


def read_input(
    path: str | Path,
    index: int,
    options: Options,
    *,
    progress: Progress | None = None,
    shard: tuple[int, int] | None = None,
    sink: MessageSink | None = None,
) -> InputResult:
    """Read one input completely. InputError for an input that cannot be read at all.

    Messages go to `sink` (default: kept in memory and returned as frames); findings and
    anomalies are always returned.
    """
    source = str(path)
    recorder = Recorder(source, strict=options.strict, max_per_code=options.limits.max_anomalies_per_code)
    detector = build_detector(options)
    messages: MessageSink = sink if sink is not None else MessageColumns()
    findings = FindingColumns()
    count = 0
    with open_evidence(source, recorder, on_read=progress) as evidence:
        result = InputResult(source, index, compression=evidence.compression, size=evidence.size)
        result.format = sniff_format(evidence, options.log_format)
        for message in iter_messages(
            evidence,
            source_index=index,
            limits=options.limits,
            recorder=recorder,
            shard=shard,
            log_format=options.log_format,
        ):
            count += 1
            messages.add(message)
            for finding in detector.scan(message, recorder):
                findings.add(message, finding)
        result.digest_candidates = detector.digest_candidates
        result.sha256 = evidence.sha256()
    result.message_count = count
    result.messages, result.headers = messages.finish()
    result.findings = findings.frame()
    result.anomalies = recorder.finish()
    return result


def _options(
    watchlist: Iterable[str] | None,
    region: str | None,
    rules: str | Sequence[str] | None,
    limits: Limits | None,
    strict: bool,
    limit_overrides: dict[str, Any],
    log_format: str | None = None,
) -> Options:
    """Options from the API's (and CLI's) arguments; UsageError for a bad rule expression,
    watchlist, limit or log format, before any input is read."""
    base = limits or DEFAULT_LIMITS
    if limit_overrides:
        base = base.replace(**limit_overrides)
    rule_expr = rules if rules is None or isinstance(rules, str) else ",".join(rules)
    options = Options(
        limits=base,
        region=region.upper() if region else None,
        watchlist=tuple(watchlist or ()),
        rules=rule_expr,
        strict=strict,
        log_format=log_format,
    )
    build_detector(options)
    if log_format is not None:
        from analyzer.ingest.logformat import compile_format

        compile_format(log_format)
    return options


def analyze(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    watchlist: Iterable[str] | None = None,
    region: str | None = None,
    rules: str | Sequence[str] | None = None,
    limits: Limits | None = None,
    jobs: int = 1,
    errors: Literal["raise", "record"] = "raise",
    strict: bool = False,
    progress: Progress | None = None,
    log_format: str | None = None,
    **limit_overrides: Any,
) -> Analysis:
    """Analyse captures, HAR files and HTTP logs together; one `Analysis` over all of them.

    paths: files (pcap, pcapng, HAR, Zeek http.log, Suricata EVE, web/proxy access logs;
        gzip/bzip2/xz/zstd-compressed), recognised by content.
    watchlist: subscriber numbers to find in any form (E.164, national, hex, base64, hashes).
    region: ISO country for numbers written in national format (e.g. "GB").
    rules: rule selection, e.g. "all,-tracking-token" (`lineid rules` lists them).
    limits / **limit_overrides: named bounds, e.g. `max_live_flows=50_000`.
    jobs: processes per capture; flows are sharded by a hash of their key.
    errors: "raise" stops at the first unreadable input (an InputError); "record" keeps
        going and lists failed inputs in `Analysis.inputs`.
    log_format: access log format: a preset name (combined, common, squid, nginx-main, …),
        a format string or the whole nginx/Apache/Squid directive; recognised presets need none.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    path_list = [os.fspath(p) for p in paths]
    if not path_list:
        raise UsageError("no input given")
    if errors not in ("raise", "record"):
        raise UsageError(f"errors must be 'raise' or 'record', not {errors!r}")
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, not {jobs}")
    options = _options(watchlist, region, rules, limits, strict, limit_overrides, log_format)
    results = []
    for index, path in enumerate(path_list):
        try:
            if jobs > 1:
                from analyzer.ingest.parallel import read_input_sharded

                results.append(read_input_sharded(path, index, options, jobs, progress=progress))
            else:
                results.append(read_input(path, index, options, progress=progress))
        except InputError as exc:
            if errors == "raise":
                raise
            results.append(InputResult(path, index, status="failed", error=str(exc)))
    return Analysis.from_results(results, options, hashed_findings(results))


def hashed_findings(results: Sequence[InputResult]) -> pd.DataFrame | None:
    """Digests, anywhere in the analysis, of numbers seen in clear anywhere in it."""
    candidates = [c for r in results for c in r.digest_candidates]
    if not candidates:
        return None
    numbers = {
        str(identifier)
        for r in results
        if r.findings is not None and len(r.findings)
        for identifier in r.findings.loc[r.findings["kind"] == "msisdn", "identifier"].dropna()
        if str(identifier).startswith("+")
    }
    matched = match_digests(candidates, numbers)
    if not matched:
        return None
    columns = FindingColumns()
    for message, finding in matched:
        columns.add(message, finding)
    return columns.frame()
