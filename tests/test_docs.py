"""The reference pages in docs/ are what the code says, and the frames are what they say."""

from __future__ import annotations

import pandas as pd
import pytest

import analyzer
from analyzer.docs import PAGES
from analyzer.schema import CONFIDENCE_DTYPE, SCHEMAS, STRING
from tests.helpers import ROOT


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_up_to_date(name: str) -> None:
    assert (ROOT / "docs" / name).read_text(encoding="utf-8") == PAGES[name](), "run: python -m analyzer.docs"


def expected_dtype(dtype: str) -> object:
    if dtype == "confidence":
        return CONFIDENCE_DTYPE
    if dtype == STRING:
        return pd.StringDtype("pyarrow")
    return pd.api.types.pandas_dtype(dtype) if dtype != "category" else "category"


@pytest.mark.parametrize("capture", ["pipelined.pcap", "not-there"])
def test_frames_have_the_documented_columns_and_dtypes(capture: str) -> None:
    text = (ROOT / "docs" / "columns.md").read_text(encoding="utf-8")
    paths = (
        [ROOT / "fixtures" / "captures" / capture]
        if capture != "not-there"
        else [ROOT / "fixtures" / "captures" / "not-a-capture.pcap"]
    )
    result = analyzer.analyze(paths, errors="record")  # the second case: every frame empty, still typed
    for kind, schema in SCHEMAS.items():
        frame = getattr(result, kind)
        assert list(frame.columns) == [c.name for c in schema], kind
        for column in schema:
            assert frame[column.name].dtype == expected_dtype(column.dtype), (kind, column.name)
            assert f"| `{column.name}` |" in text
    assert result.findings["ts"].is_monotonic_increasing
