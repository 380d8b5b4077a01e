"""tshark as a test oracle: the HTTP messages it reports, with their headers.

Only tests use this; lineid never runs a dissector. tshark is always run with
`tcp.reassemble_out_of_order:TRUE`, as the project's reference configuration.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field

TSHARK = shutil.which("tshark")
AGGREGATOR = "\x1e"
FIELDS = (
    "frame.number",
    "http.request.method",
    "http.request.uri",
    "http.response.code",
    "http.request.line",
    "http.response.line",
    "http.request.version",
    "http.response.version",
)


@dataclass
class OracleMessage:
    frame: int
    direction: str
    method: str | None
    uri: str | None
    status: int | None
    headers: Counter[tuple[str, str]] = field(default_factory=Counter)


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[rnt\\\"])")


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code.startswith("x"):
            return chr(int(code[1:], 16))
        return {"r": "\r", "n": "\n", "t": "\t", "\\": "\\", '"': '"'}[code]

    return _ESCAPE.sub(one, text)


def _header_pairs(lines: str) -> Counter[tuple[str, str]]:
    """(lower-case name, value) pairs. tshark shows an obs-fold continuation as a line of
    its own; it is joined to the previous value with one space, as RFC 9112 §5.2 says a
    recipient does (and lineid does)."""
    pairs: list[tuple[str, str]] = []
    for raw in filter(None, lines.split(AGGREGATOR)):
        line = _unescape(raw).rstrip("\r\n")
        if line[:1] in (" ", "\t") and pairs:
            name, value = pairs[-1]
            folded = line.strip(" \t")
            pairs[-1] = (name, f"{value} {folded}" if value else folded)
            continue
        name, colon, value = line.partition(":")
        if colon:
            pairs.append((name.strip().lower(), value.strip(" \t")))
    return Counter(pairs)


def messages(path: str, extra: tuple[str, ...] = ()) -> list[OracleMessage]:
    assert TSHARK, "tshark is not installed"
    cmd = [
        TSHARK,
        "-n",
        "-r",
        path,
        "-o",
        "tcp.reassemble_out_of_order:TRUE",
        *extra,
        "-Y",
        "http",
        "-T",
        "fields",
        "-E",
        f"aggregator={AGGREGATOR}",
        "-E",
        "occurrence=a",
    ]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="backslashreplace", check=True).stdout
    result = []
    for row in filter(None, out.split("\n")):  # not splitlines(): it splits on \x1e too
        cols = row.split("\t")
        frame, methods, uris, codes, req_lines, resp_lines = cols[:6]
        # One frame can complete several messages (pipelining); tshark lists each one's
        # fields in order, aggregated. Header lines cannot be split per message here,
        # so only single-message frames carry header multisets.
        for i, method in enumerate(filter(None, methods.split(AGGREGATOR))):
            uri = uris.split(AGGREGATOR)[i] if uris else None
            headers = _header_pairs(req_lines) if len(methods.split(AGGREGATOR)) == 1 else Counter()
            result.append(OracleMessage(int(frame), "request", method, _unescape(uri) if uri else None, None, headers))
        for code in filter(None, codes.split(AGGREGATOR)):
            headers = _header_pairs(resp_lines) if len(codes.split(AGGREGATOR)) == 1 else Counter()
            result.append(OracleMessage(int(frame), "response", None, None, int(code), headers))
    return result
