"""Tables for export: CSV (spreadsheet-safe), JSON lines and Parquet."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from analyzer.analysis import Analysis

# Provenance columns joined onto each header row by `lineid headers`.
HEADER_TABLE_MESSAGE_COLUMNS = (
    "source",
    "source_kind",
    "ts",
    "frame_first",
    "frame_last",
    "har_entry",
    "line",
    "flow_id",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "direction",
    "trans_depth",
    "method",
    "host",
    "uri",
    "status",
)
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); header values come off the wire, so they are neutralised.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def header_table(result: Analysis) -> pd.DataFrame:
    """One row per header line, with its message's provenance, in message then wire order."""
    messages = result.messages[["message_id", *HEADER_TABLE_MESSAGE_COLUMNS]]
    table = result.headers.merge(messages, on="message_id", how="left", validate="many_to_one")
    order = ["message_id", *HEADER_TABLE_MESSAGE_COLUMNS, "position", "raw_name", "name", "value"]
    table = table[order]
    rank = pd.Series(range(len(messages)), index=messages["message_id"])
    table = table.assign(_rank=table["message_id"].map(rank))
    return table.sort_values(["_rank", "position"], kind="stable").drop(columns="_rank").reset_index(drop=True)


def neutralise_formula(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where no text cell can start a spreadsheet formula. Categorical columns are
    checked once per category and text columns with one vectorised test; a cell is only
    touched when it needs the quote."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if any(isinstance(c, str) and c.startswith(FORMULA_PREFIXES) for c in dtype.categories):
                out[column] = series.astype(object).map(neutralise_formula)
        elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
            risky = series.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                out[column] = series.astype(object).map(neutralise_formula)
        elif pd.api.types.is_object_dtype(dtype):
            out[column] = series.map(neutralise_formula)
    return out


def write_table(frame: pd.DataFrame, fmt: str, output: Path | None) -> None:
    if fmt == "parquet":
        assert output is not None
        frame.to_parquet(output, index=False)
    elif fmt == "csv":
        csv_safe(frame).to_csv(
            output if output is not None else sys.stdout, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ"
        )
    elif fmt == "jsonl":
        text = frame.to_json(orient="records", lines=True, date_format="iso", date_unit="ns", force_ascii=False)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
    else:  # pragma: no cover - click restricts the choice
        raise ValueError(fmt)
