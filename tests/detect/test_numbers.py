"""Number classification: the fast E.164 reading gives what libphonenumber gives.

`numbers.parsed_e164` decides most digit runs without `phonenumbers.parse`,
`numbers.region_and_type` types a number and finds its region in one pass, and
`_identified` asks for the carrier without typing the number again.
`reference_phone_number` and `reference_classify` below are the implementation before
that change, kept verbatim as the oracle: on random digit strings, on libphonenumber's
own example numbers of every region and type, and on those examples with their tails
replaced, old and new must give equal results (same kind, identifier, country, carrier,
mobile flag and note, or both nothing).
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType, carrier

from analyzer.detect import numbers
from analyzer.detect.numbers import (
    MAX_E164_DIGITS,
    MIN_CUED_DIGITS,
    MIN_UNCUED_DIGITS,
    MOBILE_TYPES,
    Identified,
    imei,
    imsi,
    looks_like_epoch,
)


# --------------------------------------------------------------------------- the oracle
def reference_phone_number(token: str, region: str | None = None, possible: bool = False) -> Identified | None:
    """numbers.phone_number before the fast E.164 reading (without its lru_cache)."""
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
    if digits.startswith("820"):
        readings.append(("+82" + digits[3:], None, "E.164 with Korea's trunk 0 kept"))
    if region:
        readings.sort(key=lambda reading: reading[1] is None)
    for text, reading_region, note in readings:
        try:
            number = phonenumbers.parse(text, reading_region)
        except phonenumbers.NumberParseException:
            continue
        kind = phonenumbers.number_type(number)
        if kind == PhoneNumberType.UNKNOWN:
            continue
        return _reference_identified(number, kind, note)
    if possible:
        for text, reading_region, note in readings:
            try:
                number = phonenumbers.parse(text, reading_region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(number) and phonenumbers.region_code_for_number(number):
                return _reference_identified(
                    number,
                    PhoneNumberType.UNKNOWN,
                    f"{note}; a possible number whose range libphonenumber does not list",
                )
    return None


def _reference_identified(number: phonenumbers.PhoneNumber, kind: int, note: str) -> Identified:
    return Identified(
        kind="msisdn",
        identifier=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number),
        carrier=carrier.name_for_number(number, "en") or None,
        mobile=kind in MOBILE_TYPES,
        note=note,
    )


def reference_classify(token: str, *, expect: str | None, region: str | None) -> Identified | None:
    """numbers.classify before the change (IMSI and IMEI checks unchanged)."""
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
    number = reference_phone_number(token, region, expect == "msisdn")
    if number is not None and (expect == "msisdn" or number.mobile):
        return number
    if len(digits) == 15:
        return imsi(digits) or (imei(digits) if expect else None)
    return None


def phone_number(token: str, region: str | None = None, possible: bool = False) -> Identified | None:
    """The new phone_number without its memo (so every call computes)."""
    return numbers.phone_number.__wrapped__(token, region, possible)


# --------------------------------------------------------------------------- inputs
def _examples() -> list[str]:
    """E.164 digits of libphonenumber's example numbers: every region, non-geographic code and type."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(PhoneNumberType.UNKNOWN):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:])
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:])
    return sorted(found)


EXAMPLES = _examples()
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=MAX_E164_DIGITS + 2)
# An example number with its tail replaced: near a valid range, often in it, often one digit
# too long or short: where a shortcut would go wrong if it could.
NEAR_EXAMPLES = st.builds(
    lambda example, keep, tail: example[: max(1, len(example) - keep)] + tail,
    st.sampled_from(EXAMPLES),
    st.integers(0, 8),
    st.text(alphabet="0123456789", max_size=9),
)
CANDIDATES = st.one_of(DIGITS, st.sampled_from(EXAMPLES), NEAR_EXAMPLES)
TOKENS = st.builds(lambda prefix, digits: prefix + digits, st.sampled_from(["", "", "+", "00", "0", "820"]), CANDIDATES)
REGIONS = st.sampled_from([None, None, "GB", "US", "DE", "IT", "AR", "KR", "FR", "BR", "IN", "MX", "RU", "NG", "ID"])
SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- epochs
@settings(max_examples=500, deadline=None)
@given(digits=st.builds(lambda zeros, d: "0" * zeros + d, st.integers(0, 3), DIGITS))
def test_looks_like_epoch_is_the_ranges(digits: str) -> None:
    value = int(digits)
    assert looks_like_epoch(digits) == any(low <= value < high for low, high in numbers._EPOCH_RANGES)


@pytest.mark.parametrize(
    ("digits", "epoch"),
    [
        ("1000000000", True),
        ("999999999", False),
        ("1999999999", True),
        ("2000000000", False),
        ("01426256922", True),  # leading zeros do not count
        ("1426256922162", True),
        ("1999999999999999", True),
        ("2000000000000000", False),
        ("0000000", False),
    ],
)
def test_looks_like_epoch_at_the_bounds(digits: str, epoch: bool) -> None:
    assert looks_like_epoch(digits) is epoch


