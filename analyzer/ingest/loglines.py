"""What the log sources (Zeek http.log, Suricata EVE, access logs) share: lines, time, values.

Strategy: a log is read in blocks of `READ_BLOCK_BYTES`, each cut after its last newline and
decoded once (`decode_wire_text`, so a byte that is not UTF-8 becomes the text ``\\xNN``),
then split into lines. Readers loop over a block's list of lines; no object is made per
line beyond the str itself. A line longer than `MAX_LINE_BYTES` is skipped with an
anomaly, so a file without newlines cannot grow a buffer without end.

Records are built by `analyzer.ingest.logrecord.new_message`.

"""

from __future__ import annotations

import calendar
import ipaddress
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from analyzer.anomalies import Recorder
from analyzer.model import Endpoints, decode_wire_text
from analyzer.sources.evidence import Evidence

# Disk reads per block: large enough that per-block work (decode, split) is nothing per
# line, small enough that memory does not depend on the file.
READ_BLOCK_BYTES = 1024 * 1024
# Longest line kept. EVE lines carry base64 bodies (Suricata's default body limits are
# 100 KiB a side, 4/3 of that as base64) and request_headers capped at 2 KiB per value;
# 16 MiB is far past any real line and still bounds memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
# Caches of distinct values (IPs, times, Endpoints, shared strings): cleared when they
# reach this size, so a log of only distinct values costs a bounded amount of memory.
MAX_CACHED = 1 << 17

