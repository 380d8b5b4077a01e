"""Digests of subscriber numbers: what web trackers send instead of the number.

A digest cannot be reversed, only recognised: this rule keeps the tokens that have the
shape of an MD5, SHA-1 or SHA-256 digest (hex in either case, or base64), and once the
whole analysis is read (`match_digests`) compares them with the digests of every number
found in clear anywhere in it, in each written form (E.164, without +, 00, national).
Watchlisted numbers are matched at once by the watchlist rule instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from analyzer.detect.context import MAX_VALUE_CHARS, Context
from analyzer.detect.rule import Rule
from analyzer.detect.view import COOKIE, HEURISTIC, IDENTITY, OTHER, TOKEN, MessageView, cookie_pairs, query_pairs
from analyzer.detect.watchlist import DIGESTS, number_forms
from analyzer.model import Finding, HttpMessage, MessageRef

DIGEST_TOKEN = re.compile(
    r"(?<![0-9A-Za-z+/_-])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32}"
    r"|[A-Za-z0-9+/_-]{43}=?|[A-Za-z0-9+/_-]{27}=?|[A-Za-z0-9+/_-]{22}(?:==)?)(?![0-9A-Za-z+/_-])"
)
# Long headers every browser sends, never a digest someone chose to send.
_BROWSER_HEADERS = frozenset({"user-agent", "referer", "accept", "accept-language", "accept-encoding", "origin"})
_HEX = re.compile(r"[0-9a-fA-F]+")
_URL_SAFE = str.maketrans("-_", "+/")
# The shortest digest token (MD5 in unpadded base64): shorter values are not looked into.
MIN_DIGEST_CHARS = 22
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


# (where, field, token, value as kept) of one digest-shaped token, before it is tied to a message.
DigestToken = tuple[str, str, str, str]


class HashedNumberRule(Rule):
    id = "hashed-msisdn"
    description = "MD5/SHA-1/SHA-256 digests (hex either case, base64) of numbers found in clear elsewhere"
    surfaces = ("header", "query", "cookie", "body")
    # Where a tracker puts a digest: headers that are not the browser's own (by class, then
    # cookies), query parameters and the body. Only digest-shaped tokens are kept (DIGEST_TOKEN).
    header_passes = (
        frozenset({OTHER}),
        frozenset({HEURISTIC}),
        frozenset({TOKEN}),
        frozenset({IDENTITY}),
        frozenset({COOKIE}),
    )
    reads_uri = True
    reads_body = True

    def __init__(self) -> None:
        self.candidates: list[DigestCandidate] = []
        self.dropped = 0

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        msg = view.message
        if msg.direction != "request":
            return ()  # trackers send digests; pages that show one are not the leak
        fields = view.header_fields()
        tokens: list[DigestToken] = []
        for classes in self.header_passes:
            for name, value, cls, _, _ in fields:
                if cls in classes:
                    tokens += self.header_tokens(name, value, cls)
        if msg.uri:
            tokens += self.uri_tokens(msg.uri)
        if msg.body:
            tokens += self.body_tokens(view)
        self.keep(msg, tokens)
        return ()

    @staticmethod
    def header_tokens(name: str, value: str, cls: int) -> list[DigestToken]:
        """The digest-shaped tokens of one header field of a request."""
        if cls == COOKIE:
            return _tokens([("cookie", n, v) for n, v in cookie_pairs(value) if len(v) >= MIN_DIGEST_CHARS])
        if len(value) >= MIN_DIGEST_CHARS and name.lower() not in _BROWSER_HEADERS:
            return _tokens([("header", name, value)])
        return []

    @staticmethod
    def uri_tokens(uri: str) -> list[DigestToken]:
        """The digest-shaped tokens of a request URI's query parameters."""
        return _tokens([("query", n, v) for n, v in query_pairs(uri) if len(v) >= MIN_DIGEST_CHARS])

    @staticmethod
    def body_tokens(view: MessageView) -> list[DigestToken]:
        """The digest-shaped tokens of a request body: its fields, else its text."""
        return _tokens([("body", n, v) for n, v in view.body_fields] or [("body", "text", view.body_text)])

    def keep(self, msg: HttpMessage | MessageRef, tokens: Iterable[DigestToken]) -> None:
        """Keep one request's tokens as candidates (up to MAX_DIGEST_CANDIDATES)."""
        ref = msg if isinstance(msg, MessageRef) else None
        for where, field, token, value in tokens:
            if len(self.candidates) >= MAX_DIGEST_CANDIDATES:
                self.dropped += 1
                continue
            if ref is None:
                assert isinstance(msg, HttpMessage)
                ref = MessageRef.of(msg)  # only once a token is kept: most requests have none
            self.candidates.append(DigestCandidate(ref, where, field, token, value))


def _tokens(places: list[tuple[str, str, str]]) -> list[DigestToken]:
    return [
        (where, field, m.group(0), value[:MAX_VALUE_CHARS])
        for where, field, value in places
        for m in DIGEST_TOKEN.finditer(value)
    ]


def digest_table(numbers: Iterable[str]) -> dict[bytes, tuple[str, str, str]]:
    """raw digest -> (E.164, md5|sha1|sha256, written form) for each number. Keyed by the
    digest's bytes, not by its spellings (hex either case, base64, URL-safe, padded or
    not): 15 entries a number instead of ~80, which matters with tens of thousands of
    numbers in clear; a candidate token is decoded to bytes instead (`raw_digest`)."""
    table: dict[bytes, tuple[str, str, str]] = {}
    for e164 in numbers:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            continue
        for form_name, form in number_forms(number).items():
            raw = form.encode("ascii")
            for name in DIGESTS:
                table.setdefault(hashlib.new(name, raw).digest(), (e164, name, form_name))
    return table


def raw_digest(token: str) -> bytes | None:
    """The bytes a digest-shaped token spells: hex (either case) for 32/40/64 hex digits,
    else base64 (standard or URL-safe, padding optional); None if neither decodes."""
    if len(token) in (32, 40, 64) and _HEX.fullmatch(token):
        return bytes.fromhex(token)
    text = token.rstrip("=").translate(_URL_SAFE)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def match_digests(candidates: Iterable[DigestCandidate], numbers: Iterable[str]) -> list[tuple[MessageRef, Finding]]:
    """Findings for every candidate token that is a digest of one of `numbers`."""
    table = digest_table(numbers)
    out = []
    for c in candidates:
        raw = raw_digest(c.token)
        hit = table.get(raw) if raw is not None else None
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
