"""Who was exposed, who received, and how much, when: `exposures`, `recipients`, `daily`.

Each takes a findings frame (all of `Analysis.findings`, or any filtered slice of it) and
returns a new frame with a fixed schema (`EXPOSURES`, `RECIPIENTS`, `DAILY`): the same
columns and dtypes for every input, empty or not. Cells that hold several values (the
hosts an identifier reached) are always sorted lists of str, never a str for one value.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import Tick

from analyzer.schema import CONFIDENCE_DTYPE, STRING, TIMESTAMP
from analyzer.timeline.frames import FINDINGS_NEEDS, distinct_lists, request_findings, requests_table, require

# column → dtype; "object" columns hold sorted lists of str.
EXPOSURES: dict[str, Any] = {
    "identifier": STRING,  # normalised identifier (E.164 for valid numbers)
    "kind": "category",  # msisdn, imsi, imei, tracking-token, …
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
    "messages": "int64",  # distinct messages it was seen in
    "findings": "int64",  # rows of the findings frame
    # Tracking tokens are linked across flows by equal value: the number of distinct
    # connections and hosts shows how far one token ties a subscriber's traffic together.
    "flows": "int64",
    "hosts": "int64",
    "host_list": "object",
    "fields": "object",  # header, parameter or cookie names it travelled in
    "surfaces": "object",  # where: header, query, cookie, …
    "sources": "object",  # input files
    "confidence": CONFIDENCE_DTYPE,  # the highest of its findings
}
RECIPIENTS: dict[str, Any] = {
    "host": "category",
    "server_ip": "category",
    "identifiers": "int64",  # distinct identifiers the host received
    "messages": "int64",  # requests to it that carried at least one
    "findings": "int64",
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
    "kinds": "object",
    "fields": "object",
}
DAILY: dict[str, Any] = {
    "requests": "Int64",  # all HTTP requests (null when no messages frame was given)
    "requests_with_identifiers": "int64",
    "share": "Float64",  # requests_with_identifiers / requests
    "identifiers": "int64",  # distinct identifiers sent
    "hosts": "int64",  # distinct hosts that received one
}


def typed(frame: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    """`frame` with exactly `schema`'s columns in order and dtypes (an empty one too)."""
    out = {}
    for name, dtype in schema.items():
        series = frame[name] if name in frame.columns else pd.Series([], dtype=object)
        if dtype == TIMESTAMP:
            out[name] = pd.to_datetime(series, utc=True).astype(cast(Any, TIMESTAMP))  # ns, as the schema
        else:
            out[name] = series.astype(cast(Any, dtype))  # the schema's dtype strings, checked by tests
    return pd.DataFrame(out, index=frame.index if len(frame) else None)


