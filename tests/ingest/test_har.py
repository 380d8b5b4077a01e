"""HAR ingest: every file of the public corpus and every tool fixture, checked against the
file's own JSON (read here with the json module, independently of lineid), plus each
quirk, damage and limit spelled out with the values it must give.

Reading goes through the public API (`analyzer.analyze`) where the frames are what is
checked, and through `messages_from_har` where bodies are (frames do not hold them).
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import analyzer
from analyzer.anomalies import AnomalyError, Recorder
from analyzer.cli import main as cli_main
from analyzer.ingest import har as har_module
from analyzer.ingest.connection import make_message_id
from analyzer.ingest.har import messages_from_har
from analyzer.ingest.har_fields import parse_har_time
from analyzer.limits import Limits
from analyzer.model import Anomaly, HttpMessage
from analyzer.sources import open_evidence
from tests.helpers import CORPUS, ROOT, corpus
from tests.helpers import FIXTURES as FIXTURE_ROOT

CORPUS_HAR = CORPUS / "har"
FIXTURES = FIXTURE_ROOT / "har"
MSISDN = "447700900123"

# Without the corpus the one placeholder case skips (corpus() says why) instead of vanishing.
CORPUS_FILES = sorted(p.name for p in CORPUS_HAR.glob("*.har") if p.name != "brokenfile.har") or ["absent"]
# Fixtures that are well-formed HAR, so the file's JSON says exactly what must be read.
TOOL_FIXTURES = [
    "firefox.har",
    "safari.har",
    "charles.har",
    "fiddler-with-bom.har",
    "mitmproxy.har",
    "har-capturer.har",
    "chrome-sanitised.har",
    "headers-as-pairs.har",
    "postdata-variants.har",
    "offsets-and-versions.har",
]


# ----------------------------------------------------------------------------- helpers
def read(path: Path, limits: Limits | None = None, strict: bool = False) -> tuple[list[HttpMessage], list[Anomaly]]:
    """Messages (bodies included) and anomalies of one HAR, through messages_from_har."""
    recorder = Recorder(str(path), strict=strict)
    with open_evidence(path, recorder) as evidence:
        messages = list(messages_from_har(evidence, source_index=0, limits=limits or Limits(), recorder=recorder))
    return messages, recorder.finish()


def codes(anomalies: list[Anomaly]) -> list[tuple[str, int | None]]:
    return [(a.code, a.har_entry) for a in anomalies]


def by_entry(messages: list[HttpMessage]) -> dict[tuple[int | None, str], HttpMessage]:
    return {(m.har_entry, m.direction): m for m in messages}


def json_doc(path: Path) -> Any:
    return json.loads(path.read_bytes().decode("utf-8-sig"))  # utf-8-sig: Fiddler's BOM


def json_entries(doc: Any) -> list[Any]:
    return doc["log"]["entries"] if "log" in doc else [doc]  # single_entry.har: a bare entry


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """A header list as the file writes it, `{name, value}` objects or `[name, value]` pairs."""
    return [(h["name"], h["value"]) if isinstance(h, dict) else (h[0], h[1]) for h in headers or []]


def expected_messages(doc: Any) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """(entry index, direction, headers) the JSON says must be read.

    A request for every entry with a request object; a response for every response object
    except the "no answer" shape (status 0 and no headers: blocked, offline, aborted).
    """
    out = []
    for i, entry in enumerate(json_entries(doc)):
        request, response = entry.get("request"), entry.get("response")
        if not isinstance(request, dict):
            continue
        out.append((i, "request", header_pairs(request.get("headers"))))
        if isinstance(response, dict):
            headers = header_pairs(response.get("headers"))
            if response.get("status") not in (0, None) or headers:
                out.append((i, "response", headers))
    return out


def analysed_messages(result: analyzer.Analysis) -> list[tuple[int, str, list[tuple[str, str]]]]:
    """The same, from the frames: messages joined with their header rows, in file order."""
    headers = result.headers.sort_values(["message_id", "position"])
    rows = {
        mid: list(zip(g["raw_name"].astype(str), g["value"].astype(str), strict=True))
        for mid, g in headers.groupby("message_id")
    }
    m = result.messages.sort_values(["har_entry", "direction"])
    return [
        (int(entry), str(direction), rows.get(mid, []))
        for entry, direction, mid in zip(m["har_entry"], m["direction"], m["message_id"], strict=True)
    ]


def ns(text: str) -> int:
    """An instant written in ISO 8601, as ns since the epoch (pandas parses it, not lineid)."""
    return int(pd.Timestamp(text).value)


# ----------------------------------------------------------------------------- the files
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file_matches_its_json(name: str) -> None:
    path = corpus("har", name)
    result = analyzer.analyze([path])
    expected = expected_messages(json_doc(path))
    assert analysed_messages(result) == expected
    m = result.messages
    assert (m["source_kind"] == "har").all()
    assert m["frame_first"].isna().all() and m["frame_last"].isna().all()
    assert m["client_ip"].isna().all() and m["client_port"].isna().all() and m["community_id"].isna().all()
    assert sorted(m["message_id"]) == sorted(
        make_message_id(0, 2 * entry + (direction == "response"), 0) for entry, direction, _ in expected
    )
    assert len(result.failed_inputs) == 0


@pytest.mark.parametrize("name", TOOL_FIXTURES)
def test_fixture_matches_its_json(name: str) -> None:
    path = FIXTURES / name
    result = analyzer.analyze([path])
    assert analysed_messages(result) == expected_messages(json_doc(path))
    assert (result.messages["source_kind"] == "har").all()


def test_corpus_counts_and_values() -> None:
    """A few values read off the corpus files by hand."""
    msgs, anomalies = read(corpus("har", "firebug-cnn.har"))
    assert sum(m.direction == "request" for m in msgs) == 145
    assert sum(m.direction == "response" for m in msgs) == 144  # one font request got no answer
    first = by_entry(msgs)[(0, "request")]
    assert first.ts == ns("2015-02-22T03:15:37.909Z")  # "2015-02-21T19:15:37.909-08:00"
    assert (first.method, first.uri, first.host, first.version) == ("GET", "/", "cnn.com", "HTTP/1.1")
    assert first.endpoints.server_ip == "157.166.226.25" and first.endpoints.server_port == 80
    assert first.endpoints.flow_id is None  # Firebug's `connection` is the port ("80"), no id
    assert anomalies == []

    msgs, _ = read(corpus("har", "chrome.har"))
    png = by_entry(msgs)[(2, "response")]
    assert png.body.startswith(b"\x89PNG\r\n\x1a\n") and png.content_encoding is None
    assert png.version == "h3" and png.status == 200
    assert by_entry(msgs)[(0, "request")].version == "http/2.0"
    assert (1, "response") not in by_entry(msgs)  # net::ERR_INTERNET_DISCONNECTED: status 0, no headers


def test_bare_entry_is_entry_zero() -> None:
    msgs, anomalies = read(corpus("har", "single_entry.har"))
    assert [(m.har_entry, m.direction) for m in msgs] == [(0, "request"), (0, "response")]
    assert msgs[0].ts == ns("2015-02-23T03:28:12.136Z") and msgs[0].host == "humanssuck.net"
    assert anomalies == []


def test_haralyzer_malformed_entries_keep_what_is_there() -> None:
    # haralyzer's missing_page.har nests url/method/headers inside postData: nothing is
    # taken from there, every missing field is named, and the response is still read.
    msgs, anomalies = read(corpus("har", "missing_page.har"))
    request, response = msgs
    assert request.method is None and request.uri is None and request.headers == () and request.ts is None
    assert response.status == 200 and len(response.headers) == 16 and response.ts is None
    assert request.endpoints.server_ip == "1.1.1.1"
    missing = {a.detail.split(" ")[0] for a in anomalies if a.code == "HAR_MISSING_FIELD"}
    assert missing == {"request.method", "request.url", "request.headers", "request.httpVersion", "startedDateTime"}


# ----------------------------------------------------------------------------- damage
def test_brokenfile_gives_no_message_and_bad_json() -> None:
    # mitmproxy's brokenfile.har: {"log": [2,1,3] "request:"} (log an array, then a syntax error)
    result = analyzer.analyze([corpus("har", "brokenfile.har")])
    assert len(result.messages) == 0
    assert list(result.anomalies["code"]) == ["HAR_BAD_FIELD", "HAR_BAD_JSON"]
    assert "damaged" in result.anomalies["detail"].iloc[1]


def test_truncated_fixture_keeps_complete_entries() -> None:
    msgs, anomalies = read(FIXTURES / "truncated.har")
    assert [(m.har_entry, m.direction) for m in msgs] == [
        (0, "request"),
        (0, "response"),
        (1, "request"),
        (1, "response"),
    ]
    assert codes(anomalies) == [("HAR_TRUNCATED", 2)]
    assert "ends early" in anomalies[0].detail


def _content(msgs: list[HttpMessage]) -> list[tuple[int | None, str, tuple[tuple[str, str], ...], bytes]]:
    return [(m.har_entry, m.direction, m.headers, m.body) for m in msgs]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(min_value=0.0, max_value=1.0))
@example(where=0.9966291886410246)  # cut inside `"ssl": -1`: yajl says "malformed number", not EOF
def test_any_cut_keeps_a_prefix_of_the_entries(where: float, tmp_path: Path) -> None:
    """A HAR cut anywhere gives a prefix of the full file's messages, never a half entry."""
    whole = corpus("har", "chrome.har")
    data = whole.read_bytes()
    cut = min(max(1, int(where * len(data))), len(data) - 1)
    path = tmp_path / "cut.har"
    path.write_bytes(data[:cut])
    full, _ = read(whole)
    try:
        msgs, anomalies = read(path)
    except analyzer.InputFormatError:
        assert cut <= data.index(b"{", data.index(b'"log"'))  # cut before the log object opened
        return
    assert _content(msgs) == _content(full)[: len(msgs)]
    if data[cut:].strip():
        assert "HAR_TRUNCATED" in [a.code for a in anomalies]


