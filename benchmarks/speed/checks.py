"""Correctness checks beside the timings: lineid's request count against the generator's
truth, read from whatever lineid wrote.

`lineid scan -o DIR` writes a messages table (one row per HTTP message, `direction`
request/response) and a findings table; `lineid headers --format parquet` writes one row
per header line with the message's `message_id` and `direction`. Either is enough to
count requests; the messages table is preferred because a request without any header
line would not appear in the headers table (the generator never writes one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Count:
    requests: int | None
    responses: int | None
    how: str  # which file and rule the numbers come from, or why there are none
    identifiers: set[str] | None = None  # distinct identifiers in a findings table, if any


def _tables(root: Path, stem: str) -> list[Path]:
    """Parquet files or dataset directories named stem* under root, shallowest first."""
    if root.is_file():
        return [root] if root.name.startswith(stem) or stem == "*" else []
    hits = [p for p in root.rglob(f"{stem}*") if p.suffix == ".parquet" or (p.is_dir() and any(p.rglob("*.parquet")))]
    return sorted(hits, key=lambda p: (len(p.parts), str(p)))


def _read(path: Path, columns: list[str]) -> dict[str, list[object]] | None:
    import pyarrow.dataset as ds  # here, not at the top: the timing parent stays small

    dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
    names = set(dataset.schema.names)
    if not set(columns) <= names:
        return None
    table: dict[str, list[object]] = dataset.to_table(columns=columns).to_pydict()
    return table


def count_lineid_output(output: Path) -> Count:
    """Requests and responses lineid reported under output (a directory or one file)."""
    if not output.exists():
        return Count(None, None, f"{output} does not exist")
    identifiers = None
    for path in _tables(output, "findings"):
        found = _read(path, ["identifier"])
        if found is not None:
            identifiers = {str(v) for v in found["identifier"] if v is not None}
            break
    for path in _tables(output, "messages"):
        table = _read(path, ["direction"])
        if table is not None:
            directions = table["direction"]
            return Count(
                directions.count("request"),
                directions.count("response"),
                f"rows of {path.name} by direction",
                identifiers,
            )
    candidates = _tables(output, "headers") or (_tables(output, "*") if output.is_file() else [])
    for path in candidates:
        table = _read(path, ["message_id", "direction"])
        if table is not None:
            requests: set[object] = set()
            responses: set[object] = set()
            for mid, direction in zip(table["message_id"], table["direction"], strict=True):
                (requests if direction == "request" else responses).add(mid)
            return Count(len(requests), len(responses), f"distinct message_id by direction in {path.name}", identifiers)
    return Count(None, None, f"no messages or headers table (with a direction column) under {output}", identifiers)


def count_tshark_requests(fields_output: str) -> int:
    """Requests in `tshark -T fields -e frame.number -e http.request.method` output: one
    line per frame, and a frame that completes several pipelined requests lists every
    method, comma separated, so lines alone undercount."""
    total = 0
    for line in fields_output.splitlines():
        _, _, methods = line.partition("\t")
        if methods.strip():
            total += len(methods.split(","))
    return total


SCAPY_LOOP = r"""
import sys, time
from scapy.utils import PcapReader
path, limit, total = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
count, stopped = 0, 0
with PcapReader(path) as reader:
    for _ in reader:
        count += 1
        if not count & 1023:
            spent = time.perf_counter() - start
            # After 10 s the rate is stable: stop at once if the whole file would take
            # longer than the limit, instead of waiting the limit out.
            if spent > limit or (spent > 10 and total and total / (count / spent) > limit):
                stopped = 1
                break
print(count, round(time.perf_counter() - start, 6), stopped)
"""
