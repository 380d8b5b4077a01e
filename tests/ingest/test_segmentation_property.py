"""Through the whole capture pipeline: how a stream is cut into segments, and in what order
and how often the segments arrive, never changes the messages."""

from __future__ import annotations

import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.model import HttpMessage
from tests.helpers import ACK, CLIENT, FIN, PSH, SERVER, SYN, messages_of_frames, tcp_frame

REQUESTS = [
    b"GET /a HTTP/1.1\r\nHost: example.com\r\nX-Up-Calling-Line-Id: 447700900123\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 12\r\n\r\nmsisdn=44770",
    b"GET /c HTTP/1.1\r\nHost: example.com\r\nCookie: a=1; b=2\r\n\r\n",
]
RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 302 Found\r\nLocation: /x?n=447700900123\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
]


def _segments(data: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    points = sorted({0, len(data), *(c % len(data) for c in cuts)})
    return [(a, data[a:b]) for a, b in itertools.pairwise(points)]


def _capture(cuts_c: list[int], cuts_s: list[int], dups: list[int], seed: int) -> list[bytes]:
    client_data, server_data = b"".join(REQUESTS), b"".join(RESPONSES)
    c_isn, s_isn = 1000, 0xFFFFFF00  # the server's sequence numbers wrap around
    frames = [
        tcp_frame(CLIENT, SERVER, c_isn, 0, SYN),
        tcp_frame(SERVER, CLIENT, s_isn, c_isn + 1, SYN | ACK),
        tcp_frame(CLIENT, SERVER, c_isn + 1, s_isn + 1, ACK),
    ]
    rng = random.Random(seed)
    client = _segments(client_data, cuts_c)
    client += [client[d % len(client)] for d in dups]  # retransmissions
    rng.shuffle(client)
    for offset, payload in client:
        frames.append(tcp_frame(CLIENT, SERVER, c_isn + 1 + offset, s_isn + 1, PSH | ACK, payload))
    server = _segments(server_data, cuts_s)
    server += [server[d % len(server)] for d in dups]
    rng.shuffle(server)
    for offset, payload in server:
        frames.append(tcp_frame(SERVER, CLIENT, s_isn + 1 + offset, c_isn + 1 + len(client_data), PSH | ACK, payload))
    frames.append(tcp_frame(CLIENT, SERVER, c_isn + 1 + len(client_data), s_isn + 1 + len(server_data), FIN | ACK))
    frames.append(tcp_frame(SERVER, CLIENT, s_isn + 1 + len(server_data), c_isn + 2 + len(client_data), FIN | ACK))
    return frames


def _content(messages: list[object]) -> list[tuple[object, ...]]:
    out = []
    for m in messages:
        assert isinstance(m, HttpMessage)
        out.append((m.direction, m.trans_depth, m.method, m.uri, m.status, m.headers, m.body, m.body_len))
    return sorted(out, key=lambda t: (t[1] or 0, t[0]))


EXPECTED = _content(messages_of_frames(_capture([], [], [], 0)))


def test_unsplit_capture_gives_every_message() -> None:
    assert [(d, depth, s) for d, depth, _, _, s, *_ in EXPECTED] == [
        ("request", 1, None),
        ("response", 1, 200),
        ("request", 2, None),
        ("response", 2, 302),
        ("request", 3, None),
        ("response", 3, 200),
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cuts_c=st.lists(st.integers(0, 10_000), max_size=15),
    cuts_s=st.lists(st.integers(0, 10_000), max_size=15),
    dups=st.lists(st.integers(0, 100), max_size=5),
    seed=st.integers(0, 2**32),
)
def test_any_segmentation_order_and_duplication_gives_the_same_messages(
    cuts_c: list[int], cuts_s: list[int], dups: list[int], seed: int
) -> None:
    assert _content(messages_of_frames(_capture(cuts_c, cuts_s, dups, seed))) == EXPECTED
