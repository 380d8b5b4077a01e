"""onset: the exposure windows, on the committed month and on generated variants.

The truth of a generated month says when the gateway leaked (the window) and which were
the first and last requests to untrusted hosts that carried the number: a perfect reading
of the capture. `onset` must return exactly those, and so fall within the hour of the
window's true edges (the traffic is dense enough in the hours chosen).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyzer.analysis import Analysis
from analyzer.errors import UsageError
from analyzer.timeline import ExposureWindows, onset
from analyzer.timeline.onset import WINDOWS, binomial_cost, pelt

from .helpers import TRUSTED

HOUR = pd.Timedelta(hours=1)
Generated = tuple[Analysis, dict[str, Any]]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _check(windows: ExposureWindows, truth: dict[str, Any]) -> None:
    """Every true window found, to the leaked request, and nothing else."""
    assert len(windows) == len(truth["exposures"]), windows
    for row, exp in zip(windows.itertuples(index=False), truth["exposures"], strict=True):
        true_start, true_end = (pd.Timestamp(t) for t in exp["window"])
        assert row.start == pd.Timestamp(exp["first"])
        assert row.end == pd.Timestamp(exp["last"])
        assert abs(row.start - true_start) <= HOUR
        assert abs(row.end - true_end) <= HOUR
        assert row.identified == exp["requests"] and row.requests == exp["requests"]  # nothing clean inside
        assert row.identifiers == exp["identifiers"] and row.hosts == exp["hosts"]
        assert row.start_after < row.start and row.end < row.end_before
        assert row.confidence == "high"


def test_the_committed_month(incident: Analysis, incident_truth: dict[str, Any]) -> None:
    w = onset(incident.findings, incident.messages, trusted_hosts=TRUSTED)
    assert isinstance(w, ExposureWindows)
    assert list(w.columns) == list(WINDOWS)
    _check(w, incident_truth)
    assert str(w) == "10 Jan 2012 07:00 UTC to 25 Jan 2012 13:15 UTC"
    assert w.reading() == str(w)
    assert not w["open_start"].any() and not w["open_end"].any()


@pytest.mark.parametrize("freq", ["30min", "h", "3h", "D"])
def test_the_answer_does_not_depend_on_the_bin_width(
    incident: Analysis, incident_truth: dict[str, Any], freq: str
) -> None:
    _check(onset(incident.findings, incident.messages, trusted_hosts=TRUSTED, freq=freq), incident_truth)


def test_bins_say_what_was_segmented(incident: Analysis) -> None:
    w = onset(incident.findings, incident.messages, trusted_hosts=TRUSTED)
    bins = w.bins
    assert bins["exposed"].any() and isinstance(bins.index, pd.DatetimeIndex)
    # Trusted partners are no trials: outside the window not one untrusted request carried a number.
    assert bins.loc[~bins["exposed"], "identified"].sum() == 0
    assert bins["requests"].sum() + incident.messages.query("direction == 'request'")["host"].isin(
        ["pay.partner.example", "content.partner.example", "mms.operator.example"]
    ).sum() == int((incident.messages["direction"] == "request").sum())


VARIANTS: dict[str, dict[str, Any]] = {
    "another window": {"windows": ((_utc(2012, 1, 5, 10), _utc(2012, 1, 12, 16, 30)),)},
    "two windows": {
        "windows": ((_utc(2012, 1, 3, 9), _utc(2012, 1, 6, 18)), (_utc(2012, 1, 11, 11), _utc(2012, 1, 13, 20)))
    },
    "heavy partner trickle": {
        # Partners get more requests than all the sites put together, night and day.
        "windows": ((_utc(2012, 1, 6, 8), _utc(2012, 1, 12, 14)),),
        "trickle_per_hour": 8.0,
    },
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_generated_variants(generate: Callable[..., Generated], name: str) -> None:
    analysis, truth = generate(days=14, seed=7, **VARIANTS[name])
    _check(onset(analysis.findings, analysis.messages, trusted_hosts=TRUSTED), truth)


def test_no_window_gives_an_empty_result(generate: Callable[..., Generated]) -> None:
    analysis, truth = generate(days=10, seed=7, windows=(), trickle_per_hour=4.0)
    assert truth["requests_with_header"] == truth["partner_requests"] > 0
    w = onset(analysis.findings, analysis.messages, trusted_hosts=TRUSTED)
    assert isinstance(w, ExposureWindows) and len(w) == 0
    assert list(w.columns) == list(WINDOWS)
    assert str(w) == "no exposure window: no identifier reached an untrusted host"


def test_a_window_open_at_the_start_of_the_data(generate: Callable[..., Generated]) -> None:
    analysis, truth = generate(days=8, seed=3, windows=((_utc(2011, 12, 25), _utc(2012, 1, 4, 12)),))
    w = onset(analysis.findings, analysis.messages, trusted_hosts=TRUSTED)
    assert len(w) == 1 and bool(w["open_start"].iat[0]) and not bool(w["open_end"].iat[0])
    assert w["start"].iat[0] == pd.Timestamp(truth["exposures"][0]["first"])
    assert w["end"].iat[0] == pd.Timestamp(truth["exposures"][0]["last"])
    assert str(w).startswith("before 1 Jan 2012 ")
    assert pd.isna(w["start_after"].iat[0])


def test_without_the_partner_list_the_trickle_is_not_mistaken_for_quiet(incident: Analysis) -> None:
    # Trusting nobody, the partners' numbers count as leaks: the real window is still the
    # one big, high-confidence window (a reader is warned by the many small ones).
    w = onset(incident.findings, incident.messages)
    big = w[w["identified"] == w["identified"].max()].iloc[0]
    assert big["confidence"] == "high"
    assert big["start"] <= pd.Timestamp("2012-01-10 07:00", tz="UTC") <= big["start"] + pd.Timedelta(hours=8)
    assert abs(big["end"] - pd.Timestamp("2012-01-25 14:00", tz="UTC")) <= HOUR


def test_onset_needs_the_messages(incident: Analysis) -> None:
    with pytest.raises(UsageError, match="messages"):
        onset(incident.findings, None, trusted_hosts=TRUSTED)
    with pytest.raises(UsageError, match="fixed width"):
        onset(incident.findings, incident.messages, freq="MS")


# ------------------------------------------------------------------ the segmentation itself


def _brute_force(n: np.ndarray, k: np.ndarray, penalty: float) -> float:
    """Optimal partitioning without pruning: the least penalised cost, O(T²)."""
    best = [-penalty] + [np.inf] * len(n)
    for t in range(1, len(n) + 1):
        for s in range(t):
            cost = float(binomial_cost(np.array([n[s:t].sum()]), np.array([k[s:t].sum()]))[0])
            best[t] = min(best[t], best[s] + cost + penalty)
    return best[-1]


def _cost_of(cuts: list[int], n: np.ndarray, k: np.ndarray, penalty: float) -> float:
    segs = list(itertools.pairwise(cuts))
    total = sum(float(binomial_cost(np.array([n[a:b].sum()]), np.array([k[a:b].sum()]))[0]) for a, b in segs)
    return total + penalty * (len(segs) - 1)


@pytest.mark.parametrize("seed", range(6))
def test_pelt_finds_the_optimal_segmentation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 30, size=40).astype(float)
    share = np.where((np.arange(40) >= 12) & (np.arange(40) < 27), 0.8, 0.05)
    k = rng.binomial(n.astype(int), share).astype(float)
    penalty = 2 * np.log(n.sum())
    cuts = pelt(n, k, penalty)
    assert cuts[0] == 0 and cuts[-1] == 40
    assert _cost_of(cuts, n, k, penalty) == pytest.approx(_brute_force(n, k, penalty))


def test_pelt_on_clean_steps() -> None:
    n = np.full(30, 10.0)
    k = np.where((np.arange(30) >= 10) & (np.arange(30) < 20), 10.0, 0.0)
    assert pelt(n, k, 10.0) == [0, 10, 20, 30]
    assert pelt(n, np.zeros(30), 10.0) == [0, 30]
