"""One TCP connection: two halves, each reassembled and parsed, and messages paired.

A `Half` is one direction: its reassembly state (it *is* a `Reassembler`, so the hot loop
reads `next_seq` with one attribute access), its HTTP parser, and the path its packets
took (VLAN tags, tunnel and TEID: uplink and downlink TEIDs differ, so each message keeps
its own direction's). The `Connection` decides which half is the client from what the
parsers recognise (a SYN only breaks ties), pairs each response with the request it
answers, numbers requests (`trans_depth`, from 1 as in Zeek), and turns parser events into
`HttpMessage` records.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any, cast

from analyzer.flows.community_id import community_id
from analyzer.flows.reassembly import Chunk, Reassembler
from analyzer.http.parser import NEED_DATA, RESYNC, HttpParser, ParsedMessage, RequestHead
from analyzer.ingest.logrecord import MESSAGE
from analyzer.limits import Limits
from analyzer.model import Endpoints, HttpMessage

# message_id = source index | position (frame number) | k-th message completed in that
# frame. Deterministic whatever the order messages are produced in (--jobs shards).
# What a request leaves for the response that answers it: (trans_depth, method, uri, host).
RequestInfo = tuple[int, str | None, str | None, str | None]

MESSAGE_K_BITS = 12
MESSAGE_POSITION_BITS = 36


def make_message_id(source_index: int, position: int, k: int) -> int:
    return (source_index << (MESSAGE_POSITION_BITS + MESSAGE_K_BITS)) | (position << MESSAGE_K_BITS) | k


class Half(Reassembler):
    __slots__ = (
        "conn",
        "dport",
        "dst",
        "emit_frame",
        "emit_k",
        "endpoints",
        "inner_vlan",
        "key",
        "last_frame",
        "last_ts",
        "parser",
        "sport",
        "src",
        "tunnel",
        "tunnel_id",
        "vlan",
    )

    def __init__(
        self,
        conn: Connection,
        key: bytes,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        limits: Limits,
        report: Callable[..., None],
    ) -> None:
        super().__init__(limits.max_reassembly_bytes_per_flow, limits.max_pending_segments_per_flow)
        self.conn = conn
        self.key = key
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        self.parser: HttpParser | None = HttpParser(limits, report)
        self.last_ts = 0
        self.last_frame = 0
        self.vlan: int | None = None
        self.inner_vlan: int | None = None
        self.tunnel: str | None = None
        self.tunnel_id: int | None = None
        self.endpoints: Endpoints | None = None
        self.emit_frame = -1
        self.emit_k = 0


class Connection:
    __slots__ = (
        "a",
        "b",
        "client",
        "client_known",
        "closed",
        "community",
        "depth",
        "first_frame",
        "flow_id",
        "foreign",
        "had_syn",
        "ignored",
        "limits",
        "out",
        "recorder_add",
        "source",
        "source_index",
        "source_kind",
    )

    def __init__(
        self,
        *,
        key: bytes,
        reverse: bytes,
        src: bytes,
        dst: bytes,
        sport: int,
        dport: int,
        frame: int,
        source: str,
        source_index: int,
        source_kind: str,
        limits: Limits,
        recorder_add: Callable[..., None],
        out: list[HttpMessage],
    ) -> None:
        self.flow_id = f"{source_index}:{frame}"
        self.first_frame = frame
        self.source, self.source_index, self.source_kind = source, source_index, source_kind
        self.limits = limits
        self.recorder_add = recorder_add
        self.out = out
        report = self._report
        self.a = Half(self, key, src, dst, sport, dport, limits, report)
        self.b = Half(self, reverse, dst, src, dport, sport, limits, report)
        self.client: Half | None = None
        self.client_known = False  # decided by content (a parsed message), not by a SYN
        self.community: str | None = None
        self.depth = 0
        self.had_syn = False
        self.closed = False
        self.ignored = False
        self.foreign = False  # handled by another --jobs shard

    def _report(self, code: str, detail: str = "", **where: Any) -> None:
        self.recorder_add(code, detail, flow_id=self.flow_id, **where)

    def other(self, half: Half) -> Half:
        return self.b if half is self.a else self.a

    # ------------------------------------------------------------------ segments
    def segment(
        self, half: Half, seq: int, ack: int | None, flags: int, data: bytes, frame: int, ts: int | None
    ) -> None:
        """One TCP segment of `half` (flags: FIN 1, SYN 2, RST 4)."""
        half.last_frame = frame
        if ts is not None:
            half.last_ts = ts
        if flags & 0x02:
            self.had_syn = True
            half.syn(seq)
            if not flags & 0x10 and self.client is None:
                self.client = half  # a SYN without ACK comes from the client
            seq = (seq + 1) & 0xFFFFFFFF
        if data and half.parser is not None:
            chunks = half.add(seq, data, frame, ts)
            if half.conflicts or half.limit_hits:
                self._reassembly_anomalies(half)
            if chunks:
                self._deliver(half, chunks)
        if flags & 0x01:
            half.fin((seq + len(data)) & 0xFFFFFFFF)
        if ack is not None and flags & 0x10:
            self.acknowledged(self.other(half), ack, frame, ts)
        if flags & 0x04:
            self.finish(frame)
        elif half.finished and half.parser is not None:
            self._end_half(half, frame)
            if self.other(half).parser is None:
                self.closed = True

    def in_order(self, half: Half, data: bytes, frame: int, ts: int | None) -> None:
        """What `segment` does for in-order data without SYN, FIN or RST on a half with
        nothing pending, whose ACK nobody waits for: the hot loop's shortcut past the
        reassembler (same stream, same delivery; see `Reassembler.add`)."""
        half.remember(data)
        half.next_off += len(data)
        half.next_seq = (half.next_seq + len(data)) & 0xFFFFFFFF  # type: ignore[operator]
        half.last_frame = frame
        if ts is not None:
            half.last_ts = ts
        parser = half.parser
        assert parser is not None
        parser.receive_data(data, frame, ts)
        self._collect(half)
        if half.parser is not None and parser.role is None and parser.state == RESYNC:
            self._maybe_ignore(half)

    def acknowledged(self, half: Half, ack: int, frame: int, ts: int | None) -> None:
        """The peer of `half` acknowledged up to `ack`."""
        if half.pending and half.parser is not None:
            chunks = half.ack(ack, frame, ts)
            if chunks:
                self._deliver(half, chunks)

    def _reassembly_anomalies(self, half: Half) -> None:
        for offset, frame in half.conflicts:
            self._report("TCP_OVERLAP_CONFLICT", f"stream offset {offset}", frame=frame)
        half.conflicts.clear()
        if half.limit_hits:
            self._report(
                "REASSEMBLY_LIMIT",
                f"{half.limit_hits} hole(s) given up past {self.limits.max_reassembly_bytes_per_flow} pending bytes",
                frame=half.last_frame,
            )
            half.limit_hits = 0

    def _deliver(self, half: Half, chunks: list[Chunk]) -> None:
        parser = half.parser
        assert parser is not None
        for data, length, frame, ts in chunks:
            if data is None:
                self._report("TCP_GAP", f"{length} bytes missing", frame=frame)
                if parser.role == "client" and parser.between_messages:
                    self._request_lost_in_gap(half)
                parser.receive_gap(length, frame)
            else:
                parser.receive_data(data, frame, ts)
            self._collect(half)
            if half.parser is None:
                return
        if parser.role is None and parser.state == RESYNC:
            self._maybe_ignore(half)

    def _request_lost_in_gap(self, half: Half) -> None:
        """A client-side hole between two requests most likely held a request: its response
        is still coming, so it keeps a place in the pairing queue and is left unpaired
        (trans_depth, like Zeek's, counts the requests that were seen)."""
        other = self.other(half).parser
        if other is not None:
            other.expect_response("", None, None)

    def _maybe_ignore(self, half: Half) -> None:
        """`half`'s bytes are not HTTP. The flow is given up when both directions say so
        after a SYN (TLS, SSH, …), or after `max_resync_scan_bytes` without a message start
        (mid-stream pickup inside a body, or one-way traffic). One broken direction alone
        is not enough: a server answers HTTP to a malformed request."""
        other = self.other(half).parser
        if other is not None and other.role is not None:
            return
        assert half.parser is not None
        both_not_http = other is None or other.state == RESYNC
        if (self.had_syn and both_not_http) or half.parser.resync_scanned > self.limits.max_resync_scan_bytes:
            self.ignore()

    def ignore(self) -> None:
        """Not HTTP: forget the parsers; later packets are dropped by the hot loop."""
        self.ignored = True
        for half in (self.a, self.b):
            half.parser = None
            half.pending.clear()
            half.pending_bytes = 0
            half.recent.clear()

    # ------------------------------------------------------------------ messages
    def _collect(self, half: Half) -> None:
        parser = half.parser
        assert parser is not None
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, RequestHead):
                self._announce_request(half, event.message)
            else:
                assert isinstance(event, ParsedMessage)
                self._emit(half, event)

    def _announce_request(self, half: Half, msg: ParsedMessage) -> None:
        """Number a request and queue it for pairing, once: at its head if its body comes
        later (a 100 Continue may answer before the body), else when it is emitted."""
        self.depth += 1
        info: RequestInfo = (self.depth, msg.method, msg.target, msg.host)
        msg.info = info
        other = self.other(half).parser
        if other is not None:
            other.expect_response(msg.method or "", msg.version, info)

    def _emit(self, half: Half, msg: ParsedMessage) -> None:
        other = self.other(half)
        if not self.client_known:
            # What the parsers recognise outranks the SYN (a capture can start mid-stream
            # or hold a SYN whose direction was guessed wrong by a middlebox). A partial
            # message's direction is a guess from its header names: it does not settle it.
            if self.client is None or not msg.partial:
                self.client = half if msg.is_request else other
            self.client_known = not msg.partial
            self._describe()
        if msg.is_request:
            if msg.info is None:
                self._announce_request(half, msg)
            depth, method, uri, host = cast(RequestInfo, msg.info)
        else:
            answered = cast(RequestInfo | None, msg.answers)
            if answered is not None:
                depth, method, uri, host = answered
                if method == "CONNECT" and other.parser is not None:
                    if msg.status is not None and 200 <= msg.status < 300:
                        other.parser.become_tunnel()
                    else:
                        other.parser.resume()
                elif msg.status == 101 and other.parser is not None:
                    other.parser.become_tunnel()
            else:
                depth, method, uri, host = None, None, None, None
        frame = msg.frame_last
        if frame == half.emit_frame:
            half.emit_k += 1
        else:
            half.emit_frame, half.emit_k = frame, 0
        assert half.endpoints is not None
        # Positional, in field order: MESSAGE fills a frozen HttpMessage without paying
        # its per-field object.__setattr__ (see analyzer.ingest.logrecord).
        self.out.append(
            MESSAGE(
                make_message_id(self.source_index, frame, half.emit_k),
                self.source,
                self.source_kind,
                msg.ts,
                "request" if msg.is_request else "response",
                half.endpoints,
                msg.frame_first,
                frame,
                None,
                None,
                depth,
                method,
                uri,
                host,
                msg.version,
                msg.status,
                msg.reason,
                tuple(msg.headers),
                msg.body,
                msg.body_len,
                msg.body_truncated,
                msg.content_type,
                msg.content_encoding,
                msg.gap,
                msg.malformed,
                msg.partial,
            )
        )

    def _describe(self) -> None:
        client = self.client
        assert client is not None
        server = self.other(client)
        client_ip, server_ip = _ip_text(client.src), _ip_text(client.dst)
        self.community = community_id(client.src, client.dst, client.sport, client.dport)
        for half in (client, server):
            half.endpoints = Endpoints(
                flow_id=self.flow_id,
                community_id=self.community,
                client_ip=client_ip,
                client_port=client.sport,
                server_ip=server_ip,
                server_port=client.dport,
                vlan=half.vlan,
                inner_vlan=half.inner_vlan,
                tunnel=half.tunnel,
                tunnel_id=half.tunnel_id,
            )

    # ------------------------------------------------------------------ the end
    def _end_half(self, half: Half, frame: int) -> None:
        parser = half.parser
        if parser is None:
            return
        if half.pending:
            self._deliver(half, half.flush(frame))
        parser = half.parser
        if parser is None:
            return
        parser.receive_eof(half.last_frame or frame)
        self._collect(half)
        if parser.requests and parser.role != "client":
            self._report(
                "HTTP_UNANSWERED",
                f"{len(parser.requests)} request(s) without a response",
                frame=half.last_frame or frame,
            )
        half.parser = None
        half.recent.clear()

    def finish(self, frame: int) -> None:
        """The connection is over (RST, both FINs, idle, eviction or end of capture)."""
        if not self.ignored:
            for half in (self.a, self.b):
                self._end_half(half, frame)
        self.closed = True


def _ip_text(raw: bytes) -> str:
    # inet_ntoa writes IPv4 exactly as ipaddress does, ten times faster; IPv6 keeps
    # ipaddress's RFC 5952 form (inet_ntop differs for IPv4-mapped addresses).
    return socket.inet_ntoa(raw) if len(raw) == 4 else str(ipaddress.ip_address(raw))
