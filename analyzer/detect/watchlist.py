"""A watchlist: the numbers an analyst looks for, in every form they may travel in.

Each number is expanded once into its written forms (E.164 with and without `+`, `00`,
national with and without trunk prefix) and each form into its encodings: hex-encoded
ASCII, base64 (standard and URL-safe, padded or not) and MD5 / SHA-1 / SHA-256 digests
(hex in either case, base64). Matching is then a dictionary lookup per token, whatever
the size of the list. Forms written with separators (`+44 7700 900 123`) are matched by
removing the separators from digit runs; percent-encoding is undone before looking.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from analyzer.errors import UsageError

# A run of digits with the separators people write numbers with.
SEPARATED_DIGITS = re.compile(r"\+?\d[\d \t().\-]{5,26}\d")
_SEPARATORS = re.compile(r"[ \t().\-]")


@dataclass(frozen=True, slots=True)
class Match:
    identifier: str  # E.164
    encoding: str  # plain | hex | base64 | md5 | sha1 | sha256
    form: str  # which written form was encoded: "E.164", "without +", "national", …


def number_forms(number: phonenumbers.PhoneNumber) -> dict[str, str]:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = _SEPARATORS.sub("", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    forms = {
        "E.164": e164,
        "E.164 without +": e164[1:],
        "international with 00": "00" + e164[1:],
        "national": national,
        "national without trunk prefix": str(number.national_number),
    }
    return {k: v for k, v in forms.items() if v}


DIGESTS = ("md5", "sha1", "sha256")


def digests_of(text: str) -> dict[str, str]:
    """token -> digest name, for the digests of one written form (hex either case, base64)."""
    raw = text.encode("ascii")
    out: dict[str, str] = {}
    for name in DIGESTS:
        digest = hashlib.new(name, raw).digest()
        hexed = digest.hex()
        b64 = base64.b64encode(digest).decode()
        url = base64.urlsafe_b64encode(digest).decode()
        for token in (hexed, hexed.upper(), b64, b64.rstrip("="), url, url.rstrip("=")):
            out[token] = name
    return out


def encodings_of(text: str) -> dict[str, str]:
    """token -> encoding, for every encoding lineid recognises of one written form."""
    raw = text.encode("ascii")
    out: dict[str, str] = {text: "plain", raw.hex(): "hex", raw.hex().upper(): "hex"}
    for b64 in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        token = b64.decode()
        out.setdefault(token, "base64")
        out.setdefault(token.rstrip("="), "base64")
    for token, name in digests_of(text).items():
        out.setdefault(token, name)
    return out


class Watchlist:
    def __init__(self, numbers: Iterable[str], region: str | None = None) -> None:
        self.numbers: list[str] = []
        self.table: dict[str, Match] = {}
        bad = []
        for entry in numbers:
            text = entry.strip()
            if not text or text.startswith("#"):
                continue
            number = _parse(text, region)
            if number is None:
                bad.append(text)
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            self.numbers.append(e164)
            for form_name, form in number_forms(number).items():
                for token, encoding in encodings_of(form).items():
                    self.table.setdefault(token, Match(e164, encoding, form_name))
        if bad:
            hint = "" if region else " (national numbers need a region, e.g. --region GB)"
            raise UsageError(f"watchlist entries that are not valid phone numbers{hint}: {', '.join(bad[:10])}")

    def __bool__(self) -> bool:
        return bool(self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)

    def find(self, text: str) -> list[tuple[str, Match]]:
        """(token as written, match) for every watchlisted number in a text."""
        hits: list[tuple[str, Match]] = []
        table = self.table
        for token in re.split(r"[^0-9A-Za-z+/=_-]+", text):
            if token and (m := table.get(token)) is not None:
                hits.append((token, m))
            elif token and "=" in token:  # a key=value pair: look at the value
                value = token.rsplit("=", 1)[1] or token.rstrip("=").rsplit("=", 1)[-1]
                if value and (m := table.get(value)) is not None:
                    hits.append((value, m))
        if "/" in text:  # a path or an MMS address: '/' separates there, not base64
            for token in re.split(r"[^0-9A-Za-z+=_-]+", text):
                if token and (m := table.get(token)) is not None:
                    hits.append((token, m))
        for run in SEPARATED_DIGITS.findall(text):
            # "+44 (0)7400 123456": the trunk zero written in brackets after the country code.
            digits = _SEPARATORS.sub("", run.replace("(0)", ""))
            if digits != run and (m := table.get(digits)) is not None:
                hits.append((run, m))
        return hits


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    candidates = [text] if text.startswith("+") else (["+" + text[2:]] if text.startswith("00") else [])
    if not candidates:
        candidates = [text] if region else []
        candidates.append("+" + _SEPARATORS.sub("", text))
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None
