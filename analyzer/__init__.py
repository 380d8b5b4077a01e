"""lineid: where subscriber identifiers travelled in clear HTTP, from captures, HAR files
and HTTP logs.

>>> import analyzer
>>> result = analyzer.analyze(["gateway.pcap.gz", "device.har"], region="GB")
>>> result.findings          # the timeline: when, where, to whom, through which header
>>> months = analyzer.open_dataset("cases/2012-01")   # what `lineid batch` wrote
"""

from analyzer.analysis import Analysis
from analyzer.api import Options, analyze
from analyzer.batch import open_dataset
from analyzer.errors import InputAccessError, InputError, InputFormatError, LineidError, UsageError
from analyzer.limits import Limits
from analyzer.model import Anomaly, Endpoints, Finding, HttpMessage
from analyzer.timeline import ExposureWindows, HeaderDiff, TrustedHosts, diff

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Anomaly",
    "Endpoints",
    "ExposureWindows",
    "Finding",
    "HeaderDiff",
    "HttpMessage",
    "InputAccessError",
    "InputError",
    "InputFormatError",
    "Limits",
    "LineidError",
    "Options",
    "TrustedHosts",
    "UsageError",
    "__version__",
    "analyze",
    "diff",
    "open_dataset",
]
