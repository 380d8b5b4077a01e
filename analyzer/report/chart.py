"""The report's timeline chart, drawn as plain SVG.

The notebook figures (`Analysis.plot_timeline`) are matplotlib's; the report does not use
them, because importing and laying out matplotlib costs more than reading a 200 MB
capture's worth of flows (about a second), for a bar chart of a few dozen rectangles.
Everything written into the SVG is a number or a date lineid formatted itself, and still
passes through `html.escape`: no wire data reaches the markup.
"""

from __future__ import annotations

import html
import math

import pandas as pd

WIDTH, HEIGHT = 1000, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 40
ALL_COLOUR, ID_COLOUR, WINDOW_COLOUR = "#b8c4d6", "#c0392b", "#f5b041"
# Most x labels before they overlap at WIDTH; beyond it, every n-th bin is labelled.
MAX_X_LABELS = 16
# Bin size by the span of the evidence: at most about 260 bars whatever the span (a month
# of gateway captures by day, years of archived logs by week or month).
BIN_BY_SPAN = (
    (pd.Timedelta(hours=6), "5min"),
    (pd.Timedelta(days=3), "h"),
    (pd.Timedelta(days=180), "D"),
    (pd.Timedelta(days=5 * 365), "W"),
)
LONG_SPAN_BIN = "MS"
UNIT_NAMES = {"5min": "5 minutes", "h": "hour", "D": "day", "W": "week", "MS": "month"}


def bin_for_span(first: pd.Timestamp, last: pd.Timestamp) -> str:
    """A pandas frequency that gives a readable number of bars for first … last."""
    span = last - first
    for limit, freq in BIN_BY_SPAN:
        if span <= limit:
            return freq
    return LONG_SPAN_BIN


def timeline_svg(per_bin: pd.DataFrame, windows: pd.DataFrame | None, *, with_all: bool, title: str) -> str:
    """Bars per bin of `per_bin` (a `daily()` frame: all requests behind those carrying
    identifiers), exposure `windows` (start, end) shaded, as an inline <svg> element."""
    index = pd.DatetimeIndex(per_bin.index)
    bins = len(index)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step_px = plot_w / max(bins, 1)
    step = index[1] - index[0] if bins > 1 else pd.Timedelta(days=1)
    identified = per_bin["requests_with_identifiers"].fillna(0).astype(int).tolist()
    requests = per_bin["requests"].fillna(0).astype(int).tolist() if with_all else identified
    top = _nice_ceiling(max([*requests, *identified, 1]))

    def x_of(when: pd.Timestamp) -> float:
        position = (when - index[0]) / step if bins else 0.0
        return LEFT + min(max(position, 0.0), float(bins)) * step_px

    def y_of(count: int) -> float:
        return TOP + plot_h * (1 - count / top)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' role='img' "
        f"aria-label='{_esc(title)}' font-family='system-ui,sans-serif' font-size='12'>",
        f"<text x='{LEFT}' y='16' font-size='14' font-weight='600'>{_esc(title)}</text>",
    ]
    for start, end in _window_spans(windows):
        x0, x1 = x_of(start), x_of(end)
        parts.append(
            f"<rect x='{x0:.1f}' y='{TOP}' width='{max(x1 - x0, 1.0):.1f}' height='{plot_h}' "
            f"fill='{WINDOW_COLOUR}' fill-opacity='0.25'><title>exposure window</title></rect>"
        )
    for fraction in (0.0, 0.5, 1.0):
        y = y_of(round(top * fraction))
        parts.append(
            f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
            f"<text x='{LEFT - 6}' y='{y + 4:.1f}' text-anchor='end'>{round(top * fraction)}</text>"
        )
    width = 0.8 * step_px
    label_every = max(1, math.ceil(bins / MAX_X_LABELS))
    day_format = (
        "%b %Y" if step >= pd.Timedelta(days=28) else "%d %b" if step >= pd.Timedelta(days=1) else "%d %b %H:%M"
    )
    for i, (when, total, carried) in enumerate(zip(index, requests, identified, strict=True)):
        x = LEFT + i * step_px + 0.1 * step_px
        tip = _esc(f"{when.strftime(day_format)}: {total} requests, {carried} carrying identifiers")
        if with_all:
            parts.append(_bar(x, y_of(total), width, TOP + plot_h, ALL_COLOUR, tip))
        parts.append(_bar(x, y_of(carried), width, TOP + plot_h, ID_COLOUR, tip))
        if i % label_every == 0:
            parts.append(
                f"<text x='{x + width / 2:.1f}' y='{HEIGHT - BOTTOM + 16}' text-anchor='middle'>"
                f"{_esc(when.strftime(day_format))}</text>"
            )
    legend = [(ID_COLOUR, "requests carrying identifiers")]
    if with_all:
        legend.insert(0, (ALL_COLOUR, "all HTTP requests"))
    if windows is not None and len(windows):
        legend.append((WINDOW_COLOUR, "exposure window"))
    x = LEFT
    for colour, label in legend:
        parts.append(
            f"<rect x='{x}' y='{HEIGHT - 14}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{x + 14}' y='{HEIGHT - 5}'>{_esc(label)}</text>"
        )
        x += 24 + 7 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def _bar(x: float, y: float, width: float, base: float, colour: str, tip: str) -> str:
    return (
        f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{base - y:.1f}' fill='{colour}'>"
        f"<title>{tip}</title></rect>"
    )


def _window_spans(windows: pd.DataFrame | None) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    if windows is None or not len(windows):
        return []
    return [(pd.Timestamp(s), pd.Timestamp(e)) for s, e in zip(windows["start"], windows["end"], strict=True)]


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above value: round axis labels."""
    magnitude = int("1" + "0" * (len(str(value)) - 1))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
