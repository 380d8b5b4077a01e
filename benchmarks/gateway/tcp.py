"""One TCP connection as a tap on the Gi link sees it: handshake, data in ACK-clocked
windows, the receiver's ACKs (every second segment, at once on a hole), reordered and
retransmitted segments, and teardown.

The tap sits between the gateway and the Internet: the server is a few ms away, the
phone a radio round trip (~100-400 ms) away. So a client's ACK of downstream data
passes the tap one client round trip after the data did, and the server's next window
follows one server round trip after that ACK.

A connection is driven phase by phase (handshake, one send, close). Each phase appends
(time µs, order, frame) events; `drain` yields them in time order. A phase starts no
earlier than the last event of the one before, so a connection's frames are always in
time order, which the global merge in `traffic.py` relies on.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from gateway.packets import ACK, FIN, PSH, RST, SYN, TcpDir, syn_options

INITIAL_WINDOW = 10  # segments (RFC 6928)
MAX_WINDOW = 64
DELAYED_ACK_US = 40_000  # Linux's minimum delayed-ACK timeout
CLIENT_WINDOW, SERVER_WINDOW = 0x7210, 0x00E5  # as scaled by window scale 7


class Faults:
    """Shares of data segments that pass the tap out of order, or twice."""

    __slots__ = ("out_of_order", "out_of_order_count", "retransmit", "retransmit_count")

    def __init__(self, out_of_order: float, retransmit: float) -> None:
        self.out_of_order, self.retransmit = out_of_order, retransmit
        self.out_of_order_count = self.retransmit_count = 0


class Tcp:
    """Both directions of one connection; up = client → server."""

    def __init__(
        self,
        rng: random.Random,
        up: TcpDir,
        down: TcpDir,
        *,
        t: int,
        client_rtt: int,
        server_rtt: int,
        mss: int,
        down_gap: int,
        faults: Faults,
    ) -> None:
        self.rng, self.up, self.down = rng, up, down
        self.t, self.client_rtt, self.server_rtt, self.mss = t, client_rtt, server_rtt, mss
        self.down_gap = down_gap  # µs between full downstream segments: the radio's rate
        self.faults = faults
        self.up_seq = rng.getrandbits(32)
        self.down_seq = rng.getrandbits(32)
        self.events: list[tuple[int, int, bytes]] = []
        self.order = 0

    def _emit(self, t: int, frame: bytes) -> None:
        self.events.append((t, self.order, frame))
        self.order += 1

    def drain(self) -> Iterator[tuple[int, bytes]]:
        events = self.events
        if not events:
            return
        events.sort()
        self.t = max(self.t, events[-1][0])
        self.events = []
        for t, _, frame in events:
            yield t, frame

    def handshake(self) -> None:
        t = self.t
        self._emit(t, self.up.frame(self.up_seq, 0, SYN, 0xFFFF, opts=syn_options(self.mss)))
        self.up_seq = (self.up_seq + 1) & 0xFFFFFFFF
        t += self.server_rtt
        self._emit(t, self.down.frame(self.down_seq, self.up_seq, SYN | ACK, 0x3890, opts=syn_options(self.mss)))
        self.down_seq = (self.down_seq + 1) & 0xFFFFFFFF
        t += self.client_rtt
        self._emit(t, self.up.frame(self.up_seq, self.down_seq, ACK, CLIENT_WINDOW))
        self.t = t

    def send(self, upstream: bool, data: bytes, t: int, splits: list[int] | None = None, gap: int = 0) -> None:
        """Send data one way, starting at t, and the other side's ACKs.

        splits: offsets where the application's writes ended (a request head written in
        pieces); each piece starts a new segment. gap: µs between segments (default: the
        radio rate downstream, 1 ms upstream).
        """
        rng, faults, mss = self.rng, self.faults, self.mss
        sender, receiver = (self.up, self.down) if upstream else (self.down, self.up)
        seq0 = self.up_seq if upstream else self.down_seq
        ack = self.down_seq if upstream else self.up_seq
        window = CLIENT_WINDOW if upstream else SERVER_WINDOW
        # The receiver is the far side for downstream data, the near side for upstream.
        ack_delay = self.client_rtt if not upstream else self.server_rtt
        restart = self.server_rtt if not upstream else self.client_rtt
        gap = gap or (self.down_gap if not upstream else 1000)
        bounds = [0, *(s for s in (splits or []) if 0 < s < len(data)), len(data)]
        segments: list[tuple[int, int]] = []
        for a, b in itertools.pairwise(bounds):
            segments += [(s, min(s + mss, b)) for s in range(a, b, mss)]
        view = memoryview(data)
        cwnd = INITIAL_WINDOW
        pos = 0
        contiguous = 0  # bytes the receiver has in order (what it acknowledges)
        held: dict[int, int] = {}  # out-of-order start → end, at the receiver
        while pos < len(segments):
            burst = list(range(pos, min(pos + cwnd, len(segments))))
            order = list(burst)
            # Faults: a segment delayed behind 1-3 later ones, or sent twice.
            for i in range(len(burst)):
                roll = rng.random()
                if roll < faults.out_of_order and i + 1 < len(burst):
                    k = rng.randint(1, min(3, len(burst) - 1 - i))
                    j = order.index(burst[i])
                    order.insert(min(j + k, len(order) - 1), order.pop(j))
                    faults.out_of_order_count += 1
                elif roll > 1.0 - faults.retransmit:
                    j = order.index(burst[i])
                    order.insert(min(j + rng.randint(1, 4), len(order)), burst[i])
                    faults.retransmit_count += 1
            last_ack_t = t
            for n, index in enumerate(order):
                a, b = segments[index]
                ts = t + n * gap + (rng.randrange(gap // 8) if gap >= 8 else 0)
                flags = ACK | (PSH if b == len(data) or b in bounds else 0)
                self._emit(ts, sender.frame((seq0 + a) & 0xFFFFFFFF, ack, flags, window, view[a:b]))
                arrived = n + 1
                at_once = False  # a hole (duplicate ACK) or its repair is acknowledged at once
                if a <= contiguous < b:
                    contiguous = b
                    while contiguous in held:
                        contiguous = held.pop(contiguous)
                        at_once = True
                elif a > contiguous:
                    held[a] = max(held.get(a, 0), b)
                    at_once = True
                last = n == len(order) - 1
                if at_once or arrived % 2 == 0 or last:
                    # The odd segment that ends a burst waits for the delayed-ACK timer.
                    delay = ack_delay + (DELAYED_ACK_US if last and arrived % 2 and not at_once else 0)
                    last_ack_t = ts + delay
                    self._emit(last_ack_t, receiver.frame(ack, (seq0 + contiguous) & 0xFFFFFFFF, ACK, 0xFFFF))
            pos += len(burst)
            t = max(last_ack_t, t + len(order) * gap) + restart
            cwnd = min(cwnd * 2, MAX_WINDOW)
        if upstream:
            self.up_seq = (seq0 + len(data)) & 0xFFFFFFFF
        else:
            self.down_seq = (seq0 + len(data)) & 0xFFFFFFFF

    def close(self, t: int, by_client: bool, reset: bool = False) -> None:
        up, down = self.up, self.down
        if reset:
            self._emit(t, up.frame(self.up_seq, self.down_seq, RST | ACK, 0))
            return
        if by_client:
            self._emit(t, up.frame(self.up_seq, self.down_seq, FIN | ACK, CLIENT_WINDOW))
            self.up_seq = (self.up_seq + 1) & 0xFFFFFFFF
            t += self.server_rtt
            self._emit(t, down.frame(self.down_seq, self.up_seq, FIN | ACK, SERVER_WINDOW))
            self.down_seq = (self.down_seq + 1) & 0xFFFFFFFF
            self._emit(t + self.client_rtt, up.frame(self.up_seq, self.down_seq, ACK, CLIENT_WINDOW))
        else:
            self._emit(t, down.frame(self.down_seq, self.up_seq, FIN | ACK, SERVER_WINDOW))
            self.down_seq = (self.down_seq + 1) & 0xFFFFFFFF
            t += self.client_rtt
            self._emit(t, up.frame(self.up_seq, self.down_seq, FIN | ACK, CLIENT_WINDOW))
            self.up_seq = (self.up_seq + 1) & 0xFFFFFFFF
            self._emit(t + self.server_rtt, down.frame(self.down_seq, self.up_seq, ACK, SERVER_WINDOW))
