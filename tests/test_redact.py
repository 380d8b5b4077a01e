"""Redaction modes: mask keeps a glance's worth, hmac is a keyed stable pseudonym."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.errors import UsageError
from analyzer.redact import mask_identifier, redactor


def test_mask_keeps_country_two_digits_and_last_three() -> None:
    assert mask_identifier("+447712345678") == "+44 77** ***678"
    assert mask_identifier("+5491126368595") == "+54 91** ****595"


def test_mask_imsi_keeps_home_network() -> None:
    assert mask_identifier("722310115238848", "imsi") == "72231*******848"


def test_mask_token_keeps_ends() -> None:
    assert mask_identifier("OTgxNTk2NDk0ADJVquRu5NS5") == "OTgx…5NS5"


def test_hmac_is_stable_per_key_and_differs_between_keys() -> None:
    a, b = redactor("hmac", "key one"), redactor("hmac", "key two")
    assert a("+447712345678", None) == a("+447712345678", None) != b("+447712345678", None)
    assert a("+447712345678", None).startswith("hmac:") and "4477" not in a("+447712345678", None)


def test_modes_are_checked() -> None:
    assert redactor("none")("+447712345678", None) == "+447712345678"
    with pytest.raises(UsageError):
        redactor("hmac")
    with pytest.raises(UsageError):
        redactor("blur")


@settings(max_examples=300, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=8, max_size=15))
def test_the_country_code_kept_is_the_one_phonenumbers_reads(digits: str) -> None:
    import phonenumbers

    try:
        expected = str(phonenumbers.parse("+" + digits, None).country_code)
    except phonenumbers.NumberParseException:
        expected = digits[:2]
    assert mask_identifier("+" + digits).split(" ")[0] == "+" + expected
