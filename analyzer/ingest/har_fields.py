"""Typed, lenient readers for the fields of a HAR entry (HAR 1.2 as real tools write it).

Each reader takes what the JSON holds and returns a typed value or None; what is missing
or malformed is reported through `Fields` as `HAR_MISSING_FIELD` / `HAR_BAD_FIELD` with
the entry's index, never guessed. They run once per entry of files with hundreds of
thousands of entries, so the common shapes take a short path (one comprehension for a
header list, a cached day number for a timestamp) and the odd shapes the careful one.
"""

from __future__ import annotations

import binascii
import functools
import math
import re
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from analyzer.limits import Limits

Report = Callable[..., None]
Headers = tuple[tuple[str, str], ...]

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# ISO 8601 as HAR tools write it: "2023-03-30T00:00:54.253Z" (Chrome), "…253-07:00"
# (Firefox, Charles), seven fraction digits (Fiddler, .NET's "o" format), "+00:00" after
# microseconds (mitmproxy, Python's isoformat).
_ISO_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?",
    re.ASCII,  # \d is 0-9 only; int() would read Arabic-Indic or full-width digits too
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # RFC 3986 §3.1
# Distinct header values remembered for sharing one str among equal values (User-Agent,
# Accept, Server repeat in every entry); past this the memory is cleared and refilled.
MAX_SHARED_VALUES = 200_000


