"""Every anomaly code lineid records, its severity and what it means (Zeek's weird.zeek).

Parsers are lenient: on an oddity they record one of these and go on. A code not listed
here is a programming error, caught by `Recorder.add` and by the tests.
"""

from __future__ import annotations

from collections.abc import Callable

from analyzer.model import Anomaly, Severity

CODES: dict[str, tuple[Severity, str]] = {
    # --- capture files
    "PCAP_TRUNCATED_RECORD": ("warning", "the capture ends inside a record; every complete record before it was read"),
    "PCAP_RESYNC": ("error", "a record header was impossible; reading resumed at the next plausible record"),
    "PCAP_CAPLEN_EXCEEDS_SNAPLEN": ("info", "a record is longer than the snapshot length its header declares"),
    "PCAPNG_BAD_BLOCK": (
        "error",
        "a pcapng block had an impossible length; reading resumed at the next plausible block",
    ),
    "PCAPNG_TRUNCATED_BLOCK": ("warning", "the capture ends inside a pcapng block"),
    "PCAPNG_UNKNOWN_INTERFACE": ("warning", "a packet names an interface no IDB described; it was skipped"),
    "COMPRESSED_STREAM_TRUNCATED": (
        "warning",
        "the compressed stream is cut or damaged; everything before the damage was read",
    ),
    "COMPRESSED_TRAILING_DATA": ("info", "bytes after the end of the compressed stream were ignored"),
    # --- link and network layers
    "LINK_TYPE_UNSUPPORTED": ("info", "packets of a link type lineid does not decode were counted and skipped"),
    "LAYOUT_UNSUPPORTED": (
        "info",
        "a packet layout lineid does not decode (ethertype, protocol) was counted and skipped",
    ),
    "PACKET_TRUNCATED": ("info", "a packet was cut (snap length) before its transport payload ended"),
    "IP_BAD_HEADER": ("warning", "an IP header was malformed; the packet was skipped"),
    "IP_FRAGMENT_OVERLAP": ("warning", "IP fragments overlapped with different data; the first copy was kept"),
    "IP_FRAGMENTS_EXPIRED": ("info", "an incomplete set of IP fragments timed out or was evicted"),
    "TUNNEL_MALFORMED": ("warning", "a tunnel header (GTP-U, VXLAN, GRE, Teredo) was malformed"),
    # --- TCP
    "TCP_GAP": ("warning", "bytes of a TCP stream were never captured; parsing resumed after the hole"),
    "TCP_OVERLAP_CONFLICT": (
        "warning",
        "a retransmitted or overlapping segment carried different bytes; the first copy was kept",
    ),
    "TCP_MIDSTREAM": ("info", "a connection was first seen without its SYN (capture started mid-stream)"),
    "TCP_PORT_REUSE": ("info", "a new SYN reused the ports of a finished connection; a new flow was started"),
    "FLOW_EVICTED": ("warning", "the live-flow limit was reached; the least recently seen flow was flushed early"),
    "REASSEMBLY_LIMIT": ("warning", "out-of-order data of a flow passed the buffer limit; the hole was declared a gap"),
    # --- HTTP
    "HTTP_BAD_START_LINE": ("warning", "a request or status line could not be parsed"),
    "HTTP_BAD_HEADER_LINE": (
        "warning",
        "a header line had no colon or an invalid name; it was kept as a header with an empty name",
    ),
    "HTTP_OBS_FOLD": ("info", "a header value was continued on the next line (obs-fold, RFC 9112 §5.2)"),
    "HTTP_BARE_LF": ("info", "lines ended with LF without CR"),
    "HTTP_HEADER_BLOCK_TOO_LONG": (
        "warning",
        "a header block passed max_header_block_bytes; the message was cut there",
    ),
    "HTTP_TOO_MANY_HEADERS": (
        "warning",
        "a message had more than max_headers_per_message headers; the rest were not kept as rows",
    ),
    "HTTP_BAD_CONTENT_LENGTH": (
        "warning",
        "Content-Length was not a number, negative, or repeated with different values",
    ),
    "HTTP_TE_AND_CL": ("warning", "both Transfer-Encoding and Content-Length were present (request smuggling shape)"),
    "HTTP_BAD_CHUNK": (
        "warning",
        "a chunk size line was malformed or overflowed; the message ended there and parsing resumed at the next message start",
    ),
    "HTTP_HEADERS_INCOMPLETE": (
        "warning",
        "the connection ended inside a header block; the message was kept as far as it went",
    ),
    "HTTP_BODY_INCOMPLETE": ("info", "the connection ended before the declared body did"),
    "HTTP_PARTIAL_HEADERS": (
        "info",
        "header lines of a message whose start was not captured were kept as a partial message",
    ),
    "HTTP_RESYNC": ("info", "after a gap or garbage, parsing resumed at the next message start"),
    "HTTP_UNPARSED_DATA": ("info", "bytes that are not HTTP were skipped between messages"),
    "HTTP_PENDING_LIMIT": ("warning", "more requests waited for responses than max_pending_requests_per_flow"),
    "HTTP_BODY_DECODE_ERROR": ("info", "a Content-Encoding could not be decoded; detection read the body as sent"),
    "HTTP_BODY_DECODE_LIMIT": (
        "info",
        "content decoding stopped at max_decoded_body_bytes (possible decompression bomb)",
    ),
    "HTTP_UNANSWERED": ("info", "requests still waited for responses when the connection ended"),
    # --- HAR
    "HAR_MISSING_FIELD": ("info", "a HAR entry lacks a field; the value is left null, nothing is invented"),
    "HAR_BAD_FIELD": ("warning", "a HAR field has the wrong type or an unparsable value"),
    "HAR_TRUNCATED": ("warning", "the HAR file ends early; every complete entry before the cut was read"),
    "HAR_BAD_JSON": ("warning", "the HAR's JSON is damaged mid-file; every complete entry before the damage was read"),
    "HAR_ENTRY_TOO_LARGE": ("warning", "a HAR entry passed max_har_entry_bytes and was skipped"),
    # --- log sources
    "LOG_BAD_LINE": ("warning", "a log line could not be parsed; the rest of the file was processed"),
    "LOG_BAD_FIELD": ("warning", "a field of a log line had an unparsable value; it was left null"),
    "LOG_FIELD_IGNORED": ("info", "a log field that is not part of an HTTP message was not read (once per file)"),
    "LOG_RECORDS_SKIPPED": ("info", "records of a log that are not HTTP transactions were skipped (counted per file)"),
    "LOG_FORMAT": ("info", "which access log format the lines were read with (given or recognised)"),
    "LOG_LOOSE_QUOTES": (
        "info",
        "an access log line had unescaped quotes inside a quoted field; it was split at the likeliest quotes",
    ),
    "LOG_LINE_TOO_LONG": ("warning", "a log line was longer than MAX_LINE_BYTES and was skipped"),
    # --- detection
    "RULE_ERROR": ("error", "a detection rule failed on one message; the other rules still ran"),
}


