"""The capture fast path: records → TCP segments → connections → HTTP messages.

Strategy: one loop over the reader's records, with every name it uses bound to a local.
Untagged Ethernet/IPv4/TCP, the bulk of a gateway capture, is decoded inline at fixed
offsets; everything else goes through `PacketDecoder`. A segment is then handled in one
of three ways, cheapest first:

* a pure ACK is dropped at once, unless its flow waits for an ACK to declare a gap;
* data that continues its stream inside a body the parser does not keep (`skip`) only
  moves counters: no copy, no call;
* everything else (message heads, kept body prefixes, SYN/FIN/RST, new flows, out-of-order
  data) goes to `FlowTable.segment` and the `Connection`.

No object is built per packet beyond the flow key (a bytes slice) and the payload slice
of segments that take the slow path. Flows that are not HTTP are remembered only as a
dropped key; idle and finished flows are flushed every `SWEEP_EVERY_FRAMES` frames by
capture time, so memory depends on live flows, never on capture size.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

from analyzer.anomalies import Recorder
from analyzer.decode.packet import PacketDecoder
from analyzer.ingest.connection import Connection, Half
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.sources.pcap import Record

# Idle flows are looked for every this many frames (a power of two: the test is a mask),
# when capture time has moved on by SWEEP_MIN_INTERVAL_S since the last look.
SWEEP_EVERY_FRAMES = 1 << 16
SWEEP_MIN_INTERVAL_S = 10
# A finished connection (RST, or both FINs) is kept this long so that its late ACKs and
# retransmissions are recognised and dropped (Zeek's tcp_close_delay is 5 s).
CLOSED_LINGER_S = 5
# When the live-flow limit is hit, this share of the least recently seen flows is flushed
# at once, so the (sorting) eviction is rare.
EVICT_FRACTION = 0.1

_u32 = struct.Struct(">I").unpack_from
_ports = struct.Struct(">HH").unpack_from


class FlowTable:
    """Directional flow key (src ip, dst ip, src port, dst port as bytes) → Half."""

    def __init__(
        self,
        *,
        source: str,
        source_index: int,
        source_kind: str,
        limits: Limits,
        recorder: Recorder,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.halves: dict[bytes, Half] = {}
        # Keys whose peer waits for an ACK to declare a gap (segments are held): checked
        # only for pure ACKs, and only while it is not empty.
        self.ack_watch: dict[bytes, Half] = {}
        self.source, self.source_index, self.source_kind = source, source_index, source_kind
        self.limits = limits
        self.recorder = recorder
        self.shard = shard
        self.out: list[HttpMessage] = []
        self.last_sweep: int | None = None

    def owns(self, key: bytes, reverse: bytes) -> bool:
        if self.shard is None:
            return True
        index, count = self.shard
        return zlib.crc32(min(key, reverse)) % count == index

    def segment(
        self,
        key: bytes,
        src: bytes,
        dst: bytes,
        buf: bytes,
        tcp: int,
        end: int,
        frame: int,
        ts: int | None,
        path: tuple[int | None, int | None, str | None, int | None] | None,
    ) -> None:
        """One TCP segment that the fast path did not absorb."""
        sport, dport = _ports(buf, tcp)
        seq, ack = _u32(buf, tcp + 4)[0], _u32(buf, tcp + 8)[0]
        flags = buf[tcp + 13]
        data_start = tcp + (buf[tcp + 12] >> 4) * 4
        data = buf[data_start:end] if data_start < end else b""
        half = self.halves.get(key)
        if half is not None and half.conn.foreign:
            return
        if half is not None and flags & 0x02 and not flags & 0x10:
            conn = half.conn
            if conn.closed or (conn.ignored and half.next_seq != (seq + 1) & 0xFFFFFFFF):
                if conn.closed and not conn.ignored:
                    self.recorder.add(
                        "TCP_PORT_REUSE",
                        f"new SYN after the flow ended (first frame {conn.first_frame})",
                        frame=frame,
                        flow_id=conn.flow_id,
                    )
                self._drop(conn)
                half = None
        if half is None:
            if not data and not flags & 0x02:
                return  # a lone ACK/FIN/RST of a flow not tracked: nothing to learn
            reverse = dst + src + buf[tcp + 2 : tcp + 4] + buf[tcp : tcp + 2]
            foreign = not self.owns(key, reverse)
            half = self._open(key, reverse, src, dst, sport, dport, frame, flags, foreign)
            if foreign:
                return
        if path is not None and half.endpoints is None:
            half.vlan, half.inner_vlan, half.tunnel, half.tunnel_id = path
        conn = half.conn
        if conn.ignored:
            return
        had_pending = bool(half.pending)
        conn.segment(half, seq, ack, flags, data, frame, ts)
        other = conn.other(half)
        # Keep ack_watch in step with which halves hold out-of-order data.
        if bool(half.pending) != had_pending or half.pending:
            if half.pending and half.parser is not None:
                self.ack_watch[other.key] = half
            else:
                self.ack_watch.pop(other.key, None)
        if not other.pending:
            self.ack_watch.pop(half.key, None)

    def pure_ack(self, key: bytes, buf: bytes, tcp: int, frame: int, ts: int | None) -> None:
        half = self.ack_watch.get(key)
        if half is None:
            return
        half.conn.acknowledged(half, _u32(buf, tcp + 8)[0], frame, ts)
        if not half.pending:
            del self.ack_watch[key]

    def _open(
        self,
        key: bytes,
        reverse: bytes,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        frame: int,
        flags: int,
        foreign: bool,
    ) -> Half:
        if len(self.halves) >= 2 * self.limits.max_live_flows:
            self._evict_oldest(frame)
        conn = Connection(
            key=key,
            reverse=reverse,
            src=src,
            dst=dst,
            sport=sport,
            dport=dport,
            frame=frame,
            source=self.source,
            source_index=self.source_index,
            source_kind=self.source_kind,
            limits=self.limits,
            recorder_add=self.recorder.add,
            out=self.out,
        )
        if foreign:
            # Another shard (--jobs) handles it: remember the key so the hot loop drops
            # its packets at once.
            conn.foreign = True
            conn.ignore()
        elif not flags & 0x02:
            self.recorder.add("TCP_MIDSTREAM", "first segment without SYN", frame=frame, flow_id=conn.flow_id)
        self.halves[key] = conn.a
        self.halves[reverse] = conn.b
        return conn.a

    def _drop(self, conn: Connection) -> None:
        for half in (conn.a, conn.b):
            if self.halves.get(half.key) is half:
                del self.halves[half.key]
            self.ack_watch.pop(half.key, None)

    def close(self, conn: Connection, frame: int) -> None:
        conn.finish(frame)
        self._drop(conn)

    def sweep(self, now: int | None, frame: int) -> None:
        """Flush flows idle longer than the timeout, and finished ones past their linger."""
        if now is None or (self.last_sweep is not None and now - self.last_sweep < SWEEP_MIN_INTERVAL_S * 10**9):
            return
        self.last_sweep = now
        idle_horizon = now - self.limits.flow_idle_timeout_s * 1_000_000_000
        closed_horizon = now - CLOSED_LINGER_S * 1_000_000_000
        idle = {
            h.conn
            for h in self.halves.values()
            if max(h.conn.a.last_ts, h.conn.b.last_ts) < (closed_horizon if h.conn.closed else idle_horizon)
        }
        for conn in sorted(idle, key=lambda c: c.first_frame):
            self.close(conn, frame)

    def _evict_oldest(self, frame: int) -> None:
        conns = sorted(
            {h.conn for h in self.halves.values()}, key=lambda c: (max(c.a.last_ts, c.b.last_ts), c.first_frame)
        )
        victims = conns[: max(1, int(len(conns) * EVICT_FRACTION))]
        self.recorder.add(
            "FLOW_EVICTED",
            f"{len(victims)} least recently seen flow(s) flushed at the "
            f"max_live_flows limit ({self.limits.max_live_flows})",
            frame=frame,
        )
        for conn in victims:
            self.close(conn, frame)

    def finish(self, frame: int) -> None:
        for conn in sorted({h.conn for h in self.halves.values()}, key=lambda c: c.first_frame):
            self.close(conn, frame)


def messages_from_records(records: Iterable[Record], table: FlowTable, decoder: PacketDecoder) -> Iterator[HttpMessage]:
    """The hot loop. Yields messages as they complete; flushes every flow at the end."""
    halves_get = table.halves.get
    ack_watch = table.ack_watch
    segment = table.segment
    out = table.out
    decode = decoder.tcp
    sweep_mask = SWEEP_EVERY_FRAMES - 1
    frame = 0
    last_ts: int | None = None
    for frame, ts, linktype, buf, s, e, _wirelen in records:
        if ts is not None:
            last_ts = ts
        if not frame & sweep_mask:
            table.sweep(last_ts, frame)
            if out:
                yield from out
                out.clear()
        # ---- inline: untagged Ethernet, IPv4 without options or fragments, TCP
        if (
            linktype == 1
            and e - s >= 34  # a shorter frame (the last of a file) ends before the bytes read here
            and buf[s + 12] == 8
            and buf[s + 13] == 0
            and buf[s + 14] == 0x45
            and buf[s + 23] == 6
            and not (buf[s + 20] & 0x3F or buf[s + 21])
        ):
            ip = s + 14
            t = ip + 20
            end = ip + ((buf[ip + 2] << 8) | buf[ip + 3])
            if end > e:
                end = e
            if t + 20 > end:
                decode(linktype, buf, s, e, frame, ts)  # let the decoder count the damage
                continue
            key = buf[ip + 12 : ip + 24]
            path = None
            src = dst = b""
        else:
            seg = decode(linktype, buf, s, e, frame, ts)
            if seg is None:
                continue
            src, dst, buf, t, end, vlan, inner_vlan, tunnel, tunnel_id = seg
            key = src + dst + buf[t : t + 4]
            path = (vlan, inner_vlan, tunnel, tunnel_id) if vlan is not None or tunnel is not None else None
        flags = buf[t + 13]
        payload = t + (buf[t + 12] >> 4) * 4
        plen = end - payload
        half = halves_get(key)
        if half is not None:
            parser = half.parser
            if parser is None:
                half.last_ts = ts or half.last_ts
                if not flags & 0x02:
                    continue  # not HTTP, or finished: only a new SYN matters
            elif plen > 0 and not flags & 0x07 and not half.pending:
                seq = _u32(buf, t + 4)[0]
                if seq == half.next_seq:
                    # In-order body bytes: dropped (`skip`) or handed straight to the
                    # parser (`direct`), without reassembly bookkeeping or buffering.
                    if plen < parser.skip or plen < parser.direct:
                        if plen < parser.skip:
                            parser.skip -= plen
                            parser.remaining -= plen
                        else:
                            parser.receive_body(buf[payload:end])
                        half.next_seq = (seq + plen) & 0xFFFFFFFF
                        half.next_off += plen
                        half.last_ts = ts or half.last_ts
                        continue
                    # Other in-order data is delivered at once, unless its ACK is awaited
                    # (the peer holds out-of-order data), its path is not recorded yet, or
                    # a FIN came first: those take the general path.
                    if (path is None or half.endpoints is not None) and half.fin_off is None and key not in ack_watch:
                        half.conn.in_order(half, buf[payload:end], frame, ts)
                        if out:
                            yield from out
                            out.clear()
                        continue
            elif plen <= 0 and not flags & 0x07:
                if ack_watch:
                    table.pure_ack(key, buf, t, frame, ts)
                continue
        elif plen <= 0 and not flags & 0x02:
            continue
        if not src:
            src, dst = key[:4], key[4:8]
        segment(key, src, dst, buf, t, end, frame, ts, path)
        if out:
            yield from out
            out.clear()
    table.finish(frame)
    decoder.finish()
    if out:
        yield from out
        out.clear()
