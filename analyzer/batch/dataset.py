"""The batch dataset on disk: layout, atomic writes, the manifest as commit log, resume.

Layout (hive-style partitions, readable by pandas, pyarrow, DuckDB and Spark)::

    DATASET/
      messages/date=2012-01-10/part-<sha256[:32]>-<key>.parquet    one file per input and day
      headers/date=…/part-….parquet       header lines, on the day of their message
      findings/date=…/part-….parquet
      anomalies/date=…/part-….parquet     on the day of their connection's first message
      digest-candidates/part-….parquet    lineid's own: digest-shaped tokens, for matching
                                          across inputs when the dataset is opened
      batch-manifest/entry-<key>.parquet  one row per input: the commit record

Every table file is written with the fixed schema of `analyzer.schema` (`to_arrow`), so
files of different inputs and runs always agree. `date` is the UTC day of `ts`; rows
without a time go to `date=unknown` (not Hive's null partition: pyarrow cannot yet read
a null partition beside others into pandas — "Cannot yet unify dictionaries with nulls").

Exactly once: an input's part files are written under hidden temporary names, fsynced,
renamed to names made from the input's SHA-256 and a key of its label and the options
(never from its content), their folders fsynced; only then is its manifest entry written
the same way. The entry's rename is the commit: a reader (and a resume) trusts only parts
that a committed entry lists, and a resume deletes every other part and temporary file
before it starts. One entry per input label: a new entry for the same label replaces the
old one in one rename, and the parts it no longer lists are deleted after it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analyzer.errors import UsageError

TABLES = ("messages", "headers", "findings", "anomalies")
CANDIDATES = "digest-candidates"
MANIFEST = "batch-manifest"
LOCK_FILE = ".lineid-batch.lock"
TEMP_PREFIX = ".lineid-tmp-"
UNKNOWN_DAY = "unknown"
# Changes whenever the files' layout or meaning changes: part of every input's key, so an
# older dataset is never resumed as if it were current.
LAYOUT_VERSION = 1

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),  # the input's label: path or URL as given
        pa.field("status", pa.string()),  # done | failed | skipped
        pa.field("sha256", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("format", pa.string()),
        pa.field("compression", pa.string()),
        pa.field("messages", pa.int64()),
        pa.field("headers", pa.int64()),
        pa.field("findings", pa.int64()),
        pa.field("anomalies", pa.int64()),
        pa.field("error", pa.string()),
        pa.field("lineid_version", pa.string()),
        pa.field("options", pa.string()),  # JSON: Options.describe() plus the watchlist's digest
        pa.field("config", pa.string()),  # key of version, layout and options
        pa.field("parts", pa.list_(pa.string())),  # part files, relative to the dataset
        pa.field("started", pa.timestamp("us", tz="UTC")),
        pa.field("finished", pa.timestamp("us", tz="UTC")),
        pa.field("host", pa.string()),  # worker that read it
    ]
)
MANIFEST_COLUMNS = tuple(MANIFEST_SCHEMA.names)


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def config_key(version: str, options: Mapping[str, Any]) -> str:
    """What an input's results depend on besides its bytes: lineid's version, the layout
    and the options (as `options_json` records them)."""
    return digest(version, str(LAYOUT_VERSION), json.dumps(options, sort_keys=True))[:16]


def part_name(sha256: str, label: str, config: str) -> str:
    """`part-<sha256[:32]>-<key>.parquet`: the same bytes under two labels (a copied file)
    are two inputs, as for `lineid scan`, so the key covers the label too."""
    return f"part-{sha256[:32]}-{digest(label, config)[:16]}.parquet"


def entry_path(root: Path, label: str) -> Path:
    return root / MANIFEST / f"entry-{digest(label)[:32]}.parquet"


def day_dir(table: str, day: str) -> str:
    return f"{table}/date={day}"


# ------------------------------------------------------------------ atomic writes


def temp_path(folder: Path, what: str = "") -> Path:
    """A hidden name in `folder` (same file system, so the rename is atomic); engines skip
    files whose names start with a dot."""
    return folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}{what}"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Makes the names created or renamed in `path` durable (POSIX: fsync of the folder)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # a platform without directory fds: rename is still atomic, not durable
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, final: Path) -> None:
    """fsync `temp`, then rename it to `final` (replacing it atomically)."""
    fsync_file(temp)
    os.replace(temp, final)


def write_table_atomic(table: pa.Table, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(final.parent, ".parquet")
    try:
        pq.write_table(table, temp)
        publish(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)


# ------------------------------------------------------------------ manifest


def write_entry(root: Path, row: Mapping[str, Any]) -> None:
    """The commit: one input's manifest row, written atomically after its parts."""
    table = pa.Table.from_pylist([{name: row.get(name) for name in MANIFEST_COLUMNS}], schema=MANIFEST_SCHEMA)
    write_table_atomic(table, entry_path(root, str(row["source"])))


