"""exposures, recipients and daily: against the incident's truth, and their schemas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyzer.analysis import Analysis
from analyzer.errors import UsageError
from analyzer.schema import empty_frame
from analyzer.timeline import daily, exposures, recipients
from analyzer.timeline.summaries import DAILY, EXPOSURES, RECIPIENTS


def _assert_schema(frame: pd.DataFrame, schema: dict[str, Any]) -> None:
    assert list(frame.columns) == list(schema)
    for name, dtype in schema.items():
        assert str(frame[name].dtype) == str(pd.api.types.pandas_dtype(dtype)), name


def test_exposures_one_row_per_identifier(incident: Analysis, incident_truth: dict[str, Any]) -> None:
    e = exposures(incident.findings)
    _assert_schema(e, EXPOSURES)
    assert sorted(e["identifier"]) == incident_truth["identifiers"]
    assert e["first_seen"].is_monotonic_increasing
    assert set(e["kind"]) == {"msisdn"}
    assert e["messages"].sum() == incident_truth["requests_with_header"]
    assert all(fields == ["x-up-calling-line-id"] for fields in e["fields"])
    assert all(s == ["header"] for s in e["surfaces"])
    # Lists stay lists, whatever their length; hosts counts them.
    assert all(isinstance(h, list) and len(h) == n for h, n in zip(e["host_list"], e["hosts"], strict=True))
    assert (e["flows"] <= e["messages"]).all() and (e["flows"] > 0).all()


def test_recipients_one_row_per_host(incident: Analysis, incident_truth: dict[str, Any]) -> None:
    r = recipients(incident.findings)
    _assert_schema(r, RECIPIENTS)
    assert sorted(r["host"]) == incident_truth["hosts_with_header"]
    assert r["messages"].sum() == incident_truth["requests_with_header"]
    assert r["identifiers"].is_monotonic_decreasing
    partners = r[r["host"].isin(incident_truth["partners"])]
    # Partners receive the number all month; other sites only inside the window.
    assert (partners["first_seen"] < pd.Timestamp("2012-01-02", tz="UTC")).all()
    others = r[~r["host"].isin(incident_truth["partners"])]
    assert (others["first_seen"] >= pd.Timestamp("2012-01-10 07:00", tz="UTC")).all()
    assert (others["last_seen"] < pd.Timestamp("2012-01-25 14:00", tz="UTC")).all()


def test_daily_counts_every_request(incident: Analysis, incident_truth: dict[str, Any]) -> None:
    d = daily(incident.findings, incident.messages)
    _assert_schema(d, DAILY)
    assert isinstance(d.index, pd.DatetimeIndex) and str(d.index.tz) == "UTC"
    assert len(d) == 31 and d.index[0] == pd.Timestamp("2012-01-01", tz="UTC")
    assert d["requests"].sum() == incident_truth["requests"]
    assert d["requests_with_identifiers"].sum() == incident_truth["requests_with_header"]
    inside = d.loc["2012-01-11":"2012-01-24"]
    assert (inside["share"] == 1.0).all()
    assert (d.loc[:"2012-01-09", "share"] < 0.25).all()
    assert (d.loc[:"2012-01-09", "hosts"] == 3).all()  # only the partners


def test_daily_any_frequency_and_without_messages(incident: Analysis) -> None:
    hourly = daily(incident.findings, incident.messages, freq="h")
    assert len(hourly) == 31 * 24 - int(hourly.index[0].hour)  # from the first request's hour
    assert hourly["requests_with_identifiers"].sum() == daily(incident.findings)["requests_with_identifiers"].sum()
    weekly = daily(incident.findings, freq="W")
    assert weekly["requests"].isna().all() and weekly["share"].isna().all()
    assert weekly.index[0] == pd.Timestamp("2012-01-01", tz="UTC")  # bins named by their start


def test_empty_findings_give_empty_frames_with_the_schema() -> None:
    f = empty_frame("findings")
    _assert_schema(exposures(f), EXPOSURES)
    _assert_schema(recipients(f), RECIPIENTS)
    d = daily(f)
    _assert_schema(d, DAILY)
    assert len(d) == 0 and isinstance(d.index, pd.DatetimeIndex)


def test_a_frame_without_the_columns_is_refused(incident: Analysis) -> None:
    with pytest.raises(UsageError, match="identifier"):
        exposures(incident.messages)


def test_recipients_with_a_finding_without_host() -> None:
    """An MMS PDU has no Host header: its finding still gets a recipients row."""
    import analyzer
    from tests.helpers import corpus

    result = analyzer.analyze([corpus("ndpi", "fuzz-2006-09-29-28586.pcap")])
    rows = result.recipients()
    assert len(rows) >= 1 and rows["host"].isna().any()


def test_distinct_lists_sorts_and_dedupes_per_group_and_leaves_empty_groups_empty() -> None:
    from analyzer.timeline.frames import distinct_lists

    codes = np.array([2, 0, 2, 2, 0, 0])
    values = pd.Series(["b", None, "a", "b", "z", "y"], dtype="string")
    assert distinct_lists(codes, values, 4) == [["y", "z"], [], ["a", "b"], []]
    assert distinct_lists(np.array([], dtype=int), pd.Series([], dtype=object), 2) == [[], []]
