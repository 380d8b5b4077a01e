"""The traffic model and the merge: subscribers' visits arrive as a Poisson process; each
visit opens DNS lookups and HTTP or TLS connections (generators of time-ordered frames);
a heap merges all live flows into one capture written as it goes.

Memory is bounded by the live flows (each holds at most one window of frames and the
response it is sending), never by the capture size. One `random.Random` drives
everything in a fixed order, so the same seed and size give the same bytes.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from gateway.flows import Frames, dns_lookup, http_connection, tls_connection
from gateway.messages import EPOCH_S, Pools, Request, Response, path_for
from gateway.packets import RECORD, Link, TcpDir, write_pcap_header
from gateway.population import AddressPlan, Server, Subscriber, make_servers, make_subscribers
from gateway.tcp import Faults, Tcp

US = 1_000_000
MB = 1_000_000
# Calibrated on this model (wire bytes per visit, all kinds together) so that a capture
# spans about --duration seconds at any size: the visit rate grows with the size.
BYTES_PER_VISIT = 50_000
SUBSCRIBERS_PER_200MB = 3000
SITES, TLS_SERVERS = 250, 60
RESOURCE_KINDS = ("icon", "img", "js", "css", "json")
RESOURCE_WEIGHTS = (30, 36, 14, 10, 10)


@dataclass
class Truth:
    """What the generator wrote: the answer key for lineid's counts."""

    requests: int = 0
    responses: int = 0
    requests_with_identifier: int = 0
    split_requests: int = 0
    pipelined_requests: int = 0
    chunked_responses: int = 0
    gzip_responses: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    enrichment_headers: Counter[str] = field(default_factory=Counter)
    flows: Counter[str] = field(default_factory=Counter)
    identifiers: dict[str, set[str]] = field(default_factory=lambda: {"msisdn": set(), "imsi": set(), "uidh": set()})
    enriched_subscribers: set[int] = field(default_factory=set)
    active_subscribers: set[int] = field(default_factory=set)


