"""TCP reassembly, sans-IO: order, duplicates, overlaps, wraparound, gaps, limits."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.flows.community_id import community_id
from analyzer.flows.reassembly import Chunk, Reassembler, seq_delta

BIG = 1 << 30


def stream(chunks: list[Chunk]) -> bytes:
    return b"".join(c[0] for c in chunks if c[0] is not None)


def test_in_order_segments_come_out_as_they_are() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(99)
    assert r.add(100, b"abc", 1) == [(b"abc", 3, 1, None)]
    assert r.add(103, b"def", 2, 7) == [(b"def", 3, 2, 7)]


def test_out_of_order_segment_waits_and_comes_out_with_the_frame_that_filled_the_hole() -> None:
    # Wireshark reports a message completed by out-of-order data at the hole-filling frame.
    r = Reassembler(BIG, 1000)
    r.syn(0)
    assert r.add(4, b"def", 1, 10) == []
    assert r.add(1, b"abc", 2, 20) == [(b"abc", 3, 2, 20), (b"def", 3, 2, 20)]


def test_retransmission_is_dropped_and_a_conflicting_one_recorded() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(0)
    r.add(1, b"GET / HTTP/1.1\r\n", 1)
    assert r.add(1, b"GET / HTTP/1.1\r\n", 2) == []
    assert r.conflicts == []
    assert r.add(1, b"GET /evil HTTP/1", 3) == []  # the receiver kept the first copy; so do we
    assert r.conflicts == [(0, 3)]  # stream offset where the overlap starts, frame


def test_partial_overlap_delivers_only_the_new_tail() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(0)
    r.add(1, b"abcd", 1)
    assert stream(r.add(3, b"cdefg", 2)) == b"efg"


def test_sequence_wraparound() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(0xFFFFFFFD)
    out = r.add(0xFFFFFFFE, b"ab", 1) + r.add(0x00000002, b"ef", 2) + r.add(0x00000000, b"cd", 3)
    assert stream(out) == b"abcdef"
    assert seq_delta(0x00000002, 0xFFFFFFFE) == 4


def test_hole_becomes_a_gap_on_flush_with_its_length() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(0)
    r.add(1, b"aaaa", 1)
    assert r.add(11, b"bbbb", 2) == []
    out = r.flush(3)
    assert [(c[0], c[1]) for c in out] == [(None, 6), (b"bbbb", 4)]


def test_peer_ack_past_a_hole_declares_the_gap_at_once() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(0)
    r.add(1, b"aaaa", 1)
    r.add(11, b"bbbb", 2)
    assert r.ack(5, 3) == []  # acknowledges only what was seen
    out = r.ack(15, 4)  # the receiver had bytes 5..10: the capture missed them
    assert [(c[0], c[1]) for c in out] == [(None, 6), (b"bbbb", 4)]


def test_pending_limit_declares_the_hole_a_gap() -> None:
    r = Reassembler(max_pending_bytes=10, max_pending_segments=100)
    r.syn(0)
    out = []
    for i in range(5):
        out += r.add(101 + 4 * i, b"xxxx", i + 1)
    assert r.limit_hits >= 1
    assert out[0][0] is None and out[0][1] == 100
    assert r.pending_bytes <= 10


def test_mid_stream_start_takes_the_first_segment_seen() -> None:
    r = Reassembler(BIG, 1000)
    assert stream(r.add(5000, b"tail of a body", 1)) == b"tail of a body"


def test_fin_marks_the_end_once_every_byte_is_in() -> None:
    r = Reassembler(BIG, 1000)
    r.syn(0)
    r.add(5, b"efgh", 1)
    r.fin(9)
    assert not r.finished
    r.add(1, b"abcd", 2)
    assert r.finished


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=400),
    isn=st.integers(0, 0xFFFFFFFF),
    cuts=st.lists(st.integers(1, 399), max_size=20),
    extra=st.lists(st.tuples(st.integers(0, 399), st.integers(1, 50)), max_size=8),
    seed=st.integers(0, 2**32),
)
def test_shuffled_duplicated_overlapping_segments_give_the_same_stream(
    data: bytes, isn: int, cuts: list[int], extra: list[tuple[int, int]], seed: int
) -> None:
    points = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    segments = [(a, data[a:b]) for a, b in itertools.pairwise(points)]
    # Duplicates and overlapping retransmissions of arbitrary ranges, same bytes.
    segments += [(a, data[a : a + n]) for a, n in extra if a < len(data)]
    random.Random(seed).shuffle(segments)
    r = Reassembler(BIG, 100_000)
    r.syn(isn)
    out: list[Chunk] = []
    for frame, (offset, payload) in enumerate(segments, start=1):
        out += r.add((isn + 1 + offset) & 0xFFFFFFFF, payload, frame)
    out += r.flush(len(segments) + 1)
    assert stream(out) == data
    assert all(c[0] is not None for c in out)
    assert r.conflicts == []


def test_community_id_matches_the_spec_examples() -> None:
    # From the Community ID spec's baseline (tcp, 128.232.110.120:34855 -> 66.35.250.204:80).
    src, dst = bytes([128, 232, 110, 120]), bytes([66, 35, 250, 204])
    assert community_id(src, dst, 34855, 80) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    assert community_id(dst, src, 80, 34855) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
