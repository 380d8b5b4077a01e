"""Access log ingest: nginx, Apache and Squid lines in the site's format (given as its
config directive) and in the presets lineid recognises, with the escapes each server
writes, damage, compression, --jobs shards and inputs of every kind mixed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.anomalies import Recorder
from analyzer.errors import InputFormatError
from analyzer.ingest.connection import make_message_id
from analyzer.ingest.pipeline import iter_messages
from analyzer.limits import Limits
from analyzer.model import HttpMessage
from analyzer.sources import open_evidence
from fixtures.build_logs import APACHE_FORMAT, NGINX_FORMAT, SQUID_FORMAT

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "fixtures" / "logs"
CORPUS_ZEEK = ROOT.parent / "shared" / "corpus" / "zeek"
RESPONSE = 1 << 12
CUSTOM = [
    ("nginx-custom-msisdn.log", NGINX_FORMAT, "x-msisdn"),
    ("apache-custom-msisdn.log", APACHE_FORMAT, "X-MSISDN"),
    ("squid-custom-msisdn.log", SQUID_FORMAT, "X-MSISDN"),
]


def analyze(paths: list[Path], log_format: str | None = None) -> analyzer.Analysis:
    return analyzer.analyze(paths, log_format=log_format)


def findings(result: analyzer.Analysis) -> list[tuple[object, ...]]:
    f = result.findings[["line", "direction", "where", "field", "identifier"]]
    return list(f.itertuples(index=False, name=None))


def headers_of(result: analyzer.Analysis, message_id: int) -> list[tuple[str, str]]:
    h = result.headers[result.headers["message_id"] == message_id].sort_values("position")
    return list(zip(h["raw_name"].astype(str), h["value"].astype(str), strict=True))


def codes(result: analyzer.Analysis) -> list[tuple[object, object]]:
    a = result.anomalies[["code", "line"]].astype(object)
    return sorted(((c, None if pd.isna(n) else n) for c, n in a.itertuples(index=False, name=None)), key=str)


@pytest.mark.parametrize(("name", "fmt", "field"), CUSTOM)
def test_custom_formats_find_the_msisdn_on_its_line(name: str, fmt: str, field: str) -> None:
    result = analyze([LOGS / name], fmt)
    assert set(result.messages["source_kind"]) == {"accesslog"}
    assert findings(result) == [
        (1, "request", "header", field, "447700900123"),
        (2, "request", "header", field, "+447400123456"),
    ]


def test_nginx_escapes_and_damage() -> None:
    result = analyze([LOGS / "nginx-custom-msisdn.log"], NGINX_FORMAT)
    assert headers_of(result, make_message_id(0, 4, 0)) == [
        ("referer", "http://m.example.com/П"),  # \xD0\x9F
        ("user-agent", 'Client "quoted" 1.0'),  # \x22
        ("x-msisdn", "+447400123456"),
    ]
    m = result.messages.set_index("message_id")
    line2 = m.loc[make_message_id(0, 4, 0)]
    assert line2["ts"] == pd.Timestamp("2012-01-20 08:00:02", tz="UTC")  # 09:00:02 +0100
    assert (line2["client_ip"], line2["method"], line2["uri"], line2["version"]) == (
        "10.11.12.14",
        "POST",
        "/v1/login",
        "HTTP/1.1",
    )
    assert m.loc[make_message_id(0, 2, 0) + RESPONSE, "status"] == 200
    assert m.loc[make_message_id(0, 2, 0) + RESPONSE, "body_len"] == 5120
    # line 4 logs "-" for the number: no row for it
    assert [n for n, _ in headers_of(result, make_message_id(0, 8, 0))] == ["user-agent"]
    assert ("LOG_BAD_LINE", 3) in codes(result)
    assert sorted(set(result.messages["line"])) == [1, 2, 4]


def test_apache_escapes_a_bad_request_line_and_damage() -> None:
    result = analyze([LOGS / "apache-custom-msisdn.log"], APACHE_FORMAT)
    assert headers_of(result, make_message_id(0, 4, 0)) == [
        ("Referer", "http://m.example.com/"),
        ("User-Agent", 'Agent "with quotes" and a \\ backslash'),
        ("X-MSISDN", "447400123456"),
    ]
    m = result.messages.set_index("message_id")
    assert m.loc[make_message_id(0, 4, 0), "uri"] == "/a%20b"  # the target as sent
    assert m.loc[make_message_id(0, 4, 0) + RESPONSE, "body_len"] == 0  # %b wrote "-"
    tls = m.loc[make_message_id(0, 6, 0)]
    assert pd.isna(tls["method"]) and m.loc[make_message_id(0, 6, 0) + RESPONSE, "status"] == 400
    assert codes(result)[:2] == [("HTTP_BAD_START_LINE", 3), ("LOG_BAD_LINE", 4)]


def test_squid_quoted_encoding_and_connect() -> None:
    result = analyze([LOGS / "squid-custom-msisdn.log"], SQUID_FORMAT)
    connect = make_message_id(0, 4, 0)
    assert headers_of(result, connect) == [("User-Agent", 'Agent "quoted"'), ("X-MSISDN", "447400123456")]
    m = result.messages.set_index("message_id")
    assert (m.loc[connect, "method"], m.loc[connect, "host"]) == ("CONNECT", "api.example.com:443")
    assert m.loc[make_message_id(0, 2, 0), "host"] == "m.example.com"  # from the absolute-form target
    assert ("LOG_BAD_LINE", 3) in codes(result)


@pytest.mark.parametrize(
    ("name", "preset", "finding"),
    [
        ("apache-common-query.log", "common", (2, "request", "query", "msisdn", "+447400123456")),
        ("squid-native-query.log", "squid", (2, "request", "query", "msisdn", "+447400123456")),
        ("nginx-combined-extra-field.log", "combined", (1, "request", "query", "msisdn", "+447400123456")),
    ],
)
def test_presets_are_recognised_without_a_format(name: str, preset: str, finding: tuple[object, ...]) -> None:
    result = analyzer.analyze([LOGS / name])
    assert findings(result) == [finding]
    formats = result.anomalies[result.anomalies["code"] == "LOG_FORMAT"]["detail"]
    assert list(formats.str.split(" ").str[3]) == [preset]


def test_squid_native_times_and_server() -> None:
    result = analyzer.analyze([LOGS / "squid-native-query.log"])
    first = result.messages.iloc[0]
    assert first["ts"] == pd.Timestamp("2012-01-20 08:00:01.25", tz="UTC")
    assert (first["client_ip"], first["server_ip"], first["host"]) == ("10.11.12.13", "192.0.2.80", "m.example.com")
    assert result.messages.iloc[1]["status"] == 200 and result.messages.iloc[3]["status"] == 302


def test_a_field_the_preset_does_not_describe_is_reported() -> None:
    result = analyzer.analyze([LOGS / "nginx-combined-extra-field.log"])
    extra = result.anomalies[result.anomalies["detail"].str.startswith("lines carry text")]
    assert list(extra["line"]) == [1] and '"x"' in extra["detail"].iloc[0]


@pytest.mark.parametrize(
    ("name", "fmt"), [("nginx-custom-msisdn.log.gz", NGINX_FORMAT), ("apache-custom-msisdn.log.bz2", APACHE_FORMAT)]
)
def test_compressed_copies_read_the_same(name: str, fmt: str) -> None:
    plain = analyze([LOGS / name.rsplit(".", 1)[0]], fmt)
    packed = analyze([LOGS / name], fmt)
    assert findings(plain) == findings(packed)
    assert len(plain.messages) == len(packed.messages)


def read(path: Path, fmt: str | None, shard: tuple[int, int] | None = None) -> list[HttpMessage]:
    recorder = Recorder(str(path))
    with open_evidence(path, recorder) as evidence:
        return list(
            iter_messages(evidence, source_index=0, limits=Limits(), recorder=recorder, shard=shard, log_format=fmt)
        )


def test_jobs_shards_split_the_lines_and_lose_none(tmp_path: Path) -> None:
    path = tmp_path / "many.log"
    lines = [
        f'10.0.{i // 256}.{i % 256} - - [20/Jan/2012:08:00:{i % 60:02d} +0000] "GET /{i} HTTP/1.1" 200 {i} "-" "UA"\n'
        for i in range(500)
    ]
    path.write_text("".join(lines))
    whole = read(path, None)
    parts = read(path, None, (0, 3)) + read(path, None, (1, 3)) + read(path, None, (2, 3))
    assert len(whole) == 1000
    assert sorted(parts, key=lambda m: m.message_id) == sorted(whole, key=lambda m: m.message_id)


def test_every_kind_of_log_in_one_analysis() -> None:
    paths = [
        CORPUS_ZEEK / "pipelined-requests.http.log",
        LOGS / "eve-dump-all-and-custom.json",
        LOGS / "apache-common-query.log",
    ]
    result = analyzer.analyze(paths)
    assert sorted(set(result.messages["source_kind"])) == ["accesslog", "eve", "zeek"]
    assert result.messages["message_id"].is_unique


def test_text_that_is_no_log_keeps_its_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(InputFormatError, match="not a pcap or pcapng capture"):
        analyzer.analyze([path])


def test_a_custom_format_is_recognised_only_when_given(tmp_path: Path) -> None:
    path = tmp_path / "tsv.log"
    path.write_text("1327046401.250\t10.0.0.1\tGET\t/\t447400123456\n")
    fmt = "nginx:$msec\t$remote_addr\t$request_method\t$request_uri\t$http_x_msisdn"
    with pytest.raises(InputFormatError):
        analyzer.analyze([path])
    result = analyze([path], fmt)
    assert findings(result) == [(1, "request", "header", "x-msisdn", "+447400123456")]
    assert result.messages.iloc[0]["ts"] == pd.Timestamp("2012-01-20 08:00:01.25", tz="UTC")
    assert len(result.messages) == 1  # no status, no response headers: no response


def test_fixtures_are_what_the_builder_makes() -> None:
    from fixtures.build_logs import build

    built = build()
    assert sorted(built) == sorted(p.name for p in LOGS.iterdir())
    for name, data in built.items():
        assert (LOGS / name).read_bytes() == data, f"{name}: run python fixtures/build_logs.py"


def test_cli_reads_a_custom_format_and_refuses_a_bad_one_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from analyzer.cli import main

    out = tmp_path / "headers.csv"
    log = str(LOGS / "nginx-custom-msisdn.log")
    done = CliRunner().invoke(main, ["headers", log, "--log-format", NGINX_FORMAT, "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "x-msisdn" in out.read_text()
    bad = CliRunner().invoke(main, ["headers", log, "--log-format", "nginx:no variables here"])
    assert bad.exit_code == 2
    assert bad.output.count("\n") == 1 and "log format" in bad.output and "Traceback" not in bad.output
