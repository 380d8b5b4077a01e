"""One HAR entry → its request and response `HttpMessage`: the field mapping, quirks and all.

Each entry is wrapped in haralyzer's `HarEntry` (the entry model), but its accessors are
not trusted with evidence: haralyzer 2.4 raises `KeyError` for any missing field
(`HarEntry.response` even for a missing `request.url`), `TypeError` for Slack-style
`[name, value]` headers, returns `postData._textBase64` from `Request.text` without saying
it is base64, parses `startedDateTime` with dateutil (which accepts a time without a zone,
and words), and reads `connection` as a port. So the fields are read here, typed, from the
entry's objects (`har_fields`). What is missing or malformed becomes a `HAR_MISSING_FIELD`
or `HAR_BAD_FIELD` anomaly and a null, never a guessed value: a HAR without
`serverIPAddress` has no server IP, not 127.0.0.1.

What each message holds, and why:

- `uri` is the origin form (`/path?query`) of the entry's URL, what a capture of the same
  request shows in its request line.
- `host` is the Host header; HTTP/2 and HTTP/3 entries have none (`:authority` instead),
  so the URL's `host[:port]` stands in, which is what that pseudo-header carries.
- `ts` of the request is `startedDateTime`; the response starts after `blocked + dns +
  connect + send + wait` (HAR 1.2: `ssl` is already inside `connect`; -1 means "does not
  apply").
- The body is the content the tool recorded (base64-decoded when it says so), cut to
  `max_body_prefix_bytes` (requests) or `max_response_body_prefix_bytes` (responses), as
  the capture parser cuts it; only that prefix of a base64 image is decoded. Browsers
  store response text already decompressed, so the response's `content_encoding` is None:
  detection must not try to gunzip plain text. A request body is stored as it was sent, so
  the request keeps its Content-Encoding.
"""

from __future__ import annotations

import binascii
import ipaddress
from typing import Any

from haralyzer import HarEntry

from analyzer.ingest.connection import make_message_id
from analyzer.ingest.har_fields import (
    Fields,
    Report,
    base64_bytes,
    json_type,
    parse_har_time,
    pick_headers,
    port_number,
    split_url,
    text_bytes,
)
from analyzer.limits import Limits
from analyzer.model import Endpoints, HttpMessage

SOURCE_KIND = "har"
# What tools write when they do not know the MIME type (Chrome, Safari): no information.
UNKNOWN_MIME = frozenset({"", "x-unknown"})
# Durations from startedDateTime to the response's first byte (`receive` comes after it).
RESPONSE_DELAYS = ("blocked", "dns", "connect", "send")
REQUEST_HEADERS = frozenset({"host", "content-type", "content-encoding"})
RESPONSE_HEADERS = frozenset({"content-type"})
MAX_CACHED_IPS = 65_536


class HarContext:
    """What every entry of one HAR shares, and the caches that make entries cheap."""

    __slots__ = ("connection_is_id", "ips", "limits", "report", "shared", "source", "source_index")

    def __init__(
        self, source: str, source_index: int, limits: Limits, report: Report, *, connection_is_id: bool = True
    ) -> None:
        self.source, self.source_index, self.limits, self.report = source, source_index, limits, report
        # Firefox and Firebug write the server *port* into `connection` (their
        # har-builder.js: `entry.connection = file.remotePort + ""`): no connection id there.
        self.connection_is_id = connection_is_id
        self.ips: dict[str, str | None] = {}  # serverIPAddress as written → canonical text
        self.shared: dict[str, str] = {}  # header values, one str per distinct value


def _request_body(request: dict[str, Any], mime: str | None, fields: Fields) -> tuple[bytes, int]:
    """(body prefix, full length) of `postData`: text, `_textBase64`, or a form's params."""
    limit = fields.limits.max_body_prefix_bytes
    post = request.get("postData")
    if post is None:
        return b"", 0
    if type(post) is not dict:
        fields.bad("request.postData", f"{json_type(post)}, not an object")
        return b"", 0
    b64 = post.get("_textBase64")  # binary uploads (haralyzer's Request.text prefers it too)
    if type(b64) is str and b64:
        try:
            return base64_bytes(b64, limit)
        except binascii.Error as exc:
            fields.bad("request.postData._textBase64", f"not base64 ({exc}); postData.text used instead")
    text = fields.text(post, "text", "request.postData.text", required=False)
    if text:
        return text_bytes(text, limit)
    params = post.get("params")
    if type(params) is not list or not params:
        return b"", 0
    # A form given only as params (Charles does this): its text is rebuilt by joining the
    # pairs back as written, `name=value`, or the bare name when the value is empty, without
    # percent-encoding. Charles lists a JSON body posted as a form as one param named by
    # the whole JSON with an empty value, and this gives back exactly its bytes (bodySize
    # agrees); a form's values stay readable to detection either way. A multipart body
    # cannot be rebuilt without inventing its boundary and part headers, so it is not.
    if mime and not mime.lower().startswith("application/x-www-form-urlencoded"):
        fields.missing("request.postData.text", f"; a {mime[:60]} body is not rebuilt from its params")
        return b"", 0
    pairs = [(p.get("name"), p.get("value")) for p in params if type(p) is dict]
    text = "&".join(f"{n}={v}" if v else n for n, v in pairs if type(n) is str and type(v) in (str, type(None)))
    return text_bytes(text, limit)


