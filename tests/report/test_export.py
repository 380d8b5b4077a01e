from __future__ import annotations

import pandas as pd

from analyzer.report.export import csv_safe


def test_every_kind_of_text_column_is_neutralised_and_only_where_needed() -> None:
    frame = pd.DataFrame(
        {
            "category": pd.Categorical(["=cmd()", "plain", None]),
            "arrow_text": pd.array(["+1+1", "ok", None], dtype="string[pyarrow]"),
            "python_text": pd.array(["-2", "fine", None], dtype="string[python]"),
            "objects": pd.Series(["@sum", 5, None], dtype=object),
            "safe_category": pd.Categorical(["a", "b", "a"]),
            "numbers": [1, -2, 3],
        }
    )
    out = csv_safe(frame)
    assert out["category"].tolist()[:2] == ["'=cmd()", "plain"]
    assert out["arrow_text"].tolist()[:2] == ["'+1+1", "ok"]
    assert out["python_text"].tolist()[:2] == ["'-2", "fine"]
    assert out["objects"].tolist()[:2] == ["'@sum", 5]
    assert out["safe_category"].dtype == frame["safe_category"].dtype  # untouched
    assert out["numbers"].tolist() == [1, -2, 3]
    assert frame["category"].tolist()[0] == "=cmd()"  # a copy: the input is not changed
