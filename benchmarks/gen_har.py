"""Write a large, deterministic, Chrome-like HAR file for the memory benchmark.

    python benchmarks/gen_har.py OUT.har [--mb 220] [--seed 2012] [--profile page-load|api]

The file imitates a DevTools export "with content" of a long mobile browsing session:
pretty-printed with two spaces (as Chrome writes it), a page every 500 entries, 12-20
request headers (most carrying an `x-up-calling-line-id`, the header lineid looks for),
cookies, query strings, POST bodies, and response bodies. Two mixes of resources:

- `page-load` (default): roughly what a mobile page load fetches, where images and
  scripts carry most of the bytes (HTTP Archive's median page: ~70 requests, ~2 MB);
  base64 images and fonts as Chrome embeds them. About 30 KB an entry.
- `api`: an app's API traffic, mostly small JSON answers, so headers are a far larger
  share of the bytes (about 11 KB an entry). The harder case for lineid, whose tables
  keep every header.

The same seed, size and profile give the same bytes; the file is written entry by entry,
so generating it needs no memory to speak of. It is never committed: give it a path
outside the repository.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ENTRIES_PER_PAGE = 500
HOSTS = (*(f"www.site{i:03d}.example" for i in range(200)), "api.news.example", "cdn.static.example")
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 12; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
_LOREM = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
    "et dolore magna aliqua subscriber number gateway operator header network mobile"
)
WORDS = tuple(_LOREM.split(" "))
KINDS = ("json", "html", "js", "css", "image", "font", "post")
# Weights of each kind of resource, per profile (see the module docstring).
PROFILES = {
    "page-load": (20, 5, 25, 6, 34, 4, 6),
    "api": (60, 5, 10, 0, 5, 0, 20),
}
# Response body sizes in bytes (before base64 for binary kinds), per kind of resource.
BODY_SIZES = {
    "json": (200, 2_500),
    "html": (5_000, 60_000),
    "js": (2_000, 60_000),
    "css": (2_000, 30_000),
    "image": (2_000, 80_000),
    "font": (15_000, 50_000),
    "post": (800, 801),
}
BINARY = {"image": "image/jpeg", "font": "font/woff2"}
MIME_TYPES = {
    "json": "application/json",
    "html": "text/html",
    "js": "application/javascript",
    "css": "text/css",
    "post": "text/html",
}
RESOURCE_TYPES = {"json": "xhr", "html": "document", "js": "script", "css": "stylesheet", "post": "xhr"}


def _text(rng: random.Random, size: int) -> str:
    words = []
    total = 0
    while total < size:
        word = rng.choice(WORDS)
        words.append(word)
        total += len(word) + 1
    return " ".join(words)[:size]


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def _nv(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


def make_entry(
    rng: random.Random, index: int, start: datetime, msisdns: list[str], weights: tuple[int, ...]
) -> dict[str, Any]:
    host = rng.choice(HOSTS)
    kind = rng.choices(KINDS, weights=weights)[0]
    path = f"/{rng.choice(WORDS)}/{_token(rng, 8)}"
    query = [("id", str(rng.randrange(10**6))), ("session", _token(rng, 16))] if rng.random() < 0.6 else []
    url = f"http://{host}{path}" + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    cookies = [(f"c{i}", _token(rng, 24)) for i in range(rng.randrange(0, 4))]
    req_headers = [
        ("Host", host),
        ("Connection", "keep-alive"),
        ("User-Agent", USER_AGENT),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept-Language", "en-GB,en;q=0.9"),
        ("Referer", f"http://{rng.choice(HOSTS)}/"),
        ("X-Forwarded-For", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"),
        ("Via", "1.1 wap-gw03.operator.example"),
    ]
    if rng.random() < 0.7:
        req_headers.append(("x-up-calling-line-id", rng.choice(msisdns)))
    req_headers += [(f"X-Client-{i}", _token(rng, rng.randrange(8, 40))) for i in range(rng.randrange(3, 9))]
    if cookies:
        req_headers.append(("Cookie", "; ".join(f"{n}={v}" for n, v in cookies)))
    method = "POST" if kind == "post" else "GET"
    post_data: dict[str, Any] | None = None
    if kind == "post":
        form = [("msisdn", rng.choice(msisdns)), ("token", _token(rng, 32)), ("note", _text(rng, 200))]
        text = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in form)
        post_data = {"mimeType": "application/x-www-form-urlencoded", "text": text, "params": _nv(form)}
        req_headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": _nv(req_headers),
        "queryString": _nv(query),
        "cookies": _nv(cookies),
        "headersSize": -1,
        "bodySize": len(post_data["text"]) if post_data else 0,
    }
    if post_data:
        request["postData"] = post_data
    content: dict[str, Any]
    if kind in BINARY:
        raw = rng.randbytes(rng.randrange(*BODY_SIZES[kind]))
        text = base64.b64encode(raw).decode()
        content = {"size": len(raw), "mimeType": BINARY[kind], "text": text, "encoding": "base64"}
    else:
        mime = MIME_TYPES[kind]
        body = _text(rng, rng.randrange(*BODY_SIZES[kind]))
        if kind == "json":
            body = json.dumps({"ok": True, "user": rng.choice(msisdns), "items": body.split()[:40]})
        content = {"size": len(body), "mimeType": mime, "text": body}
    resp_headers = [
        ("Date", (start + timedelta(seconds=index)).strftime("%a, %d %b %Y %H:%M:%S GMT")),
        ("Server", "Apache"),
        ("Content-Type", content["mimeType"]),
        ("Content-Length", str(content["size"])),
        ("Cache-Control", "max-age=3600"),
        ("ETag", f'"{_token(rng, 20)}"'),
        ("Vary", "Accept-Encoding"),
        ("Connection", "keep-alive"),
    ]
    if rng.random() < 0.3:
        resp_headers.append(("Set-Cookie", f"sid={_token(rng, 32)}; Path=/; HttpOnly"))
    response = {
        "status": 200,
        "statusText": "OK",
        "httpVersion": "HTTP/1.1",
        "headers": _nv(resp_headers),
        "cookies": [],
        "content": content,
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": content["size"],
        "_transferSize": content["size"] + 300,
        "_error": None,
    }
    when = start + timedelta(milliseconds=index * 137 + rng.randrange(100))
    return {
        "_initiator": {"type": "parser", "url": f"http://{host}/", "lineNumber": rng.randrange(200)},
        "_priority": rng.choice(("VeryHigh", "High", "Low")),
        "_resourceType": RESOURCE_TYPES.get(kind, kind),
        "cache": {},
        "connection": str(10_000 + index // 6),
        "pageref": f"page_{index // ENTRIES_PER_PAGE + 1}",
        "request": request,
        "response": response,
        "serverIPAddress": f"192.0.2.{rng.randrange(1, 255)}",
        "startedDateTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": 120.5,
        "timings": {
            "blocked": 1.2,
            "dns": -1,
            "ssl": -1,
            "connect": -1,
            "send": 0.3,
            "wait": 95.1,
            "receive": 23.9,
            "_blocked_queueing": 0.8,
        },
    }


def _indented(obj: Any, depth: int) -> str:
    """`obj` as Chrome pretty-prints it, indented to sit `depth` levels deep."""
    return json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)


def generate(path: Path, megabytes: int, seed: int = 2012, profile: str = "page-load") -> int:
    """Write the HAR; returns the number of entries."""
    weights = PROFILES[profile]
    rng = random.Random(seed)
    start = datetime(2012, 1, 10, 8, 0, tzinfo=UTC)
    msisdns = [f"4477{rng.randrange(10**8):08d}" for _ in range(500)]
    target = megabytes * 1024 * 1024
    written = 0
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        head = '{\n  "log": {\n    "version": "1.2",\n    "creator": {"name": "WebInspector", "version": "537.36"},\n'
        head += '    "entries": [\n'
        out.write(head)
        written += len(head)
        while written < target:
            text = (
                ("" if count == 0 else ",\n") + "      " + _indented(make_entry(rng, count, start, msisdns, weights), 3)
            )
            out.write(text)
            written += len(text.encode("utf-8"))
            count += 1
        pages = [
            {
                "startedDateTime": (start + timedelta(milliseconds=i * ENTRIES_PER_PAGE * 137)).isoformat(),
                "id": f"page_{i + 1}",
                "title": f"page {i + 1}",
                "pageTimings": {"onContentLoad": 500.0, "onLoad": 900.0},
            }
            for i in range((count + ENTRIES_PER_PAGE - 1) // ENTRIES_PER_PAGE)
        ]
        # Chrome writes `pages` before `entries`; after them here so the file streams out in
        # one pass. Readers must not care about key order (JSON objects are unordered).
        out.write('\n    ],\n    "pages": ' + _indented(pages, 2) + "\n  }\n}\n")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the HAR (never inside the repository)")
    parser.add_argument("--mb", type=int, default=220, help="approximate size in MiB (default 220)")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="page-load")
    args = parser.parse_args(argv)
    count = generate(args.out, args.mb, args.seed, args.profile)
    print(f"{args.out}: {count} entries, {args.out.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