def _response_body(content: dict[str, Any], fields: Fields) -> tuple[bytes, int]:
    limit = fields.limits.max_response_body_prefix_bytes
    text = fields.text(content, "text", "response.content.text", required=False)
    if text is None:
        return b"", 0  # not recorded (Firefox without bodies, Chrome for some types)
    encoding = content.get("encoding")
    if encoding is None or encoding == "":
        return text_bytes(text, limit)
    if type(encoding) is str and encoding.lower() == "base64":
        try:
            return base64_bytes(text, limit)
        except binascii.Error as exc:
            fields.bad("response.content.text", f"encoding is base64 but the text is not ({exc}); kept as text")
    else:
        fields.bad("response.content.encoding", f"{encoding!r} is not understood; the text is kept as it is")
    return text_bytes(text, limit)


def _server_ip(raw: dict[str, Any], ctx: HarContext, fields: Fields) -> str | None:
    value = raw.get("serverIPAddress")
    if value is None or value == "":
        fields.missing("serverIPAddress", "; server_ip is left null")
        return None
    if type(value) is not str:
        fields.bad("serverIPAddress", f"{json_type(value)}, not a string")
        return None
    if value in ctx.ips:
        ip = ctx.ips[value]
    else:
        # Chrome and Safari write IPv6 as "[2001:db8::1]"; the text is made canonical, as
        # captures write it, so HAR and pcap rows of one server join.
        text = value.strip().removeprefix("[").removesuffix("]")
        try:
            ip = str(ipaddress.ip_address(text))
        except ValueError:
            ip = None
        if len(ctx.ips) >= MAX_CACHED_IPS:
            ctx.ips.clear()
        ctx.ips[value] = ip
    if ip is None:
        fields.bad("serverIPAddress", f"{value[:100]!r} is not an IP address")
    return ip


def _flow_id(raw: dict[str, Any], ctx: HarContext, fields: Fields) -> str | None:
    connection = raw.get("connection")
    if connection is None:
        return None
    if type(connection) is int or (type(connection) is str and connection):
        return f"{ctx.source_index}:har:{connection}" if ctx.connection_is_id else None
    fields.bad("connection", f"{connection!r} is not a connection id")
    return None


def _started(raw: dict[str, Any], fields: Fields) -> int | None:
    value = raw.get("startedDateTime")
    if value is None or value == "":  # Safari writes "" when it has no date
        fields.missing("startedDateTime", "; ts is left null")
        return None
    if type(value) is not str:
        fields.bad("startedDateTime", f"{json_type(value)}, not a string")
        return None
    try:
        return parse_har_time(value)
    except ValueError as exc:
        fields.bad("startedDateTime", f"{value[:60]!r}: {exc}")
        return None


def _response_ts(raw: dict[str, Any], started: int | None, fields: Fields) -> int | None:
    timings = raw.get("timings")
    if type(timings) is not dict:
        if timings is None:
            fields.missing("timings", "; the response's ts is left null")
        else:
            fields.bad("timings", f"{json_type(timings)}, not an object")
        return None
    wait = fields.number(timings, "wait", "timings.wait")
    if wait is None or wait < 0:
        state = "is missing" if wait is None else f"is {wait:g} (unknown)"
        fields.report(
            "HAR_MISSING_FIELD", f"timings.wait {state}; the response's ts is left null", har_entry=fields.index
        )
        return None
    if started is None:
        return None
    total = wait
    for key in RESPONSE_DELAYS:
        value = fields.number(timings, key, f"timings.{key}")
        if value is not None and value > 0:
            total += value
    return started + round(total * 1_000_000)


def _status(response: dict[str, Any], fields: Fields) -> int | None:
    if "status" not in response:
        fields.missing("response.status")
        return None
    number = fields.number(response, "status", "response.status")
    if number is None or not number.is_integer():
        if number is not None:
            fields.bad("response.status", f"{number} is not an integer")
        return None
    return int(number)


def _reason(response: dict[str, Any], fields: Fields) -> str | None:
    # HTTP/2 and HTTP/3 have no reason phrase: Chrome writes "", Charles null. Only a
    # statusText that is not there at all is reported.
    if "statusText" not in response:
        fields.missing("response.statusText")
    return fields.text(response, "statusText", "response.statusText", required=False) or None


