from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analyzer.anomalies import Recorder
from analyzer.ingest.pipeline import iter_messages
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.schema import from_arrow
from analyzer.sources import open_evidence
from analyzer.tables import MessageColumns, ParquetSink
from tests.helpers import FIXTURES


def messages() -> list[HttpMessage]:
    out: list[HttpMessage] = []
    for index, path in enumerate(
        [FIXTURES / "detection" / "enrichment-ethernet.pcap", FIXTURES / "har" / "chrome-sanitised.har"]
    ):
        recorder = Recorder(str(path))
        with open_evidence(path, recorder) as evidence:
            out += iter_messages(evidence, source_index=index, limits=Limits(), recorder=recorder)
    return out


def test_batches_follow_the_rows_added_one_by_one(tmp_path: Path) -> None:
    msgs = messages()
    assert len(msgs) >= 4
    whole = MessageColumns()
    for m in msgs:
        whole.add(m)
    expected = whole.finish()

    first, rest = MessageColumns(), MessageColumns()
    for m in msgs[:2]:
        first.add(m)
    for m in msgs[2:]:
        rest.add(m)
    first.add_frames(*rest.finish())
    for got, want in zip(first.finish(), expected, strict=True):
        assert got is not None and want is not None
        pd.testing.assert_frame_equal(got, want)

    sink = ParquetSink(tmp_path / "m.parquet", tmp_path / "h.parquet")
    for m in msgs[:2]:
        sink.add(m)
    sink.add_frames(*rest.finish())
    sink.close()
    written = from_arrow("messages", pq.read_table(tmp_path / "m.parquet"))
    assert expected[0] is not None
    pd.testing.assert_frame_equal(written, expected[0])


def test_finding_batches_follow_the_rows() -> None:
    from analyzer.api import Options
    from analyzer.detect.engine import build_detector
    from analyzer.tables import FindingColumns

    detector, recorder = build_detector(Options()), Recorder("t")
    pairs = [(m, f) for m in messages() for f in detector.scan(m, recorder)]
    assert len(pairs) >= 2
    whole, first, rest = FindingColumns(), FindingColumns(), FindingColumns()
    for i, (m, f) in enumerate(pairs):
        whole.add(m, f)
        (first if i < 1 else rest).add(m, f)
    first.add_frame(rest.frame())
    assert len(first) == len(pairs)
    pd.testing.assert_frame_equal(first.frame(), whole.frame())


def test_a_message_row_is_in_the_schema_order() -> None:
    from analyzer.schema import MESSAGES
    from analyzer.tables import MESSAGE_ROW

    assert MESSAGE_ROW == tuple(c.name for c in MESSAGES)
