"""Named limits: every bound on memory or work, with the reason for its default.

All of them can be changed from the API (`analyze(paths, limits=Limits(...))` or
`analyze(paths, max_live_flows=...)`) and from the CLI (`--limit NAME=VALUE`). Hitting
one records an anomaly naming it; it never means unbounded memory or a hang.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from analyzer.errors import UsageError

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True, slots=True)
class Limits:
    # h11 allows 16 KiB and Apache 8 KiB per field; real enriched requests with long
    # cookies reach 10-20 KiB. 64 KiB keeps every real header block and stops a flow
    # that never sends CRLFCRLF from growing a buffer without end.
    max_header_block_bytes: int = 64 * KiB
    # Apache's LimitRequestFields is 100; browsers send 10-30. Past this the rest of the
    # block is kept as one anomaly, not as rows.
    max_headers_per_message: int = 256
    # Bytes of each request body kept (after transfer decoding) for detection to read:
    # forms, JSON and MMS PDUs a device sends are small; past this a body is framed and
    # skipped, never copied.
    max_body_prefix_bytes: int = 64 * KiB
    # The same for response bodies, which are most of a capture's bytes: header-echo pages
    # and API answers that repeat a number are small, so a shorter prefix keeps them.
    max_response_body_prefix_bytes: int = 16 * KiB
    # Bytes of content-decoded body (gzip, deflate, br, zstd) produced from a prefix. A
    # decompression bomb stops here.
    max_decoded_body_bytes: int = 128 * KiB
    # Connections tracked at once. A gateway capture has a few thousand live; past this
    # the least recently seen flow is flushed (its messages kept, an anomaly recorded).
    max_live_flows: int = 200_000
    # Out-of-order bytes held per direction while waiting for a missing segment. A real
    # receive window is at most 1 GiB in theory, in practice a few MiB; past this the hole
    # is declared a gap and parsing resynchronises.
    max_reassembly_bytes_per_flow: int = 4 * MiB
    # Out-of-order segments held per direction (bounds the per-segment bookkeeping when
    # segments are tiny).
    max_pending_segments_per_flow: int = 4096
    # Requests waiting for their responses on one connection (Zeek's
    # max_pending_requests is 100); past this the oldest are dropped from pairing.
    max_pending_requests_per_flow: int = 100
    # A flow without a SYN may be picked up in the middle of a body; lineid scans this
    # many bytes for a message start before it gives the flow up as not HTTP.
    max_resync_scan_bytes: int = 256 * KiB
    # Seconds without a packet before a flow is flushed (capture time). Long-poll HTTP
    # rarely idles over 5 minutes; Zeek's tcp_inactivity_timeout is 5 min as well.
    flow_idle_timeout_s: int = 300
    # IPv4/IPv6 datagrams being reassembled from fragments at once, and seconds a
    # fragment waits for its siblings (RFC 791 suggests 15 s; Linux uses 30 s).
    max_fragment_datagrams: int = 4096
    fragment_timeout_s: int = 30
    # Anomaly rows kept per code and input; the rest are counted in one summary row.
    max_anomalies_per_code: int = 1000
    # Bytes of one HAR entry (a single request/response pair as JSON). HAR files embed
    # response bodies; one entry past this is skipped with an anomaly.
    max_har_entry_bytes: int = 64 * MiB

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


DEFAULT_LIMITS = Limits()
