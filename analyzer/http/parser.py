"""A sans-IO HTTP/1.x parser for one direction of one connection (h11's shape).

Feed it stream bytes with `receive_data`, holes with `receive_gap`, the end with
`receive_eof`; then pull `ParsedMessage` events with `next_event` until it returns
`NEED_DATA`. It knows nothing of TCP or files: the frame number and timestamp passed with
each piece of data only label the messages that piece starts or completes.

Strategy (framing after RFC 9112 §6.3):
* START: skip empty lines; the first line decides. `HTTP/x.y NNN` is a response,
  `TOKEN target HTTP/x.y` a request, `GET target` alone an HTTP/0.9 request. A direction
  learns its role from its first message (HTTP is recognised by content, on any port).
* HEADERS: the block ends at an empty line (CRLF or bare LF). Lines starting with
  SP/HT continue the previous value (obs-fold). Every header is kept, in wire order,
  duplicates and raw names included.
* BODY: chunked if Transfer-Encoding ends in chunked; else Content-Length; else none for
  requests and read-until-close for responses. HEAD, 1xx, 204, 304 and 2xx-to-CONNECT
  responses have no body; after 101 or a CONNECT success the connection is a tunnel.
* Only `Limits.max_body_prefix_bytes` of a body are kept; the rest is counted and
  skipped. `skip` tells the caller how many coming bytes it may drop without calling.
* RESYNC: after a gap or garbage, data is scanned for the next line that is a valid
  start line; everything before it is skipped with an anomaly, never lost silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analyzer.http.body import is_textual
from analyzer.limits import Limits


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()

# Parser states
START, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, BODY_UNTIL_CLOSE, RESYNC, TUNNEL, PAUSED = range(10)

# RFC 9110 §5.6.2 token, for methods; a request line is `method SP target SP version`.
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")
# The reason phrase is taken up to the line's end whatever it holds (a stray CR included),
# as tshark and browsers do.
_STATUS_LINE = re.compile(rb"HTTP/([0-9]\.[0-9]) +([0-9]{3})(?:[ \t]+(.*?))?\r?", re.DOTALL)
# A plausible message start when resynchronising. After a gap the next message often
# follows a body with no newline before it, so a start may be anywhere: a status line, or
# a request line with a well-known method; any capitalised token method is accepted at a
# line start. Bounded repetitions keep the scan linear on hostile input.
_RESYNC_REQUEST = re.compile(
    rb"(?:(?:^|(?<=\n))[A-Z][A-Z_-]{0,31}|(?:GET|POST|HEAD|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE))"
    rb" [^ \r\n]{1,16384} HTTP/[0-9]\.[0-9]\r?\n"
)
_RESYNC_RESPONSE = re.compile(rb"HTTP/[0-9]\.[0-9] [0-9]{3}[^\r\n]{0,1024}\r?\n")
# Which way a cut header block went, when the parser has no role yet.
_REQUEST_ONLY_HEADERS = frozenset({"host", "user-agent", "cookie", "accept", "referer", "authorization"})
_RESPONSE_ONLY_HEADERS = frozenset({"server", "set-cookie", "location", "www-authenticate", "last-modified"})
# While resynchronising, this many bytes of the buffer's end are kept: the longest
# start line that may straddle two segments.
RESYNC_TAIL_BYTES = 16 * 1024 + 64
# Methods accepted on a request line without an HTTP version (HTTP/0.9, or broken lines
# such as "OPTIONS"); with a version any token is a method. RFC 9110 §9, WebDAV (RFC 4918,
# 3253, 3744, 4791, 5842), UPnP, and the vendor methods Wireshark's HTTP dissector knows.
KNOWN_METHODS = frozenset(
    b"GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK "
    b"SEARCH REPORT MKACTIVITY CHECKOUT CHECKIN UNCHECKOUT MERGE LABEL UPDATE VERSION-CONTROL BASELINE-CONTROL "
    b"MKWORKSPACE MKCALENDAR ORDERPATCH ACL BIND UNBIND REBIND MKREDIRECTREF UPDATEREDIRECTREF M-SEARCH NOTIFY "
    b"SUBSCRIBE UNSUBSCRIBE POLL PURGE PUTSTREAM BCOPY BDELETE BMOVE BPROPFIND BPROPPATCH CCM_POST "
    b"RPC_CONNECT RPC_IN_DATA RPC_OUT_DATA SSTP_DUPLEX_POST".split()
)
# Chunk sizes beyond this are overflow attempts (2^64 in Zeek's variant-01 trace).
MAX_CHUNK_SIZE = 1 << 62
# A first line this long without a newline is not HTTP, or is an attack.
MAX_START_LINE_BYTES = 16 * 1024

Report = Callable[..., None]


def _blank_line(data: bytes) -> int:
    """Index of the newline that starts the first empty line (CRLF or bare LF), or -1."""
    found = [i for i in (data.find(b"\n\r\n"), data.find(b"\n\n")) if i >= 0]
    return min(found) if found else -1


class ParsedMessage:
    """What the parser knows of one message; the flow turns it into an HttpMessage.

    A plain class on purpose, not a dataclass: one is made per message on the hot path,
    most fields keep their class-level default, and only those that differ are set.
    """

    method: str | None = None
    target: str | None = None
    version: str | None = None
    status: int | None = None
    reason: str | None = None
    frame_last: int = 0
    body_len: int = 0
    body: bytes = b""
    body_truncated: bool = False
    content_type: str | None = None
    content_encoding: str | None = None
    host: str | None = None
    gap: bool = False
    malformed: bool = False
    interim: bool = False  # 1xx: the final response to the same request follows
    answers: object = None  # for a response: what the caller passed with the request
    info: object = None  # for a request: what the caller attached when its head was announced
    partial: bool = False  # the start line was never seen: the tail of a cut header block

    def __init__(self, is_request: bool, frame_first: int, ts: int | None, **fields: Any) -> None:
        self.is_request = is_request
        self.frame_first = frame_first
        self.ts = ts
        self.headers: list[tuple[str, str]] = []
        if fields:
            self.__dict__.update(fields)

    def as_dict(self) -> dict[str, Any]:
        """Every field, defaults included (for tests and debugging)."""
        names = ("is_request", "frame_first", "ts", "headers", *ParsedMessage.__annotations__)
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        return f"ParsedMessage({self.__dict__!r})"


@dataclass(slots=True, eq=False)
class RequestHead:
    """A request's head is complete but its body is still to come. Emitted so that a
    caller can pair an interim response (100 Continue) that arrives before the body."""

    message: ParsedMessage


class HttpParser:
    __slots__ = (
        "_body_parts",
        "_buf",
        "_chunked_len",
        "_events",
        "_frame",
        "_keep",
        "_msg",
        "_origin",
        "_partial_checked",
        "_report",
        "_resync_scanned",
        "_search_from",
        "_ts",
        "direct",
        "limits",
        "remaining",
        "requests",
        "role",
        "skip",
        "state",
        "tunnel_pending",
    )

    def __init__(self, limits: Limits, report: Report, role: str | None = None) -> None:
        self.limits = limits
        self._report = report  # report(code, detail, frame=...)
        self.role = role  # 'client' | 'server' | None until the first message says
        self.state = START
        self._buf = b""
        # Where the buffered bytes came from: [bytes still buffered, frame, ts] per piece
        # of data, oldest first, so a message's first byte is dated by its own frame.
        # Lists, not deques: they hold a few items, and an empty deque weighs 600 bytes
        # (a gateway capture keeps tens of thousands of idle keep-alive parsers).
        self._origin: list[list[Any]] = []
        self._search_from = 0
        self._events: list[ParsedMessage | RequestHead] = []
        self._msg: ParsedMessage | None = None
        self._body_parts: list[bytes] = []
        self._keep = 0  # body bytes still to keep for the current message
        self.remaining = 0  # bytes left in the current body or chunk
        # Bytes the caller may drop without calling receive_data (body past the prefix).
        # Always strictly less than what completes the message, so completion is seen.
        self.skip = self.direct = 0
        # Body bytes the caller may hand to `receive_body` directly (kept prefix, or a
        # body read until close), bypassing buffering; 0 when data must go through
        # receive_data. Like `skip`, never reaches the byte that completes the message.
        self._chunked_len = 0
        # Server role: (method, version, caller's info) of requests waiting for a
        # response, FIFO.
        self.requests: list[tuple[str, str | None, object]] = []
        self.tunnel_pending = False
        self._resync_scanned = 0
        self._partial_checked = True  # a cut header block is looked for once per resync
        self._frame = 0
        self._ts: int | None = None

    # ------------------------------------------------------------------ public API
    def receive_data(self, data: bytes, frame: int, ts: int | None) -> None:
        if self.state == TUNNEL or not data:
            return
        self._frame = frame
        self._ts = ts
        self._buf = self._buf + data if self._buf else data
        self._origin.append([len(data), frame, ts])
        if self.state == PAUSED and len(self._buf) > self.limits.max_header_block_bytes:
            self.become_tunnel()  # no answer to the CONNECT: the bytes are tunnel data
            return
        self._run()

    def receive_skipped(self, length: int) -> None:
        """The caller dropped `length` bytes covered by `skip` (the fast path does this
        inline: `skip -= n; remaining -= n`)."""
        self.skip -= length
        self.remaining -= length

    def receive_gap(self, length: int, frame: int) -> None:
        """`length` bytes of the stream were never captured."""
        self._frame = frame
        state = self.state
        if state == TUNNEL:
            return
        if state in (BODY_LENGTH, CHUNK_DATA) and not self._buf and length < self.remaining:
            # The hole is inside a body: count it and go on.
            self.remaining -= length
            self._keep = 0  # a prefix with a hole in it would mislead detection
            assert self._msg is not None
            self._msg.gap = True
            self._msg.body_truncated = True
            self._set_skip()
            return
        if state == BODY_UNTIL_CLOSE and not self._buf:
            assert self._msg is not None
            self._msg.gap = True
            self._msg.body_truncated = True
            self._msg.body_len += length
            return
        # The hole cuts a message start or header block, or runs past the body's end:
        # finish what we have, then look for the next message start.
        if self._msg is not None:
            self._msg.gap = True
            self._msg.body_truncated = True
            self._complete(frame)
        elif self._buf.strip(b"\r\n"):
            self._report(
                "HTTP_UNPARSED_DATA", f"{len(self._buf)} bytes before a gap were not a whole message start", frame=frame
            )
        self._clear()
        self._search_from = 0
        self.skip = self.direct = 0
        self._enter_resync()

    def receive_eof(self, frame: int) -> None:
        """The connection ended (FIN, RST, or the end of the capture)."""
        self._frame = frame
        state = self.state
        if state == BODY_UNTIL_CLOSE:
            self._finish_body()
            self._complete(frame)
        elif self._msg is not None:
            self._report("HTTP_BODY_INCOMPLETE", f"{self.remaining} body bytes never arrived", frame=frame)
            self._msg.body_truncated = True
            self._finish_body()
            self._complete(frame)
        elif state == START and self._buf.strip(b"\r\n"):
            head = self._buf[:64]
            if self._start_line_plausible(self._buf):
                # A message whose header block never ended (or an HTTP/0.9 request,
                # which has none): keep what came, as a message, rather than lose it.
                if b" HTTP/1" in self._buf.split(b"\n", 1)[0]:
                    self._report(
                        "HTTP_HEADERS_INCOMPLETE", f"connection ended inside a header block: {head!r}", frame=frame
                    )
                self._buf += b"\r\n\r\n"
                self._run()
                if self._msg is not None:
                    self._msg.body_truncated = True
                    self._finish_body()
                    self._complete(frame)
            else:
                self._report("HTTP_UNPARSED_DATA", f"{len(self._buf)} trailing bytes: {head!r}", frame=frame)
        self._clear()
        self.state = TUNNEL  # nothing more can come
        self.skip = self.direct = 0

    def next_event(self) -> ParsedMessage | RequestHead | _NeedData:
        return self._events.pop(0) if self._events else NEED_DATA

    def expect_response(self, method: str, version: str | None, info: object = None) -> None:
        """Server role: a request was seen on the other direction; its response comes next.

        `info` comes back as `answers` on the response that answers it."""
        if len(self.requests) >= self.limits.max_pending_requests_per_flow:
            del self.requests[0]
            self._report(
                "HTTP_PENDING_LIMIT",
                f"more than {self.limits.max_pending_requests_per_flow} requests waiting; the oldest lost its pairing",
                frame=self._frame,
            )
        self.requests.append((method, version, info))

    def become_tunnel(self) -> None:
        """The connection switched protocol (CONNECT 2xx, 101): stop parsing."""
        self.state = TUNNEL
        self._clear()
        self.skip = self.direct = 0

    def resume(self) -> None:
        """A CONNECT was refused: the client goes on sending HTTP."""
        if self.state == PAUSED:
            self.state = START
            if self._buf:
                self._run()

    @property
    def between_messages(self) -> bool:
        """Nothing of a message is buffered or in progress."""
        return self.state == START and not self._buf

    @property
    def is_http(self) -> bool:
        return self.role is not None

    # ------------------------------------------------------------------ driver
    def _run(self) -> None:
        handlers = self._HANDLERS
        while self._buf and handlers[self.state](self):
            pass

    def _consume(self, n: int) -> bytes:
        data = self._buf[:n]
        self._buf = self._buf[n:]
        origin = self._origin
        while n and origin:
            piece = origin[0]
            if piece[0] > n:
                piece[0] -= n
                break
            n -= piece[0]
            del origin[0]
        return data

    def _clear(self) -> None:
        self._buf = b""
        self._origin.clear()

    def _first_byte(self) -> tuple[int, int | None]:
        """Frame and time of the first buffered byte (where a message starting there began)."""
        if self._origin:
            piece = self._origin[0]
            return piece[1], piece[2]
        return self._frame, self._ts

    # ------------------------------------------------------------------ START
    def _start(self) -> bool:
        buf = self._buf
        if buf[0] in (13, 10):  # empty lines before a message (RFC 9112 §2.2)
            self._consume(len(buf) - len(buf.lstrip(b"\r\n")))
            buf = self._buf
            if not buf:
                return False
        if (
            self.role != "client"
            and self.requests
            and self.requests[0][1] == "HTTP/0.9"
            and not buf.startswith(b"HTTP/")
        ):
            if b"HTTP/".startswith(buf[:5]):
                return False  # too few bytes to tell a status line from a document
            # The answer to an HTTP/0.9 request is the document itself, until close.
            self.role = "server"
            self._msg = ParsedMessage(False, *self._first_byte(), version="HTTP/0.9", answers=self.requests[0][2])
            self._begin_body(self._msg, True)
            self.state = BODY_UNTIL_CLOSE
            return True
        line_end = buf.find(b"\n")
        if line_end < 0:
            if len(buf) > MAX_START_LINE_BYTES or not self._start_line_plausible(buf):
                return self._garbage()
            return False
        line = buf[:line_end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(b"HTTP/"):
            if self.role == "client":
                return self._garbage()
            return self._response_head(buf, line, line_end)
        if self.role == "server":
            return self._garbage()
        return self._request_head(buf, line, line_end)

    def _start_line_plausible(self, buf: bytes) -> bool:
        """Could these bytes (perhaps a partial first line) begin a message of our role?"""
        head = buf[:16]
        if self.role != "client" and head[:5] == b"HTTP/"[: len(head[:5])]:
            return True
        if self.role == "server":
            return False
        token = head.split(b" ", 1)[0]
        return bool(token) and _TOKEN.fullmatch(token) is not None and (b" " in head or len(head) < 16)

    def _request_head(self, buf: bytes, line: bytes, line_end: int) -> bool:
        method, _, rest = line.partition(b" ")
        rest = rest.strip(b" ")
        if _TOKEN.fullmatch(method) is None:
            return self._garbage()
        v = rest.rfind(b" HTTP/")
        if v > 0:
            # A malformed version ("HTTP/1.") is kept as sent, as tshark shows it.
            target: bytes | None = rest[:v].strip(b" ")
            version = rest[v + 1 :].rstrip(b" ").decode("utf-8", "backslashreplace")
        elif method not in KNOWN_METHODS:
            # Without a version only a well-known method makes a line a request: any
            # line of text ("ody of a previous response") would pass otherwise.
            return self._garbage()
        else:
            # No version: an HTTP/0.9 request line (RFC 1945 §4.1), or a broken one such as
            # "OPTIONS HTTP/1.1" or "OPTIONS". As tshark does, what follows the method is
            # the target, and header lines that follow are still read: they are what a
            # server (and lineid) sees. A true 0.9 request, which has no header block,
            # completes when the connection ends (receive_eof).
            target, version = rest or None, "HTTP/0.9"
        header_end = self._find_header_end(buf, line_end)
        if header_end < 0:
            return False
        self.role = "client"
        msg = ParsedMessage(True, *self._first_byte())
        msg.method = method.decode("ascii")
        msg.target = target.decode("utf-8", "backslashreplace") if target is not None else None
        msg.version = version
        chunked, length = self._headers(msg, buf, line_end + 1, header_end)
        self._consume(header_end)
        self._msg = msg
        if msg.method == "CONNECT":
            # The client's next bytes are either tunnel data or, if refused, HTTP.
            self._complete(self._frame)
            self.state = PAUSED
            return False
        if chunked:
            self._begin_body(msg, True)
            self.state = CHUNK_SIZE
            self._events.append(RequestHead(msg))
        elif length:
            self._begin_body(msg, True)
            self._begin_length(length)
            self._events.append(RequestHead(msg))
        else:
            self._complete(self._frame)
        return True

    def _response_head(self, buf: bytes, line: bytes, line_end: int) -> bool:
        match = _STATUS_LINE.fullmatch(line)
        if match is None:
            return self._garbage()
        header_end = self._find_header_end(buf, line_end)
        if header_end < 0:
            return False
        self.role = "server"
        status = int(match.group(2))
        reason = match.group(3)
        msg = ParsedMessage(False, *self._first_byte())
        msg.version = "HTTP/" + match.group(1).decode()
        msg.status = status
        msg.reason = reason.decode("utf-8", "backslashreplace") if reason else ""
        msg.answers = self.requests[0][2] if self.requests else None
        chunked, length = self._headers(msg, buf, line_end + 1, header_end)
        self._consume(header_end)
        self._msg = msg
        method = self.requests[0][0] if self.requests else None
        if 100 <= status < 200 and status != 101:
            msg.interim = True
            self._complete(self._frame)
            return True
        if status == 101 or (method == "CONNECT" and 200 <= status < 300):
            self._complete(self._frame)
            self.tunnel_pending = True
            self.become_tunnel()
            return False
        if method == "HEAD" or status in (204, 304):
            self._complete(self._frame)
            return True
        self._begin_body(msg, is_textual(msg.content_type))
        if chunked:
            self.state = CHUNK_SIZE
        elif length is not None:
            if length:
                self._begin_length(length)
            else:
                self._complete(self._frame)
        else:
            self.state = BODY_UNTIL_CLOSE
            self._set_skip()
        return True

    def _find_header_end(self, buf: bytes, line_end: int) -> int:
        """Index just past the empty line that ends the header block, or -1."""
        start = max(line_end, self._search_from)
        crlf = buf.find(b"\n\r\n", start)
        lf = buf.find(b"\n\n", start, crlf if crlf >= 0 else len(buf))
        if lf >= 0:
            return lf + 2
        if crlf >= 0:
            return crlf + 3
        if len(buf) > self.limits.max_header_block_bytes:
            # Never grows without bound: cut the block here and parse what there is.
            self._report("HTTP_HEADER_BLOCK_TOO_LONG", f"no end of header block in {len(buf)} bytes", frame=self._frame)
            return len(buf)
        self._search_from = max(line_end, len(buf) - 2)
        return -1

    def _headers(self, msg: ParsedMessage, buf: bytes, start: int, end: int) -> tuple[bool, int | None]:
        """Parse header lines into msg; return (chunked, content length or None)."""
        self._search_from = 0
        text = buf[start:end].decode("utf-8", "backslashreplace")
        if "\r" not in text and text.strip("\n"):
            self._report("HTTP_BARE_LF", "", frame=self._frame)
        headers = msg.headers
        append = headers.append
        lengths: list[str] = []
        te = ""
        # CRLF and bare LF both end a line; a CR alone stays in the value (RFC 9112 §2.2).
        for line in text.replace("\r\n", "\n").split("\n"):
            if not line:
                continue
            first = line[0]
            if (first == " " or first == "\t") and headers:
                # obs-fold: replace the fold with a single space (RFC 9112 §5.2).
                name, value = headers[-1]
                folded = line.strip(" \t")
                headers[-1] = (name, f"{value} {folded}" if value else folded)
                self._report("HTTP_OBS_FOLD", name, frame=self._frame)
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name[-1] in " \t":
                self._report("HTTP_BAD_HEADER_LINE", line[:200], frame=self._frame)
                msg.malformed = True
                name, value = (name.rstrip(" \t"), value) if colon else ("", line)
            value = value.strip(" \t")
            append((name, value))
            if first in "cChHtT":  # only these names matter for framing
                lower = name.lower()
                if lower == "content-length":
                    lengths.append(value)
                elif lower == "transfer-encoding":
                    te = f"{te},{value}" if te else value
                elif lower == "content-type":
                    msg.content_type = value
                elif lower == "content-encoding":
                    msg.content_encoding = value
                elif lower == "host" and msg.host is None:
                    msg.host = value
        limit = self.limits.max_headers_per_message
        if len(headers) > limit:
            self._report("HTTP_TOO_MANY_HEADERS", f"{len(headers)} headers, more than {limit}", frame=self._frame)
            msg.malformed = True
            del headers[limit:]
        chunked = te.rsplit(",", 1)[-1].strip().lower() == "chunked" if te else False
        length = self._content_length(msg, lengths) if lengths else None
        if te and lengths:
            self._report("HTTP_TE_AND_CL", f"Transfer-Encoding {te!r} with Content-Length {lengths}", frame=self._frame)
            msg.malformed = True
            if chunked:
                length = None  # RFC 9112 §6.3: Transfer-Encoding overrides Content-Length
        if te and not chunked and not msg.is_request:
            length = None  # a response with a non-chunked coding is read until close
        return chunked, length

    def _content_length(self, msg: ParsedMessage, values: list[str]) -> int | None:
        # Repeated equal values, also as a list, are allowed (RFC 9110 §8.6).
        distinct = {v.strip() for value in values for v in value.split(",")}
        if len(distinct) == 1:
            only = distinct.pop()
            if only.isdigit() and only.isascii():
                return int(only)
        self._report("HTTP_BAD_CONTENT_LENGTH", repr(values)[:200], frame=self._frame)
        msg.malformed = True
        return None

    # ------------------------------------------------------------------ bodies
    def _begin_body(self, msg: ParsedMessage, keep: bool) -> None:
        if not keep:
            self._keep = 0
        elif msg.is_request:
            self._keep = self.limits.max_body_prefix_bytes
        else:
            self._keep = self.limits.max_response_body_prefix_bytes
        self._body_parts = []
        self._chunked_len = 0

    def _begin_length(self, length: int) -> None:
        self.state = BODY_LENGTH
        self.remaining = length
        assert self._msg is not None
        self._msg.body_len = length
        self._set_skip()

    def _set_skip(self) -> None:
        # The caller may drop (`skip`) or hand over (`direct`) body bytes without going
        # through receive_data, except the body's last byte, so that the message's
        # completion always passes through here.
        state = self.state
        if self._buf:
            self.skip = self.direct = 0
        elif state == BODY_UNTIL_CLOSE:
            self.skip, self.direct = 0, 1 << 62
        elif self.remaining > 1 and state in (BODY_LENGTH, CHUNK_DATA):
            if self._keep:
                self.skip, self.direct = 0, self.remaining - 1
            else:
                self.skip, self.direct = self.remaining - 1, 0
                assert self._msg is not None
                self._msg.body_truncated = True
        else:
            self.skip = self.direct = 0

    def receive_body(self, data: bytes) -> None:
        """Body bytes covered by `direct`, in order, with nothing buffered (the hot loop's
        shortcut for bodies that are kept or read until close)."""
        n = len(data)
        keep = self._keep
        msg = self._msg
        assert msg is not None and n < self.direct
        if keep:
            if n <= keep:
                self._body_parts.append(data)
                self._keep = keep - n
            else:
                self._body_parts.append(data[:keep])
                self._keep = 0
                msg.body_truncated = True
        elif self.state == BODY_UNTIL_CLOSE:
            msg.body_truncated = True
        if self.state == BODY_UNTIL_CLOSE:
            msg.body_len += n
        else:
            self.remaining -= n
            self._set_skip()

    def _take_body(self, n: int) -> None:
        data = self._consume(n)
        if self._keep:
            kept = data[: self._keep]
            self._body_parts.append(kept)
            self._keep -= len(kept)
            if len(kept) < len(data):
                assert self._msg is not None
                self._msg.body_truncated = True
        else:
            assert self._msg is not None
            self._msg.body_truncated = True

    def _body_length(self) -> bool:
        n = min(len(self._buf), self.remaining)
        self._take_body(n)
        self.remaining -= n
        if self.remaining:
            self._set_skip()
            return False
        self._finish_body()
        self._complete(self._frame)
        return True

    def _chunk_size(self) -> bool:
        buf = self._buf
        line_end = buf.find(b"\n")
        if line_end < 0:
            if len(buf) > 1024:
                return self._bad_chunk(f"chunk-size line longer than 1024 bytes: {buf[:40]!r}")
            return False
        size_text = buf[:line_end].split(b";", 1)[0].strip(b" \t\r")
        try:
            size = int(size_text, 16)
        except ValueError:
            return self._bad_chunk(f"chunk size {size_text[:40]!r}")
        if size < 0 or size > MAX_CHUNK_SIZE or size_text.startswith((b"-", b"+", b"0x", b"0X")):
            return self._bad_chunk(f"chunk size {size_text[:40]!r} out of range")
        self._consume(line_end + 1)
        if size == 0:
            self.state = TRAILERS
            return True
        self._chunked_len += size
        self.remaining = size
        self.state = CHUNK_DATA
        self._set_skip()
        return True

    def _chunk_data(self) -> bool:
        n = min(len(self._buf), self.remaining)
        self._take_body(n)
        self.remaining -= n
        if self.remaining:
            self._set_skip()
            return False
        self.skip = self.direct = 0
        self.state = CHUNK_END
        return True

    def _chunk_end(self) -> bool:
        buf = self._buf
        if buf.startswith(b"\r\n"):
            self._consume(2)
        elif buf.startswith(b"\n"):
            self._consume(1)
        elif buf == b"\r":
            return False
        else:
            return self._bad_chunk(f"chunk not followed by CRLF: {buf[:20]!r}")
        self.state = CHUNK_SIZE
        return True

    def _trailers(self) -> bool:
        buf = self._buf
        if buf.startswith(b"\r\n") or buf.startswith(b"\n"):
            self._consume(2 if buf[0] == 13 else 1)
        elif buf == b"\r":
            return False
        else:
            end = self._find_header_end(buf, 0)
            if end < 0:
                return False
            assert self._msg is not None
            self._headers(self._msg, buf, 0, end)  # trailer fields join the headers
            self._consume(end)
        self._finish_body()
        self._complete(self._frame)
        return True

    def _bad_chunk(self, detail: str) -> bool:
        # The message ends here, as tshark ends it ("Malformed"); what follows is searched
        # for the next message start, so a request smuggled behind a bad chunk size
        # (Zeek's 261 variants) is seen, not swallowed as body.
        self._report("HTTP_BAD_CHUNK", detail, frame=self._frame)
        assert self._msg is not None
        self._msg.malformed = True
        self._finish_body()
        self._complete(self._frame)
        self._enter_resync()
        return True

    def _until_close(self) -> bool:
        assert self._msg is not None
        n = len(self._buf)
        self._msg.body_len += n
        self._take_body(n)
        self._set_skip()
        return False

    def _finish_body(self) -> None:
        msg = self._msg
        if msg is None:
            return
        if self._chunked_len:
            msg.body_len = self._chunked_len
        if self._body_parts:
            msg.body = b"".join(self._body_parts)
            self._body_parts = []

    # ------------------------------------------------------------------ completion
    def _complete(self, frame: int) -> None:
        msg = self._msg
        assert msg is not None
        msg.frame_last = frame
        self._events.append(msg)
        self._msg = None
        self.state = START
        self.skip = self.direct = 0
        self.remaining = 0
        self._keep = 0
        if not msg.is_request and not msg.interim and self.requests:
            del self.requests[0]

    # ------------------------------------------------------------------ garbage & resync
    def _garbage(self) -> bool:
        # Not a message start. If the direction has no role yet its first bytes are not
        # HTTP: the caller sees `state == RESYNC and role is None` and decides between
        # giving the flow up (a SYN was seen: it is another protocol) and a bounded
        # mid-stream search.
        self._enter_resync()
        return True

    def _enter_resync(self) -> None:
        self.state = RESYNC
        self._resync_scanned = 0
        self._partial_checked = False

    def _resync(self) -> bool:
        buf = self._buf
        starts = []
        if self.role != "server" and (m := _RESYNC_REQUEST.search(buf)):
            starts.append(m.start())
        if self.role != "client" and (m := _RESYNC_RESPONSE.search(buf)):
            starts.append(m.start())
        if not self._partial_checked:
            # Before skipping anything, look for the tail of a header block cut by the
            # capture's start or by a gap: its header lines are evidence too.
            region = buf[: min(starts)] if starts else buf
            blank = _blank_line(region)
            if blank >= 0:
                self._partial_checked = True
                self._recover_cut_headers(region[: blank + 1])
            elif not starts and len(buf) < self.limits.max_header_block_bytes:
                return False  # the block's end may be in the next segment
            else:
                self._partial_checked = True
        if starts:
            at = min(starts)
            if at:
                self._report(
                    "HTTP_RESYNC" if self.role else "HTTP_UNPARSED_DATA",
                    f"skipped {at} bytes to the next message start",
                    frame=self._frame,
                )
            self._resync_scanned = 0
            self._consume(at)
            self.state = START
            return True
        # Keep the tail, which may hold the beginning of a start line.
        drop = len(buf) - RESYNC_TAIL_BYTES
        if drop > 0:
            self._resync_scanned += drop
            self._consume(drop)
        return False

    def _recover_cut_headers(self, block: bytes) -> None:
        """Emit the header lines of a block whose start line was not captured, if the
        bytes really are header lines (every line after the possibly cut first one is
        `token: value` or a fold)."""
        lines = block.decode("utf-8", "backslashreplace").split("\n")
        headers: list[tuple[str, str]] = []
        invalid = 0
        for i, line in enumerate(lines):
            line = line.removesuffix("\r")
            if not line:
                continue
            if line[0] in " \t" and headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip(' ')}".strip())
                continue
            name, colon, value = line.partition(":")
            if colon and _TOKEN.fullmatch(name.encode("utf-8", "backslashreplace")):
                headers.append((name, value.strip(" \t")))
            elif i > 0:
                # Kept as the parser keeps a bad line; the first line may be cut mid-way.
                headers.append(("", line))
                invalid += 1
        if len(headers) - invalid <= invalid:
            return  # mostly not header lines: the skipped bytes were something else
        names = {n.lower() for n, _ in headers}
        is_request = self.role == "client" or (
            self.role is None and bool(names & _REQUEST_ONLY_HEADERS) and not names & _RESPONSE_ONLY_HEADERS
        )
        msg = ParsedMessage(is_request, *self._first_byte(), headers=headers, gap=True, partial=True)
        msg.host = next((v for n, v in headers if n.lower() == "host"), None)
        self._report(
            "HTTP_PARTIAL_HEADERS",
            f"{len(headers)} header line(s) of a message whose start was not captured",
            frame=self._frame,
        )
        self._events.append(msg)
        msg.frame_last = self._frame

    @property
    def resync_scanned(self) -> int:
        """Bytes skipped while looking for a message start since the last one found."""
        return self._resync_scanned

    _HANDLERS: tuple[Callable[[HttpParser], bool], ...] = ()


HttpParser._HANDLERS = (
    HttpParser._start,
    HttpParser._body_length,
    HttpParser._chunk_size,
    HttpParser._chunk_data,
    HttpParser._chunk_end,
    HttpParser._trailers,
    HttpParser._until_close,
    HttpParser._resync,
    lambda self: False,  # TUNNEL
    lambda self: False,  # PAUSED
)