def test_damaged_fields_become_anomalies_and_nulls() -> None:
    msgs, anomalies = read(FIXTURES / "damaged-fields.har")
    m = by_entry(msgs)
    assert codes(anomalies) == [
        ("HAR_BAD_FIELD", 0),  # startedDateTime without an offset
        ("HAR_BAD_FIELD", 1),  # serverIPAddress a host name
        ("HAR_BAD_FIELD", 2),  # port 99999
        ("HAR_BAD_FIELD", 3),  # headers an object
        ("HAR_BAD_FIELD", 4),  # status a string
        ("HAR_BAD_FIELD", 5),  # base64 that is not
        ("HAR_MISSING_FIELD", 6),  # timings without wait
        ("HAR_BAD_FIELD", 7),  # a header with a number value
        ("HAR_BAD_FIELD", 7),  # a header with three items
        ("HAR_BAD_FIELD", 8),  # request a string
        ("HAR_BAD_FIELD", 9),  # 30 February
    ]
    assert m[(0, "request")].ts is None and m[(0, "response")].ts is None
    assert m[(1, "request")].endpoints.server_ip is None
    assert m[(2, "request")].endpoints.server_port is None and m[(2, "request")].uri == "/2"
    assert m[(3, "request")].headers == () and m[(3, "request")].host == "x.example"
    assert m[(4, "response")].status is None and m[(4, "response")].reason == "OK"
    assert m[(5, "response")].body == b"%%%%!"  # kept as the text it is, with its anomaly
    assert m[(6, "response")].ts is None and m[(6, "request")].ts == ns("2024-03-05T09:16:06Z")
    assert m[(7, "request")].headers == (("C", "c"),)
    assert (8, "request") not in m and (8, "response") not in m
    assert m[(9, "request")].ts is None


