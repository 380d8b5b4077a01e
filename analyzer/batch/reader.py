"""`open_dataset(path)`: a batch dataset as one `Analysis`, as if `analyze` had read its inputs.

Only parts that a committed manifest entry lists are read. In the files every input was
read as source index 0 (so that its rows do not depend on the batch); here inputs are
numbered in order of (label, SHA-256) and their ids rebased, so that `message_id` is
unique in the analysis and `flow_id` reads '<index>:…' exactly as `analyze` over the
inputs in that order gives. Digests of numbers seen in clear in another input are
matched here (the files hold the matches inside each input), so findings equal those of
one `lineid scan` over every input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analyzer.analysis import Analysis
from analyzer.api import InputResult, hashed_findings
from analyzer.batch.dataset import CANDIDATES, MANIFEST, read_entries
from analyzer.detect.rules.hashed import DigestCandidate
from analyzer.errors import UsageError
from analyzer.ingest.connection import MESSAGE_K_BITS, MESSAGE_POSITION_BITS
from analyzer.model import Anomaly, Endpoints, MessageRef
from analyzer.schema import arrow_schema, empty_frame, from_arrow

# The input's index sits above the position and k bits of a message id (see
# analyzer.ingest.connection.make_message_id); int64 leaves it 15 bits.
INDEX_SHIFT = MESSAGE_POSITION_BITS + MESSAGE_K_BITS
MAX_INPUTS = 1 << (63 - INDEX_SHIFT)


@dataclass
class DatasetContents:
    analysis: Analysis
    results: list[InputResult]  # done and failed inputs, in index order (frames dropped)
    entries: list[dict[str, Any]]  # every manifest row (skipped inputs too), by label


def open_dataset(path: str | Path, *, headers: bool = True) -> Analysis:
    """The dataset at `path` (written by `lineid batch`) as an `Analysis`: the frames of
    docs/columns.md with their dtypes; `inputs` lists done and failed inputs (skipped files
    are in the batch manifest). headers=False leaves the headers frame empty (less memory)."""
    return load_dataset(Path(path), headers=headers).analysis


def load_dataset(root: Path, *, headers: bool = True) -> DatasetContents:
    if not (root / MANIFEST).is_dir():
        raise UsageError(f"{root}: not a lineid batch dataset (no {MANIFEST}/ folder)")
    entries = sorted(read_entries(root).values(), key=lambda r: r["source"])
    inputs = sorted((r for r in entries if r["status"] != "skipped"), key=lambda r: (r["source"], r["sha256"] or ""))
    if len(inputs) > MAX_INPUTS:
        raise UsageError(f"{root}: {len(inputs)} inputs; one Analysis holds at most {MAX_INPUTS}")
    results = [_result(root, row, index, headers) for index, row in enumerate(inputs)]
    analysis = Analysis.from_results(results, None, _cross_input_digests(results))
    for r in results:  # the analysis holds the frames now
        r.messages = r.headers = r.findings = None
        r.digest_candidates = []
    return DatasetContents(analysis, results, entries)


def _result(root: Path, row: dict[str, Any], index: int, with_headers: bool) -> InputResult:
    result = InputResult(
        row["source"],
        index,
        format=row["format"],
        compression=row["compression"],
        size=row["size"],
        status="done" if row["status"] == "done" else "failed",
        error=row["error"],
        sha256=row["sha256"],
        message_count=row["messages"] or 0,
    )
    if row["status"] != "done":
        return result
    parts = list(row["parts"] or ())
    missing = [p for p in parts if not (root / p).is_file()]
    if missing:  # removed since its commit: say so, and read the rest of the dataset
        result.status = "failed"
        result.error = f"{row['source']}: {len(missing)} part file(s) missing from the dataset ({missing[0]}, …)"
        return result
    result.messages = _rebase(_read(root, parts, "messages", "messages"), index)
    result.headers = _rebase(_read(root, parts, "headers", "headers"), index) if with_headers else None
    result.findings = _rebase(_read(root, parts, "findings", "findings"), index)
    result.anomalies = [_anomaly(a) for a in _records(_rebase(_read(root, parts, "anomalies", "anomalies"), index))]
    candidates = _rebase(_read(root, parts, CANDIDATES, "findings"), index)
    result.digest_candidates = [_candidate(c) for c in _records(candidates)]
    return result


def _read(root: Path, parts: list[str], table: str, kind: str) -> pd.DataFrame:
    """The rows of one input in `table` (every day), with the schema's dtypes."""
    schema = arrow_schema(kind)
    tables = [pq.ParquetFile(root / p).read().cast(schema) for p in parts if p.startswith(f"{table}/")]
    if not tables:
        return empty_frame(kind)
    return from_arrow(kind, pa.concat_tables(tables))


