"""`df.lineid`: the timeline questions on any findings frame, filtered or not.

    >>> f = a.findings
    >>> f[f.host.str.endswith(".com")].lineid.exposures()
    >>> f[f.kind == "msisdn"].lineid.onset(trusted_hosts=[".partner.example"], messages=a.messages)
    >>> f.lineid.mask()            # safe to share: identifiers and values redacted

A namespaced accessor (pandas' "Extending pandas"; xarray does the same) rather than a
DataFrame subclass: every filter, sort or slice of `Analysis.findings` is a plain frame
and keeps the methods. The frame is checked once, when `.lineid` is first used, so a
messages frame or a hand-picked subset of columns fails there with the missing columns
named, not deep inside a groupby.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from analyzer.redact import MODES, mask_identifier, redactor
from analyzer.timeline import summaries
from analyzer.timeline.frames import FINDINGS_NEEDS, require
from analyzer.timeline.hosts import TrustedSpec
from analyzer.timeline.onset import DEFAULT_FREQ, MIN_SHARE, REFINE_BINS, ExposureWindows, onset

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Columns that hold an identifier or text an identifier may be part of (a URL query, a
# reason quoting the value), scrubbed by `mask`.
SCRUBBED = ("uri", "reason")
_DIGITS_KEPT = (4, 3)  # as redact's numbers: country code and two digits, and the last three


def _mask_text(text: str, kind: str | None) -> str:
    """redact.mask_identifier, but for numbers kept as bare digits."""
    # A number without its "+" (lineid keeps numbers that are not valid E.164 as their
    # digits) would otherwise be masked as a token, keeping eight of its digits.
    if text.isdigit() and 9 <= len(text) <= 15 and kind in (None, "msisdn", "hashed-msisdn"):
        head, tail = _DIGITS_KEPT
        return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]
    return mask_identifier(text, kind)


@pd.api.extensions.register_dataframe_accessor("lineid")
class LineidAccessor:
    """Timeline methods of a findings frame (`Analysis.findings` or any slice of it)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = require(frame, FINDINGS_NEEDS, "df.lineid")

    def exposures(self) -> pd.DataFrame:
        """One row per identifier: first/last seen, messages, flows, hosts, fields, sources."""
        return summaries.exposures(self._frame)

    def recipients(self) -> pd.DataFrame:
        """One row per destination host and server IP: distinct identifiers received, when."""
        return summaries.recipients(self._frame)

    def daily(self, freq: str = "D", *, messages: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per bin: requests (with `messages`), requests with identifiers, share, identifiers, hosts."""
        return summaries.daily(self._frame, messages, freq=freq)

    def onset(
        self,
        trusted_hosts: TrustedSpec = None,
        *,
        messages: pd.DataFrame | None = None,
        freq: str = DEFAULT_FREQ,
        min_share: float = MIN_SHARE,
        penalty: float | None = None,
        refine_bins: int = REFINE_BINS,
    ) -> ExposureWindows:
        """Exposure windows (see `analyzer.timeline.onset.onset`); needs `messages=`."""
        return onset(
            self._frame,
            messages,
            trusted_hosts=trusted_hosts,
            freq=freq,
            min_share=min_share,
            penalty=penalty,
            refine_bins=refine_bins,
        )

    def mask(self, mode: str = "mask", *, key: bytes | str | None = None) -> pd.DataFrame:
        """A copy with `identifier` and `value` redacted (analyzer.redact: "mask", or "hmac"
        with a key), and every such value scrubbed from `uri` and `reason` too."""
        if mode not in MODES:
            redactor(mode, key)  # raises the UsageError naming the modes
        frame = self._frame.copy()
        if mode == "none" or not len(frame):
            return frame
        pseudo = redactor(mode, key)
        kinds = frame["kind"].astype(object).where(frame["kind"].notna(), None).tolist()
        identifiers = frame["identifier"].astype(object).tolist()
        values = frame["value"].astype(object).tolist()
        replacements: dict[str, str] = {}
        new_ids, new_values = [], []
        for ident, value, kind in zip(identifiers, values, kinds, strict=True):
            shown_id = None if ident is None or ident is pd.NA else self._redact(str(ident), kind, mode, pseudo)
            if value is None or value is pd.NA:
                shown_value = None
            elif mode == "hmac" and shown_id is not None:
                shown_value = shown_id  # the pseudonym of what the value encodes: equal stays equal
            else:
                shown_value = self._redact(str(value), kind, mode, pseudo)
            for raw, shown in ((ident, shown_id), (value, shown_value)):
                if raw is not None and raw is not pd.NA and shown is not None and len(str(raw)) >= 4:
                    replacements[str(raw)] = shown
            new_ids.append(shown_id)
            new_values.append(shown_value)
        frame["identifier"] = pd.Series(new_ids, index=frame.index, dtype=frame["identifier"].dtype)
        frame["value"] = pd.Series(new_values, index=frame.index, dtype=frame["value"].dtype)
        if replacements:
            # Longest first, so a value is replaced before an identifier inside it.
            pattern = re.compile("|".join(re.escape(t) for t in sorted(replacements, key=len, reverse=True)))
            for column in SCRUBBED:
                if column in frame.columns:
                    text = frame[column].astype(object)
                    scrubbed = [
                        v if not isinstance(v, str) else pattern.sub(lambda m: replacements[m[0]], v) for v in text
                    ]
                    frame[column] = pd.Series(scrubbed, index=frame.index, dtype=frame[column].dtype)
        return frame

    @staticmethod
    def _redact(text: str, kind: str | None, mode: str, pseudo: Callable[[str, str | None], str]) -> str:
        return _mask_text(text, kind) if mode == "mask" else str(pseudo(text, kind))

    def plot_timeline(
        self,
        *,
        messages: pd.DataFrame | None = None,
        freq: str = "D",
        windows: pd.DataFrame | None = None,
        trusted_hosts: TrustedSpec = None,
        ax: Axes | None = None,
        figsize: tuple[float, float] | None = None,
    ) -> Figure:
        """Identifier-carrying requests per bin (against all, with `messages`), windows shaded."""
        from analyzer.timeline.plots import plot_timeline  # matplotlib only when a plot is asked for

        return plot_timeline(
            self._frame, messages, freq=freq, windows=windows, trusted_hosts=trusted_hosts, ax=ax, figsize=figsize
        )

    def plot_heatmap(
        self,
        *,
        freq: str = "D",
        trusted_hosts: TrustedSpec = None,
        ax: Axes | None = None,
        figsize: tuple[float, float] | None = None,
    ) -> Figure:
        """Host × day counts of identifier-carrying requests."""
        from analyzer.timeline.plots import plot_heatmap

        return plot_heatmap(self._frame, freq=freq, trusted_hosts=trusted_hosts, ax=ax, figsize=figsize)
