"""The analyst's list of legitimate recipients: `TrustedHosts`.

An operator's gateway is *meant* to give the number to a few partners (billing, content,
MMS); the question of an incident is when it went anywhere else. Analysts keep such lists
as lines in a file or type them in a notebook, so a pattern is one of:

- `pay.partner.example`: that host exactly;
- `.partner.example`: that domain and every name under it (`partner.example` too);
- `*.partner.example`, `wap?.operator.example`, `[ab].example`: shell-style (fnmatch),
  matched against the whole host name;
- `192.0.2.0/24`, `2001:db8::1`: server addresses (the request's destination IP), for
  partners reached by address or whose Host header cannot be relied on.

Matching ignores case, a trailing dot and a `:port` (a Host header carries one for
non-default ports). A request without a Host header is never trusted: it cannot be shown
to have gone to a partner.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analyzer.errors import UsageError

_GLOB_CHARS = frozenset("*?[")


def normalise_host(host: str) -> str:
    """`Pay.Partner.Example.:8080` → `pay.partner.example`; `[2001:db8::1]:80` → `2001:db8::1`."""
    text = host.strip().lower()
    if text.startswith("["):  # an IPv6 literal, RFC 3986 §3.2.2
        return text[1 : text.find("]")] if "]" in text else text[1:]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


class TrustedHosts:
    """Host names, domain suffixes, fnmatch patterns and IP networks an analyst trusts."""

    __slots__ = ("exact", "globs", "networks", "patterns", "suffixes")

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        if isinstance(patterns, str):
            raise TypeError("pass patterns as a list (or use TrustedHosts.coerce for a comma-separated string)")
        self.patterns: tuple[str, ...] = tuple(p.strip() for p in patterns if p and p.strip())
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        self.globs: list[str] = []
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for pattern in self.patterns:
            lowered = pattern.lower().rstrip(".")
            try:
                self.networks.append(ipaddress.ip_network(lowered, strict=False))
                continue
            except ValueError:
                pass
            if _GLOB_CHARS & set(lowered):
                self.globs.append(lowered)
            elif lowered.startswith("."):
                self.suffixes.append(lowered)
            else:
                self.exact.add(normalise_host(lowered))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrustedHosts:
        """One pattern a line; blank lines and `#` comments (whole-line or trailing) are skipped."""
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return cls(line.split("#", 1)[0].strip() for line in lines)

    @classmethod
    def coerce(cls, value: TrustedSpec) -> TrustedHosts:
        """What an analyst passes as `trusted_hosts=`: None (trust nobody), a TrustedHosts, a
        path to a file of lines (a `Path`, or a string naming an existing file), a string of
        comma-separated patterns, or any iterable of patterns."""
        if value is None:
            return cls()
        if isinstance(value, TrustedHosts):
            return value
        if isinstance(value, os.PathLike):
            return cls.from_file(value)
        if isinstance(value, str):
            # A file name is tried first: `trusted_hosts="partners.txt"` must not silently
            # become a host called partners.txt. No host name is also an existing file here.
            if os.path.isfile(value):
                return cls.from_file(value)
            return cls(value.split(","))
        try:
            return cls(list(value))
        except TypeError as exc:
            raise UsageError(f"trusted_hosts: expected patterns, a file or None, not {type(value).__name__}") from exc

    def __len__(self) -> int:
        return len(self.patterns)

    def __repr__(self) -> str:
        return f"TrustedHosts({list(self.patterns)!r})"

    def matches_host(self, host: str) -> bool:
        name = normalise_host(host)
        if name in self.exact:
            return True
        if any(name == s[1:] or name.endswith(s) for s in self.suffixes):
            return True
        if any(fnmatch.fnmatchcase(name, g) for g in self.globs):
            return True
        return bool(self.networks) and self.matches_ip(name)

    def matches_ip(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def mask(self, hosts: pd.Series, server_ips: pd.Series | None = None) -> np.ndarray:
        """A boolean array: which rows went to a trusted host (or trusted server address).

        Each distinct host is matched once: a month of requests has a few hundred hosts.
        """
        out = np.zeros(len(hosts), dtype=bool)
        if not self.patterns or not len(hosts):
            return out
        text = hosts.astype("string")
        verdict = {h: self.matches_host(h) for h in text.dropna().unique()}
        out |= text.map(verdict).fillna(False).to_numpy(dtype=bool)
        if self.networks and server_ips is not None:
            ips = server_ips.astype("string")
            by_ip = {ip: self.matches_ip(ip) for ip in ips.dropna().unique()}
            out |= ips.map(by_ip).fillna(False).to_numpy(dtype=bool)
        return out


# What every `trusted_hosts=` parameter accepts (see `TrustedHosts.coerce`).
TrustedSpec = TrustedHosts | str | os.PathLike[str] | Iterable[str] | None
