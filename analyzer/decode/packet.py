"""From a link-layer frame to a TCP segment: every layout lineid decodes, at fixed offsets.

This is the general (slow) path; `ingest.capture` decodes untagged Ethernet/IPv4/TCP
inline and calls `PacketDecoder.tcp` for everything else. The result is a plain tuple,
`Segment`: IP addresses as bytes, the buffer holding the TCP header and where it starts
and ends, and the path (VLAN tags, innermost tunnel) the packet took. Layouts lineid does
not decode are counted and reported once per kind at the end, never raised.

Layouts: Ethernet (with 802.3/SNAP), 802.1Q/802.1ad/QinQ at any depth, MPLS (with
pseudowire control word), PPPoE session, PPP, Linux SLL and SLL2, raw IP (link types 12,
14, 101, 228, 229), BSD NULL and LOOP, NFLOG; IPv4 and IPv6 (extension headers,
fragments), IP-in-IP; GTP-U (UDP 2152 either side, extension headers), VXLAN (UDP 4789),
GRE (keys, PPTP, transparent Ethernet, ERSPAN II/III), Teredo (UDP 3544).
"""

from __future__ import annotations

import struct
from collections import Counter

from analyzer.anomalies import Recorder
from analyzer.decode.fragments import FragmentReassembler
from analyzer.limits import Limits

# (src ip, dst ip, buffer, tcp header start, tcp segment end, vlan, inner vlan, tunnel, tunnel id)
Segment = tuple[bytes, bytes, bytes, int, int, int | None, int | None, str | None, int | None]

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW_BSD = (12, 14)  # DLT_RAW as OpenBSD and others number it in pcap files
LINKTYPE_PPP_HDLC = 50
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_NFLOG = 239
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100, 0x9200, 0x9300})
ETH_MPLS = frozenset({0x8847, 0x8848})
ETH_PPPOE_SESSION = 0x8864
# Ethertypes that are not IP and that lineid has no reason to count as unsupported.
ETH_IGNORED = frozenset({0x0806, 0x8035, 0x88CC, 0x8863, 0x888E, 0x8809, 0x88F7, 0x9000})
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47
# IPv6 extension headers that are followed by another header (RFC 8200 §4, RFC 7045).
IPV6_EXTENSIONS = frozenset({0, 43, 60, 135, 139, 140, 51})
IPV6_FRAGMENT = 44

UDP_GTPU = 2152
UDP_VXLAN = 4789
UDP_TEREDO = 3544
GTP_GPDU = 0xFF
GRE_TRANSPARENT_ETHERNET = 0x6558
GRE_ERSPAN_II = 0x88BE
GRE_ERSPAN_III = 0x22EB
GRE_PPP = 0x880B

# Tunnels inside tunnels beyond this depth are treated as an unsupported layout; it stops
# a crafted packet from recursing without end.
MAX_ENCAPSULATION_DEPTH = 8

_u16 = struct.Struct(">H").unpack_from
_u32 = struct.Struct(">I").unpack_from


