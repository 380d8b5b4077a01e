"""HttpMessage records for log lines, built fast.

`new_message` gives exactly what `HttpMessage(...)` gives, about six times faster: the
frozen dataclass's `__init__` pays `object.__setattr__` for each of its 26 fields (10 µs a
record on the reference machine; at 200 000 log lines a second that alone was the whole
budget). `_Draft` fills the same slots with plain stores and then becomes an HttpMessage.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, cast

from analyzer.model import Direction, Endpoints, HttpMessage

_FIELDS = tuple(f.name for f in dataclasses.fields(HttpMessage))


class _Draft:
    """An HttpMessage being filled in: the same slots in the same order, but not frozen, so
    each field costs a plain attribute store. The finished object's class is then set to
    HttpMessage (allowed because the layouts are identical); from there on it is an
    ordinary frozen HttpMessage, equal to and hashed like one built by its constructor."""

    __slots__ = _FIELDS

    def __init__(
        self,
        message_id: int,
        source: str,
        source_kind: str,
        ts: int | None,
        direction: Direction,
        endpoints: Endpoints,
        frame_first: int | None,
        frame_last: int | None,
        har_entry: int | None,
        line: int | None,
        trans_depth: int | None,
        method: str | None,
        uri: str | None,
        host: str | None,
        version: str | None,
        status: int | None,
        reason: str | None,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        body_len: int,
        body_truncated: bool,
        content_type: str | None,
        content_encoding: str | None,
        gap: bool,
        malformed: bool,
        partial: bool,
    ) -> None:
        self.message_id = message_id
        self.source = source
        self.source_kind = source_kind
        self.ts = ts
        self.direction = direction
        self.endpoints = endpoints
        self.frame_first = frame_first
        self.frame_last = frame_last
        self.har_entry = har_entry
        self.line = line
        self.trans_depth = trans_depth
        self.method = method
        self.uri = uri
        self.host = host
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.body_len = body_len
        self.body_truncated = body_truncated
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.gap = gap
        self.malformed = malformed
        self.partial = partial
        self.__class__ = HttpMessage  # type: ignore[assignment]


def _draft_usable() -> bool:
    """Whether _Draft still mirrors HttpMessage (a field added to the model and not here
    would leave a slot unset): otherwise new_message falls back to the constructor."""
    if tuple(inspect.signature(_Draft.__init__).parameters)[1:] != _FIELDS:
        return False
    try:
        no = None
        _Draft(
            0,
            "",
            "",
            no,
            "request",
            Endpoints(),
            no,
            no,
            no,
            1,
            no,
            no,
            no,
            no,
            no,
            no,
            no,
            (),
            b"",
            0,
            False,
            no,
            no,
            False,
            False,
            False,
        )
    except TypeError:
        return False
    return True


_MAKE: Any = _Draft if _draft_usable() else HttpMessage
# HttpMessage's constructor, all 26 fields positional, for hot loops that cannot afford a
# keyword call (the access log reader); `new_message` is the readable form.
MESSAGE: Callable[..., HttpMessage] = _MAKE


def new_message(
    message_id: int,
    source: str,
    source_kind: str,
    ts: int | None,
    direction: Direction,
    endpoints: Endpoints,
    line: int,
    trans_depth: int | None,
    method: str | None,
    uri: str | None,
    host: str | None,
    version: str | None,
    status: int | None,
    reason: str | None,
    headers: tuple[tuple[str, str], ...],
    body: bytes = b"",
    body_len: int = 0,
    content_type: str | None = None,
    content_encoding: str | None = None,
    malformed: bool = False,
) -> HttpMessage:
    """An HttpMessage of a log line (no frames, no HAR entry; nothing was cut or missing)."""
    return cast(
        HttpMessage,
        _MAKE(
            message_id,
            source,
            source_kind,
            ts,
            direction,
            endpoints,
            None,
            None,
            None,
            line,
            trans_depth,
            method,
            uri,
            host,
            version,
            status,
            reason,
            headers,
            body,
            body_len,
            False,
            content_type,
            content_encoding,
            False,
            malformed,
            False,
        ),
    )
