"""The header catalog: which HTTP header names carry subscriber identity, kept as data.

The facts are in ``analyzer/data/header_catalog.csv`` (one row per header name, copied from the research note
``shared/research/header-catalog.md`` with its evidence grades and source tags; the tags resolve in
``analyzer/data/header_sources.csv``). This module loads both once and answers, for every header of every
message, "is this name in the catalog, and what does it carry?", so a lookup is a cached dict hit.

Name matching. Operators, gateways, CGI environments and dumps spell one header many ways: ``X-Up-Calling-Line-ID``
on the wire, ``HTTP_X_UP_CALLING_LINE_ID`` in a PHP/Rack/CGI dump, ``x-jinny.cid`` beside ``x-jinny-cid``,
``X-H3-G-Msisdn`` for ``x-h3g-msisdn``, ``" x-up-subno"`` with a stray space (note §2.13). Three keys, tried in order:

1. **exact**: the name stripped and lower-cased equals a catalog name lower-cased (header names are
   case-insensitive, RFC 9110 §5.1). A catalog row that is itself a variant spelling (``x-jinny.cid``) is found as
   itself.
2. **normalised** (`normalise_header_name`), the canonical key: lower case, a CGI ``HTTP_`` prefix removed, runs
   of ``_``, ``.`` and white space turned into ``-``, separators trimmed at the ends. Hyphen-lower-case is what
   HTTP/2 puts on the wire and what most of the note writes, so keys read like header names in reports.
3. **compact** (`compact_header_name`): letters and digits only. It joins spellings that differ only in where
   the separators fall (``X-H3-G-Msisdn`` / ``x-h3g-msisdn``, ``X-Nokia-IP_ADDRESS`` / ``x-nokia-ipaddress``,
   ``X-WAP-IP-ADDR`` / ``X-WAPIPADDR``). Digits stay in the key so ``x-amobee-1`` and ``x-amobee-2`` remain
   two headers. Because it also joins names nobody meant to be the same (an OAuth ``Client-Id`` hits Sprint's
   ``ClientID``), a match reports *how* it matched (`MatchMethod`), so a rule can ask for more evidence from the
   value before it reports a compact-only match. The tests check that no two catalog rows share a key unless the
   note calls them spellings of one header (``variant_of``).

Where two rows share a normalised or compact key, the key points at the row without ``variant_of`` (the note's
main spelling).

Unknown names. `name_heuristic` is the note's §2.13 suffix rule (after Adobe's subscriber-header algorithm [S6]):
strip everything but letters, lower-case, suffix-match a list of identity words, plus ``msisdn`` anywhere and
``imsi``/``imei`` at the start of a word. It gives a *candidate* kind, never a finding on its own.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

__all__ = [
    "IDENTITY_KINDS",
    "NAME_CACHE_SIZE",
    "Catalog",
    "CatalogEntry",
    "CatalogMatch",
    "Evidence",
    "Kind",
    "MatchMethod",
    "Source",
    "compact_header_name",
    "entries",
    "load_catalog",
    "lookup",
    "match_header_name",
    "name_heuristic",
    "normalise_header_name",
]

# Distinct header names seen per cache. A real capture has a few hundred distinct names (the test corpus has
# about 250 over 40 files); the bound keeps a fuzzed capture full of random names from growing memory.
NAME_CACHE_SIZE = 8192

# Package data lives in analyzer/data/ (no __init__.py there: pyproject ships it as analyzer's "data/*"), so it is
# reached from the analyzer package rather than imported as a package of its own.
_DATA_PACKAGE = "analyzer"
_DATA_DIR = "data"
_CATALOG_FILE = "header_catalog.csv"
_SOURCES_FILE = "header_sources.csv"


class Kind(StrEnum):
    """What a header carries. The values are the ``kind`` column of the catalog CSV."""

    MSISDN = "msisdn"
    IMSI = "imsi"
    IMEI = "imei"
    IMEISV = "imeisv"
    OPAQUE_SUBSCRIBER_ID = "opaque-subscriber-id"  # stable per subscriber, no number in it (x-up-subno, X-DCMGUID)
    TRACKING_TOKEN = "tracking-token"  # advertising "supercookie", may rotate (X-UIDH, X-ACR)
    ALIAS_MSISDN = "alias-msisdn"  # encrypted or aliased number (x-nokia-alias, x-vf-acr)
    NETWORK_CONTEXT = "network-context"  # private IP, APN, bearer, roaming, core nodes: re-identification aids
    DEVICE_ID = "device-id"
    LOCATION = "location"
    SUBSCRIBER_ATTRIBUTE = "subscriber-attribute"  # plan, prepaid flag, account data
    GATEWAY_ID = "gateway-id"
    OPERATOR_ID = "operator-id"


# The kinds whose values are identifiers with a checkable format (E.164, E.212, Luhn).
IDENTITY_KINDS: frozenset[Kind] = frozenset({Kind.MSISDN, Kind.IMSI, Kind.IMEI, Kind.IMEISV})


class Evidence(StrEnum):
    """The note's grades (§0): V, C and U."""

    VERIFIED = "verified"  # vendor/operator documentation, or real traffic, dump or log
    CODE_ATTESTED = "code-attested"  # third-party code or config that reads, injects or strips it
    UNVERIFIED = "unverified"  # only in generic "possible MSISDN headers" lists: a candidate, not a fact


