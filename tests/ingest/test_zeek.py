"""Zeek http.log ingest: the btest baselines of the corpus (one request per record, logged
header names in order) and the fixtures (a site's header column, proxied headers, JSON
with nested `id` and `client_headers`, damage, compression), through `analyzer.analyze`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.errors import InputFormatError
from analyzer.ingest.connection import make_message_id
from analyzer.ingest.zeek import header_column

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "zeek"
LOGS = ROOT / "fixtures" / "logs"
TSV = LOGS / "zeek-header-names-site-column.http.log"
JSON = LOGS / "zeek-json-nested-id-client-headers.http.log"
CORPUS_LOGS = sorted(p.name for p in CORPUS.glob("*.http.log"))


def records(path: Path) -> list[dict[str, str]]:
    """Data rows of a TSV log as written (read here without lineid), with their line numbers."""
    rows: list[dict[str, str]] = []
    fields: list[str] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if raw.startswith("#fields\t"):
            fields = ["line", *raw.split("\t")[1:]]
        elif raw and not raw.startswith("#"):
            rows.append(dict(zip(fields, [str(number), *raw.split("\t")], strict=True)))
    return rows


def headers_of(result: analyzer.Analysis, message_id: int) -> list[tuple[str, str]]:
    h = result.headers[result.headers["message_id"] == message_id].sort_values("position")
    return list(zip(h["raw_name"].astype(str), h["value"].astype(str), strict=True))


@pytest.mark.parametrize("name", CORPUS_LOGS)
def test_corpus_logs_one_request_per_record_with_names_in_order(name: str) -> None:
    path = CORPUS / name
    rows = records(path)
    result = analyzer.analyze([path])
    requests = result.messages[result.messages["direction"] == "request"]
    assert list(requests["line"]) == [int(r["line"]) for r in rows]
    assert set(result.messages["source_kind"]) == {"zeek"}
    for row, (_, msg) in zip(rows, requests.iterrows(), strict=True):
        assert msg["flow_id"] == row["uid"]
        assert msg["client_ip"] == row["id.orig_h"] and msg["server_port"] == int(row["id.resp_p"])
        assert (str(msg["method"]) if isinstance(msg["method"], str) else "-") == row["method"]
        names = row.get("client_header_names", "-")
        if names not in ("-", "(empty)"):
            assert [n for n, _ in headers_of(result, msg["message_id"])] == names.split(",")
        if row["status_code"] != "-":
            reply = result.messages[result.messages["message_id"] == msg["message_id"] + (1 << 12)].iloc[0]
            assert reply["direction"] == "response" and reply["status"] == int(row["status_code"])
            server = row.get("server_header_names", "-")
            if server not in ("-", "(empty)"):
                assert [n for n, _ in headers_of(result, reply["message_id"])] == server.split(",")
    # btest baselines blank the times (XXXXXXXXXX.XXXXXX): null, one anomaly per record
    assert result.messages["ts"].isna().all()
    assert list(result.anomalies["code"]) == ["LOG_BAD_FIELD"] * len(rows)


def test_header_names_take_values_from_the_fields_that_hold_them() -> None:
    result = analyzer.analyze([CORPUS / "wikipedia.header-names.http.log"])
    first = int(result.messages["message_id"].iloc[0])
    assert headers_of(result, first)[:3] == [
        ("HOST", "bits.wikimedia.org"),
        ("USER-AGENT", "Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.15) Gecko/20110303 Ubuntu/10.04 (lucid) "
         "Firefox/3.6.15"),
        ("ACCEPT", ""),  # the name is logged, its value is not
    ]  # fmt: skip
    assert ("REFERER", "http://www.wikipedia.org/") in headers_of(result, first)


def test_site_column_proxied_headers_and_a_damaged_line() -> None:
    result = analyzer.analyze([TSV])
    m = result.messages.set_index("message_id")
    assert list(result.findings[["line", "direction", "field", "identifier"]].itertuples(index=False, name=None)) == [
        (9, "request", "X-MSISDN", "447700900123"),
        (13, "request", "msisdn", "+447400123456"),
    ]
    assert list(result.anomalies[["code", "line"]].itertuples(index=False, name=None)) == [("LOG_BAD_LINE", 12)]
    line9 = make_message_id(0, 18, 0)
    assert [n for n, _ in headers_of(result, line9)] == ["HOST", "USER-AGENT", "X-MSISDN", "REFERER", "ACCEPT"]
    assert m.loc[line9, "ts"] == pd.Timestamp("2012-01-20 08:00:01.25", tz="UTC")
    assert not isinstance(m.loc[line9, "version"], str) and m.loc[line9 + (1 << 12), "version"] == "HTTP/1.1"
    line10 = make_message_id(0, 20, 0)
    assert headers_of(result, line10) == [
        ("Host", "api.example.com"),
        ("User-Agent", "okhttp/2.7.5"),
        ("Origin", "http://m.example.com"),
        ("X-FORWARDED-FOR", "+447400123456"),
        ("VIA", "1.1 wap-gw"),
    ]
    assert m.loc[line10, "uri"] == "/v1/login\tx"  # \x09 unescaped
    assert m.loc[line10, "body_len"] == 42 and m.loc[line10 + (1 << 12), "body_len"] == 17
    # line 13 has no reply: one message, its version on the request
    assert make_message_id(0, 27, 0) not in m.index and m.loc[make_message_id(0, 26, 0), "status"] is pd.NA


def test_json_gives_the_same_messages_as_tsv() -> None:
    tsv, js = analyzer.analyze([TSV]), analyzer.analyze([JSON])
    columns = ["direction", "ts", "flow_id", "client_ip", "client_port", "server_ip", "server_port", "trans_depth",
               "method", "uri", "host", "version", "status", "reason", "body_len", "header_count"]  # fmt: skip
    left = tsv.messages[tsv.messages["line"] <= 11][columns].reset_index(drop=True)
    right = js.messages[js.messages["line"] <= 3][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(left.astype(object), right.astype(object))
    last = js.messages[js.messages["line"] == 4].iloc[0]
    assert last["client_ip"] == "2001:db8::17"
    assert headers_of(js, int(last["message_id"])) == [
        ("Host", "m.example.com"),
        ("X-Up-Calling-Line-Id", "447400123456"),
        ("Accept", "*/*"),
    ]
    assert list(js.findings[["line", "field", "identifier"]].itertuples(index=False, name=None)) == [
        (1, "X-MSISDN", "447700900123"),
        (4, "X-Up-Calling-Line-Id", "+447400123456"),
    ]


def test_compressed_copy_reads_the_same() -> None:
    plain, gz = analyzer.analyze([TSV]), analyzer.analyze([Path(str(TSV) + ".gz")])
    pd.testing.assert_frame_equal(
        plain.messages.drop(columns="source").astype(object), gz.messages.drop(columns="source").astype(object)
    )


def test_a_zeek_log_of_another_kind_is_not_an_input(tmp_path: Path) -> None:
    conn = tmp_path / "conn.log"
    conn.write_text(
        "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tproto\n#types\ttime\tstring\taddr\tenum\n"
        "1.0\tCabc\t10.0.0.1\ttcp\n"
    )
    with pytest.raises(InputFormatError, match=r"conn log, not http\.log"):
        analyzer.analyze([conn])


@pytest.mark.parametrize(
    ("column", "side"),
    [
        ("x_msisdn", ("request", "x-msisdn")),
        ("msisdn", ("request", "msisdn")),
        ("client_header_x_up_calling_line_id", ("request", "x-up-calling-line-id")),
        ("server_header_set_cookie", ("response", "set-cookie")),
        ("resp_mime_types", None),
        ("geo_country", None),
    ],
)
def test_site_columns_that_are_headers(column: str, side: tuple[str, str] | None) -> None:
    assert header_column(column) == side


def test_a_zeek_json_log_of_another_kind_is_not_an_input(tmp_path: Path) -> None:
    conn = tmp_path / "conn.log"
    conn.write_text('{"ts": 1.0, "uid": "Cabc", "id.orig_h": "10.0.0.1", "proto": "tcp"}\n')
    with pytest.raises(InputFormatError, match="no HTTP fields"):
        analyzer.analyze([conn])
