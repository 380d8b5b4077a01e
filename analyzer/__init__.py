"""lineid: where subscriber identifiers travelled in clear HTTP, from captures and HAR files.

>>> import analyzer
>>> result = analyzer.analyze(["gateway.pcap.gz", "device.har"], region="GB")
>>> result.findings          # the timeline: when, where, to whom, through which header
"""

from analyzer.analysis import Analysis
from analyzer.api import Options, analyze
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
]
