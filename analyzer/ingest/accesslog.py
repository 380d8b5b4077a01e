"""Web and proxy access logs (nginx, Apache, Squid) → `HttpMessage` records, line by line.

Strategy: the format is the one given (`--log-format`, compiled by `logformat`) or, when
none is given or it matches none of the first lines, the preset that matches most of them
(`choose_format`). Each line is split by the format's one compiled regex; the groups are
then read through a `_Plan`, the format's fields sorted once by what they become, so the
loop does no per-field dispatch. Lines that do not match are `LOG_BAD_LINE` anomalies and
the rest of the file is read.

What a line becomes (nothing is added that the line does not say):

- a request message: method, target and version from the request line (`$request`, `%r`,
  `"%rm %ru HTTP/%rv"`) or from their own fields; the request headers the format logs, in
  the format's order, as header rows: `$http_x_msisdn` → `x-msisdn` (nginx keeps no
  spelling), `%{X-MSISDN}i` / `%{X-MSISDN}>h` → `X-MSISDN` as the format writes it; a
  logged cookie (`$cookie_NAME`, `%{NAME}C`) → a `Cookie: NAME=value` row; `-` (what
  every writer logs for an absent header) → no row. `host` is the Host header when logged,
  else nginx `$host` / Apache `%V`, else the authority of an absolute-form target.
- a response message when the line has a status (Squid's `000`, "no reply", is none) or
  response headers (`$sent_http_*`, `%{…}o`, `%{…}<h`): status, response header rows,
  body_len from `$body_bytes_sent` / `%b` / `%B`, content_type from `%mt` or its header.
- `ts`, the line's time, on both (a log has one time per line); client and server
  address and port when logged; nginx `$connection` → flow_id, `$connection_requests` →
  trans_depth. Request body_len is 0: no format logs it apart from the headers.

Message ids: `make_message_id(source_index, 2 * line, 0)`, `+1` in position for the response
(computed inline: the same bits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from analyzer.anomalies import Recorder
from analyzer.errors import InputFormatError
from analyzer.ingest import logformat as lf
from analyzer.ingest.connection import MESSAGE_K_BITS, MESSAGE_POSITION_BITS
from analyzer.ingest.logformat import LogFormat, compile_format, preset
from analyzer.ingest.loglines import (
    MAX_CACHED,
    Interner,
    clf_time_ns,
    epoch_ns,
    host_of_uri,
    http_version,
    iso_time_ns,
    iter_blocks,
)
from analyzer.ingest.logrecord import MESSAGE
from analyzer.limits import Limits
from analyzer.model import Endpoints, HttpMessage
from analyzer.sources.evidence import Evidence
from analyzer.sources.logs import first_line

SOURCE_KIND = "accesslog"
# Lines tried against each candidate format to choose one, and the bytes they come from.
SAMPLE_LINES = 64
SAMPLE_BYTES = 256 * 1024
# The loose regex (raw quotes inside quoted fields) backtracks; it is tried on lines up to
# this long only, which bounds its cost on a damaged line.
MAX_LOOSE_LINE = 16 * 1024
# Per-file anomaly detail: how much of an odd value to quote.
QUOTE_CHARS = 80
FORMAT_SYNTAXES = "nginx log_format, Apache LogFormat, Squid logformat"

_TIME_PARSERS: dict[str, Callable[[str], int]] = {
    lf.TIME_CLF: clf_time_ns,
    lf.TIME_ISO: iso_time_ns,
    lf.TIME_EPOCH: epoch_ns,
    lf.TIME_EPOCH_MS: lambda text: epoch_ns(text, 1_000_000),
    lf.TIME_EPOCH_US: lambda text: epoch_ns(text, 1_000),
}
_MARKERS = {lf.CLF: "\\", lf.JSON: "\\", lf.URL: "%"}

# (group, header name, unescape or None, marker that calls for it, prefix for cookies)
HeaderPlan = tuple[int, str, Callable[[str], str] | None, str, str]


def _header_plan(index: int, field: lf.Field) -> HeaderPlan:
    unescape = lf.UNESCAPE.get(field.escape)
    marker = _MARKERS.get(field.escape, "")
    if field.role == lf.COOKIE:
        return index, "Cookie", unescape, marker, f"{field.name}="
    return index, field.name or "", unescape, marker, ""


class _Plan:
    """A format's groups by what they become (indexes into `match.groups()`)."""

    def __init__(self, fmt: LogFormat) -> None:
        roles: dict[str, int] = {}
        self.request_headers: list[HeaderPlan] = []
        self.response_headers: list[HeaderPlan] = []
        self.all_request: list[int] = []
        self.all_response: list[int] = []
        self.ignored: list[str] = []
        self.escape: dict[int, tuple[Callable[[str], str] | None, str]] = {}
        for index, field in enumerate(fmt.fields):
            role = field.role
            self.escape[index] = (lf.UNESCAPE.get(field.escape), _MARKERS.get(field.escape, ""))
            if role in (lf.REQUEST_HEADER, lf.COOKIE):
                self.request_headers.append(_header_plan(index, field))
            elif role == lf.RESPONSE_HEADER:
                self.response_headers.append(_header_plan(index, field))
            elif role == lf.ALL_REQUEST_HEADERS:
                self.all_request.append(index)
            elif role == lf.ALL_RESPONSE_HEADERS:
                self.all_response.append(index)
            elif role == lf.IGNORED:
                self.ignored.append(field.code)
            else:
                roles.setdefault(role, index)  # the first of a role wins
        self.extra = len(fmt.fields)
        self.roles = roles
        self.time = next(((roles[r], r) for r in lf.TIME_ROLES if r in roles), None)
        self.subsec = roles.get(lf.TIME_SUBSEC_MS)
        self.host_header = next((p[0] for p in self.request_headers if p[1].lower() == "host" and not p[4]), None)
        self.content_type_request = next(
            (p[0] for p in self.request_headers if p[1].lower() == "content-type" and not p[4]), None
        )
        self.content_type_response = roles.get(lf.CONTENT_TYPE) or next(
            (p[0] for p in self.response_headers if p[1].lower() == "content-type"), None
        )


