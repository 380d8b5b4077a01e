"""Capture readers: pcap variants, pcapng sections and interfaces, compression, damage."""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
from pathlib import Path

import pytest
import zstandard

import analyzer
from analyzer.anomalies import Recorder
from analyzer.sources import open_evidence, sniff_format
from analyzer.sources.pcap import read_pcap
from analyzer.sources.pcapng import read_pcapng
from tests.helpers import pcap_bytes

PACKETS = [(1_300_000_000.125, b"A" * 60), (1_300_000_001.5, b"B" * 70), (1_300_000_002.25, b"C" * 80)]


def records(path: Path) -> tuple[list[tuple[int, int | None, int, bytes]], list[str]]:
    recorder = Recorder(str(path))
    with open_evidence(path, recorder) as evidence:
        kind = sniff_format(evidence)
        reader = read_pcap if kind == "pcap" else read_pcapng
        out = [(frame, ts, lt, buf[s:e]) for frame, ts, lt, buf, s, e, _ in reader(evidence, recorder)]
    return out, [a.code for a in recorder.finish()]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanos", [False, True])
def test_pcap_byte_orders_and_resolutions_give_the_same_records(tmp_path: Path, big_endian: bool, nanos: bool) -> None:
    got, codes = records(write(tmp_path, "c.pcap", pcap_bytes(PACKETS, big_endian=big_endian, nanos=nanos)))
    assert codes == []
    assert [(f, lt, data) for f, _, lt, data in got] == [(1, 1, b"A" * 60), (2, 1, b"B" * 70), (3, 1, b"C" * 80)]
    assert [ts for _, ts, _, _ in got] == [
        1_300_000_000_125_000_000,
        1_300_000_001_500_000_000,
        1_300_000_002_250_000_000,
    ]


def test_kuznetzov_modified_pcap_records_are_read(tmp_path: Path) -> None:
    head = struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
    body = b"".join(struct.pack("<IIII", 10 + i, 0, 4, 4) + b"\0" * 8 + b"pkt%d" % i for i in range(2))
    got, _ = records(write(tmp_path, "k.pcap", head + body))
    assert [d for *_, d in got] == [b"pkt0", b"pkt1"]


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        ("gz", gzip.compress),
        ("bz2", bz2.compress),
        ("xz", lzma.compress),
        ("zst", lambda d: zstandard.ZstdCompressor().compress(d)),
    ],
)
def test_compressed_captures_are_recognised_by_magic_not_name(tmp_path: Path, suffix: str, compress: object) -> None:
    plain = pcap_bytes(PACKETS)
    # Deliberately misnamed: the content decides.
    path = write(tmp_path, f"capture.{suffix}.bin", compress(plain))  # type: ignore[operator]
    got, codes = records(path)
    assert codes == [] and len(got) == 3


def test_concatenated_gzip_members_are_one_stream(tmp_path: Path) -> None:
    plain = pcap_bytes(PACKETS)
    got, codes = records(write(tmp_path, "m.pcap.gz", gzip.compress(plain[:50]) + gzip.compress(plain[50:])))
    assert codes == [] and len(got) == 3


