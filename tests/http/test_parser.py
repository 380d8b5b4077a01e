"""The sans-IO HTTP/1.x parser: framing, leniency, anomalies, and split invariance."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.anomalies import Recorder
from analyzer.http.parser import NEED_DATA, RESYNC, TUNNEL, HttpParser, ParsedMessage
from analyzer.limits import Limits
from tests.helpers import content, parse_stream

GET = b"GET /a?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n"


def one(data: bytes, **kwargs: object) -> ParsedMessage:
    messages, _ = parse_stream([data], **kwargs)  # type: ignore[arg-type]
    assert len(messages) == 1, messages
    return messages[0]


# --------------------------------------------------------------------------- requests
def test_request_line_and_headers_in_wire_order_with_raw_names() -> None:
    msg = one(b"GET /p?q=1 HTTP/1.1\r\nHOST: a.example\r\nX-Up-Calling-Line-ID: 447700900123\r\nhost: dup\r\n\r\n")
    assert (msg.is_request, msg.method, msg.target, msg.version) == (True, "GET", "/p?q=1", "HTTP/1.1")
    assert msg.headers == [("HOST", "a.example"), ("X-Up-Calling-Line-ID", "447700900123"), ("host", "dup")]
    assert msg.host == "a.example"  # the first Host header


def test_pipelined_requests_in_one_segment_are_each_a_message() -> None:
    messages, _ = parse_stream([GET * 3])
    assert [m.target for m in messages] == ["/a?x=1"] * 3
    assert all(m.frame_last == 1 for m in messages)


def test_request_body_by_content_length_is_kept() -> None:
    messages, _ = parse_stream([b"POST /f HTTP/1.1\r\nContent-Length: 11\r\n\r\nmsisdn=4477" + GET])
    assert messages[0].body == b"msisdn=4477" and messages[0].body_len == 11
    assert messages[1].target == "/a?x=1"  # the body ended exactly where it said


def test_request_body_chunked_is_dechunked() -> None:
    msg = one(b"POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n")
    assert msg.body == b"abcdefg" and msg.body_len == 7


def test_http09_request_completes_at_eof_and_its_response_is_raw() -> None:
    request = one(b"GET /old\r\n")
    assert (request.method, request.target, request.version, request.headers) == ("GET", "/old", "HTTP/0.9", [])
    response = one(b"<html>hello</html>", role="server", expect=[("GET", "HTTP/0.9")])
    assert response.version == "HTTP/0.9" and response.status is None and response.body == b"<html>hello</html>"


def test_malformed_request_lines_are_read_as_tshark_reads_them() -> None:
    # From Zeek's methods.pcap: a method fuzzer's requests, which servers still answer.
    no_target = one(b"OPTIONS HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (no_target.method, no_target.target) == ("OPTIONS", "HTTP/1.1")
    bad_version = one(b"GET / HTTP/1.\r\nHost: h\r\n\r\n")
    assert (bad_version.target, bad_version.version) == ("/", "HTTP/1.")
    bare = one(b"OPTIONS\r\nHost: h\r\n\r\n")
    assert (bare.method, bare.target, bare.headers) == ("OPTIONS", None, [("Host", "h")])


def test_a_bare_unknown_token_line_is_not_a_request() -> None:
    messages, _ = parse_stream([b"HELLO\r\n\r\n"], eof=False)
    assert messages == []


# --------------------------------------------------------------------------- responses
def test_textual_response_body_kept_binary_skipped_but_counted() -> None:
    html = one(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello", role="server")
    assert html.body == b"hello" and not html.body_truncated
    jpeg = one(
        b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 5\r\n\r\n\xff\xd8\xff\xe0x", role="server"
    )
    assert jpeg.body == b"" and jpeg.body_len == 5 and jpeg.body_truncated


def test_responses_without_body() -> None:
    stream = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
        b"HTTP/1.1 304 Not Modified\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"  # answers HEAD: no body
    )
    messages, _ = parse_stream([stream], expect=[("POST", "HTTP/1.1"), ("GET", "HTTP/1.1"), ("HEAD", "HTTP/1.1")])
    assert [(m.status, m.interim, m.body_len) for m in messages] == [
        (100, True, 0),
        (204, False, 0),
        (304, False, 0),
        (200, False, 0),
    ]


def test_read_until_close_response_completes_at_eof() -> None:
    messages, _ = parse_stream([b"HTTP/1.0 200 OK\r\n\r\npart one ", b"part two"])
    assert len(messages) == 1 and messages[0].body == b"part one part two" and messages[0].frame_last == 2


def test_chunked_response_with_trailers_joins_trailers_to_headers() -> None:
    msg = one(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n", role="server"
    )
    assert msg.body == b"abc" and msg.headers[-1] == ("X-Trailer", "t")


def test_reason_phrase_may_hold_a_stray_cr() -> None:
    # ndpi's fuzzed MMS capture: "HTTP/1.1 202 Accepted\r\x1aServer: …" is still a response to tshark.
    msg = one(b"HTTP/1.1 202 Accepted\r\x1aServer: x\r\nContent-Length: 0\r\n\r\n", role="server")
    assert msg.status == 202


# --------------------------------------------------------------------------- leniency and anomalies
def test_obs_fold_is_joined_with_one_space() -> None:
    messages, codes = parse_stream([b"GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\n\tc\r\n\r\n"])
    assert messages[0].headers == [("X-Long", "a b c")] and "HTTP_OBS_FOLD" in codes


def test_bare_lf_lines() -> None:
    messages, codes = parse_stream([b"GET / HTTP/1.1\nHost: h\nX-A: 1\n\n"])
    assert messages[0].headers == [("Host", "h"), ("X-A", "1")] and "HTTP_BARE_LF" in codes


def test_bytes_that_are_not_ascii_are_kept() -> None:
    msg = one(b"GET / HTTP/1.1\r\nX-Name: Jos\xc3\xa9\r\nX-Latin: caf\xe9\r\nX-Nul: a\x00b\r\n\r\n")
    assert msg.headers == [("X-Name", "José"), ("X-Latin", "caf\\xe9"), ("X-Nul", "a\x00b")]


def test_header_line_without_colon_is_kept_and_reported() -> None:
    messages, codes = parse_stream([b"GET / HTTP/1.1\r\nno colon here\r\nHost: h\r\n\r\n"])
    assert messages[0].headers == [("", "no colon here"), ("Host", "h")]
    assert messages[0].malformed and "HTTP_BAD_HEADER_LINE" in codes


def test_transfer_encoding_overrides_content_length() -> None:
    messages, codes = parse_stream(
        [b"POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + GET]
    )
    assert [m.body for m in messages] == [b"ok", b""] and "HTTP_TE_AND_CL" in codes


def test_bad_chunk_ends_the_message_and_a_smuggled_request_is_seen() -> None:
    # Zeek's 261/variant-01: a chunk size of 2^64 hides a second request.
    stream = (
        b"POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\nHost: target\r\n\r\n"
    )
    messages, codes = parse_stream([stream])
    assert [(m.method, m.target, m.malformed) for m in messages] == [("POST", "/", True), ("GET", "/smuggled", False)]
    assert "HTTP_BAD_CHUNK" in codes


def test_negative_content_length_is_an_anomaly() -> None:
    messages, codes = parse_stream([b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n" + GET])
    assert [m.method for m in messages] == ["POST", "GET"] and "HTTP_BAD_CONTENT_LENGTH" in codes


def test_header_block_limit_stops_a_block_that_never_ends() -> None:
    limits = Limits(max_header_block_bytes=1024)
    messages, codes = parse_stream([b"GET / HTTP/1.1\r\n" + b"X-Filler: " + b"a" * 5000], limits=limits, eof=False)
    assert "HTTP_HEADER_BLOCK_TOO_LONG" in codes and len(messages) == 1


def test_headers_per_message_limit() -> None:
    block = b"".join(b"X-%d: v\r\n" % i for i in range(20))
    messages, codes = parse_stream([b"GET / HTTP/1.1\r\n" + block + b"\r\n"], limits=Limits(max_headers_per_message=5))
    assert len(messages[0].headers) == 5 and "HTTP_TOO_MANY_HEADERS" in codes


# --------------------------------------------------------------------------- gaps and resync
def test_gap_inside_a_body_completes_the_message_with_the_gap_flagged() -> None:
    recorder = Recorder("t")
    parser = HttpParser(Limits(), recorder.add)
    parser.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", 1, 0)
    parser.receive_gap(50, 2)
    parser.receive_data(b"x" * 40, 3, 0)
    msg = parser.next_event()
    assert isinstance(msg, ParsedMessage) and msg.gap and msg.body_len == 100 and msg.frame_last == 3


def test_gap_swallowing_a_pipelined_request_resyncs_at_the_next_one() -> None:
    # tshark and Zeek lose everything after a client-side hole; lineid does not.
    recorder = Recorder("t")
    parser = HttpParser(Limits(), recorder.add)
    parser.receive_data(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTT", 1, 0)
    parser.receive_gap(30, 2)
    parser.receive_data(b"x: y\r\n\r\nGET /3 HTTP/1.1\r\nHost: h\r\n\r\nGET /4 HTTP/1.1\r\n\r\n", 3, 0)
    events = []
    while (event := parser.next_event()) is not NEED_DATA:
        assert isinstance(event, ParsedMessage)
        events.append(event)
    assert [e.target for e in events] == ["/1", None, "/3", "/4"]
    # The tail of the cut request /2 is kept: its header lines are evidence too.
    assert events[1].partial and events[1].gap and events[1].headers == [("x", "y")]
    assert {"HTTP_RESYNC", "HTTP_PARTIAL_HEADERS"} <= {a.code for a in recorder.items}


def test_mid_stream_capture_keeps_the_tail_of_a_cut_header_block() -> None:
    # ndpi's MMS capture: the capture starts inside a request's header block that holds
    # the hex-encoded cookie User-Identity-Forward-msisdn.
    messages, codes = parse_stream(
        [
            b'201.xml","1-Ow==\r\nCookie: User-Identity-Forward-msisdn=343931373236313031303034\r\n'
            b"Content-Length: 2\r\n\r\nok"
        ]
    )
    assert len(messages) == 1 and messages[0].partial and messages[0].is_request
    assert messages[0].headers == [
        ("Cookie", "User-Identity-Forward-msisdn=343931373236313031303034"),
        ("Content-Length", "2"),
    ]
    assert "HTTP_PARTIAL_HEADERS" in codes


def test_binary_junk_with_blank_lines_is_not_taken_for_headers() -> None:
    messages, _ = parse_stream([b"\x89PNG\r\n\x1a\n\x00\x00\rIHDR\n\nmore"])
    assert messages == []


def test_a_response_may_start_right_after_a_body_with_no_newline_after_a_gap() -> None:
    recorder = Recorder("t")
    parser = HttpParser(Limits(), recorder.add, role="server")
    parser.receive_gap(238, 1)
    parser.receive_data(b"</html>HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2, 0)
    msg = parser.next_event()
    assert isinstance(msg, ParsedMessage) and msg.status == 200 and msg.body == b"ok"


def test_first_bytes_that_are_not_http_leave_the_parser_without_a_role() -> None:
    parser = HttpParser(Limits(), Recorder("t").add)
    parser.receive_data(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 1, 0)  # a TLS ClientHello
    assert parser.role is None and parser.state == RESYNC


def test_mid_stream_pickup_finds_the_next_message() -> None:
    messages, _ = parse_stream(
        [b"ody of a previous response\r\n", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"]
    )
    assert [m.status for m in messages] == [404]


def test_connect_then_tunnel_data_is_not_parsed() -> None:
    parser = HttpParser(Limits(), Recorder("t").add)
    parser.receive_data(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01", 1, 0)
    assert isinstance(parser.next_event(), ParsedMessage)
    parser.become_tunnel()
    parser.receive_data(b"GET /not-http-anymore HTTP/1.1\r\n\r\n", 2, 0)
    assert parser.next_event() is NEED_DATA and parser.state == TUNNEL


def test_refused_connect_resumes_http() -> None:
    parser = HttpParser(Limits(), Recorder("t").add)
    parser.receive_data(b"CONNECT x:443 HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n", 1, 0)
    assert isinstance(parser.next_event(), ParsedMessage)
    parser.resume()
    event = parser.next_event()
    assert isinstance(event, ParsedMessage) and event.target == "/next"


def test_skip_contract_lets_the_caller_drop_body_bytes() -> None:
    """What the hot loop does: drop `skip` bytes unseen; the message still completes."""
    parser = HttpParser(Limits(), Recorder("t").add)
    parser.receive_data(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 10000\r\n\r\n", 1, 0)
    assert parser.skip == 9999  # all but the last byte, so completion passes through receive_data
    parser.skip -= 5000
    parser.remaining -= 5000
    parser.receive_data(b"v" * 5000, 3, 0)
    msg = parser.next_event()
    assert isinstance(msg, ParsedMessage) and msg.body_len == 10000 and msg.frame_last == 3


# --------------------------------------------------------------------------- split invariance
_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=12)
_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)


@st.composite
def _request(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "OPTIONS", "PROPFIND"]))
    target = "/" + draw(st.text(alphabet="abc/?=&%0123456789", max_size=20))
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    headers = draw(st.lists(st.tuples(_token, _value), max_size=6))
    body = draw(st.binary(max_size=40)) if method in ("POST", "PUT") else b""
    framing = draw(st.sampled_from(["length", "chunked"])) if body else "none"
    lines = [f"{method} {target} HTTP/1.1"] + [f"{n}: {v}" for n, v in headers]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        cut = draw(st.integers(0, len(body)))
        parts = [p for p in (body[:cut], body[cut:]) if p]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    else:
        payload = b""
    return (eol.join(lines) + eol + eol).encode() + payload


@st.composite
def _response(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from([200, 404, 302, 500]))
    body = draw(st.binary(max_size=60))
    headers = draw(st.lists(st.tuples(_token, _value), max_size=5))
    head = [f"HTTP/1.1 {status} R"] + [f"{n}: {v}" for n, v in headers]
    if draw(st.booleans()):
        head.append(f"Content-Length: {len(body)}")
        payload = body
    else:
        head.append("Transfer-Encoding: chunked")
        payload = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if data[a:b]]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_request(), min_size=1, max_size=5), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_a_request_stream_gives_the_same_messages(requests: list[bytes], cuts: list[int]) -> None:
    data = b"".join(requests)
    whole, _ = parse_stream([data])
    assert len(whole) == len(requests)
    split, _ = parse_stream(_splits(data, cuts))
    assert content(split) == content(whole)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_response(), min_size=1, max_size=5), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_a_response_stream_gives_the_same_messages(responses: list[bytes], cuts: list[int]) -> None:
    data = b"".join(responses)
    whole, _ = parse_stream([data], role="server")
    assert len(whole) == len(responses)
    split, _ = parse_stream(_splits(data, cuts), role="server")
    assert content(split) == content(whole)


@settings(max_examples=40, deadline=None)
@given(st.lists(_request(), min_size=1, max_size=3))
def test_one_byte_at_a_time_gives_the_same_messages(requests: list[bytes]) -> None:
    data = b"".join(requests)
    whole, _ = parse_stream([data])
    bytewise, _ = parse_stream([data[i : i + 1] for i in range(len(data))])
    assert content(bytewise) == content(whole)