def _half(entry: HarEntry, key: str, fields: Fields) -> dict[str, Any] | None:
    """The entry's request or response object, once it is known to be an object."""
    value = entry.raw_entry.get(key)
    if type(value) is not dict:
        if value is None:
            fields.missing(key)
        else:
            fields.bad(key, f"{json_type(value)}, not an object")
        return None
    if key == "request":
        request: dict[str, Any] = entry.request.raw_entry
        return request
    # Not `entry.response`: haralyzer builds it with the request's URL and raises KeyError
    # when the request has none (haralyzer's own missing_page.har), losing the response.
    return value


def entry_messages(raw: object, index: int, ctx: HarContext) -> list[HttpMessage]:
    """The request and response messages of entry `index` (0-based in log.entries)."""
    fields = Fields(ctx.report, ctx.limits, ctx.shared, index)
    if type(raw) is not dict:
        fields.bad("entry", f"{json_type(raw)}, not an object")
        return []
    entry = HarEntry(raw)
    request = _half(entry, "request", fields)
    if request is None:
        return []
    method = fields.text(request, "method", "request.method")
    url = fields.text(request, "url", "request.url")
    uri, authority, server_port = url, None, None  # kept as written unless it is absolute
    parts = split_url(url) if url is not None else None
    if parts is not None:
        scheme, authority, port, target = parts
        server_port = port_number(scheme, port)
        if server_port is None and port:
            fields.bad("request.url", f"port {port[:20]!r} is not a port number")
        uri = authority if method == "CONNECT" else target
    headers = fields.headers(request.get("headers"), "request.headers")
    picked = pick_headers(headers, REQUEST_HEADERS)
    host = picked.get("host", authority)
    endpoints = Endpoints(
        flow_id=_flow_id(raw, ctx, fields), server_ip=_server_ip(raw, ctx, fields), server_port=server_port
    )
    started = _started(raw, fields)
    content_type = picked.get("content-type")
    post = request.get("postData")
    if content_type is None and type(post) is dict:
        mime = fields.text(post, "mimeType", "request.postData.mimeType", required=False)
        content_type = mime if mime not in UNKNOWN_MIME else None
    body, full_len = _request_body(request, content_type, fields)
    declared = fields.size(request, "bodySize", "request.bodySize")
    # A body we hold is at least as long as itself, whatever bodySize says (Chrome writes 0
    # for some HTTP/2 uploads); -1 means the tool did not know.
    body_len = full_len if declared < 0 else max(declared, full_len)
    message_id = make_message_id(ctx.source_index, 2 * index, 0)
    messages = [
        HttpMessage(
            message_id=message_id,
            source=ctx.source,
            source_kind=SOURCE_KIND,
            ts=started,
            direction="request",
            endpoints=endpoints,
            har_entry=index,
            method=method,
            uri=uri,
            host=host,
            version=fields.text(request, "httpVersion", "request.httpVersion") or None,
            headers=headers,
            body=body,
            body_len=body_len,
            body_truncated=len(body) < body_len,
            content_type=content_type,
            content_encoding=picked.get("content-encoding"),
        )
    ]
    response = _half(entry, "response", fields)
    if response is None:
        return messages
    status = _status(response, fields)
    response_headers = fields.headers(response.get("headers"), "response.headers")
    if not status and not response_headers:
        # Chrome (`_error: net::ERR_…`), Firebug and mitmproxy write status 0 and no headers
        # for a request that got no answer (blocked, offline, aborted). A response row would
        # claim an answer that never came, so there is none.
        return messages
    content = response.get("content")
    body, full_len, size, content_type = b"", 0, -1, None
    if type(content) is dict:
        body, full_len = _response_body(content, fields)
        size = fields.size(content, "size", "response.content.size")
        mime = content.get("mimeType")
        content_type = mime if type(mime) is str and mime not in UNKNOWN_MIME else None
    elif content is None:
        fields.missing("response.content")
    else:
        fields.bad("response.content", f"{json_type(content)}, not an object")
    # content.size is the decoded length, the bytes `body` is a prefix of (bodySize is the
    # compressed transfer size: 0 for cache hits, -1 for HTTP/2 in Chrome).
    body_len = full_len if size < 0 else max(size, full_len)
    version = fields.text(response, "httpVersion", "response.httpVersion") or None
    messages.append(
        HttpMessage(
            message_id=message_id | make_message_id(0, 1, 0),
            source=ctx.source,
            source_kind=SOURCE_KIND,
            ts=_response_ts(raw, started, fields),
            direction="response",
            endpoints=endpoints,
            har_entry=index,
            method=method,
            uri=uri,
            host=host,
            version=version,  # as the file says: "HTTP/1.1", "http/2.0", "h3"; "" is none
            status=status,
            reason=_reason(response, fields),
            headers=response_headers,
            body=body,
            body_len=body_len,
            body_truncated=len(body) < body_len,
            content_type=pick_headers(response_headers, RESPONSE_HEADERS).get("content-type", content_type),
            content_encoding=None,  # the HAR holds decoded content (see the module docstring)
        )
    )
    return messages
