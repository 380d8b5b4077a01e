"""IPv4 and IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5), bounded.

Fragments are kept per datagram key until the last byte is present; overlapping
fragments with different bytes keep the first copy (RFC 5722 says drop the datagram;
a forensic tool keeps what it can and says so). Incomplete datagrams time out after
`Limits.fragment_timeout_s` of capture time or are evicted past
`Limits.max_fragment_datagrams`, each with an anomaly.
"""

from __future__ import annotations

from collections import OrderedDict

from analyzer.anomalies import Recorder

FragmentKey = tuple[bytes, bytes, int, int]


class _Datagram:
    __slots__ = ("first_ts", "parts", "total")

    def __init__(self, ts: int) -> None:
        self.parts: dict[int, bytes] = {}
        self.total: int | None = None
        self.first_ts = ts


class FragmentReassembler:
    def __init__(self, recorder: Recorder, max_datagrams: int, timeout_s: int) -> None:
        self._recorder = recorder
        self._max = max_datagrams
        self._timeout_ns = timeout_s * 1_000_000_000
        self._pending: OrderedDict[FragmentKey, _Datagram] = OrderedDict()

    def add(self, key: FragmentKey, offset: int, data: bytes, more: bool, ts: int | None, frame: int) -> bytes | None:
        """Add one fragment's payload; the whole payload once every byte is present."""
        now = ts or 0
        self._expire(now, frame)
        datagram = self._pending.get(key)
        if datagram is None:
            if len(self._pending) >= self._max:
                old_key, _ = self._pending.popitem(last=False)
                self._recorder.add(
                    "IP_FRAGMENTS_EXPIRED",
                    f"evicted at the max_fragment_datagrams limit (id {old_key[2]})",
                    frame=frame,
                )
            datagram = self._pending[key] = _Datagram(now)
        if not more:
            datagram.total = offset + len(data)
        previous = datagram.parts.get(offset)
        if previous is not None and previous != data[: len(previous)]:
            self._recorder.add("IP_FRAGMENT_OVERLAP", f"fragment at offset {offset} (id {key[2]})", frame=frame)
        else:
            datagram.parts.setdefault(offset, data)
        if datagram.total is None:
            return None
        assembled = self._assemble(datagram, key, frame)
        if assembled is not None:
            del self._pending[key]
        return assembled

    def _assemble(self, datagram: _Datagram, key: FragmentKey, frame: int) -> bytes | None:
        out = bytearray()
        conflict = False
        for offset in sorted(datagram.parts):
            part = datagram.parts[offset]
            if offset > len(out):
                return None  # a hole remains
            overlap = len(out) - offset
            if overlap > 0 and out[offset : offset + min(overlap, len(part))] != part[:overlap]:
                conflict = True
            if offset + len(part) > len(out):
                out += part[max(overlap, 0) :]
        assert datagram.total is not None
        if len(out) < datagram.total:
            return None
        if conflict:
            self._recorder.add("IP_FRAGMENT_OVERLAP", f"overlapping fragments differ (id {key[2]})", frame=frame)
        return bytes(out[: datagram.total])

    def _expire(self, now: int, frame: int) -> None:
        while self._pending:
            key, datagram = next(iter(self._pending.items()))
            if now - datagram.first_ts <= self._timeout_ns:
                return
            del self._pending[key]
            self._recorder.add("IP_FRAGMENTS_EXPIRED", f"incomplete datagram id {key[2]} timed out", frame=frame)

    def finish(self) -> None:
        for key in self._pending:
            self._recorder.add("IP_FRAGMENTS_EXPIRED", f"incomplete datagram id {key[2]} at end of capture")
        self._pending.clear()
