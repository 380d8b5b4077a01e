"""MCC/MNC (ITU-T E.212) lookup: which home network an IMSI names, or that it names none.

Source choice. The table is ``analyzer/data/mcc_mnc.csv``, converted by ``scripts/refresh_mcc_mnc.py`` from the npm
package ``mcc-mnc-list`` 1.1.11 (pbakondy/mcc-mnc-list, MIT code; data scraped from the English Wikipedia
"Mobile country code" / "Mobile Network Codes in ITU region" pages, CC BY-SA 4.0). ``mcc_mnc.SOURCE.md`` beside it
records the tarball checksum and counts. Why a data file and not a PyPI package: the maintained PyPI lists are
AGPL (``mcc-mnc-p1``, which an Apache-2.0 tool cannot depend on) or scrape a web site at run time and ship no data
(``mccmnc``), and an analyser that must work offline and give the same answer tomorrow needs a pinned table whose
origin a reviewer can check. Wikipedia's tables are kept in step with the ITU's E.212 bulletins, keep the MNC
digits as allocated (``310`` is not ``31``; ``010`` is not ``10``), carry brand names that a report can print
("Claro"), and mark networks the ITU does not list.

Lookup. The IMSI does not say how long its MNC is (the SIM's EF_AD does; 3GPP TS 31.102 §4.2.18), so both
lengths are tried against the table, the 3-digit MNC first, then the 2-digit one. Most MCCs use one length, so at
most one reading exists; a few have both (India 405: 405-03 Reliance and 405-030 TATA DOCOMO; also 338, 714 and
310-59/590). Nothing in the digits settles those, so `imsi_home_networks` returns every reading and
`imsi_home_network` only the first, by that fixed order. Test (001) and internal-use (999) networks are not a
subscriber's home network and are left out unless asked for.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Network",
    "NetworkTable",
    "imsi_home_network",
    "imsi_home_networks",
    "is_known_mcc",
    "load_networks",
    "networks_for",
]

# Package data lives in analyzer/data/ (no __init__.py there: pyproject ships it as analyzer's "data/*"), so it is
# reached from the analyzer package rather than imported as a package of its own.
_DATA_PACKAGE = "analyzer"
_DATA_DIR = "data"
_FILE = "mcc_mnc.csv"
# MCC (3) + at least a 2-digit MNC; E.212 caps the IMSI at 15 digits. Shorter inputs than 15 are allowed so the same
# call checks an MCC-MNC pair from X-WAP-3GPP-SGSN-MCC-MNC or x-up-3gpp-sgsn-mcc-mnc; length rules for a whole IMSI
# belong to the detector.
_DIGITS = re.compile(r"[0-9]{5,15}")
_TEST_TYPE = "Test"
# The file's columns in the order of Network's fields.
_COLUMNS = ("mcc", "mnc", "country_iso", "country_name", "brand", "operator", "status", "type", "notes")


@dataclass(frozen=True, slots=True)
class Network:
    """One row of the MCC/MNC table: a network code as allocated, with its country and operator."""

    mcc: str
    mnc: str  # digits as allocated: "310", "10", "010"
    country_iso: str  # ISO 3166-1 alpha-2 mostly; "GE-AB" (Abkhazia), "BL/GF/GP/MF/MQ", "" for international/test
    country_name: str
    brand: str  # "Claro"; may be ""
    operator: str  # legal name, "AMX Argentina S.A."; may be ""
    status: str  # "Operational", "Not operational", "Unknown", ... (a 2012 capture may show a network now closed)
    entry_type: str  # "National", "International" (901, 902, 991, 995) or "Test" (001, 999)
    notes: str

    @property
    def plmn(self) -> str:
        return self.mcc + self.mnc


@dataclass(frozen=True, slots=True)
class NetworkTable:
    """The loaded table: rows by (mcc, mnc) in file order, and the set of MCCs in use."""

    by_plmn: Mapping[tuple[str, str], tuple[Network, ...]]
    mccs: frozenset[str]


@functools.cache
def load_networks() -> NetworkTable:
    """The table, read from the package data on first use and kept for the life of the process."""
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, _FILE).read_text(encoding="utf-8")
    rows = csv.reader(io.StringIO(text))
    # Columns by name, rows as lists: a DictReader and keyword arguments cost a first scan
    # of a capture holding an IMSI twice as much (3000 rows).
    header = next(rows)
    fields = [header.index(column) for column in _COLUMNS]
    grouped: dict[tuple[str, str], list[Network]] = {}
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{_FILE} line {line}: {len(row)} fields, not {len(header)}")
        mcc, mnc, *rest = (row[i] for i in fields)
        if not (len(mcc) == 3 and mcc.isdigit() and len(mnc) in (2, 3) and mnc.isdigit()):
            raise ValueError(f"{_FILE} line {line}: bad MCC/MNC {mcc!r}/{mnc!r}")
        network = Network(mcc, mnc, *rest)
        # One MCC-MNC may be listed once per territory (234-03: Guernsey, Jersey, GB); all are kept, in file order.
        grouped.setdefault((mcc, mnc), []).append(network)
    by_plmn = {key: tuple(value) for key, value in grouped.items()}
    return NetworkTable(by_plmn=by_plmn, mccs=frozenset(mcc for mcc, _ in by_plmn))


def networks_for(mcc: str, mnc: str, *, include_test: bool = False) -> tuple[Network, ...]:
    """Every table row for this exact MCC and MNC (the MNC's length matters: ``"010"`` is not ``"10"``)."""
    found = load_networks().by_plmn.get((mcc, mnc), ())
    return found if include_test else tuple(n for n in found if n.entry_type != _TEST_TYPE)


def is_known_mcc(mcc: str) -> bool:
    """Whether any network in the table uses this MCC (test MCCs 001 and 999 included)."""
    return mcc in load_networks().mccs


@functools.lru_cache(maxsize=4096)
def imsi_home_networks(digits: str, *, include_test: bool = False) -> tuple[Network, ...]:
    """All networks an IMSI's leading digits can name: 3-digit-MNC matches first, then 2-digit ones.

    ``digits`` must be ASCII digits only, 5 to 15 of them; anything else gives ``()``.
    """
    if not _DIGITS.fullmatch(digits):
        return ()
    mcc = digits[:3]
    candidates: list[Network] = []
    if len(digits) >= 6:
        candidates.extend(networks_for(mcc, digits[3:6], include_test=include_test))
    candidates.extend(networks_for(mcc, digits[3:5], include_test=include_test))
    return tuple(candidates)


def imsi_home_network(digits: str, *, include_test: bool = False) -> Network | None:
    """The home network of an IMSI (``722310115238848`` → Claro AR, 722-310), or None if no real MCC+MNC starts it.

    Where the table allows more than one reading (see the module docstring), this is the first of
    `imsi_home_networks`: the 3-digit MNC, then the first territory listed.
    """
    found = imsi_home_networks(digits, include_test=include_test)
    return found[0] if found else None
