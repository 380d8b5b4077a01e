"""Recognising log inputs by content: Zeek http.log (TSV or JSON), Suricata EVE, access logs.

Only the first line (or the first header lines) is looked at, and only for the marks a
writer always leaves: a Zeek TSV log opens with `#separator` and `#fields` lines (btest
baselines put a `### BTest` comment first); a Zeek JSON line has `ts` and `uid`; an EVE
line has `timestamp` and `event_type`; an access log line has a `[10/Jan/2012:13:55:36
+0000]` time (every NCSA-style preset), Squid native's `1326203736.123    145 … TCP_MISS/200`
shape, or matches the format the user gave. Anything else is left to the other sniffers,
so a HAR (one JSON document, whose first line is not a whole object with those keys) is
still a HAR.
"""

from __future__ import annotations

import json
import re

BOM = b"\xef\xbb\xbf"
# Bytes looked at for a log's first line. Access log and Zeek lines are short; an EVE line
# with request/response headers is a few KiB, with bodies up to a few hundred KiB.
SNIFF_BYTES = 64 * 1024
JSON_SNIFF_BYTES = 1024 * 1024
# Zeek's header block is 8 lines; btest baselines and concatenated logs add a few.
ZEEK_HEADER_LINES = 32
CLF_TIME = re.compile(r"\[\d{1,2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]")
SQUID_NATIVE = re.compile(r"\d{9,11}\.\d{3} +-?\d+ \S+ [A-Z_]+/\d{3} ")


def first_line(text: str) -> tuple[str, bool]:
    """The first non-blank line and whether it is complete (its newline was seen)."""
    start = 0
    while True:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if line.strip() or end < 0:
            return line.rstrip("\r"), end >= 0
        start = end + 1


def sniff_json_line(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if "event_type" in record and "timestamp" in record:
        return "eve"
    if "ts" in record and "uid" in record:
        return "zeek"
    return None


def sniff_log(head: bytes, *, whole: bool, log_format: str | None = None) -> str | None:
    """'zeek', 'eve' or 'accesslog' from the first bytes, or None for something else.

    `whole`: `head` is the whole input (a last line without its newline is complete)."""
    text = head.removeprefix(BOM).decode("utf-8", "replace")
    line, complete = first_line(text)
    if line.lstrip().startswith("{"):
        return sniff_json_line(line) if complete or whole else None
    if line.startswith("#"):
        lines = text.split("\n", ZEEK_HEADER_LINES)[:ZEEK_HEADER_LINES]
        if any(raw.startswith(("#separator", "#fields\t")) for raw in lines):
            return "zeek"
        return None
    if CLF_TIME.search(line) or SQUID_NATIVE.match(line):
        return "accesslog"
    if log_format:
        from analyzer.ingest.logformat import compile_format

        if compile_format(log_format).regex.match(line):
            return "accesslog"
    return None