def _rebase(frame: pd.DataFrame, index: int) -> pd.DataFrame:
    """Ids of an input read as source index 0, as `analyze` gives them for input `index`."""
    if not index or not len(frame):
        return frame
    out = frame.copy()
    if "message_id" in out:
        out["message_id"] = out["message_id"] + (index << INDEX_SHIFT)
    if "flow_id" in out:
        # Captures 'index:frame', HAR 'index:har:connection'; log flow ids are the log's own.
        out["flow_id"] = out["flow_id"].str.replace(r"^0:", f"{index}:", regex=True)
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain values, None for missing ones."""
    if not len(frame):
        return []
    plain = frame.astype(object)
    return cast(list[dict[str, Any]], plain.where(frame.notna(), None).to_dict("records"))


def _anomaly(row: dict[str, Any]) -> Anomaly:
    return Anomaly(
        code=row["code"],
        severity=row["severity"],
        source=row["source"],
        detail=row["detail"] or "",
        frame=row["frame"],
        har_entry=row["har_entry"],
        line=row["line"],
        offset=row["offset"],
        flow_id=row["flow_id"],
    )


def _candidate(row: dict[str, Any]) -> DigestCandidate:
    """A digest candidate back from its row: the fields `FindingColumns.add` reads."""
    ts: datetime | None = row["ts"]
    message = MessageRef(
        message_id=int(row["message_id"]),
        source=row["source"],
        source_kind=row["source_kind"],
        ts=None if ts is None else pd.Timestamp(ts).as_unit("ns").value,
        direction=row["direction"],
        endpoints=Endpoints(
            flow_id=row["flow_id"],
            community_id=row["community_id"],
            client_ip=row["client_ip"],
            server_ip=row["server_ip"],
            server_port=row["server_port"],
        ),
        frame_first=row["frame_first"],
        frame_last=row["frame_last"],
        har_entry=row["har_entry"],
        line=row["line"],
        host=row["host"],
        uri=row["uri"],
    )
    return DigestCandidate(message, row["where"], row["field"], row["identifier"], row["value"])


def _cross_input_digests(results: list[InputResult]) -> pd.DataFrame | None:
    """Digests in one input of numbers seen in clear only in others. A candidate matches
    the one number it is a digest of; if that number is in its own input, the input's
    files already hold the match."""
    if not any(r.digest_candidates for r in results):
        return None
    every = hashed_findings(results)
    if every is None or not len(every):
        return None
    own: dict[int, set[str]] = {}
    for r in results:
        if r.digest_candidates:
            inside = hashed_findings([r])
            own[r.index] = set() if inside is None else set(inside["identifier"].astype(str))
    owner = (every["message_id"].to_numpy() >> INDEX_SHIFT).tolist()
    keep = [str(i) not in own.get(k, set()) for i, k in zip(every["identifier"], owner, strict=True)]
    cross = every[keep].reset_index(drop=True)
    return cross if len(cross) else None


__all__ = ["DatasetContents", "load_dataset", "open_dataset"]
