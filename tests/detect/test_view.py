"""The view's per-field readers: a URI's query pairs are what the standard library gives."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.detect.view import query_pairs

# Characters that decide how a query splits and decodes, plus some that do not.
PIECES = [*"ab1=&+%?#;/ ", "%2B", "%3D", "%26", "%zz", "%E2%82%AC", "%E2", "é"]
QUERY_TEXT = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def reference(uri: str) -> tuple[tuple[str, str], ...]:
    """query_pairs before it was written out: parse_qsl over the query, fragment left out."""
    _, _, query = uri.partition("?")
    return tuple(parse_qsl(query.partition("#")[0], keep_blank_values=True)) if query else ()


@settings(max_examples=1000, deadline=None)
@given(uri=st.builds(lambda path, query: path + query, st.sampled_from(["", "/p", "/p?", "http://h/p?"]), QUERY_TEXT))
def test_query_pairs_is_parse_qsl(uri: str) -> None:
    query_pairs.cache_clear()
    assert query_pairs(uri) == reference(uri)


def test_query_pairs_examples() -> None:
    assert query_pairs("/p?msisdn=%2B447400123456&a=b+c&flag&&x=1=2#frag") == (
        ("msisdn", "+447400123456"),
        ("a", "b c"),
        ("flag", ""),
        ("x", "1=2"),
    )
    assert query_pairs("/p") == query_pairs("/p?") == query_pairs("/p?#a=b") == ()
