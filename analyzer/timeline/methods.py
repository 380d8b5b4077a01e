"""The timeline questions as plain functions of an `Analysis`, for its methods to call.

`Analysis` delegates to these (one line each), so the class stays a holder of frames and
the timeline code stays in this package. Each passes the analysis' findings (and, where a
denominator is needed, its messages) to the frame-level function of the same name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analyzer.timeline import summaries
from analyzer.timeline.hosts import TrustedSpec
from analyzer.timeline.onset import DEFAULT_FREQ, MIN_SHARE, REFINE_BINS, ExposureWindows
from analyzer.timeline.onset import onset as _onset

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from analyzer.analysis import Analysis


def exposures(analysis: Analysis) -> pd.DataFrame:
    """One row per identifier: first/last seen, messages, flows, hosts, fields, sources."""
    return summaries.exposures(analysis.findings)


def recipients(analysis: Analysis) -> pd.DataFrame:
    """One row per destination host and server IP: distinct identifiers received, when."""
    return summaries.recipients(analysis.findings)


def daily(analysis: Analysis, freq: str = "D") -> pd.DataFrame:
    """Per bin: requests, requests with identifiers, their share, identifiers, hosts."""
    return summaries.daily(analysis.findings, analysis.messages, freq=freq)


def onset(
    analysis: Analysis,
    trusted_hosts: TrustedSpec = None,
    *,
    freq: str = DEFAULT_FREQ,
    min_share: float = MIN_SHARE,
    penalty: float | None = None,
    refine_bins: int = REFINE_BINS,
) -> ExposureWindows:
    """When identifiers started and stopped reaching hosts outside `trusted_hosts`."""
    return _onset(
        analysis.findings,
        analysis.messages,
        trusted_hosts=trusted_hosts,
        freq=freq,
        min_share=min_share,
        penalty=penalty,
        refine_bins=refine_bins,
    )


def plot_timeline(
    analysis: Analysis,
    *,
    freq: str = "D",
    trusted_hosts: TrustedSpec = None,
    windows: pd.DataFrame | None = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """All requests and those carrying identifiers per bin, exposure windows shaded."""
    from analyzer.timeline.plots import plot_timeline as plot  # matplotlib only when asked for

    return plot(
        analysis.findings,
        analysis.messages,
        freq=freq,
        windows=windows,
        trusted_hosts=trusted_hosts,
        ax=ax,
        figsize=figsize,
    )


def plot_heatmap(
    analysis: Analysis,
    *,
    freq: str = "D",
    trusted_hosts: TrustedSpec = None,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Host × day counts of requests carrying identifiers."""
    from analyzer.timeline.plots import plot_heatmap as plot

    return plot(analysis.findings, freq=freq, trusted_hosts=trusted_hosts, ax=ax, figsize=figsize)
