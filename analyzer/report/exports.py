"""Findings as data files: Parquet, CSV (spreadsheet-safe) and Timesketch-ready JSON lines.

Every writer is deterministic: the same findings give the same bytes (rows in a fixed
order, a fixed Arrow schema without pandas metadata, fixed float and time formatting).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analyzer.redact import mask_value
from analyzer.report.export import csv_safe
from analyzer.schema import to_arrow

Redact = Callable[[str, str | None], str]
ISO_NS = "%Y-%m-%dT%H:%M:%S.%fZ"


def redact_findings(findings: pd.DataFrame, redact: Redact) -> pd.DataFrame:
    """Findings with `identifier` redacted, the identifier replaced in `value` by its
    redacted form, and any other run in `value` that could spell it (encoded) masked."""
    out = findings.copy()
    identifiers = [str(i) for i in out["identifier"].astype(object)]
    kinds = [None if pd.isna(k) else str(k) for k in out["kind"].astype(object)]
    redacted = [redact(i, k) for i, k in zip(identifiers, kinds, strict=True)]
    values = []
    for value, identifier, hidden in zip(out["value"].astype(object), identifiers, redacted, strict=True):
        text = "" if pd.isna(value) else str(value)
        values.append(redact_value(text, identifier, hidden))
    out["identifier"] = pd.Series(redacted, index=out.index, dtype=out["identifier"].dtype)
    out["value"] = pd.Series(values, index=out.index, dtype=out["value"].dtype)
    return out


def redact_value(value: str, identifier: str, hidden: str) -> str:
    for form in {identifier, identifier.lstrip("+")}:
        if len(form) >= 6:
            value = value.replace(form, "\x00")
    return mask_value(value).replace("\x00", hidden)


def write_parquet(kind: str, frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(to_arrow(kind, frame), path)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    csv_safe(frame).to_csv(path, index=False, date_format=ISO_NS, lineterminator="\n")


def timesketch_records(findings: pd.DataFrame) -> list[dict[str, object]]:
    """Timesketch's JSONL import wants `message`, `datetime` and `timestamp_desc`."""
    ts = findings["ts"]
    known = ts.notna().to_numpy(dtype=bool)
    iso = ts.dt.strftime(ISO_NS).astype(object).where(known, None).tolist()
    micros = (ts.to_numpy(dtype="datetime64[ns]").view("int64") // 1000).tolist()
    rest = findings.drop(columns="ts")
    cells = rest.astype(object).where(rest.notna().to_numpy(dtype=bool), None)
    records = []
    for row, when, micro, seen in zip(cells.to_dict(orient="records"), iso, micros, known.tolist(), strict=True):
        record: dict[str, object] = {
            "message": f"{row['kind']} {row['identifier']} in {row['where']} {row['field']!r} "
            f"of an HTTP {row['direction']} to {row['host'] if row['host'] is not None else row['server_ip']}",
            "datetime": when,
            "timestamp": micro if seen else None,
            "timestamp_desc": f"HTTP {row['direction']} seen",
        }
        for key, value in row.items():
            record[str(key)] = value if value is None or isinstance(value, (int, float, str)) else str(value)
        records.append(record)
    return records


def write_jsonl(findings: pd.DataFrame, path: Path) -> None:
    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per record
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(encode(record) + "\n" for record in timesketch_records(findings))
