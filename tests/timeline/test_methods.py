"""The functions behind Analysis' timeline methods pass its frames on, nothing more."""

from __future__ import annotations

import pandas as pd

from analyzer.analysis import Analysis
from analyzer.timeline import daily, exposures, methods, onset, recipients

from .helpers import TRUSTED


def test_methods_are_the_frame_functions(incident: Analysis) -> None:
    pd.testing.assert_frame_equal(methods.exposures(incident), exposures(incident.findings))
    pd.testing.assert_frame_equal(methods.recipients(incident), recipients(incident.findings))
    pd.testing.assert_frame_equal(methods.daily(incident, "h"), daily(incident.findings, incident.messages, freq="h"))
    windows = methods.onset(incident, TRUSTED, freq="30min")
    pd.testing.assert_frame_equal(windows, onset(incident.findings, incident.messages, trusted_hosts=TRUSTED))
    assert windows.bin_freq == "30min"
