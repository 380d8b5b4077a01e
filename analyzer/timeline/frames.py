"""What the timeline modules share: checking a frame's columns, and the request table.

The summaries read a findings frame (any filtered slice of `Analysis.findings`); the ones
that need a denominator ("how many requests were there at all?") also read the messages
frame, because a findings frame only holds the requests that carried something.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analyzer.errors import UsageError
from analyzer.schema import TIMESTAMP

# Columns the findings-based summaries read. A filtered or sorted findings frame has them
# all; a hand-picked subset of columns, or a messages frame passed by mistake, does not.
FINDINGS_NEEDS = (
    "ts",
    "message_id",
    "source",
    "flow_id",
    "server_ip",
    "host",
    "direction",
    "where",
    "field",
    "kind",
    "value",
    "identifier",
    "confidence",
)
MESSAGES_NEEDS = ("ts", "message_id", "direction", "host", "server_ip")


def require(frame: object, columns: Iterable[str], what: str) -> pd.DataFrame:
    """`frame`, once it is shown to be a DataFrame with `columns` and a datetime `ts`."""
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"{what}: expected a pandas DataFrame, not {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        hint = " (is it Analysis.messages? pass Analysis.findings)" if "identifier" in missing else ""
        raise UsageError(f"{what}: the frame lacks column(s) {', '.join(missing)}{hint}")
    if "ts" in frame.columns and not isinstance(frame["ts"].dtype, pd.DatetimeTZDtype):
        raise UsageError(f"{what}: column ts must be {TIMESTAMP}, not {frame['ts'].dtype}")
    return frame


def request_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings of requests: identifiers *sent to* the host. A response's identifier (a
    Set-Cookie, a redirect) came from the host, so it says nothing of what the host received."""
    return findings[findings["direction"].astype("string").eq("request").fillna(False).to_numpy(dtype=bool)]


def requests_table(findings: pd.DataFrame, messages: pd.DataFrame | None) -> pd.DataFrame:
    """One row per request with a time: `message_id, ts, host, server_ip, identified`.

    With `messages`, every request of the capture, `identified` telling those that carried
    at least one identifier of `findings`. Without, only the requests `findings` holds (all
    identified). Rows without a time (a HAR entry without startedDateTime) cannot be placed
    on a timeline and are left out.
    """
    carried = request_findings(findings)
    ids = np.unique(carried["message_id"].to_numpy(dtype=np.int64))
    if messages is not None:
        require(messages, MESSAGES_NEEDS, "messages")
        rows = messages[messages["direction"].astype("string").eq("request").fillna(False).to_numpy(dtype=bool)]
        table = rows[["message_id", "ts", "host", "server_ip"]]
    else:
        table = carried.drop_duplicates("message_id")[["message_id", "ts", "host", "server_ip"]]
    table = table[table["ts"].notna()].reset_index(drop=True)
    identified = np.isin(table["message_id"].to_numpy(dtype=np.int64), ids)
    return table.assign(identified=identified).sort_values(["ts", "message_id"], kind="stable").reset_index(drop=True)


def distinct_lists(codes: np.ndarray, values: pd.Series, groups: int) -> list[list[str]]:
    """For group numbers `codes` (0 … groups-1, one per row of `values`), each group's
    distinct non-null values as a sorted list of str: a list even for one value, so a
    column's cells have one type whatever the input. One sort for all groups, not a Python
    call per group (a month of findings has thousands of identifiers)."""
    present = values.notna().to_numpy(dtype=bool)
    pairs = pd.DataFrame(
        {"group": codes[present], "value": [str(v) for v in values.to_numpy(dtype=object)[present]]}
    ).drop_duplicates()
    pairs = pairs.sort_values(["group", "value"], kind="stable")
    group, text = pairs["group"].to_numpy(), pairs["value"].tolist()
    lists: list[list[str]] = [[] for _ in range(groups)]
    if not len(group):
        return lists
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    for start, end in zip(starts.tolist(), [*starts[1:].tolist(), len(group)], strict=True):
        lists[int(group[start])] = text[start:end]
    return lists
