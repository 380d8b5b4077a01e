"""One input → HttpMessage records, whatever its format (recognised by content)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from analyzer.anomalies import Recorder
from analyzer.decode.packet import PacketDecoder
from analyzer.ingest.accesslog import messages_from_accesslog
from analyzer.ingest.capture import FlowTable, messages_from_records
from analyzer.ingest.eve import messages_from_eve
from analyzer.ingest.zeek import messages_from_zeek
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.sources import Evidence, sniff_format
from analyzer.sources.pcap import read_pcap
from analyzer.sources.pcapng import read_pcapng

# Log sources: each reads lines itself and splits them over --jobs shards by line number.
LOG_READERS = {"zeek": messages_from_zeek, "eve": messages_from_eve, "accesslog": messages_from_accesslog}


def iter_messages(
    evidence: Evidence,
    *,
    source_index: int,
    limits: Limits,
    recorder: Recorder,
    shard: tuple[int, int] | None = None,
    log_format: str | None = None,
) -> Iterator[HttpMessage]:
    """Every HTTP message of one opened input, in completion order.

    `log_format`: the format of access logs (a preset name, a format string or the
    config directive; see analyzer.ingest.logformat); other inputs ignore it.
    Raises InputFormatError (before yielding anything) for an input lineid does not read.
    """
    kind = sniff_format(evidence, log_format)
    if kind in LOG_READERS:
        yield from LOG_READERS[kind](
            evidence, source_index=source_index, limits=limits, recorder=recorder, log_format=log_format, shard=shard
        )
        return
    if kind == "har":
        from analyzer.ingest.har import messages_from_har

        yield from messages_from_har(evidence, source_index=source_index, limits=limits, recorder=recorder)
        return
    records = read_pcap(evidence, recorder) if kind == "pcap" else read_pcapng(evidence, recorder)
    table = FlowTable(
        source=evidence.path, source_index=source_index, source_kind=kind, limits=limits, recorder=recorder, shard=shard
    )
    yield from messages_from_records(records, table, PacketDecoder(recorder, limits))


def source_name(path: str | Path) -> str:
    return str(path)