def json_type(value: object) -> str:
    """What a JSON value is, with its article, for anomaly details ("an array")."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"


class Fields:
    """Typed reads of one entry's JSON objects, reporting what is missing or mistyped."""

    __slots__ = ("index", "limits", "report", "shared")

    def __init__(self, report: Report, limits: Limits, shared: dict[str, str], index: int) -> None:
        self.report, self.limits, self.shared, self.index = report, limits, shared, index

    def missing(self, path: str, why: str = "") -> None:
        self.report("HAR_MISSING_FIELD", f"{path} is missing{why}", har_entry=self.index)

    def bad(self, path: str, what: str) -> None:
        self.report("HAR_BAD_FIELD", f"{path}: {what}", har_entry=self.index)

    def text(self, obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        value = obj.get(key)
        if type(value) is str:
            return value
        if value is None:
            if required:
                self.missing(path)
        else:
            self.bad(path, f"{json_type(value)}, not a string")
        return None

    def number(self, obj: dict[str, Any], key: str, path: str) -> float | None:
        """A finite number, or None (absent or null: not reported; anything else: HAR_BAD_FIELD)."""
        value = obj.get(key)
        kind = type(value)
        if kind is int or kind is float or kind is Decimal:  # ijson gives Decimal for fractions
            number = float(value)  # type: ignore[arg-type]
            if math.isfinite(number):
                return number
        elif value is None:
            return None
        self.bad(path, f"{value!r} is not a finite number")
        return None

    def size(self, obj: dict[str, Any], key: str, path: str) -> int:
        """A byte count; -1 (HAR's "unknown") when absent, negative or malformed."""
        number = self.number(obj, key, path)
        return int(number) if number is not None and number >= 0 else -1

    def headers(self, value: object, path: str) -> Headers:
        """`{name, value}` objects (every browser) or `[name, value]` pairs (Slack), in file order."""
        if value is None:
            self.missing(path)
            return ()
        if type(value) is not list:
            self.bad(path, f"{json_type(value)}, not an array")
            return ()
        share = self.shared.setdefault
        try:  # the shape every browser writes: one pass in C-level comprehensions
            names = [sys.intern(h["name"]) for h in value]  # TypeError unless a str
            values = [h["value"] for h in value]
            "".join(values)  # TypeError unless every value is a str
            pairs = list(zip(names, [share(v, v) for v in values], strict=True))
        except (KeyError, TypeError):
            pairs = self._odd_headers(value, path)
        if len(self.shared) > MAX_SHARED_VALUES:
            self.shared.clear()
        limit = self.limits.max_headers_per_message
        if len(pairs) > limit:
            self.report("HTTP_TOO_MANY_HEADERS", f"{path}: {len(pairs)} headers, {limit} kept", har_entry=self.index)
            del pairs[limit:]
        return tuple(pairs)

    def _odd_headers(self, value: list[Any], path: str) -> list[tuple[str, str]]:
        pairs = []
        for i, item in enumerate(value):
            if type(item) is dict:
                name, text = item.get("name"), item.get("value")
            elif type(item) is list and len(item) == 2:
                name, text = item
            else:
                self.bad(f"{path}[{i}]", f"{json_type(item)}, neither {{name, value}} nor [name, value]")
                continue
            if type(name) is str and type(text) is str:
                pairs.append((sys.intern(name), text))
            else:
                self.bad(f"{path}[{i}]", "name and value must be strings; the header was not kept")
        return pairs


def pick_headers(headers: Headers, wanted: frozenset[str]) -> dict[str, str]:
    """The first value of each wanted header (lower-case names), in one pass."""
    found: dict[str, str] = {}
    for raw, value in headers:
        low = raw.lower()
        if low in wanted and low not in found:
            found[low] = value
    return found


@functools.lru_cache(maxsize=4096)
def _day_number(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal() - 719_163  # days since 1970-01-01; ValueError if no such day


def parse_har_time(text: str) -> int:
    """ISO 8601 date-time with a UTC offset → ns since the epoch, UTC. ValueError if not.

    Fractions are kept to the nanosecond (Python's datetime stops at the microsecond). A
    time without an offset is refused: it is the local time of an unknown zone.
    """
    m = _ISO_TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError("not an ISO 8601 date-time")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = m.groups()
    if not zulu and not sign:
        raise ValueError("no UTC offset (local time of an unknown zone)")
    h, mi, s = int(hour), int(minute), int(second or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError("time of day out of range")
    seconds = _day_number(int(year), int(month), int(day)) * 86_400 + h * 3600 + mi * 60 + s
    if sign:
        off = int(off_h) * 3600 + int(off_m or 0) * 60
        if int(off_h) > 23 or int(off_m or 0) > 59:
            raise ValueError("UTC offset out of range")
        seconds -= off if sign == "+" else -off
    nanos = int(fraction[:9].ljust(9, "0")) if fraction else 0
    return seconds * 1_000_000_000 + nanos


def split_url(url: str) -> tuple[str, str, str, str] | None:
    """(scheme, host[:port] authority, port text, origin-form target) of an absolute URL.

    None for anything else (data:, about:, blob:, a bare path). The fragment is dropped:
    it never leaves the browser, so a capture of the same request does not show it.
    """
    cut = url.find("://")
    if cut <= 0 or not _SCHEME.fullmatch(url, 0, cut):  # not "/go?to=http://…"
        return None
    rest = url[cut + 3 :]
    end = len(rest)
    for mark in "/?#":
        at = rest.find(mark, 0, end)
        if at >= 0:
            end = at
    authority = rest[:end].rpartition("@")[2]  # user:password@ is not part of Host
    if not authority:
        return None
    target = rest[end:].partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target  # "http://a?q=1" is sent as "GET /?q=1"
    if authority.startswith("["):  # IPv6 literal, "[2001:db8::1]:8080"
        port = authority.rpartition("]")[2].removeprefix(":")
    else:
        port = authority.rpartition(":")[2] if ":" in authority else ""
    return url[:cut].lower(), authority, port, target


def port_number(scheme: str, port: str) -> int | None:
    """The explicit port, else the scheme's default; None if neither (or malformed)."""
    if not port:
        return DEFAULT_PORTS.get(scheme)
    if port.isascii() and port.isdigit() and int(port) <= 65_535:
        return int(port)
    return None


def text_bytes(text: str, limit: int) -> tuple[bytes, int]:
    """(UTF-8 prefix of at most `limit` bytes, full UTF-8 length)."""
    if text.isascii():  # most bodies: no encoding of the whole text just to cut it
        return text[:limit].encode("ascii"), len(text)
    # Lone surrogates (a "\\ud800" escape in the JSON) are kept as their bytes, not dropped.
    data = text.encode("utf-8", "surrogatepass")
    return data[:limit], len(data)


def base64_bytes(text: str, limit: int) -> tuple[bytes, int]:
    """(decoded prefix, decoded length); binascii.Error if it is not base64.

    Strict: binascii's lenient mode skips every character outside the alphabet, so text
    that is not base64 at all would "decode" to a few stray bytes instead of failing.
    Line breaks (MIME-style wrapping) are the one thing allowed in between.
    """
    head_chars = (limit // 3 + 1) * 4
    if len(text) > head_chars:
        # An image larger than the prefix detection reads: decode only that prefix (most
        # of the time a HAR costs goes to base64 otherwise); the length follows from the
        # text, 3 bytes per 4 characters less the padding.
        try:
            head = binascii.a2b_base64(text[:head_chars], strict_mode=True)
            return head[:limit], len(text) // 4 * 3 - (len(text) - len(text.rstrip("=")))
        except binascii.Error:
            pass  # line breaks inside: the whole decode below says whether it is base64
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        data = binascii.a2b_base64("".join(text.split()), strict_mode=True)
    return data[:limit], len(data)
