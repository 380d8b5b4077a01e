"""Encodings identifiers travel in, each a small class: hex-encoded ASCII, base64, percent.

A decoder turns one token into the text it hides, or None. They are deliberately narrow:
a decoder only answers when the result is a plausible identifier (digits, with an optional
leading '+'), so random tokens (session ids, ETags) decode to nothing and cost nothing.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

# Hex of the ASCII digits of a number: 2 chars a digit, so 8–16 digits are 16–32 hex chars
# (a '+' adds "2B"). Thai User-Identity-Forward-msisdn cookies: 343931373236313031303034.
_HEX_DIGITS = re.compile(r"(?:2[bB])?(?:3[0-9]){7,16}")
# base64 of 8–16 ASCII digits (with padding variants and URL-safe alphabet).
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{12,24}={0,2}")
_DECODED_NUMBER = re.compile(r"\+?[0-9]{7,16}")


class Decoder:
    id: str = ""
    encoding: str = ""  # the Finding.encoding it stands for
    description: str = ""
    min_chars: int = 1  # the shortest token it can decode (shorter ones are not offered)

    def decode(self, token: str) -> str | None:
        raise NotImplementedError


class HexAsciiDecoder(Decoder):
    id = "decode-hex"
    encoding = "hex"
    description = "hex-encoded ASCII digits (FortiOS and Thai operators' MSISDN cookies, Airtel's header)"
    min_chars = 14  # _HEX_DIGITS: 7 digits

    def decode(self, token: str) -> str | None:
        if not _HEX_DIGITS.fullmatch(token):
            return None
        return bytes.fromhex(token).decode("ascii")


class Base64Decoder(Decoder):
    id = "decode-base64"
    encoding = "base64"
    description = "base64 (standard or URL-safe) of a number's digits"
    min_chars = 12  # _BASE64

    def decode(self, token: str) -> str | None:
        # Base64 of ASCII digits (0x30-0x39) begins every 4-character group with M, N or O
        # ('+', 0x2B, gives K): a test that rejects almost every other token at once.
        if token[0] not in "KMNO" or any(c not in "MNO" for c in token[4::4]):
            return None
        if not _BASE64.fullmatch(token) or token.isdigit():
            return None
        padded = token + "=" * (-len(token) % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            return None
        text = raw.decode("ascii", "replace")
        return text if _DECODED_NUMBER.fullmatch(text) else None


class PercentDecoder(Decoder):
    id = "decode-url"
    encoding = "url"
    description = "percent-encoding (%2B44…, %34%34…)"

    def decode(self, token: str) -> str | None:
        if "%" not in token:
            return None
        text = unquote(token, errors="replace")
        return text if text != token else None


DECODERS: tuple[Decoder, ...] = (HexAsciiDecoder(), Base64Decoder(), PercentDecoder())
