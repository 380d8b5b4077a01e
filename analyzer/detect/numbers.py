"""Is this digit string a subscriber identifier? Phone numbers (libphonenumber), IMSIs
(E.212 MCC+MNC from the maintained table), IMEIs (Luhn).

Strategy: callers tokenise values first (`tokens`), so a candidate is always a maximal run
of digits, never part of a longer one. `classify` then tries the readings a gateway
produces: E.164 with `+`, with `00`, without either (the common case: `447726900123`),
national format when a region is known, and Korea's kept trunk zero (`8201073989200`).
Results are memoised: a gateway repeats the same few thousand numbers millions of times.
Values that are timestamps, content lengths, IP addresses or UUIDs never reach here
as one token, and epoch-looking runs are refused outright.

Most digit runs a capture holds are not phone numbers (ids in cookies, cache busters), and
libphonenumber takes ~50 µs to say so. For the E.164 readings `parsed_e164` says it in
~2 µs, from the same metadata and by the same steps libphonenumber takes (its docstring
has the argument), and gives the parsed number without parsing when no national prefix
can be stripped; what it cannot decide goes to libphonenumber as before. A valid number is
then typed once (`region_and_type`), where libphonenumber types it up to three times to
find its region, its type and whether a carrier is named. `tests/detect/test_numbers.py`
holds both to libphonenumber's own answers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, carrier, phonemetadata

from analyzer.detect import mccmnc

# Token separators inside composite values: `GPRS,447…,unsecured`, `X-H3G-MSISDN=3934…;x-bearer-id=GSM`,
# `swm_10448371100_vmag.mycingular.net`, `tel:+44…`, `+491726101004/TYPE=PLMN`.
TOKEN_CHARS = "[0-9A-Za-z+%]"
TOKEN_SPLIT = re.compile(f"[^{TOKEN_CHARS[1:-1]}]+")
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
# Each range is [10^(n-1), 2·10^(n-1)): the numbers of n significant digits whose first is a 1.
_EPOCH_DIGITS = frozenset(len(str(low)) for low, _ in _EPOCH_RANGES)
MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER})
CLASSIFY_CACHE_SIZE = 65_536
# libphonenumber's shortest national significant number (_MIN_LENGTH_FOR_NSN).
MIN_NSN_DIGITS = 2


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
    significant = digits.lstrip("0")  # no int(): digit runs are many, and this is as exact
    return len(significant) in _EPOCH_DIGITS and significant[0] == "1"


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
        if reading_region is None:
            e164 = parsed_e164(text[1:])
            if e164 is None:
                continue  # parse raises, or the number is not valid
            number = e164
        else:
            try:
                number = phonenumbers.parse(text, reading_region)
            except phonenumbers.NumberParseException:
                continue
        # number_type is UNKNOWN exactly for numbers that are not valid, and says whether the
        # range is mobile: one libphonenumber pass instead of is_valid_number plus this.
        region, kind = region_and_type(number)
        if kind == PhoneNumberType.UNKNOWN:
            continue
        return _identified(number, region, kind, note)
    if possible:
        for text, reading_region, note in readings:
            try:
                number = phonenumbers.parse(text, reading_region)
            except phonenumbers.NumberParseException:
                continue
            region = phonenumbers.region_code_for_number(number)
            if phonenumbers.is_possible_number(number) and region:
                # Not valid (the loop above said so): number_type is UNKNOWN.
                return _identified(
                    number,
                    region,
                    PhoneNumberType.UNKNOWN,
                    f"{note}; a possible number whose range libphonenumber does not list",
                )
    return None


def _identified(number: phonenumbers.PhoneNumber, region: str | None, kind: int, note: str) -> Identified:
    """`region` and `kind` are region_code_for_number(number) and number_type(number)."""
    mobile = kind in MOBILE_TYPES
    return Identified(
        kind="msisdn",
        identifier=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=region,
        # carrier.name_for_number is this test on number_type, which is `kind` already.
        carrier=(carrier.name_for_valid_number(number, "en") if mobile else "") or None,
        mobile=mobile,
        note=note,
    )


@functools.cache  # bounded: libphonenumber's metadata has a few hundred such patterns
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


# A number description as `_is_number_matching_desc` reads it: (possible lengths, national
# number pattern), None for a description the metadata lacks.
Desc = tuple[frozenset[int], str | None] | None


def _desc(desc: phonemetadata.PhoneNumberDesc | None) -> Desc:
    return None if desc is None else (frozenset(desc.possible_length), desc.national_number_pattern or None)


def _matches(desc: Desc, national: str) -> bool:
    """`phonenumberutil._is_number_matching_desc`, with the pattern compiled once."""
    if desc is None:
        return False
    lengths, pattern = desc
    return (
        (not lengths or len(national) in lengths)
        and pattern is not None
        and bool(_pattern(pattern).fullmatch(national))
    )


@dataclass(frozen=True, slots=True)
class TypePlan:
    """One region's metadata as `number_type` reads it, descriptions in the order it tries them."""

    leading_digits: str | None
    general: Desc
    special: tuple[tuple[int, Desc], ...]  # premium rate … voicemail: the first that matches
    fixed_line: Desc
    mobile: Desc
    same_mobile_and_fixed_line: bool

    @classmethod
    def of(cls, meta: phonemetadata.PhoneMetadata) -> TypePlan:
        special = (
            (PhoneNumberType.PREMIUM_RATE, meta.premium_rate),
            (PhoneNumberType.TOLL_FREE, meta.toll_free),
            (PhoneNumberType.SHARED_COST, meta.shared_cost),
            (PhoneNumberType.VOIP, meta.voip),
            (PhoneNumberType.PERSONAL_NUMBER, meta.personal_number),
            (PhoneNumberType.PAGER, meta.pager),
            (PhoneNumberType.UAN, meta.uan),
            (PhoneNumberType.VOICEMAIL, meta.voicemail),
        )
        return cls(
            meta.leading_digits,
            _desc(meta.general_desc),
            tuple((kind, _desc(desc)) for kind, desc in special),
            _desc(meta.fixed_line),
            _desc(meta.mobile),
            bool(meta.same_mobile_and_fixed_line_pattern),
        )

    def number_type(self, national: str) -> int:
        """`phonenumberutil._number_type_helper`, step for step."""
        if not _matches(self.general, national):
            return PhoneNumberType.UNKNOWN
        for kind, desc in self.special:
            if _matches(desc, national):
                return kind
        if _matches(self.fixed_line, national):
            if self.same_mobile_and_fixed_line or _matches(self.mobile, national):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and _matches(self.mobile, national):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


