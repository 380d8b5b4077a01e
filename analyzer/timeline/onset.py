"""When identifiers started and stopped flowing to hosts outside the analyst's list: `onset`.

Strategy. The question "from when to when did the gateway leak?" is a change in a share,
not in a count: traffic rises every morning and falls every night, and the partners that
legitimately receive the number do so all month. So:

1. Each request to an untrusted host is a Bernoulli trial, a success when it carried an
   identifier. Requests to trusted hosts are left out, however many identifiers they
   receive: the steady trickle to partners cannot look like a leak. The denominator is
   all requests, so `onset` needs the messages frame, not only the findings: a count of
   identifier-bearing requests alone rises and falls with traffic (and a share among
   them swings with the hour, as the partners' trickle is steady and browsing is not).
2. Trials are counted per time bin (hourly by default): n trials, k successes. Empty bins
   are dropped; they carry no information (a silent night), and step 5 places the edge.
3. PELT (Killick, Fearnhead & Eckley 2012, JASA 107:1590) finds the segmentation that
   minimises the binomial cost -2 log L(k | n, k/n) summed over segments plus a penalty
   per change point: exact, in near-linear time. The penalty is BIC's, 2 log(total
   trials) by default (each change adds a location and a share).
4. A segment is part of an exposure when its share is at least `min_share` and its
   likelihood ratio against the background share (pooled over the other segments) beats
   the same penalty. Consecutive exposed segments make one window.
5. Each edge is refined to the request: within `refine_bins` bins of it, the single step
   from the background share to the window's that best explains the success/failure
   sequence (maximum likelihood), and the window starts at the first success after that
   step (ends at the last one before it). `start_after`/`end_before` bound the edge from
   the other side: the last failure before the start, the first after the end.

The result is an `ExposureWindows` frame (one row per window), whose `str()` (and
`reading()`) is the analyst's one-line reading. DataFrame's own `describe()` is left as
pandas defines it (statistics of the columns): tools and people rely on what it returns.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import Tick

from analyzer.errors import UsageError
from analyzer.schema import CONFIDENCE_DTYPE, TIMESTAMP
from analyzer.timeline.frames import FINDINGS_NEEDS, request_findings, requests_table, require
from analyzer.timeline.hosts import TrustedHosts, TrustedSpec
from analyzer.timeline.summaries import typed

DEFAULT_FREQ = "h"
# A window's share must reach this: a fifth of the untrusted requests carrying an
# identifier is no stray tracking parameter. A gateway misconfiguration gives ~1.
MIN_SHARE = 0.2
# Penalty per change point, in units of log(total trials): BIC for a step that adds a
# location and a share.
PENALTY_FACTOR = 2.0
# Bins on each side of a change point searched when the edge is refined to the request.
# Change points can land one bin off when the bin holding the true edge is mixed.
REFINE_BINS = 2
# Identifier-bearing requests a window needs for each confidence: fewer than 5 can be
# one subscriber's one visit; 30 over a window is a pattern.
CONFIDENCE_MIN = {"high": 30, "medium": 5}
# "high" also needs most outside requests to have carried one: a quarter is as much a
# tracker on a popular site, or a partial rollout, as a gateway adding it to everything.
HIGH_SHARE = 0.5

WINDOWS: dict[str, Any] = {
    "start": TIMESTAMP,  # first identifier-bearing request to an untrusted host
    "end": TIMESTAMP,  # last one
    "start_after": TIMESTAMP,  # the last untrusted request without one before `start` (NaT: none)
    "end_before": TIMESTAMP,  # the first untrusted request without one after `end` (NaT: none)
    "open_start": "bool",  # the window begins with the data: it may have started earlier
    "open_end": "bool",  # it lasts to the end of the data: it may still be going on
    "requests": "int64",  # requests to untrusted hosts in [start, end]
    "identified": "int64",  # those that carried an identifier
    "share": "float64",
    "identifiers": "int64",  # distinct identifiers sent to untrusted hosts in [start, end]
    "hosts": "int64",  # distinct untrusted hosts that received them
    "score": "float64",  # log-likelihood ratio of the window's share against the background's
    "confidence": CONFIDENCE_DTYPE,
}


class ExposureWindows(pd.DataFrame):
    """One row per exposure window (columns: `WINDOWS`), plus what produced it: `bins`
    (per bin holding at least one untrusted request: their count, those with an
    identifier, the share, the segment and its verdict), `bin_freq` and `trusted`.

    `str()` and `reading()` give the one-line reading ("10 Jan 2012 07:00 UTC to 25 Jan
    2012 14:00 UTC"); frames derived from it (filtered, sliced) are plain DataFrames.
    """

    _metadata = ["bin_freq", "bins", "trusted"]  # noqa: RUF012 (pandas reads this name)

    bin_freq: str
    bins: pd.DataFrame
    trusted: TrustedHosts

    def reading(self) -> str:
        """The analyst's one line: "10 Jan 2012 07:00 UTC to 25 Jan 2012 14:00 UTC"."""
        if not len(self):
            return "no exposure window: " + (
                "no identifier reached an untrusted host" if self.bins["identified"].sum() == 0 else "no change found"
            )
        return "; ".join(_reading(row) for row in self.itertuples(index=False))

    def __str__(self) -> str:
        return self.reading()


def _stamp(ts: pd.Timestamp) -> str:
    return f"{ts.day} {ts:%b %Y %H:%M} UTC"


def _reading(row: Any) -> str:
    # Minutes enclose the evidence: the start rounded down, the end up.
    start, end = row.start.floor("min"), row.end.ceil("min")
    first = f"before {_stamp(start)}" if row.open_start else _stamp(start)
    last = f"after {_stamp(end)}" if row.open_end else _stamp(end)
    return f"{first} to {last}"


def _xlogx(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """x * log(x / n), 0 where x is 0 (the limit), elementwise."""
    safe_x, safe_n = np.where(x > 0, x, 1.0), np.where(n > 0, n, 1.0)
    out: np.ndarray = np.where(x > 0, x * np.log(safe_x / safe_n), 0.0)
    return out


def binomial_cost(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """-2 log L of k successes in n trials at the maximum-likelihood share k/n."""
    cost: np.ndarray = -2.0 * (_xlogx(k, n) + _xlogx(n - k, n))
    return cost


def pelt(n: np.ndarray, k: np.ndarray, penalty: float) -> list[int]:
    """Segment boundaries [0, c1, …, T] minimising Σ binomial_cost + penalty per change.

    Optimal partitioning with PELT's pruning: a candidate start s is dropped once
    F(s) + C(s, t) > F(t), which is safe because splitting never raises a likelihood cost.
    """
    size = len(n)
    cum_n = np.concatenate(([0.0], np.cumsum(n, dtype=float)))
    cum_k = np.concatenate(([0.0], np.cumsum(k, dtype=float)))
    best = np.empty(size + 1)
    best[0] = -penalty
    last = np.zeros(size + 1, dtype=np.int64)
    candidates = np.array([0], dtype=np.int64)
    for t in range(1, size + 1):
        cost = binomial_cost(cum_n[t] - cum_n[candidates], cum_k[t] - cum_k[candidates])
        total = best[candidates] + cost
        i = int(np.argmin(total))  # the earliest start among equals: deterministic
        best[t] = total[i] + penalty
        last[t] = candidates[i]
        candidates = np.append(candidates[total <= best[t]], t)
    cuts = []
    t = size
    while t > 0:
        cuts.append(t)
        t = int(last[t])
    return [0, *reversed(cuts)]


def _loglik(n: float, k: float, p: float) -> float:
    return k * math.log(p) + (n - k) * math.log1p(-p) if 0 < p < 1 else 0.0


def _lr(n: float, k: float, background: float) -> float:
    """2 × (log L at the segment's own share − log L at the background share)."""
    own = -0.5 * float(binomial_cost(np.array([n]), np.array([k]))[0])
    return 2.0 * (own - _loglik(n, k, background))


def _step(x: np.ndarray, before: float, after: float) -> int:
    """Index s maximising the likelihood of x[:s] at share `before` and x[s:] at `after`."""
    lb = np.where(x, math.log(before), math.log1p(-before))
    la = np.where(x, math.log(after), math.log1p(-after))
    scores = np.concatenate(([0.0], np.cumsum(lb))) + (la.sum() - np.concatenate(([0.0], np.cumsum(la))))
    return int(np.argmax(scores))


def _confidence(identified: int, share: float) -> str:
    if identified >= CONFIDENCE_MIN["high"] and share >= HIGH_SHARE:
        return "high"
    return "medium" if identified >= CONFIDENCE_MIN["medium"] else "low"


def _trials(findings: pd.DataFrame, messages: pd.DataFrame, trusted: TrustedHosts) -> pd.DataFrame:
    """Requests to untrusted hosts in time order: `ts`, `success` (carried an identifier)."""
    table = requests_table(findings, messages)
    trials = table[~trusted.mask(table["host"], table["server_ip"])]
    success = trials["identified"].to_numpy(dtype=bool)
    return pd.DataFrame({"ts": trials["ts"].to_numpy(), "success": success}).astype({"ts": TIMESTAMP})


def onset(
    findings: pd.DataFrame,
    messages: pd.DataFrame | None,
    *,
    trusted_hosts: TrustedSpec = None,
    freq: str = DEFAULT_FREQ,
    min_share: float = MIN_SHARE,
    penalty: float | None = None,
    refine_bins: int = REFINE_BINS,
) -> ExposureWindows:
    """The exposure windows: when identifiers started and stopped reaching untrusted hosts.

    findings: a findings frame (any slice of `Analysis.findings`): what counts as carrying
        an identifier (filter it to, say, msisdn findings to time only the numbers' leak).
    messages: the messages frame (`Analysis.messages`): every request, the denominator.
    trusted_hosts: the legitimate recipients: names, `.suffixes`, fnmatch patterns, IP
        networks; a list, a comma-separated string, or a file of lines (`TrustedHosts`).
    freq: bin width, a fixed pandas frequency ("h", "30min", "D").
    min_share: the least share of successes that makes a segment an exposure.
    penalty: per change point (default: 2 log(total trials)).
    refine_bins: bins searched on each side of an edge to place it to the request.
    """
    require(findings, FINDINGS_NEEDS, "onset")
    if messages is None:
        raise UsageError(
            "onset needs the messages frame too (every request, not only those with findings): "
            "pass messages=analysis.messages, or call Analysis.onset()"
        )
    offset = to_offset(freq)
    if not isinstance(offset, (Tick, pd.offsets.Day)):  # pandas 3: a Day is no Tick, but fixed in UTC
        raise UsageError(f"onset: freq must be a fixed width (h, 30min, D), not {freq!r}")
    if not 0.0 < min_share <= 1.0:
        raise UsageError(f"onset: min_share must be in (0, 1], not {min_share}")
    trusted = TrustedHosts.coerce(trusted_hosts)
    trials = _trials(findings, messages, trusted)
    ts = trials["ts"]
    starts = ts.dt.floor(freq)
    bin_starts, bin_of = np.unique(starts.to_numpy(dtype="datetime64[ns]"), return_inverse=True)
    success = trials["success"].to_numpy(dtype=bool)
    n = np.bincount(bin_of, minlength=len(bin_starts)).astype(float)
    k = np.bincount(bin_of, weights=success.astype(float), minlength=len(bin_starts))
    total = float(n.sum())
    beta = penalty if penalty is not None else PENALTY_FACTOR * math.log(max(total, 2.0))
    cuts = pelt(n, k, beta) if len(n) else [0]
    segments = list(itertools.pairwise(cuts))
    seg_n = np.array([n[a:b].sum() for a, b in segments])
    seg_k = np.array([k[a:b].sum() for a, b in segments])
    share = np.divide(seg_k, seg_n, out=np.zeros_like(seg_k), where=seg_n > 0)
    low = share < min_share
    background = float(seg_k[low].sum() / seg_n[low].sum()) if seg_n[low].sum() else 0.0
    # The background share is clipped half a trial off 0 and 1: a clean background (no
    # success at all) would make any success infinitely unlikely.
    eps = 0.5 / max(total, 1.0)
    bg = min(max(background, eps), 1.0 - eps)
    # `low` segments make the background, so an exposed one's share is above it.
    exposed = [bool(not low[i] and _lr(seg_n[i], seg_k[i], bg) > beta) for i in range(len(segments))]
    # Consecutive exposed segments → windows of bins [a, b).
    spans: list[tuple[int, int]] = []
    for (a, b), hot in zip(segments, exposed, strict=True):
        if hot and spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], b)
        elif hot:
            spans.append((a, b))
    sent = request_findings(findings)
    sent = sent[~trusted.mask(sent["host"], sent["server_ip"])]
    rows = []
    for w, (a, b) in enumerate(spans):
        prev_b = spans[w - 1][1] if w else 0
        next_a = spans[w + 1][0] if w + 1 < len(spans) else len(n)
        p_win = min(max(float(k[a:b].sum() / n[a:b].sum()), eps), 1.0 - eps)
        lo, hi = np.searchsorted(bin_of, [a, b])  # trials are in time order, so bins are too
        s_lo, s_hi = np.searchsorted(bin_of, [max(a - refine_bins, prev_b), min(a + refine_bins, b)])
        first = s_lo + _step(success[s_lo:s_hi], bg, p_win)
        e_lo, e_hi = np.searchsorted(bin_of, [max(b - refine_bins, a), min(b + refine_bins, next_a)])
        last = e_lo + _step(success[e_lo:e_hi], p_win, bg)
        hits = np.flatnonzero(success[first:last]) + first
        if not len(hits):  # a window of a few requests both searches disagree on
            hits = np.flatnonzero(success[lo:hi]) + lo
        i0, i1 = int(hits[0]), int(hits[-1])
        before = np.flatnonzero(~success[:i0])
        after = np.flatnonzero(~success[i1 + 1 :]) + i1 + 1
        start, end = ts.iloc[i0], ts.iloc[i1]
        inside = sent[(sent["ts"] >= start) & (sent["ts"] <= end)]
        span_n, span_k = float(i1 - i0 + 1), float(success[i0 : i1 + 1].sum())
        identified = int(span_k)
        rows.append(
            {
                "start": start,
                "end": end,
                "start_after": ts.iloc[before[-1]] if len(before) else pd.NaT,
                "end_before": ts.iloc[after[0]] if len(after) else pd.NaT,
                "open_start": a == 0,
                "open_end": b == len(n),
                "requests": int(span_n),
                "identified": identified,
                "share": span_k / span_n,
                "identifiers": int(inside["identifier"].nunique()),
                "hosts": int(inside["host"].nunique()),
                "score": _lr(span_n, span_k, bg),
                "confidence": _confidence(identified, span_k / span_n),
            }
        )
    segment_of_bin = np.repeat(np.arange(len(segments)), [b - a for a, b in segments])
    bins = pd.DataFrame(
        {
            "requests": n.astype(np.int64),
            "identified": k.astype(np.int64),
            "share": np.divide(k, n, out=np.zeros_like(k), where=n > 0),
            "segment": segment_of_bin,
            "exposed": np.array([exposed[s] for s in segment_of_bin], dtype=bool),
        },
        index=pd.DatetimeIndex(bin_starts, name="start").tz_localize("UTC"),
    )
    result = ExposureWindows(typed(pd.DataFrame(rows), WINDOWS))
    result.bin_freq, result.bins, result.trusted = freq, bins, trusted
    return result
