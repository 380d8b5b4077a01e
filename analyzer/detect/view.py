"""What rules read of a message, parsed once and only when a rule asks.

`MessageView` wraps one HttpMessage: its header fields with their catalog rows, URL query
parameters and path segments (percent-decoded), Cookie and Set-Cookie pairs, Location
targets, and the body as text and as fields (forms, JSON). Everything is computed lazily
and cached on the view, so a message no rule looks into costs nothing to wrap.

How a header's name is read (`header_class`) and how one field is split (`query_pairs`,
`path_segments`, `cookie_pairs`, `set_cookie_pairs`) are functions of that field alone:
the engine reads fields without a view, and remembers what they hold per field.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterator
from importlib import resources
from urllib.parse import parse_qsl, unquote, urlsplit

from analyzer.detect import catalog
from analyzer.detect.catalog import CatalogEntry, Kind
from analyzer.http.body import BodyDecodeError, decode_content
from analyzer.model import HttpMessage

# Names of query, form, JSON and cookie fields that say "this is a phone number" (header
# names are the catalog's job). Matched on the lower-case name with separators removed.
NUMBER_FIELD_NAMES = frozenset(
    {
        "msisdn",
        "phone",
        "phonenumber",
        "phoneno",
        "phonenum",
        "tel",
        "telephone",
        "telno",
        "mobile",
        "mobilenumber",
        "mobileno",
        "mobilephone",
        "cellphone",
        "cell",
        "mdn",
        "cli",
        "ani",
        "callingnumber",
        "callerid",
        "subscriber",
        "subscribernumber",
        "number",
        "num",
        "handynummer",
        "telefono",
        "celular",
        "numero",
        "to",
        "from",
        "recipient",
        "sender",
        "destination",
        "destaddr",
        "sourceaddr",
    }
)
# Characters of a compressed response body decoded for searching (its kept prefix may
# inflate to far more; what an echo page prints is at its top).
RESPONSE_TEXT_CHARS = 16 * 1024
# JSON and form documents deeper or larger than this are not walked further: a hostile body
# cannot make detection slow.
MAX_BODY_FIELDS = 2000
MAX_JSON_DEPTH = 32
_SEPARATORS = re.compile(r"[^a-z0-9]+")
# A body without a Content-Type is read as a form only if it looks like one: name=value
# pairs of printable characters joined by '&'.
FORM_LIKE = re.compile(r"[\w.%+*-]{1,100}=[^&\s\x00-\x1f]{0,2000}(?:&[\w.%+*-]{1,100}=[^&\s\x00-\x1f]{0,2000})*\Z")


@functools.lru_cache(maxsize=8192)
def field_kind(name: str) -> tuple[str, str] | None:
    """(expected kind, why) for a parameter/cookie/body-field name, or None."""
    squashed = _SEPARATORS.sub("", name.lower())
    if squashed in NUMBER_FIELD_NAMES:
        return "msisdn", f"field named {name!r}"
    entry = catalog.lookup(name)
    if entry is not None and entry.kind in catalog.IDENTITY_KINDS:
        return str(entry.kind), f"field named like the {entry.name} header"
    guess = catalog.name_heuristic(name)
    if guess is not None and guess[0] in catalog.IDENTITY_KINDS:
        return str(guess[0]), f"field name ends in {guess[1]!r}"
    return None


# Words without which a body cannot hold a named identifier: parts of identity header
# names (any separators, CGI forms), field names, and the MMS address marker. Looked for in
# the lower-cased text with str.find, which is far faster than a case-insensitive regex.
STRONG_KEYWORDS = ("msisdn", "calling", "imsi", "imei", "subno", "clid", "mdn", "plmn", "uidh")
IDENTITY_KEYWORDS = (
    *STRONG_KEYWORDS,
    "-cli",
    "_cli",
    "phone",
    "mobile",
    "telefon",
    "celular",
    "handy",
    "-acr",
    "_acr",
    "subscriber",
)


def identity_word_positions(lowered: str, limit: int, keywords: tuple[str, ...] = IDENTITY_KEYWORDS) -> list[int]:
    """Sorted start offsets of identity keywords in lower-cased text (at most `limit`)."""
    positions: list[int] = []
    for keyword in keywords:
        at = lowered.find(keyword)
        while at >= 0 and len(positions) < limit:
            positions.append(at)
            at = lowered.find(keyword, at + len(keyword))
    positions.sort()
    return positions


# What a header's name says about its value, decided once per distinct name (names
# repeat across millions of messages): the rule that reads it, or none.
IDENTITY, TOKEN, HEURISTIC, CONTEXT, SKIP, OTHER, COOKIE, SET_COOKIE, LOCATION = range(9)
HEADER_CLASSES = frozenset(range(9))
_TOKEN_KINDS = frozenset({Kind.TRACKING_TOKEN, Kind.OPAQUE_SUBSCRIBER_ID, Kind.ALIAS_MSISDN})
# Headers other rules read with their own `where` (cookie, set-cookie, redirect).
_HANDLED_ELSEWHERE = {"cookie": COOKIE, "set-cookie": SET_COOKIE, "location": LOCATION}


@functools.cache
def _non_identity_headers() -> frozenset[str]:
    text = resources.files("analyzer").joinpath("data", "non_identity_headers.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@functools.lru_cache(maxsize=8192)
def header_class(name: str) -> tuple[int, CatalogEntry | None, tuple[Kind, str] | None]:
    """(class, catalog row, heuristic guess) for a header name."""
    entry = catalog.lookup(name)
    if entry is not None:
        if entry.kind in catalog.IDENTITY_KINDS:
            return IDENTITY, entry, None
        if entry.kind in _TOKEN_KINDS:
            return TOKEN, entry, None
        if entry.kind == Kind.NETWORK_CONTEXT:
            return CONTEXT, entry, None
        return OTHER, entry, None
    lower = name.lower()
    if lower in _HANDLED_ELSEWHERE:
        return _HANDLED_ELSEWHERE[lower], None, None
    if lower in _non_identity_headers():
        return SKIP, None, None
    guess = catalog.name_heuristic(name)
    if guess is not None and guess[0] in catalog.IDENTITY_KINDS:
        return HEURISTIC, None, guess
    return OTHER, None, guess


HeaderField = tuple[str, str, int, CatalogEntry | None, tuple[Kind, str] | None]  # name, value, class, row, guess


# ------------------------------------------------------------------ one field
# The parts of a message a rule reads, as functions of one field (not of a message), so that
# `Detector` can remember a field's findings and `MessageView` reads them the same way.

# The URI rules and the hashed-number rule read one URI after the other: it is split once.
QUERY_CACHE_SIZE = 64


@functools.lru_cache(maxsize=QUERY_CACHE_SIZE)
def query_pairs(uri: str) -> tuple[tuple[str, str], ...]:
    """(name, value) pairs of a URI's query (percent-decoded, the fragment left out).

    What `parse_qsl(query, keep_blank_values=True)` gives (pieces split on '&', empty ones
    dropped, '+' a space, `unquote` with errors='replace'), without its per-piece calls:
    most names and values hold no '%'.
    """
    _, _, query = uri.partition("?")
    pairs = []
    for piece in query.partition("#")[0].split("&"):
        if not piece:
            continue
        name, _, value = piece.replace("+", " ").partition("=")
        pairs.append(
            (
                unquote(name, errors="replace") if "%" in name else name,
                unquote(value, errors="replace") if "%" in value else value,
            )
        )
    return tuple(pairs)


def path_segments(uri: str) -> list[str]:
    """A URI's non-empty path segments, percent-decoded (absolute-form URIs: the path only)."""
    path = urlsplit(uri).path if "://" in uri else uri.partition("?")[0]
    return [unquote(s, errors="replace") for s in path.split("/") if s]


