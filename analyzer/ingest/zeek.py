"""Zeek `http.log`, TSV (with its `#fields`/`#types` header) or JSON, → `HttpMessage` records.

Strategy: each line is one record of `HTTP::Info` (scripts/base/protocols/http/main.zeek):
one request and, when the server answered, its reply. TSV lines are split on the
`#separator` the header declares and read by the `#fields` names (a later header block, as
in concatenated or rotated logs, replaces the earlier one); JSON lines are objects with the
same names (`id.orig_h`, or `id` as an object). Both become one dict per line and go
through `_Record`, so the two spellings give the same messages.

What becomes a header row (nothing else does; header rows are what detection reads):

- the request: with `client_headers` (packages that log `NAME: value` strings) those, in
  order; else with `client_header_names` (policy/protocols/http/header-names.zeek) one row
  per logged name, in wire order, spelt as logged (Zeek upper-cases names), valued from
  the field that holds that header (`host` → HOST, `user_agent` → USER-AGENT, `referrer` →
  REFERER, `origin` → ORIGIN, `proxied` entries `NAME -> value`, `client_header_values`
  zipped with the names, a site's per-header column) or with the empty string when the
  log has the name only; else, without names, one row per such field present: Host,
  Referer, User-Agent, Origin, the `proxied` headers, then site columns.
- the reply: the same with `server_headers` / `server_header_names` / `server_header_values`.
- a site's per-header column is a column Zeek does not define whose name is a header the
  catalog knows or that looks like one (`x_msisdn` → `x-msisdn`; `client_header_*`,
  `server_header_*` prefixes name a side); other unknown columns are reported, not read.

Zeek's `host` drops the Host header's port (main.zeek splits it off); its `uri` is the
unescaped URI. `version` comes from the reply when there is one (rows whose request line
Zeek could not parse still have it), so it goes on the response, and on the request only
when the record has no response. A response is emitted when the record has a status code
or reply headers. `uid` is flow_id; ts is the record's (request) time, on both messages.

Message ids: `make_message_id(source_index, 2 * line, 0)`, `+1` in position for the response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from analyzer.anomalies import Recorder
from analyzer.detect.catalog import IDENTITY_KINDS, lookup, name_heuristic
from analyzer.errors import InputFormatError
from analyzer.ingest.connection import make_message_id
from analyzer.ingest.loglines import (
    Interner,
    epoch_ns,
    http_version,
    iso_time_ns,
    iter_blocks,
    owns,
    port,
)
from analyzer.ingest.logrecord import new_message
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.sources.evidence import Evidence

SOURCE_KIND = "zeek"
QUOTE_CHARS = 80


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Fields of HTTP::Info in Zeek's base and policy scripts, and the metadata log writers add.
# Any other column is a site's: read as a header if it names one, else reported.
KNOWN_FIELDS = _words(
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer version user_agent origin"
    " request_body_len response_body_len status_code status_msg info_code info_msg tags username password proxied"
    " orig_fuids orig_filenames orig_mime_types resp_fuids resp_filenames resp_mime_types client_header_names"
    " server_header_names client_header_values server_header_values client_headers server_headers cookie_vars"
    " uri_vars post_body filename mime_type community_id _path _write_ts _system_name _node"
)
# Fields that hold one request header's value, by the name Zeek gives the header, in log order.
REQUEST_HEADER_FIELDS = (("host", "HOST", "Host"), ("referrer", "REFERER", "Referer"))
REQUEST_HEADER_FIELDS_2 = (("user_agent", "USER-AGENT", "User-Agent"), ("origin", "ORIGIN", "Origin"))
HTTP_FIELDS = frozenset({"method", "uri", "host", "status_code", "trans_depth", "user_agent"})
CONTAINER = re.compile(r"^(?:set|vector|table)\[")
REQUEST_PREFIXES = ("client_header_", "client_header.", "request_header_", "req_header_", "http_")
RESPONSE_PREFIXES = ("server_header_", "server_header.", "response_header_", "resp_header_")
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|\\)")
# One entry of a name/value vector: the token before the first ':' or '=' (neither can be
# in a header name, RFC 9110 §5.1), or Zeek's own `NAME -> value` (the `proxied` field).
_PAIR = re.compile(r"^\s*([^:=\s]+)\s*(?:->|:|=)\s?(.*)$", re.DOTALL)


def _unescape(value: str) -> str:
    """Zeek's ASCII writer escapes the separators and bytes it cannot print as `\\xHH`."""
    if "\\" not in value:
        return value
    raw = _ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\" else bytes((int(m.group(1)[1:], 16),)), value.encode())
    return raw.decode("utf-8", "backslashreplace")


