"""HAR files (HAR 1.2, as browsers and proxies really write them) → `HttpMessage` records.

Strategy: a HAR is one JSON document, often hundreds of megabytes of embedded bodies, so
it is never loaded whole. ijson (its C yajl2 backend) streams `log.entries` one entry at a
time from the Evidence; each entry becomes a request and a response message
(`har_entry.entry_messages`) and is dropped. Peak memory is one entry plus ijson's 64 KiB
read buffer, whatever the file size.

Before that, the first MiB is parsed on its own (`_sniff`) to tell three cases apart, as
plaso keeps "not my format" apart from "my format but damaged":

- `{"log": {…}}`: a HAR. Damage inside it (a cut, a syntax error, a wrong type) is an
  anomaly, and every complete entry before it is kept.
- `{"request": …, "response": …}` with no `log`: one bare entry (haralyzer's
  `single_entry.har`, ProxyPin's reports), read as entry 0.
- anything else (another JSON document, a Docker log line whose `"log"` is a string, or
  not JSON at all): `InputFormatError`, before any message is yielded.

Key order is free in JSON, so nothing depends on `pages` or `creator` coming before
`entries`; `creator` is only used when it does (Firefox, which writes it first).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import ijson

from analyzer.anomalies import Recorder
from analyzer.errors import InputFormatError
from analyzer.ingest.har_entry import HarContext, entry_messages
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.sources.evidence import Evidence

BOM = b"\xef\xbb\xbf"  # Fiddler and Windows editors start HAR files with it; JSON parsers refuse it
# Bytes parsed ahead to recognise the document. A HAR's `log` (or a bare entry's first
# keys) comes within a few hundred bytes; 1 MiB leaves room for a long leading comment.
SNIFF_BYTES = 1024 * 1024
# ijson's own default: small enough that a too-large entry is noticed within 64 KiB of
# its limit, large enough that the C parser spends its time parsing, not being called.
READ_BYTES = 64 * 1024
# Bytes kept from the end of what was read, to tell a cut file from a damaged one.
TAIL_BYTES = 64
# Top-level keys of an entry object (HAR 1.2 §entries); one of them first means a bare entry.
ENTRY_KEYS = frozenset(
    {"startedDateTime", "time", "request", "response", "cache", "timings", "serverIPAddress", "connection", "pageref"}
)
# ijson's event for the start of a value → what the value is, for messages.
_EVENT_KINDS = {
    "start_map": "an object",
    "start_array": "an array",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}
# Creators whose `connection` holds the server port, not a connection id (see HarContext).
PORT_AS_CONNECTION = ("Firefox", "Firebug")


class _Reader:
    """The file-like face ijson reads: `read(n)` over the Evidence, BOM already skipped."""

    __slots__ = ("evidence", "tail")

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.tail = b""  # the last bytes read: does the file end where a document can?

    def read(self, n: int = READ_BYTES) -> bytes:
        # ijson calls read(0) to learn whether the stream gives bytes or text: it must
        # consume nothing.
        data = self.evidence.read(n) if n >= 0 else self.evidence.read(READ_BYTES)
        if data:
            self.tail = (self.tail + data)[-TAIL_BYTES:]
        return data

    def cut_short(self) -> bool:
        """The file ends before its document does: everything is read and the last byte
        is not the closing brace. yajl calls a cut inside a token (`"ssl": -`) a lexical
        error, not a premature EOF."""
        return not self.evidence.read(1) and not self.tail.rstrip().endswith(b"}")


@dataclass(slots=True)
class _Shape:
    """What the first MiB says about the document."""

    bare_entry: bool = False
    log_ok: bool = True  # `log` is an object (False: reported already, no entries to expect)
    entries_seen: bool = False  # `log.entries` was seen opening as an array
    entries_bad: bool = False  # `log.entries` is there but is not an array (reported)
    complete: bool = False  # the whole document fitted in the sniffed bytes
    creator: str | None = None


def _json_error(exc: Exception) -> str:
    """yajl's message, first line only (the rest is an ASCII-art pointer into the text)."""
    text = str(exc).strip()
    if text.startswith(("b'", 'b"')):
        text = text[2:]
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _not_har(evidence: Evidence, what: str) -> InputFormatError:
    return InputFormatError(evidence.path, f"{what}, not a HAR file (expected a JSON object with a 'log')")


