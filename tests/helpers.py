"""Builders and assertions shared by the tests (one place, so every test reads alike)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from analyzer.anomalies import Recorder
from analyzer.http.parser import NEED_DATA, HttpParser, ParsedMessage, RequestHead
from analyzer.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
# The public test corpus lives beside the project (../shared/corpus); LINEID_CORPUS points
# elsewhere. Tests that need it skip with this reason when it is absent, never fake it.
CORPUS = Path(os.environ.get("LINEID_CORPUS", ROOT.parent / "shared" / "corpus"))
NO_CORPUS = f"public corpus not found at {CORPUS} (set LINEID_CORPUS)"
FIXTURES = ROOT / "fixtures"


def corpus(*parts: str) -> Path:
    """A corpus file; skips the calling test when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not CORPUS.is_dir():
        pytest.skip(NO_CORPUS)
    return path


def parse_stream(
    chunks: Iterable[bytes],
    *,
    role: str | None = None,
    expect: Sequence[tuple[str, str | None]] = (),
    limits: Limits | None = None,
    eof: bool = True,
) -> tuple[list[ParsedMessage], list[str]]:
    """Feed chunks (frame n for the n-th chunk) to one parser; the messages and anomaly codes."""
    recorder = Recorder("test")
    parser = HttpParser(limits or Limits(), recorder.add, role=role)
    for method, version in expect:
        parser.expect_response(method, version)
    messages: list[ParsedMessage] = []
    frame = 0
    for frame, chunk in enumerate(chunks, start=1):
        parser.receive_data(chunk, frame, frame * 1000)
        while (event := parser.next_event()) is not NEED_DATA:
            if not isinstance(event, RequestHead):
                assert isinstance(event, ParsedMessage)
                messages.append(event)
    if eof:
        parser.receive_eof(frame)
        while (event := parser.next_event()) is not NEED_DATA:
            if not isinstance(event, RequestHead):
                assert isinstance(event, ParsedMessage)
                messages.append(event)
    return messages, [a.code for a in recorder.items]


def content(messages: Iterable[ParsedMessage]) -> list[dict[str, object]]:
    """What a message says, without where in the stream it was seen (frames, times)."""
    out = []
    for m in messages:
        d = m.as_dict()
        for key in ("frame_first", "frame_last", "ts", "answers", "info"):
            d.pop(key)
        out.append(d)
    return out


def pcap_bytes(
    packets: Sequence[tuple[float, bytes]], linktype: int = 1, big_endian: bool = False, nanos: bool = False
) -> bytes:
    """A classic pcap file holding these (time, frame bytes) records."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    scale = 1_000_000_000 if nanos else 1_000_000
    for ts, frame in packets:
        sec = int(ts)
        frac = round((ts - sec) * scale)
        out.append(struct.pack(order + "IIII", sec, frac, len(frame), len(frame)) + frame)
    return b"".join(out)


# --------------------------------------------------------------------------- packets
SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08
CLIENT = (bytes([10, 0, 0, 1]), 40000)
SERVER = (bytes([192, 0, 2, 80]), 80)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def tcp_frame(
    src: tuple[bytes, int], dst: tuple[bytes, int], seq: int, ack: int, flags: int, payload: bytes = b""
) -> bytes:
    """An Ethernet/IPv4/TCP frame (valid checksums, so tshark reads it as a real capture would be)."""
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    pseudo = src[0] + dst[0] + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0, src[0], dst[0])
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + tcp + payload


def messages_of_frames(frames: Sequence[bytes], linktype: int = 1) -> list[object]:
    """Run the capture pipeline over in-memory frames (frame i at time i ms)."""
    from analyzer.decode.packet import PacketDecoder
    from analyzer.ingest.capture import FlowTable, messages_from_records

    recorder = Recorder("mem")
    table = FlowTable(source="mem", source_index=0, source_kind="pcap", limits=Limits(), recorder=recorder)
    records = ((i, i * 1_000_000, linktype, f, 0, len(f), len(f)) for i, f in enumerate(frames, start=1))
    return list(messages_from_records(records, table, PacketDecoder(recorder, Limits())))


def http_capture(exchanges: Sequence[tuple[bytes, bytes]], *, start: float = 1_326_182_400.0) -> bytes:
    """A pcap of one keep-alive connection carrying these (request, response) pairs."""
    c_seq, s_seq = 1000, 5000
    frames = [
        tcp_frame(CLIENT, SERVER, c_seq, 0, SYN),
        tcp_frame(SERVER, CLIENT, s_seq, c_seq + 1, SYN | ACK),
        tcp_frame(CLIENT, SERVER, c_seq + 1, s_seq + 1, ACK),
    ]
    c, s = c_seq + 1, s_seq + 1
    for request, response in exchanges:
        frames.append(tcp_frame(CLIENT, SERVER, c, s, PSH | ACK, request))
        c += len(request)
        frames.append(tcp_frame(SERVER, CLIENT, s, c, PSH | ACK, response))
        s += len(response)
    frames.append(tcp_frame(CLIENT, SERVER, c, s, FIN | ACK))
    frames.append(tcp_frame(SERVER, CLIENT, s, c + 1, FIN | ACK))
    return pcap_bytes([(start + i * 0.01, f) for i, f in enumerate(frames)])


def request(path: str = "/", host: str = "example.com", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n{extra}\r\n".encode("utf-8", "surrogateescape")


OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