def test_truncated_gzip_yields_what_decompresses(tmp_path: Path) -> None:
    plain = pcap_bytes(PACKETS * 200)
    data = gzip.compress(plain)
    got, codes = records(write(tmp_path, "cut.pcap.gz", data[: len(data) * 2 // 3]))
    assert "COMPRESSED_STREAM_TRUNCATED" in codes
    assert 0 < len(got) < 600
    assert [d for *_, d in got] == [p for _, p in PACKETS * 200][: len(got)]


def test_capture_cut_mid_record_keeps_every_complete_record(tmp_path: Path) -> None:
    data = pcap_bytes(PACKETS)
    got, codes = records(write(tmp_path, "cut.pcap", data[:-30]))
    assert len(got) == 2 and codes == ["PCAP_TRUNCATED_RECORD"]


def test_damaged_record_header_is_resynchronised(tmp_path: Path) -> None:
    packets = [(1_300_000_000 + i, bytes([65 + i]) * (60 + i)) for i in range(20)]
    data = bytearray(pcap_bytes(packets))
    # Corrupt the caplen of record 6 (0-based 5): an impossible length.
    offset = 24 + sum(16 + len(p) for _, p in packets[:5])
    struct.pack_into("<I", data, offset + 8, 0x7FFFFFF0)
    got, codes = records(write(tmp_path, "damaged.pcap", bytes(data)))
    assert "PCAP_RESYNC" in codes
    payloads = [d for *_, d in got]
    assert payloads[:5] == [p for _, p in packets[:5]]
    assert payloads[5:] == [p for _, p in packets[6:]]  # only the damaged record is lost


# --------------------------------------------------------------------------- pcapng
def _block(order: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def _option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _shb(order: str) -> bytes:
    return _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def _idb(order: str, linktype: int, options: bytes = b"") -> bytes:
    return _block(order, 1, struct.pack(order + "HHI", linktype, 0, 65535) + options + (b"\0" * 4 if options else b""))


def _epb(order: str, iface: int, units: int, data: bytes) -> bytes:
    return _block(
        order, 6, struct.pack(order + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data
    )


def test_pcapng_sections_interfaces_resolutions_offsets_and_packet_block_kinds(tmp_path: Path) -> None:
    le, be = "<", ">"
    data = (
        _shb(le)
        + _idb(le, 1)  # default resolution: microseconds
        + _idb(le, 101, _option(le, 9, b"\x09") + _option(le, 14, struct.pack("<q", 100)))  # ns, +100 s
        + _epb(le, 0, 1_000_000, b"eth")
        + _epb(le, 1, 2_000_000_000, b"raw")
        + _block(le, 3, struct.pack("<I", 3) + b"spb")  # simple packet: interface 0, no time
        + _block(le, 2, struct.pack("<HHIIII", 0, 0, 0, 3_000_000, 2, 2) + b"pb")  # obsolete packet block
        + _block(le, 5, b"\0" * 12)  # interface statistics: not a packet
        + _shb(be)  # a new section, other byte order: interfaces start again
        + _idb(be, 113, _option(be, 9, b"\x83"))  # 2^-3 s units
        + _epb(be, 0, 16, b"sll")
    )
    got, codes = records(write(tmp_path, "c.pcapng", data))
    assert codes == []
    assert got == [
        (1, 1_000_000_000, 1, b"eth"),
        (2, 2_000_000_000 + 100_000_000_000, 101, b"raw"),
        (3, None, 1, b"spb"),
        (4, 3_000_000_000, 1, b"pb"),
        (5, 2_000_000_000, 113, b"sll"),
    ]


def test_pcapng_block_with_bad_length_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    le = "<"
    bad = bytearray(_epb(le, 0, 2, b"bad!"))
    struct.pack_into("<I", bad, 4, 0x7FFFFFF1)  # not a multiple of 4, too large
    data = _shb(le) + _idb(le, 1) + _epb(le, 0, 1, b"one") + bytes(bad) + _epb(le, 0, 3, b"three")
    got, codes = records(write(tmp_path, "c.pcapng", data))
    assert [d for *_, d in got] == [b"one", b"three"] and "PCAPNG_BAD_BLOCK" in codes


# --------------------------------------------------------------------------- wrong inputs
@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty file"), (b"hello world, not a capture\n", "68 65 6c 6c"), (gzip.compress(b"text"), "gzip")],
)
def test_a_file_that_is_no_capture_is_one_clear_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = write(tmp_path, "x.pcap", content)
    with pytest.raises(analyzer.InputFormatError) as info:
        analyzer.analyze([path])
    message = str(info.value)
    assert str(path) in message and expected in message and "\n" not in message
    assert "pcap or pcapng" in message


def test_missing_file_and_directory_are_access_errors(tmp_path: Path) -> None:
    with pytest.raises(analyzer.InputAccessError, match="no such file"):
        analyzer.analyze([tmp_path / "missing.pcap"])
    with pytest.raises(analyzer.InputAccessError, match="directory"):
        analyzer.analyze([tmp_path])


def test_errors_record_keeps_going_and_lists_failed_inputs(tmp_path: Path) -> None:
    good = write(tmp_path, "good.pcap", pcap_bytes(PACKETS))
    bad = write(tmp_path, "bad.pcap", b"nope")
    result = analyzer.analyze([bad, good], errors="record")
    assert list(result.inputs["status"]) == ["failed", "done"]
    assert "bad.pcap" in result.inputs["error"][0]
