"""Named limits: every bound on memory or work, with the reason for its default.

All of them can be changed from the API (`analyze(paths, limits=Limits(...))` or
`analyze(paths, max_live_flows=...)`) and from the CLI (`--limit NAME=VALUE`). Hitting
one records an anomaly naming it; it never means unbounded memory or a hang.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from analyzer.errors import UsageError

KiB = 1024
MiB = 1024 * KiB


def _limit(default: int, doc: str) -> Any:
    """A limit with its reason, kept as field metadata: one text for code, CLI and docs."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True, slots=True)
class Limits:
    max_header_block_bytes: int = _limit(
        64 * KiB,
        "h11 allows 16 KiB and Apache 8 KiB per field; real enriched requests with long cookies reach 10-20 "
        "KiB. 64 KiB keeps every real header block and stops a flow that never sends CRLFCRLF from growing a "
        "buffer without end.",
    )
    max_headers_per_message: int = _limit(
        256,
        "Apache's LimitRequestFields is 100; browsers send 10-30. Past this the rest of the block is kept as "
        "one anomaly, not as rows.",
    )
    max_body_prefix_bytes: int = _limit(
        64 * KiB,
        "Bytes of each request body kept (after transfer decoding) for detection to read: forms, JSON and MMS"
        " PDUs a device sends are small; past this a body is framed and skipped, never copied.",
    )
    max_response_body_prefix_bytes: int = _limit(
        4 * KiB,
        "The same for response bodies, which are most of a capture's bytes. Header-echo pages, the "
        "response that proves a number reached a site, print the headers in their first few hundred "
        "bytes; every byte kept is also searched, so a short prefix keeps detection cheap.",
    )
    max_decoded_body_bytes: int = _limit(
        128 * KiB,
        "Bytes of content-decoded body (gzip, deflate, br, zstd) produced from a prefix. A decompression bomb"
        " stops here.",
    )
    max_live_flows: int = _limit(
        200_000,
        "Connections tracked at once. A gateway capture has a few thousand live; past this the least recently"
        " seen flow is flushed (its messages kept, an anomaly recorded).",
    )
    max_reassembly_bytes_per_flow: int = _limit(
        4 * MiB,
        "Out-of-order bytes held per direction while waiting for a missing segment. A real receive window is "
        "at most 1 GiB in theory, in practice a few MiB; past this the hole is declared a gap and parsing "
        "resynchronises.",
    )
    max_pending_segments_per_flow: int = _limit(
        4096, "Out-of-order segments held per direction (bounds the per-segment bookkeeping when segments are tiny)."
    )
    max_pending_requests_per_flow: int = _limit(
        100,
        "Requests waiting for their responses on one connection (Zeek's max_pending_requests is 100); past "
        "this the oldest are dropped from pairing.",
    )
    max_resync_scan_bytes: int = _limit(
        256 * KiB,
        "A flow without a SYN may be picked up in the middle of a body; lineid scans this many bytes for a "
        "message start before it gives the flow up as not HTTP.",
    )
    flow_idle_timeout_s: int = _limit(
        300,
        "Seconds without a packet before a flow is flushed (capture time). Long-poll HTTP rarely idles over 5"
        " minutes; Zeek's tcp_inactivity_timeout is 5 min as well.",
    )
    max_fragment_datagrams: int = _limit(
        4096,
        "IPv4/IPv6 datagrams being reassembled from fragments at once, and seconds a fragment waits for its "
        "siblings (RFC 791 suggests 15 s; Linux uses 30 s).",
    )
    fragment_timeout_s: int = _limit(30, "")
    max_anomalies_per_code: int = _limit(
        1000, "Anomaly rows kept per code and input; the rest are counted in one summary row."
    )
    max_har_entry_bytes: int = _limit(
        64 * MiB,
        "Bytes of one HAR entry (a single request/response pair as JSON). HAR files embed response bodies; "
        "one entry past this is skipped with an anomaly.",
    )
    detection_memo_fields: int = _limit(
        65_536,
        "Distinct header fields, URIs and small bodies whose findings detection remembers (a gateway repeats "
        "a browser's headers and a subscriber's enrichment on every request: 50 MB of Gi traffic has ~40 000 "
        "fields but ~5 000 distinct ones). When full the memo is emptied and refilled; nothing is lost.",
    )
    detection_memo_chars: int = _limit(
        16_000_000,
        "Characters (and body bytes) that memo may hold, so a capture of unique multi-kilobyte values cannot "
        "keep hundreds of megabytes alive; a longer single value is read each time, never remembered.",
    )

    def replace(self, **changes: Any) -> Limits:
        """A copy with some limits changed; unknown names are a UsageError."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise UsageError(f"unknown limit(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for name, value in changes.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise UsageError(f"limit {name} must be a positive integer, not {value!r}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def markdown(cls) -> str:
        """The table in docs/limits.md (kept equal by a test)."""
        lines = [
            "# Limits",
            "",
            "Every bound on memory or work, with its reason. Set them from the API",
            "(`analyze(paths, max_live_flows=50_000)` or `limits=Limits(...)`) or the CLI",
            "(`--limit max_live_flows=50000`). Hitting one records an anomaly; it never means",
            "unbounded memory or a hang. Generated by `python -m analyzer.docs`.",
            "",
            "| limit | default | why |",
            "|---|---|---|",
        ]
        for f in dataclasses.fields(cls):
            lines.append(f"| `{f.name}` | {f.default:,} | {f.metadata['doc']} |")
        return "\n".join(lines) + "\n"


DEFAULT_LIMITS = Limits()