# Rows kept per anomaly code and input; past it the rest are counted in one summary row,
# so a capture with a million bare-LF messages does not hold a million rows.
DEFAULT_MAX_PER_CODE = 1000


class Recorder:
    """Collects anomalies for one input; stages call `add`, never raise on bad data."""

    __slots__ = ("counts", "items", "max_per_code", "source", "strict")

    def __init__(self, source: str, *, strict: bool = False, max_per_code: int = DEFAULT_MAX_PER_CODE) -> None:
        self.source = source
        self.strict = strict
        self.max_per_code = max_per_code
        self.items: list[Anomaly] = []
        self.counts: dict[str, int] = {}

    def add(
        self,
        code: str,
        detail: str = "",
        *,
        frame: int | None = None,
        har_entry: int | None = None,
        line: int | None = None,
        offset: int | None = None,
        flow_id: str | None = None,
    ) -> None:
        severity, _ = CODES[code]
        seen = self.counts.get(code, 0) + 1
        self.counts[code] = seen
        if seen > self.max_per_code and not self.strict:
            return
        anomaly = Anomaly(code, severity, self.source, detail, frame, har_entry, line, offset, flow_id)
        if self.strict and severity != "info":
            raise AnomalyError(anomaly)
        self.items.append(anomaly)

    def finish(self) -> list[Anomaly]:
        """The rows, plus one summary row per code whose rows were capped."""
        for code, seen in sorted(self.counts.items()):
            if seen > self.max_per_code:
                severity, _ = CODES[code]
                detail = f"{seen - self.max_per_code} more {code} anomalies not listed ({seen} in all)"
                self.items.append(Anomaly(code, severity, self.source, detail))
        return self.items


class AnomalyError(Exception):
    """Raised instead of recording, in strict mode (tests that want parsing to be clean)."""

    def __init__(self, anomaly: Anomaly) -> None:
        self.anomaly = anomaly
        super().__init__(f"{anomaly.code}: {anomaly.detail} (frame {anomaly.frame})")


AddAnomaly = Callable[..., None]
