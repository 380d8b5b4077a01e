"""Every registered detection rule and decoder, on in-memory messages: what it must find
(positive) and what it must leave alone (negative).

Each case runs through the engine as an analysis does (`build_detector(Options(...))` then
`Detector.scan`), with only the rule under test selected (plus the decoders a case needs),
so a finding is that rule's; the issue's explicit negatives also run with every rule, since
"never becomes a phone number" is a promise of the whole detector. The hashed-msisdn rule
only collects digest-shaped tokens while scanning; `match_digests` (called at the end of an
analysis) and an analysis of a generated capture test the matching.

A behaviour lineid gets wrong is a strict xfail whose reason says what it does instead and
which code is at fault; it turns into a failure once lineid is fixed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analyzer
from analyzer.anomalies import Recorder
from analyzer.api import Options
from analyzer.detect import catalog
from analyzer.detect.decoders import Base64Decoder, HexAsciiDecoder, PercentDecoder
from analyzer.detect.engine import Detector, build_detector, registry
from analyzer.detect.rules.hashed import DigestCandidate, match_digests
from analyzer.model import Endpoints, Finding, HttpMessage

# libphonenumber's example GB mobile: a valid number in a mobile range (the Ofcom drama
# range 07700 900xxx is not valid for libphonenumber, so it would test the fallback).
GB = "+447400123456"
GB_DIGITS = GB[1:]
GB_NATIONAL = "07400123456"
OTHER = "+447400123457"
IMSI_AR = "722310115238848"  # Claro AR (722-310), the catalog's x-nokia-imsi example
IMEI = "490154203237518"  # the GSMA's example IMEI, Luhn check digit 8
DECODERS = "decode-hex,decode-base64,decode-url"
DETECTION = Path(__file__).resolve().parents[2] / "fixtures" / "detection"

Hit = tuple[str, str, str, str, str, str]  # where, field, kind, identifier, encoding, confidence


def message(
    headers: Sequence[tuple[str, str]] = (),
    *,
    uri: str | None = "/",
    body: bytes = b"",
    direction: str = "request",
    content_type: str | None = None,
    content_encoding: str | None = None,
) -> HttpMessage:
    request = direction == "request"
    return HttpMessage(
        message_id=1,
        source="test",
        source_kind="pcap",
        ts=0,
        direction="request" if request else "response",
        endpoints=Endpoints(flow_id="0:1"),
        frame_first=1,
        frame_last=1,
        method="GET" if request else None,
        uri=uri,
        host="www.example.com",
        status=None if request else 200,
        headers=tuple(headers),
        body=body,
        body_len=len(body),
        content_type=content_type,
        content_encoding=content_encoding,
    )


@functools.cache
def detector(rules: str | None = None, watchlist: tuple[str, ...] = (), region: str | None = None) -> Detector:
    return build_detector(Options(rules=rules, watchlist=watchlist, region=region))


def scan(
    msg: HttpMessage, rules: str | None = None, *, watchlist: tuple[str, ...] = (), region: str | None = None
) -> list[Finding]:
    recorder = Recorder("test")
    found = detector(rules, watchlist, region).scan(msg, recorder)
    assert not recorder.items, recorder.items  # a rule that raised is a RULE_ERROR anomaly
    return found


def hits(found: Iterable[Finding], *, claims_only: bool = False) -> set[Hit]:
    """What the findings say; `claims_only` keeps medium and high (a claim, not a hint)."""
    return {
        (f.where, f.field, f.kind, f.identifier, f.encoding, f.confidence)
        for f in found
        if not claims_only or f.confidence != "low"
    }


def numbers_in(found: Iterable[Finding]) -> set[tuple[str, str, str]]:
    """Phone numbers and IMSIs found, at any confidence: (kind, identifier, rule)."""
    return {(f.kind, f.identifier, f.rule) for f in found if f.kind in ("msisdn", "imsi", "imei")}


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# --------------------------------------------------------------------------- registry and selection
RULE_IDS = [
    "header-catalog",
    "header-name-heuristic",
    "tracking-token",
    "header-value-number",
    "cookie",
    "set-cookie",
    "url-query",
    "url-path",
    "redirect",
    "body-fields",
    "body-text",
    "watchlist",
    "hashed-msisdn",
]
DECODER_IDS = ["decode-hex", "decode-base64", "decode-url"]
HEADER_RULES = ["header-catalog", "header-name-heuristic", "tracking-token", "header-value-number"]


def test_registry_holds_every_rule_and_decoder_in_order() -> None:
    reg = registry()
    assert list(reg.rules) == RULE_IDS
    assert list(reg.decoders) == DECODER_IDS


def test_every_rule_and_decoder_has_positive_and_negative_tests() -> None:
    """A rule registered later without its tests fails here (STYLE: each rule has positive
    and negative fixtures)."""
    tests = [name for name in globals() if name.startswith("test_")]
    for rule_id in [*RULE_IDS, *DECODER_IDS]:
        slug = rule_id.replace("-", "_")
        for side in ("positive", "negative"):
            assert any(t.startswith(f"test_{slug}_{side}") for t in tests), (rule_id, side)


def _selected(expression: str | None) -> tuple[list[str], list[str]]:
    d = build_detector(Options(rules=expression))
    return [r.id for r in d.rules], [x.id for x in d.context.decoders]


@pytest.mark.parametrize(
    ("expression", "rules", "decoders"),
    [
        (None, RULE_IDS, DECODER_IDS),
        ("", RULE_IDS, DECODER_IDS),
        ("all", RULE_IDS, DECODER_IDS),
        ("all,-cookie", [r for r in RULE_IDS if r != "cookie"], DECODER_IDS),
        ("all,-decode-hex", RULE_IDS, ["decode-base64", "decode-url"]),
        (" header-catalog , watchlist ", ["header-catalog", "watchlist"], DECODER_IDS),
        # A surface adds every rule that reads it.
        ("header", [*HEADER_RULES, "watchlist", "hashed-msisdn"], DECODER_IDS),
        ("query,path", ["url-query", "url-path", "watchlist", "hashed-msisdn"], DECODER_IDS),
        (
            "all,-header",
            ["cookie", "set-cookie", "url-query", "url-path", "redirect", "body-fields", "body-text"],
            DECODER_IDS,
        ),
        # cookie, set-cookie and redirect are rule ids and surface names: the id wins.
        ("cookie", ["cookie"], DECODER_IDS),
        # Naming a decoder picks decoders: only those named are on.
        ("redirect,decode-url", ["redirect"], ["decode-url"]),
        ("header-catalog,-decode-base64", ["header-catalog"], ["decode-hex", "decode-url"]),
        ("-all", [], []),
        # Terms apply left to right from no rule: a removal first removes nothing.
        ("-cookie", [], DECODER_IDS),
        ("-cookie,cookie", ["cookie"], DECODER_IDS),
    ],
)
def test_rule_selection_expressions(expression: str | None, rules: list[str], decoders: list[str]) -> None:
    assert _selected(expression) == (rules, decoders)


@pytest.mark.parametrize("expression", ["nosuch", "all,-nosuch", "header-catalog,cookies", "decode-rot13"])
def test_unknown_rule_is_a_usage_error(expression: str) -> None:
    with pytest.raises(analyzer.UsageError, match="unknown rule"):
        build_detector(Options(rules=expression))


def test_analyze_refuses_an_unknown_rule_before_reading(tmp_path: Path) -> None:
    """The selection is checked before any input is opened: the file need not exist."""
    with pytest.raises(analyzer.UsageError, match="unknown rule"):
        analyzer.analyze([tmp_path / "missing.pcap"], rules="all,-nosuch")


def test_deselected_rule_finds_nothing() -> None:
    msg = message([("Cookie", f"msisdn={GB_DIGITS}"), ("x-msisdn", GB_DIGITS)])
    assert {f.where for f in scan(msg)} == {"cookie", "header"}
    assert {f.where for f in scan(msg, "all,-cookie")} == {"header"}


# --------------------------------------------------------------------------- decoders
@pytest.mark.parametrize(
    ("token", "decoded"),
    [
        ("343437343030313233343536", GB_DIGITS),  # Thai User-Identity-Forward-msisdn cookie style
        ("2B343437343030313233343536", GB),
        ("2b343437343030313233343536", GB),
        ("34343734303031", "4474001"),  # 7 digits: the shortest accepted
    ],
)
def test_decode_hex_positive(token: str, decoded: str) -> None:
    assert HexAsciiDecoder().decode(token) == decoded


@pytest.mark.parametrize(
    "token",
    [
        "deadbeefdeadbeefdeadbeef",  # hex, but not of digits
        "343437343030313233343",  # odd length
        "343437",  # 3 digits
        "34343734303031323334353634343734303031323334",  # 22 digits: longer than any number
        "447400123456",  # digits are not hex-encoded digits
        "3a3b3c3d3e3f3a3b3c3d",
    ],
)
def test_decode_hex_negative(token: str) -> None:
    assert HexAsciiDecoder().decode(token) is None


@pytest.mark.parametrize(
    ("token", "decoded"),
    [
        (base64.b64encode(GB_DIGITS.encode()).decode(), GB_DIGITS),
        (base64.b64encode(GB.encode()).decode(), GB),
        (base64.urlsafe_b64encode(b"4474001234567").decode().rstrip("="), "4474001234567"),
        (base64.b64encode(IMSI_AR.encode()).decode(), IMSI_AR),
    ],
)
def test_decode_base64_positive(token: str, decoded: str) -> None:
    assert Base64Decoder().decode(token) == decoded


@pytest.mark.parametrize(
    "token",
    [
        "aGVsbG8gd29ybGQ=",  # "hello world"
        "dmwdovap66bFrvw=",  # Dialog LK's encrypted msisdn: base64 of ciphertext
        "447400123456",  # plain digits are not base64
        "NDQ3",  # too short
        "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw",  # X-UIDH: longer than a number
    ],
)
def test_decode_base64_negative(token: str) -> None:
    assert Base64Decoder().decode(token) is None


@pytest.mark.parametrize(
    ("token", "decoded"),
    [
        ("%2B447400123456", GB),
        ("%34%34%37%34%30%30%31%32%33%34%35%36", GB_DIGITS),
        ("tel%3A%2B447400123456", "tel:" + GB),
    ],
)
def test_decode_url_positive(token: str, decoded: str) -> None:
    assert PercentDecoder().decode(token) == decoded


@pytest.mark.parametrize("token", ["447400123456", "abc", "100%", ""])
def test_decode_url_negative(token: str) -> None:
    assert PercentDecoder().decode(token) is None


@pytest.mark.parametrize(
    ("value", "decoder", "encoding"),
    [
        ("343437343030313233343536", "decode-hex", "hex"),
        ("NDQ3NDAwMTIzNDU2", "decode-base64", "base64"),
        ("%2B447400123456", "decode-url", "url"),
    ],
)
def test_each_decoder_is_what_lets_a_rule_read_its_encoding(value: str, decoder: str, encoding: str) -> None:
    msg = message([("x-up-calling-line-id", value)])
    assert hits(scan(msg, f"header-catalog,{decoder}")) == {
        ("header", "x-up-calling-line-id", "msisdn", GB, encoding, "high")
    }
    assert scan(msg, f"header-catalog,-{decoder}") == []  # decoders stay on unless removed
    assert scan(msg, f"all,-{decoder}") == []


# --------------------------------------------------------------------------- header-catalog
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        # Confidence follows the catalog's evidence grade: verified and code-attested high, unverified medium.
        ("x-up-calling-line-id", GB_DIGITS, ("msisdn", GB, "plain", "high")),
        ("x-up-calling-line", GB_DIGITS, ("msisdn", GB, "plain", "high")),
        ("x-up-lsid", GB_DIGITS, ("msisdn", GB, "plain", "medium")),
        # Written forms: +, 00, composite values, tel: URIs, Korea's kept trunk zero.
        ("x-msisdn", GB, ("msisdn", GB, "plain", "high")),
        ("x-msisdn", "00" + GB_DIGITS, ("msisdn", GB, "plain", "high")),
        ("x-network-info", f"GPRS,{GB_DIGITS},unsecured", ("msisdn", GB, "plain", "high")),
        ("x-h3g-msisdn", "X-H3G-MSISDN=393486121867;x-bearer-id=GSM", ("msisdn", "+393486121867", "plain", "high")),
        ("x-mdn", f"tel:{GB}", ("msisdn", GB, "plain", "high")),
        ("HTTP_PHONE_NUMBER", "8201073989200", ("msisdn", "+821073989200", "plain", "high")),
        # Name spellings: case, CGI form, separators moved.
        ("X-UP-CALLING-LINE-ID", GB_DIGITS, ("msisdn", GB, "plain", "high")),
        ("HTTP_X_UP_CALLING_LINE_ID", GB_DIGITS, ("msisdn", GB, "plain", "high")),
        ("X-H3-G-Msisdn", "393486121867", ("msisdn", "+393486121867", "plain", "high")),
        # Encodings.
        ("X-WAP-Network-Client-MSISDN", "343437343030313233343536", ("msisdn", GB, "hex", "high")),
        ("x-msisdn", "NDQ3NDAwMTIzNDU2", ("msisdn", GB, "base64", "high")),
        ("x-msisdn", "%2B447400123456", ("msisdn", GB, "url", "high")),
        # IMSI with an allocated MCC+MNC, IMEI with a valid Luhn digit.
        ("x-nokia-imsi", IMSI_AR, ("imsi", IMSI_AR, "plain", "high")),
        ("X-WAP-3GPP-IMSI", "234101234567890", ("imsi", "234101234567890", "plain", "high")),
        ("x-imei", IMEI, ("imei", IMEI, "plain", "medium")),
        # A value that is not valid E.164 in a known MSISDN header is reported as it is
        # (Adobe's national X-Wap-msisdn example), at medium.
        ("x-wap-msisdn", "8032618185", ("msisdn", "8032618185", "plain", "medium")),
    ],
)
def test_header_catalog_positive(name: str, value: str, expected: tuple[str, str, str, str]) -> None:
    kind, identifier, encoding, confidence = expected
    assert hits(scan(message([(name, value)]), f"header-catalog,{DECODERS}")) == {
        ("header", name, kind, identifier, encoding, confidence)
    }


def test_header_catalog_reads_national_numbers_with_a_region() -> None:
    found = scan(message([("x-wap-msisdn", "8032618185")]), "header-catalog", region="US")
    assert hits(found) == {("header", "x-wap-msisdn", "msisdn", "+18032618185", "plain", "high")}


def test_header_catalog_imeisv_keeps_the_rows_confidence() -> None:
    found = scan(message([("x-up-3gpp-imeisv", "3520990017614823")]), "header-catalog")
    assert hits(found) == {("header", "x-up-3gpp-imeisv", "imei", "3520990017614823", "plain", "high")}


def test_header_catalog_reads_the_hyphenated_imei_form() -> None:
    found = scan(message([("x-up-3gpp-imeisv", "35209900-176148-23")]), "header-catalog")
    assert {(f.kind, f.identifier) for f in found} == {("imei", "3520990017614823")}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-nokia-imsi", "999990115238848"),  # MCC 999: internal use, no home network
        ("x-nokia-imsi", "001010123456789"),  # MCC 001: the test network
        ("x-nokia-imsi", "100123456789012"),  # MCC 100: not allocated
        ("x-nokia-imsi", "72231011523884"),  # 14 digits
        ("x-nokia-imsi", "7223101152388481"),  # 16 digits
        ("x-imei", "490154203237519"),  # Luhn check digit wrong
        ("x-imei", "49015420323751"),  # 14 digits
        ("x-msisdn", "unknown"),
        ("x-msisdn", "0"),
        ("x-msisdn", ""),
        ("x-wte-msisdn", "666"),  # a Novarra test script's value
        ("x-msisdn", "10.12.34.56"),
        ("x-msisdn", "dmwdovap66bFrvw="),  # Dialog's encrypted number: opaque, not a number
        ("x-msisdn", "4474"),
        ("x-forwarded-for", GB_DIGITS),  # not an identity row: not this rule's
    ],
)
def test_header_catalog_negative(name: str, value: str) -> None:
    assert scan(message([(name, value)]), f"header-catalog,{DECODERS}") == []


# --------------------------------------------------------------------------- header-name-heuristic
@pytest.mark.parametrize(
    ("name", "value", "kind", "identifier"),
    [
        ("X-Operator-MSISDN", GB_DIGITS, "msisdn", GB),
        ("X-Nokia-CallingLineID", GB_DIGITS, "msisdn", GB),
        ("X-Subscriber-CLID", GB_DIGITS, "msisdn", GB),
        ("User-Identity-Forward-msisdn-hash-plain", GB_DIGITS, "msisdn", GB),  # msisdn anywhere in the name
        ("X-IMSI-Enc", IMSI_AR, "imsi", IMSI_AR),
        ("X-Device-IMEI", IMEI, "imei", IMEI),
        ("X-Operator-MDN", "343437343030313233343536", "msisdn", GB),
    ],
)
def test_header_name_heuristic_positive(name: str, value: str, kind: str, identifier: str) -> None:
    assert catalog.lookup(name) is None  # else it is the catalog rule's
    found = scan(message([(name, value)]), f"header-name-heuristic,{DECODERS}")
    assert {(f.kind, f.identifier, f.confidence) for f in found} == {(kind, identifier, "medium")}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-msisdn", GB_DIGITS),  # a catalog name: left to header-catalog
        ("X-Request-UID", GB_DIGITS),  # request ids end in "uid", not subscriber ids
        ("X-Correlation-GUID", GB_DIGITS),
        ("X-Gclid", GB_DIGITS),  # an ad click id ends in "clid"
        ("X-Client-ID", GB_DIGITS),  # opaque-id suffix, not an identity kind
        ("X-Claims-Info", IMSI_AR),  # "imsi" inside a word does not count
        ("X-Operator-MSISDN", "1326153600123"),  # epoch ms
        ("X-IMSI-Enc", "999990115238848"),  # no home network
    ],
)
def test_header_name_heuristic_negative(name: str, value: str) -> None:
    assert scan(message([(name, value)]), f"header-name-heuristic,{DECODERS}") == []


# --------------------------------------------------------------------------- tracking-token
@pytest.mark.parametrize(
    ("name", "value", "kind", "confidence"),
    [
        ("X-UIDH", "OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw", "tracking-token", "high"),
        ("X-ACR", "486E03F2A285E928;ncc=310410;type=Dyn", "tracking-token", "high"),
        ("x-up-subno", "swm_10448371100_vmag.mycingular.net", "opaque-subscriber-id", "high"),
        ("x-vf-acr", "cV3HrqxReJirZIBoirWREzGMVGvF7ix7IHE6Kao9", "opaque-subscriber-id", "high"),
        ("x-nokia-alias", "a8f3kd93kd0s", "opaque-subscriber-id", "medium"),  # code-attested
        ("x-piper-id", "abcdef123456", "tracking-token", "low"),  # unverified
    ],
)
def test_tracking_token_positive(name: str, value: str, kind: str, confidence: str) -> None:
    assert hits(scan(message([(name, value)]), "tracking-token")) == {
        ("header", name, kind, value, "plain", confidence)
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-UIDH", "null"),
        ("X-UIDH", "0"),
        ("x-up-subno", "unknown"),
        ("X-ACR", "none"),
        ("X-UIDH", "  abc  "),
        ("X-Foo", "OTgxNTk2NDk0ADJV"),
    ],
)
def test_tracking_token_negative(name: str, value: str) -> None:
    assert scan(message([(name, value)]), "tracking-token") == []


# --------------------------------------------------------------------------- header-value-number
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        # Nothing but the value says it is a number: low.
        ("X-Foo", GB_DIGITS, ("msisdn", GB, "low")),
        ("Via", f"1.1 gw ({GB_DIGITS})", ("msisdn", GB, "low")),
        # An MMS address names a subscriber outright.
        ("X-Mms-From", "+491726101004/TYPE=PLMN", ("msisdn", "+491726101004", "medium")),
        # Claro PA put the number in the opaque x-up-subno.
        ("x-up-subno", "50762526353", ("msisdn", "+50762526353", "medium")),
        ("X-Foo", "NDQ3NDAwMTIzNDU2", ("msisdn", GB, "low")),
    ],
)
def test_header_value_number_positive(name: str, value: str, expected: tuple[str, str, str]) -> None:
    found = scan(message([(name, value)]), f"header-value-number,{DECODERS}")
    assert {(f.kind, f.identifier, f.confidence) for f in found} == {expected}


# The issue's explicit negatives: "A digit run inside a longer digit run, epoch timestamps
# (X-Request-Start: 1426256922162), content lengths, IP addresses, ports, charging ids and
# UUIDs never become phone numbers". Each value holds a valid mobile number's digits, or is
# one, where it can be.
NEVER_NUMBERS = [
    pytest.param("X-Trace", "9" + GB_DIGITS, id="run-inside-longer-run-13"),
    pytest.param("X-Session", "12" + GB_DIGITS + "9876", id="run-inside-longer-run-18"),
    pytest.param("X-Request-Start", "1426256922162", id="epoch-ms-x-request-start"),
    pytest.param("X-Request-Start", "t=1426256922162000", id="epoch-us-newrelic"),
    pytest.param("X-Origin-Time", "1426256922", id="epoch-s"),
    pytest.param("X-Origin-Time", "1426256922162", id="epoch-ms"),
    pytest.param("X-Origin-Time", "1426256922162000", id="epoch-us"),
    pytest.param("Content-Length", GB_DIGITS, id="content-length"),
    pytest.param("Content-Range", f"bytes 0-1023/{GB_DIGITS}", id="content-range"),
    pytest.param("X-Forwarded-For", "44.74.0.123, 10.0.0.1", id="ipv4"),
    pytest.param("X-Real-IP", "2a00:4474:12:3456::1", id="ipv6"),
    pytest.param("X-Forwarded-Port", "44740", id="port"),
    pytest.param("x-nokia-remotesocket", "172.65.159.141:16513", id="ip-and-port"),
    pytest.param("Host", "www.example.com:8080", id="host-port"),
    pytest.param("x-nokia-chargingid", "-335177295", id="charging-id-signed"),
    # 4520123456 is a valid Danish mobile number read as E.164, and a valid 32-bit charging id.
    pytest.param("x-nokia-chargingid", "4520123456", id="charging-id-number-shaped"),
    pytest.param("X-Nokia-CHARGING_ID", "4520123456", id="charging-id-variant"),
    pytest.param("X-Request-Id", "5f2b8c1e-9d4a-4b7e-8c1e-7a3d2f1b0c9e", id="uuid"),
    pytest.param(
        "X-Request-Id",
        f"5f2b8c1e-4474-4001-8234-{GB_DIGITS}",
        id="uuid-with-all-digit-group",
    ),
    pytest.param("ETag", f'"{GB_DIGITS}"', id="etag"),
    pytest.param("Date", "Tue, 10 Jan 2012 00:00:00 GMT", id="date"),
    pytest.param("If-Modified-Since", "Tue, 10 Jan 2012 00:00:00 GMT", id="if-modified-since"),
    pytest.param("X-Amzn-Trace-Id", "Root=1-4f0b8c00-447400123456abcdef012345", id="trace-id"),
]


@pytest.mark.parametrize(("name", "value"), NEVER_NUMBERS)
def test_header_value_number_negative(name: str, value: str) -> None:
    """With every rule selected: not a number, at any confidence."""
    assert numbers_in(scan(message([(name, value)]))) == set()


def test_header_value_number_leaves_identity_and_context_headers_to_other_rules() -> None:
    msg = message([("x-msisdn", GB_DIGITS), ("X-Operator-MSISDN", OTHER[1:]), ("X-Forwarded-For", GB_DIGITS)])
    assert scan(msg, "header-value-number") == []


# --------------------------------------------------------------------------- cookie / set-cookie
@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        # Named like a catalog header: the row's confidence (Thai AIS hex cookie, FortiOS).
        (
            "User-Identity-Forward-msisdn=343437343030313233343536; lang=th",
            ("User-Identity-Forward-msisdn", "hex", "high"),
        ),
        (f"id=0123abcd; x-up-calling-line-id={GB_DIGITS}", ("x-up-calling-line-id", "plain", "high")),
        (f"msisdn={GB_DIGITS}", ("msisdn", "plain", "high")),
        # Named like a number: medium.
        ("phone=%2B447400123456", ("phone", "url", "medium")),
        ("tel=NDQ3NDAwMTIzNDU2", ("tel", "base64", "medium")),
        (f'mobile="{GB_DIGITS}"', ("mobile", "plain", "medium")),
        # Nothing but the value: low.
        (f"uid={GB_DIGITS}", ("uid", "plain", "low")),
    ],
)
def test_cookie_positive(cookie: str, expected: tuple[str, str, str]) -> None:
    field, encoding, confidence = expected
    assert hits(scan(message([("Cookie", cookie)]), f"cookie,{DECODERS}")) == {
        ("cookie", field, "msisdn", GB, encoding, confidence)
    }


@pytest.mark.parametrize(
    "cookie",
    [
        "_ga=GA1.2.1234567890.1326153600; _gid=GA1.2.987654321.1326153600",
        "__utma=173272373.2094567890.1326153600.1326153600.1326153600.1; "
        "__utmz=173272373.1326153600.1.1.utmcsr=(direct)",
        "visitor_id=1326153600447.123; last_visit=1326153600",
        "_fbp=fb.1.1326153600123.1234567890",
        "PHPSESSID=447400123456abcdef0123456789; JSESSIONID=4474001234560ABCDEF0123456789ABC",
        "num=20; page=3; cart_items=3",
        "msisdn=unknown; phone=",
    ],
)
def test_cookie_negative(cookie: str) -> None:
    assert hits(scan(message([("Cookie", cookie)]), f"cookie,{DECODERS}"), claims_only=True) == set()


def test_set_cookie_positive() -> None:
    msg = message([("Set-Cookie", f"msisdn={GB_DIGITS}; Path=/; HttpOnly")], direction="response", uri=None)
    assert hits(scan(msg, "set-cookie")) == {("set-cookie", "msisdn", "msisdn", GB, "plain", "high")}


def test_set_cookie_negative() -> None:
    msg = message(
        [
            ("Set-Cookie", "sid=4474001234567890abcdef; Expires=Tue, 10 Jan 2012 00:00:00 GMT; Max-Age=31536000"),
            ("Set-Cookie", "visitor=1326153600447; Path=/"),
            ("Set-Cookie", "__cfduid=d447400123456e3f1c9b2a7d5e8f1326153600; HttpOnly"),
        ],
        direction="response",
        uri=None,
    )
    assert hits(scan(msg, f"set-cookie,{DECODERS}"), claims_only=True) == set()
    # A request's Cookie is the cookie rule's, not this one's.
    assert scan(message([("Cookie", f"msisdn={GB_DIGITS}")]), "set-cookie") == []


# --------------------------------------------------------------------------- url-query / url-path / redirect
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"/he/callback?msisdn={GB_DIGITS}&sig=abc", ("msisdn", "plain", "medium")),
        ("/he/callback?MSISDN=%2B447400123456", ("MSISDN", "plain", "medium")),  # percent-decoded as a URL is
        (f"/register?phone_number={GB_DIGITS}", ("phone_number", "plain", "medium")),
        (f"/x?a=1&x-up-calling-line-id={GB_DIGITS}", ("x-up-calling-line-id", "plain", "medium")),
        (f"/api?q={GB_DIGITS}", ("q", "plain", "low")),
    ],
)
def test_url_query_positive(uri: str, expected: tuple[str, str, str]) -> None:
    field, encoding, confidence = expected
    assert hits(scan(message(uri=uri), f"url-query,{DECODERS}")) == {
        ("query", field, "msisdn", GB, encoding, confidence)
    }


@pytest.mark.parametrize(
    "uri",
    [
        "/api/v1/feed?page=2&limit=20&_=1326153600123",
        "/collect?v=1&tid=UA-12345678-1&cid=1234567890.1326153600&t=pageview",
        "/stats?from=1326153600&to=1326240000&num=20",
        "/search?q=weather+london&page=2",
        "/?msisdn=&phone=unknown",
    ],
)
def test_url_query_negative(uri: str) -> None:
    assert hits(scan(message(uri=uri), f"url-query,{DECODERS}"), claims_only=True) == set()


def test_url_query_reads_requests_only() -> None:
    msg = message(uri=f"/cb?msisdn={GB_DIGITS}", direction="response")
    assert scan(msg, "url-query") == []


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"/msisdn/{GB_DIGITS}/balance", ("msisdn", "medium")),
        (f"/subscriber/{GB_DIGITS}", ("subscriber", "medium")),
        (f"http://he.example/msisdn/{GB_DIGITS}?x=1", ("msisdn", "medium")),  # absolute form (proxies)
        (f"/u/{GB_DIGITS}", ("u", "low")),
    ],
)
def test_url_path_positive(uri: str, expected: tuple[str, str]) -> None:
    field, confidence = expected
    assert hits(scan(message(uri=uri), "url-path")) == {("path", field, "msisdn", GB, "plain", confidence)}


@pytest.mark.parametrize(
    "uri",
    [
        "/article/2012/01/10/1326153600-title.html",
        "/img/5c3b2f1a2b44.jpg",
        "/news/football-london-4474001.html",
        f"/orders/{GB_DIGITS}0000/status",  # an order number longer than any phone number
    ],
)
def test_url_path_negative(uri: str) -> None:
    assert numbers_in(scan(message(uri=uri), "url-path")) == set()


@pytest.mark.parametrize(
    ("location", "field"),
    [
        (f"http://m.shop.example/landing?msisdn={GB_DIGITS}&op=o2uk", "msisdn"),
        (f"http://m.shop.example/msisdn/{GB_DIGITS}/", "msisdn"),
        (f"/landing?phone=%2B{GB_DIGITS}", "phone"),
    ],
)
def test_redirect_positive(location: str, field: str) -> None:
    msg = message([("Location", location)], direction="response", uri=None)
    assert hits(scan(msg, "redirect")) == {("redirect", field, "msisdn", GB, "plain", "medium")}


@pytest.mark.parametrize(
    "location", ["/m/news?page=2&ts=1326153600123", "http://m.shop.example/orders/2012011044/status", "/"]
)
def test_redirect_negative(location: str) -> None:
    msg = message([("Location", location)], direction="response", uri=None)
    assert numbers_in(scan(msg, "redirect")) == set()


# --------------------------------------------------------------------------- body-fields / body-text
@pytest.mark.parametrize(
    ("body", "content_type", "direction", "field"),
    [
        (f"msisdn={GB_DIGITS}&pin=".encode(), "application/x-www-form-urlencoded", "request", "msisdn"),
        (f"msisdn={GB_DIGITS}&pin=".encode(), None, "request", "msisdn"),  # form-like without a type
        (json.dumps({"user": {"phoneNumber": GB}}).encode(), "application/json", "request", "phoneNumber"),
        (json.dumps([{"mobile": GB_DIGITS}]).encode(), None, "request", "mobile"),
        (json.dumps({"msisdn": GB_DIGITS}).encode(), "application/json", "response", "msisdn"),
    ],
)
def test_body_fields_positive(body: bytes, content_type: str | None, direction: str, field: str) -> None:
    msg = message(body=body, content_type=content_type, direction=direction)
    assert hits(scan(msg, "body-fields")) == {("body", field, "msisdn", GB, "plain", "medium")}


@pytest.mark.parametrize(
    ("body", "content_type", "direction"),
    [
        (json.dumps({"order_number": "1326153600123", "ts": 1326153600}).encode(), "application/json", "request"),
        (b"q=weather+london&page=2&ts=1326153600", "application/x-www-form-urlencoded", "request"),
        # A response is read only when it names an identity: a JSON list of ids is not.
        (json.dumps({"items": [{"id": int(GB_DIGITS)}]}).encode(), "application/json", "response"),
        (b"msisdn=unknown", "application/x-www-form-urlencoded", "request"),
    ],
)
def test_body_fields_negative(body: bytes, content_type: str, direction: str) -> None:
    msg = message(body=body, content_type=content_type, direction=direction)
    assert hits(scan(msg, "body-fields"), claims_only=True) == set()


@pytest.mark.parametrize(
    ("body", "field", "confidence"),
    [
        # Header-echo pages: the name printed beside the number.
        (f"<tr><td>x-up-calling-line-id</td><td>{GB_DIGITS}</td></tr>".encode(), "x-up-calling-line-id", "medium"),
        (f"HTTP_X_UP_CALLING_LINE_ID: {GB_DIGITS}\n".encode(), "HTTP_X_UP_CALLING_LINE_ID", "medium"),
        (f'{{"x-msisdn": "{GB_DIGITS}"}}'.encode(), "x-msisdn", "medium"),
        pytest.param(
            f"Array\n(\n    [HTTP_X_UP_CALLING_LINE_ID] => {GB_DIGITS}\n)\n".encode(),
            "HTTP_X_UP_CALLING_LINE_ID",
            "medium",
            id="print_r",
        ),
        pytest.param(
            f'<td class="e">_SERVER["HTTP_X_UP_CALLING_LINE_ID"]</td><td class="v">{GB_DIGITS}</td>'.encode(),
            "HTTP_X_UP_CALLING_LINE_ID",
            "medium",
            id="phpinfo",
        ),
        # An MMS address in a PDU.
        (b"\x8c\x80\x98T1\x89\x17\x80+491726101004/TYPE=PLMN\x00", "MMS address", "medium"),
    ],
)
def test_body_text_positive(body: bytes, field: str, confidence: str) -> None:
    msg = message(body=body, content_type="text/html", direction="response", uri=None)
    found = scan(msg, "body-text")
    identifier = "+491726101004" if b"PLMN" in body else GB
    assert hits(found) == {("body", field, "msisdn", identifier, "plain", confidence)}


def test_body_text_bare_number_in_a_request_is_low() -> None:
    msg = message(body=f"hello {GB_DIGITS} world".encode(), content_type="text/plain")
    assert hits(scan(msg, "body-text")) == {("body", "text", "msisdn", GB, "plain", "low")}


@pytest.mark.parametrize(
    ("body", "direction"),
    [
        # A response page full of numbers says nothing about the subscriber, even beside "mobile".
        (f"<p>Call our mobile helpline {GB_DIGITS}</p>".encode(), "response"),
        (f"<p>Order {GB_DIGITS} shipped</p>".encode(), "response"),
        (b"<p>Updated 1326153600; 4477 readers; story 1426256922162</p>", "request"),
        (b"build 1426256922162000 of 2012-01-10", "request"),
    ],
)
def test_body_text_negative(body: bytes, direction: str) -> None:
    msg = message(body=body, content_type="text/html", direction=direction)
    assert hits(scan(msg, "body-text"), claims_only=True) == set()
    if direction == "response":
        assert scan(msg, "body-text") == []


# --------------------------------------------------------------------------- watchlist
def _forms() -> list[Any]:
    """Every form the watchlist promises: written forms, separators, percent-encoding, and
    hex, base64 and MD5/SHA-1/SHA-256 (hex either case, base64) of each written form."""
    written = {
        "E.164": GB,
        "without +": GB_DIGITS,
        "00": "00" + GB_DIGITS,
        "national": GB_NATIONAL,
        "national without trunk": GB_NATIONAL[1:],
    }
    out: list[Any] = []
    for label, text in written.items():
        raw = text.encode()
        out.append(pytest.param(text, "plain", "msisdn", id=f"{label}"))
        out.append(pytest.param(raw.hex(), "hex", "msisdn", id=f"{label}-hex"))
        out.append(pytest.param(raw.hex().upper(), "hex", "msisdn", id=f"{label}-HEX"))
        out.append(pytest.param(base64.b64encode(raw).decode(), "base64", "msisdn", id=f"{label}-base64"))
        out.append(
            pytest.param(base64.urlsafe_b64encode(raw).decode().rstrip("="), "base64", "msisdn", id=f"{label}-b64url")
        )
        for algo in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algo, raw).digest()
            out.append(pytest.param(digest.hex(), algo, "hashed-msisdn", id=f"{label}-{algo}"))
            out.append(pytest.param(digest.hex().upper(), algo, "hashed-msisdn", id=f"{label}-{algo}-HEX"))
            out.append(pytest.param(base64.b64encode(digest).decode(), algo, "hashed-msisdn", id=f"{label}-{algo}-b64"))
            url = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            out.append(pytest.param(url, algo, "hashed-msisdn", id=f"{label}-{algo}-b64url"))
    out += [
        pytest.param("+44 7400 123456", "plain", "msisdn", id="separated-international"),
        pytest.param("07400 123 456", "plain", "msisdn", id="separated-national"),
        pytest.param("(07400) 123-456", "plain", "msisdn", id="separated-brackets"),
        pytest.param("+44.7400.123.456", "plain", "msisdn", id="separated-dots"),
        pytest.param(
            "+44 (0)7400 123456",
            "plain",
            "msisdn",
            id="separated-uk-0-in-brackets",
        ),
        pytest.param("%2B447400123456", "url", "msisdn", id="percent-plus"),
        pytest.param("%34%34%37%34%30%30%31%32%33%34%35%36", "url", "msisdn", id="percent-all"),
        pytest.param(f"tel:{GB}", "plain", "msisdn", id="tel-uri"),
    ]
    return out


@pytest.mark.parametrize(("value", "encoding", "kind"), _forms())
def test_watchlist_positive_every_form(value: str, encoding: str, kind: str) -> None:
    found = scan(message([("X-Anything", value)]), "watchlist", watchlist=(GB,))
    assert {(f.kind, f.identifier, f.encoding, f.confidence) for f in found} == {(kind, GB, encoding, "high")}


@pytest.mark.parametrize(
    ("msg", "where"),
    [
        (message([("x-anything", GB_DIGITS)]), "header"),
        (message([("Cookie", f"a=1; b={GB_DIGITS}")]), "cookie"),
        (message([("Set-Cookie", f"b={GB_DIGITS}; Path=/")], direction="response", uri=None), "set-cookie"),
        (message(uri=f"/p?x={GB_DIGITS}"), "query"),
        (message(body=f"id={GB_DIGITS}".encode(), content_type="application/x-www-form-urlencoded"), "body"),
        (message(body=f'{{"n": "{GB}"}}'.encode(), content_type="application/json", direction="response"), "body"),
        (message([("Location", f"http://m.shop.example/landing?x={GB_DIGITS}")], direction="response"), "header"),
        pytest.param(message(uri=f"/msisdn/{GB_DIGITS}"), "path", id="path"),
        pytest.param(
            message([("Location", f"http://m.shop.example/u/{GB_DIGITS}/")], direction="response"),
            "header",
            id="location-path",
        ),
        pytest.param(
            message([("X-Mms-From", f"{GB}/TYPE=PLMN")]),
            "header",
            id="mms-address",
        ),
    ],
)
def test_watchlist_positive_every_place(msg: HttpMessage, where: str) -> None:
    found = scan(msg, "watchlist", watchlist=(GB,))
    assert {(f.where, f.identifier, f.rule) for f in found} == {(where, GB, "watchlist")}


@pytest.mark.parametrize(
    ("entry", "region"),
    [(GB, None), (GB_DIGITS, None), ("00" + GB_DIGITS, None), ("+44 7400 123456", None), ("07400 123456", "GB")],
)
def test_watchlist_entries_in_any_written_form(entry: str, region: str | None) -> None:
    found = scan(message([("X-Anything", GB_NATIONAL)]), "watchlist", watchlist=(entry,), region=region)
    assert {(f.identifier, f.rule) for f in found} == {(GB, "watchlist")}


def test_watchlist_refuses_entries_that_are_not_numbers() -> None:
    with pytest.raises(analyzer.UsageError, match="not valid phone numbers"):
        build_detector(Options(watchlist=("not-a-number",)))
    with pytest.raises(analyzer.UsageError, match="need a region"):
        build_detector(Options(watchlist=("07400 123456",)))


@pytest.mark.parametrize(
    "value",
    [
        OTHER,  # a different number
        "9" + GB_DIGITS,  # inside a longer digit run
        "abc" + GB_DIGITS,  # inside a longer token
        hashlib.md5(OTHER.encode()).hexdigest(),
        GB_DIGITS[:-1],
    ],
)
def test_watchlist_negative(value: str) -> None:
    assert scan(message([("X-Anything", value)]), "watchlist", watchlist=(GB,)) == []


def test_watchlist_without_a_list_finds_nothing() -> None:
    assert scan(message([("X-Anything", GB)]), "watchlist") == []


# --------------------------------------------------------------------------- hashed-msisdn
def _candidates(msg: HttpMessage) -> list[DigestCandidate]:
    det = build_detector(Options(rules="hashed-msisdn"))  # a fresh one: candidates accumulate
    assert det.scan(msg, Recorder("test")) == []  # the rule reports nothing while scanning
    return det.digest_candidates


def _digest_forms() -> list[Any]:
    out = []
    for label, text in {"E.164": GB, "without +": GB_DIGITS, "00": "00" + GB_DIGITS, "national": GB_NATIONAL}.items():
        for algo in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algo, text.encode()).digest()
            for style, token in (
                ("hex", digest.hex()),
                ("HEX", digest.hex().upper()),
                ("b64", base64.b64encode(digest).decode()),
                ("b64url", base64.urlsafe_b64encode(digest).decode().rstrip("=")),
            ):
                out.append(pytest.param(token, algo, id=f"{label}-{algo}-{style}"))
    return out


@pytest.mark.parametrize(("token", "algo"), _digest_forms())
def test_hashed_msisdn_positive_every_form(token: str, algo: str) -> None:
    """A digest of any written form of a number seen in clear (hex either case, base64),
    here in a tracker's query, where its URL encoder percent-encodes base64's '+' and '/'."""
    msg = message(uri=f"/pixel.gif?uh={quote(token, safe='')}&ev=view")
    matched = match_digests(_candidates(msg), [GB, OTHER])
    assert [(f.where, f.field, f.kind, f.identifier, f.encoding, f.confidence) for _, f in matched] == [
        ("query", "uh", "hashed-msisdn", GB, algo, "medium")
    ]


SHA256 = hashlib.sha256(GB_DIGITS.encode()).hexdigest()


@pytest.mark.parametrize(
    ("msg", "where", "field"),
    [
        pytest.param(message([("X-Tracker-Uh", SHA256)]), "header", "X-Tracker-Uh", id="header"),
        pytest.param(message([("x-msisdn-hash", SHA256)]), "header", "x-msisdn-hash", id="header-named-msisdn"),
        pytest.param(message([("Cookie", f"consent=1; _hid={SHA256}")]), "cookie", "_hid", id="cookie"),
        pytest.param(message(uri=f"/p.gif?uh={SHA256}"), "query", "uh", id="query"),
        pytest.param(
            message(body=json.dumps({"user": {"ph": SHA256}}).encode(), content_type="application/json"),
            "body",
            "ph",
            id="body-json",
        ),
        pytest.param(
            message(body=f"ev=Lead&ph={SHA256}".encode(), content_type="application/x-www-form-urlencoded"),
            "body",
            "ph",
            id="body-form",
        ),
        pytest.param(
            # Magma's header enrichment can hash the number it writes (research note §9), so
            # the MSISDN header itself carries the digest.
            message([("x-msisdn", SHA256)]),
            "header",
            "x-msisdn",
            id="catalog-msisdn-header",
        ),
    ],
)
def test_hashed_msisdn_positive_every_place(msg: HttpMessage, where: str, field: str) -> None:
    matched = match_digests(_candidates(msg), [GB, OTHER])
    assert [(f.where, f.field, f.identifier, f.encoding) for _, f in matched] == [(where, field, GB, "sha256")]


@pytest.mark.parametrize(
    "msg",
    [
        message([("x-msisdn-hash", hashlib.sha256(b"447400123499").hexdigest())]),  # a number not seen
        message([("x-msisdn-hash", "d41d8cd98f00b204e9800998ecf8427e")]),  # MD5 of ""
        message([("X-Request-Id", "0123456789abcdef0123456789abcdef")]),
        message(uri=f"/p.gif?uh={SHA256[:-1]}"),  # one character short of a digest
        # A page that shows a digest is not the leak: trackers receive digests in requests.
        message([("x-msisdn-hash", SHA256)], direction="response"),
    ],
)
def test_hashed_msisdn_negative(msg: HttpMessage) -> None:
    assert match_digests(_candidates(msg), [GB, OTHER]) == []


def _capture_with(kind: str) -> str:
    for golden in sorted(DETECTION.glob("*.expected.json")):
        data = json.loads(golden.read_text(encoding="ascii"))
        if data["analyze"]["region"] is None and any(c["kind"] == kind for c in data["identifiers"]):
            return str(data["capture"])
    raise AssertionError(f"no detection fixture holds a {kind}")


def test_hashed_msisdn_through_an_analysis() -> None:
    """On a generated capture: a digest matches once a rule found the number in clear, and
    not when no selected rule can."""
    name = _capture_with("hashed-msisdn")
    golden = json.loads((DETECTION / f"{name}.expected.json").read_text(encoding="ascii"))
    wanted = {
        (c["frame_last"], c["identifier"], c["encoding"]) for c in golden["identifiers"] if c["kind"] == "hashed-msisdn"
    }
    found = analyzer.analyze([DETECTION / name], rules="header-catalog,hashed-msisdn").findings
    hashed = found[found["kind"] == "hashed-msisdn"]
    assert {(int(r.frame_last), r.identifier, str(r.encoding)) for r in hashed.itertuples()} == wanted
    alone = analyzer.analyze([DETECTION / name], rules="hashed-msisdn").findings
    assert alone.empty


# --------------------------------------------------------------------------- robustness
HEADER_NAMES = st.one_of(
    st.sampled_from(
        [e.name for e in catalog.entries()] + ["Cookie", "Set-Cookie", "Location", "Content-Type", "X-Foo"]
    ),
    st.text(min_size=0, max_size=30),
)
WIRE_TEXT = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "backslashreplace")),
    st.from_regex(r"[0-9+%=;,/ A-Fa-f-]{0,60}", fullmatch=True),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(HEADER_NAMES, WIRE_TEXT), max_size=8),
    uri=st.one_of(st.none(), WIRE_TEXT, WIRE_TEXT.map(lambda t: "/p?" + t)),
    body=st.binary(max_size=300),
    direction=st.sampled_from(["request", "response"]),
    content_type=st.sampled_from([None, "application/json", "application/x-www-form-urlencoded", "text/html", "x/y"]),
    content_encoding=st.sampled_from([None, "gzip", "br", "deflate", "zstd", "bogus"]),
)
def test_scan_never_raises_on_random_input(
    headers: list[tuple[str, str]],
    uri: str | None,
    body: bytes,
    direction: str,
    content_type: str | None,
    content_encoding: str | None,
) -> None:
    """Random text and bytes in any header value, cookie, URI or body: every rule runs to the
    end (a rule that raises would be a RULE_ERROR anomaly; `scan` asserts there is none)."""
    msg = message(
        headers, uri=uri, body=body, direction=direction, content_type=content_type, content_encoding=content_encoding
    )
    scan(msg, watchlist=(GB,))
    strict = build_detector(Options(watchlist=(GB,), strict=True))
    strict.scan(msg, Recorder("test", strict=True))  # strict: a rule's exception would propagate
