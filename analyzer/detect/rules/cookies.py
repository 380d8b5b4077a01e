"""Cookie and Set-Cookie attributes (User-Identity-Forward-msisdn, hex-encoded, is the classic)."""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.detect.catalog import IDENTITY_KINDS, lookup
from analyzer.detect.context import Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import MessageView, field_kind
from analyzer.model import Finding


def _cookie_findings(pairs: list[tuple[str, str]], where: str, mid: int, ctx: Context, rule: str) -> Iterable[Finding]:
    for name, value in pairs:
        entry = lookup(name)
        if entry is not None and entry.kind in IDENTITY_KINDS:
            yield from ctx.findings_in(
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
            yield from ctx.findings_in(
                mid, value, where=where, field=name, expect=cue[0], cue="field-name", why=f"cookie {cue[1]}", rule=rule
            )
        else:
            yield from ctx.findings_in(
                mid,
                value,
                where=where,
                field=name,
                expect=None,
                cue=None,
                why="a valid mobile number in a cookie value",
                rule=rule,
            )


class CookieRule(Rule):
    id = "cookie"
    description = "Cookie attributes: catalog and number-like names, hex/base64/percent-encoded values"
    surfaces = ("cookie",)

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        return _cookie_findings(view.cookies, "cookie", view.message.message_id, ctx, self.id)


class SetCookieRule(Rule):
    id = "set-cookie"
    description = "Set-Cookie attributes: a site or gateway handing the browser a cookie that holds the number"
    surfaces = ("set-cookie",)

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        return _cookie_findings(view.set_cookies(), "set-cookie", view.message.message_id, ctx, self.id)