class Context:
    """State shared by all flows: random source, pools, population, truth, options."""

    def __init__(self, seed: int, size: int, enrich_share: float, out_of_order: float, retransmit: float) -> None:
        self.rng = rng = random.Random(seed)
        self.pools = Pools(rng)
        n_subscribers = max(40, min(50_000, SUBSCRIBERS_PER_200MB * size // (200 * MB)))
        self.subscribers = make_subscribers(rng, n_subscribers)
        self.servers = make_servers(rng, AddressPlan(rng), SITES, TLS_SERVERS)
        # Zipf-like popularity: a few heavy users and sites, a long tail of light ones.
        self.sub_weights = list(itertools.accumulate(1 / (i + 5) ** 0.5 for i in range(n_subscribers)))
        self.site_weights = list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(SITES)))
        self.truth = Truth()
        self.faults = Faults(out_of_order, retransmit)
        self.enrich_share = enrich_share
        self.split_share = 0.08
        self.stopping = False
        self._links: dict[int, tuple[Link, Link]] = {}
        self._rate: dict[int, tuple[int, int]] = {}

    def links(self, sub: Subscriber) -> tuple[Link, Link]:
        """Per subscriber (as a tap's port or tunnel would be): 4 % of subscribers seen
        with an 802.1Q tag, 2 % inside GTP-U; the rest plain Ethernet."""
        links = self._links.get(sub.index)
        if links is None:
            roll = (sub.seed >> 8) % 100
            if roll < 4:
                vlan = 100 + roll
                links = (Link(upstream=True, vlan=vlan), Link(upstream=False, vlan=vlan))
            elif roll < 6:
                sgsn, ggsn = bytes((172, 16, 8, 1 + sub.seed % 200)), bytes((172, 16, 0, 1))
                teid_up, teid_down = (sub.seed >> 4) & 0xFFFFFFFF, (sub.seed >> 12) & 0xFFFFFFFF
                links = (
                    Link(upstream=True, gtp=(sgsn, ggsn, teid_up)),
                    Link(upstream=False, gtp=(ggsn, sgsn, teid_down)),
                )
            else:
                links = (Link(upstream=True), Link(upstream=False))
            self._links[sub.index] = links
        return links

    def path_kind(self, sub: Subscriber) -> str:
        up = self.links(sub)[0]
        return "gtpu" if up.gtp is not None else "vlan" if len(up.ethernet) > 14 else "plain"

    def tcp(self, sub: Subscriber, server: Server, port: int, t: int) -> Tcp:
        rng = self.rng
        link_up, link_down = self.links(sub)
        sport = sub.next_port
        sub.next_port = sport + 1 if sport < 60999 else 32768
        # Radio round trip and downlink rate are per subscriber (device, cell), jittered.
        rate = self._rate.get(sub.index)
        if rate is None:
            rate = (int(rng.uniform(80, 400) * 1000), int(1460 * 8 / rng.uniform(0.4, 8.0)))
            self._rate[sub.index] = rate
        client_rtt = rate[0] + rng.randrange(20_000)
        up = TcpDir(sub.ip, server.ip, sport, port, 63, rng.getrandbits(16), link_up)
        down = TcpDir(server.ip, sub.ip, port, sport, 52, rng.getrandbits(16), link_down)
        # GTP-U adds 36 bytes of outer headers: tunnelled flows use a smaller MSS.
        mss = 1400 if link_up.gtp is not None else 1460
        return Tcp(
            rng,
            up,
            down,
            t=t,
            client_rtt=client_rtt,
            server_rtt=server.rtt_us,
            mss=mss,
            down_gap=rate[1],
            faults=self.faults,
        )

    def count_flow(self, kind: str, sub: Subscriber) -> None:
        self.truth.flows[kind] += 1
        self.truth.active_subscribers.add(sub.index)
        self.truth.flows[f"path_{self.path_kind(sub)}"] += 1

    def count_request(self, sub: Subscriber, request: Request) -> None:
        truth = self.truth
        truth.requests += 1
        truth.methods[request.method] += 1
        if request.enriched:
            truth.requests_with_identifier += 1
            truth.enriched_subscribers.add(sub.index)
            for name, _ in sub.enrichment:
                truth.enrichment_headers[name.lower()] += 1
            for kind, value in sub.identifiers:
                truth.identifiers[kind].add(value)

    def count_response(self, response: Response) -> None:
        truth = self.truth
        truth.responses += 1
        truth.statuses[response.status] += 1
        truth.chunked_responses += response.chunked
        truth.gzip_responses += response.gzipped

    # ---- visits -------------------------------------------------------------------------

    def visit(self, t: int) -> list[Frames]:
        """One subscriber action at time t: the flows it opens."""
        rng = self.rng
        sub = rng.choices(self.subscribers, cum_weights=self.sub_weights)[0]
        roll = rng.random()
        flows: list[Frames] = []

        def connect(server: Server, start: int) -> int:
            # Half of the names are not in the phone's DNS cache yet.
            if rng.random() < 0.5:
                flows.append(dns_lookup(self, sub, server, start))
                return start + server.rtt_us + 40_000
            return start

        if roll < 0.14:
            server = rng.choice(self.servers["tls"])
            start = connect(server, t)
            for k in range(rng.choice((1, 1, 1, 2))):
                flows.append(tls_connection(self, sub, server, start + k * rng.randint(1000, 400_000)))
        elif roll < 0.145:
            server = rng.choice(self.servers["download"])
            flows.append(http_connection(self, sub, server, connect(server, t), ["download"], None))
        elif roll < 0.60:
            # A widget or app syncing in the background: any subscriber, a small JSON poll.
            sub = self.subscribers[rng.randrange(len(self.subscribers))]
            server = rng.choice(self.servers["site"])
            kinds = ["poll"] * rng.choice((1, 1, 1, 2))
            flows.append(http_connection(self, sub, server, connect(server, t), kinds, None))
        elif roll < 0.68:
            # An app talking JSON to its API, often on one long keep-alive connection.
            server = rng.choices(self.servers["site"], cum_weights=self.site_weights)[0]
            kinds = ["json"] * min(30, int(rng.expovariate(1 / 4)) + 1)
            flows.append(http_connection(self, sub, server, connect(server, t), kinds, None))
        elif roll < 0.72:
            server = rng.choices(self.servers["site"], cum_weights=self.site_weights)[0]
            flows.append(dns_lookup(self, sub, server, t))
        else:
            self._page(sub, t, connect, flows)
        return flows

    def _page(self, sub: Subscriber, t: int, connect: Callable[[Server, int], int], flows: list[Frames]) -> None:
        """A page view: the HTML, its resources over 1-3 connections, and ad beacons."""
        rng = self.rng
        site = rng.choices(self.servers["site"], cum_weights=self.site_weights)[0]
        page = f"http://{site.name}{path_for(rng, 'html')}"
        resources = rng.choices(RESOURCE_KINDS, RESOURCE_WEIGHTS, k=min(60, int(rng.lognormvariate(0, 0.9) * 6)))
        assets = site.assets or site
        on_site = rng.randint(0, len(resources))
        first = ["html", *resources[:on_site]]
        rest = resources[on_site:]
        referer = None if rng.random() < 0.4 else f"http://{rng.choice(self.servers['site']).name}/"
        # Old phones speak HTTP/1.0 (one request per connection); some browsers pipeline.
        version = "1.0" if rng.random() < 0.03 else "1.1"
        start = connect(site, t)
        flows.append(http_connection(self, sub, site, start, first, referer, version=version))
        # The resources start once the HTML's head has arrived and been parsed.
        later = start + int(rng.uniform(0.4, 2.5) * US)
        if rest:
            split = len(rest) // 2 if len(rest) > 4 and rng.random() < 0.5 else len(rest)
            for part, delay in ((rest[:split], 0), (rest[split:], rng.randint(1000, 50_000))):
                if part:
                    pipelined = len(part) > 1 and rng.random() < 0.1
                    flows.append(http_connection(self, sub, assets, later + delay, part, page, pipelined=pipelined))
            later += 1000
        if rng.random() < 0.6:
            ads = rng.choice(self.servers["ads"])
            beacons = ["beacon"] * rng.randint(1, 2)
            flows.append(http_connection(self, sub, ads, connect(ads, later + rng.randint(0, 2 * US)), beacons, page))


