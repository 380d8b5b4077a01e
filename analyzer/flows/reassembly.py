"""TCP reassembly for one direction of one connection, sans-IO.

Feed segments in capture order with `add(seq, data, frame, ts)`; get back the stream in
order as chunks `(data, length, frame, ts)`, holes as `(None, length, frame, ts)`. Shuffled,
duplicated and overlapping segments give the same stream (a property test proves it).

Strategy: sequence numbers become stream offsets relative to the first byte seen
(`next_off` grows without bound), so wraparound at 2^32 needs no special case. In-order
data goes straight out. Data ahead of the next expected byte waits in `pending` (bounded by
`Limits.max_reassembly_bytes_per_flow` and `max_pending_segments_per_flow`); data behind it
is a retransmission, trimmed, and compared with what was delivered when that is still
at hand (`TCP_OVERLAP_CONFLICT`: the first copy is kept, as the receiver would). A hole
becomes a gap when the peer acknowledges bytes past it (they were sent, the capture
missed them), when the pending bound is reached, or when the flow ends.

The frame (and its time) attached to delivered bytes is the frame that made them
deliverable: a segment that arrived early is delivered with the frame that filled the
hole before it, which is where Wireshark reports a message completed by out-of-order data.
"""

from __future__ import annotations

SEQ_MASK = 0xFFFFFFFF
HALF_SEQ = 1 << 31

# (data or None for a gap, length, frame, ts in ns)
Chunk = tuple[bytes | None, int, int, int | None]
# Delivered segments kept to compare retransmissions with: the last few are what a
# retransmission resends.
RECENT_SEGMENTS_KEPT = 8


def seq_delta(a: int, b: int) -> int:
    """a - b in 32-bit sequence space, as a signed number (RFC 1982 arithmetic)."""
    d = (a - b) & SEQ_MASK
    return d - (1 << 32) if d >= HALF_SEQ else d


