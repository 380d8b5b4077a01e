"""Cookie and Set-Cookie attributes (User-Identity-Forward-msisdn, hex-encoded, is the classic)."""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.detect.catalog import IDENTITY_KINDS, CatalogEntry, Kind, lookup
from analyzer.detect.context import Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import COOKIE, SET_COOKIE, cookie_pairs, field_kind, set_cookie_pairs
from analyzer.model import Finding


def _cookie_findings(pairs: list[tuple[str, str]], where: str, mid: int, ctx: Context, rule: str) -> list[Finding]:
    found: list[Finding] = []
    for name, value in pairs:
        entry = lookup(name)
        if entry is not None and entry.kind in IDENTITY_KINDS:
            found += ctx.findings_in(
                mid,
                value,
                where=where,
                field=name,
                expect=str(entry.kind),
                cue=f"catalog-{entry.evidence}",
                why=f"cookie named like the {entry.name} header ({entry.evidence})",
                rule=rule,
            )
            continue
        cue = field_kind(name)
        if cue is not None:
            found += ctx.findings_in(
                mid, value, where=where, field=name, expect=cue[0], cue="field-name", why=f"cookie {cue[1]}", rule=rule
            )
        else:
            found += ctx.findings_in(
                mid,
                value,
                where=where,
                field=name,
                expect=None,
                cue=None,
                why="a valid mobile number in a cookie value",
                rule=rule,
            )
    return found


class CookieRule(Rule):
    id = "cookie"
    description = "Cookie attributes: catalog and number-like names, hex/base64/percent-encoded values"
    surfaces = ("cookie",)
    header_passes = (frozenset({COOKIE}),)

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
        return _cookie_findings(cookie_pairs(value), "cookie", mid, ctx, self.id)


class SetCookieRule(Rule):
    id = "set-cookie"
    description = "Set-Cookie attributes: a site or gateway handing the browser a cookie that holds the number"
    surfaces = ("set-cookie",)
    header_passes = (frozenset({SET_COOKIE}),)

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
        return _cookie_findings(set_cookie_pairs(value), "set-cookie", mid, ctx, self.id)
