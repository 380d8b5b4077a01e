"""Tracking tokens and opaque subscriber ids: values that identify without a number."""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.detect.catalog import CatalogEntry, Evidence, Kind
from analyzer.detect.context import MAX_VALUE_CHARS, Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import TOKEN
from analyzer.model import Finding

TOKEN_KINDS = {
    Kind.TRACKING_TOKEN: "tracking-token",
    Kind.ALIAS_MSISDN: "opaque-subscriber-id",
    Kind.OPAQUE_SUBSCRIBER_ID: "opaque-subscriber-id",
}
CONFIDENCE = {Evidence.VERIFIED: "high", Evidence.CODE_ATTESTED: "medium", Evidence.UNVERIFIED: "low"}
# Shorter values are flags or placeholders ("0", "none"), not identifiers.
MIN_TOKEN_CHARS = 6


class TrackingTokenRule(Rule):
    id = "tracking-token"
    description = (
        "operator tracking tokens and opaque subscriber ids (X-UIDH, X-ACR, x-vf-acr, X-ASID, x-up-subno, …); "
        "equal values link flows"
    )
    surfaces = ("header",)
    header_passes = (frozenset({TOKEN}),)

    def header_findings(
        self,
        mid: int,
        name: str,
        value: str,
        cls: int,
        entry: CatalogEntry | None,
        guess: tuple[Kind, str] | None,
        ctx: Context,
    ) -> Iterable[Finding]:
        assert entry is not None
        token = value.strip()
        if len(token) < MIN_TOKEN_CHARS or token.lower() in ("unknown", "undefined", "null"):
            return ()
        return (
            Finding(
                message_id=mid,
                where="header",
                field=name,
                kind=TOKEN_KINDS[entry.kind],
                value=value[:MAX_VALUE_CHARS],
                identifier=token,
                encoding="plain",
                rule=self.id,
                confidence=CONFIDENCE[entry.evidence],
                reason=f"{entry.name}: {entry.kind} ({entry.evidence}; "
                f"{'/'.join(entry.operators[:3]) or 'no operator named'}); "
                "the same value on other flows links them to one subscriber",
            ),
        )
