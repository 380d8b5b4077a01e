"""The engine's memo: `Detector.scan` gives what the rules give message by message.

`Detector.scan_by_rule` is the definition (each rule's `match` over the message, findings
de-duplicated); `Detector.scan` computes it from findings remembered per header field,
URI and body. Every test here holds the two equal (same findings, same order, same
digest candidates), on random messages whose fields repeat (so the memo is hit), with a
memo so small it is emptied all the time, and with rules that raise. The public
`scan_header` and `scan_uri` are held to what `scan` reports for a message with that
field alone.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.anomalies import Recorder
from analyzer.api import Options
from analyzer.detect.catalog import CatalogEntry, Kind
from analyzer.detect.context import Context
from analyzer.detect.engine import FIELD_MEMO_SIZE, MEMO_BODY_BYTES, Detector, build_detector
from analyzer.detect.rule import Rule
from analyzer.detect.view import COOKIE, HEADER_CLASSES, OTHER, SET_COOKIE, MessageView, header_class
from analyzer.model import Finding, HttpMessage, MessageRef
from tests.detect.test_rules import GB, GB_DIGITS, IMEI, IMSI_AR, message
from tests.detect.test_rules import OTHER as OTHER_NUMBER

SHA256 = hashlib.sha256(GB_DIGITS.encode()).hexdigest()
HEX = GB_DIGITS.encode().hex()
B64 = base64.b64encode(GB_DIGITS.encode()).decode()

# Header fields that find something, fields that find nothing, and fields of the classes
# other rules read (cookies, Set-Cookie, Location): drawn again and again, so that a run
# scans the same field in many messages, as a gateway does.
FIELDS = [
    ("x-up-calling-line-id", GB_DIGITS),
    ("X-MSISDN", GB),
    ("x-msisdn", GB_DIGITS),  # the same number under a second spelling: one finding each
    ("x-nokia-imsi", IMSI_AR),
    ("x-imei", IMEI),
    ("X-Wap-msisdn", "8032618185"),  # a national number in a catalog header
    ("x-network-info", f"GPRS,{GB_DIGITS},unsecured"),
    ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"),
    ("x-up-subno", "swm_447400123456_vmag.mycingular.net"),
    ("X-Subscriber-Msisdn", OTHER_NUMBER),  # the name heuristic
    ("X-Forwarded-For", "10.1.2.3"),
    ("User-Agent", "Mozilla/5.0 (Linux; Android 4.0.4) +491726101004/TYPE=PLMN"),
    ("X-Tracker-Uh", SHA256),
    ("x-msisdn-hash", SHA256),
    ("X-Request-Id", "0123456789abcdef0123456789abcdef"),
    ("Cookie", f"User-Identity-Forward-msisdn={HEX}; lang=en"),
    ("Cookie", f"_ga=GA1.2.1870680426.1325385835; msisdn={GB_DIGITS}; _hid={SHA256}"),
    ("cookie", f"tok={B64}"),
    ("Set-Cookie", f"msisdn={GB_DIGITS}; Path=/; HttpOnly"),
    ("Location", f"http://partner.example/landing?msisdn={GB_DIGITS}&x=1"),
    ("Location", "/msisdn/447400123457/welcome"),
    ("Date", "Fri, 20 Jan 2012 08:42:29 GMT"),
    ("Content-Length", "1326880000"),
    ("X-Note", "call +44 7400 123456 now"),  # separated digits: the watchlist reads them
]
URIS = [
    None,
    "/",
    f"/api?msisdn={GB_DIGITS}&_=1327055283660",
    f"/p.gif?uh={SHA256}&cid=2737122648.1325296490",
    f"/msisdn/{GB_DIGITS}/profile",
    f"/x?to=%2B{GB_DIGITS}",
    f"http://example.com/a/{OTHER_NUMBER[1:]}?q=1",
]
BODIES: list[tuple[bytes, str | None]] = [
    (b"", None),
    (f'{{"user": {{"msisdn": "{GB_DIGITS}", "ph": "{SHA256}"}}}}'.encode(), "application/json"),
    (f"ev=Lead&phone={GB_DIGITS}".encode(), "application/x-www-form-urlencoded"),
    (f"<tr><td>x-up-calling-line-id</td><td>{GB_DIGITS}</td></tr>".encode(), "text/html"),
    (b"<html>nothing here 1326880000</html>", "text/html"),
    (f"send {OTHER_NUMBER[1:]} now".encode(), None),
]
MESSAGES = st.builds(
    lambda headers, uri, body, direction: message(
        headers, uri=uri, body=body[0], content_type=body[1], direction=direction
    ),
    headers=st.lists(st.sampled_from(FIELDS), max_size=8),
    uri=st.sampled_from(URIS),
    body=st.sampled_from(BODIES),
    direction=st.sampled_from(["request", "response"]),
)
OPTIONS = [
    Options(),
    Options(watchlist=(GB, OTHER_NUMBER)),
    Options(region="GB"),
    Options(rules="header-catalog,cookie,hashed-msisdn,decode-hex"),
    Options(rules="all,-header-value-number,-body-text"),
]


def numbered(messages: Sequence[HttpMessage]) -> list[HttpMessage]:
    """The messages with distinct ids, frames and flows, as a capture has them."""
    return [replace(m, message_id=i + 1, frame_first=i + 1, frame_last=i + 1) for i, m in enumerate(messages)]


def both(options: Options, messages: Iterable[HttpMessage], **memo: int) -> tuple[Detector, Detector, list[Any]]:
    """Scan with the memo (`scan`) and by definition (`scan_by_rule`), asserting equal results."""
    fast = build_detector(options)
    if memo:
        fast = Detector(fast.rules, fast.context, strict=fast.strict, **memo)
    slow = build_detector(options)
    results = []
    for msg in messages:
        recorder = Recorder("test")
        got = fast.scan(msg, recorder)
        want = slow.scan_by_rule(msg, Recorder("test"))
        assert got == want, msg
        assert not recorder.items
        results.append(got)
    assert fast.digest_candidates == slow.digest_candidates
    return fast, slow, results


# --------------------------------------------------------------------------- equivalence
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(MESSAGES, min_size=1, max_size=12), options=st.sampled_from(OPTIONS))
def test_scan_is_scan_by_rule(messages: list[HttpMessage], options: Options) -> None:
    fast, slow, first = both(options, numbered(messages))
    # Again with the memo full: the same findings, and every request's digest candidates
    # kept again (the memo does not skip the hashed-number rule's bookkeeping).
    again = [fast.scan(m, Recorder("test")) for m in numbered(messages)]
    assert again == first
    for m in numbered(messages):
        slow.scan_by_rule(m, Recorder("test"))
    assert fast.digest_candidates == slow.digest_candidates


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(MESSAGES, min_size=1, max_size=12), options=st.sampled_from(OPTIONS))
def test_scan_is_scan_by_rule_with_a_memo_emptied_all_the_time(messages: list[HttpMessage], options: Options) -> None:
    both(options, numbered(messages * 2), memo_size=3, memo_chars=200)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=60)), max_size=6),
    uri=st.one_of(st.none(), st.text(max_size=60), st.text(max_size=40).map(lambda t: "/p?" + t)),
    body=st.binary(max_size=200),
    direction=st.sampled_from(["request", "response"]),
)
def test_scan_is_scan_by_rule_on_random_text(
    headers: list[tuple[str, str]], uri: str | None, body: bytes, direction: str
) -> None:
    msg = message(headers, uri=uri, body=body, direction=direction)
    both(Options(watchlist=(GB,)), [msg, msg])


def test_duplicate_fields_keep_the_first_place_and_the_best_confidence() -> None:
    """Two fields of one name holding one number are one finding (the dedupe is per message,
    after the memo): the place of the first, the confidence of the best."""
    msg = message([("X-Foo", f"n={GB_DIGITS}"), ("X-Foo", GB_DIGITS), ("x-msisdn", GB_DIGITS)])
    _, _, [found] = both(Options(watchlist=(GB,)), [msg])
    foo = [f for f in found if f.field == "X-Foo"]
    assert [(f.rule, f.confidence) for f in foo] == [("watchlist", "high")]
    assert [f.field for f in found] == ["x-msisdn", "X-Foo"]


# --------------------------------------------------------------------------- the memo
class Counting(Rule):
    """Counts the fields and bodies it is asked to read."""

    id = "counting"
    header_passes = (frozenset(HEADER_CLASSES),)
    reads_uri = True
    reads_body = True

    def __init__(self) -> None:
        self.calls: list[str] = []

    def header_findings(
        self,
        mid: int,
        name: str,
        value: str,
        cls: int,
        entry: CatalogEntry | None,
        guess: tuple[Kind, str] | None,
        ctx: Context,
    ) -> Iterable[Finding]:
        self.calls.append(name)
        return ()

    def uri_findings(self, mid: int, uri: str, ctx: Context) -> Iterable[Finding]:
        self.calls.append(uri)
        return ()

    def body_findings(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        self.calls.append("body")
        return ()


def _with(rule: Rule, **memo: int) -> Detector:
    base = build_detector(Options())
    return Detector([*base.rules, rule], base.context, strict=True, **memo)


def test_a_repeated_field_uri_or_body_is_read_once() -> None:
    counting = Counting()
    detector = _with(counting)
    body = b"<html>same page for everyone</html>"
    msgs = numbered([message([("X-MSISDN", GB), ("Accept", "*/*")], uri="/a?b=1", body=body)] * 3)
    found = [detector.scan(m, Recorder("test")) for m in msgs]
    assert counting.calls == ["X-MSISDN", "Accept", "/a?b=1", "body"]
    # Each message still gets its own findings, under its own id.
    assert [[f.message_id for f in fs] for fs in found] == [[1], [2], [3]]


def test_direction_is_part_of_a_fields_key() -> None:
    counting = Counting()
    detector = _with(counting)
    for direction in ("request", "response", "request"):
        detector.scan(message([("X-A", "1")], uri=None, direction=direction), Recorder("test"))
    assert counting.calls == ["X-A", "X-A"]


def test_a_long_body_is_read_for_each_message() -> None:
    counting = Counting()
    detector = _with(counting)
    body = b"x" * (MEMO_BODY_BYTES + 1)
    for _ in range(2):
        detector.scan(message(uri=None, body=body), Recorder("test"))
    assert counting.calls == ["body", "body"]


def test_memo_is_bounded_by_entries() -> None:
    detector = _with(Counting(), memo_size=3)
    for i in range(10):
        detector.scan(message([(f"X-{i}", str(i))], uri=None), Recorder("test"))
        assert len(detector._memo) <= 3


def test_memo_is_bounded_by_characters() -> None:
    counting = Counting()
    detector = _with(counting, memo_chars=100)
    long = "v" * 200  # longer than the whole memo: never remembered
    for i in range(10):
        detector.scan(message([("X-Short", str(i)), ("X-Long", long)], uri=None), Recorder("test"))
        assert detector._memo_held <= 100
    assert counting.calls.count("X-Long") == 10


def test_memo_size_zero_remembers_nothing_and_finds_the_same() -> None:
    msgs = numbered([message([("x-msisdn", GB_DIGITS), ("Cookie", f"msisdn={GB_DIGITS}")])] * 2)
    fast, _, _ = both(Options(), msgs, memo_size=0)
    assert not fast._memo


def test_the_default_bound() -> None:
    assert build_detector(Options()).memo_size == FIELD_MEMO_SIZE


# --------------------------------------------------------------------------- state across messages
def test_digest_candidates_are_kept_for_every_request_carrying_the_field() -> None:
    msgs = numbered([message([("X-Tracker-Uh", SHA256)], uri=f"/p?uh={SHA256}")] * 3)
    msgs.append(replace(msgs[0], message_id=9, direction="response"))
    fast, _, _ = both(Options(), msgs)
    assert [(c.message.message_id, c.where) for c in fast.digest_candidates] == [
        (1, "header"),
        (1, "query"),
        (2, "header"),
        (2, "query"),
        (3, "header"),
        (3, "query"),
    ]


def test_tracking_tokens_link_messages_through_the_memo() -> None:
    uidh = ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw")
    _, _, found = both(Options(), numbered([message([uidh]), message([uidh])]))
    assert [[(f.message_id, f.kind, f.identifier) for f in fs] for fs in found] == [
        [(1, "tracking-token", uidh[1])],
        [(2, "tracking-token", uidh[1])],
    ]


def test_watchlist_is_found_in_every_message() -> None:
    _, _, found = both(Options(watchlist=(GB,)), numbered([message([("X-Note", "call +44 7400 123456")])] * 2))
    assert [[(f.message_id, f.rule) for f in fs] for fs in found] == [[(1, "watchlist")], [(2, "watchlist")]]


# --------------------------------------------------------------------------- single fields
SINGLE_FIELDS = [*FIELDS, ("X-Empty", ""), ("", "447400123456")]


@pytest.mark.parametrize("direction", ["request", "response"])
@pytest.mark.parametrize(("name", "value"), SINGLE_FIELDS)
def test_scan_header_is_scan_of_a_message_with_that_field_alone(direction: str, name: str, value: str) -> None:
    options = Options(watchlist=(GB,))
    msg = message([(name, value)], uri=None, direction=direction)
    by_message = build_detector(options)
    by_field = build_detector(options)
    assert by_field.scan_header(direction, name, value, ref=MessageRef.of(msg)) == by_message.scan(
        msg, Recorder("test")
    )
    assert by_field.digest_candidates == by_message.digest_candidates


def test_scan_header_without_a_ref_keeps_no_candidate() -> None:
    detector = build_detector(Options())
    assert detector.scan_header("request", "X-Tracker-Uh", SHA256) == []
    assert detector.digest_candidates == []
    (found,) = detector.scan_header("request", "x-msisdn", GB_DIGITS)
    assert (found.message_id, found.identifier) == (0, GB)


@pytest.mark.parametrize("uri", [u for u in URIS if u])
@pytest.mark.parametrize("direction", ["request", "response"])
def test_scan_uri_is_scan_of_a_message_with_that_uri_alone(direction: str, uri: str) -> None:
    options = Options(watchlist=(GB,))
    msg = message(uri=uri, direction=direction)
    by_message = build_detector(options)
    by_field = build_detector(options)
    assert by_field.scan_uri(direction, uri, ref=MessageRef.of(msg)) == by_message.scan(msg, Recorder("test"))
    assert by_field.digest_candidates == by_message.digest_candidates


def test_scan_uri_reads_requests_only() -> None:
    detector = build_detector(Options())
    assert detector.scan_uri("request", f"/api?msisdn={GB_DIGITS}")
    assert detector.scan_uri("response", f"/api?msisdn={GB_DIGITS}") == []


# --------------------------------------------------------------------------- rules that raise or read whole messages
class Raising(Rule):
    """Raises on header values and URIs that say 'boom'; finds GB in every other field."""

    id = "raising"
    header_passes = (frozenset({OTHER}),)
    reads_uri = True

    def header_findings(
        self,
        mid: int,
        name: str,
        value: str,
        cls: int,
        entry: CatalogEntry | None,
        guess: tuple[Kind, str] | None,
        ctx: Context,
    ) -> Iterable[Finding]:
        if value == "boom":
            raise ValueError("boom")
        return [Finding(mid, "header", name, "msisdn", value, GB, "plain", self.id, "low", "test")]

    def uri_findings(self, mid: int, uri: str, ctx: Context) -> Iterable[Finding]:
        if "boom" in uri:
            raise ValueError("boom")
        return ()


def test_a_rule_that_raises_is_a_rule_error_and_the_others_still_run() -> None:
    fast, slow = _with(Raising()), _with(Raising())
    fast.strict = slow.strict = False
    msg = message([("x-msisdn", GB_DIGITS), ("X-A", "ok"), ("X-B", "boom")], uri="/boom?msisdn=447400123457")
    for _ in range(2):  # the field that raised is not remembered: it raises again
        fast_recorder, slow_recorder = Recorder("test"), Recorder("test")
        assert fast.scan(msg, fast_recorder) == slow.scan_by_rule(msg, slow_recorder)
        assert [(a.code, a.detail) for a in fast_recorder.items] == [("RULE_ERROR", "raising: ValueError: boom")]
        assert fast_recorder.items == slow_recorder.items
    assert ("request", "X-B", "boom") not in fast._memo


def test_a_rule_that_raises_stops_a_strict_scan() -> None:
    detector = _with(Raising())
    with pytest.raises(ValueError, match="boom"):
        detector.scan(message([("X-B", "boom")]), Recorder("test", strict=True))


def test_scan_header_records_a_rule_error_or_raises_without_a_recorder() -> None:
    detector = _with(Raising())
    detector.strict = False
    msg = message([("X-B", "boom")])
    recorder = Recorder("test")
    assert detector.scan_header("request", "X-B", "boom", ref=MessageRef.of(msg), recorder=recorder) == []
    assert [(a.code, a.frame) for a in recorder.items] == [("RULE_ERROR", 1)]
    with pytest.raises(ValueError, match="boom"):
        detector.scan_header("request", "X-B", "boom")
    recorder = Recorder("test")
    assert detector.scan_uri("request", "/boom", recorder=recorder) == []
    assert [a.code for a in recorder.items] == ["RULE_ERROR"]


class WholeMessage(Rule):
    """A rule written the old way, `match` over the whole message: run for every message."""

    id = "whole"
    surfaces: ClassVar[tuple[str, ...]] = ("header",)

    def match(self, view: MessageView, ctx: Context) -> Iterable[Finding]:
        msg = view.message
        yield Finding(msg.message_id, "header", "x-msisdn", "msisdn", "", GB, "plain", self.id, "high", "whole")


def test_a_rule_defining_match_runs_on_every_message_in_its_place() -> None:
    msgs = numbered([message([("x-msisdn", GB_DIGITS)])] * 2)
    base = build_detector(Options())
    fast = Detector([WholeMessage(), *base.rules], base.context)
    slow = Detector([WholeMessage(), *build_detector(Options()).rules], base.context)
    for msg in msgs:
        got = fast.scan(msg, Recorder("test"))
        assert got == slow.scan_by_rule(msg, Recorder("test"))
        # The first rule to find it sets the place; the catalog rule (also high) does not replace it.
        assert [(f.message_id, f.rule) for f in got] == [(msg.message_id, "whole")]


def test_header_classes_of_cookies_are_their_names() -> None:
    """The watchlist reads Cookie and Set-Cookie fields as pairs by class, as it used to by name."""
    for name in ("Cookie", "COOKIE", "cookie"):
        assert header_class(name)[0] == COOKIE
    for name in ("Set-Cookie", "set-cookie"):
        assert header_class(name)[0] == SET_COOKIE


def test_fields_no_selected_rule_reads_are_skipped_by_name() -> None:
    """Date, Content-Length…: no rule reads them unless a watchlist is set; they are not remembered."""
    fields = [("Date", "Fri, 20 Jan 2012 08:42:29 GMT"), ("Content-Length", GB_DIGITS)]
    detector = build_detector(Options())
    assert detector.scan(message(fields, uri=None), Recorder("test")) == []
    assert detector.scan_header("request", "Content-Length", GB_DIGITS) == []
    assert not detector._memo
    _, _, [found] = both(Options(watchlist=(GB,)), [message(fields, uri=None)])
    assert [(f.field, f.rule) for f in found] == [("Content-Length", "watchlist")]
