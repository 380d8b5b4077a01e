"""The detection engine: the selected rules over every message, findings de-duplicated.

`Detector.scan(message, recorder)` runs each selected rule on a lazily parsed view of the
message. A rule that raises on some input is a bug, but the analysis goes on: the error is
an anomaly (`RULE_ERROR`) naming the rule, and the other rules still run. One identifier
seen at one place of one message is one finding: when several rules find it, the one with
the highest confidence is kept (the first registered on a tie).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from analyzer.anomalies import Recorder
from analyzer.detect.context import Context
from analyzer.detect.decoders import Decoder
from analyzer.detect.rule import Registry, Rule
from analyzer.detect.rules import build_registry
from analyzer.detect.rules.hashed import DigestCandidate, HashedNumberRule
from analyzer.detect.rules.watchlist import WatchlistRule
from analyzer.detect.view import MessageView
from analyzer.detect.watchlist import Watchlist
from analyzer.model import Finding, HttpMessage

if TYPE_CHECKING:
    from analyzer.api import Options

RANK = {"low": 0, "medium": 1, "high": 2}


class Detector:
    def __init__(self, rules: list[Rule], context: Context, *, strict: bool = False) -> None:
        self.rules = rules
        self.context = context
        self.strict = strict
        self.hashed = next((r for r in rules if isinstance(r, HashedNumberRule)), None)

    def scan(self, message: HttpMessage, recorder: Recorder) -> list[Finding]:
        view = MessageView(message, self.context.max_decoded_body_bytes)
        best: dict[tuple[str, str, str, str], Finding] = {}
        for rule in self.rules:
            try:
                for finding in rule.match(view, self.context):
                    key = (finding.where, finding.field, finding.kind, finding.identifier)
                    kept = best.get(key)
                    if kept is None or RANK[finding.confidence] > RANK[kept.confidence]:
                        best[key] = finding
            except Exception as exc:  # a bug in one rule must not stop the analysis
                if self.strict:
                    raise
                recorder.add(
                    "RULE_ERROR",
                    f"{rule.id}: {type(exc).__name__}: {exc}",
                    frame=message.frame_last,
                    har_entry=message.har_entry,
                    line=message.line,
                    flow_id=message.endpoints.flow_id,
                )
        return list(best.values())

    @property
    def digest_candidates(self) -> list[DigestCandidate]:
        return self.hashed.candidates if self.hashed is not None else []

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)


def registry() -> Registry:
    return build_registry()


def build_detector(options: Options) -> Detector:
    """The detector an analysis with these options runs (UsageError for a bad selection)."""
    reg = build_registry()
    rules, decoder_ids = reg.select(options.rules)
    decoders = [d for d in reg.decoders.values() if isinstance(d, Decoder) and d.id in decoder_ids]
    watchlist = Watchlist(options.watchlist, options.region) if options.watchlist else None
    for rule in rules:
        if isinstance(rule, WatchlistRule):
            rule.watchlist = watchlist
    context = Context(
        region=options.region, decoders=decoders, max_decoded_body_bytes=options.limits.max_decoded_body_bytes
    )
    return Detector(rules, context, strict=options.strict)
