#!/usr/bin/env python3
"""Write a deterministic synthetic capture of a mobile operator's Gi link, with ground truth.

    benchmarks/gen_gateway_capture.py --size 200MB --out benchmarks/work/gi-200MB.pcap [--seed 1]

Thousands of subscribers (10.0.0.0/8) browse a few hundred sites by name over plain HTTP
(keep-alive, some pipelining, split request heads, chunked and Content-Length bodies,
gzip), with TLS and DNS around them, a little reordering and retransmission, a few VLAN-
tagged and GTP-U-tunnelled subscribers, and operator enrichment headers carrying their
numbers on a share of requests. Same seed and size give a byte-identical file.

Next to PATH it writes PATH.truth.json: requests and responses written, requests that
carry an identifier, the distinct identifiers, packets, bytes and flows by kind.

The model lives in benchmarks/gateway/ (packets, population, messages, tcp, flows,
traffic); this file only parses options and writes the truth.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `gateway` when run as a script

from gateway.traffic import generate

UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
WRITE_BUFFER = 4 << 20


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in UNITS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a size such as 200MB, 2GB, 500KB or 1048576")
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


def share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: expected a share between 0 and 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, required=True, help="approximate file size: 200MB, 2GB, ...")
    parser.add_argument("--out", type=Path, required=True, help="pcap file to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--enrich-share", type=share, default=0.3, help="share of requests with enrichment headers")
    parser.add_argument("--duration", type=float, default=3600.0, help="approximate span of the capture, seconds")
    parser.add_argument("--out-of-order", type=share, default=0.01, help="share of data segments passed out of order")
    parser.add_argument("--retransmit", type=share, default=0.005, help="share of data segments sent twice")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(args.out, "wb", buffering=WRITE_BUFFER) as out:
        ctx, packets, written, first_ts, last_ts = generate(
            out,
            seed=args.seed,
            size=args.size,
            duration_s=args.duration,
            enrich_share=args.enrich_share,
            out_of_order=args.out_of_order,
            retransmit=args.retransmit,
        )
    elapsed = time.perf_counter() - started
    truth = ctx.truth
    flows = dict(sorted(truth.flows.items()))
    record = {
        "generator": "benchmarks/gen_gateway_capture.py",
        "format_version": 1,
        "seed": args.seed,
        "size_requested": args.size,
        "options": {
            "enrich_share": args.enrich_share,
            "duration_s": args.duration,
            "out_of_order": args.out_of_order,
            "retransmit": args.retransmit,
        },
        "file_bytes": written,
        # Wire bytes: what the frames weigh on the link (file minus pcap headers).
        "wire_bytes": written - 24 - 16 * packets,
        "packets": packets,
        "first_ts_us": first_ts,
        "last_ts_us": last_ts,
        "span_s": round((last_ts - first_ts) / 1e6, 3),
        "http": {
            "requests": truth.requests,
            "responses": truth.responses,
            "requests_with_identifier": truth.requests_with_identifier,
            "split_requests": truth.split_requests,
            "pipelined_requests": truth.pipelined_requests,
            "chunked_responses": truth.chunked_responses,
            "gzip_responses": truth.gzip_responses,
            "methods": dict(sorted(truth.methods.items())),
            "statuses": {str(k): v for k, v in sorted(truth.statuses.items())},
            "enrichment_headers": dict(sorted(truth.enrichment_headers.items())),
        },
        "tcp": {
            "out_of_order_segments": ctx.faults.out_of_order_count,
            "retransmitted_segments": ctx.faults.retransmit_count,
        },
        "flows": {
            "http": flows.get("http", 0),
            "tls": flows.get("tls", 0),
            "dns": flows.get("dns", 0),
            "plain": flows.get("path_plain", 0),
            "vlan": flows.get("path_vlan", 0),
            "gtpu": flows.get("path_gtpu", 0),
        },
        "subscribers": len(ctx.subscribers),
        "active_subscribers": len(truth.active_subscribers),
        "enriched_subscribers": len(truth.enriched_subscribers),
        "servers": {kind: len(servers) for kind, servers in ctx.servers.items()},
        "identifiers": {
            # E.164 numbers with '+', 15-digit IMSIs, and X-UIDH tokens as sent.
            "msisdn": sorted(truth.identifiers["msisdn"]),
            "imsi": sorted(truth.identifiers["imsi"]),
            "uidh": sorted(truth.identifiers["uidh"]),
        },
        "generation_s": round(elapsed, 2),
    }
    truth_path = Path(f"{args.out}.truth.json")
    # generation_s varies between runs; it is the only field that does, and is kept out of
    # the determinism test by comparing the capture, not this file.
    truth_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    if not args.quiet:
        http = record["http"]
        print(
            f"{args.out}: {written / 1e6:.1f} MB, {packets} packets, {http['requests']} requests "
            f"({http['requests_with_identifier']} with an identifier), {http['responses']} responses, "
            f"span {record['span_s']:.0f} s; {elapsed:.1f} s ({written / 1e6 / elapsed:.1f} MB/s)"
        )
        print(f"truth: {truth_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
