"""`Analysis.findings` is the timeline: sorted by time, UTC, with the documented dtypes."""

from __future__ import annotations

import pandas as pd

from analyzer.analysis import Analysis
from analyzer.schema import FINDINGS, dtype_of


def test_findings_are_sorted_by_ts_and_tz_aware(incident: Analysis) -> None:
    ts = incident.findings["ts"]
    assert len(ts) > 1000
    assert isinstance(ts.dtype, pd.DatetimeTZDtype) and str(ts.dtype.tz) == "UTC"
    assert ts.is_monotonic_increasing
    assert ts.notna().all()


def test_findings_have_the_documented_columns_and_dtypes(incident: Analysis) -> None:
    f = incident.findings
    assert list(f.columns) == [c.name for c in FINDINGS]
    for column in FINDINGS:
        expected = dtype_of(column)
        actual = f[column.name].dtype
        assert actual == expected or str(actual) == str(expected), (column.name, actual, expected)
    confidence = f["confidence"].dtype
    assert isinstance(confidence, pd.CategoricalDtype) and confidence.ordered
    assert list(confidence.categories) == ["low", "medium", "high"]