def _sniff(evidence: Evidence, head: bytes, recorder: Recorder) -> _Shape:
    """Decide from the first bytes what the document is; InputFormatError if not a HAR."""
    shape = _Shape(complete=len(head) < SNIFF_BYTES)
    events = ijson.parse(io.BytesIO(head))
    skipping: str | None = None  # prefix of a neutral top-level value being skipped
    in_log = False
    try:
        for prefix, event, value in events:
            if prefix == "":
                if event == "end_map":
                    if not in_log:
                        raise _not_har(evidence, "a JSON object without 'log' or an entry's fields")
                    shape.complete = True
                    return shape
                if event in ("start_array", "string", "number", "boolean", "null"):
                    raise _not_har(evidence, f"{_EVENT_KINDS.get(event, event)} at the top level")
                if event != "map_key":
                    continue
                if in_log:  # a key after log (Chrome never writes one); nothing more to learn
                    return shape
                if value == "log":
                    in_log = True
                elif value in ENTRY_KEYS:
                    shape.bare_entry = True
                    return shape
                elif value == "comment" or value.startswith("_"):
                    skipping = value  # HAR's own extension points; no verdict yet
                else:
                    raise _not_har(evidence, f"a JSON object whose first key is {value[:40]!r}")
            elif skipping is not None and (prefix == skipping or prefix.startswith(skipping + ".")):
                continue
            elif prefix == "log" and event not in ("map_key", "end_map"):
                if event == "start_array":
                    # mitmproxy's brokenfile.har: {"log": [2,1,3] …}. HAR-shaped but damaged.
                    recorder.add("HAR_BAD_FIELD", "log is an array, not an object; it has no entries", offset=0)
                    shape.log_ok = False
                    return shape
                if event != "start_map":
                    # {"log": "text", "stream": …} is a Docker JSON log line, not a HAR.
                    raise _not_har(evidence, f"a JSON object whose 'log' is {_EVENT_KINDS.get(event, event)}")
            elif prefix == "log.creator.name" and isinstance(value, str):
                shape.creator = value
            elif prefix == "log.entries":
                if event == "start_array":
                    shape.entries_seen = True
                    return shape
                recorder.add("HAR_BAD_FIELD", f"log.entries is {_EVENT_KINDS.get(event, event)}, not an array")
                shape.entries_bad = True
                return shape
    except ijson.JSONError as exc:
        if not in_log and not shape.bare_entry and (shape.complete or "premature EOF" not in str(exc)):
            raise _not_har(evidence, f"not JSON ({_json_error(exc)})") from None
        # Otherwise the damage is inside a HAR, or it is where the sniffed bytes end: the
        # streaming pass meets it again and records it with every entry before it.
    if not in_log and not shape.bare_entry:
        raise _not_har(evidence, f"no 'log' object in the first {SNIFF_BYTES // 1024} KiB")
    return shape


def messages_from_har(
    evidence: Evidence, *, source_index: int, limits: Limits, recorder: Recorder
) -> Iterator[HttpMessage]:
    """Every message of one HAR input, entry by entry, request before response.

    Raises InputFormatError (before yielding anything) for JSON that is not a HAR and for
    a file that is not JSON. A cut or damaged HAR yields every complete entry before the
    damage and records HAR_TRUNCATED.
    """
    if evidence.peek(len(BOM)) == BOM:
        evidence.read(len(BOM))
    shape = _sniff(evidence, evidence.peek(SNIFF_BYTES), recorder)
    ctx = HarContext(
        evidence.path,
        source_index,
        limits,
        recorder.add,
        connection_is_id=not (shape.creator or "").startswith(PORT_AS_CONNECTION),
    )
    if shape.bare_entry:
        yield from _bare_entry(evidence, ctx, recorder)
        return
    reader = _Reader(evidence)
    entries = ijson.items(reader, "log.entries.item", buf_size=READ_BYTES)
    index = 0
    last_offset = evidence.offset
    while True:
        try:
            raw = next(entries)
        except StopIteration:
            break
        except ijson.JSONError as exc:
            _damaged(exc, reader, recorder, index)
            return
        # Bytes read since the previous entry: the entry's size to within one read block.
        # ijson has built it by now; checking here at least keeps a giant entry's fields
        # out of every later stage.
        size, last_offset = evidence.offset - last_offset, evidence.offset
        if size > limits.max_har_entry_bytes:
            recorder.add(
                "HAR_ENTRY_TOO_LARGE",
                f"about {size} bytes > max_har_entry_bytes={limits.max_har_entry_bytes}",
                har_entry=index,
                offset=evidence.offset,
            )
        else:
            yield from entry_messages(raw, index, ctx)
        index += 1
    if index == 0 and shape.log_ok and not shape.entries_bad and not shape.entries_seen:
        recorder.add("HAR_MISSING_FIELD", "log.entries is missing (or empty): the HAR has no entries")


def _bare_entry(evidence: Evidence, ctx: HarContext, recorder: Recorder) -> Iterator[HttpMessage]:
    """A file holding one entry object, without `log` around it: entry 0."""
    start = evidence.offset
    reader = _Reader(evidence)
    try:
        raw = next(ijson.items(reader, "", buf_size=READ_BYTES))
    except ijson.JSONError as exc:
        _damaged(exc, reader, recorder, 0)
        return
    except StopIteration:  # pragma: no cover - the sniff saw a top-level object
        return
    if not isinstance(raw.get("request"), dict):
        # Entry-like keys but no request: some other JSON record (nothing was yielded yet).
        raise _not_har(evidence, "a JSON object with neither 'log' nor an entry's 'request'")
    size = evidence.offset - start
    if size > ctx.limits.max_har_entry_bytes:
        recorder.add(
            "HAR_ENTRY_TOO_LARGE",
            f"about {size} bytes > max_har_entry_bytes={ctx.limits.max_har_entry_bytes}",
            har_entry=0,
        )
        return
    yield from entry_messages(raw, 0, ctx)


def _damaged(exc: Exception, reader: _Reader, recorder: Recorder, index: int) -> None:
    """A cut (premature EOF) or a syntax error: the stream cannot go on past it."""
    evidence = reader.evidence
    reason = _json_error(exc)
    cut = "premature EOF" in reason or reader.cut_short()
    where = "the file ends early" if cut else "the JSON is damaged"
    recorder.add(
        "HAR_TRUNCATED" if cut else "HAR_BAD_JSON",
        f"{where} ({reason}, within the {READ_BYTES // 1024} KiB before byte {evidence.offset}); "
        f"the {index} complete entries before it were read",
        har_entry=index,
        offset=evidence.offset,
    )
