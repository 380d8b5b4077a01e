"""TrustedHosts: names, suffixes, fnmatch patterns, networks; lists, strings and files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyzer.timeline import TrustedHosts


@pytest.mark.parametrize(
    ("pattern", "host", "trusted"),
    [
        ("pay.partner.example", "pay.partner.example", True),
        ("pay.partner.example", "PAY.Partner.Example.", True),  # case and a trailing dot
        ("pay.partner.example", "pay.partner.example:8080", True),  # a Host header's port
        ("pay.partner.example", "evil-pay.partner.example", False),
        ("pay.partner.example", "x.pay.partner.example", False),  # exact means exact
        (".partner.example", "partner.example", True),
        (".partner.example", "a.b.partner.example", True),
        (".partner.example", "notpartner.example", False),
        ("*.operator.example", "mms.operator.example", True),
        ("*.operator.example", "operator.example", False),
        ("wap?.operator.example", "wap2.operator.example", True),
        ("192.0.2.0/24", "192.0.2.7", True),  # an address as host (no Host header name)
        ("2001:db8::/32", "[2001:db8::1]:80", True),
        ("192.0.2.0/24", "198.51.100.1", False),
    ],
)
def test_patterns(pattern: str, host: str, trusted: bool) -> None:
    assert TrustedHosts([pattern]).matches_host(host) is trusted


def test_mask_reads_hosts_and_server_addresses() -> None:
    trusted = TrustedHosts([".partner.example", "203.0.113.0/24"])
    hosts = pd.Series(["a.partner.example", "news.example.com", None, "x.example"], dtype="category")
    ips = pd.Series(["192.0.2.1", "192.0.2.2", "192.0.2.3", "203.0.113.9"], dtype="category")
    assert trusted.mask(hosts, ips).tolist() == [True, False, False, True]
    assert TrustedHosts().mask(hosts, ips).tolist() == [False] * 4  # nobody is trusted by default


def test_coerce_takes_what_an_analyst_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "partners.txt"
    listing.write_text("# legitimate recipients\n.partner.example\n\nmms.operator.example  # MMSC\n")
    expected = (".partner.example", "mms.operator.example")
    assert TrustedHosts.coerce(listing).patterns == expected
    monkeypatch.chdir(tmp_path)
    assert TrustedHosts.coerce("partners.txt").patterns == expected  # a file, not a host called so
    assert TrustedHosts.coerce(".partner.example, mms.operator.example").patterns == expected
    assert TrustedHosts.coerce(list(expected)).patterns == expected
    assert TrustedHosts.coerce(None).patterns == ()
    same = TrustedHosts(expected)
    assert TrustedHosts.coerce(same) is same