def cookie_pairs(value: str) -> list[tuple[str, str]]:
    """(name, value) pairs of one Cookie header (RFC 6265 §4.2: `a=1; b="2"`)."""
    pairs = []
    for part in value.split(";"):
        name, eq, val = part.strip().partition("=")
        if eq:
            pairs.append((name.strip(), val.strip().strip('"')))
    return pairs


def set_cookie_pairs(value: str) -> list[tuple[str, str]]:
    """The (name, value) pair of one Set-Cookie header (attributes after the first ';' left out)."""
    name, eq, rest = value.partition("=")
    return [(name.strip(), rest.split(";", 1)[0].strip().strip('"'))] if eq else []


class MessageView:
    __slots__ = (
        "_body_fields",
        "_body_lower",
        "_body_text",
        "_cookies",
        "_headers",
        "_query",
        "_worth",
        "max_decoded",
        "message",
    )

    def __init__(self, message: HttpMessage, max_decoded: int) -> None:
        self.message = message
        self.max_decoded = max_decoded
        self._headers: dict[int, list[tuple[str, str, CatalogEntry | None, tuple[Kind, str] | None]]] | None = None
        self._query: list[tuple[str, str]] | None = None
        self._cookies: list[tuple[str, str]] | None = None
        self._body_text: str | None = None
        self._body_lower: str | None = None
        self._worth: bool | None = None
        self._body_fields: list[tuple[str, str]] | None = None

    # ------------------------------------------------------------------ headers
    def header_group(self, cls: int) -> list[tuple[str, str, CatalogEntry | None, tuple[Kind, str] | None]]:
        """The headers of one class (IDENTITY, TOKEN, HEURISTIC, OTHER…), in wire order."""
        if self._headers is None:
            groups: dict[int, list[tuple[str, str, CatalogEntry | None, tuple[Kind, str] | None]]] = {}
            for name, value in self.message.headers:
                cls_, entry, guess = header_class(name)
                groups.setdefault(cls_, []).append((name, value, entry, guess))
            self._headers = groups
        return self._headers.get(cls, [])

    def header_fields(self) -> list[HeaderField]:
        """Every header field in wire order, with its class, catalog row and heuristic guess."""
        out = []
        for name, value in self.message.headers:
            cls, entry, guess = header_class(name)
            out.append((name, value, cls, entry, guess))
        return out

    def header_values(self, cls: int) -> Iterator[str]:
        for _, value, _, _ in self.header_group(cls):
            yield value

    # ------------------------------------------------------------------ URL
    @property
    def query(self) -> list[tuple[str, str]]:
        if self._query is None:
            self._query = list(query_pairs(self.message.uri or ""))
        return self._query

    def path_segments(self) -> list[str]:
        return path_segments(self.message.uri or "")

    # ------------------------------------------------------------------ cookies
    @property
    def cookies(self) -> list[tuple[str, str]]:
        if self._cookies is None:
            self._cookies = [pair for value in self.header_values(COOKIE) for pair in cookie_pairs(value)]
        return self._cookies

    def set_cookies(self) -> list[tuple[str, str]]:
        return [pair for value in self.header_values(SET_COOKIE) for pair in set_cookie_pairs(value)]

    def locations(self) -> list[str]:
        return list(self.header_values(LOCATION))

    # ------------------------------------------------------------------ body
    @property
    def body_text(self) -> str:
        """The body prefix, content-decoded (bounded) and read as text ('' when empty)."""
        if self._body_text is None:
            msg = self.message
            body = msg.body
            if body and msg.content_encoding:
                # A response is searched near its top only (an echo page prints the headers
                # first): decoding more of it would cost time for nothing.
                limit = self.max_decoded if msg.direction == "request" else min(self.max_decoded, RESPONSE_TEXT_CHARS)
                # On failure the raw bytes are read: an echo page may be sent uncompressed.
                with contextlib.suppress(BodyDecodeError):
                    body, _ = decode_content(body, msg.content_encoding, limit)
            self._body_text = body.decode("utf-8", "replace") if body else ""
        return self._body_text

    @property
    def body_keywords(self) -> tuple[str, ...]:
        """The identity words looked for in this body. Requests (what the device sent) get
        them all; responses, most of a capture's bytes, only the names an echo page prints
        (a page that mentions "mobile" is not a leak)."""
        return IDENTITY_KEYWORDS if self.message.direction == "request" else STRONG_KEYWORDS

    @property
    def body_worth_reading(self) -> bool:
        """Request bodies always; response bodies only when they name an identity."""
        if self._worth is None:
            if not self.message.body:
                self._worth = False
            elif self.message.direction == "request":
                self._worth = True
            else:
                lowered = self.body_lower
                self._worth = any(keyword in lowered for keyword in STRONG_KEYWORDS)
        return self._worth

    @property
    def body_lower(self) -> str:
        if self._body_lower is None:
            self._body_lower = self.body_text.lower()
        return self._body_lower

    @property
    def body_fields(self) -> list[tuple[str, str]]:
        """(name, value) pairs of a form or JSON body."""
        if self._body_fields is None:
            text = self.body_text
            ctype = (self.message.content_type or "").lower()
            fields: list[tuple[str, str]] = []
            stripped = text.lstrip()
            if "json" in ctype or stripped[:1] in ("{", "["):
                with contextlib.suppress(ValueError, RecursionError):
                    _walk_json(json.loads(text), "", fields, 0)
            elif "x-www-form-urlencoded" in ctype or (not ctype and FORM_LIKE.match(text[:2000])):
                fields = parse_qsl(text, keep_blank_values=True)[:MAX_BODY_FIELDS]
            self._body_fields = fields[:MAX_BODY_FIELDS]
        return self._body_fields

    def cue_of_header(self, name: str, entry: CatalogEntry | None) -> tuple[Kind, str, str] | None:
        """(kind, cue strength, why) a header's name gives its value."""
        if entry is not None:
            return entry.kind, f"catalog-{entry.evidence}", f"{entry.name} ({entry.evidence})"
        guess = catalog.name_heuristic(name)
        if guess is not None:
            return guess[0], "heuristic", f"header name ends in {guess[1]!r}"
        return None


def _walk_json(node: object, path: str, out: list[tuple[str, str]], depth: int) -> None:
    if len(out) >= MAX_BODY_FIELDS or depth > MAX_JSON_DEPTH:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            _walk_json(value, str(key), out, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _walk_json(item, path, out, depth + 1)
    elif node is not None and not isinstance(node, bool):
        out.append((path, str(node)))
