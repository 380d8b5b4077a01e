"""HTTP/1.x requests and responses as a 2012-era mobile browser and its servers sent them.

Bodies are slices of pools built once per run (random bytes for media, word soup for
text, a ladder of real gzip streams for compressed text), so a response costs a slice
and a join, not content generation. Sizes follow long-tailed (log-normal) laws per kind:
a few KB of HTML and JSON, tens to hundreds of KB of images and scripts, a few
multi-MB downloads.
"""

from __future__ import annotations

import bisect
import gzip
import json
import random
import struct
from dataclasses import dataclass
from email.utils import formatdate

from gateway.population import WORDS, Server, Subscriber

# 2012-01-20 08:00:00 UTC: inside the window when a UK gateway sent numbers to every site.
EPOCH_S = 1_327_046_400
BINARY_POOL_BYTES = 10 << 20
TEXT_POOL_BYTES = 1 << 20
LADDER_STEPS = 48


@dataclass(frozen=True)
class Kind:
    """A kind of resource: how its path looks, what it weighs, how it is served."""

    name: str
    content_type: str
    median: int  # body bytes
    sigma: float
    low: int
    high: int
    gzip: float  # share sent with Content-Encoding: gzip
    chunked: float  # share sent with Transfer-Encoding: chunked
    accept: str


ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_IMG = "image/png,image/*;q=0.8,*/*;q=0.5"
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("html", "text/html; charset=utf-8", 12_000, 0.8, 600, 250_000, 0.6, 0.5, ACCEPT_HTML),
        Kind("json", "application/json; charset=utf-8", 1_500, 1.0, 40, 120_000, 0.3, 0.4, "application/json"),
        Kind("poll", "application/json; charset=utf-8", 300, 0.8, 40, 8_000, 0.0, 0.3, "application/json"),
        Kind("icon", "image/gif", 2_500, 0.9, 43, 40_000, 0.0, 0.0, ACCEPT_IMG),
        Kind("img", "image/jpeg", 10_000, 0.9, 1_500, 900_000, 0.0, 0.0, ACCEPT_IMG),
        Kind("js", "application/javascript", 12_000, 1.0, 300, 450_000, 0.5, 0.2, "*/*"),
        Kind("css", "text/css", 7_000, 0.9, 200, 150_000, 0.5, 0.2, "text/css,*/*;q=0.1"),
        Kind("beacon", "image/gif", 43, 0.0, 43, 43, 0.0, 0.0, ACCEPT_IMG),
        Kind("download", "application/vnd.android.package-archive", 2_500_000, 0.6, 500_000, 8_000_000, 0, 0, "*/*"),
    )
}
TEXT_KINDS = frozenset(("html", "json", "poll", "js", "css"))
JFIF_HEAD = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000"  # SOI, APP0 JFIF 1.1
    "ffc0000b080078008001011100"  # SOF0: 8 bit, 120x128, one component
    "ffda0008010100003f00"  # SOS: the entropy-coded data follows
)
JFIF_END = b"\xff\xd9"
ZIP_HEAD = b"PK\x03\x04\x14\x00\x08\x08\x08\x00"
GIF_1X1 = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")


