"""The unit of batch work: one input file → its part files and its manifest entry.

`run_task` is what the local process pool and Dask workers run. It depends on the input's
bytes, the options and lineid's version only: every input is read as source index 0 and
labelled with the path or URL as given, so an input gives the same rows whichever batch,
position or machine reads it (and the same rows as `lineid scan` of that file alone).
It never raises for a bad input: the manifest row says done, failed or skipped.

Steps: verify a committed input is unchanged (then nothing is written); copy a remote
input to a local temporary file; read it (`read_input` recognises the format by content
first: anything else is skipped, with its SHA-256) with messages streamed to
day-partitioned parts;
write findings (with digests matched inside the input), anomalies and digest candidates;
publish the parts; write the manifest entry last, as the commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.anomalies import Recorder
from analyzer.api import Options, hashed_findings, read_input
from analyzer.batch.dataset import CANDIDATES, MANIFEST_COLUMNS, config_key, part_name, write_entry
from analyzer.batch.parts import DaySink, PartWriter, days_of, with_source
from analyzer.batch.sources import Source, filesystem
from analyzer.detect.rules.hashed import DigestCandidate
from analyzer.errors import InputAccessError, InputError, InputFormatError
from analyzer.model import Finding
from analyzer.schema import concat, to_arrow
from analyzer.sources import open_evidence
from analyzer.tables import FindingColumns, anomalies_frame

# Bytes per read when hashing or copying an input: large enough that Python's per-call
# cost vanishes, small enough that memory does not depend on the file.
COPY_BLOCK_BYTES = 1 << 20
# Every input is read as source index 0: see the module docstring.
SOURCE_INDEX = 0
# The kind that marks a digest-candidate row (findings schema) in digest-candidates/.
CANDIDATE_KIND = "digest-candidate"


def options_record(options: Options, version: str) -> dict[str, Any]:
    """What the manifest records of the options. The watchlist is recorded by its digest
    (never the numbers), so that a changed watchlist is a changed configuration."""
    watchlist = hashlib.sha256("\n".join(sorted(options.watchlist)).encode()).hexdigest()
    return {**options.describe(), "watchlist_sha256": watchlist if options.watchlist else None, "version": version}


@dataclass(frozen=True)
class Task:
    source: Source
    root: str  # the dataset folder, as every worker sees it
    options: Options
    version: str  # lineid's version, recorded with the results
    # SHA-256 of a committed entry for this label made with the same configuration: the
    # task only checks the input still has it, and writes nothing when it does.
    committed_sha256: str | None = None

    @property
    def options_json(self) -> dict[str, Any]:
        return options_record(self.options, self.version)

    @property
    def config(self) -> str:
        return config_key(self.version, self.options_json)


@dataclass
class Outcome:
    """What a task reports back: its manifest row, or that nothing needed doing."""

    source: str
    row: dict[str, Any] = field(default_factory=dict)
    unchanged: bool = False  # committed before: its entry and parts stay as they are
    note: str | None = None  # why, when it is not simply "same bytes"


def run_task(task: Task) -> Outcome:
    label = task.source.label
    started = datetime.now(UTC)
    row: dict[str, Any] = {
        **dict.fromkeys(MANIFEST_COLUMNS),
        "source": label,
        "lineid_version": task.version,
        "options": json.dumps(task.options_json, sort_keys=True),
        "config": task.config,
        "parts": [],
        "started": started,
        "host": socket.gethostname(),
    }
    if task.committed_sha256 is not None:
        try:
            if _hash(task.source)[0] == task.committed_sha256:
                return Outcome(label, unchanged=True)
        except Exception as exc:  # each fsspec backend raises its own errors
            # Evidence read once stays in the dataset while it cannot be read (a mount that
            # is down, a file moved away): its committed rows are kept, and the run says so.
            why = exc.message if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
            return Outcome(label, unchanged=True, note=f"{label}: cannot be read now ({why}); its rows are kept")
    root = Path(task.root)
    try:
        with _local_copy(task.source) as path:
            row.update(_read(task, path, root))
    except InputFormatError as exc:
        row.update(status="skipped", error=f"{label}: {exc.message}")
    except InputError as exc:
        row.update(status="failed", error=f"{label}: {exc.message}")
    except Exception as exc:  # a bug met on one input must not stop the batch
        row.update(status="failed", error=f"{label}: internal error: {type(exc).__name__}: {exc}")
    if row["status"] == "skipped":  # not evidence, but the manifest says which bytes were seen
        with contextlib.suppress(Exception):  # each fsspec backend raises its own errors
            row["sha256"], row["size"] = _hash(task.source)
    row["finished"] = datetime.now(UTC)
    write_entry(root, row)
    return Outcome(label, row=row)


def _read(task: Task, path: str, root: Path) -> dict[str, Any]:
    """Reads one input and publishes its parts; the manifest fields it fills."""
    label = task.source.label
    parts = PartWriter(root)
    sink = DaySink(parts, label)
    try:
        # Recognition by content is read_input's first step (open_evidence, then
        # sniff_format with the options): InputFormatError there means "not evidence",
        # raised before anything is parsed or written.
        result = read_input(path, SOURCE_INDEX, task.options, sink=sink)
        if result.sha256 is None:  # pragma: no cover - read_input always hashes
            raise InputAccessError(label, "no SHA-256 computed")
        findings = with_source(
            to_arrow("findings", concat("findings", [result.findings, hashed_findings([result])])), label
        )
        parts.append_by_day("findings", "findings", findings, days_of(findings["ts"]))
        anomalies = to_arrow("anomalies", anomalies_frame(replace(a, source=label) for a in result.anomalies))
        parts.append_by_day("anomalies", "anomalies", anomalies, sink.input_day)
        candidates = with_source(to_arrow("findings", candidates_frame(result.digest_candidates)), label)
        parts.append(CANDIDATES, "findings", None, candidates)
        published = parts.publish(part_name(result.sha256, label, task.config))
    except BaseException:
        parts.abort()
        raise
    return {
        "status": "done",
        "sha256": result.sha256,
        "size": result.size,
        "format": result.format,
        "compression": result.compression,
        "messages": sink.messages,
        "headers": sink.headers,
        "findings": len(findings),
        "anomalies": len(anomalies),
        "parts": published,
    }


def candidates_frame(candidates: list[DigestCandidate]) -> pd.DataFrame:
    """Digest candidates as rows of the findings schema (token in `identifier`): their
    message's provenance is all `match_digests` needs to make a finding later."""
    columns = FindingColumns()
    for c in candidates:
        columns.add(
            c.message,
            Finding(
                message_id=c.message.message_id,
                where=c.where,
                field=c.field,
                kind=CANDIDATE_KIND,
                value=c.value,
                identifier=c.token,
                encoding="plain",
                rule="hashed-msisdn",
                confidence="low",
                reason="",
            ),
        )
    return columns.frame()