def exposures(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per identifier (and kind): when it was first and last seen, in how many
    messages and connections, which hosts it reached, through which fields, from which inputs.
    Sorted by first sighting."""
    f = require(findings, FINDINGS_NEEDS, "exposures")
    f = f[f["identifier"].notna().to_numpy(dtype=bool)]
    if not len(f):
        return typed(pd.DataFrame(), EXPOSURES)
    groups = f.groupby([f["identifier"].astype(str), f["kind"].astype(str)], sort=False, dropna=False)
    frame = groups.agg(
        first_seen=("ts", "min"),
        last_seen=("ts", "max"),
        messages=("message_id", "nunique"),
        findings=("message_id", "size"),
        flows=("flow_id", "nunique"),
        hosts=("host", "nunique"),
        confidence=("confidence", "max"),
    )
    codes = groups.ngroup().to_numpy()
    for name, column in (("host_list", "host"), ("fields", "field"), ("surfaces", "where"), ("sources", "source")):
        frame[name] = distinct_lists(codes, f[column], len(frame))
    frame.index.names = ["identifier", "kind"]
    frame = frame.reset_index().sort_values(["first_seen", "identifier"], kind="stable", na_position="last")
    return typed(frame.reset_index(drop=True), EXPOSURES)


def recipients(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per destination (host, server IP) of requests that carried identifiers: how
    many distinct identifiers it received, in how many requests, first and last time.
    Most identifiers first."""
    f = request_findings(require(findings, FINDINGS_NEEDS, "recipients"))
    if not len(f):
        return typed(pd.DataFrame(), RECIPIENTS)
    keys = [f["host"].astype(object), f["server_ip"].astype(object)]
    groups = f.groupby(keys, sort=False, dropna=False)
    frame = groups.agg(
        identifiers=("identifier", "nunique"),
        messages=("message_id", "nunique"),
        findings=("message_id", "size"),
        first_seen=("ts", "min"),
        last_seen=("ts", "max"),
    )
    codes = groups.ngroup().to_numpy()
    frame["kinds"] = distinct_lists(codes, f["kind"], len(frame))
    frame["fields"] = distinct_lists(codes, f["field"], len(frame))
    frame.index.names = ["host", "server_ip"]
    frame = frame.reset_index()
    # A finding without a Host (an MMS PDU, a bare IP) sorts as "": NaN cannot be compared.
    hosts = frame["host"].astype(object).where(frame["host"].notna(), "").astype(str).to_numpy()
    order = np.lexsort((hosts, -frame["identifiers"].to_numpy()))
    return typed(frame.iloc[order].reset_index(drop=True), RECIPIENTS)


def _resample(series: pd.Series, freq: str, how: str) -> pd.Series:
    # label/closed "left": every bin is named by its start, for "D", "h" and "W" alike
    # (pandas labels weekly bins by their end otherwise). Sub-day bins ("h", "15min") start
    # from the epoch, so the bins of every series share one grid; pandas refuses an origin
    # for calendar frequencies ("D", "W", "MS"), which are aligned to the calendar anyway.
    if isinstance(to_offset(freq), Tick):
        resampler = series.resample(freq, label="left", closed="left", origin="epoch")
    else:
        resampler = series.resample(freq, label="left", closed="left")
    return resampler.nunique() if how == "nunique" else resampler.sum()


def daily(findings: pd.DataFrame, messages: pd.DataFrame | None = None, *, freq: str = "D") -> pd.DataFrame:
    """Per time bin (`freq`: any pandas frequency, "D" by default, "h", "W", …): HTTP
    requests, requests carrying identifiers, their share, distinct identifiers and hosts.

    Indexed by bin start (UTC), every bin from the first to the last present, zeros
    between. Without `messages`, `requests` and `share` are null: a findings frame only
    holds the requests that carried something.
    """
    f = require(findings, FINDINGS_NEEDS, "daily")
    table = requests_table(f, messages)
    sent = request_findings(f)
    sent = sent[sent["ts"].notna().to_numpy(dtype=bool)]
    stamps = pd.concat([table["ts"], sent["ts"]], ignore_index=True)
    if not len(stamps):
        empty = typed(pd.DataFrame(), DAILY)
        empty.index = pd.DatetimeIndex([], tz="UTC", name="start")
        return empty
    bins = _resample(pd.Series(1, index=pd.DatetimeIndex(stamps)), freq, "sum").index
    by_request = table.set_index("ts")
    identified = _resample(by_request["identified"].astype("int64"), freq, "sum").reindex(bins, fill_value=0)
    sent_ix = sent.set_index("ts")
    identifiers = _resample(sent_ix["identifier"].astype(object), freq, "nunique").reindex(bins, fill_value=0)
    hosts = _resample(sent_ix["host"].astype(object), freq, "nunique").reindex(bins, fill_value=0)
    if messages is not None:
        requests = _resample(pd.Series(1, index=by_request.index), freq, "sum").reindex(bins, fill_value=0)
        requests = requests.astype("Int64")
    else:
        requests = pd.Series(pd.NA, index=bins, dtype="Int64")
    frame = pd.DataFrame(
        {
            "requests": requests,
            "requests_with_identifiers": identified,
            "share": pd.array(
                [k / n if n else pd.NA for k, n in zip(identified, requests.fillna(0), strict=True)], dtype="Float64"
            ),
            "identifiers": identifiers,
            "hosts": hosts,
        }
    )
    frame.index.name = "start"
    return typed(frame, DAILY)