def test_strict_mode_raises_on_damage_but_not_on_clean_files() -> None:
    read(FIXTURES / "har-capturer.har", strict=True)
    with pytest.raises(AnomalyError):
        read(FIXTURES / "damaged-fields.har", strict=True)


# ----------------------------------------------------------------------------- not a HAR
NOT_HAR = [
    ("not-a-har.json", None, "first key is 'name'"),
    (
        "docker-log.json",
        b'{"log":"GET / 200\\n","stream":"stdout","time":"2024-03-05T09:16:00Z"}\n',
        "'log' is a string",
    ),
    ("not-json.har", b"{ this is not JSON }\n", "not JSON"),
    ("empty-object.json", b"{}", "without 'log'"),
    ("array.json", b'[{"log": {}}]', "a pcap or pcapng capture"),
    ("record.json", b'{"time": 3, "level": "info"}', "neither 'log' nor an entry's 'request'"),
]


@pytest.mark.parametrize(("name", "data", "says"), NOT_HAR)
def test_not_a_har_is_refused_in_one_line(name: str, data: bytes | None, says: str, tmp_path: Path) -> None:
    path = FIXTURES / name if data is None else tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(analyzer.InputFormatError) as excinfo:
        analyzer.analyze([path])
    message = str(excinfo.value)
    assert message.startswith(f"{path}: ") and says in message and "\n" not in message


