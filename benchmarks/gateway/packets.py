"""Raw frames for the synthetic gateway capture: pcap records, Ethernet (optionally with an
802.1Q tag), IPv4, TCP, UDP and GTP-U, with valid IPv4, TCP and UDP checksums.

Speed matters more than generality here: a 2 GB capture has millions of frames, so each
direction of a flow precomputes everything that does not change per packet (the link
header, the constant words of both checksums) and a frame costs one `Struct.pack` per
layer plus one big-integer checksum of the payload. Nothing is built per packet but the
frame's bytes.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

# Classic pcap, little endian, microsecond timestamps, Ethernet: what tcpdump writes.
PCAP_MAGIC_US = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 262_144
PCAP_HEADER = struct.Struct("<IHHiIII")
RECORD = struct.Struct("<IIII")

ETHERTYPE_IPV4 = b"\x08\x00"
ETHERTYPE_VLAN = b"\x81\x00"
IPV4 = struct.Struct(">BBHHHBBH4s4s")
TCP = struct.Struct(">HHIIBBHHH")
UDP = struct.Struct(">HHHH")
GTPU = struct.Struct(">BBHI")
GTPU_PORT = 2152
PROTO_TCP, PROTO_UDP = 6, 17

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# Linux's SYN options without timestamps: MSS, SACK permitted, window scale 7. Data
# segments carry no options, so the header is the plain 20 bytes the fast paths expect.
SYN_OPTIONS_TEMPLATE = b"\x02\x04%s\x01\x01\x04\x02\x01\x03\x03\x07"

# The two routers on the Gi link: the GGSN's interface and the border router's.
MAC_GGSN = bytes.fromhex("001b2a3c4d5e")
MAC_BORDER = bytes.fromhex("0024c4a1b2c3")


def syn_options(mss: int) -> bytes:
    return SYN_OPTIONS_TEMPLATE % struct.pack(">H", mss)


def _words(data: bytes) -> int:
    """Sum of the 16-bit big-endian words of data (even length), not yet folded."""
    return sum(struct.unpack(f">{len(data) // 2}H", data))


def payload_sum(payload: bytes | memoryview) -> int:
    """The payload's contribution to a ones' complement sum, modulo 0xFFFF.

    Since 2**16 ≡ 1 (mod 0xFFFF), the sum of the 16-bit words of a byte string is
    congruent to the string read as one big integer: int.from_bytes does the whole payload
    in C, which is far cheaper than a Python loop over words. An odd trailing byte is the
    high byte of a last word padded with zero, hence the shift.
    """
    value = int.from_bytes(payload, "big")
    return (value << 8 if len(payload) & 1 else value) % 0xFFFF


def finish_checksum(total: int) -> int:
    """Internet checksum from an unfolded sum (of a non-empty, never all-zero input)."""
    rest = total % 0xFFFF
    return 0xFFFF - rest if rest else 0


def write_pcap_header(out: BinaryIO) -> int:
    header = PCAP_HEADER.pack(PCAP_MAGIC_US, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)
    out.write(header)
    return len(header)


class Link:
    """How a flow's frames are framed below its own IPv4 header: Ethernet, maybe a VLAN
    tag, maybe GTP-U inside an outer IPv4/UDP (one tunnel endpoint pair, a TEID per direction)."""

    __slots__ = ("ethernet", "gtp")

    def __init__(
        self,
        *,
        upstream: bool,
        vlan: int | None = None,
        gtp: tuple[bytes, bytes, int] | None = None,
    ) -> None:
        # Upstream frames (subscriber → Internet) leave the GGSN for the border router.
        src, dst = (MAC_GGSN, MAC_BORDER) if upstream else (MAC_BORDER, MAC_GGSN)
        tag = ETHERTYPE_VLAN + struct.pack(">H", vlan & 0x0FFF) if vlan is not None else b""
        self.ethernet = dst + src + tag + ETHERTYPE_IPV4
        self.gtp: _Gtp | None = _Gtp(*gtp) if gtp is not None else None

    def wrap(self, packet: list[bytes | memoryview], length: int) -> list[bytes | memoryview]:
        """Prepend the link (and tunnel) headers to an IPv4 packet given as pieces."""
        if self.gtp is None:
            return [self.ethernet, *packet]
        return [self.ethernet, *self.gtp.headers(length), *packet]


class _Gtp:
    """GTP-U G-PDU: outer IPv4 + UDP 2152 (checksum 0, allowed over IPv4) + 8-byte header."""

    __slots__ = ("const", "dst", "ip_id", "src", "teid")

    def __init__(self, src: bytes, dst: bytes, teid: int) -> None:
        self.src, self.dst, self.teid = src, dst, teid
        self.ip_id = teid & 0xFFFF
        self.const = _words(b"\x45\x00\x40\x00\x40\x11" + src + dst)

    def headers(self, inner_length: int) -> tuple[bytes, bytes, bytes]:
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        udp_length = 8 + 8 + inner_length
        total = 20 + udp_length
        checksum = finish_checksum(self.const + total + self.ip_id)
        ip = IPV4.pack(0x45, 0, total, self.ip_id, 0x4000, 64, PROTO_UDP, checksum, self.src, self.dst)
        # Flags 0x30: version 1, protocol type GTP, no optional fields; type 0xFF: G-PDU.
        return ip, UDP.pack(GTPU_PORT, GTPU_PORT, udp_length, 0), GTPU.pack(0x30, 0xFF, inner_length, self.teid)


class IpDir:
    """One direction between two IPv4 addresses: the IPv4 header with a running IP ID."""

    __slots__ = ("dst", "ip_const", "ip_id", "link", "proto", "src", "ttl")

    def __init__(self, src: bytes, dst: bytes, proto: int, ttl: int, ip_id: int, link: Link) -> None:
        self.src, self.dst, self.proto, self.ttl, self.ip_id, self.link = src, dst, proto, ttl, ip_id, link
        self.ip_const = _words(bytes((0x45, 0, 0x40, 0, ttl, proto)) + src + dst)

    def ip_header(self, total: int) -> bytes:
        self.ip_id = ip_id = (self.ip_id + 1) & 0xFFFF
        checksum = finish_checksum(self.ip_const + total + ip_id)
        return IPV4.pack(0x45, 0, total, ip_id, 0x4000, self.ttl, self.proto, checksum, self.src, self.dst)


class TcpDir(IpDir):
    """One direction of a TCP connection; `frame` builds a whole Ethernet frame."""

    __slots__ = ("dport", "sport", "tcp_const")

    def __init__(self, src: bytes, dst: bytes, sport: int, dport: int, ttl: int, ip_id: int, link: Link) -> None:
        super().__init__(src, dst, PROTO_TCP, ttl, ip_id, link)
        self.sport, self.dport = sport, dport
        # Pseudo-header (addresses, protocol) and the ports never change.
        self.tcp_const = _words(src + dst) + PROTO_TCP + sport + dport

    def frame(
        self, seq: int, ack: int, flags: int, window: int, payload: bytes | memoryview = b"", opts: bytes = b""
    ) -> bytes:
        header_len = 20 + len(opts)
        tcp_len = header_len + len(payload)
        off_flags = (header_len << 10) | flags  # data offset in words, in the high nibble
        total = (
            self.tcp_const
            + tcp_len
            + seq
            + ack
            + off_flags
            + window
            + (payload_sum(payload) if payload else 0)
            + (_words(opts) if opts else 0)
        )
        tcp = TCP.pack(self.sport, self.dport, seq, ack, header_len << 2, flags, window, finish_checksum(total), 0)
        length = 20 + tcp_len
        return b"".join(self.link.wrap([self.ip_header(length), tcp, opts, payload], length))


class UdpDir(IpDir):
    """One direction of a UDP exchange (DNS)."""

    __slots__ = ("dport", "sport", "udp_const")

    def __init__(self, src: bytes, dst: bytes, sport: int, dport: int, ttl: int, ip_id: int, link: Link) -> None:
        super().__init__(src, dst, PROTO_UDP, ttl, ip_id, link)
        self.sport, self.dport = sport, dport
        self.udp_const = _words(src + dst) + PROTO_UDP + sport + dport

    def frame(self, payload: bytes) -> bytes:
        udp_len = 8 + len(payload)
        # The UDP length is counted twice: once in the pseudo-header, once in the header.
        checksum = finish_checksum(self.udp_const + 2 * udp_len + payload_sum(payload)) or 0xFFFF
        length = 20 + udp_len
        udp = UDP.pack(self.sport, self.dport, udp_len, checksum)
        return b"".join(self.link.wrap([self.ip_header(length), udp, payload], length))
