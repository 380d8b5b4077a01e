"""timeline stage: questions asked of the findings over time.

- `summaries`: `exposures` (per identifier), `recipients` (per host), `daily` (per bin);
- `onset`: the exposure windows, by change-point segmentation of a share;
- `diff`: the headers a middlebox added, removed or altered between two views;
- `accessor`: `df.lineid.*` on any findings frame (registered when this package is imported);
- `plots`: timeline and heatmap figures (matplotlib, imported only when a plot is drawn);
- `methods`: the same questions as functions of an `Analysis`, for its methods.
"""

from analyzer.timeline import accessor as _accessor  # registers `df.lineid`
from analyzer.timeline.diff import HeaderDiff, diff
from analyzer.timeline.hosts import TrustedHosts
from analyzer.timeline.onset import ExposureWindows, onset
from analyzer.timeline.summaries import daily, exposures, recipients

__all__ = [
    "ExposureWindows",
    "HeaderDiff",
    "TrustedHosts",
    "daily",
    "diff",
    "exposures",
    "onset",
    "recipients",
]

del _accessor
