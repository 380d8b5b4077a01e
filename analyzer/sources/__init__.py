"""Inputs: opening evidence read-only, recognising its format by content, reading records."""

from __future__ import annotations

from analyzer.errors import InputFormatError
from analyzer.sources.evidence import Evidence, open_evidence
from analyzer.sources.logs import JSON_SNIFF_BYTES, SNIFF_BYTES, sniff_log
from analyzer.sources.pcap import is_pcap
from analyzer.sources.pcapng import is_pcapng

__all__ = ["Evidence", "open_evidence", "sniff_format"]

# What lineid reads, for the one-line error on anything else.
EXPECTED = (
    "a pcap or pcapng capture (optionally gzip/bzip2/xz/zstd-compressed), a HAR file or an HTTP log "
    "(Zeek http.log, Suricata EVE, an access log; for a custom access log format, pass --log-format)"
)


def sniff_format(evidence: Evidence, log_format: str | None = None) -> str:
    """'pcap', 'pcapng', 'har', 'zeek', 'eve' or 'accesslog', from the first bytes;
    InputFormatError otherwise. `log_format` (an access log format, see
    analyzer.ingest.logformat) lets a log in a custom format be recognised."""
    head = evidence.peek(4096)
    if is_pcap(head):
        return "pcap"
    if is_pcapng(head):
        return "pcapng"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    size = JSON_SNIFF_BYTES if text.startswith(b"{") else SNIFF_BYTES
    look = evidence.peek(size)
    log = sniff_log(look, whole=len(look) < size, log_format=log_format)
    if log is not None:
        return log
    if text.startswith(b"{"):
        return "har"
    what = "an empty file" if not head else f"a file starting with {head[:8].hex(' ')}"
    if evidence.compression:
        what = f"{evidence.compression}-compressed {what}"
    raise InputFormatError(evidence.path, f"{what}, not {EXPECTED}")