# ------------------------------------------------------------------ file access


@contextmanager
def _local_copy(source: Source) -> Iterator[str]:
    """A local path to read: the file itself, or a temporary copy of a remote one."""
    if not source.remote:
        yield source.location
        return
    folder = tempfile.mkdtemp(prefix="lineid-batch-")
    try:
        local = os.path.join(folder, "input")
        try:
            with _open_remote(source) as src, open(local, "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_BLOCK_BYTES)
        except InputError:
            raise
        except Exception as exc:  # each fsspec backend raises its own errors
            raise InputAccessError(source.label, f"cannot be read ({type(exc).__name__}: {exc})") from exc
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _open_remote(source: Source) -> Iterator[Any]:
    fs, path = filesystem(source.location)
    if not fs.exists(path):
        raise InputAccessError(source.label, "no such file")
    if fs.isdir(path):
        raise InputAccessError(source.label, "is a directory, not a capture or HAR file")
    with fs.open(path, "rb") as handle:
        yield handle


def _hash(source: Source) -> tuple[str, int]:
    """SHA-256 and size of the file as stored; InputAccessError (as reading it would) when
    it cannot be read."""
    if not source.remote:
        with open_evidence(source.location, Recorder(source.label)) as evidence:
            return evidence.sha256(), evidence.size
    digest, size = hashlib.sha256(), 0
    with _open_remote(source) as handle:
        while block := handle.read(COPY_BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