def header_column(name: str) -> tuple[str, str] | None:
    """('request'|'response', header name) for a column a site added, or None."""
    lower = name.lower()
    for prefixes, side in ((REQUEST_PREFIXES, "request"), (RESPONSE_PREFIXES, "response")):
        for prefix in prefixes:
            if lower.startswith(prefix) and len(lower) > len(prefix):
                return side, lower[len(prefix) :].replace("_", "-").replace(".", "-")
    header = lower.replace("_", "-")
    if header.startswith("x-"):
        return "request", header
    entry = lookup(header)
    guess = name_heuristic(header)
    if (entry is not None and entry.kind in IDENTITY_KINDS) or (guess is not None and guess[0] in IDENTITY_KINDS):
        return "request", header
    return None


class _Header:
    """What a TSV header block declares."""

    def __init__(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path: str | None = None
        self.fields: list[str] = []
        self.containers: set[int] = set()


class _Reader:
    def __init__(self, evidence: Evidence, source_index: int, recorder: Recorder, shard: tuple[int, int] | None):
        self.source = evidence.path
        self.source_index = source_index
        self.recorder = recorder
        self.shard = shard
        self.first_shard = shard is None or shard[0] == 0
        self.interner = Interner()
        self.reported: set[str] = set()
        self.yielded = False

    # ------------------------------------------------------------------ lines
    def read(self, evidence: Evidence) -> Iterator[HttpMessage]:
        header: _Header | None = None
        for numbers, lines in iter_blocks(evidence, self.recorder):
            for line, raw in zip(numbers, lines, strict=True):
                if not raw.strip():
                    continue
                if raw.startswith("#"):
                    header = self._directive(raw, header, line)
                    continue
                if not owns(line, self.shard):
                    continue
                if raw.lstrip().startswith("{"):
                    record = self._json(raw, line)
                    if record is not None and not self.yielded and not HTTP_FIELDS & record.keys():
                        # conn.log, dns.log… as JSON: every HTTP::Info record has trans_depth
                        raise InputFormatError(self.source, "a Zeek JSON log whose records have no HTTP fields")
                elif header is not None and header.fields:
                    record = self._tsv(raw, header, line)
                else:
                    self._bad(line, "a data line before any #fields header")
                    continue
                if record is not None:
                    yield from self._messages(record, line)

    def _bad(self, line: int, detail: str) -> None:
        self.recorder.add("LOG_BAD_LINE", detail, line=line)

    def _directive(self, raw: str, header: _Header | None, line: int) -> _Header | None:
        if raw.startswith("#separator "):
            header = _Header()
            header.separator = _unescape(raw[len("#separator ") :].strip()) or "\t"
            return header
        if header is None:
            if raw.startswith("#fields"):
                header = _Header()  # no #separator line: Zeek's default tab
            else:
                return None  # a comment (btest's "### BTest baseline …")
        key, _, value = raw[1:].partition(header.separator)
        if key == "set_separator":
            header.set_separator = _unescape(value)
        elif key == "empty_field":
            header.empty = value
        elif key == "unset_field":
            header.unset = value
        elif key == "path":
            header.path = value
        elif key == "fields":
            header.fields = value.split(header.separator)
            header.containers = set()
            if not self.yielded and not HTTP_FIELDS & set(header.fields):
                raise InputFormatError(self.source, f"a Zeek {header.path or 'TSV'} log, not http.log (no HTTP fields)")
        elif key == "types":
            types = value.split(header.separator)
            header.containers = {i for i, t in enumerate(types) if CONTAINER.match(t)}
            if header.fields and len(types) != len(header.fields) and self.first_shard:
                self._bad(line, f"#types has {len(types)} entries for {len(header.fields)} #fields")
        return header

    def _tsv(self, raw: str, header: _Header, line: int) -> dict[str, Any] | None:
        values = raw.split(header.separator)
        if len(values) != len(header.fields):
            self._bad(line, f"{len(values)} values for {len(header.fields)} fields: {raw[:QUOTE_CHARS]!r}")
            return None
        record: dict[str, Any] = {}
        unset, empty, containers = header.unset, header.empty, header.containers
        for i, (name, value) in enumerate(zip(header.fields, values, strict=True)):
            if value == unset:
                continue
            if i in containers:
                record[name] = [] if value == empty else [_unescape(v) for v in value.split(header.set_separator)]
            else:
                record[name] = "" if value == empty else _unescape(value)
        return record

    def _json(self, raw: str, line: int) -> dict[str, Any] | None:
        try:
            record = json.loads(raw)
        except ValueError as exc:
            self._bad(line, f"not JSON ({exc})")
            return None
        if not isinstance(record, dict):
            self._bad(line, "a JSON line that is not an object")
            return None
        ident = record.pop("id", None)
        if isinstance(ident, dict):  # nested instead of flattened `id.orig_h` keys
            record.update({f"id.{k}": v for k, v in ident.items()})
        return record

    # ------------------------------------------------------------------ records
    def _field_error(self, line: int, what: str, value: Any) -> None:
        self.recorder.add("LOG_BAD_FIELD", f"{what} {str(value)[:QUOTE_CHARS]!r} is not understood", line=line)

    def _int(self, record: dict[str, Any], key: str, line: int) -> int | None:
        value = record.get(key)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            self._field_error(line, key, value)
            return None

    def _ts(self, record: dict[str, Any], line: int) -> int | None:
        value = record.get("ts")
        if value is None:
            return None
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return epoch_ns(repr(value))
            text = str(value)
            return iso_time_ns(text) if "T" in text or "-" in text[1:] else epoch_ns(text)
        except (ValueError, OverflowError):
            self._field_error(line, "ts", value)
            return None

    def _text(self, record: dict[str, Any], key: str) -> str | None:
        value = record.get(key)
        return None if value is None else self.interner.text(str(value))

    def _extras(self, record: dict[str, Any], line: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        request: list[tuple[str, str]] = []
        response: list[tuple[str, str]] = []
        for key, value in record.items():
            if key in KNOWN_FIELDS or value is None:
                continue
            side = header_column(key)
            if side is None:
                if key not in self.reported and self.first_shard:
                    self.reported.add(key)
                    self.recorder.add("LOG_FIELD_IGNORED", f"column {key!r} is not a header", line=line)
                continue
            values = value if isinstance(value, list) else [value]
            (request if side[0] == "request" else response).extend((side[1], str(v)) for v in values)
        return request, response

    def _messages(self, record: dict[str, Any], line: int) -> Iterator[HttpMessage]:
        ip, interner = self.interner.ip, self.interner
        try:
            endpoints = interner.endpoints_of(
                ip(_str(record.get("id.orig_h"))),
                port(record.get("id.orig_p")),
                ip(_str(record.get("id.resp_h"))),
                port(record.get("id.resp_p")),
                _str(record.get("uid")),
                _str(record.get("community_id")),
            )
        except (TypeError, ValueError) as exc:
            self._field_error(line, "port", exc)
            endpoints = interner.endpoints_of(None, None, None, None, _str(record.get("uid")))
        ts = self._ts(record, line)
        depth = self._int(record, "trans_depth", line)
        method, uri, host = self._text(record, "method"), _str(record.get("uri")), self._text(record, "host")
        status = self._int(record, "status_code", line)
        extra_request, extra_response = self._extras(record, line)
        fielded = [
            (zeek_name, canonical, str(record[key]))
            for key, zeek_name, canonical in (*REQUEST_HEADER_FIELDS, *REQUEST_HEADER_FIELDS_2)
            if record.get(key) is not None
        ]
        fielded += [(n.upper(), n, v) for n, v in _pairs(record.get("proxied"))]
        fielded += [(n.upper(), n, v) for n, v in extra_request]
        request = _headers(record, "client", fielded)
        reply = _headers(record, "server", [(n.upper(), n, v) for n, v in extra_response])
        has_reply = status is not None or bool(reply)
        version = http_version(_str(record.get("version")))
        text = interner.text
        self.yielded = True
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
            None if has_reply else version,
            None,
            None,
            tuple((text(n), text(v)) for n, v in request),
            body_len=self._int(record, "request_body_len", line) or 0,
        )
        if has_reply:
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
                version,
                status,
                _str(record.get("status_msg")),
                tuple((text(n), text(v)) for n, v in reply),
                body_len=self._int(record, "response_body_len", line) or 0,
            )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _pairs(value: Any) -> list[tuple[str, str]]:
    """(name, value) of `NAME: value`, `NAME=value` or `NAME -> value` entries."""
    out = []
    for entry in _list(value):
        m = _PAIR.match(entry)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _headers(record: dict[str, Any], side: str, fielded: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """Header rows of one side (module docstring): (Zeek's upper-case name, canonical
    spelling, value) of the fields holding single headers fill in logged names."""
    full = record.get(f"{side}_headers")
    if full is not None:
        return _pairs(full)
    names = _list(record.get(f"{side}_header_names"))
    if not names:
        return [(canonical, value) for _, canonical, value in fielded]
    values = _list(record.get(f"{side}_header_values"))
    if len(values) == len(names):
        return list(zip(names, values, strict=True))
    by_name: dict[str, str] = {}
    for zeek_name, _, value in fielded:
        by_name[zeek_name] = value
    last = {name.upper(): i for i, name in enumerate(names)}  # a repeated header: Zeek kept the last value
    rows = [(name, by_name.get(name.upper(), "") if last[name.upper()] == i else "") for i, name in enumerate(names)]
    rows += [(canonical, value) for zeek_name, canonical, value in fielded if zeek_name not in last]
    return rows


def messages_from_zeek(
    evidence: Evidence,
    *,
    source_index: int,
    limits: Limits,
    recorder: Recorder,
    log_format: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Iterator[HttpMessage]:
    """Every message of one Zeek http.log: per record a request, then its reply if logged.

    InputFormatError (before any message) for a Zeek log of another kind (conn.log …)."""
    yield from _Reader(evidence, source_index, recorder, shard).read(evidence)
