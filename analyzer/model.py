"""The records every stage exchanges: frozen, slotted, carrying their provenance.

A record keeps what came off the wire (raw header names, wire order, duplicates, bytes
that are not ASCII) and adds normalised views beside it, never instead of it. Timestamps
are integer nanoseconds since the Unix epoch, UTC: exact for pcap (µs/ns resolution)
and cheap to turn into `datetime64[ns, UTC]` at the DataFrame boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["request", "response"]


def decode_wire_text(raw: bytes) -> str:
    """Bytes off the wire as text: UTF-8 where valid, every other byte as ``\\xNN``.

    Nothing is dropped and the result always encodes (Parquet, JSON, HTML), unlike
    surrogate escapes; the exact bytes stay available on the record.
    """
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Who talked to whom, and over what path. Shared by all messages of one flow."""

    flow_id: str | None = None
    community_id: str | None = None
    client_ip: str | None = None
    client_port: int | None = None
    server_ip: str | None = None
    server_port: int | None = None
    vlan: int | None = None
    inner_vlan: int | None = None
    tunnel: str | None = None  # 'gtpu' | 'vxlan' | 'gre' | 'teredo'
    tunnel_id: int | None = None  # GTP TEID, VXLAN VNI or GRE key, of this direction


NO_ENDPOINTS = Endpoints()


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """One HTTP request or response, with where it came from.

    `headers` holds `(raw_name, value)` pairs in wire order, duplicates kept; both are
    text decoded by `decode_wire_text`. `body` is the transfer-decoded (de-chunked) body
    prefix, at most `Limits.max_body_prefix_bytes`; `body_len` is how many body bytes the
    message really had. For a response, `method`, `uri` and `host` are those of the
    request it answers (when that request was seen).
    """

    message_id: int
    source: str
    source_kind: str
    ts: int | None  # ns since epoch, UTC, of the message's first byte (None: unknown)
    direction: Direction
    endpoints: Endpoints
    frame_first: int | None = None
    frame_last: int | None = None
    har_entry: int | None = None
    line: int | None = None
    trans_depth: int | None = None
    method: str | None = None
    uri: str | None = None
    host: str | None = None
    version: str | None = None
    status: int | None = None
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    body_len: int = 0
    body_truncated: bool = False
    content_type: str | None = None
    content_encoding: str | None = None
    gap: bool = False  # bytes of this message were missing from the capture
    malformed: bool = False
    partial: bool = False  # the start line was never seen: header lines of a cut block

    def header_values(self, name: str) -> list[str]:
        """Values of every header called `name` (any case), in wire order."""
        wanted = name.lower()
        return [value for raw, value in self.headers if raw.lower() == wanted]


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a message came from, without its content: what a finding kept for later
    (a digest matched at the end of the analysis) needs, and no more memory than that."""

    message_id: int
    source: str
    source_kind: str
    ts: int | None
    direction: Direction
    endpoints: Endpoints
    frame_first: int | None
    frame_last: int | None
    har_entry: int | None
    line: int | None
    host: str | None
    uri: str | None

    @classmethod
    def of(cls, msg: HttpMessage) -> MessageRef:
        return cls(
            msg.message_id,
            msg.source,
            msg.source_kind,
            msg.ts,
            msg.direction,
            msg.endpoints,
            msg.frame_first,
            msg.frame_last,
            msg.har_entry,
            msg.line,
            msg.host,
            msg.uri,
        )


Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A named oddity in an input, with where it was seen. Codes: `analyzer.anomalies`."""

    code: str
    severity: Severity
    source: str
    detail: str = ""
    frame: int | None = None
    har_entry: int | None = None
    line: int | None = None
    offset: int | None = None  # byte offset in the (decompressed) input
    flow_id: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One identifier seen in one place of one message."""

    message_id: int
    where: str  # header | query | path | cookie | set-cookie | body | redirect
    field: str  # header name, parameter name, cookie name, body key
    kind: str  # msisdn | imsi | imei | tracking-token | opaque-subscriber-id | hashed-msisdn
    value: str  # as it appeared (decoded from the wire, before our decoders)
    identifier: str  # normalised: E.164 for numbers, digits for IMSI/IMEI, token as is
    encoding: str  # plain | hex | base64 | url | md5 | sha1 | sha256
    rule: str
    confidence: str  # low | medium | high
    reason: str
    country: str | None = None
    carrier: str | None = None