@pytest.mark.parametrize(("name", "data", "says"), [c for c in NOT_HAR if c[0] != "array.json"])
def test_not_a_har_raises_before_any_message(name: str, data: bytes | None, says: str, tmp_path: Path) -> None:
    path = FIXTURES / name if data is None else tmp_path / name
    if data is not None:
        path.write_bytes(data)
    recorder = Recorder(str(path))
    with open_evidence(path, recorder) as evidence:
        messages = messages_from_har(evidence, source_index=0, limits=Limits(), recorder=recorder)
        with pytest.raises(analyzer.InputFormatError):
            next(messages)


def test_cli_refuses_a_non_har_with_exit_code_2() -> None:
    path = FIXTURES / "not-a-har.json"
    outcome = CliRunner().invoke(cli_main, ["headers", str(path)])
    assert outcome.exit_code == 2
    lines = [line for line in outcome.stderr.splitlines() if line]
    assert len(lines) == 1 and str(path) in lines[0] and "not a HAR" in lines[0]


def test_keys_before_log_and_a_gzipped_har(tmp_path: Path) -> None:
    doc = json_doc(FIXTURES / "har-capturer.har")
    path = tmp_path / "commented.har.gz"
    # HAR allows `comment` and `_custom` fields; the format is recognised by content,
    # compression included.
    path.write_bytes(gzip.compress(json.dumps({"comment": "x", "_tool": {"a": [1]}, "log": doc["log"]}).encode()))
    msgs, anomalies = read(path)
    assert len(msgs) == 4 and anomalies == []


