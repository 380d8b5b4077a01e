#!/usr/bin/env python3
"""A deterministic nginx access log in combined format plus one `"$http_x_msisdn"` field.

    benchmarks/gen_accesslog.py --size 1GB --out benchmarks/work/access-1GB.log [--seed 7]

The format (`FORMAT`, what `--log-format` must be given to read the last field):

    log_format msisdn '$remote_addr - $remote_user [$time_local] "$request" $status '
                      '$body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_msisdn"';

Traffic of a mobile operator's web front: subscribers in 10.0.0.0/8 (a few thousand per
100 MB), one second of log per ~60 lines from 2012-01-20 08:00 UTC, pages and API calls
with query strings, referers, and handset user agents from a fixed pool. `--msisdn-share`
(0.2) of lines carry the number the operator's gateway injected (UK numbers of Ofcom's
drama range, +44 7700 900xxx, stable per subscriber); the others log `-`. Values are
escaped as nginx escapes them: a `"` in a user agent or referer is written `\\x22`.

Same `--seed` and `--size` give a byte-identical file. `PATH.truth.json` records the
lines, the lines with a number and the distinct numbers, for the benchmark to check.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" "$http_x_msisdn"'
)
START = 1327046400  # 2012-01-20 08:00:00 UTC
LINES_PER_SECOND = 60
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
USER_AGENTS = (
    "Mozilla/5.0 (Linux; U; Android 2.3.6; en-gb; GT-S5830 Build/GINGERBREAD) AppleWebKit/533.1 (KHTML, like Gecko) "
    "Version/4.0 Mobile Safari/533.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 5_0_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Version/5.1 "
    "Mobile/9A405 Safari/7534.48.3",
    "Mozilla/5.0 (BlackBerry; U; BlackBerry 9800; en-GB) AppleWebKit/534.8+ (KHTML, like Gecko) Version/6.0.0.600 "
    "Mobile Safari/534.8+",
    "Nokia6300/2.0 (07.21) Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Link/6.3.1.20.0",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/6.5.26955/27.1407; U; en) Presto/2.8.119 Version/11.10",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; en-gb; HTC Sensation Z710e Build/IML74K) AppleWebKit/534.30 "
    "(KHTML, like Gecko) Version/4.0 Mobile Safari/534.30 \\x22quoted-token\\x22",
    "SAMSUNG-GT-S3650/S3650XXIK1 Profile/MIDP-2.0 Configuration/CLDC-1.1 UNTRUSTED/1.0",
    "Dalvik/1.4.0 (Linux; U; Android 2.3.5; HTC Desire S Build/GRJ90)",
    "okhttp/2.7.5",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/535.7 (KHTML, like Gecko) Chrome/16.0.912.75 Safari/535.7",
)
HOSTS = ("m.example.co.uk", "api.example.com", "wap.operator.example", "news.example.org", "shop.example.net")
PATHS = (
    "/",
    "/index.html",
    "/news/{n}.html",
    "/api/v1/account?id={n}&lang=en",
    "/api/v1/balance",
    "/img/p{n}.jpg",
    "/static/app.{n}.js",
    "/search?q=weather+{n}&page=2",
    "/billing/subscribe?service={n}&ref=portal",
    "/ads/click?cid={n}&cb=1327046{n}",
)
STATUSES = (200,) * 17 + (304, 302, 404)


def msisdn(subscriber: int) -> str:
    return f"447700900{subscriber % 1000:03d}"


def clf_time(second: int) -> str:
    t = time.gmtime(second)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def generate(out: Path, size: int, seed: int, share: float) -> dict[str, object]:
    rng = random.Random(seed)
    subscribers = max(100, size // 30_000)
    written = lines = with_number = 0
    numbers: set[str] = set()
    second = START
    stamp = clf_time(second)
    with open(out, "w", encoding="ascii", newline="\n") as f:
        block: list[str] = []
        while written < size:
            if lines % LINES_PER_SECOND == 0:
                second += 1
                stamp = clf_time(second)
            sub = rng.randrange(subscribers)
            ip = f"10.{sub >> 16 & 255}.{sub >> 8 & 255}.{sub & 255}"
            host = HOSTS[sub % len(HOSTS)]
            path = rng.choice(PATHS).format(n=rng.randrange(100_000))
            method = "POST" if path.startswith("/api/") and rng.random() < 0.3 else "GET"
            status = rng.choice(STATUSES)
            size_sent = 0 if status in (304, 302) else rng.randrange(200, 60_000)
            referer = f"http://{host}{rng.choice(PATHS[:3]).format(n=sub)}" if rng.random() < 0.7 else "-"
            agent = USER_AGENTS[(sub * 7 + (lines & 1)) % len(USER_AGENTS)]
            number = "-"
            if rng.random() < share:
                number = msisdn(sub)
                with_number += 1
                numbers.add(number)
            line = (
                f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size_sent} "{referer}" "{agent}" "{number}"\n'
            )
            block.append(line)
            written += len(line)
            lines += 1
            if len(block) >= 10_000:
                f.write("".join(block))
                block.clear()
        f.write("".join(block))
    return {
        "format": FORMAT,
        "bytes": written,
        "lines": lines,
        "lines_with_msisdn": with_number,
        "distinct_msisdns": sorted("+" + n for n in numbers),
        "seed": seed,
    }


def parse_size(text: str) -> int:
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "K": 10**3, "M": 10**6, "G": 10**9}
    for unit, scale in sorted(units.items(), key=lambda u: -len(u[0])):
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * scale)
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1GB", help="approximate size, e.g. 200MB, 1GB (default 1GB)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "work" / "access-1GB.log")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--msisdn-share", type=float, default=0.2, help="share of lines with a number (0.2)")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    truth = generate(args.out, parse_size(args.size), args.seed, args.msisdn_share)
    Path(str(args.out) + ".truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    print(
        f"{args.out}: {truth['bytes']} bytes, {truth['lines']} lines, {truth['lines_with_msisdn']} with a number "
        f"({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
