"""fixtures/build_incident.py: the committed files are what it writes, small, and read cleanly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import analyzer
from analyzer.analysis import Analysis

from .helpers import GATEWAY_PCAP, INCIDENT, MONTH, PHONE_HAR, ROOT

MAX_MONTH_BYTES = 1_500_000
MAX_FIXTURES_BYTES = 5_000_000


def test_committed_month_is_what_the_builder_writes(builder: ModuleType) -> None:
    data, truth = builder.month()
    assert gzip.decompress(MONTH.read_bytes()) == data  # compared decompressed: zlib builds may differ
    assert (INCIDENT / "gateway-2012-01.truth.json").read_text(encoding="ascii") == builder.truth_text(truth)


def test_committed_pair_is_what_the_builder_writes(builder: ModuleType) -> None:
    har, capture, truth = builder.pair()
    assert PHONE_HAR.read_bytes() == har
    assert GATEWAY_PCAP.read_bytes() == capture
    assert (INCIDENT / "pair-2012-01-12.truth.json").read_text(encoding="ascii") == builder.truth_text(truth)


def test_fixtures_stay_small() -> None:
    assert MONTH.stat().st_size < MAX_MONTH_BYTES
    total = sum(
        p.stat().st_size for p in (ROOT / "fixtures").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert total < MAX_FIXTURES_BYTES


def test_lineid_reads_the_month_as_written(incident: Analysis, incident_truth: dict[str, Any]) -> None:
    assert len(incident.anomalies) == 0
    requests = incident.messages[incident.messages["direction"] == "request"]
    assert len(requests) == incident_truth["requests"]
    assert (incident.messages["direction"] == "response").sum() == incident_truth["requests"]
    assert len(incident.findings) == incident_truth["requests_with_header"]
    assert str(incident.findings["ts"].min()).startswith("2012-01-01")
    assert str(incident.findings["ts"].max()).startswith("2012-01-31")


def test_the_har_is_har_1_2_and_reads_cleanly() -> None:
    har: dict[str, Any] = json.loads(Path(PHONE_HAR).read_text(encoding="ascii"))
    log = har["log"]
    assert log["version"] == "1.2" and set(log["creator"]) == {"name", "version"}
    for entry in log["entries"]:
        timings = entry["timings"]
        # HAR 1.2: time is the sum of the timings that apply (-1: does not apply).
        assert entry["time"] == sum(v for k, v in timings.items() if k != "ssl" and v >= 0)
        assert entry["startedDateTime"].endswith("Z")
        assert {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"} <= set(
            entry["request"]
        )
    a = analyzer.analyze(PHONE_HAR)
    assert len(a.anomalies) == 0 and len(a.findings) == 0  # the phone never sees the number
    assert len(analyzer.analyze(GATEWAY_PCAP).findings) == 10  # the gateway's view: every request