# ----------------------------------------------------------------------------- fields
def test_offsets_are_converted_to_utc_and_versions_kept() -> None:
    msgs = by_entry(read(FIXTURES / "offsets-and-versions.har")[0])
    expected = [
        ("2024-03-05T09:16:00.000Z", "HTTP/1.1"),  # Z
        ("2024-03-05T09:16:00.5Z", "HTTP/1.0"),  # +05:30
        ("2024-03-05T09:16:00Z", "HTTP/2.0"),  # -10:00, previous day, no fraction
        ("2024-03-05T09:16:00.1234567Z", "http/2.0"),  # +0100, seven digits (Fiddler)
        ("2024-03-05T09:16:00.123456789Z", "h3"),  # lower-case z, nanoseconds
        ("2024-03-05T09:16:00.25Z", None),  # -05:00, httpVersion ""
        ("2024-03-05T09:16:00Z", "h2"),  # +00:00
    ]
    for i, (utc, version) in enumerate(expected):
        request, response = msgs[(i, "request")], msgs[(i, "response")]
        assert request.ts == ns(utc), i
        assert response.ts == ns(utc) + 9_000_000  # send 1 + wait 8 (ms); -1s ignored
        assert request.version == response.version == version


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    digits=st.integers(min_value=0, max_value=9),
    extra_ns=st.integers(min_value=0, max_value=999),
    style=st.sampled_from(["+hh:mm", "+hhmm", "Z"]),
)
def test_parse_har_time_against_datetime(
    moment: datetime, offset_minutes: int, digits: int, extra_ns: int, style: str
) -> None:
    if style == "Z":
        offset_minutes = 0
    local = (moment + timedelta(minutes=offset_minutes)).replace(tzinfo=None)  # the wall clock there
    nanos_of_second = moment.microsecond * 1000 + extra_ns
    fraction = f"{nanos_of_second:09d}"[:digits]
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    zone = {"Z": "Z", "+hh:mm": f"{sign}{hh:02d}:{mm:02d}", "+hhmm": f"{sign}{hh:02d}{mm:02d}"}[style]
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + zone
    whole_seconds = (moment.replace(microsecond=0) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    kept = int(fraction.ljust(9, "0")) if digits else 0
    assert parse_har_time(text) == whole_seconds * 1_000_000_000 + kept


def test_endpoints_and_targets() -> None:
    firefox = by_entry(read(FIXTURES / "firefox.har")[0])
    account = firefox[(0, "request")]
    assert account.uri == "/account?lang=en"  # the #fragment never leaves the browser
    assert account.endpoints.server_ip == "2001:db8:fd00::5c7a:c03" and account.endpoints.server_port == 443
    assert account.endpoints.flow_id is None  # Firefox: `connection` is "443", the port
    image = firefox[(2, "request")]
    assert image.endpoints.server_port == 8080 and image.host == "img.operator.example:8080"

    safari = by_entry(read(FIXTURES / "safari.har")[0])
    assert safari[(0, "request")].endpoints.server_ip == "2001:db8::1"  # "[2001:db8::1]"
    assert safari[(0, "request")].endpoints.flow_id == "0:har:4"
    assert safari[(0, "request")].host == "echo.example"  # no Host header in HTTP/2: the URL's

    capturer = by_entry(read(FIXTURES / "har-capturer.har")[0])
    assert capturer[(0, "request")].endpoints.flow_id == "0:har:42"
    assert capturer[(1, "request")].endpoints.flow_id == "0:har:57"
    endpoints = capturer[(0, "request")].endpoints
    assert endpoints.client_ip is None and endpoints.client_port is None and endpoints.community_id is None

    chrome = by_entry(read(FIXTURES / "chrome-sanitised.har")[0])
    assert chrome[(0, "request")].endpoints.server_ip == "2001:db8:4009:81f::2004"  # canonical, as pcaps write it
    assert chrome[(3, "request")].endpoints.server_port == 80  # http:// default


def test_response_time_adds_timings_but_not_ssl() -> None:
    capturer = by_entry(read(FIXTURES / "har-capturer.har")[0])
    # blocked 2 + dns 10 + connect 30 (which includes ssl 18) + send 1 + wait 50
    assert capturer[(0, "request")].ts == ns("2024-03-05T09:15:34Z")
    assert capturer[(0, "response")].ts == ns("2024-03-05T09:15:34.093Z")
    mitm = by_entry(read(FIXTURES / "mitmproxy.har")[0])
    # connect 2.5 + send 0.125 + wait 35.0; ssl null
    assert mitm[(0, "request")].ts == ns("2024-03-05T09:15:32.654321Z")
    assert mitm[(0, "response")].ts == ns("2024-03-05T09:15:32.691946Z")


def test_missing_server_ip_and_no_answer() -> None:
    msgs, anomalies = read(FIXTURES / "chrome-sanitised.har")
    m = by_entry(msgs)
    assert (2, "response") not in m  # net::ERR_BLOCKED_BY_CLIENT: status 0, no headers
    assert m[(2, "request")].uri == f"/px?msisdn={MSISDN}" and m[(2, "request")].version is None
    assert m[(3, "request")].endpoints.server_ip is None  # a memory-cache hit: nothing invented
    missing_ip = [a.har_entry for a in anomalies if a.code == "HAR_MISSING_FIELD" and "serverIPAddress" in a.detail]
    assert missing_ip == [2, 3]
    assert not any(name.lower() in ("cookie", "set-cookie") for msg in msgs for name, _ in msg.headers)

    msgs, anomalies = read(FIXTURES / "safari.har")
    m = by_entry(msgs)
    assert m[(2, "request")].ts is None and m[(2, "response")].ts is None  # startedDateTime ""
    assert ("HAR_MISSING_FIELD", 2) in codes(anomalies)
    assert m[(2, "response")].content_type == "text/javascript" and m[(2, "response")].version is None


def test_bodies_text_base64_and_post_data() -> None:
    m = by_entry(read(FIXTURES / "postdata-variants.har")[0])
    assert m[(0, "request")].body == b'{"msisdn": "447700900123"}' and m[(0, "request")].body_len == 26
    assert m[(1, "request")].body == b"user=447700900123&remember&lang=en"
    assert m[(2, "request")].body == b"\x00\x01\x02\xff\x00Key: 447700900123"  # _textBase64 wins
    assert m[(2, "request")].body_len == 22 and not m[(2, "request")].body_truncated
    assert (m[(3, "request")].body, m[(3, "request")].body_len) == (b"", 0)
    assert m[(4, "request")].body == b"" and m[(4, "request")].body_truncated  # multipart: not invented
    assert m[(5, "request")].body == "héllo".encode() and m[(5, "request")].body_len == 6

    charles = by_entry(read(FIXTURES / "charles.har")[0])
    posted = charles[(1, "request")]
    assert posted.body == b'{"className":"ReqBill","msisdn":"447700900123"}' and posted.body_len == len(posted.body)
    assert charles[(1, "response")].reason is None  # statusText null after HTTP/2
    assert charles[(1, "response")].headers[0] == (":status", "200")

    fiddler = by_entry(read(FIXTURES / "fiddler-with-bom.har")[0])
    png = json_doc(FIXTURES / "fiddler-with-bom.har")["log"]["entries"][0]["response"]["content"]["text"]
    assert fiddler[(0, "response")].body == base64.b64decode(png)
    assert fiddler[(0, "request")].ts == ns("2024-03-05T09:15:30.1234567Z")


def test_response_content_is_decoded_so_no_content_encoding() -> None:
    firefox = by_entry(read(FIXTURES / "firefox.har")[0])
    response = firefox[(0, "response")]
    assert ("content-encoding", "br") in response.headers  # the header row stays
    assert response.content_encoding is None  # but the body the HAR holds is already decoded
    assert b"HTTP_X_UP_CALLING_LINE_ID: 447700900123" in response.body
    assert response.content_type == "text/html; charset=utf-8"
    image = firefox[(2, "response")]
    assert image.body == b"" and image.body_len == 3120 and image.body_truncated  # Firefox kept no image bodies


def test_headers_as_pairs_keep_order_and_duplicates() -> None:
    m = by_entry(read(FIXTURES / "headers-as-pairs.har")[0])
    assert m[(0, "request")].headers == (
        ("Host", "files.chat.example"),
        ("Accept", "*/*"),
        ("X-Forwarded-For", "10.1.1.1"),
        ("X-Forwarded-For", "10.2.2.2"),
        ("x-up-calling-line-id", MSISDN),
    )
    assert m[(0, "response")].header_values("set-cookie") == ["a=1", "b=2"]


# ----------------------------------------------------------------------------- limits
def _har(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}}
    ).encode()