class Reassembler:
    __slots__ = (
        "conflicts",
        "fin_off",
        "limit_hits",
        "max_pending_bytes",
        "max_pending_segments",
        "next_off",
        "next_seq",
        "pending",
        "pending_bytes",
        "recent",
    )

    def __init__(self, max_pending_bytes: int, max_pending_segments: int) -> None:
        self.next_seq: int | None = None  # raw sequence number of the next expected byte
        self.next_off = 0  # stream offset of the next expected byte
        self.pending: dict[int, tuple[bytes, int, int | None]] = {}  # offset -> (data, frame, ts)
        self.pending_bytes = 0
        # A list, not a deque(maxlen=...): an empty deque weighs 600 bytes, and a gateway
        # capture keeps tens of thousands of idle connections.
        self.recent: list[tuple[int, bytes]] = []
        self.max_pending_bytes = max_pending_bytes
        self.max_pending_segments = max_pending_segments
        self.fin_off: int | None = None
        self.conflicts: list[tuple[int, int]] = []  # (stream offset, frame) of conflicting overlaps
        self.limit_hits = 0  # holes declared gaps because the pending bound was reached

    def syn(self, seq: int) -> None:
        """A SYN: the stream starts at seq + 1 (only the first SYN counts)."""
        if self.next_seq is None:
            self.next_seq = (seq + 1) & SEQ_MASK

    def fin(self, seq: int) -> None:
        """A FIN at sequence seq (after the segment's data)."""
        if self.next_seq is not None and self.fin_off is None:
            self.fin_off = self.next_off + seq_delta(seq, self.next_seq)

    @property
    def finished(self) -> bool:
        """Every byte up to the FIN has been delivered."""
        return self.fin_off is not None and self.next_off >= self.fin_off

    def add(self, seq: int, data: bytes, frame: int, ts: int | None = None) -> list[Chunk]:
        if self.next_seq is None:
            self.next_seq = seq  # first seen mid-stream: start here
        d = seq_delta(seq, self.next_seq)
        if d > 0:
            return self._hold(self.next_off + d, data, frame, ts)
        if d < 0:
            self._compare(self.next_off + d, data, frame)
            if -d >= len(data):
                return []  # wholly a retransmission
            data = data[-d:]
        out: list[Chunk] = [(data, len(data), frame, ts)]
        self._advance(data)
        if self.pending:
            self._drain(out, frame, ts)
        return out

    def ack(self, ack: int, frame: int, ts: int | None = None) -> list[Chunk]:
        """The peer acknowledged up to `ack`: bytes before it were sent, so a hole below
        it will never be filled. Declares the gap(s) the ack proves."""
        if self.next_seq is None or not self.pending:
            return []
        acked = self.next_off + seq_delta(ack, self.next_seq)
        out: list[Chunk] = []
        while self.pending and min(self.pending) < acked:
            self._gap_to_next(out, frame, ts)
        return out

    def flush(self, frame: int, ts: int | None = None) -> list[Chunk]:
        """The flow is over: every hole left is a gap; deliver what waited behind them."""
        out: list[Chunk] = []
        while self.pending:
            self._gap_to_next(out, frame, ts)
        return out

    # ------------------------------------------------------------------ internals
    def remember(self, data: bytes) -> None:
        """Keep the last RECENT_SEGMENTS_KEPT delivered segments (at next_off, before it moves)."""
        recent = self.recent
        recent.append((self.next_off, data))
        if len(recent) > RECENT_SEGMENTS_KEPT:
            del recent[0]

    def _advance(self, data: bytes) -> None:
        self.remember(data)
        self.next_off += len(data)
        assert self.next_seq is not None
        self.next_seq = (self.next_seq + len(data)) & SEQ_MASK

    def _hold(self, offset: int, data: bytes, frame: int, ts: int | None) -> list[Chunk]:
        held = self.pending.get(offset)
        if held is not None:
            if held[0][: len(data)] != data[: len(held[0])]:
                self.conflicts.append((offset, frame))
            if len(held[0]) >= len(data):
                return []
            self.pending_bytes -= len(held[0])
            data = held[0] + data[len(held[0]) :]  # keep the first copy's bytes
            frame, ts = held[1], held[2]
        self.pending[offset] = (data, frame, ts)
        self.pending_bytes += len(data)
        out: list[Chunk] = []
        while self.pending and (
            self.pending_bytes > self.max_pending_bytes or len(self.pending) > self.max_pending_segments
        ):
            self.limit_hits += 1
            self._gap_to_next(out, frame, ts)
        return out

    def _drain(self, out: list[Chunk], frame: int, ts: int | None) -> None:
        """Deliver waiting segments that the stream has now reached."""
        for offset in sorted(self.pending):
            if offset > self.next_off:
                return
            data, own_frame, own_ts = self.pending.pop(offset)
            self.pending_bytes -= len(data)
            overlap = self.next_off - offset
            if overlap:
                self._compare(offset, data, own_frame)
                if overlap >= len(data):
                    continue
                data = data[overlap:]
            if own_frame > frame:
                out.append((data, len(data), own_frame, own_ts))
            else:
                out.append((data, len(data), frame, ts))
            self._advance(data)

    def _gap_to_next(self, out: list[Chunk], frame: int, ts: int | None) -> None:
        first = min(self.pending)
        length = first - self.next_off
        _, held_frame, held_ts = self.pending[first]
        if length > 0:
            # The hole is reported with the frame of the data that follows it.
            out.append((None, length, held_frame, held_ts))
            self.next_off = first
            assert self.next_seq is not None
            self.next_seq = (self.next_seq + length) & SEQ_MASK
        self._drain(out, held_frame, held_ts)

    def _compare(self, offset: int, data: bytes, frame: int) -> None:
        """Record a conflict if data overlaps delivered bytes still at hand and differs."""
        end = offset + len(data)
        for start, seen in self.recent:
            lo = max(start, offset)
            hi = min(start + len(seen), end, self.next_off)
            if lo < hi and seen[lo - start : hi - start] != data[lo - offset : hi - offset]:
                self.conflicts.append((lo, frame))
                return