def choose_format(head: bytes, given: str | None, path: str = "") -> tuple[LogFormat, str]:
    """The format to read with, and why: the given one if it matches any of the first
    lines, else the recognised preset matching most of them. InputFormatError if none."""
    text = head[:SAMPLE_BYTES].decode("utf-8", "backslashreplace")
    lines = [line.rstrip("\r") for line in text.split("\n")[:-1] if line.strip()][:SAMPLE_LINES]
    if not lines:
        line, _ = first_line(text)
        lines = [line] if line.strip() else []
    note = ""
    if given is not None:
        fmt = compile_format(given)
        if any(fmt.regex.match(line) for line in lines):
            return fmt, f"lines read as {fmt.describe()}, as given"
        note = f"; the given format matched none of the first {len(lines)} lines"
    best: tuple[tuple[int, int], LogFormat] | None = None
    for name in lf.RECOGNISED:
        fmt = preset(name)
        matches = [fmt.regex.match(line) for line in lines]
        whole = sum(1 for m in matches if m is not None and m.groups()[-1] is None)
        score = (whole, sum(1 for m in matches if m is not None))
        if score[1] and (best is None or score > best[0]):
            best = (score, fmt)
    if best is None:
        raise InputFormatError(
            path,
            "text lines in no access log format lineid recognises"
            + (note or f"; give the site's format with --log-format ({FORMAT_SYNTAXES})"),
        )
    return best[1], f"lines read as {best[1].describe()}, recognised from the first {len(lines)} lines{note}"


def messages_from_accesslog(
    evidence: Evidence,
    *,
    source_index: int,
    limits: Limits,
    recorder: Recorder,
    log_format: str | None = None,
    shard: tuple[int, int] | None = None,
) -> Iterator[HttpMessage]:
    """Every message of one access log: per line a request, then its response if logged.

    Not a generator itself (the format is chosen when it is called, from the pipeline's
    generator): each message then passes one generator frame fewer."""
    fmt, why = choose_format(evidence.peek(SAMPLE_BYTES), log_format, evidence.path)
    plan = _Plan(fmt)
    if shard is None or shard[0] == 0:  # said once, not by every --jobs shard
        recorder.add("LOG_FORMAT", why)
        if plan.ignored:
            recorder.add("LOG_FIELD_IGNORED", f"fields that are not part of an HTTP message: {' '.join(plan.ignored)}")
    return _read(evidence, fmt, plan, source_index, recorder, shard)


