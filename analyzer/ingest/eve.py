"""Suricata EVE JSON, `event_type: http` records → `HttpMessage` records.

Strategy: EVE is one JSON object a line. Lines of other event types (flow, dns, alert,
stats…) are counted and skipped: an alert's `http` object repeats the transaction its
`http` event logs. Each http record (src/output-json-http.c) describes one libhtp
transaction, a request and, when the server answered, its response.

What becomes a header row (nothing else does):

- `request_headers` / `response_headers` (`dump-all-headers`, or only the `custom`
  selection in Suricata 7+), each `{name, value}` in wire order, names as sent. Suricata
  cuts names at 255 and values at 2047 bytes.
- the fields that hold one header's value, when those arrays do not already have that
  header: `http_user_agent` → User-Agent, `http_refer` → Referer, `xff` (inside `http`)
  → X-Forwarded-For, `redirect` → Location, `content_range.raw` → Content-Range, and the
  `custom` fields Suricata before 7 wrote as keys of `http` (`x_forwarded_proto`,
  `accept_encoding`, … → `x-forwarded-proto`, … on the side Suricata's table gives them);
  a `custom` object of name → value pairs is read the same way.
- `hostname` is libhtp's normalised host (lower case, from the URI or Host), so it gives
  `host` (with `:http_port` when logged), not a Host row; `http_content_type` is the
  response's Content-Type without parameters: the response's content_type only.

`flow_id` is flow_id, `tx_id + 1` is trans_depth (1-based, as Zeek's), `src_*` is the
client (EVE logs transactions in flow direction; with Suricata's `xff` overwrite mode
src_ip/dest_ip are the X-Forwarded-For address instead, which the record does not say).
Bodies (`http_request_body`, base64, else `…_printable`) are kept up to the body limits.
The response is emitted when the record has a status or response headers.

Message ids: `make_message_id(source_index, 2 * line, 0)`, `+1` in position for the response.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from analyzer.anomalies import Recorder
from analyzer.ingest.connection import make_message_id
from analyzer.ingest.loglines import Interner, iso_time_ns, iter_blocks, port
from analyzer.ingest.logrecord import new_message
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.sources.evidence import Evidence

SOURCE_KIND = "eve"
QUOTE_CHARS = 80


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Suricata's http_fields table (output-json-http.c): the `custom` config names, request side.
CUSTOM_REQUEST = _words(
    "accept accept_charset accept_encoding accept_language accept_datetime authorization cache_control cookie from"
    " max_forwards origin pragma proxy_authorization range te via x_requested_with dnt x_forwarded_proto"
    " x_authenticated_user x_flash_version true_client_ip org_src_ip x_bluecoat_via referrer referer"
)
CUSTOM_RESPONSE = _words(
    "accept_range age allow connection content_encoding content_language content_length content_location content_md5"
    " content_type date etag expires last_modified link location proxy_authenticate refresh retry_after server"
    " set_cookie trailer transfer_encoding upgrade vary warning www_authenticate"
)
# Keys of the http object that are not header fields, or that are read on their own.
KNOWN_KEYS = _words(
    "hostname http_port url http_user_agent xff http_content_type content_range http_refer http_method protocol"
    " status status_string redirect length request_headers response_headers http_request_body"
    " http_request_body_printable http_response_body http_response_body_printable custom"
)
SINGLE_REQUEST_FIELDS = (("http_user_agent", "User-Agent"), ("http_refer", "Referer"), ("xff", "X-Forwarded-For"))


class _Reader:
    def __init__(self, evidence: Evidence, source_index: int, limits: Limits, recorder: Recorder) -> None:
        self.source = evidence.path
        self.source_index = source_index
        self.limits = limits
        self.recorder = recorder
        self.interner = Interner()
        self.ignored: set[str] = set()
        self.report_once = True

    def bad_field(self, line: int, what: str, value: Any) -> None:
        self.recorder.add("LOG_BAD_FIELD", f"{what} {str(value)[:QUOTE_CHARS]!r} is not understood", line=line)

    def messages(self, record: dict[str, Any], http: dict[str, Any], line: int) -> Iterator[HttpMessage]:
        interner, ip = self.interner, self.interner.ip
        flow_id = record.get("flow_id")
        vlan = record.get("vlan")
        vlans: list[Any] = vlan if isinstance(vlan, list) else []
        try:
            endpoints = interner.endpoints_of(
                ip(_str(record.get("src_ip"))),
                port(record.get("src_port")),
                ip(_str(record.get("dest_ip"))),
                port(record.get("dest_port")),
                _str(flow_id),
                _str(record.get("community_id")),
                vlans[0] if vlans and isinstance(vlans[0], int) else None,
                vlans[-1] if len(vlans) > 1 and isinstance(vlans[-1], int) else None,
            )
        except (TypeError, ValueError) as exc:
            self.bad_field(line, "port", exc)
            endpoints = interner.endpoints_of(None, None, None, None, _str(flow_id))
        ts: int | None = None
        stamp = record.get("timestamp")
        try:
            ts = iso_time_ns(str(stamp)) if stamp is not None else None
        except ValueError:
            self.bad_field(line, "timestamp", stamp)
        tx_id = record.get("tx_id")
        depth = tx_id + 1 if isinstance(tx_id, int) and not isinstance(tx_id, bool) else None
        request, reply = self.headers(http, line)
        status = http.get("status")
        if status is not None and not (isinstance(status, int) and not isinstance(status, bool)):
            status = int(status) if str(status).isdigit() else None
        if status is None and http.get("status_string") is not None:
            self.bad_field(line, "status", http["status_string"])
        method, uri = _text(http, "http_method", interner), _str(http.get("url"))
        host = _header(request, "host") or _hostname(http)
        version = _text(http, "protocol", interner)
        body, body_len = self.body(http, "http_request_body", self.limits.max_body_prefix_bytes, line)
        text = interner.text
        yield new_message(
            make_message_id(self.source_index, 2 * line, 0),
            self.source,
            SOURCE_KIND,
            ts,
            "request",
            endpoints,
            line,
            depth,
            method,
            uri,
            host,
            version,
            None,
            None,
            tuple((text(n), text(v)) for n, v in request),
            body=body,
            body_len=body_len,
            content_type=_header(request, "content-type"),
        )
        if status is None and not reply and http.get("status_string") is None:
            return
        body, body_len = self.body(http, "http_response_body", self.limits.max_response_body_prefix_bytes, line)
        length = http.get("length")
        yield new_message(
            make_message_id(self.source_index, 2 * line + 1, 0),
            self.source,
            SOURCE_KIND,
            ts,
            "response",
            endpoints,
            line,
            depth,
            method,
            uri,
            host,
            None,
            status,
            None,
            tuple((text(n), text(v)) for n, v in reply),
            body=body,
            body_len=length if isinstance(length, int) and length >= len(body) else body_len,
            content_type=_header(reply, "content-type") or _str(http.get("http_content_type")),
        )

    def headers(self, http: dict[str, Any], line: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        request = self.pairs(http.get("request_headers"), "request_headers", line)
        reply = self.pairs(http.get("response_headers"), "response_headers", line)
        singles = [(name, http[key]) for key, name in SINGLE_REQUEST_FIELDS if http.get(key) is not None]
        for key, value in http.items():
            if key in CUSTOM_REQUEST or key in CUSTOM_RESPONSE:
                _add_all(request if key in CUSTOM_REQUEST else reply, key, value)
            elif key not in KNOWN_KEYS and key not in self.ignored:
                self.ignored.add(key)
                self.recorder.add("LOG_FIELD_IGNORED", f"http.{key} is not read", line=line)
        custom = http.get("custom")
        if isinstance(custom, dict):
            for key, value in custom.items():
                _add_all(reply if key.lower() in CUSTOM_RESPONSE else request, key, value)
        for name, value in singles:
            _add(request, name, value)
        if http.get("redirect") is not None:
            _add(reply, "Location", http["redirect"])
        content_range = http.get("content_range")
        if isinstance(content_range, dict) and content_range.get("raw") is not None:
            _add(reply, "Content-Range", content_range["raw"])
        return request, reply

    def pairs(self, value: Any, what: str, line: int) -> list[tuple[str, str]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad_field(line, what, value)
            return []
        out = []
        for entry in value:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("value") is not None:
                out.append((entry["name"], str(entry["value"])))
            else:
                self.bad_field(line, what, entry)
        return out

    def body(self, http: dict[str, Any], key: str, limit: int, line: int) -> tuple[bytes, int]:
        encoded = http.get(key)
        if isinstance(encoded, str):
            try:
                data = base64.b64decode(encoded, validate=True)
                return data[:limit], len(data)
            except (binascii.Error, ValueError):
                self.bad_field(line, key, encoded)
        printable = http.get(key + "_printable")
        if isinstance(printable, str):
            data = printable.encode("utf-8", "backslashreplace")
            return data[:limit], len(data)
        return b"", 0


def _add_all(headers: list[tuple[str, str]], key: str, value: Any) -> None:
    for v in value if isinstance(value, list) else [value]:
        _add(headers, key.replace("_", "-"), v)


def _add(headers: list[tuple[str, str]], name: str, value: Any) -> None:
    """A header from a single-value field, unless the arrays already hold that header."""
    if value is None or _header(headers, name.lower()) is not None:
        return
    headers.append((name, str(value)))


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for raw, value in reversed(headers):
        if raw.lower() == name:
            return value
    return None


def _hostname(http: dict[str, Any]) -> str | None:
    name = http.get("hostname")
    if name is None:
        return None
    return f"{name}:{http['http_port']}" if http.get("http_port") is not None else str(name)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(record: dict[str, Any], key: str, interner: Interner) -> str | None:
    value = record.get(key)
    return None if value is None else interner.text(str(value))


def messages_from_eve(
    evidence: Evidence,
    *,
    source_index: int,
    limits: Limits,
    recorder: Recorder,
    log_format: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Iterator[HttpMessage]:
    """Every message of the http records of one EVE file; other event types are counted."""
    reader = _Reader(evidence, source_index, limits, recorder)
    skipped: Counter[str] = Counter()
    for numbers, lines in iter_blocks(evidence, recorder, shard):
        for line, raw in zip(numbers, lines, strict=True):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as exc:
                recorder.add("LOG_BAD_LINE", f"not JSON ({exc})", line=line)
                continue
            if not isinstance(record, dict):
                recorder.add("LOG_BAD_LINE", "a JSON line that is not an object", line=line)
                continue
            kind = record.get("event_type")
            if kind != "http":
                skipped[str(kind)] += 1
                continue
            http = record.get("http")
            if not isinstance(http, dict):
                recorder.add("LOG_BAD_LINE", "an http event without an http object", line=line)
                continue
            yield from reader.messages(record, http, line)
    if skipped and (shard is None or shard[0] == 0):
        counts = ", ".join(f"{n} {kind}" for kind, n in skipped.most_common())
        recorder.add("LOG_RECORDS_SKIPPED", f"records of other event types: {counts}")
