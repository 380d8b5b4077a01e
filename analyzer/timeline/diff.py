"""What a middlebox did to requests in transit: `diff(client_view, network_view)`.

The direct proof of header injection is the same request seen twice: as the client sent
it (a HAR from the phone's browser, or a device-side capture) and further along the path
(a capture at the gateway's far side, or at the server). Every header present in one view
and not the other was added, removed or altered on the way.

Strategy:

1. Requests are matched by method, host (lower case, default port dropped) and target
   (absolute-form `http://host/path` as sent to a proxy is read as its origin form).
2. The two views' clocks differ (a phone's clock against a gateway's). Candidate pairs
   are those with the same key within `window` of each other; the clock skew is the
   densest cluster of their time differences (the 2 × `tolerance` interval holding the
   most), taken at its median: unrelated pairs of a repeated URL scatter, true pairs pile
   up. Then, per key, requests are paired in time order, a pair only when its
   skew-corrected difference is within `tolerance`; what is left over is unmatched.
   Repeated requests for one URL pair in order, never crosswise.
3. Headers are compared per lower-case name (RFC 9110 §5.1: names are case-insensitive)
   as multisets of values: values present on both sides cancel one for one; of what
   remains, values of one name pair up as `altered` in order of appearance, and the rest
   are `added` (network side only) or `removed` (client side only). So a second `Via`
   appended to one the client sent is one addition, not an alteration.

HTTP/2 pseudo-headers (`:authority`, …) exist only where the client spoke HTTP/2 and are
never compared; `ignore` names others a view cannot show (a HAR tool that drops Cookie).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from analyzer.errors import UsageError
from analyzer.schema import STRING, TIMESTAMP
from analyzer.timeline.summaries import typed

if TYPE_CHECKING:
    from analyzer.analysis import Analysis

# The clock skew searched for: phones and gateways synchronised by NTP or the network
# are seconds apart; a phone set by hand can be minutes off. Larger skews: pass `skew`.
DEFAULT_WINDOW = "5min"
# The jitter left once the skew is removed: radio latency and queueing, well under a second.
DEFAULT_TOLERANCE = "2s"
DEFAULT_PORTS = (":80", ":443")

CHANGES: dict[str, Any] = {
    "client_message_id": "int64",
    "network_message_id": "int64",
    "client_source": "category",
    "network_source": "category",
    "client_frame": "Int64",  # frame_first of the request (captures)
    "client_har_entry": "Int64",  # entry index (HAR)
    "network_frame": "Int64",
    "network_har_entry": "Int64",
    "client_ts": TIMESTAMP,
    "network_ts": TIMESTAMP,
    "method": "category",
    "host": "category",
    "uri": STRING,
    "name": "category",  # lower-case header name
    "raw_name": STRING,  # as written on the side that has the value (the network side if both)
    "client_value": STRING,  # null when added
    "network_value": STRING,  # null when removed
    "change": pd.CategoricalDtype(["added", "removed", "altered"]),
}
UNMATCHED: dict[str, Any] = {
    "side": pd.CategoricalDtype(["client", "network"]),
    "message_id": "int64",
    "source": "category",
    "frame": "Int64",
    "har_entry": "Int64",
    "ts": TIMESTAMP,
    "method": "category",
    "host": "category",
    "uri": STRING,
}
PAIRS: dict[str, Any] = {
    "client_message_id": "int64",
    "network_message_id": "int64",
    "client_ts": TIMESTAMP,
    "network_ts": TIMESTAMP,
    "offset": "timedelta64[ns]",  # network_ts - client_ts
    "method": "category",
    "host": "category",
    "uri": STRING,
    "changes": "int64",
}


class HeaderDiff(pd.DataFrame):
    """One row per (matched request, header change) (columns: `CHANGES`), with
    `unmatched` (requests of either view without a partner), `pairs` (every matched
    request, changed or not) and `clock_skew` (network clock minus client clock; not
    `skew`, which is DataFrame's own method)."""

    _metadata = ["clock_skew", "pairs", "unmatched"]  # noqa: RUF012 (pandas reads this name)

    clock_skew: pd.Timedelta
    pairs: pd.DataFrame
    unmatched: pd.DataFrame


def _analysis(view: object, what: str) -> Analysis:
    from analyzer.analysis import Analysis  # imported here: analysis.py imports this package

    if isinstance(view, Analysis):
        return view
    if isinstance(view, (str, os.PathLike)) or (isinstance(view, Sequence) and not isinstance(view, bytes)):
        from analyzer.api import analyze

        return analyze(view)
    raise UsageError(f"diff: {what} must be an Analysis or input path(s), not {type(view).__name__}")


def _norm_host(host: object) -> str:
    text = "" if host is None or host is pd.NA or (isinstance(host, float) and np.isnan(host)) else str(host)
    text = text.strip().lower().rstrip(".")
    for port in DEFAULT_PORTS:
        text = text.removesuffix(port)
    return text


def _requests(a: Analysis) -> pd.DataFrame:
    m = a.messages
    r = m[m["direction"].astype("string").eq("request").fillna(False).to_numpy(dtype=bool)]
    r = r[r["ts"].notna().to_numpy(dtype=bool)].reset_index(drop=True)
    hosts, uris = [], []
    for host, uri in zip(r["host"].astype(object), r["uri"].astype(object), strict=True):
        text = "" if uri is None or uri is pd.NA else str(uri)
        if text.lower().startswith(("http://", "https://")):  # absolute-form, RFC 9112 §3.2.2
            parts = urlsplit(text)
            host = host if _norm_host(host) else parts.netloc
            text = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        hosts.append(_norm_host(host))
        uris.append(text)
    out = r[["message_id", "source", "frame_first", "har_entry", "ts", "method", "host", "uri"]].copy()
    out["key"] = list(zip(r["method"].astype(str), hosts, uris, strict=True))
    out["ts_ns"] = r["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return out


def estimate_skew(client: pd.DataFrame, network: pd.DataFrame, window_ns: int, tolerance_ns: int) -> int:
    """Network minus client clock, in ns: the median of the densest cluster (an interval
    2 × `tolerance` wide, the spread a matched pair may have) of time differences between
    same-key requests within `window` of each other."""
    by_key: dict[Any, list[int]] = defaultdict(list)
    for key, t in zip(network["key"], network["ts_ns"], strict=True):
        by_key[key].append(int(t))
    times = {key: np.sort(np.array(ts, dtype=np.int64)) for key, ts in by_key.items()}
    found: list[np.ndarray] = []
    for key, c in zip(client["key"], client["ts_ns"], strict=True):
        near = times.get(key)
        if near is not None:  # only the network requests within the window: no all-pairs blow-up
            lo = int(np.searchsorted(near, c - window_ns, side="left"))
            hi = int(np.searchsorted(near, c + window_ns, side="right"))
            found.append(near[lo:hi] - c)
    diffs = np.sort(np.concatenate(found)) if found else np.array([], dtype=np.int64)
    if not len(diffs):
        return 0
    ends = np.searchsorted(diffs, diffs + 2 * tolerance_ns, side="right")
    i = int(np.argmax(ends - np.arange(len(diffs))))  # the first densest interval
    return int(np.median(diffs[i : ends[i]]))


def _match(client: pd.DataFrame, network: pd.DataFrame, skew: int, tolerance: int) -> list[tuple[int, int]]:
    """(client row, network row) pairs: per key, in time order, within tolerance."""
    net_rows: dict[Any, list[int]] = defaultdict(list)
    for row, key in enumerate(network["key"]):
        net_rows[key].append(row)
    cli_rows: dict[Any, list[int]] = defaultdict(list)
    for row, key in enumerate(client["key"]):
        cli_rows[key].append(row)
    c_ts, n_ts = client["ts_ns"].to_numpy(), network["ts_ns"].to_numpy() - skew
    pairs = []
    for key, cs in cli_rows.items():
        ns = net_rows.get(key, [])
        cs = sorted(cs, key=lambda r: c_ts[r])
        ns = sorted(ns, key=lambda r: n_ts[r])
        i = j = 0
        while i < len(cs) and j < len(ns):
            gap = int(n_ts[ns[j]] - c_ts[cs[i]])
            if abs(gap) <= tolerance:
                pairs.append((cs[i], ns[j]))
                i, j = i + 1, j + 1
            elif gap > 0:
                i += 1  # this client request has no partner this late
            else:
                j += 1
    return sorted(pairs)


def _headers(a: Analysis, ids: Iterable[int], ignore: frozenset[str]) -> dict[int, list[tuple[str, str, str]]]:
    """message id → [(lower name, raw name, value)] in wire order."""
    h = a.headers
    h = h[h["message_id"].isin(list(ids)).to_numpy(dtype=bool)]
    out: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for mid, raw, value in zip(h["message_id"], h["raw_name"].astype(str), h["value"].astype(object), strict=True):
        name = raw.lower()
        if name.startswith(":") or name in ignore:
            continue
        out[int(mid)].append((name, raw, "" if value is None or value is pd.NA else str(value)))
    return out


def compare_headers(
    client: Sequence[tuple[str, str, str]], network: Sequence[tuple[str, str, str]]
) -> list[tuple[str, str, str | None, str | None, str]]:
    """(name, raw name, client value, network value, change) for every difference."""
    names = list(dict.fromkeys([n for n, _, _ in client] + [n for n, _, _ in network]))
    rows: list[tuple[str, str, str | None, str | None, str]] = []
    for name in names:
        cv = [(raw, v) for n, raw, v in client if n == name]
        nv = [(raw, v) for n, raw, v in network if n == name]
        common = Counter(v for _, v in cv) & Counter(v for _, v in nv)
        left: list[tuple[str, str]] = []
        right: list[tuple[str, str]] = []
        for side, out in ((cv, left), (nv, right)):
            budget = Counter(common)
            for raw, v in side:
                if budget[v]:
                    budget[v] -= 1
                else:
                    out.append((raw, v))
        for (_, c), (n_raw, n) in zip(left, right, strict=False):
            rows.append((name, n_raw, c, n, "altered"))
        rows += [(name, raw, None, v, "added") for raw, v in right[len(left) :]]
        rows += [(name, raw, v, None, "removed") for raw, v in left[len(right) :]]
    return rows


def diff(
    client_view: Analysis | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    network_view: Analysis | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    tolerance: str | pd.Timedelta = DEFAULT_TOLERANCE,
    skew: str | pd.Timedelta | None = None,
    ignore: Iterable[str] = (),
) -> HeaderDiff:
    """Every request header added, removed or altered between two views of the same requests.

    client_view: what the client sent: an Analysis, or HAR/capture path(s) to analyse.
    network_view: the same traffic further along the path (gateway- or server-side capture).
    window: the largest clock skew searched for when estimating it.
    tolerance: the largest time difference of a pair once the skew is removed.
    skew: the network clock minus the client clock, when known (no estimate is made).
    ignore: header names a view cannot show, left out of the comparison.
    """
    c_an, n_an = _analysis(client_view, "client_view"), _analysis(network_view, "network_view")
    window_ns, tol_ns = pd.Timedelta(window).value, pd.Timedelta(tolerance).value
    client, network = _requests(c_an), _requests(n_an)
    skew_ns = pd.Timedelta(skew).value if skew is not None else estimate_skew(client, network, window_ns, tol_ns)
    pairs = _match(client, network, skew_ns, tol_ns)
    skip = frozenset(n.lower() for n in ignore)
    c_ids, n_ids = client["message_id"].to_numpy(dtype=np.int64), network["message_id"].to_numpy(dtype=np.int64)
    c_heads = _headers(c_an, (int(c_ids[c]) for c, _ in pairs), skip)
    n_heads = _headers(n_an, (int(n_ids[n]) for _, n in pairs), skip)
    rows, pair_rows = [], []
    for c, n in pairs:
        cr, nr = client.iloc[c], network.iloc[n]
        changes = compare_headers(c_heads.get(int(c_ids[c]), []), n_heads.get(int(n_ids[n]), []))
        pair_rows.append(
            {
                "client_message_id": cr["message_id"],
                "network_message_id": nr["message_id"],
                "client_ts": cr["ts"],
                "network_ts": nr["ts"],
                "offset": nr["ts"] - cr["ts"],
                "method": cr["method"],
                "host": cr["host"],
                "uri": cr["uri"],
                "changes": len(changes),
            }
        )
        for name, raw, cv, nv, change in changes:
            rows.append(
                {
                    "client_message_id": cr["message_id"],
                    "network_message_id": nr["message_id"],
                    "client_source": cr["source"],
                    "network_source": nr["source"],
                    "client_frame": cr["frame_first"],
                    "client_har_entry": cr["har_entry"],
                    "network_frame": nr["frame_first"],
                    "network_har_entry": nr["har_entry"],
                    "client_ts": cr["ts"],
                    "network_ts": nr["ts"],
                    "method": cr["method"],
                    "host": cr["host"],
                    "uri": cr["uri"],
                    "name": name,
                    "raw_name": raw,
                    "client_value": cv,
                    "network_value": nv,
                    "change": change,
                }
            )
    matched_c, matched_n = {c for c, _ in pairs}, {n for _, n in pairs}
    left = [("client", client.iloc[i]) for i in range(len(client)) if i not in matched_c]
    left += [("network", network.iloc[i]) for i in range(len(network)) if i not in matched_n]
    unmatched = [
        {
            "side": side,
            "message_id": r["message_id"],
            "source": r["source"],
            "frame": r["frame_first"],
            "har_entry": r["har_entry"],
            "ts": r["ts"],
            "method": r["method"],
            "host": r["host"],
            "uri": r["uri"],
        }
        for side, r in left
    ]
    result = HeaderDiff(typed(pd.DataFrame(rows), CHANGES))
    result.pairs = typed(pd.DataFrame(pair_rows), PAIRS)
    result.unmatched = typed(pd.DataFrame(unmatched), UNMATCHED).sort_values("ts", kind="stable").reset_index(drop=True)
    result.clock_skew = pd.Timedelta(skew_ns)
    return result
