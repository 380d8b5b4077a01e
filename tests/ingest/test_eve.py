"""Suricata EVE ingest: hand-built records with dump-all-headers, Suricata 6 `custom` keys,
a `custom` object, bodies, other event types and damage, through `analyzer.analyze`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import analyzer
from analyzer.ingest.connection import make_message_id
from analyzer.sources import open_evidence, sniff_format

ROOT = Path(__file__).resolve().parents[2]
EVE = ROOT / "fixtures" / "logs" / "eve-dump-all-and-custom.json"
RESPONSE = 1 << 12


def headers_of(result: analyzer.Analysis, message_id: int) -> list[tuple[str, str]]:
    h = result.headers[result.headers["message_id"] == message_id].sort_values("position")
    return list(zip(h["raw_name"].astype(str), h["value"].astype(str), strict=True))


def eve_line(**http: object) -> str:
    record = {
        "timestamp": "2012-01-20T08:00:01.000000+0000",
        "flow_id": 99,
        "event_type": "http",
        "src_ip": "10.0.0.1",
        "src_port": 40000,
        "dest_ip": "192.0.2.1",
        "dest_port": 80,
        "tx_id": 0,
        "http": {"hostname": "example.com", "url": "/", "http_method": "GET", "protocol": "HTTP/1.1", **http},
    }
    return json.dumps(record)


def test_findings_with_their_lines_and_fields() -> None:
    result = analyzer.analyze([EVE])
    assert set(result.messages["source_kind"]) == {"eve"}
    found = result.findings[["line", "direction", "where", "field", "identifier"]]
    assert list(found.itertuples(index=False, name=None)) == [
        (2, "request", "header", "X-MSISDN", "447700900123"),
        (4, "request", "body", "msisdn", "+447400123456"),
        (4, "response", "redirect", "msisdn", "+447400123456"),
        (6, "request", "header", "X-Up-Calling-Line-Id", "+447400123456"),
    ]


def test_damaged_line_and_other_event_types_are_anomalies_and_the_rest_is_read() -> None:
    result = analyzer.analyze([EVE])
    assert list(result.anomalies[["code", "line"]].astype(object).itertuples(index=False, name=None)) == [
        ("LOG_BAD_LINE", 5),
        ("LOG_RECORDS_SKIPPED", pd.NA),
    ]
    assert "1 flow, 1 alert" in result.anomalies["detail"].iloc[1]
    assert sorted(set(result.messages["line"])) == [2, 4, 6]


def test_record_fields_map_to_message_columns() -> None:
    result = analyzer.analyze([EVE])
    m = result.messages.set_index("message_id")
    req = m.loc[make_message_id(0, 4, 0)]
    assert (req["flow_id"], req["client_ip"], req["client_port"], req["server_ip"], req["server_port"]) == (
        "2222",
        "10.11.12.13",
        49152,
        "192.0.2.80",
        80,
    )
    assert (req["vlan"], req["inner_vlan"], req["community_id"]) == (100, 200, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
    assert req["ts"] == pd.Timestamp("2012-01-20 08:00:01.25", tz="UTC") and req["trans_depth"] == 1
    assert (req["method"], req["uri"], req["host"], req["version"]) == (
        "GET",
        "/news?id=7",
        "m.example.com",
        "HTTP/1.1",
    )
    resp = m.loc[make_message_id(0, 4, 0) + RESPONSE]
    assert (resp["status"], resp["body_len"], resp["content_type"]) == (200, 5120, "text/html; charset=utf-8")
    assert [n for n, _ in headers_of(result, make_message_id(0, 4, 0))] == ["Host", "User-Agent", "X-MSISDN"]
    # Suricata 6: custom keys and single-header fields become rows; hostname:http_port is the host
    custom = make_message_id(0, 8, 0)
    assert headers_of(result, custom) == [
        ("x-forwarded-proto", "http"),
        ("User-Agent", "okhttp/2.7.5"),
        ("X-Forwarded-For", "+447400123456"),
    ]
    assert m.loc[custom, "host"] == "api.example.com:8080" and m.loc[custom, "trans_depth"] == 3
    assert m.loc[custom, "body_len"] == len("msisdn=447400123456&pin=0000")
    assert headers_of(result, custom + RESPONSE) == [("Location", "http://m.example.com/welcome?msisdn=447400123456")]
    # no status and no response headers: no response message
    assert make_message_id(0, 12, 0) in m.index and make_message_id(0, 12, 0) + RESPONSE not in m.index


def test_single_header_fields_do_not_repeat_the_dumped_headers(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_text(
        eve_line(
            http_user_agent="UA",
            request_headers=[{"name": "user-agent", "value": "UA"}, {"name": "X-MSISDN", "value": "447400123456"}],
        )
        + "\n"
    )
    result = analyzer.analyze([path])
    assert headers_of(result, make_message_id(0, 2, 0)) == [("user-agent", "UA"), ("X-MSISDN", "447400123456")]
    assert list(result.findings["identifier"]) == ["+447400123456"]


def test_compressed_copy_reads_the_same() -> None:
    plain, zst = analyzer.analyze([EVE]), analyzer.analyze([Path(str(EVE) + ".zst")])
    pd.testing.assert_frame_equal(
        plain.findings.drop(columns="source").astype(object), zst.findings.drop(columns="source").astype(object)
    )


def test_eve_is_recognised_by_content_whatever_its_first_event(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_text('{"timestamp": "2012-01-20T08:00:00+0000", "event_type": "stats", "stats": {}}\n')
    with open_evidence(path, analyzer.anomalies.Recorder(str(path))) as evidence:
        assert sniff_format(evidence) == "eve"
