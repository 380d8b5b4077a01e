"""What every rule shares: options, decoders, and the one way a value becomes findings.

`Context.findings_in` is the single place where a field value is tokenised, decoded and
classified, and where confidence is decided from how strong the field's cue is:

| cue                                                          | confidence |
|--------------------------------------------------------------|------------|
| verified or code-attested catalog header, watchlisted number | high       |
| unverified catalog name, name heuristic, a field named       | medium     |
|   msisdn/phone/…, an MMS address (`/TYPE=PLMN`), a header     |            |
|   name echoed next to the number in a page                   |            |
| nothing but the value itself (a valid, long, mobile number)  | low        |
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from analyzer.detect import numbers
from analyzer.detect.decoders import Decoder
from analyzer.detect.numbers import Identified
from analyzer.model import Finding

# A value worth tokenising: a run of digits as long as the shortest number, or a token
# long enough to hide one encoded (hex, base64, percent).
CANDIDATE = re.compile(r"\d{7}|[A-Za-z0-9+/=_%-]{12}")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HYPHENATED_IMEI = re.compile(r"\b\d{8}-\d{6}-\d{1,2}\b")
# Values longer than this are cut in the `value` column (the identifier is always whole);
# a finding points at frames where the full value can be read.
MAX_VALUE_CHARS = 512
# Distinct (value, expectation) pairs whose reading is remembered.
VALUE_CACHE_SIZE = 100_000

CONFIDENCE_OF_CUE = {
    "catalog-verified": "high",
    "catalog-code-attested": "high",
    "watchlist": "high",
    "catalog-unverified": "medium",
    "heuristic": "medium",
    "field-name": "medium",
    "mms-address": "medium",
    "echo": "medium",
    None: "low",
}


@dataclass(frozen=True, slots=True)
class Reading:
    """An identifier found in a value: what, how it was encoded, and the token it came from."""

    found: Identified
    encoding: str
    token: str


class Context:
    def __init__(self, *, region: str | None, decoders: Sequence[Decoder], max_decoded_body_bytes: int) -> None:
        self.region = region
        self.decoders = tuple(decoders)
        self.max_decoded_body_bytes = max_decoded_body_bytes
        self._cache: dict[tuple[str, str | None], tuple[Reading, ...]] = {}
        self._url_decoding = any(d.encoding == "url" for d in self.decoders)
        # Percent-decoding is applied to the whole value (`readings`); the others to each token.
        self._token_decoders = tuple(d for d in self.decoders if d.encoding != "url")
        # The tokens of `numbers.tokens` that can hold an identifier: as long as the shortest
        # number `numbers.classify` takes, or as the shortest token a decoder reads. One
        # findall gives exactly those (a run is matched whole or not at all).
        shortest = min([numbers.MIN_CUED_DIGITS, *(d.min_chars for d in self._token_decoders)])
        self._long_tokens = re.compile(f"{numbers.TOKEN_CHARS}{{{shortest},}}").findall

    def readings(self, value: str, expect: str | None) -> tuple[Reading, ...]:
        """Every identifier in a (possibly composite, possibly encoded) value."""
        key = (value, expect)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if not CANDIDATE.search(value):
            return ()
        if "-" in value:
            # A UUID's groups are not numbers (a last group of 12 digits looks like one);
            # Nokia writes IMEIs hyphenated (AABBBBBB-CCCCCC-EE).
            value = UUID.sub(" ", value)
            if expect in ("imei", "imeisv"):
                value = HYPHENATED_IMEI.sub(lambda m: m.group(0).replace("-", ""), value)
        found: list[Reading] = []
        seen: set[str] = set()
        texts = [(value, "plain")]
        if self._url_decoding and "%" in value:
            texts.append((unquote(value, errors="replace"), "url"))
        for text, encoding in texts:
            for token in self._long_tokens(text):
                hit = self._classify(token, expect, encoding)
                if hit is not None and hit.found.identifier not in seen:
                    seen.add(hit.found.identifier)
                    found.append(hit)
        result = tuple(found)
        if len(self._cache) >= VALUE_CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _classify(self, token: str, expect: str | None, encoding: str) -> Reading | None:
        if token[:1].isdigit() or token[:1] == "+":
            found = numbers.classify(token, expect=expect, region=self.region)
            if found is not None:
                return Reading(found, encoding, token)
        for decoder in self._token_decoders:
            decoded = decoder.decode(token)
            if decoded is None:
                continue
            found = numbers.classify(decoded, expect=expect, region=self.region)
            if found is not None:
                return Reading(found, decoder.encoding, token)
        return None

    def findings_in(
        self,
        message_id: int,
        value: str,
        *,
        where: str,
        field: str,
        expect: str | None,
        cue: str | None,
        why: str,
        rule: str,
    ) -> list[Finding]:
        out = []
        for reading in self.readings(value, expect):
            found = reading.found
            confidence = CONFIDENCE_OF_CUE[cue]
            how = found.note if reading.encoding == "plain" else f"{reading.encoding}-encoded, {found.note}"
            if confidence == "high":
                if found.kind != (expect or found.kind) and not (found.kind == "imei" and expect == "imeisv"):
                    confidence = "medium"  # an IMSI where a number was expected: real, but the name misleads
                elif found.kind == "msisdn" and not found.mobile and found.note.startswith("E.164 without +"):
                    # The digits read as another country's fixed line: perhaps a national
                    # number (FortiOS's example x-up-calling-line-id=6044301297 is Vancouver).
                    confidence = "medium"
                    how += "; not a mobile range, perhaps a national number (give region=)"
            out.append(
                Finding(
                    message_id=message_id,
                    where=where,
                    field=field,
                    kind=found.kind,
                    value=value[:MAX_VALUE_CHARS],
                    identifier=found.identifier,
                    encoding=reading.encoding,
                    rule=rule,
                    confidence=confidence,
                    reason=f"{why}; {how}",
                    country=found.country,
                    carrier=found.carrier,
                )
            )
        return out