def _entry(i: int, text: str = "ok", headers: int = 2) -> dict[str, Any]:
    return {
        "startedDateTime": f"2024-03-05T09:16:{i:02d}Z",
        "request": {
            "method": "GET",
            "url": f"http://l.example/{i}",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": f"H{n}", "value": str(n)} for n in range(headers)],
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "A", "value": "b"}],
            "content": {"size": len(text), "text": text},
        },
        "timings": {"send": 0, "wait": 1},
        "serverIPAddress": "192.0.2.1",
    }


def test_entry_too_large_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "big.har"
    path.write_bytes(_har([_entry(0), _entry(1, "x" * 600_000), _entry(2)]))
    msgs, anomalies = read(path, limits=Limits(max_har_entry_bytes=200_000))
    assert [m.har_entry for m in msgs] == [0, 0, 2, 2]  # entry numbers do not shift
    assert codes(anomalies) == [("HAR_ENTRY_TOO_LARGE", 1)]


def test_body_prefix_and_header_limits(tmp_path: Path) -> None:
    entry = _entry(0, "é" * 100, headers=10)
    entry["request"]["postData"] = {"mimeType": "text/plain", "text": "0123456789" * 3}
    path = tmp_path / "limits.har"
    path.write_bytes(_har([entry]))
    limits = Limits(max_body_prefix_bytes=12, max_response_body_prefix_bytes=15, max_headers_per_message=4)
    msgs, anomalies = read(path, limits=limits)
    request, response = msgs
    assert request.body == b"012345678901" and request.body_len == 30 and request.body_truncated
    assert response.body == ("é" * 100).encode()[:15] and response.body_len == 200 and response.body_truncated
    assert request.headers == tuple((f"H{n}", str(n)) for n in range(4))
    assert codes(anomalies) == [("HTTP_TOO_MANY_HEADERS", 0)]


