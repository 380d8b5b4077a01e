"""Redaction of identifiers in reports and exports: `none`, `mask`, `hmac`.

`mask` keeps what an analyst needs to tell numbers apart at a glance and a reader must
not learn: the country code, the first two national digits and the last three
(`+447712345678` → `+44 77** ***678`); an IMSI keeps its MCC-MNC and last three digits;
a token its first and last four characters. `hmac` replaces an identifier by a stable
pseudonym keyed by the analyst (`hmac:3JQ7…`): equal identifiers stay equal across
reports made with the same key, and nobody without the key can reverse or confirm one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from analyzer.errors import UsageError

MODES = ("none", "mask", "hmac")
# Characters of the HMAC-SHA-256 pseudonym kept (base32): 80 bits, no collision in any
# realistic set of subscribers.
PSEUDONYM_CHARS = 16


def mask_identifier(identifier: str, kind: str | None = None) -> str:
    text = str(identifier)
    if text.startswith("+") and text[1:].isdigit():
        return _mask_number(text)
    if text.isdigit() and len(text) >= 14 and kind in (None, "imsi", "imei"):
        return f"{text[:5]}{'*' * (len(text) - 8)}{text[-3:]}"
    if len(text) <= 8:
        return "*" * len(text)
    return f"{text[:4]}…{text[-4:]}"


def _mask_number(e164: str) -> str:
    # Country calling codes are prefix-free (ITU-T E.164): the first 1–3 digits that are a
    # code are the code, as phonenumbers' own extraction finds it, without parsing.
    digits = e164[1:]
    codes = (digits[:n] for n in (1, 2, 3) if digits[:1] != "0" and int(digits[:n] or 0) in COUNTRY_CODE_TO_REGION_CODE)
    cc = next(codes, digits[:2])
    national = e164[1 + len(cc) :]
    if len(national) <= 5:
        return f"+{cc} {'*' * len(national)}"
    hidden = "*" * (len(national) - 5)
    middle = national[:2] + hidden
    # Group as in the usual written form: "+44 77** ***678".
    return f"+{cc} {middle[:4]} {middle[4:]}{national[-3:]}".replace("  ", " ")


# Runs in a value that may spell an identifier, encoded or not: digits, and long hex or
# base64 tokens (a hex-encoded MSISDN cookie, an X-UIDH).
_DIGIT_RUN = re.compile(r"\d{6,}")
_ENCODED_RUN = re.compile(r"[A-Za-z0-9+/=_-]{16,}")


def mask_value(text: str) -> str:
    """A field value with every run that could spell an identifier masked."""
    text = _ENCODED_RUN.sub(
        lambda m: m.group(0) if m.group(0).isalpha() else f"{m.group(0)[:4]}…{m.group(0)[-4:]}", text
    )
    return _DIGIT_RUN.sub(lambda m: f"{m.group(0)[:2]}{'*' * (len(m.group(0)) - 5)}{m.group(0)[-3:]}", text)


def pseudonym(identifier: str, key: bytes) -> str:
    digest = hmac.new(key, str(identifier).encode("utf-8"), hashlib.sha256).digest()
    return "hmac:" + base64.b32encode(digest).decode("ascii")[:PSEUDONYM_CHARS]


def _unchanged(identifier: str, kind: str | None = None) -> str:
    return str(identifier)


def redactor(mode: str, key: bytes | str | None = None) -> Callable[[str, str | None], str]:
    """A function (identifier, kind) -> text for a redaction mode."""
    if mode == "none":
        return _unchanged
    if mode == "mask":
        return mask_identifier
    if mode == "hmac":
        if not key:
            raise UsageError("redaction 'hmac' needs a key (--hmac-key or LINEID_HMAC_KEY)")
        raw = key.encode("utf-8") if isinstance(key, str) else key

        def keyed(identifier: str, kind: str | None = None) -> str:
            return pseudonym(identifier, raw)

        return keyed
    raise UsageError(f"unknown redaction {mode!r}; choose one of {', '.join(MODES)}")