def generate(
    out: BinaryIO,
    *,
    seed: int,
    size: int,
    duration_s: float,
    enrich_share: float,
    out_of_order: float,
    retransmit: float,
) -> tuple[Context, int, int, int, int]:
    """Write the capture to out; returns (context, packets, file bytes, first ts, last ts µs)."""
    ctx = Context(seed, size, enrich_share, out_of_order, retransmit)
    rng = ctx.rng
    mean_gap = duration_s * US * BYTES_PER_VISIT / max(size, 1)
    order = itertools.count()
    heap: list[tuple[int, int, bytes, Frames]] = []
    push, replace, pop = heapq.heappush, heapq.heapreplace, heapq.heappop
    pack, write = RECORD.pack, out.write
    written = write_pcap_header(out)
    packets = 0
    first_ts = last_ts = -1
    next_visit = 0
    while True:
        if not ctx.stopping and (not heap or next_visit <= heap[0][0]):
            for flow in ctx.visit(next_visit):
                event = next(flow, None)
                if event is not None:
                    push(heap, (event[0], next(order), event[1], flow))
            next_visit += max(1, int(rng.expovariate(1.0) * mean_gap))
            continue
        if not heap:
            break
        t, _, frame, flow = heap[0]
        n = len(frame)
        abs_t = EPOCH_S * US + t
        write(pack(abs_t // US, abs_t % US, n, n))
        write(frame)
        written += 16 + n
        packets += 1
        if first_ts < 0:
            first_ts = abs_t
        last_ts = abs_t
        event = next(flow, None)
        if event is None:
            pop(heap)
        else:
            replace(heap, (event[0], next(order), event[1], flow))
        if written >= size:
            ctx.stopping = True
    return ctx, packets, written, first_ts, last_ts
