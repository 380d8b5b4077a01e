"""The digest table is keyed by raw digest bytes; every spelling a tracker may use of a
number's digest (hex either case, base64 standard or URL-safe, padded or not) decodes to it."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.detect.rules.hashed import DIGEST_TOKEN, digest_table, raw_digest
from analyzer.detect.watchlist import digests_of, number_forms

NUMBERS = ["+447700900123", "+4915123456789", "+393471234567", "+5491123456789"]


def test_every_spelling_of_every_form_finds_its_number() -> None:
    table = digest_table(NUMBERS)
    for e164 in NUMBERS:
        forms = number_forms(phonenumbers.parse(e164))
        first_name = {form: name for name, form in reversed(forms.items())}  # equal forms: the first
        for form in forms.values():
            for token, name in digests_of(form).items():
                assert DIGEST_TOKEN.fullmatch(token), token
                assert table[raw_digest(token) or b""] == (e164, name, first_name[form]), token


@settings(max_examples=300, deadline=None)
@given(st.from_regex(DIGEST_TOKEN, fullmatch=True))
def test_a_token_that_is_no_digest_of_the_numbers_matches_nothing(token: str) -> None:
    table = digest_table(NUMBERS)
    spellings = {t for n in NUMBERS for f in number_forms(phonenumbers.parse(n)).values() for t in digests_of(f)}
    raw = raw_digest(token)
    if token not in spellings and token.lower() not in {s.lower() for s in spellings}:
        assert raw is None or raw not in table
