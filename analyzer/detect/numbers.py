"""Is this digit string a subscriber identifier? Phone numbers (libphonenumber), IMSIs
(E.212 MCC+MNC from the maintained table), IMEIs (Luhn).

Strategy: callers tokenise values first (`tokens`), so a candidate is always a maximal run
of digits, never part of a longer one. `classify` then tries the readings a gateway
produces: E.164 with `+`, with `00`, without either (the common case: `447726900123`),
national format when a region is known, and Korea's kept trunk zero (`8201073989200`).
Results are memoised: a gateway repeats the same few thousand numbers millions of times.
Values that are timestamps, content lengths, IP addresses or UUIDs never reach here
as one token, and epoch-looking runs are refused outright.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, carrier

from analyzer.detect import mccmnc

# Token separators inside composite values: `GPRS,447…,unsecured`, `X-H3G-MSISDN=3934…;x-bearer-id=GSM`,
# `swm_10448371100_vmag.mycingular.net`, `tel:+44…`, `+491726101004/TYPE=PLMN`.
TOKEN_SPLIT = re.compile(r"[^0-9A-Za-z+%]+")
# E.164 numbers have at most 15 digits; with no name telling us what a value is, fewer than
# 10 digits is too likely to be a count or an ID to call it a phone number.
MAX_E164_DIGITS = 15
MIN_CUED_DIGITS = 7
MIN_UNCUED_DIGITS = 10
# Unix times in s (10 digits, 2001–2033), ms (13) and µs (16) look like long numbers: a
# `X-Request-Start: 1426256922162` must never become a phone number.
_EPOCH_RANGES = (
    (1_000_000_000, 2_000_000_000),
    (1_000_000_000_000, 2_000_000_000_000),
    (1_000_000_000_000_000, 2_000_000_000_000_000),
)
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER})
CLASSIFY_CACHE_SIZE = 65_536


@dataclass(frozen=True, slots=True)
class Identified:
    """A digit string recognised as an identifier."""

    kind: str  # msisdn | imsi | imei
    identifier: str  # E.164 for numbers, the digits for IMSI and IMEI
    country: str | None
    carrier: str | None
    mobile: bool  # for numbers: libphonenumber says the range is mobile
    note: str  # how it was read: "E.164 without +", "national (GB)", "IMSI of Claro AR (722-310)", …


def looks_like_epoch(digits: str) -> bool:
    value = int(digits)
    return any(low <= value < high for low, high in _EPOCH_RANGES)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@functools.lru_cache(maxsize=CLASSIFY_CACHE_SIZE)
def phone_number(token: str, region: str | None = None, possible: bool = False) -> Identified | None:
    """A valid phone number read from `token` (digits, maybe with + or 00), or None.

    possible: also accept a number whose length fits its country's plan although
    libphonenumber lists no such range (a new range, or the UK's 07700 900xxx drama
    range): right for a field whose name already says it holds a number.
    """
    plus = token.startswith("+")
    digits = token[1:] if plus else token
    if not digits.isdigit() or not digits.isascii():
        return None
    readings: list[tuple[str, str | None, str]] = []
    if plus:
        readings.append(("+" + digits, None, "E.164"))
    elif digits.startswith("00"):
        readings.append(("+" + digits[2:], None, "international with 00"))
    else:
        if region and digits.startswith("0"):
            readings.append((digits, region, f"national ({region})"))
        readings.append(("+" + digits, None, "E.164 without +"))
        if region and not digits.startswith("0"):
            readings.append((digits, region, f"national ({region}) without trunk prefix"))
    if digits.startswith("820"):  # Korea: 82 + 0 + national, the trunk zero kept (KTF handsets)
        readings.append(("+82" + digits[3:], None, "E.164 with Korea's trunk 0 kept"))
    if region:
        # With a region the analyst told us where the numbers are from: a national
        # reading that is valid wins over reading the same digits as another country's
        # E.164 (a US 951… is not Myanmar's +95).
        readings.sort(key=lambda reading: reading[1] is None)
    for text, reading_region, note in readings:
        try:
            number = phonenumbers.parse(text, reading_region)
        except phonenumbers.NumberParseException:
            continue
        # number_type is UNKNOWN exactly for numbers that are not valid, and says whether the
        # range is mobile: one libphonenumber pass instead of is_valid_number plus this.
        kind = phonenumbers.number_type(number)
        if kind == PhoneNumberType.UNKNOWN:
            continue
        return _identified(number, kind, note)
    if possible:
        for text, reading_region, note in readings:
            try:
                number = phonenumbers.parse(text, reading_region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(number) and phonenumbers.region_code_for_number(number):
                return _identified(
                    number,
                    PhoneNumberType.UNKNOWN,
                    f"{note}; a possible number whose range libphonenumber does not list",
                )
    return None


def _identified(number: phonenumbers.PhoneNumber, kind: int, note: str) -> Identified:
    return Identified(
        kind="msisdn",
        identifier=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number),
        carrier=carrier.name_for_number(number, "en") or None,
        mobile=kind in MOBILE_TYPES,
        note=note,
    )


@functools.lru_cache(maxsize=CLASSIFY_CACHE_SIZE)
def imsi(digits: str) -> Identified | None:
    """15 digits starting with an allocated MCC+MNC (E.212)."""
    if len(digits) != 15 or not digits.isdigit():
        return None
    network = mccmnc.imsi_home_network(digits)
    if network is None:
        return None
    name = network.brand or network.operator or None
    return Identified(
        kind="imsi",
        identifier=digits,
        country=network.country_iso or None,
        carrier=name,
        mobile=True,
        note=f"IMSI of {name or 'an allocated network'} ({network.mcc}-{network.mnc})",
    )


def imei(digits: str) -> Identified | None:
    """An IMEI (15 digits, Luhn check digit) or IMEISV (16 digits, no check digit).

    Nokia's hyphenated form `AABBBBBB-CCCCCC-EE` is accepted with its hyphens removed by the caller.
    """
    if not digits.isdigit():
        return None
    if len(digits) == 15 and luhn_ok(digits):
        return Identified("imei", digits, None, None, True, "IMEI (Luhn check digit valid)")
    if len(digits) == 16:
        return Identified("imei", digits, None, None, True, "IMEISV (16 digits)")
    return None


def classify(token: str, *, expect: str | None, region: str | None) -> Identified | None:
    """The identifier a token is, given what the field it came from should hold.

    expect: 'msisdn' | 'imsi' | 'imei' | 'imeisv' for a field whose name says so, None for
    a field that says nothing (then only long, valid, mobile E.164 numbers and valid IMSIs
    count, and the caller gives them low confidence).
    """
    digits = token.lstrip("+")
    if not digits.isdigit() or len(digits) > MAX_E164_DIGITS + 1:
        return None
    if expect in ("imsi",):
        return imsi(digits)
    if expect in ("imei", "imeisv"):
        return imei(digits)
    if len(digits) < (MIN_CUED_DIGITS if expect else MIN_UNCUED_DIGITS):
        return None
    if not token.startswith(("+", "00")) and looks_like_epoch(digits):
        return None
    number = phone_number(token, region, expect == "msisdn")
    if number is not None and (expect == "msisdn" or number.mobile):
        return number
    if len(digits) == 15:
        return imsi(digits) or (imei(digits) if expect else None)
    return None


def tokens(value: str) -> list[str]:
    """Candidate tokens of a value: maximal alphanumeric runs (a '+' may lead)."""
    return [t for t in TOKEN_SPLIT.split(value) if t]
