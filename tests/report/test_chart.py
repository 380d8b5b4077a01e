from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from analyzer.report.chart import ALL_COLOUR, ID_COLOUR, WINDOW_COLOUR, bin_for_span, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"


def per_bin(days: int) -> pd.DataFrame:
    index = pd.date_range("2012-01-01", periods=days, freq="D", tz="UTC", name="start")
    return pd.DataFrame(
        {"requests": [100 + i for i in range(days)], "requests_with_identifiers": [i % 3 * 10 for i in range(days)]},
        index=index,
    )


def rects(svg: str, colour: str) -> list[ET.Element]:
    return [
        r
        for r in ET.fromstring(svg).iter(f"{SVG}rect")
        if r.get("fill") == colour and r.find(f"{SVG}title") is not None
    ]


def test_one_bar_of_each_kind_per_bin_and_the_window_shaded() -> None:
    windows = pd.DataFrame(
        {"start": [pd.Timestamp("2012-01-10", tz="UTC")], "end": [pd.Timestamp("2012-01-25 14:00", tz="UTC")]}
    )
    svg = timeline_svg(per_bin(31), windows, with_all=True, title="Exposure")
    assert len(rects(svg, ALL_COLOUR)) == 31 and len(rects(svg, ID_COLOUR)) == 31
    (window,) = rects(svg, WINDOW_COLOUR)
    width = float(window.get("width", 0))
    # 15 days and 14 hours of a 31-day axis
    assert width == pytest.approx((1000 - 56 - 16) * (15 + 14 / 24) / 31, rel=0.01)
    tallest = max(float(r.get("height", 0)) for r in rects(svg, ALL_COLOUR))
    assert tallest <= 300 - 34 - 40


def test_text_is_escaped_and_labels_do_not_crowd() -> None:
    svg = timeline_svg(per_bin(200), None, with_all=False, title="<script>x</script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    labels = [t for t in ET.fromstring(svg).iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert 8 <= len(labels) <= 16
    assert not rects(svg, ALL_COLOUR)  # no messages frame: identified bars only


@pytest.mark.parametrize(
    ("span", "freq"),
    [
        (pd.Timedelta(hours=1), "5min"),
        (pd.Timedelta(days=2), "h"),
        (pd.Timedelta(days=31), "D"),
        (pd.Timedelta(days=900), "W"),
        (pd.Timedelta(days=12 * 365), "MS"),
    ],
)
def test_bin_follows_the_span(span: pd.Timedelta, freq: str) -> None:
    first = pd.Timestamp("2012-01-01", tz="UTC")
    assert bin_for_span(first, first + span) == freq