NS = 1_000_000_000
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun"), 1)} | {
    m: i for i, m in enumerate(("Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 7)
}


# --------------------------------------------------------------------------- lines
def iter_blocks(
    evidence: Evidence, recorder: Recorder, shard: tuple[int, int] | None = None
) -> Iterator[tuple[range, list[str]]]:
    """(line numbers, lines) per block: 1-based numbers, no line ends, CR of CRLF removed.

    With `shard=(k, n)` only lines whose number is k modulo n are given: `--jobs` splits a
    log by lines, and every shard still reads (and decodes) every block.
    """
    carry = b""
    number = 1  # number of the first line in `carry`
    skipping = False  # inside a line past MAX_LINE_BYTES
    while True:
        data = evidence.read(READ_BLOCK_BYTES)
        if not data:
            break
        cut = data.rfind(b"\n")
        if cut < 0:
            if skipping:
                continue
            carry += data
            if len(carry) > MAX_LINE_BYTES:
                recorder.add("LOG_LINE_TOO_LONG", f"line longer than {MAX_LINE_BYTES} bytes", line=number)
                carry, skipping = b"", True
            continue
        head, rest = data[: cut + 1], data[cut + 1 :]
        if skipping:
            head = head[head.find(b"\n") + 1 :]
            skipping = False
            number += 1
            if not head:
                carry = rest
                continue
        text = decode_wire_text(carry + head if carry else head)
        carry = rest
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        lines = text.split("\n")
        lines.pop()  # the text ends with the block's last newline
        first, number = number, number + len(lines)
        yield _sharded(first, lines, shard)
    if carry and not skipping:  # a last line without its newline
        yield _sharded(number, [decode_wire_text(carry).removesuffix("\r")], shard)


def _sharded(first: int, lines: list[str], shard: tuple[int, int] | None) -> tuple[range, list[str]]:
    if shard is None:
        return range(first, first + len(lines)), lines
    k, n = shard
    skip = (k - first) % n
    return range(first + skip, first + len(lines), n), lines[skip::n]


def owns(line: int, shard: tuple[int, int] | None) -> bool:
    return shard is None or line % shard[1] == shard[0]


# --------------------------------------------------------------------------- time
def clf_time_ns(text: str) -> int:
    """`10/Jan/2012:13:55:36 +0000` (nginx $time_local, Apache %t, Squid %tl) → ns UTC."""
    if len(text) != 26 or text[2] != "/" or text[6] != "/" or text[11] != ":" or text[20] != " ":
        raise ValueError(f"not a [dd/Mon/yyyy:HH:MM:SS +zzzz] time: {text[:40]!r}")
    month = MONTHS[text[3:6]]
    secs = calendar.timegm(
        (int(text[7:11]), month, int(text[0:2]), int(text[12:14]), int(text[15:17]), int(text[18:20]), 0, 0, 0)
    )
    sign = text[21]
    offset = int(text[22:24]) * 3600 + int(text[24:26]) * 60
    if sign == "+":
        secs -= offset
    elif sign == "-":
        secs += offset
    else:
        raise ValueError(f"bad zone in {text!r}")
    return secs * NS


def iso_time_ns(text: str) -> int:
    """ISO 8601 with a zone (EVE `2012-01-10T13:55:36.123456+0000`, nginx $time_iso8601,
    Zeek JSON with json_timestamps=JSON::TS_ISO8601) → ns UTC. A time without a zone is
    refused: which zone the writer meant is not in the log."""
    stamp = text.strip()
    if stamp.endswith(("Z", "z")):
        stamp = stamp[:-1] + "+00:00"
    elif len(stamp) > 5 and stamp[-5] in "+-" and stamp[-4:].isdigit():
        stamp = stamp[:-2] + ":" + stamp[-2:]  # Suricata writes +0000; fromisoformat wants +00:00 before 3.11 forms
    frac = 0
    dot = stamp.find(".")
    if dot >= 0:  # fromisoformat keeps µs; logs may give ns
        end = dot + 1
        while end < len(stamp) and stamp[end].isdigit():
            end += 1
        digits = stamp[dot + 1 : end]
        frac = int(digits[:9].ljust(9, "0")) if digits else 0
        stamp = stamp[:dot] + stamp[end:]
    when = datetime.fromisoformat(stamp)
    if when.tzinfo is None:
        raise ValueError(f"time without a zone: {text[:40]!r}")
    return calendar.timegm(when.utctimetuple()) * NS + frac


def epoch_ns(text: str, scale: int = NS) -> int:
    """Decimal seconds since the epoch (`1326203736.123456`) → ns, exactly (no float).

    `scale` is ns per unit of `text`: Apache %{msec}t gives ms, %{usec}t µs."""
    whole, _, frac = text.strip().partition(".")
    if not whole.lstrip("-").isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a number of seconds: {text[:40]!r}")
    ns = int(whole) * scale
    if frac:
        digits = len(str(scale)) - 1
        ns += int(frac[:digits].ljust(digits, "0")) if digits > 0 else 0
    return ns


# --------------------------------------------------------------------------- values
class Interner:
    """One str object per distinct value (user agents, referers, IPs repeat on most lines:
    a 1 GB log holds millions of copies otherwise), and cached parses of addresses."""

    __slots__ = ("endpoints", "ips", "strings")

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.ips: dict[str, str | None] = {}
        self.endpoints: dict[tuple[Any, ...], Endpoints] = {}

    def text(self, value: str) -> str:
        strings = self.strings
        kept = strings.get(value)
        if kept is None:
            if len(strings) >= MAX_CACHED:
                strings.clear()
            strings[value] = kept = value
        return kept

    def ip(self, value: str | None) -> str | None:
        """Canonical text of an IP address (so log and capture rows of one host join), or
        None for '-', empty, or a host name (Apache %h with HostnameLookups)."""
        if not value:
            return None
        ips = self.ips
        if value in ips:
            return ips[value]
        try:
            canonical: str | None = str(ipaddress.ip_address(value.removeprefix("[").removesuffix("]")))
        except ValueError:
            canonical = None
        if len(ips) >= MAX_CACHED:
            ips.clear()
        ips[value] = canonical
        return canonical

    def endpoints_of(
        self,
        client_ip: str | None,
        client_port: int | None,
        server_ip: str | None,
        server_port: int | None,
        flow_id: str | None = None,
        community_id: str | None = None,
        vlan: int | None = None,
        inner_vlan: int | None = None,
    ) -> Endpoints:
        key = (client_ip, client_port, server_ip, server_port, flow_id, community_id, vlan, inner_vlan)
        found = self.endpoints.get(key)
        if found is None:
            if len(self.endpoints) >= MAX_CACHED:
                self.endpoints.clear()
            found = Endpoints(
                flow_id, community_id, client_ip, client_port, server_ip, server_port, vlan=vlan, inner_vlan=inner_vlan
            )
            self.endpoints[key] = found
        return found


def port(value: Any) -> int | None:
    """A TCP port from a log field (str or int), None when absent or out of range."""
    if value is None or value == "" or value == "-":
        return None
    number = int(value)  # ValueError for the caller to report
    if not 0 <= number <= 65535:
        raise ValueError(f"port {number} out of range")
    return number


def http_version(value: str | None) -> str | None:
    """`HTTP/1.1` whatever the log wrote: Zeek and Squid %rv log `1.1`."""
    if not value or value == "-":
        return None
    return value if value.startswith("HTTP/") or not value[0].isdigit() else "HTTP/" + value


def host_of_uri(uri: str | None) -> str | None:
    """The authority of an absolute-form target (a proxy's `GET http://host/…`, `CONNECT
    host:443`): what the request names as its host when the log has no Host header."""
    if not uri or uri[0] == "/":
        return None
    if "://" in uri[:12]:
        rest = uri.split("://", 1)[1]
        authority = rest.split("/", 1)[0].split("?", 1)[0]
        return authority.rsplit("@", 1)[-1] or None
    if ":" in uri and "/" not in uri and " " not in uri:
        return uri  # CONNECT's authority form, host:port
    return None
