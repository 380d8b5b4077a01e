"""A batch gives what `lineid scan` and `analyze` give over the same files.

Raw dataset (what an engine reads) vs `lineid scan` of the same files: equal rows once ids
are taken without the input's index (a batch reads every input as index 0, so that its
rows do not depend on the batch; a scan numbers inputs by position), and `date` (the
partition) set aside. Findings differ by exactly the digests matched *across* inputs,
which no single input's files can hold; `open_dataset` adds them, and equals `analyze`
over the inputs in the dataset's order, every column included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import analyzer
from analyzer.batch import manifest_frame, open_dataset
from analyzer.schema import SCHEMAS, dtype_of
from tests.batch.support import NUMBER, capture, labels, normalise_ids, run_cli, sha256_hex, table_rows
from tests.helpers import FIXTURES, corpus


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    clear = capture(folder / "clear.pcap", f"x-msisdn: {NUMBER}")
    # The number's SHA-256 in another capture, a day later: a digest matched across inputs.
    hashed = capture(folder / "hashed.pcap", uri=f"/t?uid={sha256_hex('+' + NUMBER)}", start=1_326_268_800.0)
    fixtures = [
        FIXTURES / "captures" / n for n in ("gzip-body.pcap", "ethernet-get.pcap.gz", "gtpu-uplink-downlink.pcap")
    ]
    har = folder / "webview.har"  # sorts after the captures: its ids are rebased
    har.write_text(json.dumps(har_log(f"http://example.com/p?msisdn={NUMBER}")))
    # Inputs close in time: the report's chart has a bar per day of the span.
    return [clear, hashed, har, *fixtures, corpus("zeek", "wikipedia.pcap")]


def har_log(url: str) -> dict[str, object]:
    """A HAR of one exchange on a numbered connection (flow id 'index:har:connection')."""
    message = {"httpVersion": "HTTP/1.1", "cookies": [], "headersSize": -1, "bodySize": 0}
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [
                {
                    "startedDateTime": "2012-01-10T09:00:00.000Z",
                    "time": 5,
                    "connection": "4242",
                    "serverIPAddress": "192.0.2.7",
                    "request": {
                        **message,
                        "method": "GET",
                        "url": url,
                        "headers": [{"name": "Host", "value": "example.com"}],
                        "queryString": [],
                    },
                    "response": {
                        **message,
                        "status": 200,
                        "statusText": "OK",
                        "headers": [],
                        "content": {"size": 0, "mimeType": "text/plain"},
                        "redirectURL": "",
                    },
                    "cache": {},
                    "timings": {"send": 0, "wait": 5, "receive": 0},
                }
            ],
        }
    }


@pytest.fixture(scope="module")
def dataset(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch") / "ds"
    code, output = run_cli("batch", *labels(inputs), "-o", str(root), "--workers", "2")
    assert code == 0, output
    return root


@pytest.fixture(scope="module")
def scanned(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from analyzer.cli import main

    out = tmp_path_factory.mktemp("scan")
    result = CliRunner().invoke(main, ["scan", *labels(inputs), "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    return out


def scan_rows(out: Path, table: str) -> pd.DataFrame:
    return normalise_ids(pq.read_table(out / f"{table}.parquet").to_pandas())


def test_messages_and_anomalies_are_the_rows_of_scan(dataset: Path, scanned: Path) -> None:
    for table in ("messages", "anomalies"):
        batch = normalise_ids(table_rows(dataset, table).drop(columns="date"))
        pd.testing.assert_frame_equal(batch, scan_rows(scanned, table), check_dtype=False)


def test_findings_are_the_rows_of_scan_but_digests_matched_across_inputs(
    dataset: Path, scanned: Path, inputs: list[Path]
) -> None:
    batch = normalise_ids(table_rows(dataset, "findings").drop(columns="date"))
    scan = scan_rows(scanned, "findings")
    merged = scan.merge(batch, how="left", indicator=True)
    only_scan = merged[merged["_merge"] == "left_only"]
    assert len(batch) == len(scan) - 1
    assert only_scan[["source", "kind", "identifier"]].values.tolist() == [
        [str(inputs[1]), "hashed-msisdn", "+" + NUMBER]
    ]


def test_open_dataset_is_analyze_over_the_inputs_in_dataset_order(dataset: Path, inputs: list[Path]) -> None:
    opened = open_dataset(dataset)
    expected = analyzer.analyze(sorted(labels(inputs)))
    for name in ("messages", "headers", "findings", "anomalies", "inputs"):
        pd.testing.assert_frame_equal(getattr(opened, name), getattr(expected, name), check_categorical=False)
    assert "hashed-msisdn" in set(opened.findings["kind"].astype(str))
    har_index = sorted(labels(inputs)).index(str(inputs[2]))
    assert har_index > 0 and f"{har_index}:har:4242" in set(opened.messages["flow_id"].dropna())
    for kind in ("messages", "findings", "anomalies"):
        frame = getattr(opened, kind)
        assert all(frame[c.name].dtype == dtype_of(c) for c in SCHEMAS[kind]), kind


def test_any_engine_reads_the_tables_by_day(dataset: Path, inputs: list[Path]) -> None:
    findings = pd.read_parquet(dataset / "findings")
    assert set(findings["date"].astype(str)) == {"2012-01-10"}  # the 2012-01-11 one is cross-input
    day = pd.read_parquet(dataset / "messages", filters=[("date", "=", "2012-01-11")])
    assert set(day["source"].astype(str)) == {str(inputs[1])} and len(day) == 2
    assert all(
        len(pq.read_schema(p).names) == len(SCHEMAS["messages"]) for p in (dataset / "messages").rglob("*.parquet")
    )


def test_the_manifest_lists_every_input_with_its_hash_and_counts(dataset: Path, inputs: list[Path]) -> None:
    manifest = manifest_frame(dataset)
    assert sorted(manifest["source"]) == sorted(labels(inputs))
    assert set(manifest["status"]) == {"done"} and manifest["sha256"].str.len().eq(64).all()
    assert manifest["lineid_version"].eq(analyzer.__version__).all() and manifest["options"].nunique() == 1
    opened = open_dataset(dataset, headers=False)
    assert manifest["messages"].sum() == len(opened.messages) and not len(opened.headers)


def test_report_over_the_dataset(dataset: Path, tmp_path: Path) -> None:
    code, output = run_cli("report", str(dataset), "-o", str(tmp_path / "r" / "report.html"))
    assert code == 0, output
    html = (tmp_path / "r" / "report.html").read_text()
    assert f"{len(list((dataset / 'batch-manifest').glob('*.parquet')))} input(s)" in html
    assert NUMBER not in html  # masked by default, as in scan's report
