"""Records → columns → DataFrames: the boundary between the pipeline and pandas.

`MessageColumns` and `FindingColumns` accumulate plain lists, one per column, as records
stream past (a list append per field is the cheapest thing Python does); `frame()` builds
the DataFrame once with the schema's dtypes. `flush()` hands the rows gathered so far to a
writer and starts again, so a scan of a huge capture holds one batch, not the capture.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analyzer.model import Anomaly, Finding, HttpMessage, MessageRef
from analyzer.schema import (
    ANOMALIES,
    FINDINGS,
    HEADERS,
    arrow_schema,
    build_frame,
    columns_to_arrow,
    concat,
    to_arrow,
)


class MessageSink(Protocol):
    """Where the messages of one input go: kept in memory, or written as they come.
    Record readers `add` messages one by one; columnar readers (which build frames
    without a record per message) hand over whole batches with `add_frames`."""

    def add(self, msg: HttpMessage) -> None: ...

    def add_frames(self, messages: pd.DataFrame | None, headers: pd.DataFrame | None) -> None: ...

    def finish(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]: ...


# The messages table's columns in the order `MessageColumns.add` writes a row (the
# schema's order: a test holds them equal).
MESSAGE_ROW = (
    "message_id",
    "source",
    "source_kind",
    "ts",
    "frame_first",
    "frame_last",
    "har_entry",
    "line",
    "flow_id",
    "community_id",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "direction",
    "trans_depth",
    "method",
    "uri",
    "host",
    "version",
    "status",
    "reason",
    "content_type",
    "content_encoding",
    "body_len",
    "body_truncated",
    "header_count",
    "vlan",
    "inner_vlan",
    "tunnel",
    "tunnel_id",
    "gap",
    "malformed",
    "partial",
)


class MessageColumns:
    """Columns of the `messages` and `headers` frames.

    A message is kept as one row tuple (one append, not one per column) and the rows are
    turned into columns once per batch by `zip`, in C."""

    def __init__(self) -> None:
        self.rows: list[tuple[object, ...]] = []
        self.headers: dict[str, list[object]] = {c.name: [] for c in HEADERS if c.name != "name"}
        self.count = 0
        # Batches from a columnar reader, in arrival order, after the rows added one by one.
        self.batches: list[tuple[pd.DataFrame | None, pd.DataFrame | None]] = []

    def add(self, msg: HttpMessage) -> None:
        ep = msg.endpoints
        mid = msg.message_id
        headers = msg.headers
        self.rows.append(
            (
                mid,
                msg.source,
                msg.source_kind,
                msg.ts,
                msg.frame_first,
                msg.frame_last,
                msg.har_entry,
                msg.line,
                ep.flow_id,
                ep.community_id,
                ep.client_ip,
                ep.client_port,
                ep.server_ip,
                ep.server_port,
                msg.direction,
                msg.trans_depth,
                msg.method,
                msg.uri,
                msg.host,
                msg.version,
                msg.status,
                msg.reason,
                msg.content_type,
                msg.content_encoding,
                msg.body_len,
                msg.body_truncated,
                len(headers),
                ep.vlan,
                ep.inner_vlan,
                ep.tunnel,
                ep.tunnel_id,
                msg.gap,
                msg.malformed,
                msg.partial,
            )
        )
        if headers:
            h = self.headers
            n = len(headers)
            h["message_id"].extend([mid] * n)
            h["position"].extend(range(n))
            names, values = zip(*headers, strict=True)
            h["raw_name"].extend(names)
            h["value"].extend(values)
        self.count += 1

    @property
    def messages(self) -> dict[str, list[object]]:
        """The rows added so far, one list per column."""
        if not self.rows:
            return {name: [] for name in MESSAGE_ROW}
        return dict(zip(MESSAGE_ROW, map(list, zip(*self.rows, strict=True)), strict=True))

    def messages_frame(self) -> pd.DataFrame:
        return build_frame("messages", self.messages)

    def headers_frame(self) -> pd.DataFrame:
        return build_frame("headers", self._header_columns())

    def _header_columns(self) -> dict[str, list[object]]:
        columns = dict(self.headers)
        raw = pd.Categorical(columns["raw_name"])
        # Lower-case each distinct raw name once, not each row.
        lowered = np.asarray(raw.categories.str.lower(), dtype=object)
        columns["name"] = list(lowered[raw.codes]) if len(raw) else []
        return columns

    def arrow_tables(self) -> tuple[pa.Table, pa.Table]:
        """The rows gathered so far as Arrow tables (the Parquet sink's path: no pandas)."""
        return columns_to_arrow("messages", self.messages), columns_to_arrow("headers", self._header_columns())

    def add_frames(self, messages: pd.DataFrame | None, headers: pd.DataFrame | None) -> None:
        self.batches.append((messages, headers))

    def clear(self) -> None:
        self.rows.clear()
        for values in self.headers.values():
            values.clear()
        self.count = 0
        self.batches.clear()

    def finish(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        if not self.batches:
            return self.messages_frame(), self.headers_frame()
        return (
            concat("messages", [self.messages_frame(), *(m for m, _ in self.batches)]),
            concat("headers", [self.headers_frame(), *(h for _, h in self.batches)]),
        )


# Messages gathered before a batch is written: ~15 MB of Python objects (about 3 KiB a
# message with its header rows), whatever the capture's size; peak memory follows this.
PARQUET_BATCH_MESSAGES = 5_000
# Batches handed to the writer thread and not yet written: two keep it busy while the
# next one is gathered.
MAX_BATCHES_IN_FLIGHT = 2


class ParquetSink:
    """Writes messages and headers to two Parquet files in batches (flat memory).

    Batches are encoded and compressed on a worker thread (pyarrow releases the GIL while
    it writes), so on a second core the files cost the reading loop little; at most
    `MAX_BATCHES_IN_FLIGHT` batches wait, so memory stays flat if the disk is slow."""

    def __init__(self, messages_path: Path, headers_path: Path, batch: int = PARQUET_BATCH_MESSAGES) -> None:
        self.columns = MessageColumns()
        self.batch = batch
        self.total = 0
        self._writers = {
            "messages": pq.ParquetWriter(messages_path, arrow_schema("messages")),
            "headers": pq.ParquetWriter(headers_path, arrow_schema("headers")),
        }
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineid-parquet")
        self._in_flight: deque[Future[None]] = deque()

    def add(self, msg: HttpMessage) -> None:
        self.columns.add(msg)
        if self.columns.count >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.columns.count:
            messages, headers = self.columns.arrow_tables()
            self.total += self.columns.count
            self.columns.clear()
            self._write(messages, headers)

    def add_frames(self, messages: pd.DataFrame | None, headers: pd.DataFrame | None) -> None:
        """Frames made elsewhere (a --jobs merge, a columnar reader) appended as they are."""
        self.flush()
        if messages is not None and len(messages):
            self.total += len(messages)
        self._write(
            to_arrow("messages", messages) if messages is not None and len(messages) else None,
            to_arrow("headers", headers) if headers is not None and len(headers) else None,
        )

    def _write(self, messages: pa.Table | None, headers: pa.Table | None) -> None:
        while len(self._in_flight) >= MAX_BATCHES_IN_FLIGHT:
            self._in_flight.popleft().result()
        self._in_flight.append(self._pool.submit(self._write_now, messages, headers))

    def _write_now(self, messages: pa.Table | None, headers: pa.Table | None) -> None:
        if messages is not None:
            self._writers["messages"].write_table(messages)
        if headers is not None:
            self._writers["headers"].write_table(headers)

    def _drain(self) -> None:
        while self._in_flight:
            self._in_flight.popleft().result()  # re-raises a write error here

    def finish(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The end of one input: its rows are written (the files stay open for the next)."""
        self.flush()
        self._drain()
        return None, None

    def close(self) -> None:
        try:
            self.flush()
            self._drain()
        finally:
            self._pool.shutdown(wait=True)
            for writer in self._writers.values():
                writer.close()


def anomalies_frame(anomalies: Iterable[Anomaly]) -> pd.DataFrame:
    rows = list(anomalies)
    return build_frame(
        "anomalies",
        {c.name: [getattr(a, c.name) for a in rows] for c in ANOMALIES},
    )


class FindingColumns:
    """Columns of the `findings` frame: the finding's fields plus its message's provenance."""

    def __init__(self) -> None:
        self.columns: dict[str, list[object]] = {c.name: [] for c in FINDINGS}
        self.batches: list[pd.DataFrame] = []  # from columnar readers, after the rows

    def add_frame(self, findings: pd.DataFrame) -> None:
        self.batches.append(findings)

    def add(self, msg: HttpMessage | MessageRef, finding: Finding) -> None:
        f = self.columns
        ep = msg.endpoints
        for name, value in (
            ("ts", msg.ts),
            ("message_id", msg.message_id),
            ("source", msg.source),
            ("source_kind", msg.source_kind),
            ("frame_first", msg.frame_first),
            ("frame_last", msg.frame_last),
            ("har_entry", msg.har_entry),
            ("line", msg.line),
            ("flow_id", ep.flow_id),
            ("community_id", ep.community_id),
            ("client_ip", ep.client_ip),
            ("server_ip", ep.server_ip),
            ("server_port", ep.server_port),
            ("host", msg.host),
            ("uri", msg.uri),
            ("direction", msg.direction),
            ("where", finding.where),
            ("field", finding.field),
            ("kind", finding.kind),
            ("value", finding.value),
            ("identifier", finding.identifier),
            ("encoding", finding.encoding),
            ("country", finding.country),
            ("carrier", finding.carrier),
            ("rule", finding.rule),
            ("confidence", finding.confidence),
            ("reason", finding.reason),
        ):
            f[name].append(value)

    def frame(self) -> pd.DataFrame:
        rows = build_frame("findings", self.columns)
        return concat("findings", [rows, *self.batches]) if self.batches else rows

    def __len__(self) -> int:
        return len(self.columns["message_id"]) + sum(len(b) for b in self.batches)
