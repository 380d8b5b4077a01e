"""`df.lineid` on any findings frame: validated once, chainable after any filter."""

from __future__ import annotations

import pandas as pd
import pytest

import analyzer.timeline  # noqa: F401  (registers the accessor)
from analyzer.analysis import Analysis
from analyzer.errors import UsageError
from analyzer.redact import pseudonym
from analyzer.schema import empty_frame
from analyzer.timeline import exposures, onset, recipients

from .helpers import TRUSTED


def test_the_accessor_refuses_frames_it_cannot_read(incident: Analysis) -> None:
    with pytest.raises(UsageError, match=r"lacks column\(s\) where, field, kind, value, identifier"):
        _ = incident.messages.lineid
    with pytest.raises(UsageError, match="lacks column"):
        _ = incident.findings[["ts", "identifier"]].lineid
    bad = incident.findings.assign(ts=incident.findings["ts"].astype(str))
    with pytest.raises(UsageError, match="ts must be"):
        _ = bad.lineid


def test_chaining_on_a_filtered_frame(incident: Analysis) -> None:
    f = incident.findings
    dotcom = f[f["host"].astype(str).str.endswith(".com")]
    e = dotcom.lineid.exposures()
    assert len(e) and all(all(h.endswith(".com") for h in hosts) for hosts in e["host_list"])
    pd.testing.assert_frame_equal(e, exposures(dotcom))
    pd.testing.assert_frame_equal(f.lineid.recipients(), recipients(f))
    assert (
        f.lineid.daily(messages=incident.messages)["requests"].sum()
        == (incident.messages["direction"] == "request").sum()
    )


def test_onset_through_the_accessor(incident: Analysis) -> None:
    f = incident.findings
    w = f[f["kind"] == "msisdn"].lineid.onset(TRUSTED, messages=incident.messages)
    assert str(w) == str(onset(f, incident.messages, trusted_hosts=TRUSTED))
    with pytest.raises(UsageError, match="messages"):
        f.lineid.onset(TRUSTED)


def test_mask_redacts_identifiers_values_and_urls(incident: Analysis) -> None:
    f = incident.findings.head(50).copy()
    # An identifier also in a URL, as query-borne ones are.
    f["uri"] = ("/?msisdn=" + f["value"].astype(str)).astype(f["uri"].dtype)
    masked = f.lineid.mask()
    assert list(masked.columns) == list(f.columns) and masked.dtypes.equals(f.dtypes)
    assert masked["identifier"].iat[0] == f["identifier"].iat[0][:4] + "*****" + f["identifier"].iat[0][-3:]
    for column in ("identifier", "value", "uri"):
        for raw, shown in zip(f[column], masked[column], strict=True):
            assert "447700900" not in shown, (column, raw, shown)
    assert f["identifier"].iat[0].startswith("4477009")  # the caller's frame is untouched
    hmac = f.lineid.mask("hmac", key="case-42")
    assert hmac["identifier"].iat[0] == pseudonym(f["identifier"].iat[0], b"case-42")
    assert hmac["value"].iat[0] == hmac["identifier"].iat[0]
    with pytest.raises(UsageError, match="key"):
        f.lineid.mask("hmac")
    with pytest.raises(UsageError, match="unknown redaction"):
        f.lineid.mask("blur")


def test_mask_of_e164_numbers_uses_redact() -> None:
    f = empty_frame("findings")
    row = f.reindex([0])
    row["ts"] = pd.Timestamp("2012-01-10", tz="UTC")
    row["identifier"] = pd.Series(["+447911123456"], dtype=f["identifier"].dtype)
    row["value"] = pd.Series(["447911123456"], dtype=f["value"].dtype)
    row["kind"] = pd.Categorical(["msisdn"])
    masked = row.lineid.mask()
    assert masked["identifier"].iat[0] == "+44 79** ***456"
    assert masked["value"].iat[0] == "4479*****456"
