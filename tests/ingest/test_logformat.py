"""Format strings → parsers (nginx, Apache, Squid), the escapes each server writes, log time
parsing, line reading, and the fast record constructor the log readers share."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import pytest

from analyzer.anomalies import Recorder
from analyzer.errors import UsageError
from analyzer.ingest import logformat as lf
from analyzer.ingest.logformat import compile_format, preset, unescape_clf, unescape_json, unescape_url
from analyzer.ingest.loglines import (
    clf_time_ns,
    epoch_ns,
    host_of_uri,
    iso_time_ns,
    iter_blocks,
)
from analyzer.ingest.logrecord import MESSAGE, new_message
from analyzer.model import Endpoints, HttpMessage
from analyzer.sources import open_evidence

T0 = 1327046401  # 2012-01-20 08:00:01 UTC
NS = 1_000_000_000


def roles(spec: str) -> list[tuple[str, str | None]]:
    return [(f.role, f.name) for f in compile_format(spec).fields]


# ----------------------------------------------------------------------------- compiling
def test_nginx_variables_become_roles_and_header_names() -> None:
    assert roles('$remote_addr [$time_local] "$request" $status "$http_x_msisdn" $cookie_sid $sent_http_location') == [
        (lf.CLIENT_IP, None),
        (lf.TIME_CLF, None),
        (lf.REQUEST_LINE, None),
        (lf.STATUS, None),
        (lf.REQUEST_HEADER, "x-msisdn"),  # nginx keeps no spelling: lower case, '_' → '-'
        (lf.COOKIE, "sid"),
        (lf.RESPONSE_HEADER, "location"),
    ]


def test_apache_directives_with_arguments_and_modifiers() -> None:
    assert roles('%a %{remote}p %t "%r" %>s %B "%{X-MSISDN}i" %400,501{User-agent}i %{sid}C %{msec}t %D') == [
        (lf.CLIENT_IP, None),
        (lf.CLIENT_PORT, None),
        (lf.TIME_CLF, None),
        (lf.REQUEST_LINE, None),
        (lf.STATUS, None),
        (lf.BODY_BYTES, None),
        (lf.REQUEST_HEADER, "X-MSISDN"),
        (lf.REQUEST_HEADER, "User-agent"),
        (lf.COOKIE, "sid"),
        (lf.TIME_EPOCH_MS, None),
        (lf.IGNORED, None),
    ]


def test_squid_codes_longest_first_with_encodings() -> None:
    fmt = compile_format('squid:%ts.%03tu %>a %Ss/%03>Hs "%"{User-Agent}>h" %{X-MSISDN}>ha %#{Referer}>h %<h')
    assert [(f.role, f.name, f.escape) for f in fmt.fields] == [
        (lf.TIME_EPOCH, None, lf.RAW),
        (lf.TIME_SUBSEC_MS, None, lf.RAW),
        (lf.CLIENT_IP, None, lf.RAW),
        (lf.IGNORED, None, lf.RAW),
        (lf.STATUS, None, lf.RAW),
        (lf.REQUEST_HEADER, "User-Agent", lf.CLF),
        (lf.REQUEST_HEADER, "X-MSISDN", lf.RAW),  # the adapted request: what the origin received
        (lf.REQUEST_HEADER, "Referer", lf.URL),
        (lf.ALL_RESPONSE_HEADERS, None, lf.URL),
    ]


@pytest.mark.parametrize(
    ("spec", "flavour"),
    [
        ("log_format main escape=json '$remote_addr' ' \"$http_x_msisdn\"';", "nginx"),
        ('LogFormat "%h \\"%{X-MSISDN}i\\"" msisdn', "apache"),
        ('CustomLog logs/access_log "%h \\"%{X-MSISDN}i\\""', "apache"),
        ('logformat msisdn %>a "%{X-MSISDN}>h"', "squid"),
        ('$remote_addr "$http_x_msisdn"', "nginx"),
        ('%h "%{X-MSISDN}i"', "apache"),
        ('%>a "%{X-MSISDN}>h"', "squid"),
        ('apache:%h "%{X-MSISDN}i"', "apache"),
    ],
)
def test_config_directives_and_bare_strings_are_told_apart(spec: str, flavour: str) -> None:
    fmt = compile_format(spec)
    assert fmt.flavour == flavour
    assert [f.role for f in fmt.fields] == [lf.CLIENT_IP, lf.REQUEST_HEADER]
    assert fmt.regex.match('10.0.0.1 "447700900123"') is not None


def test_nginx_directive_escape_json_and_concatenated_strings() -> None:
    fmt = compile_format('log_format j escape=json \'{"ip":"$remote_addr",\' \'"m":"$http_x_msisdn"}\';')
    assert fmt.text == '{"ip":"$remote_addr","m":"$http_x_msisdn"}'
    assert {f.escape for f in fmt.fields} == {lf.JSON}
    m = fmt.regex.match('{"ip":"10.0.0.1","m":"44\\u0037700900123"}')
    assert m is not None and unescape_json(m.group(2)) == "447700900123"


def test_a_format_without_fields_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        compile_format("just text")
    with pytest.raises(UsageError):
        compile_format("log_format x escape=html '$remote_addr';")


@pytest.mark.parametrize("name", sorted(lf.PRESET_TEXTS))
def test_every_preset_compiles(name: str) -> None:
    assert preset(name).fields


def test_combined_reads_nginx_and_apache_escapes_alike() -> None:
    fmt = preset("combined")
    nginx = '1.2.3.4 - - [20/Jan/2012:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "A \\x22q\\x22 \\x5C"'
    apache = '1.2.3.4 - - [20/Jan/2012:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "A \\"q\\" \\\\"'
    values = []
    for line in (nginx, apache):
        m = fmt.regex.match(line)
        assert m is not None and m.groups()[-1] is None
        values.append(unescape_clf(m.group(9)))
    assert values == ['A "q" \\', 'A "q" \\']


def test_fast_regex_agrees_with_the_strict_one_on_lines_without_escaped_quotes() -> None:
    fmt = compile_format('nginx:$remote_addr "$request" "$http_user_agent" "$http_x_msisdn"')
    line = '10.0.0.1 "GET /?a=\\x22 HTTP/1.1" "UA (x; y)" "447700900123"'
    fast, strict = fmt.fast.match(line), fmt.regex.match(line)
    assert fast is not None and strict is not None and fast.groups() == strict.groups()


def test_loose_regex_splits_raw_quotes_that_the_strict_one_refuses() -> None:
    fmt = preset("combined")
    line = '1.2.3.4 - - [20/Jan/2012:08:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "Agent "raw" quotes"'
    assert fmt.regex.match(line) is None
    assert fmt.loose is not None
    m = fmt.loose.match(line)
    assert m is not None and m.group(9) == 'Agent "raw" quotes'


# ----------------------------------------------------------------------------- escapes
@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("plain", "plain"),
        ("\\x22quoted\\x22", '"quoted"'),  # nginx
        ('\\"quoted\\"', '"quoted"'),  # Apache, Squid %"
        ("a\\\\b", "a\\b"),
        ("tab\\there\\n", "tab\there\n"),
        ("\\xD0\\x9F", "П"),  # UTF-8 escaped byte by byte (nginx escapes every byte > 0x7e)
        ("\\xFF", "\\xff"),  # not UTF-8: the text \xNN, as decode_wire_text writes it
    ],
)
def test_unescape_clf(written: str, value: str) -> None:
    assert unescape_clf(written) == value


def test_unescape_url_is_exact_for_squid_bracket_encoding() -> None:
    assert unescape_url("X-MSISDN:%20447700900123%0D%0A%25") == "X-MSISDN: 447700900123\r\n%"


# ----------------------------------------------------------------------------- time
def test_log_times_to_ns_utc() -> None:
    assert clf_time_ns("20/Jan/2012:08:00:01 +0000") == T0 * NS
    assert clf_time_ns("20/Jan/2012:09:00:01 +0100") == T0 * NS
    assert clf_time_ns("20/Jan/2012:03:00:01 -0500") == T0 * NS
    assert iso_time_ns("2012-01-20T08:00:01.250000+0000") == T0 * NS + 250_000_000
    assert iso_time_ns("2012-01-20T09:00:01.123456789+01:00") == T0 * NS + 123_456_789
    assert iso_time_ns("2012-01-20T08:00:01Z") == T0 * NS
    assert epoch_ns("1327046401.25") == T0 * NS + 250_000_000
    assert epoch_ns("1327046401250", 1_000_000) == T0 * NS + 250_000_000
    for bad in ("XXXXXXXXXX.XXXXXX", "-", ""):
        with pytest.raises(ValueError):
            epoch_ns(bad)
    with pytest.raises(ValueError):
        iso_time_ns("2012-01-20T08:00:01")  # no zone: not guessed
    with pytest.raises((ValueError, KeyError)):
        clf_time_ns("20/Foo/2012:08:00:01 +0000")


def test_host_of_an_absolute_or_authority_target() -> None:
    assert host_of_uri("http://user@m.example.com:8080/a?b") == "m.example.com:8080"
    assert host_of_uri("api.example.com:443") == "api.example.com:443"
    assert host_of_uri("/a?b=http://x") is None


# ----------------------------------------------------------------------------- lines
def test_iter_blocks_numbers_lines_across_blocks_crlf_and_a_last_line_without_newline(tmp_path: Path) -> None:
    text = "".join(f"line {i}\r\n" for i in range(1, 300_001)) + "last"
    path = tmp_path / "x.log.gz"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    recorder = Recorder(str(path))
    with open_evidence(path, recorder) as evidence:
        pairs = [
            (n, line)
            for numbers, lines in iter_blocks(evidence, recorder)
            for n, line in zip(numbers, lines, strict=True)
        ]
    assert len(pairs) == 300_001
    assert pairs[0] == (1, "line 1") and pairs[149_999] == (150_000, "line 150000") and pairs[-1] == (300_001, "last")


def test_iter_blocks_shards_split_lines_by_number(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("".join(f"{i}\n" for i in range(1, 101)))
    seen = []
    for k in range(3):
        recorder = Recorder(str(path))
        with open_evidence(path, recorder) as evidence:
            for numbers, lines in iter_blocks(evidence, recorder, (k, 3)):
                assert all(n % 3 == k and line == str(n) for n, line in zip(numbers, lines, strict=True))
                seen += list(numbers)
    assert sorted(seen) == list(range(1, 101))


def test_a_line_past_the_limit_is_skipped_with_an_anomaly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.ingest import loglines

    monkeypatch.setattr(loglines, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(loglines, "READ_BLOCK_BYTES", 256)
    path = tmp_path / "x.log"
    path.write_text("a\n" + "x" * 5000 + "\nb\n")
    recorder = Recorder(str(path))
    with open_evidence(path, recorder) as evidence:
        pairs = [
            (n, line)
            for numbers, lines in iter_blocks(evidence, recorder)
            for n, line in zip(numbers, lines, strict=True)
        ]
    assert pairs == [(1, "a"), (3, "b")]
    assert [(a.code, a.line) for a in recorder.items] == [("LOG_LINE_TOO_LONG", 2)]


# ----------------------------------------------------------------------------- records
def test_fast_constructor_builds_the_same_frozen_record() -> None:
    endpoints = Endpoints(client_ip="192.0.2.1")
    headers = (("X-MSISDN", "447700900123"),)
    fast = new_message(
        7, "src", "accesslog", 5, "request", endpoints, 3, None, "GET", "/", None, "HTTP/1.1", None, None, headers
    )
    slow = HttpMessage(
        7,
        "src",
        "accesslog",
        5,
        "request",
        endpoints,
        line=3,
        method="GET",
        uri="/",
        version="HTTP/1.1",
        headers=headers,
    )
    assert type(fast) is HttpMessage and fast == slow and hash(fast) == hash(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.uri = "/x"  # type: ignore[misc]
    values = [getattr(slow, f.name) for f in dataclasses.fields(HttpMessage)]
    assert MESSAGE(*values) == slow
