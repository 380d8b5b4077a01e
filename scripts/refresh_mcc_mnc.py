"""Rebuild analyzer/data/mcc_mnc.csv from the npm package ``mcc-mnc-list`` (pbakondy/mcc-mnc-list).

Usage (from the repository root)::

    npm pack mcc-mnc-list@1.1.11          # the ordinary npm client; writes mcc-mnc-list-1.1.11.tgz
    python scripts/refresh_mcc_mnc.py mcc-mnc-list-1.1.11.tgz

The script reads ``package/mcc-mnc-list.json`` straight out of the tarball (or a plain JSON file), keeps every
entry whose MCC is three digits and whose MNC is two or three digits, and writes the CSV sorted by (mcc, mnc)
so that a refresh shows up as a readable diff. Entries it cannot use are printed, never silently dropped.
After a refresh, update analyzer/data/mcc_mnc.SOURCE.md (version, shasum, counts) and run the tests.

The script does not download anything itself: fetching stays with the npm client, so the provenance
(package version, tarball shasum) is what ``npm pack`` printed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "analyzer" / "data" / "mcc_mnc.csv"
COLUMNS = ("mcc", "mnc", "type", "country_iso", "country_name", "brand", "operator", "status", "notes")
# E.212: the MCC is 3 digits, the MNC 2 or 3. The source also has 5-digit French private-network codes
# (208-50144 ...), a range ("100 - 190") and "?" placeholders; none of them can prefix an IMSI as written.
_MCC = re.compile(r"[0-9]{3}")
_MNC = re.compile(r"[0-9]{2,3}")


def _load(path: Path) -> tuple[list[dict[str, Any]], str]:
    raw = path.read_bytes()
    digest = hashlib.sha1(raw).hexdigest()  # npm's dist.shasum is a SHA-1 of the tarball
    if path.suffix in {".tgz", ".gz"}:
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile("package/mcc-mnc-list.json")
            if member is None:
                raise SystemExit(f"{path}: no package/mcc-mnc-list.json inside")
            data = json.load(member)
    else:
        data = json.loads(raw)
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of entries")
    return data, digest


def _text(value: object) -> str:
    # The source uses null for "not given"; the CSV uses the empty string. Newlines would break one-row-per-entry.
    return "" if value is None else " ".join(str(value).split())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    entries, digest = _load(Path(argv[1]))
    rows: list[dict[str, str]] = []
    skipped: list[dict[str, Any]] = []
    for entry in entries:
        mcc, mnc = _text(entry.get("mcc")), _text(entry.get("mnc"))
        if not (_MCC.fullmatch(mcc) and _MNC.fullmatch(mnc)):
            skipped.append(entry)
            continue
        rows.append(
            {
                "mcc": mcc,
                "mnc": mnc,
                "type": _text(entry.get("type")),
                "country_iso": _text(entry.get("countryCode")),
                "country_name": _text(entry.get("countryName")),
                "brand": _text(entry.get("brand")),
                "operator": _text(entry.get("operator")),
                "status": _text(entry.get("status")),
                "notes": _text(entry.get("notes")),
            }
        )
    # Stable sort: entries sharing one MCC-MNC (territories, Channel Islands ...) keep the source's order.
    rows.sort(key=lambda row: (row["mcc"], row["mnc"]))
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"source sha1 {digest}: {len(entries)} entries, {len(rows)} written to {OUTPUT}, {len(skipped)} skipped")
    for entry in skipped:
        where = f"{entry.get('countryName')}: {entry.get('operator')}"
        print(f"  skipped: mcc={entry.get('mcc')!r} mnc={entry.get('mnc')!r} {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