def read_entries(root: Path) -> dict[str, dict[str, Any]]:
    """Committed manifest rows by label. Unreadable entry files are left out (and removed by
    the next resume): nothing they name is trusted."""
    return _load_entries(root)[0]


def _load_entries(root: Path) -> tuple[dict[str, dict[str, Any]], list[Path]]:
    folder = root / MANIFEST
    entries: dict[str, dict[str, Any]] = {}
    unreadable: list[Path] = []
    for path in sorted(folder.glob("entry-*.parquet")) if folder.is_dir() else ():
        try:
            rows = pq.read_table(path, schema=MANIFEST_SCHEMA).to_pylist()
        except (OSError, pa.ArrowException):
            unreadable.append(path)
            continue
        for row in rows:
            entries[row["source"]] = row
    return entries, unreadable


def manifest_frame(root: str | Path) -> pd.DataFrame:
    """The batch manifest as a pandas frame (one row per input, sorted by label)."""
    rows = sorted(read_entries(Path(root)).values(), key=lambda r: r["source"])
    table = pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    return frame


# ------------------------------------------------------------------ the dataset as a whole


def holds_batch(root: Path) -> bool:
    return any((root / name).is_dir() and any((root / name).iterdir()) for name in (*TABLES, MANIFEST))


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """One batch writes a dataset at a time. flock: released by the kernel when the holder
    dies, so a killed batch never leaves a stale lock."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{root}: another lineid batch is writing this dataset") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def part_files(root: Path) -> Iterator[Path]:
    """Every file under the table folders (parts, temporaries, anything else)."""
    for table in (*TABLES, CANDIDATES):
        folder = root / table
        if folder.is_dir():
            yield from (p for p in folder.rglob("*") if p.is_file())


def recover(root: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Before a resume: keep what was committed, remove the rest. Returns the committed
    entries and notes on what was removed.

    Removed: temporary files; parts no committed entry lists (written by a run killed
    before their commit, or superseded by a newer entry); entries some of whose parts are
    missing (their input is read again) together with their other parts; unreadable
    entry files.
    """
    notes: list[str] = []
    for stale in (root / MANIFEST).glob(f"{TEMP_PREFIX}*") if (root / MANIFEST).is_dir() else ():
        stale.unlink(missing_ok=True)
    entries, unreadable = _load_entries(root)
    for path in unreadable:
        notes.append(f"removed unreadable manifest entry {path.name}")
        path.unlink()
    for label, row in list(entries.items()):
        missing = [p for p in row["parts"] or () if not (root / p).is_file()]
        if missing:
            notes.append(f"{label}: {len(missing)} part file(s) missing; it will be read again")
            entry_path(root, label).unlink()
            del entries[label]
    committed = {p for row in entries.values() for p in row["parts"] or ()}
    removed = 0
    for path in list(part_files(root)):
        relative = path.relative_to(root).as_posix()
        if path.name.startswith(TEMP_PREFIX) or (path.name.startswith("part-") and relative not in committed):
            path.unlink()
            removed += 1
    if removed:
        notes.append(f"removed {removed} uncommitted part or temporary file(s)")
    for table in (*TABLES, CANDIDATES):
        for folder in sorted((root / table).glob("date=*")) if (root / table).is_dir() else ():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    for folder in {root / table for table in (*TABLES, CANDIDATES)} | {root / MANIFEST}:
        if folder.is_dir():
            fsync_dir(folder)
    return entries, notes


def remove_parts(root: Path, parts: Sequence[str]) -> None:
    """Parts an entry stopped listing (its input changed, or the options did)."""
    folders = set()
    for part in parts:
        path = root / part
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in folders:
        fsync_dir(folder)
