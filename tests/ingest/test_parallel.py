"""--jobs N: flows sharded over processes give exactly what one process gives."""

from __future__ import annotations

import pandas as pd
import pytest

import analyzer
from tests.helpers import FIXTURES, corpus


def inputs() -> list[object]:
    return [
        corpus("zeek", "wikipedia.pcap"),
        corpus("zeek", "1000-requests-one-dropped-response.pcap.gz"),
        corpus("ndpi", "fuzz-2006-09-29-28586.pcap"),
        FIXTURES / "captures" / "gtpu-uplink-downlink.pcap",
        FIXTURES / "captures" / "gap-client-pipelined.pcap",
    ]


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(str)


@pytest.mark.parametrize("jobs", [2, 3])
def test_sharded_analysis_equals_one_process(jobs: int) -> None:
    one = analyzer.analyze(inputs())
    many = analyzer.analyze(inputs(), jobs=jobs)
    for name in ("messages", "headers", "findings", "anomalies"):
        pd.testing.assert_frame_equal(as_text(getattr(one, name)), as_text(getattr(many, name)), obj=name)
    pd.testing.assert_frame_equal(one.inputs, many.inputs)  # the SHA-256 and counts of each input too
    assert len(one.findings) > 0 and len(one.messages) > 2000