# --------------------------------------------------------------------------- parsed_e164
def _parse_and_type(digits: str) -> tuple[phonenumbers.PhoneNumber | None, int]:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None, PhoneNumberType.UNKNOWN
    return number, phonenumbers.number_type(number)


@SETTINGS
@given(digits=CANDIDATES)
def test_parsed_e164_is_parse_or_a_number_that_is_not_valid(digits: str) -> None:
    """None only where parse raises or number_type is UNKNOWN; otherwise exactly parse's number."""
    number, kind = _parse_and_type(digits)
    fast = numbers.parsed_e164(digits)
    if fast is None:
        assert number is None or kind == PhoneNumberType.UNKNOWN, (digits, number, kind)
    else:
        assert fast == number, digits


def test_parsed_e164_keeps_every_example_number() -> None:
    """Every example number of every region and type is valid: none may be refused."""
    refused = [e for e in EXAMPLES if numbers.parsed_e164(e) is None]
    assert not refused
    assert all(numbers.parsed_e164(e) == phonenumbers.parse("+" + e) for e in EXAMPLES)


@pytest.mark.parametrize(
    ("digits", "why"),
    [
        ("0447400123456", "a calling code never starts with 0"),
        ("2801234567", "280 is no calling code"),
        ("4412", "too short after the calling code"),
        ("70111797240", "+7 numbers have 10 national digits"),
        ("5064989871", "a 10-digit id: 7 digits after Costa Rica's 506, too short there"),
        ("8435497694", "a 10-digit id: 8 digits after Viet Nam's 84, outside its general pattern"),
    ],
)
def test_parsed_e164_refuses_at_once(digits: str, why: str) -> None:
    number, kind = _parse_and_type(digits)
    assert number is None or kind == PhoneNumberType.UNKNOWN, why
    assert numbers.parsed_e164(digits) is None, why


def test_parsed_e164_keeps_leading_zeros_as_parse_does() -> None:
    # Italy keeps the 0 of fixed lines in the international form: +39 06 6982…
    for digits in ("390669820000", "3900698200001", "2250709000000"):
        assert numbers.parsed_e164(digits) == phonenumbers.parse("+" + digits), digits


# --------------------------------------------------------------------------- region_and_type
def _parsed(digits: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(digits if region else "+" + digits, region)
    except phonenumbers.NumberParseException:
        return None


@SETTINGS
@given(digits=CANDIDATES, region=REGIONS)
def test_region_and_type_is_region_code_for_number_and_number_type(digits: str, region: str | None) -> None:
    number = _parsed(digits, region)
    if number is not None:
        assert numbers.region_and_type(number) == (
            phonenumbers.region_code_for_number(number),
            phonenumbers.number_type(number),
        ), (digits, region)


def test_region_and_type_on_every_example() -> None:
    """Every type of every region (and the regions sharing +1, +7, +44, +61, …)."""
    for digits in EXAMPLES:
        number = phonenumbers.parse("+" + digits)
        want = (phonenumbers.region_code_for_number(number), phonenumbers.number_type(number))
        assert numbers.region_and_type(number) == want, digits
        assert want[1] != PhoneNumberType.UNKNOWN


def test_region_and_type_without_a_known_calling_code() -> None:
    number = phonenumbers.PhoneNumber(country_code=999, national_number=12345678)
    assert numbers.region_and_type(number) == (None, PhoneNumberType.UNKNOWN)
    assert phonenumbers.number_type(number) == PhoneNumberType.UNKNOWN


# --------------------------------------------------------------------------- whole classification
@SETTINGS
@given(token=TOKENS, region=REGIONS, possible=st.booleans())
def test_phone_number_is_unchanged(token: str, region: str | None, possible: bool) -> None:
    assert phone_number(token, region, possible) == reference_phone_number(token, region, possible)


@pytest.mark.parametrize("possible", [False, True])
def test_phone_number_is_unchanged_on_every_example(possible: bool) -> None:
    for digits in EXAMPLES:
        for token in (digits, "+" + digits, "00" + digits):
            assert phone_number(token, None, possible) == reference_phone_number(token, None, possible), token


@SETTINGS
@given(token=TOKENS, region=REGIONS, expect=st.sampled_from([None, "msisdn", "imsi", "imei", "imeisv"]))
def test_classify_is_unchanged(token: str, region: str | None, expect: str | None) -> None:
    numbers.phone_number.cache_clear()  # each example computed afresh, not read from the memo
    assert numbers.classify(token, expect=expect, region=region) == reference_classify(
        token, expect=expect, region=region
    )


def test_carrier_is_named_for_mobile_ranges_only() -> None:
    """The carrier comes from name_for_valid_number only when number_type is mobile, as
    carrier.name_for_number does: a fixed line has none."""
    mobile = phone_number("447400123456")
    assert mobile is not None and mobile.mobile and mobile.carrier
    fixed = phone_number("442079460000")  # London, a fixed line
    assert fixed is not None and not fixed.mobile and fixed.carrier is None
