"""Header rules: names the catalog knows, names that look like identity, and numbers in
any other header value."""

from __future__ import annotations

import re
from collections.abc import Iterable

from analyzer.detect.catalog import CatalogEntry, Kind
from analyzer.detect.context import Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import HEURISTIC, IDENTITY, OTHER, TOKEN
from analyzer.model import Finding

# A value worth tokenising when no name says what it is: a long digit run, or a token long
# enough to be base64/hex of one.
CANDIDATE = re.compile(r"\d{7}|[A-Za-z0-9+/=_-]{12}")
# OMA MMS addressing: `+491726101004/TYPE=PLMN` names a subscriber number outright.
MMS_ADDRESS = re.compile(r"(\+?\d{7,15})/TYPE=PLMN", re.IGNORECASE)
UNVALIDATED_NUMBER = re.compile(r"\+?\d{7,15}")


def _expect(kind: Kind) -> str:
    return "imeisv" if kind == Kind.IMEISV else str(kind)


class HeaderCatalogRule(Rule):
    id = "header-catalog"
    description = "headers the catalog knows to carry an MSISDN, IMSI or IMEI (x-up-calling-line-id, x-nokia-imsi, …)"
    surfaces = ("header",)
    header_passes = (frozenset({IDENTITY}),)

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
        operators = "/".join(entry.operators[:3]) or "no operator named"
        why = f"known {entry.kind} header {entry.name} ({entry.evidence}; {operators})"
        found = ctx.findings_in(
            mid,
            value,
            where="header",
            field=name,
            expect=_expect(entry.kind),
            cue=f"catalog-{entry.evidence}",
            why=why,
            rule=self.id,
        )
        if found:
            return found
        if entry.kind == Kind.MSISDN and (m := UNVALIDATED_NUMBER.fullmatch(value.strip())):
            # A number that is not valid E.164 in a known MSISDN header: most often a
            # national number (Adobe's X-Wap-msisdn: 8032618185). Reported, not dropped.
            return [
                Finding(
                    mid,
                    "header",
                    name,
                    "msisdn",
                    value,
                    m.group(0),
                    "plain",
                    self.id,
                    "medium",
                    f"{why}; not valid as E.164: national format? (pass region= to validate)",
                )
            ]
        return ()


class HeaderNameHeuristicRule(Rule):
    id = "header-name-heuristic"
    description = (
        "headers the catalog does not know whose names end in msisdn, callinglineid, clid, subno, mdn, imsi, imei, …"
    )
    surfaces = ("header",)
    header_passes = (frozenset({HEURISTIC}),)

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
        assert guess is not None
        return ctx.findings_in(
            mid,
            value,
            where="header",
            field=name,
            expect=_expect(guess[0]),
            cue="heuristic",
            why=f"header name ends in {guess[1]!r}",
            rule=self.id,
        )


class HeaderValueRule(Rule):
    id = "header-value-number"
    description = "phone numbers and IMSIs in any other header value, tokenised inside composite values"
    surfaces = ("header",)
    header_passes = (frozenset({OTHER}), frozenset({TOKEN}))

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
        if not CANDIDATE.search(value):
            return ()
        found: list[Finding] = []
        for m in MMS_ADDRESS.finditer(value):
            found += ctx.findings_in(
                mid,
                m.group(1),
                where="header",
                field=name,
                expect="msisdn",
                cue="mms-address",
                why="MMS address (/TYPE=PLMN)",
                rule=self.id,
            )
        if entry is not None and entry.kind in (Kind.OPAQUE_SUBSCRIBER_ID, Kind.ALIAS_MSISDN):
            # x-up-subno and friends: opaque per the catalog, but some operators put the
            # number itself there (Claro PA, Claro CO).
            found += ctx.findings_in(
                mid,
                value,
                where="header",
                field=name,
                expect=None,
                cue="heuristic",
                why=f"in {entry.name}, a {entry.kind} header that may hold the number",
                rule=self.id,
            )
        elif entry is None or entry.kind not in (Kind.TRACKING_TOKEN,):
            found += ctx.findings_in(
                mid,
                value,
                where="header",
                field=name,
                expect=None,
                cue=None,
                why="a valid mobile number in a header value",
                rule=self.id,
            )
        return found
