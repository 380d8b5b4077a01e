"""The columns of every frame lineid returns: names, dtypes and meanings, in one place.

Column names and dtypes are public API (`docs/columns.md` is generated from this module
and a test keeps them equal). Frames are built once, at the boundary, from plain Python
lists with an explicit dtype per column; an empty result is an empty frame with the full
schema, never None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

CONFIDENCE_LEVELS = ("low", "medium", "high")
CONFIDENCE_DTYPE = pd.CategoricalDtype(list(CONFIDENCE_LEVELS), ordered=True)
STRING = "string[pyarrow]"
TIMESTAMP = "datetime64[ns, UTC]"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    dtype: str
    doc: str


def _cols(*spec: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


_PROVENANCE = (
    ("source", "category", "the input file, as given"),
    ("source_kind", "category", "pcap, pcapng or har (zeek, eve, accesslog for logs)"),
    ("ts", TIMESTAMP, "time of the message's first byte (HAR: startedDateTime; responses add the wait)"),
    ("frame_first", "Int64", "first frame (1-based, as Wireshark numbers them) holding bytes of the message"),
    ("frame_last", "Int64", "frame where the message completes, where tshark reports it"),
    ("har_entry", "Int64", "0-based index of the entry in log.entries (HAR sources)"),
    ("line", "Int64", "1-based line number (log sources)"),
    ("flow_id", STRING, "connection id: 'source index:first frame' for captures; Zeek uid / EVE flow_id for logs"),
    ("community_id", STRING, "Community ID v1 of the connection"),
)

MESSAGES = _cols(
    ("message_id", "int64", "unique within an analysis; stable for the same inputs"),
    *_PROVENANCE,
    ("client_ip", "category", "address of the side that sent the requests"),
    ("client_port", "Int32", "its TCP port"),
    ("server_ip", "category", "address of the side that answered (HAR: serverIPAddress)"),
    ("server_port", "Int32", "its TCP port"),
    ("direction", "category", "request or response"),
    ("trans_depth", "Int32", "1-based request number on its connection; a response has its request's"),
    ("method", "category", "request method (for a response: of the request it answers)"),
    ("uri", STRING, "request target as sent (for a response: of the request it answers)"),
    ("host", "category", "Host header of the request (for a response: of the request it answers)"),
    ("version", "category", "HTTP/1.0, HTTP/1.1, HTTP/0.9 (HAR: as the file says)"),
    ("status", "Int16", "response status code"),
    ("reason", STRING, "response reason phrase"),
    ("content_type", STRING, "Content-Type header"),
    ("content_encoding", "category", "Content-Encoding header"),
    ("body_len", "Int64", "body bytes after transfer decoding (what Content-Length or the chunks said)"),
    ("body_truncated", "boolean", "the kept body prefix is shorter than the body"),
    ("header_count", "Int32", "number of header lines"),
    ("vlan", "Int32", "outer 802.1Q/802.1ad VLAN id"),
    ("inner_vlan", "Int32", "inner VLAN id (innermost with three or more tags)"),
    ("tunnel", "category", "innermost tunnel: gtpu, vxlan, gre, erspan, teredo, ipip"),
    ("tunnel_id", "Int64", "GTP-U TEID, VXLAN VNI, GRE key or ERSPAN session of this direction"),
    ("gap", "boolean", "bytes of the message were missing from the capture"),
    ("malformed", "boolean", "the message broke the protocol (see anomalies)"),
    ("partial", "boolean", "the start line was never seen: header lines of a block cut by the capture or a gap"),
)

HEADERS = _cols(
    ("message_id", "int64", "the message the header belongs to"),
    ("position", "int32", "0-based position of the header line in the message, wire order"),
    ("raw_name", "category", "the name exactly as sent"),
    ("name", "category", "the name in lower case"),
    ("value", STRING, "the value, leading and trailing spaces removed; bytes that are not UTF-8 as \\xNN"),
)

ANOMALIES = _cols(
    ("code", "category", "what happened; codes are listed in analyzer.anomalies.CODES"),
    ("severity", "category", "info, warning or error"),
    ("source", "category", "the input file"),
    ("frame", "Int64", "frame where it was seen"),
    ("har_entry", "Int64", "HAR entry where it was seen"),
    ("line", "Int64", "log line where it was seen"),
    ("offset", "Int64", "byte offset in the (decompressed) input"),
    ("flow_id", STRING, "connection it concerns"),
    ("detail", STRING, "human-readable detail"),
)

FINDINGS = _cols(
    ("ts", TIMESTAMP, "time of the message"),
    ("message_id", "int64", "the message the identifier was seen in"),
    *_PROVENANCE[:1],
    *_PROVENANCE[1:2],
    *_PROVENANCE[3:],
    ("client_ip", "category", "side that sent the request"),
    ("server_ip", "category", "side that answered"),
    ("server_port", "Int32", "its port"),
    ("host", "category", "Host of the request (the recipient of a request-borne identifier)"),
    ("uri", STRING, "request target"),
    ("direction", "category", "request or response"),
    ("where", "category", "header, query, path, cookie, set-cookie, body or redirect"),
    ("field", STRING, "header, parameter, cookie or body field name"),
    ("kind", "category", "msisdn, imsi, imei, tracking-token, opaque-subscriber-id or hashed-msisdn"),
    ("value", STRING, "the value as it appeared"),
    ("identifier", STRING, "normalised identifier: E.164 for numbers, digits for IMSI/IMEI, the token itself"),
    ("encoding", "category", "plain, hex, base64, url, md5, sha1 or sha256"),
    ("country", "category", "ISO country of the number or IMSI"),
    ("carrier", "category", "carrier of the number range or of the IMSI's MCC/MNC"),
    ("rule", "category", "id of the rule that found it"),
    ("confidence", "confidence", "low < medium < high (ordered categorical)"),
    ("reason", STRING, "why the rule believes it"),
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "messages": MESSAGES,
    "headers": HEADERS,
    "anomalies": ANOMALIES,
    "findings": FINDINGS,
}


def dtype_of(column: Column) -> Any:
    return CONFIDENCE_DTYPE if column.dtype == "confidence" else column.dtype


def _series(values: Sequence[Any], column: Column) -> pd.Series:
    dtype = column.dtype
    if dtype == TIMESTAMP:
        ints = np.fromiter(
            (v if v is not None else np.iinfo(np.int64).min for v in values), dtype=np.int64, count=len(values)
        )
        return pd.Series(pd.DatetimeIndex(ints.view("M8[ns]")).tz_localize("UTC"), name=column.name)
    if dtype == "category":
        categorical = pd.Categorical(values)
        if not len(categorical.categories):  # all null: keep the categories' dtype text, not float
            categorical = categorical.set_categories(pd.Index([], dtype="str"))
        return pd.Series(categorical, name=column.name)
    if dtype == "confidence":
        return pd.Series(pd.Categorical(values, dtype=CONFIDENCE_DTYPE), name=column.name)
    if dtype in ("int64", "int32"):
        return pd.Series(np.asarray(values, dtype=dtype), name=column.name)
    if dtype == STRING:
        # Straight to Arrow: pandas' own conversion checks each element again (3x slower).
        return pd.Series(pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string())), name=column.name)
    return pd.Series(pd.array(values, dtype=cast(Any, dtype)), name=column.name)


def build_frame(kind: str, columns: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """A frame of `kind` from one list per column (every column of the schema)."""
    schema = SCHEMAS[kind]
    missing = [c.name for c in schema if c.name not in columns]
    if missing:
        raise KeyError(f"{kind}: columns missing: {missing}")
    return pd.DataFrame({c.name: _series(columns[c.name], c) for c in schema})


def empty_frame(kind: str) -> pd.DataFrame:
    return build_frame(kind, {c.name: [] for c in SCHEMAS[kind]})


def conform(kind: str, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """`frame` with exactly the schema's columns (or those of them in `columns`), in schema
    order, with the schema's dtypes."""
    out = {}
    for column in SCHEMAS[kind]:
        if columns is not None and column.name not in columns:
            continue
        series = frame[column.name] if column.name in frame else pd.Series([None] * len(frame))
        if column.dtype == TIMESTAMP:
            series = pd.to_datetime(series, utc=True)
        else:
            series = series.astype(dtype_of(column))
            if column.dtype == "category" and not len(series.cat.categories):
                series = series.cat.set_categories(pd.Index([], dtype="str"))  # as _series: text, not object
        out[column.name] = series.reset_index(drop=True)
    return pd.DataFrame(out)


_ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "int32": pa.int32(),
    "Int64": pa.int64(),
    "Int32": pa.int32(),
    "Int16": pa.int16(),
    "boolean": pa.bool_(),
    "category": pa.string(),
    "confidence": pa.string(),
    STRING: pa.large_string(),
    TIMESTAMP: pa.timestamp("ns", tz="UTC"),
}


def arrow_schema(kind: str) -> pa.Schema:
    """The fixed Arrow schema a frame of `kind` is written with (Parquet outputs). Fixed,
    so that batches and runs agree whatever categories a batch happens to hold."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.dtype]) for c in SCHEMAS[kind]])


def to_arrow(kind: str, frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table of the fixed schema, without pandas metadata (so the same
    rows always give the same bytes)."""
    schema = arrow_schema(kind)
    arrays = []
    for field in schema:
        series = frame[field.name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        arrays.append(pa.array(series, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def columns_to_arrow(kind: str, columns: Mapping[str, Sequence[Any]]) -> pa.Table:
    """One list per column straight to an Arrow table of the fixed schema: what
    `to_arrow(kind, build_frame(kind, columns))` gives, without building pandas columns
    on the way (a scan writes every message and header row this way)."""
    schema = arrow_schema(kind)
    return pa.Table.from_arrays([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)


def from_arrow(kind: str, table: pa.Table, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A frame with the schema's dtypes from an Arrow table written by `to_arrow` (only
    `columns` of the schema when given: a report that needs five columns of a month of
    messages does not build the other thirty)."""
    frame = table.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow")}.get)
    return conform(kind, frame, columns)


def concat(kind: str, frames: Sequence[pd.DataFrame | None]) -> pd.DataFrame:
    """Frames of one kind as one; categories that differ between them are merged."""
    present = [f for f in frames if f is not None and len(f)]
    if not present:
        return empty_frame(kind)
    if len(present) == 1:
        return present[0].reset_index(drop=True)
    return conform(
        kind,
        pd.concat([f.astype({c: object for c in f.select_dtypes("category")}) for f in present], ignore_index=True),
    )


def markdown() -> str:
    """The column reference, as docs/columns.md holds it."""
    lines = [
        "# Columns",
        "",
        "Generated from `analyzer/schema.py` by `python -m analyzer.docs`;",
        "a test keeps the two equal. `ts` columns are `datetime64[ns, UTC]`; `Int*` and",
        "`boolean` are pandas nullable types; `string[pyarrow]` is pandas' Arrow-backed string.",
        "",
    ]
    for kind, schema in SCHEMAS.items():
        lines += [f"## {kind}", "", "| column | dtype | meaning |", "|---|---|---|"]
        for c in schema:
            dtype = "category (low < medium < high)" if c.dtype == "confidence" else c.dtype
            lines.append(f"| `{c.name}` | {dtype} | {c.doc.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)
