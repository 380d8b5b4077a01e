"""The flows of the synthetic capture, each a generator of (time µs, frame) in time order:
plain-HTTP connections (keep-alive, pipelined, split request heads), TLS connections
with realistic record sizes, and DNS lookups.

A flow reads and updates the shared `Context` (random source, pools, ground truth); the
merge of all live flows into one capture is in `traffic.py`.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.messages import Request, build_request, build_response
from gateway.packets import UdpDir
from gateway.population import Server, Subscriber

if TYPE_CHECKING:
    from gateway.traffic import Context

Frames = Iterator[tuple[int, bytes]]
US = 1_000_000
TLS_MAX_RECORD = 16_384 + 24  # plaintext limit + AES-GCM explicit nonce and tag


def _ms(rng: random.Random, median_ms: float, sigma: float, cap_ms: float) -> int:
    """A log-normal delay in µs: human and server think times are long-tailed."""
    return int(min(cap_ms, rng.lognormvariate(0, sigma) * median_ms) * 1000)


def http_connection(
    ctx: Context,
    sub: Subscriber,
    server: Server,
    t0: int,
    kinds: list[str],
    referer: str | None,
    *,
    version: str = "1.1",
    pipelined: bool = False,
) -> Frames:
    rng, truth = ctx.rng, ctx.truth
    tcp = ctx.tcp(sub, server, 80, t0)
    ctx.count_flow("http", sub)
    tcp.handshake()
    yield from tcp.drain()
    close = version == "1.0"
    if close:
        kinds = kinds[:1]
    t = tcp.t + rng.randint(300, 3000)
    i = 0
    while i < len(kinds):
        if i and ctx.stopping:
            break  # the capture is full: finish what is in flight, start nothing new
        take = rng.randint(2, 4) if pipelined else 1
        batch = kinds[i : i + take]
        i += len(batch)
        now_s = t / US
        requests: list[Request] = []
        for kind in batch:
            method = "GET"
            if kind == "json" and rng.random() < 0.15:
                method = "POST"
            elif kind == "download" and rng.random() < 0.1:
                method = "HEAD"
            requests.append(
                build_request(
                    rng,
                    sub,
                    server,
                    kind,
                    referer=referer,
                    enrich_share=ctx.enrich_share,
                    now_s=now_s,
                    version=version,
                    method=method,
                )
            )
        data = b"".join(r.data for r in requests)
        splits: list[int] | None = None
        gap = 0
        first_head = requests[0].data.find(b"\r\n\r\n") + 4
        if rng.random() < ctx.split_share and first_head > 40:
            # The head written in 2-3 pieces (a browser flushing line by line, a proxy
            # inserting headers): some header lines straddle TCP segments.
            splits = sorted(rng.sample(range(8, first_head - 2), rng.randint(1, 2)))
            gap = rng.randint(300, 15_000)
            truth.split_requests += 1
        if len(batch) > 1:
            truth.pipelined_requests += len(batch)
        tcp.send(True, data, t, splits, gap)
        yield from tcp.drain()
        for request in requests:
            ctx.count_request(sub, request)
        responses = [build_response(rng, ctx.pools, server, r, now_s, close=close) for r in requests]
        for response in responses:
            ctx.count_response(response)
        tcp.send(False, b"".join(r.data for r in responses), tcp.t + _ms(rng, 25, 1.0, 2000))
        yield from tcp.drain()
        # The page's next resource comes quickly; a user's next click takes seconds.
        t = tcp.t + _ms(rng, 30, 1.2, 20_000)
    if close:
        tcp.close(tcp.t + 300, by_client=False)
    elif rng.random() < 0.02:
        tcp.close(tcp.t + _ms(rng, 2000, 1.0, 60_000), by_client=True, reset=True)
    elif rng.random() < 0.5:
        tcp.close(tcp.t + _ms(rng, 4000, 1.0, 100_000), by_client=True)
    else:
        # Apache's KeepAliveTimeout (5 s, 15 s) or nginx's (75 s).
        tcp.close(tcp.t + rng.choice((5, 5, 15, 75)) * US, by_client=False)
    yield from tcp.drain()


def _tls_records(ctx: Context, content_type: int, size: int) -> bytes:
    """size bytes of TLS records of one type; bodies are random (they are ciphertext)."""
    rng, pool = ctx.rng, ctx.pools.binary
    parts: list[bytes] = []
    while size > 0:
        n = min(size, TLS_MAX_RECORD)
        start = rng.randrange(len(pool) - n)
        parts += [struct.pack(">BHH", content_type, 0x0303, n), pool[start : start + n]]
        size -= n + 5
    return b"".join(parts)


def _handshake(kind: int, body: bytes) -> bytes:
    return struct.pack(">B", kind) + len(body).to_bytes(3, "big") + body


def _record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack(">BHH", content_type, version, len(body)) + body


def client_hello(rng: random.Random, host: str) -> bytes:
    """A TLS 1.3 ClientHello with SNI, as browsers send it (parses cleanly in dissectors)."""
    name = host.encode("ascii")
    sni = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    # supported groups, EC point formats, signature algorithms, renegotiation info, session ticket,
    # supported versions (1.3, 1.2), then a key share (x25519)
    fixed = (
        "000a00080006001d00170018"
        "000b00020100"
        "000d0012001004030804040105030805050108060601"
        "ff01000100"
        "00230000"
        "002b0005040304030300330026"
        "0024001d0020"
    )
    extensions = sni + bytes.fromhex(fixed) + rng.randbytes(32)
    suites = bytes.fromhex("130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035")
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + struct.pack(">H", len(suites)) + suites
    body += b"\x01\x00" + struct.pack(">H", len(extensions)) + extensions
    return _record(22, _handshake(1, body), 0x0301)


def _server_flight(rng: random.Random) -> bytes:
    """TLS 1.3: ServerHello, ChangeCipherSpec, then the encrypted rest of the handshake
    (extensions, certificate chain, verify, finished) as application_data records."""
    extensions = bytes.fromhex("002b0002030400330024001d0020") + rng.randbytes(32)
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + bytes.fromhex("130100")
    hello = _record(22, _handshake(2, body + struct.pack(">H", len(extensions)) + extensions))
    encrypted = _record(23, rng.randbytes(rng.randint(2400, 4800)))
    return hello + bytes.fromhex("140303000101") + encrypted


def _finished(rng: random.Random, client: bool) -> bytes:
    """The client's ChangeCipherSpec and encrypted Finished; the server's session tickets."""
    if client:
        return bytes.fromhex("140303000101") + _record(23, rng.randbytes(53))
    return b"".join(_record(23, rng.randbytes(rng.randint(200, 260))) for _ in range(2))


def tls_connection(ctx: Context, sub: Subscriber, server: Server, t0: int) -> Frames:
    rng = ctx.rng
    tcp = ctx.tcp(sub, server, 443, t0)
    ctx.count_flow("tls", sub)
    tcp.handshake()
    yield from tcp.drain()
    tcp.send(True, client_hello(rng, server.name), tcp.t + rng.randint(300, 3000))
    yield from tcp.drain()
    tcp.send(False, _server_flight(rng), tcp.t + rng.randint(500, 5000))
    yield from tcp.drain()
    tcp.send(True, _finished(rng, True), tcp.t + _ms(rng, 10, 0.5, 200))
    yield from tcp.drain()
    tcp.send(False, _finished(rng, False), tcp.t + rng.randint(500, 5000))
    yield from tcp.drain()
    exchanges = min(40, int(rng.expovariate(1 / 3)) + 1)
    for _ in range(exchanges):
        if ctx.stopping:
            break
        up = int(min(30_000, rng.lognormvariate(0, 0.8) * 700))
        tcp.send(True, _tls_records(ctx, 23, up), tcp.t + _ms(rng, 40, 1.5, 20_000))
        yield from tcp.drain()
        down = int(min(4_000_000, rng.lognormvariate(0, 1.4) * 6000))
        tcp.send(False, _tls_records(ctx, 23, down), tcp.t + _ms(rng, 30, 1.0, 2000))
        yield from tcp.drain()
    tcp.send(True, _tls_records(ctx, 21, 31), tcp.t + _ms(rng, 3000, 1.0, 60_000))  # close_notify alert
    yield from tcp.drain()
    tcp.close(tcp.t + 1000, by_client=True)
    yield from tcp.drain()


def _dns_name(name: str) -> bytes:
    return b"".join(bytes((len(label),)) + label.encode("ascii") for label in name.split(".")) + b"\x00"


def dns_lookup(ctx: Context, sub: Subscriber, target: Server, t0: int) -> Frames:
    """An A query and its answer, and often the AAAA query a dual-stack phone adds (no
    IPv6 here: an empty answer)."""
    rng = ctx.rng
    resolver = rng.choice(ctx.servers["dns"])
    link_up, link_down = ctx.links(sub)
    sport = rng.randrange(1024, 65536)
    up = UdpDir(sub.ip, resolver.ip, sport, 53, 63, rng.getrandbits(16), link_up)
    down = UdpDir(resolver.ip, sub.ip, 53, sport, 61, rng.getrandbits(16), link_down)
    ctx.count_flow("dns", sub)
    qname = _dns_name(target.name)
    t = t0
    for qtype in (1, 28) if rng.random() < 0.3 else (1,):
        qid = rng.getrandbits(16)
        question = qname + struct.pack(">HH", qtype, 1)
        yield t, up.frame(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question)
        answers = b""
        if qtype == 1:
            answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, rng.randint(30, 3600), 4) + target.ip
        t += resolver.rtt_us + rng.randint(200, 30_000)
        yield t, down.frame(struct.pack(">HHHHHH", qid, 0x8180, 1, 1 if answers else 0, 0, 0) + question + answers)
        t += rng.randint(50, 2000)