class Ladder:
    """Prepared bodies of growing size; `pick` gives the one nearest above a wanted size."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = sorted(bodies, key=len)
        self.sizes = [len(b) for b in self.bodies]

    def pick(self, size: int) -> bytes:
        return self.bodies[min(bisect.bisect_left(self.sizes, size), len(self.bodies) - 1)]


def _json_doc(rng: random.Random, size: int) -> bytes:
    items = []
    for i in range(max(1, size // 110)):
        items.append(
            {
                "id": rng.randrange(10**6),
                "title": " ".join(rng.choices(WORDS, k=rng.randint(2, 6))),
                "url": f"/news/{rng.choice(WORDS)}-{rng.randrange(10**6)}.html",
                "ts": EPOCH_S - rng.randrange(10**6),
                "score": round(rng.random() * 5, 2),
                "rank": i,
            }
        )
    return json.dumps({"status": "ok", "items": items}, separators=(",", ":")).encode("ascii")


def _gif(rng: random.Random, size: int) -> bytes:
    """A structurally valid GIF: screen, one image, LZW data in 255-byte sub-blocks."""
    data = rng.randbytes(max(8, size - 30))
    blocks = b"".join(bytes((len(c),)) + c for c in (data[i : i + 255] for i in range(0, len(data), 255)))
    screen = struct.pack("<HHBBB", 64, 64, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 64, 64, 0) + b"\x08"
    return b"GIF89a" + screen + image + blocks + b"\x00\x3b"


class Pools:
    """Body material, built once (~25 MB, whatever the capture size). Bodies are valid for
    their type (JSON parses, gzip inflates, GIF and JPEG have their structure), so a
    dissector spends on them what it would on real ones, not on error paths."""

    def __init__(self, rng: random.Random) -> None:
        self.binary = rng.randbytes(BINARY_POOL_BYTES)
        # JPEG entropy-coded data has no bare 0xFF (it would be a marker): map it away.
        self.entropy = self.binary.translate(bytes(range(255)) + b"\xfe")
        tags = ("<p>", "</p>\n", '<div class="item">', "</div>\n", '<a href="/', '">', "</a> ", ", ", ". ")
        words = rng.choices(WORDS + list(tags), k=TEXT_POOL_BYTES // 5)
        self.text = " ".join(words).encode("ascii")[:TEXT_POOL_BYTES]
        sizes = [int(60 * 1.2**i) for i in range(LADDER_STEPS)]  # 60 B to ~380 KB
        texts = []
        for n in sizes[10:]:
            start = rng.randrange(len(self.text) - n)
            texts.append(self.text[start : start + n])
        jsons = [_json_doc(rng, n) for n in sizes[:40]]
        # mtime=0: the same gzip bytes every run.
        self.ladders = {
            "text.gz": Ladder([gzip.compress(t, 6, mtime=0) for t in texts]),
            "json": Ladder(jsons),
            "json.gz": Ladder([gzip.compress(j, 6, mtime=0) for j in jsons]),
            "icon": Ladder([_gif(rng, n) for n in sizes[:30]]),
        }

    def body(self, rng: random.Random, kind: str, size: int, gzipped: bool) -> bytes:
        if kind == "beacon":
            return GIF_1X1
        if kind in ("json", "poll"):
            return self.ladders["json.gz" if gzipped else "json"].pick(size)
        if gzipped:
            return self.ladders["text.gz"].pick(size)
        if kind == "icon":
            return self.ladders["icon"].pick(size)
        if kind == "img":
            n = min(size, len(self.entropy)) - len(JFIF_HEAD) - 2
            start = rng.randrange(len(self.entropy) - n)
            return JFIF_HEAD + self.entropy[start : start + n] + JFIF_END
        pool = self.text if kind in TEXT_KINDS else self.binary
        n = min(size, len(pool) - 16)
        start = rng.randrange(len(pool) - n)
        head = ZIP_HEAD if kind == "download" else b""
        return head + pool[start + len(head) : start + n]


def body_size(rng: random.Random, kind: Kind) -> int:
    if kind.sigma == 0:
        return kind.median
    return max(kind.low, min(kind.high, int(rng.lognormvariate(0, kind.sigma) * kind.median)))


def _slug(rng: random.Random) -> str:
    return "-".join(rng.choices(WORDS, k=rng.randint(2, 5)))


def path_for(rng: random.Random, kind: str) -> str:
    if kind == "html":
        return rng.choice(
            (
                "/",
                f"/news/{_slug(rng)}-{rng.randrange(10**5, 10**7)}.html",
                f"/article/{rng.randrange(10**6)}",
                f"/index.php?id={rng.randrange(1, 9999)}&p={rng.randint(1, 9)}",
                f"/m/{_slug(rng)}",
            )
        )
    if kind == "poll":
        return f"/v2/sync?device={rng.getrandbits(64):016x}&since={EPOCH_S - rng.randrange(86400)}&fmt=json"
    if kind == "json":
        # jQuery's cache buster: epoch milliseconds, a 13-digit decoy.
        busting = (EPOCH_S + rng.randrange(4 * 3600)) * 1000 + rng.randrange(1000)
        return f"/api/v1/{rng.choice(WORDS)}?page={rng.randint(1, 20)}&limit=20&_={busting}"
    if kind in ("img", "icon"):
        ext = ".gif" if kind == "icon" else ".jpg"
        return rng.choice((f"/img/{rng.getrandbits(48):012x}{ext}", f"/images/{_slug(rng)}_{rng.randrange(999)}{ext}"))
    if kind == "js":
        return f"/js/{rng.choice(WORDS)}.min.js?v={rng.randrange(100, 99999)}"
    if kind == "css":
        return f"/css/{rng.choice(WORDS)}.css"
    if kind == "beacon":
        # Analytics hits carry 10-digit client ids: decoys for a careless number finder.
        cid = f"{rng.randrange(10**9, 10**10)}.{EPOCH_S - rng.randrange(10**7)}"
        return f"/collect?v=1&tid=UA-{rng.randrange(10**7, 10**8)}-1&cid={cid}&t=pageview&dp=%2F{rng.choice(WORDS)}"
    return f"/download/{rng.choice(WORDS)}-{rng.randint(1, 9)}.{rng.randint(0, 9)}.apk"


def _cookie(sub: Subscriber, server: Server) -> str:
    # Stable per (subscriber, host) without storing anything: derived from both seeds.
    key = (sub.seed * 1_000_003 + sum(server.name.encode())) & ((1 << 64) - 1)
    ga = f"GA1.2.{1_000_000_000 + key % 8_999_999_999}.{EPOCH_S - key % 40_000_000}"
    session = f"{key * 0x9E3779B97F4A7C15 & ((1 << 128) - 1):032x}"
    if key & 1:
        return f"_ga={ga}; PHPSESSID={session[:26]}; lang={sub.language[:2]}"
    return f"JSESSIONID={session.upper()}; _ga={ga}; __utmz=1.{EPOCH_S - key % 999_999}.1.1.utmcsr=(direct)"


@dataclass
class Request:
    data: bytes
    method: str
    kind: str
    enriched: bool
    conditional: bool


def build_request(
    rng: random.Random,
    sub: Subscriber,
    server: Server,
    kind: str,
    *,
    referer: str | None,
    enrich_share: float,
    now_s: float,
    version: str = "1.1",
    method: str = "GET",
) -> Request:
    path = path_for(rng, kind)
    body = b""
    if method == "POST":
        path = f"/api/{rng.choice(WORDS)}/submit"
        body = "&".join(f"{w}={rng.choice(WORDS)}" for w in rng.choices(WORDS, k=rng.randint(3, 60))).encode()
    lines = [f"{method} {path} HTTP/{version}", f"Host: {server.name}"]
    if version == "1.1":
        lines.append("Connection: keep-alive")
    lines += [f"User-Agent: {sub.user_agent}", f"Accept: {KINDS[kind].accept}"]
    if referer:
        lines.append(f"Referer: {referer}")
    lines += ["Accept-Encoding: gzip,deflate", f"Accept-Language: {sub.language}"]
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    if rng.random() < 0.6:
        lines.append(f"Cookie: {_cookie(sub, server)}")
    conditional = kind in ("img", "icon", "js", "css") and rng.random() < 0.25
    if conditional:
        lines.append(f"If-Modified-Since: {formatdate(EPOCH_S - rng.randrange(86400, 90 * 86400), usegmt=True)}")
    if rng.random() < 0.12:
        hops = (
            sub.ip_text if rng.random() < 0.7 else f"{sub.ip_text}, 172.16.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        )
        lines.append(f"X-Forwarded-For: {hops}")
    enriched = rng.random() < enrich_share
    if enriched:
        extra = [f"{name}: {value}" for name, value in sub.enrichment]
        if rng.random() < 0.3:
            lines[2:2] = extra  # some gateways insert right after Host
        else:
            lines += extra
    return Request(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body, method, kind, enriched, conditional)


@dataclass
class Response:
    data: bytes
    status: int
    chunked: bool
    gzipped: bool


def _chunked(rng: random.Random, body: bytes) -> bytes:
    parts: list[bytes] = []
    pos = 0
    while pos < len(body):
        # Servers flush at their buffer size (4/8 KB) or whatever the application wrote.
        n = rng.choice((4096, 8192, 8192, rng.randint(200, 12000)))
        piece = body[pos : pos + n]
        parts += [b"%x\r\n" % len(piece), piece, b"\r\n"]
        pos += n
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def build_response(
    rng: random.Random, pools: Pools, server: Server, request: Request, now_s: float, *, close: bool
) -> Response:
    kind = KINDS[request.kind]
    date = formatdate(EPOCH_S + now_s, usegmt=True)
    head = [f"Date: {date}", f"Server: {server.software}"]
    status, reason, body, chunked, gzipped = 200, "OK", b"", False, False
    roll = rng.random()
    if request.conditional and roll < 0.7:
        status, reason = 304, "Not Modified"
        head.append(f'ETag: "{rng.getrandbits(40):x}"')
    elif request.kind == "beacon" and roll < 0.4:
        status, reason = 204, "No Content"
    elif request.kind == "html" and roll < 0.03:
        status, reason = 302, "Found"
        head += [f"Location: http://{server.name}/m/{_slug(rng)}", "Content-Length: 0"]
    elif roll > 0.985:
        status, reason = 404, "Not Found"
        body = b"<html><body><h1>Not Found</h1></body></html>\n"
        head += ["Content-Type: text/html; charset=iso-8859-1", f"Content-Length: {len(body)}"]
    else:
        gzipped = rng.random() < kind.gzip
        size = body_size(rng, kind)
        body = pools.body(rng, request.kind, size // 4 if gzipped else size, gzipped)
        head.append(f"Content-Type: {kind.content_type}")
        if gzipped:
            head += ["Content-Encoding: gzip", "Vary: Accept-Encoding"]
        chunked = rng.random() < kind.chunked and request.method != "HEAD"
        if chunked:
            head.append("Transfer-Encoding: chunked")
        else:
            head.append(f"Content-Length: {len(body)}")
        if kind.name in ("img", "icon", "js", "css"):
            head += [
                "Cache-Control: max-age=2592000",
                f"Last-Modified: {formatdate(EPOCH_S - 86400 * 30, usegmt=True)}",
            ]
        elif kind.name == "html" and rng.random() < 0.2:
            head.append(f"Set-Cookie: sid={rng.getrandbits(96):024x}; path=/; HttpOnly")
    head.append("Connection: close" if close else "Connection: keep-alive")
    if request.method == "HEAD":
        body = b""  # a HEAD response announces the length but sends no body
    elif chunked:
        body = _chunked(rng, body)
    text = f"HTTP/1.1 {status} {reason}\r\n" + "\r\n".join(head) + "\r\n\r\n"
    return Response(text.encode("latin-1") + body, status, chunked, gzipped)
