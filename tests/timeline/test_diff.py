"""diff: the phone's HAR against the gateway's capture of the same browsing.

The expected rows are spelled out here, from what fixtures/captures_lib/incident_pair.py
says the gateway did (and checked against the truth file it writes): two additions on
every matched request, the User-Agent rewritten on one, Proxy-Connection dropped on one;
nothing for the request whose names the gateway lower-cased, and one added Via (not an
alteration) where the phone already sent one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import analyzer
from analyzer.analysis import Analysis
from analyzer.timeline import HeaderDiff, diff
from analyzer.timeline.diff import CHANGES, PAIRS, UNMATCHED, compare_headers

from .helpers import GATEWAY_PCAP, INCIDENT, PHONE_HAR

VIA = "1.1 wap-gw.o2.example (Nokia-WAP-GW/4.1)"
MSISDN = "447700900142"
PHONE_UA = "Mozilla/5.0 (Linux; U; Android 2.3.6; en-gb; GT-S5830) AppleWebKit/533.1 Version/4.0 Mobile Safari/533.1"
REWRITTEN_UA = "Mozilla/5.0 (compatible; O2-Transcoder/2.0; +http://wap-gw.o2.example/)"
# (HAR entry, gateway frame, method, host, uri): the nine requests both views hold.
MATCHED = [
    (0, 4, "GET", "news.example.com", "/"),
    (1, 12, "GET", "news.example.com", "/style.css"),
    (2, 20, "GET", "news.example.com", "/img/lead.jpg"),
    (3, 28, "GET", "m.shop.example.org", "/"),
    (4, 36, "POST", "forum.example.net", "/thread/88/reply"),
    (5, 44, "GET", "api.example.net", "/v1/scores?league=1"),
    (6, 52, "GET", "weather.example.net", "/today"),
    (7, 60, "GET", "recipes.example.org", "/soup"),
    (8, 68, "GET", "news.example.com", "/"),
]


def _expected() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for entry, frame, method, host, uri in MATCHED:
        if host == "m.shop.example.org":
            rows.append(
                (entry, frame, method, host, uri, "user-agent", "User-Agent", PHONE_UA, REWRITTEN_UA, "altered")
            )
        if host == "api.example.net":
            rows.append(
                (entry, frame, method, host, uri, "proxy-connection", "Proxy-Connection", "Keep-Alive", None, "removed")
            )
        rows.append((entry, frame, method, host, uri, "via", "Via", None, VIA, "added"))
        rows.append(
            (entry, frame, method, host, uri, "x-up-calling-line-id", "x-up-calling-line-id", None, MSISDN, "added")
        )
    return rows


COLUMNS = [
    "client_har_entry",
    "network_frame",
    "method",
    "host",
    "uri",
    "name",
    "raw_name",
    "client_value",
    "network_value",
    "change",
]


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    out = frame[COLUMNS].astype(object).where(frame[COLUMNS].notna(), None)
    return [tuple(r) for r in out.itertuples(index=False)]


@pytest.fixture(scope="module")
def views() -> tuple[Analysis, Analysis]:
    return analyzer.analyze(PHONE_HAR), analyzer.analyze(GATEWAY_PCAP)


@pytest.fixture(scope="module")
def result(views: tuple[Analysis, Analysis]) -> HeaderDiff:
    return diff(*views)


def test_every_injected_header_and_nothing_else(result: HeaderDiff) -> None:
    assert isinstance(result, HeaderDiff)
    assert _rows(result) == _expected()
    assert list(result.columns) == list(CHANGES)
    for name, dtype in CHANGES.items():
        assert str(result[name].dtype) == str(pd.api.types.pandas_dtype(dtype)), name


def test_rows_agree_with_the_generators_truth(result: HeaderDiff) -> None:
    truth = json.loads((INCIDENT / "pair-2012-01-12.truth.json").read_text(encoding="ascii"))
    got = [
        {"method": r[2], "host": r[3], "uri": r[4], "name": r[5], "client": r[7], "network": r[8], "change": r[9]}
        for r in _rows(result)
    ]
    assert got == truth["changes"]


def test_provenance_of_both_views(result: HeaderDiff, views: tuple[Analysis, Analysis]) -> None:
    client, network = views
    assert set(result["client_source"]) == {str(PHONE_HAR)}
    assert set(result["network_source"]) == {str(GATEWAY_PCAP)}
    assert result["client_frame"].isna().all() and result["network_har_entry"].isna().all()
    assert set(result["client_message_id"]) <= set(client.messages["message_id"])
    assert set(result["network_message_id"]) <= set(network.messages["message_id"])


def test_clock_skew_is_estimated_and_unmatched_requests_listed(result: HeaderDiff) -> None:
    # The gateway's clock is 3.2 s ahead; the radio adds 40-90 ms.
    assert pd.Timedelta("3.2s") < result.clock_skew < pd.Timedelta("3.3s")
    assert list(result.pairs.columns) == list(PAIRS) and len(result.pairs) == len(MATCHED)
    assert result.pairs["changes"].tolist() == [2, 2, 2, 3, 2, 3, 2, 2, 2]
    u = result.unmatched
    assert list(u.columns) == list(UNMATCHED)
    assert [
        (s, m, h, p) for s, m, h, p in u[["side", "method", "host", "uri"]].astype(str).itertuples(index=False)
    ] == [
        ("client", "GET", "cinema.example.com", "/listings"),  # served by the gateway's cache
        ("network", "GET", "updates.example.net", "/check?v=3"),  # a background app, not in the HAR
    ]


def test_paths_work_as_views(result: HeaderDiff) -> None:
    again = diff(PHONE_HAR, [GATEWAY_PCAP])
    assert _rows(again) == _rows(result)


def test_without_the_skew_nothing_matches(views: tuple[Analysis, Analysis]) -> None:
    # A search window below the real skew finds no candidate pair: every request is unmatched.
    blind = diff(*views, window="1s", tolerance="500ms")
    assert len(blind) == 0 and len(blind.pairs) == 0 and len(blind.unmatched) == 20
    told = diff(*views, skew="3.25s", tolerance="500ms")
    assert len(told) == len(_expected())


def test_http2_pseudo_headers_are_not_compared(tmp_path: Path, result: HeaderDiff) -> None:
    # The same HAR as an HTTP/2 client would list it: pseudo-headers first.
    har = json.loads(PHONE_HAR.read_text(encoding="ascii"))
    for entry in har["log"]["entries"]:
        request = entry["request"]
        pseudo = [(":method", request["method"]), (":authority", "x"), (":scheme", "http"), (":path", "/")]
        request["headers"] = [{"name": n, "value": v} for n, v in pseudo] + request["headers"]
    h2 = tmp_path / "phone-h2.har"
    h2.write_text(json.dumps(har), encoding="ascii")
    assert _rows(diff(h2, GATEWAY_PCAP)) == _rows(result)


def test_ignored_names_are_not_compared(views: tuple[Analysis, Analysis]) -> None:
    assert set(diff(*views, ignore=["Via"])["name"]) == {"x-up-calling-line-id", "user-agent", "proxy-connection"}


def test_compare_is_case_insensitive_and_multiset_aware() -> None:
    client = [
        ("accept", "Accept", "*/*"),
        ("via", "Via", "1.1 a"),
        ("cookie", "Cookie", "a=1"),
        ("cookie", "Cookie", "a=1"),
    ]
    network = [
        ("accept", "ACCEPT", "*/*"),
        ("via", "Via", "1.1 a"),
        ("via", "Via", "1.1 gw"),
        ("cookie", "cookie", "a=1"),
    ]
    assert compare_headers(client, network) == [
        ("via", "Via", None, "1.1 gw", "added"),
        ("cookie", "Cookie", "a=1", None, "removed"),  # one of the two duplicates was dropped
    ]
    assert compare_headers([("x", "X", "1"), ("x", "X", "2")], [("x", "X", "3"), ("x", "X", "2")]) == [
        ("x", "X", "1", "3", "altered")
    ]