@functools.cache  # bounded: one per region (and non-geographic code) libphonenumber knows
def _type_plan(code: int, region: str, geographic: bool) -> TypePlan | None:
    metadata = phonemetadata.PhoneMetadata
    if geographic:
        meta = metadata.metadata_for_region(region.upper(), None)
    else:
        meta = metadata.metadata_for_region_or_calling_code(code, region)
    return None if meta is None else TypePlan.of(meta)


def region_and_type(number: phonenumbers.PhoneNumber) -> tuple[str | None, int]:
    """(region_code_for_number(number), number_type(number)), in one pass.

    libphonenumber finds the region of a shared calling code (+44: GB, GG, IM, JE) by typing
    the number against each region's metadata in turn, then types it again for number_type,
    and again for carrier.name_for_number: three walks over a dozen descriptions. This
    follows `region_code_for_number`, `_region_code_for_number_from_list` and `number_type`
    step for step, keeping the type found while picking the region (number_type reads the
    same region's metadata), with the metadata's patterns compiled once.
    """
    code = number.country_code
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code) if code is not None else None
    if code is None or regions is None:
        return None, PhoneNumberType.UNKNOWN
    national = phonenumbers.national_significant_number(number)
    if len(regions) == 1:
        region = regions[0]
    else:
        for candidate in regions:
            plan = _type_plan(code, candidate, True)
            if plan is None:
                continue
            if plan.leading_digits is not None:
                if _pattern(plan.leading_digits).match(national):
                    break
            elif (kind := plan.number_type(national)) != PhoneNumberType.UNKNOWN:
                return candidate, kind
        else:
            return None, PhoneNumberType.UNKNOWN  # no region: number_type finds no metadata
        region = candidate
    plan = _type_plan(code, region, False)
    return region, PhoneNumberType.UNKNOWN if plan is None else plan.number_type(national)