@pytest.mark.parametrize("block", [1, 7, 4096])
def test_read_size_does_not_change_what_is_read(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The streaming reader gives the same messages whatever size its reads are."""
    expected = [read(corpus("har", "with-bom.har")), read(FIXTURES / "truncated.har")]
    monkeypatch.setattr(har_module, "READ_BYTES", block)
    clean, cut = read(corpus("har", "with-bom.har")), read(FIXTURES / "truncated.har")
    assert clean == expected[0]
    assert cut[0] == expected[1][0] and codes(cut[1]) == codes(expected[1][1])


# Any text but lone surrogates, which yajl turns into "?" (see the module notes).
header_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    headers=st.lists(st.tuples(header_text, header_text), max_size=12),
    as_pairs=st.booleans(),
)
def test_any_header_list_comes_back_as_written(headers: list[tuple[str, str]], as_pairs: bool, tmp_path: Path) -> None:
    entry = _entry(0)
    entry["request"]["headers"] = [list(h) if as_pairs else {"name": h[0], "value": h[1]} for h in headers]
    path = tmp_path / "headers.har"
    path.write_bytes(_har([entry]))
    request = read(path)[0][0]
    assert request.headers == tuple(headers)


# ----------------------------------------------------------------------------- together
def test_pcap_and_har_in_one_analysis() -> None:
    pcap, har = corpus("zeek", "get.pcap"), corpus("har", "chrome.har")
    result = analyzer.analyze([pcap, har])
    m = result.messages
    assert set(m["source_kind"]) == {"pcap", "har"}
    assert m["message_id"].is_unique
    from_pcap, from_har = m[m["source_kind"] == "pcap"], m[m["source_kind"] == "har"]
    assert len(from_har) == 5 and len(from_pcap) == 2  # one wget GET and its answer
    assert all(mid >> 48 == 1 for mid in from_har["message_id"])  # source index 1: the second input
    assert all(mid >> 48 == 0 for mid in from_pcap["message_id"])
    assert from_har["frame_first"].isna().all() and from_har["har_entry"].notna().all()
    assert from_pcap["frame_first"].notna().all() and from_pcap["har_entry"].isna().all()
    assert set(result.headers["message_id"]) <= set(m["message_id"])
    assert list(result.inputs["format"]) == ["pcap", "har"]


# ----------------------------------------------------------------------------- fixtures
def test_builder_writes_the_committed_fixtures() -> None:
    spec = importlib.util.spec_from_file_location("build_har_fixtures", ROOT / "fixtures" / "build_har_fixtures.py")
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    built = builder.build()
    assert sorted(built) == sorted(p.name for p in FIXTURES.iterdir())
    for name, data in built.items():
        assert (FIXTURES / name).read_bytes() == data, f"{name}: run python fixtures/build_har_fixtures.py"
    assert (FIXTURES / "fiddler-with-bom.har").read_bytes().startswith(b"\xef\xbb\xbf")
    assert sum(len(d) for d in built.values()) < 150_000  # fixtures stay small
