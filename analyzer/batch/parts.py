"""Part files of one input: written under temporary names while it is read, published
under their final names only when all of it has been read.

`DaySink` is the `MessageSink` a batch task hands to `read_input`: messages and headers
go to one Parquet writer per day as they come (a batch of rows at a time, so memory does
not depend on the input's size), headers on the day of their message. Rows go from the
column lists to Arrow directly (no pandas frame on the way), as `lineid scan` writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analyzer.batch.dataset import UNKNOWN_DAY, day_dir, fsync_dir, publish, temp_path
from analyzer.model import HttpMessage
from analyzer.schema import arrow_schema, to_arrow
from analyzer.tables import PARQUET_BATCH_MESSAGES, MessageColumns

DAY_FORMAT = "%Y-%m-%d"


def days_of(ts: pa.ChunkedArray | pa.Array) -> pa.Array:
    """UTC day of each timestamp, 'YYYY-MM-DD'; UNKNOWN_DAY where there is none."""
    days = pc.fill_null(pc.strftime(ts, format=DAY_FORMAT), UNKNOWN_DAY)
    return days.combine_chunks() if isinstance(days, pa.ChunkedArray) else days


def by_day(table: pa.Table, days: pa.Array) -> Iterator[tuple[str, pa.Table]]:
    """The rows of `table` for each day in `days` (one per row), days in order."""
    for day in sorted(pc.unique(days).to_pylist()):
        yield day, table.filter(pc.equal(days, day))


def with_source(table: pa.Table, label: str) -> pa.Table:
    """`table` with every `source` set to `label` (an input read from a local copy)."""
    column = table["source"]
    if not len(table) or pc.all(pc.equal(column, label)).as_py():
        return table
    index = table.schema.get_field_index("source")
    return table.set_column(index, table.schema.field(index), pa.array([label] * len(table), type=column.type))


class PartWriter:
    """The part files of one input, by (table, day); `day` None for an unpartitioned table."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[tuple[str, str | None], tuple[Path, pq.ParquetWriter]] = {}
        self._published: list[Path] = []

    def append(self, table: str, kind: str, day: str | None, rows: pa.Table) -> None:
        """Rows of schema `kind` to the part of `table` for `day`."""
        if not len(rows):
            return
        key = (table, day)
        if key not in self._open:
            folder = self.root / (day_dir(table, day) if day is not None else table)
            folder.mkdir(parents=True, exist_ok=True)
            temp = temp_path(folder, ".parquet")
            self._open[key] = (temp, pq.ParquetWriter(temp, arrow_schema(kind)))
        self._open[key][1].write_table(rows)

    def append_by_day(self, table: str, kind: str, rows: pa.Table, days: pa.Array | str) -> None:
        """Rows split by day (`days`: one per row, or one for all of them)."""
        if isinstance(days, str):
            self.append(table, kind, days, rows)
            return
        for day, part in by_day(rows, days):
            self.append(table, kind, day, part)

    def publish(self, name: str) -> list[str]:
        """Closes every file and renames it to `name` in its folder (fsynced first, folders
        after). Returns the parts' paths relative to the dataset, sorted."""
        folders: set[Path] = set()
        for (_table, day), (temp, writer) in sorted(self._open.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            writer.close()
            final = temp.parent / name
            publish(temp, final)
            self._published.append(final)
            folders.add(final.parent)
            if day is not None:
                folders.add(final.parent.parent)  # the date=… folder itself may be new
        self._open.clear()
        for folder in sorted(folders):
            fsync_dir(folder)
        return sorted(p.relative_to(self.root).as_posix() for p in self._published)

    def abort(self) -> None:
        """After a failure: nothing of this input stays (the manifest will say it failed)."""
        for temp, writer in self._open.values():
            try:
                writer.close()
            finally:
                temp.unlink(missing_ok=True)
        self._open.clear()
        for final in self._published:
            final.unlink(missing_ok=True)
        self._published.clear()


class DaySink:
    """Messages and headers of one input, to day-partitioned part files, in batches."""

    def __init__(self, parts: PartWriter, label: str, batch: int = PARQUET_BATCH_MESSAGES) -> None:
        self.parts = parts
        self.label = label
        self.batch = batch
        self.columns = MessageColumns()
        self.messages = 0
        self.headers = 0
        self.first_ts: pd.Timestamp | None = None  # earliest message time: the input's day

    def add(self, msg: HttpMessage) -> None:
        self.columns.add(msg)
        if self.columns.count >= self.batch:
            self.flush()

    def add_frames(self, messages: pd.DataFrame | None, headers: pd.DataFrame | None) -> None:
        """A batch built elsewhere (a columnar reader), after the rows added so far."""
        self.flush()
        if messages is not None and len(messages):
            empty = arrow_schema("headers").empty_table()
            self._write(to_arrow("messages", messages), to_arrow("headers", headers) if headers is not None else empty)

    def flush(self) -> None:
        if self.columns.count:
            messages, headers = self.columns.arrow_tables()
            self.columns.clear()
            self._write(messages, headers)

    def _write(self, messages: pa.Table, headers: pa.Table) -> None:
        messages = with_source(messages, self.label)
        days = days_of(messages["ts"])
        earliest = pc.min(messages["ts"]).as_py()
        if earliest is not None and (self.first_ts is None or pd.Timestamp(earliest) < self.first_ts):
            self.first_ts = pd.Timestamp(earliest)
        self.parts.append_by_day("messages", "messages", messages, days)
        if len(headers):
            # A header's day is its message's (ids are unique within an input).
            where = pc.index_in(headers["message_id"], value_set=messages["message_id"])
            self.parts.append_by_day("headers", "headers", headers, pc.fill_null(pc.take(days, where), UNKNOWN_DAY))
        self.messages += len(messages)
        self.headers += len(headers)

    def finish(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        self.flush()
        return None, None

    @property
    def input_day(self) -> str:
        """The day anomalies are filed under: they carry no time of their own."""
        return UNKNOWN_DAY if self.first_ts is None else self.first_ts.strftime(DAY_FORMAT)