class MatchMethod(StrEnum):
    """Which key of a header name hit the catalog (see the module docstring)."""

    EXACT = "exact"
    NORMALISED = "normalised"
    COMPACT = "compact"


@dataclass(frozen=True, slots=True)
class Source:
    """One row of header_sources.csv: a tag (``S1``, ``idx:26365229377``) and what it points to."""

    tag: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One header name of the catalog, with the note's facts about it."""

    name: str  # as usually written (the note's spelling)
    key: str  # normalise_header_name(name)
    kind: Kind
    vendors: tuple[str, ...]
    operators: tuple[str, ...]  # with country where the note knows it: "O2 UK", "Claro PA"
    evidence: Evidence
    sources: tuple[str, ...]  # tags, resolved by load_catalog().sources
    value_format: str
    notes: str
    variant_of: str | None  # the main spelling this row is a variant of, per the note

    @property
    def is_identity(self) -> bool:
        return self.kind in IDENTITY_KINDS


@dataclass(frozen=True, slots=True)
class CatalogMatch:
    entry: CatalogEntry
    method: MatchMethod


@dataclass(frozen=True, slots=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    sources: Mapping[str, Source]
    by_exact: Mapping[str, CatalogEntry]
    by_key: Mapping[str, CatalogEntry]
    by_compact: Mapping[str, CatalogEntry]


# --- name normalisation -------------------------------------------------------------------------------------

# CGI/PHP/Rack expose a request header as HTTP_<NAME> with '-' turned into '_' (RFC 3875 §4.1.18). Removed
# repeatedly so a dump of a handset that literally sends "HTTP_PHONE_NUMBER" (Korean KTF, note §1g) still meets
# the catalog row of that name. Only the underscore form: "HTTP-Referer" is a real (misspelt) header name.
_CGI_PREFIX = "http_"
_SEPARATOR_RUN = re.compile(r"[\s_.\-]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def normalise_header_name(name: str) -> str:
    """The canonical key of a header name: ``HTTP_X_UP_CALLING_LINE_ID`` → ``x-up-calling-line-id``.

    Lower case; CGI ``HTTP_`` prefix removed; each run of ``_``, ``.``, ``-`` and white space becomes one ``-``;
    ``-`` trimmed at both ends (``" x-up-subno"``, ``_rapmin``). Other characters are kept as they are.
    """
    lowered = name.strip().lower()
    while lowered.startswith(_CGI_PREFIX) and len(lowered) > len(_CGI_PREFIX):
        lowered = lowered[len(_CGI_PREFIX) :]
    return _SEPARATOR_RUN.sub("-", lowered).strip("-")


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def compact_header_name(name: str) -> str:
    """Letters and digits only, of the canonical key: ``X-H3-G-Msisdn`` → ``xh3gmsisdn``."""
    return _NOT_ALNUM.sub("", normalise_header_name(name))


# --- loading ------------------------------------------------------------------------------------------------


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def _read_csv(filename: str) -> list[dict[str, str]]:
    text = resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _build(rows: list[dict[str, str]], source_rows: list[dict[str, str]]) -> Catalog:
    sources = {row["tag"]: Source(row["tag"], row["title"], row["url"] or None) for row in source_rows}
    entries: list[CatalogEntry] = []
    for line, row in enumerate(rows, start=2):  # line 1 is the CSV header
        where = f"{_CATALOG_FILE} line {line} ({row.get('name')!r})"
        try:
            kind, evidence = Kind(row["kind"]), Evidence(row["evidence"])
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        tags = _split(row["sources"])
        unknown = [tag for tag in tags if tag not in sources]
        if unknown:
            raise ValueError(f"{where}: source tags not in {_SOURCES_FILE}: {unknown}")
        entries.append(
            CatalogEntry(
                name=row["name"],
                key=normalise_header_name(row["name"]),
                kind=kind,
                vendors=_split(row["vendors"]),
                operators=_split(row["operators"]),
                evidence=evidence,
                sources=tags,
                value_format=row["value_format"],
                notes=row["notes"],
                variant_of=row["variant_of"] or None,
            )
        )

    by_exact: dict[str, CatalogEntry] = {}
    for entry in entries:
        exact = entry.name.strip().lower()
        if exact in by_exact:
            raise ValueError(f"{_CATALOG_FILE}: {entry.name!r} is listed twice (names are case-insensitive)")
        by_exact[exact] = entry
    for entry in entries:
        if entry.variant_of is not None and entry.variant_of.lower() not in by_exact:
            raise ValueError(f"{_CATALOG_FILE}: {entry.name!r} is a variant of {entry.variant_of!r}, not in the file")

    def index(key_of: Callable[[str], str]) -> dict[str, CatalogEntry]:
        # Main spellings first, so a key shared with a variant row points at the main row.
        table: dict[str, CatalogEntry] = {}
        for entry in sorted(entries, key=lambda e: e.variant_of is not None):
            table.setdefault(key_of(entry.name), entry)
        return table

    return Catalog(
        entries=tuple(entries),
        sources=sources,
        by_exact=by_exact,
        by_key=index(normalise_header_name),
        by_compact=index(compact_header_name),
    )


@functools.cache
def load_catalog() -> Catalog:
    """The catalog, read from the package data on first use and kept for the life of the process."""
    return _build(_read_csv(_CATALOG_FILE), _read_csv(_SOURCES_FILE))


def entries() -> tuple[CatalogEntry, ...]:
    return load_catalog().entries


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def match_header_name(name: str) -> CatalogMatch | None:
    """The catalog row for a header name as seen on the wire or in a dump, and how it matched."""
    catalog = load_catalog()
    entry = catalog.by_exact.get(name.strip().lower())
    if entry is not None:
        return CatalogMatch(entry, MatchMethod.EXACT)
    entry = catalog.by_key.get(normalise_header_name(name))
    if entry is not None:
        return CatalogMatch(entry, MatchMethod.NORMALISED)
    compact = compact_header_name(name)
    entry = catalog.by_compact.get(compact) if compact else None
    if entry is not None:
        return CatalogMatch(entry, MatchMethod.COMPACT)
    return None


def lookup(name: str) -> CatalogEntry | None:
    """The catalog row for a header name, or None. Case-, CGI- and separator-insensitive (module docstring)."""
    found = match_header_name(name)
    return None if found is None else found.entry


# --- heuristic for names not in the catalog -----------------------------------------------------------------

# Suffixes of the letters-only lower-case name (note §2.13: Adobe's ID-type list [S6] plus the note's additions),
# longest first so "imeisv" wins over "imei"-like endings and "callinglineid" over shorter ones. Adobe's IP-type
# suffixes (forwardedfor, clientip, ...) are left out on purpose: they name network context, and X-Forwarded-For
# is on nearly every proxied request. "phonenumber" is added for the Korean handset header HTTP_PHONE_NUMBER (§1g).
_SUFFIX_KINDS: tuple[tuple[str, Kind], ...] = tuple(
    sorted(
        (
            ("callinglineid", Kind.MSISDN),
            ("phonenumber", Kind.MSISDN),
            ("msisdn", Kind.MSISDN),
            ("clid", Kind.MSISDN),  # x-hts-clid, x-nx-clid, x-msp-clid: calling line ID
            ("cli", Kind.MSISDN),  # x-orange-cli, x-wsb-cli, igcli
            ("mdn", Kind.MSISDN),  # x-mdn, x-wap-sesiones3g-mdn: mobile directory number
            ("imsi", Kind.IMSI),
            ("imeisv", Kind.IMEISV),
            ("imei", Kind.IMEI),
            ("subno", Kind.OPAQUE_SUBSCRIBER_ID),
            ("subid", Kind.OPAQUE_SUBSCRIBER_ID),
            ("partyid", Kind.OPAQUE_SUBSCRIBER_ID),
            ("userid", Kind.OPAQUE_SUBSCRIBER_ID),
            ("clientid", Kind.OPAQUE_SUBSCRIBER_ID),
            ("uid", Kind.OPAQUE_SUBSCRIBER_ID),
            ("deviceid", Kind.DEVICE_ID),
            ("acr", Kind.TRACKING_TOKEN),  # anonymous customer reference (X-ACR, x-vf-acr)
            ("alias", Kind.ALIAS_MSISDN),
        ),
        key=lambda pair: -len(pair[0]),
    )
)

# Names that end in an identity suffix but are web plumbing, not subscriber identity.
_NOT_SUBSCRIBER = re.compile(
    # A UUID/GUID or ID of a request, trace or session ("X-Request-UID", "UUID", "X-Correlation-GUID"):
    r"(?:uuid|(?:request|trace|span|correlation|session|transaction|message|event|conversation|operation"
    r"|upload|object|execution|job|task|page|cache|edge)g?uid"
    # Ad-click IDs that ride in URLs and sometimes in headers (Google, Facebook, DoubleClick, Yandex, TikTok,
    # Twitter): they end in "clid" but name a click, not a calling line.
    r"|gclid|fbclid|dclid|yclid|ttclid|twclid)$"
)
_NON_LETTERS = re.compile(r"[^a-z]+")
# Word boundaries for the "at the start of a word" test: separators and lower→upper case changes.
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def name_heuristic(name: str) -> tuple[Kind, str] | None:
    """A candidate identity kind for a header name the catalog does not know, and the text that matched.

    ``X-Nokia-CallingLineID`` → ``(Kind.MSISDN, "callinglineid")``; ``X-IMSI-Enc`` → ``(Kind.IMSI, "imsi")``;
    ``X-Forwarded-For``, ``Cookie``, ``X-Request-UID`` → ``None``.
    """
    letters = _NON_LETTERS.sub("", name.lower())
    if not letters or _NOT_SUBSCRIBER.search(letters):
        return None
    for suffix, kind in _SUFFIX_KINDS:
        if letters.endswith(suffix):
            return kind, suffix
    # "msisdn" is never part of an ordinary word, so anywhere counts (User-Identity-Forward-msisdn-hash).
    if "msisdn" in letters:
        return Kind.MSISDN, "msisdn"
    # "imsi"/"imei" hide inside joined words ("claimsinfo", "runtimeinfo"), so they must start a word of the
    # original name: X-IMSI-Enc, X-Imei-Hash, X-Up-3GPP-IMEISV-Raw.
    for word in _WORD_SPLIT.split(name.strip()):
        word = word.lower().lstrip("0123456789")
        if word.startswith("imeisv"):
            return Kind.IMEISV, "imeisv"
        if word.startswith("imei"):
            return Kind.IMEI, "imei"
        if word.startswith("imsi"):
            return Kind.IMSI, "imsi"
    return None