@dataclass(frozen=True, slots=True)
class CallingCodePlan:
    """What libphonenumber reads from its metadata for "+<calling code><national number>"."""

    # The main region's national-prefix-for-parsing pattern (None: the region has none).
    national_prefix: str | None
    # (possible lengths, national number pattern) of each of the calling code's regions'
    # general description; pattern None for a region without one (it validates nothing).
    general: tuple[tuple[frozenset[int], str | None], ...]

    def may_strip(self, national: str) -> bool:
        """Whether parse may strip a national prefix from this national number."""
        return self.national_prefix is not None and _pattern(self.national_prefix).match(national) is not None

    def general_match(self, national: str) -> bool:
        """Whether some region's general description matches (`_is_number_matching_desc`)."""
        length = len(national)
        return any(
            (not lengths or length in lengths) and pattern is not None and _pattern(pattern).fullmatch(national)
            for lengths, pattern in self.general
        )


@functools.cache  # bounded: one per calling code libphonenumber knows (~250)
def calling_code_plan(code: int) -> CallingCodePlan:
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code
    main = meta(code, phonenumbers.region_code_for_country_code(code))
    prefix = main.national_prefix_for_parsing if main is not None else None
    general = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = meta(code, region)
        desc = metadata.general_desc if metadata is not None else None
        if desc is not None:
            general.append((frozenset(desc.possible_length), desc.national_number_pattern or None))
    return CallingCodePlan(prefix or None, tuple(general))


def parsed_e164(digits: str) -> phonenumbers.PhoneNumber | None:
    """`phonenumbers.parse("+" + digits)` for ASCII digits, or None where parse raises or
    where the number is certainly not valid (number_type UNKNOWN). Most digit runs are
    not numbers, and libphonenumber takes ~50 µs to say so; this takes ~2 µs.

    The argument, step by step through `parse(text, None)` and `number_type`:
    1. The calling code is the first of digits[:1], [:2], [:3] in COUNTRY_CODE_TO_REGION_CODE
       (`_extract_country_code`); none, or a leading 0: parse raises.
    2. The national number N is the rest; parse raises if N has fewer than 2 digits. parse
       then strips a national prefix with the main region's metadata
       (`_maybe_strip_national_prefix_carrier_code`) only if its national-prefix-for-parsing
       pattern matches at N's start. When it does, libphonenumber parses (as before). When it
       does not, or there is none, parse returns the calling code and N, its leading zeros
       kept as `italian_leading_zero` / `number_of_leading_zeros` (`_number`).
    3. number_type is not UNKNOWN only if the general description of the metadata of the
       region it picks among the calling code's regions matches N (`_number_type_helper`'s
       first test: N's length among the possible lengths when some are listed, and the
       pattern matching all of N). If no region's general description matches N, the
       number is not valid.
    """
    if len(digits) <= MIN_NSN_DIGITS or digits[0] == "0":
        return None  # TOO_SHORT_AFTER_IDD, or no calling code starts with 0
    code = 0
    for size in (1, 2, 3):
        if int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            code = int(digits[:size])
            break
    if code == 0:
        return None  # INVALID_COUNTRY_CODE
    national = digits[size:]
    if len(national) < MIN_NSN_DIGITS:
        return None  # TOO_SHORT_NSN
    plan = calling_code_plan(code)
    if plan.may_strip(national):
        try:
            return phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return None
    if not plan.general_match(national):
        return None
    return _number(code, national)


def _number(code: int, national: str) -> phonenumbers.PhoneNumber:
    """What parse returns for "+<code><national>" when it strips no national prefix."""
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    if len(national) > 1 and national[0] == "0":  # _set_italian_leading_zeros_for_phone_number
        number.italian_leading_zero = True
        zeros = 1
        while zeros < len(national) - 1 and national[zeros] == "0":
            zeros += 1
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


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
