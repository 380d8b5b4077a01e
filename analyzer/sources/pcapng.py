"""pcapng: every section and interface; EPB, SPB and the obsolete PB (draft-ietf-opsawg-pcapng).

Each Section Header Block starts a new byte order and a new interface list. Each
Interface Description Block gives its packets' link type, timestamp resolution
(`if_tsresol`, powers of 10 or of 2) and offset (`if_tsoffset`, seconds). Frames are
numbered across the whole file in block order, as Wireshark does. A block whose length
cannot be right is skipped by searching for the next plausible block (`PCAPNG_BAD_BLOCK`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from analyzer.anomalies import Recorder
from analyzer.sources.evidence import READ_BLOCK_BYTES, Evidence
from analyzer.sources.pcap import Record

SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002  # obsolete Packet Block
SPB = 0x00000003
EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
# Block types lineid knows; a resync only trusts a candidate block of one of these.
KNOWN_BLOCKS = frozenset({SHB, IDB, PB, SPB, EPB, 4, 5, 7, 8, 9, 10, 0x00000BAD, 0x40000BAD})
# Blocks larger than this are taken as damage (Wireshark's limit is 16 MiB, MAX_BLOCK_SIZE).
MAX_BLOCK_BYTES = 16 * 1024 * 1024


def is_pcapng(head: bytes) -> bool:
    return head[:4] == b"\x0a\x0d\x0d\x0a"


@dataclass(slots=True)
class Interface:
    linktype: int
    # A timestamp in interface units times `mul` and divided by `div` is nanoseconds.
    mul: int = 1000
    div: int = 1
    offset_ns: int = 0

    def ns(self, units: int) -> int:
        return units * self.mul // self.div + self.offset_ns


def _parse_idb(body: bytes, order: str) -> Interface:
    linktype = struct.unpack_from(order + "H", body, 0)[0]
    iface = Interface(linktype)
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, pos)
        value = body[pos + 4 : pos + 4 + length]
        if code == 0:
            break
        if code == OPT_IF_TSRESOL and length >= 1:
            resol = value[0]
            exponent = resol & 0x7F
            if resol & 0x80:  # units of 2^-exponent seconds
                iface.mul, iface.div = 1_000_000_000, 1 << exponent
            elif exponent <= 9:
                iface.mul, iface.div = 10 ** (9 - exponent), 1
            else:
                iface.mul, iface.div = 1, 10 ** (exponent - 9)
        elif code == OPT_IF_TSOFFSET and length >= 8:
            iface.offset_ns = struct.unpack_from(order + "q", value, 0)[0] * 1_000_000_000
        pos += 4 + length + (-length % 4)
    return iface


def read_pcapng(evidence: Evidence, recorder: Recorder) -> Iterator[Record]:
    order = "<"
    interfaces: list[Interface] = []
    buf = b""
    pos = 0
    base = 0
    frame = 0
    at_end = False
    while True:
        if len(buf) - pos >= 12:
            btype, blen = struct.unpack_from(order + "II", buf, pos)
            if btype == SHB:
                # The byte order of a section is given by its own SHB.
                magic = buf[pos + 8 : pos + 12]
                order = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">" if magic == b"\x1a\x2b\x3c\x4d" else order
                blen = struct.unpack_from(order + "I", buf, pos + 4)[0]
            if blen < 12 or blen % 4 or blen > MAX_BLOCK_BYTES:
                resumed, buf, pos, base, at_end = _resync(evidence, buf, pos, base, order, at_end)
                detail = f"block of type {btype:#x} at byte {base + pos} has impossible length {blen}"
                if resumed is None:
                    recorder.add("PCAPNG_BAD_BLOCK", detail + "; no plausible block after it", offset=base + pos)
                    return
                recorder.add("PCAPNG_BAD_BLOCK", detail + f"; resumed at byte {base + resumed}", offset=base + pos)
                pos = resumed
                continue
            end = pos + blen
            if end <= len(buf):
                if struct.unpack_from(order + "I", buf, end - 4)[0] != blen:
                    resumed, buf, pos, base, at_end = _resync(evidence, buf, pos, base, order, at_end)
                    detail = f"block at byte {base + pos}: trailing length differs from leading length {blen}"
                    if resumed is None:
                        recorder.add("PCAPNG_BAD_BLOCK", detail + "; no plausible block after it", offset=base + pos)
                        return
                    recorder.add("PCAPNG_BAD_BLOCK", detail + f"; resumed at byte {base + resumed}", offset=base + pos)
                    pos = resumed
                    continue
                if btype == EPB:
                    if_id, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(order + "IIIII", buf, pos + 8)
                    start = pos + 28
                    frame += 1
                    if if_id >= len(interfaces):
                        recorder.add("PCAPNG_UNKNOWN_INTERFACE", f"interface {if_id}", frame=frame, offset=base + pos)
                    else:
                        iface = interfaces[if_id]
                        stop = min(start + caplen, end - 4)
                        yield frame, iface.ns((ts_hi << 32) | ts_lo), iface.linktype, buf, start, stop, wirelen
                elif btype == SPB:
                    frame += 1
                    wirelen = struct.unpack_from(order + "I", buf, pos + 8)[0]
                    if not interfaces:
                        recorder.add("PCAPNG_UNKNOWN_INTERFACE", "simple packet without an interface", frame=frame)
                    else:
                        # An SPB has no timestamp: ts stays unknown rather than invented.
                        start = pos + 12
                        stop = min(start + wirelen, end - 4)
                        yield frame, None, interfaces[0].linktype, buf, start, stop, wirelen
                elif btype == PB:
                    if_id, _drops, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(order + "HHIIII", buf, pos + 8)
                    frame += 1
                    if if_id >= len(interfaces):
                        recorder.add("PCAPNG_UNKNOWN_INTERFACE", f"interface {if_id}", frame=frame, offset=base + pos)
                    else:
                        iface = interfaces[if_id]
                        start = pos + 28
                        stop = min(start + caplen, end - 4)
                        yield frame, iface.ns((ts_hi << 32) | ts_lo), iface.linktype, buf, start, stop, wirelen
                elif btype == IDB:
                    interfaces.append(_parse_idb(buf[pos + 8 : end - 4], order))
                elif btype == SHB:
                    interfaces = []
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
    if len(buf) - pos:
        recorder.add(
            "PCAPNG_TRUNCATED_BLOCK",
            f"the capture ends {len(buf) - pos} bytes into a block (byte {base + pos}); "
            f"the {frame} packets before it were read",
            frame=frame + 1,
            offset=base + pos,
        )


def _resync(
    evidence: Evidence, buf: bytes, pos: int, base: int, order: str, at_end: bool
) -> tuple[int | None, bytes, int, int, bool]:
    """Find the next offset holding a known block type whose two lengths agree."""
    while True:
        for candidate in range(pos + 4, len(buf) - 11, 4):
            btype, blen = struct.unpack_from(order + "II", buf, candidate)
            if btype not in KNOWN_BLOCKS or blen < 12 or blen % 4 or blen > MAX_BLOCK_BYTES:
                continue
            if candidate + blen > len(buf):
                if at_end:
                    continue
                break  # read more, then look again from here
            if struct.unpack_from(order + "I", buf, candidate + blen - 4)[0] == blen:
                return candidate, buf, pos, base, at_end
        else:
            if at_end:
                return None, buf, pos, base, at_end
        more = evidence.read(READ_BLOCK_BYTES)
        if not more:
            at_end = True
        base += pos
        buf = buf[pos:] + more
        pos = 0