class PacketDecoder:
    """Decodes one frame at a time; holds only fragment state and counters."""

    def __init__(self, recorder: Recorder, limits: Limits) -> None:
        self.recorder = recorder
        self.unsupported: Counter[tuple[str, str]] = Counter()
        self.first_frame: dict[tuple[str, str], int] = {}
        self.fragments = FragmentReassembler(recorder, limits.max_fragment_datagrams, limits.fragment_timeout_s)
        self._frame = 0
        self._ts: int | None = 0

    # ------------------------------------------------------------------ bookkeeping
    def _count(self, what: str, code: str = "LAYOUT_UNSUPPORTED") -> None:
        key = (code, what)
        self.unsupported[key] += 1
        self.first_frame.setdefault(key, self._frame)

    def finish(self) -> None:
        """Report the counted layouts, one anomaly per kind."""
        for (code, what), count in sorted(self.unsupported.items()):
            first = self.first_frame[(code, what)]
            self.recorder.add(code, f"{what}: {count} packet(s), first at frame {first}", frame=first)
        self.fragments.finish()

    # ------------------------------------------------------------------ entry point
    def tcp(self, linktype: int, buf: bytes, start: int, end: int, frame: int, ts: int | None) -> Segment | None:
        """The TCP segment inside a frame, or None (not TCP, or not decodable)."""
        self._frame = frame
        self._ts = ts
        try:
            return self._link(linktype, buf, start, end)
        except (IndexError, struct.error):
            self._count("headers cut by the snap length", "PACKET_TRUNCATED")
            return None

    def _link(self, linktype: int, buf: bytes, p: int, end: int) -> Segment | None:
        if linktype == LINKTYPE_ETHERNET:
            return self._ethernet(buf, p, end, None, None, None, None, 0)
        if linktype in (LINKTYPE_RAW, *LINKTYPE_RAW_BSD, LINKTYPE_IPV4, LINKTYPE_IPV6):
            return self._ip(buf, p, end, None, None, None, None, 0)
        if linktype == LINKTYPE_LINUX_SLL:
            return self._ethertype(_u16(buf, p + 14)[0], buf, p + 16, end, None, None, None, None, 0)
        if linktype == LINKTYPE_LINUX_SLL2:
            return self._ethertype(_u16(buf, p)[0], buf, p + 20, end, None, None, None, None, 0)
        if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
            family = struct.unpack_from(">I" if linktype == LINKTYPE_LOOP else "<I", buf, p)[0]
            if family > 0xFFFF:  # written in the other byte order than this reader guessed
                family = struct.unpack_from(">I", buf, p)[0] if linktype == LINKTYPE_NULL else family
            # AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (the BSDs).
            if family in (2, 10, 24, 28, 30):
                return self._ip(buf, p + 4, end, None, None, None, None, 0)
            self._count(f"loopback address family {family}")
            return None
        if linktype == LINKTYPE_NFLOG:
            return self._nflog(buf, p, end)
        if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
            return self._ppp(buf, p, end, None, None, None, None, 0)
        self._count(f"link type {linktype}", "LINK_TYPE_UNSUPPORTED")
        return None

    # ------------------------------------------------------------------ link layers
    def _ethernet(
        self,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        etype = _u16(buf, p + 12)[0]
        p += 14
        if etype <= 1500:  # 802.3 length field: only LLC/SNAP can carry IP
            if buf[p : p + 3] == b"\xaa\xaa\x03":
                return self._ethertype(_u16(buf, p + 6)[0], buf, p + 8, end, vlan, inner, tunnel, tid, depth)
            return None
        return self._ethertype(etype, buf, p, end, vlan, inner, tunnel, tid, depth)

    def _ethertype(
        self,
        etype: int,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        while etype in ETH_VLAN_TYPES:
            tag = _u16(buf, p)[0] & 0x0FFF
            if vlan is None:
                vlan = tag
            else:
                inner = tag  # with three or more tags, the innermost is kept here
            etype = _u16(buf, p + 2)[0]
            p += 4
        if etype in (ETH_IPV4, ETH_IPV6):
            return self._ip(buf, p, end, vlan, inner, tunnel, tid, depth)
        if etype in ETH_MPLS:
            return self._mpls(buf, p, end, vlan, inner, tunnel, tid, depth)
        if etype == ETH_PPPOE_SESSION:
            return self._ppp(buf, p + 6, end, vlan, inner, tunnel, tid, depth)
        if etype not in ETH_IGNORED:
            self._count(f"ethertype {etype:#06x}")
        return None

    def _mpls(
        self,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        while not buf[p + 2] & 0x01:  # bottom-of-stack bit
            p += 4
        p += 4
        nibble = buf[p] >> 4
        if nibble in (4, 6):
            return self._ip(buf, p, end, vlan, inner, tunnel, tid, depth)
        if nibble == 0:  # Ethernet pseudowire with a control word (RFC 4448)
            return self._ethernet(buf, p + 4, end, vlan, inner, tunnel, tid, depth + 1)
        self._count("MPLS payload")
        return None

    def _ppp(
        self,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        if buf[p] == 0xFF and buf[p + 1] == 0x03:  # HDLC address and control
            p += 2
        if buf[p] & 0x01:  # protocol field compressed to one byte (RFC 1661 §6.5)
            proto = buf[p]
            p += 1
        else:
            proto = _u16(buf, p)[0]
            p += 2
        if proto in (PPP_IPV4, PPP_IPV6):
            return self._ip(buf, p, end, vlan, inner, tunnel, tid, depth)
        if proto < 0xC000:  # LCP, PAP, CHAP and friends are control traffic, not layouts
            self._count(f"PPP protocol {proto:#06x}")
        return None

    def _nflog(self, buf: bytes, p: int, end: int) -> Segment | None:
        # Header: family, version, resource id; then TLVs with host-order (little-endian
        # on every capture seen) length and type; NFULA_PAYLOAD (9) holds the IP packet.
        q = p + 4
        while q + 4 <= end:
            length, tlv_type = struct.unpack_from("<HH", buf, q)
            if length < 4:
                break
            if tlv_type == 9:
                return self._ip(buf, q + 4, min(q + length, end), None, None, None, None, 0)
            q += (length + 3) & ~3
        self._count("NFLOG without payload")
        return None

    # ------------------------------------------------------------------ network layer
    def _ip(
        self,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        version = buf[p] >> 4
        if version == 4:
            ihl = (buf[p] & 0x0F) * 4
            total = _u16(buf, p + 2)[0]
            if ihl < 20 or total < ihl:
                self._count("IPv4 header length or total length impossible", "IP_BAD_HEADER")
                return None
            stop = p + total
            if stop > end:
                self._count("IPv4 packets cut by the snap length", "PACKET_TRUNCATED")
                stop = end
            proto = buf[p + 9]
            src = buf[p + 12 : p + 16]
            dst = buf[p + 16 : p + 20]
            frag = _u16(buf, p + 6)[0]
            if frag & 0x3FFF:  # MF set or a non-zero offset
                key = (src, dst, _u16(buf, p + 4)[0], proto)
                whole = self.fragments.add(
                    key, (frag & 0x1FFF) * 8, buf[p + ihl : stop], bool(frag & 0x2000), self._ts, self._frame
                )
                if whole is None:
                    return None
                return self._transport(proto, src, dst, whole, 0, len(whole), vlan, inner, tunnel, tid, depth)
            return self._transport(proto, src, dst, buf, p + ihl, stop, vlan, inner, tunnel, tid, depth)
        if version == 6:
            payload_len = _u16(buf, p + 4)[0]
            proto = buf[p + 6]
            src = buf[p + 8 : p + 24]
            dst = buf[p + 24 : p + 40]
            q = p + 40
            stop = q + payload_len if payload_len else end  # 0 means a jumbogram
            if stop > end:
                self._count("IPv6 packets cut by the snap length", "PACKET_TRUNCATED")
                stop = end
            while proto in IPV6_EXTENSIONS:
                nxt = buf[q]
                q += (buf[q + 1] + 2) * 4 if proto == 51 else (buf[q + 1] + 1) * 8
                proto = nxt
            if proto == IPV6_FRAGMENT:
                nxt = buf[q]
                off_flags = _u16(buf, q + 2)[0]
                ident = _u32(buf, q + 4)[0]
                whole = self.fragments.add(
                    (src, dst, ident, -1),
                    off_flags & 0xFFF8,
                    buf[q + 8 : stop],
                    bool(off_flags & 1),
                    self._ts,
                    self._frame,
                )
                if whole is None:
                    return None
                # The reassembled payload may itself begin with more extension headers.
                proto, q = nxt, 0
                while proto in IPV6_EXTENSIONS:
                    nxt = whole[q]
                    q += (whole[q + 1] + 2) * 4 if proto == 51 else (whole[q + 1] + 1) * 8
                    proto = nxt
                return self._transport(proto, src, dst, whole, q, len(whole), vlan, inner, tunnel, tid, depth)
            return self._transport(proto, src, dst, buf, q, stop, vlan, inner, tunnel, tid, depth)
        self._count(f"IP version {version}", "IP_BAD_HEADER")
        return None

    def _transport(
        self,
        proto: int,
        src: bytes,
        dst: bytes,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        if proto == IPPROTO_TCP:
            if end - p < 20:
                self._count("TCP headers cut by the snap length", "PACKET_TRUNCATED")
                return None
            return src, dst, buf, p, end, vlan, inner, tunnel, tid
        if depth >= MAX_ENCAPSULATION_DEPTH:
            self._count("encapsulation deeper than MAX_ENCAPSULATION_DEPTH")
            return None
        if proto == IPPROTO_UDP:
            return self._udp(buf, p, end, vlan, inner, tunnel, tid, depth)
        if proto in (IPPROTO_IPIP, IPPROTO_IPV6):
            return self._ip(buf, p, end, vlan, inner, "ipip", None, depth + 1)
        if proto == IPPROTO_GRE:
            return self._gre(buf, p, end, vlan, inner, depth)
        return None  # ICMP, ESP, SCTP…: decoded enough to know they carry no HTTP

    # ------------------------------------------------------------------ tunnels
    def _udp(
        self,
        buf: bytes,
        p: int,
        end: int,
        vlan: int | None,
        inner: int | None,
        tunnel: str | None,
        tid: int | None,
        depth: int,
    ) -> Segment | None:
        sport, dport = struct.unpack_from(">HH", buf, p)
        q = p + 8
        if sport == UDP_GTPU or dport == UDP_GTPU:
            return self._gtpu(buf, q, end, vlan, inner, depth)
        if dport == UDP_VXLAN:
            if end - q < 16 or not buf[q] & 0x08:
                self._count("VXLAN header without the I flag", "TUNNEL_MALFORMED")
                return None
            vni = _u32(buf, q + 4)[0] >> 8
            return self._ethernet(buf, q + 8, end, vlan, inner, "vxlan", vni, depth + 1)
        if sport == UDP_TEREDO or dport == UDP_TEREDO:
            return self._teredo(buf, q, end, vlan, inner, depth)
        return None

    def _gtpu(self, buf: bytes, q: int, end: int, vlan: int | None, inner: int | None, depth: int) -> Segment | None:
        flags = buf[q]
        if flags >> 5 != 1 or not flags & 0x10:  # version 1, protocol type GTP (not GTP')
            self._count("GTP-U version or protocol type", "TUNNEL_MALFORMED")
            return None
        if buf[q + 1] != GTP_GPDU:
            return None  # echo, error indication, end marker: signalling, no user data
        teid = _u32(buf, q + 4)[0]
        r = q + 8
        if flags & 0x07:  # E, S or PN: sequence number, N-PDU number, next extension type
            next_ext = buf[r + 3]
            r += 4
            while next_ext:
                units = buf[r]
                if units == 0:
                    self._count("GTP-U extension header of length 0", "TUNNEL_MALFORMED")
                    return None
                next_ext = buf[r + units * 4 - 1]
                r += units * 4
        if r >= end or buf[r] >> 4 not in (4, 6):
            self._count("GTP-U payload is not IP", "TUNNEL_MALFORMED")
            return None
        return self._ip(buf, r, end, vlan, inner, "gtpu", teid, depth + 1)

    def _teredo(self, buf: bytes, q: int, end: int, vlan: int | None, inner: int | None, depth: int) -> Segment | None:
        # RFC 4380 §5.1.1: optional authentication (0x0001) and origin indication (0x0000)
        # headers precede the IPv6 packet.
        if _u16(buf, q)[0] == 0x0001:
            q += 13 + buf[q + 2] + buf[q + 3]
        if _u16(buf, q)[0] == 0x0000:
            q += 8
        if q >= end or buf[q] >> 4 != 6:
            return None  # Teredo bubbles and qualification traffic
        return self._ip(buf, q, end, vlan, inner, "teredo", None, depth + 1)

    def _gre(self, buf: bytes, p: int, end: int, vlan: int | None, inner: int | None, depth: int) -> Segment | None:
        flags, proto = struct.unpack_from(">HH", buf, p)
        q = p + 4
        key = None
        if flags & 0x8000:  # checksum present (and the reserved word after it)
            q += 4
        if flags & 0x2000:
            key = _u32(buf, q)[0]
            q += 4
        if flags & 0x1000:
            q += 4
        if flags & 0x0007 == 1 and flags & 0x0080:  # PPTP enhanced GRE: acknowledgment
            q += 4
        if proto in (ETH_IPV4, ETH_IPV6):
            return self._ip(buf, q, end, vlan, inner, "gre", key, depth + 1)
        if proto == GRE_TRANSPARENT_ETHERNET:
            return self._ethernet(buf, q, end, vlan, inner, "gre", key, depth + 1)
        if proto == GRE_ERSPAN_II:
            # Type II carries an 8-byte ERSPAN header when the sequence bit is set; type I
            # (no sequence number) has none.
            if flags & 0x1000:
                session = _u16(buf, q + 2)[0] & 0x03FF
                return self._ethernet(buf, q + 8, end, vlan, inner, "erspan", session, depth + 1)
            return self._ethernet(buf, q, end, vlan, inner, "erspan", None, depth + 1)
        if proto == GRE_ERSPAN_III:
            session = _u16(buf, q + 2)[0] & 0x03FF
            optional = 8 if buf[q + 11] & 0x01 else 0
            return self._ethernet(buf, q + 12 + optional, end, vlan, inner, "erspan", session, depth + 1)
        if proto == GRE_PPP:
            return self._ppp(buf, q, end, vlan, inner, "gre", key, depth + 1)
        self._count(f"GRE protocol {proto:#06x}")
        return None
