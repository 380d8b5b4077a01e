"""Digests of subscriber numbers: what web trackers send instead of the number.

A digest cannot be reversed, only recognised: this rule keeps the tokens that have the
shape of an MD5, SHA-1 or SHA-256 digest (hex in either case, or base64), and once the
whole analysis is read (`match_digests`) compares them with the digests of every number
found in clear anywhere in it, in each written form (E.164, without +, 00, national).
Watchlisted numbers are matched at once by the watchlist rule instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from analyzer.detect.context import MAX_VALUE_CHARS, Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import HEURISTIC, IDENTITY, OTHER, TOKEN, MessageView
from analyzer.detect.watchlist import digests_of, number_forms
from analyzer.model import Finding, MessageRef

DIGEST_TOKEN = re.compile(
    r"(?<![0-9A-Za-z+/_-])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32}"
    r"|[A-Za-z0-9+/_-]{43}=?|[A-Za-z0-9+/_-]{27}=?|[A-Za-z0-9+/_-]{22}(?:==)?)(?![0-9A-Za-z+/_-])"
)
# Long headers every browser sends, never a digest someone chose to send.
_BROWSER_HEADERS = frozenset({"user-agent", "referer", "accept", "accept-language", "accept-encoding", "origin"})
# Digest-shaped tokens kept per input; random session ids have the same shape, so the
# bound keeps a capture full of them from holding memory.
MAX_DIGEST_CANDIDATES = 200_000


@dataclass(frozen=True, slots=True)
class DigestCandidate:
    message: MessageRef
    where: str
    field: str
    token: str
    value: str


class HashedNumberRule(Rule):
    id = "hashed-msisdn"
    description = "MD5/SHA-1/SHA-256 digests (hex either case, base64) of numbers found in clear elsewhere"
    surfaces = ("header", "query", "cookie", "body")

    def __init__(self) -> None:
        self.candidates: list[DigestCandidate] = []
        self.dropped = 0

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        msg = view.message
        if msg.direction != "request":
            return ()  # trackers send digests; pages that show one are not the leak
        ref: MessageRef | None = None
        # Where a tracker puts a digest: headers that are not the browser's own, cookies,
        # query parameters and the body. Only digest-shaped tokens are kept (see DIGEST_TOKEN).
        places = [
            ("header", name, value)
            for group in (OTHER, HEURISTIC, TOKEN, IDENTITY)
            for name, value, _, _ in view.header_group(group)
            if len(value) >= 22 and name.lower() not in _BROWSER_HEADERS
        ]
        places += [("cookie", name, value) for name, value in view.cookies if len(value) >= 22]
        places += [("query", name, value) for name, value in view.query if len(value) >= 22]
        if msg.body:
            places += [("body", name, value) for name, value in view.body_fields] or [("body", "text", view.body_text)]
        for where, field, value in places:
            for m in DIGEST_TOKEN.finditer(value):
                if len(self.candidates) >= MAX_DIGEST_CANDIDATES:
                    self.dropped += 1
                    continue
                if ref is None:
                    ref = MessageRef.of(msg)
                self.candidates.append(DigestCandidate(ref, where, field, m.group(0), value[:MAX_VALUE_CHARS]))
        return ()


def digest_table(numbers: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """digest token -> (E.164, md5|sha1|sha256, written form) for each number."""
    table: dict[str, tuple[str, str, str]] = {}
    for e164 in numbers:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            continue
        for form_name, form in number_forms(number).items():
            for token, encoding in digests_of(form).items():
                table.setdefault(token, (e164, encoding, form_name))
    return table


def match_digests(candidates: Iterable[DigestCandidate], numbers: Iterable[str]) -> list[tuple[MessageRef, Finding]]:
    """Findings for every candidate token that is a digest of one of `numbers`."""
    table = digest_table(numbers)
    out = []
    for c in candidates:
        hit = table.get(c.token) or table.get(c.token.rstrip("="))
        if hit is None:
            continue
        e164, encoding, form = hit
        finding = Finding(
            message_id=c.message.message_id,
            where=c.where,
            field=c.field,
            kind="hashed-msisdn",
            value=c.value,
            identifier=e164,
            encoding=encoding,
            rule=HashedNumberRule.id,
            confidence="medium",
            reason=f"{encoding.upper()} of the number's {form} form; the number itself was seen in clear "
            "in this analysis",
        )
        out.append((c.message, finding))
    return out
