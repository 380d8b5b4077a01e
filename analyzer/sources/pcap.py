"""Classic pcap: both byte orders, µs and ns resolution, Kuznetzov's modified records.

Strategy: read the stream in blocks, walk record headers with `struct.unpack_from` and
yield, per record, plain integers and the block the bytes live in; no object is built
per packet. A record cut by the end of a block is completed from the next block. A record
header that cannot be right (caplen past any snap length) is a damaged file, not the
end: the walker searches forward for the next offset where two consecutive record
headers are plausible, records `PCAP_RESYNC` with both offsets, and goes on.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from analyzer.anomalies import Recorder
from analyzer.sources.evidence import READ_BLOCK_BYTES, Evidence

# (byte order, nanosecond resolution, record header length)
PCAP_MAGICS: dict[bytes, tuple[str, bool, int]] = {
    b"\xd4\xc3\xb2\xa1": ("<", False, 16),
    b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16),
    b"\xa1\xb2\x3c\x4d": (">", True, 16),
    # Alexey Kuznetzov's patched libpcap: 8 more bytes per record (ifindex, protocol, type)
    b"\x34\xcd\xb2\xa1": ("<", False, 24),
    b"\xa1\xb2\xcd\x34": (">", False, 24),
}

# Wireshark refuses records larger than this (WTAP_MAX_PACKET_SIZE_STANDARD); a caplen
# past it means the record header is damaged.
MAX_RECORD_BYTES = 262_144
# When resynchronising, a candidate record is at most this far (capture time) from the
# last good one: one day keeps real captures and rejects random bytes.
RESYNC_MAX_TIME_JUMP_S = 86_400

# One record as the readers yield it:
# (frame number, ts in ns or None, link type, buffer, start, end, original length)
Record = tuple[int, int | None, int, bytes, int, int, int]


def is_pcap(head: bytes) -> bool:
    return head[:4] in PCAP_MAGICS


class _RecordFormat:
    """What a record header of this file looks like, and whether one is plausible."""

    def __init__(self, order: str, nanos: bool, header_len: int, snaplen: int) -> None:
        self.unpack = struct.Struct(order + "IIII").unpack_from
        self.header_len = header_len
        self.frac_max = 1_000_000_000 if nanos else 1_000_000
        self.max_caplen = max(snaplen, MAX_RECORD_BYTES) if 0 < snaplen <= 0x7FFFFFFF else MAX_RECORD_BYTES

    def damaged(self, caplen: int, frac: int) -> bool:
        return caplen > self.max_caplen or frac >= self.frac_max

    def plausible(self, buf: bytes, at: int, last_sec: int | None) -> bool:
        sec, frac, caplen, wirelen = self.unpack(buf, at)
        if self.damaged(caplen, frac) or caplen > wirelen:
            return False
        return last_sec is None or abs(sec - last_sec) <= RESYNC_MAX_TIME_JUMP_S

    def resync(self, buf: bytes, pos: int, last_sec: int | None, at_end: bool) -> int | None:
        """The first offset after pos where this record header and the next are plausible.

        None when the buffer ends before such a pair is found (the caller reads more,
        unless the file is at its end).
        """
        hlen = self.header_len
        for candidate in range(pos + 1, len(buf) - hlen + 1):
            if not self.plausible(buf, candidate, last_sec):
                continue
            following = candidate + hlen + self.unpack(buf, candidate)[2]
            if following == len(buf) and at_end:
                return candidate  # the last record of the file
            if following + hlen > len(buf):
                if at_end:
                    continue
                return None
            if self.plausible(buf, following, last_sec):
                return candidate
        return None


def read_pcap(evidence: Evidence, recorder: Recorder) -> Iterator[Record]:
    header = evidence.read(24)
    if len(header) < 24:
        recorder.add("PCAP_TRUNCATED_RECORD", "the file ends inside the pcap file header", offset=0)
        return
    order, nanos, header_len = PCAP_MAGICS[header[:4]]
    _vmaj, _vmin, _zone, _sigfigs, snaplen, network = struct.unpack_from(order + "HHiIII", header, 4)
    # The link-type field's upper bits may carry the FCS length (pcap spec, LinkType).
    linktype = network & 0xFFFF
    frac_ns = 1 if nanos else 1000
    fmt = _RecordFormat(order, nanos, header_len, snaplen)
    unpack = fmt.unpack
    max_caplen, frac_max = fmt.max_caplen, fmt.frac_max  # locals: checked per record

    buf = b""
    pos = 0
    base = 24  # file offset of buf[0]
    frame = 0
    last_sec: int | None = None
    at_end = False
    while True:
        if len(buf) - pos >= header_len:
            sec, frac, caplen, wirelen = unpack(buf, pos)
            if caplen > max_caplen or frac >= frac_max:
                bad = base + pos
                resumed = fmt.resync(buf, pos, last_sec, at_end)
                while resumed is None and not at_end:
                    more = evidence.read(READ_BLOCK_BYTES)
                    at_end = not more
                    base += pos
                    buf = buf[pos:] + more
                    pos = 0
                    resumed = fmt.resync(buf, pos, last_sec, at_end)
                where = f"impossible record header at byte {bad} (caplen {caplen})"
                if resumed is None:
                    recorder.add("PCAP_RESYNC", f"{where}; no plausible record after it", frame=frame + 1, offset=bad)
                    return
                recorder.add("PCAP_RESYNC", f"{where}; resumed at byte {base + resumed}", frame=frame + 1, offset=bad)
                pos = resumed
                continue
            end = pos + header_len + caplen
            if end <= len(buf):
                frame += 1
                last_sec = sec
                yield frame, sec * 1_000_000_000 + frac * frac_ns, linktype, buf, pos + header_len, end, wirelen
                pos = end
                continue
        if at_end:
            break
        more = evidence.read(READ_BLOCK_BYTES)
        if not more:
            at_end = True
            continue
        base += pos
        buf = buf[pos:] + more
        pos = 0
    left = len(buf) - pos
    if left:
        recorder.add(
            "PCAP_TRUNCATED_RECORD",
            f"the capture ends {left} bytes into record {frame + 1} (byte {base + pos}); "
            f"the {frame} records before it were read",
            frame=frame + 1,
            offset=base + pos,
        )