def _read(
    evidence: Evidence,
    fmt: LogFormat,
    plan: _Plan,
    source_index: int,
    recorder: Recorder,
    shard: tuple[int, int] | None,
) -> Iterator[HttpMessage]:
    # The hot loop of lineid on logs (a few µs a line): everything it reads is a local,
    # optional fields are tested against None once, values shared between lines are
    # interned with one dict call, and messages are built positionally (`MESSAGE`).
    source = evidence.path
    interner = Interner()
    shared = interner.strings
    intern = shared.setdefault
    fast, match = fmt.fast.match, fmt.regex.match
    loose = fmt.loose.match if fmt.loose is not None else None
    roles = plan.roles
    request_headers, response_headers = plan.request_headers, plan.response_headers
    all_request, all_response = plan.all_request, plan.all_response
    i_request = roles.get(lf.REQUEST_LINE)
    i_method, i_uri, i_path, i_query = (roles.get(r) for r in (lf.METHOD, lf.URI, lf.PATH, lf.QUERY))
    i_version, i_status, i_bytes = roles.get(lf.VERSION), roles.get(lf.STATUS), roles.get(lf.BODY_BYTES)
    i_cip, i_cport = roles.get(lf.CLIENT_IP), roles.get(lf.CLIENT_PORT)
    i_sip, i_sport = roles.get(lf.SERVER_IP), roles.get(lf.SERVER_PORT)
    i_name, i_conn, i_depth = roles.get(lf.SERVER_NAME), roles.get(lf.CONNECTION), roles.get(lf.CONNECTION_REQUESTS)
    i_host, i_ctq, i_ctr = plan.host_header, plan.content_type_request, plan.content_type_response
    i_time, time_role = plan.time if plan.time is not None else (None, "")
    parse_time = _TIME_PARSERS.get(time_role)
    i_subsec, i_extra = plan.subsec, plan.extra
    # Only the client address, the common case: Endpoints cached by its text as logged.
    client_only = i_cip is not None and i_cport is None and i_sip is None and i_sport is None and i_conn is None
    i_client = i_cip if i_cip is not None else 0
    by_client: dict[str, Endpoints] = {}
    no_endpoints = interner.endpoints_of(None, None, None, None)
    escape = plan.escape
    times: dict[str, int | None] = {}
    extra_seen = False
    base = source_index << (MESSAGE_POSITION_BITS + MESSAGE_K_BITS)
    response_bit = 1 << MESSAGE_K_BITS

    def field(i: int | None, groups: tuple[str, ...]) -> str | None:
        if i is None:
            return None
        value = groups[i]
        if value == "-" or value == "":
            return None
        unescape, marker = escape[i]
        if unescape is not None and marker in value:
            value = unescape(value)
        return value

    def number(i: int, groups: tuple[str, ...], line: int, what: str) -> int | None:
        value = groups[i]
        if value.isdigit():
            return int(value)
        if value != "-":
            recorder.add("LOG_BAD_FIELD", f"{what} {value[:QUOTE_CHARS]!r} is not a number", line=line)
        return None

    for numbers, lines in iter_blocks(evidence, recorder, shard):
        if len(shared) >= MAX_CACHED:
            shared.clear()
        if len(by_client) >= MAX_CACHED:
            by_client.clear()
        for line, raw in zip(numbers, lines, strict=True):
            # `[^"]*` for quoted fields is three times faster than skipping escapes, and
            # exact unless a value holds an escaped quote (Apache's `\"`).
            m = fast(raw) if '\\"' not in raw else match(raw)
            if m is None:
                if not raw.strip():
                    continue
                m = loose(raw) if loose is not None and len(raw) <= MAX_LOOSE_LINE else None
                if m is None:
                    recorder.add("LOG_BAD_LINE", f"not in the format: {raw[:QUOTE_CHARS]!r}", line=line)
                    continue
                recorder.add("LOG_LOOSE_QUOTES", "a quoted field holds raw quotes", line=line)
            g = m.groups()
            if g[i_extra] is not None and not extra_seen:
                extra_seen = True
                recorder.add(
                    "LOG_FIELD_IGNORED",
                    f"lines carry text after the format's last field, first {g[i_extra][:QUOTE_CHARS]!r}; "
                    "give the site's format with --log-format to read it",
                    line=line,
                )
            # ---- time (consecutive lines share their second: parse each text once)
            ts: int | None = None
            if i_time is not None and parse_time is not None:
                stamp = g[i_time] if i_subsec is None else f"{g[i_time]}.{g[i_subsec]}"
                if stamp in times:
                    ts = times[stamp]
                elif stamp != "-":
                    try:
                        ts = parse_time(stamp)
                    except (ValueError, KeyError, OverflowError):
                        recorder.add("LOG_BAD_FIELD", f"time {stamp[:QUOTE_CHARS]!r} is not understood", line=line)
                    if len(times) >= MAX_CACHED:
                        times.clear()
                    times[stamp] = ts
            # ---- request line
            method = uri = version = None
            if i_request is not None:
                request = g[i_request]
                if request != "-" and request:
                    if "\\" in request:
                        request = lf.unescape_clf(request)
                    parts = request.split(" ")
                    if len(parts) == 3 and parts[2].startswith("HTTP/"):
                        method, uri, version = intern(parts[0], parts[0]), parts[1], intern(parts[2], parts[2])
                    elif len(parts) > 3 and parts[-1].startswith("HTTP/"):  # a target with raw spaces
                        method, uri, version = intern(parts[0], parts[0]), " ".join(parts[1:-1]), parts[-1]
                    elif len(parts) == 2:
                        method, uri = intern(parts[0], parts[0]), parts[1]  # HTTP/0.9
                    else:
                        recorder.add("HTTP_BAD_START_LINE", f"request line {request[:QUOTE_CHARS]!r}", line=line)
            if i_method is not None and method is None and (v := field(i_method, g)) is not None:
                method = intern(v, v)
            if i_uri is not None and uri is None:
                uri = field(i_uri, g)
            if uri is None and i_path is not None and (path := field(i_path, g)) is not None:
                query = field(i_query, g)
                uri = path if not query else path + (query if query.startswith("?") else "?" + query)
            if i_version is not None and version is None:
                version = http_version(field(i_version, g))
            # ---- request headers, in the format's order
            headers: list[tuple[str, str]] = []
            for i, name, unescape, marker, prefix in request_headers:
                value = g[i]
                if value == "-":
                    continue
                if unescape is not None and marker in value:
                    value = unescape(value)
                if prefix:
                    value = prefix + value
                headers.append((name, intern(value, value)))
            for i in all_request:
                headers.extend(_all_headers(field(i, g)))
            if i_host is not None or i_name is not None:
                host = field(i_host, g) or field(i_name, g) or host_of_uri(uri)
            else:
                host = host_of_uri(uri) if uri is not None and uri[:1] != "/" else None
            # ---- endpoints
            if client_only:
                client = g[i_client]
                known = by_client.get(client)
                if known is None:
                    known = by_client[client] = interner.endpoints_of(interner.ip(client), None, None, None)
                endpoints = known
            elif i_cip is None and i_sip is None and i_conn is None:
                endpoints = no_endpoints
            else:
                indexes = (i_cip, i_cport, i_sip, i_sport, i_conn)
                endpoints = _endpoints(g, interner, indexes, source_index, recorder, line)
            depth = number(i_depth, g, line, "connection_requests") if i_depth is not None else None
            mid = base | (line << (MESSAGE_K_BITS + 1))
            yield MESSAGE(
                mid, source, SOURCE_KIND, ts, "request", endpoints, None, None, None, line, depth, method, uri, host,
                version, None, None, tuple(headers), b"", 0, False, field(i_ctq, g) if i_ctq is not None else None,
                None, False, False, False,
            )  # fmt: skip
            # ---- response
            status: int | None = None
            if i_status is not None:
                code = g[i_status]
                if code.isdigit():
                    status = int(code) or None  # Squid's 000: no reply was received
                elif code != "-":
                    recorder.add("LOG_BAD_FIELD", f"status {code[:QUOTE_CHARS]!r} is not a number", line=line)
            reply: list[tuple[str, str]] = []
            for i, name, unescape, marker, _ in response_headers:
                value = g[i]
                if value == "-":
                    continue
                if unescape is not None and marker in value:
                    value = unescape(value)
                reply.append((name, intern(value, value)))
            for i in all_response:
                reply.extend(_all_headers(field(i, g)))
            if status is None and not reply:
                continue
            size = g[i_bytes] if i_bytes is not None else "-"
            yield MESSAGE(
                mid | response_bit, source, SOURCE_KIND, ts, "response", endpoints, None, None, None, line, depth,
                method, uri, host, None, status, None, tuple(reply), b"", int(size) if size.isdigit() else 0, False,
                field(i_ctr, g) if i_ctr is not None else None, None, False, False, False,
            )  # fmt: skip


