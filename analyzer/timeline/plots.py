"""Figures for a report or a notebook: the timeline and the host × day heatmap.

Figures are built with matplotlib's object API (`Figure`), never pyplot: no global figure
list to leak, no GUI backend needed (rendering is Agg's), safe in a worker process. Each
function draws into the `ax` given, or a new figure of `figsize`, and returns the Figure.
Returned figures render themselves as PNG in Jupyter (`_repr_png_`) without
`%matplotlib inline`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analyzer.timeline.frames import FINDINGS_NEEDS, request_findings, require
from analyzer.timeline.hosts import TrustedHosts, TrustedSpec
from analyzer.timeline.onset import ExposureWindows, onset
from analyzer.timeline.summaries import daily

TIMELINE_SIZE = (11.0, 4.0)
# Rows beyond this make host labels unreadable at notebook width; the rest are summed
# into one "other hosts" row so totals stay true.
HEATMAP_TOP = 25
ALL_COLOUR, ID_COLOUR, WINDOW_COLOUR = "#b8c4d6", "#c0392b", "#f5b041"


class LineidFigure(Figure):
    """A Figure that Jupyter shows as a PNG by itself."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _axes(ax: Axes | None, figsize: tuple[float, float] | None, default: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        figure = ax.get_figure()
        if not isinstance(figure, Figure):
            raise TypeError("ax must belong to a Figure")
        return figure, ax
    figure = LineidFigure(figsize=figsize or default, layout="constrained")
    return figure, figure.add_subplot()


def _naive(index: pd.DatetimeIndex) -> np.ndarray:
    """UTC wall times matplotlib's date axis reads (it does not take tz-aware numpy values)."""
    return index.tz_convert("UTC").tz_localize(None).to_numpy()


def _bar_width(index: pd.DatetimeIndex) -> float:
    """80 % of the bin width, in days (matplotlib's date unit)."""
    if len(index) < 2:
        return 0.8
    step = pd.Series(index).diff().median()
    return 0.8 * step / pd.Timedelta(days=1)


def plot_timeline(
    findings: pd.DataFrame,
    messages: pd.DataFrame | None = None,
    *,
    freq: str = "D",
    windows: pd.DataFrame | None = None,
    trusted_hosts: TrustedSpec = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Requests per bin: all of them (with `messages`) behind those carrying identifiers,
    the exposure windows shaded: `windows` as given (any frame with start and end), or
    found by `onset` when `trusted_hosts` is given."""
    require(findings, FINDINGS_NEEDS, "plot_timeline")
    figure, ax = _axes(ax, figsize, TIMELINE_SIZE)
    per_bin = daily(findings, messages, freq=freq)
    x = _naive(pd.DatetimeIndex(per_bin.index))
    width = _bar_width(pd.DatetimeIndex(per_bin.index))
    if messages is not None:
        ax.bar(
            x,
            per_bin["requests"].fillna(0).to_numpy(dtype=float),
            width,
            align="edge",
            color=ALL_COLOUR,
            label="all HTTP requests",
        )
    ax.bar(
        x,
        per_bin["requests_with_identifiers"].to_numpy(dtype=float),
        width,
        align="edge",
        color=ID_COLOUR,
        label="requests carrying identifiers",
    )
    if windows is None and trusted_hosts is not None and messages is not None:
        windows = onset(findings, messages, trusted_hosts=trusted_hosts)
    if windows is not None:
        for i, row in enumerate(windows.itertuples(index=False)):
            start, end = _naive(pd.DatetimeIndex([row.start, row.end]))
            ax.axvspan(
                start, end, color=WINDOW_COLOUR, alpha=0.25, zorder=0, label="exposure window" if i == 0 else None
            )
    ax.set_ylabel(f"requests per {_unit(freq)}")
    # matplotlib.dates has no type annotations; DateFormatter takes a strftime format.
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))  # type: ignore[no-untyped-call]
    ax.legend(loc="upper left", frameon=False)
    reading = str(windows) if isinstance(windows, ExposureWindows) else None
    ax.set_title(title or ("Exposure: " + reading if reading else "Requests carrying subscriber identifiers"))
    return figure


def _unit(freq: str) -> str:
    return {"D": "day", "h": "hour", "W": "week", "MS": "month"}.get(freq, freq)


def plot_heatmap(
    findings: pd.DataFrame,
    *,
    freq: str = "D",
    top: int = HEATMAP_TOP,
    trusted_hosts: TrustedSpec = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Hosts × time bins: how many requests to each host carried identifiers. Hosts are in
    order of first sighting; trusted ones are labelled so."""
    f = request_findings(require(findings, FINDINGS_NEEDS, "plot_heatmap"))
    f = f[f["ts"].notna().to_numpy(dtype=bool)]
    counts = (
        f.assign(host=f["host"].astype("string").fillna("(no Host)"))
        .groupby(["host", pd.Grouper(key="ts", freq=freq, label="left", closed="left")])["message_id"]
        .nunique()
        .unstack(fill_value=0)
    )
    rows = max(3, min(top + 1, len(counts)))
    figure, ax = _axes(ax, figsize, (11.0, 1.2 + 0.28 * rows))
    if not len(counts):
        ax.text(0.5, 0.5, "no identifiers in requests", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return figure
    counts = counts.reindex(columns=pd.date_range(counts.columns.min(), counts.columns.max(), freq=freq), fill_value=0)
    totals = counts.sum(axis=1)
    keep = totals.sort_values(ascending=False, kind="stable").index[:top]
    first = (counts.loc[keep] > 0).to_numpy().argmax(axis=1)
    order = [h for _, h in sorted(zip(first, keep, strict=True))]
    matrix = counts.loc[order]
    if len(counts) > top:
        matrix.loc[f"{len(counts) - top} other hosts"] = counts.drop(index=keep).sum(axis=0)
    trusted = TrustedHosts.coerce(trusted_hosts)
    labels = [f"{h} (trusted)" if len(trusted) and trusted.matches_host(h) else h for h in matrix.index]
    # Zero cells are left white, so "nothing" never reads as "a little".
    cells = np.ma.masked_equal(matrix.to_numpy(dtype=float), 0.0)
    cmap = matplotlib.colormaps["Reds"].with_extremes(bad="white")
    image = ax.imshow(cells, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    _date_ticks(ax, pd.DatetimeIndex(matrix.columns))
    figure.colorbar(image, ax=ax, label="requests with identifiers", shrink=0.8)
    ax.set_title(title or f"Hosts receiving identifiers, per {_unit(freq)}")
    return figure


def _date_ticks(ax: Axes, columns: pd.DatetimeIndex, most: int = 16) -> None:
    step = max(1, int(np.ceil(len(columns) / most)))
    positions: Sequence[int] = range(0, len(columns), step)
    ax.set_xticks(list(positions), [f"{columns[i]:%d %b}" for i in positions], rotation=90, fontsize=8)
