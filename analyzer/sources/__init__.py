"""Inputs: opening evidence read-only, recognising its format by content, reading records."""

from __future__ import annotations

from analyzer.errors import InputFormatError
from analyzer.sources.evidence import Evidence, open_evidence
from analyzer.sources.pcap import is_pcap
from analyzer.sources.pcapng import is_pcapng

__all__ = ["Evidence", "open_evidence", "sniff_format"]

# What lineid reads, for the one-line error on anything else.
EXPECTED = "a pcap or pcapng capture (optionally gzip/bzip2/xz/zstd-compressed) or a HAR file"


def sniff_format(evidence: Evidence) -> str:
    """'pcap', 'pcapng' or 'har', from the first bytes; InputFormatError otherwise."""
    head = evidence.peek(4096)
    if is_pcap(head):
        return "pcap"
    if is_pcapng(head):
        return "pcapng"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text.startswith(b"{"):
        return "har"
    what = "an empty file" if not head else f"a file starting with {head[:8].hex(' ')}"
    if evidence.compression:
        what = f"{evidence.compression}-compressed {what}"
    raise InputFormatError(evidence.path, f"{what}, not {EXPECTED}")