def _endpoints(
    g: tuple[str, ...],
    interner: Interner,
    indexes: tuple[int | None, ...],
    source_index: int,
    recorder: Recorder,
    line: int,
) -> Endpoints:
    i_cip, i_cport, i_sip, i_sport, i_conn = indexes
    client_ip = interner.ip(g[i_cip]) if i_cip is not None else None
    try:
        return interner.endpoints_of(
            client_ip,
            _port(g[i_cport]) if i_cport is not None else None,
            interner.ip(g[i_sip]) if i_sip is not None else None,
            _port(g[i_sport]) if i_sport is not None else None,
            f"{source_index}:connection:{g[i_conn]}" if i_conn is not None and g[i_conn] != "-" else None,
        )
    except ValueError as exc:
        recorder.add("LOG_BAD_FIELD", f"port: {exc}", line=line)
        return interner.endpoints_of(client_ip, None, None, None)


def _port(value: str) -> int | None:
    if value == "-" or not value:
        return None
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"{number} is out of range")
    return number


def _all_headers(block: str | None) -> list[tuple[str, str]]:
    """Squid's %>h / %<h without a name: every header, `Name: value` lines (log_mime_hdrs)."""
    if not block:
        return []
    out = []
    for raw in block.replace("\r\n", "\n").split("\n"):
        name, sep, value = raw.partition(":")
        if sep and name.strip():
            out.append((name.strip(), value.strip()))
    return out
