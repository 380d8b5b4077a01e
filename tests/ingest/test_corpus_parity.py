"""Parity with tshark on every capture of the public corpus.

Every HTTP request and response that `tshark -o tcp.reassemble_out_of_order:TRUE` reports
must be reproduced: same completing frame, same method and URI or status, same multiset
of (name, value) header pairs. lineid may report more; each such case is listed in
`DELIBERATE` with the reason, and an unlisted extra fails the test.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from tests import tshark_oracle
from tests.helpers import CORPUS

CAPTURES = sorted(p for p in CORPUS.rglob("*") if re.search(r"\.(pcap|pcapng)(\.gz)?$", p.name))

AFTER_GAP = "recovered after a TCP gap: tshark stops parsing the direction at the hole; lineid resynchronises"
SMUGGLED = "a request hidden behind a malformed framing header; tshark reads it as body, lineid as a message"
FUZZED = (
    "fuzzed capture: header blocks cut by fuzzed bytes or segments tshark's reassembly drops; lineid keeps "
    "each message as far as it goes (HTTP_HEADERS_INCOMPLETE / TCP_GAP anomalies)"
)

PARTIAL = (
    "header lines whose start line was not captured (capture start, gap) or was not HTTP (a method fuzzer's "
    "request): tshark shows nothing, lineid keeps them as a partial message (Zeek logs such requests too)"
)
# (capture file name, frame, direction) -> why lineid reports a message tshark does not.
# Partial messages (`partial` column) are always allowed, for the reason PARTIAL.
DELIBERATE: dict[tuple[str, int, str], str] = {
    ("twovlan.pcap", 6, "response"): "the capture ends inside the body; lineid keeps the cut response "
    "(HTTP_BODY_INCOMPLETE), tshark shows nothing",
    ("http-gap-simple.pcap", 22, "response"): AFTER_GAP,
    ("http-gap-simple.pcap", 26, "response"): AFTER_GAP,
    ("variant-01-chunk_2pow64_overflow.pcap", 4, "request"): SMUGGLED,
    ("variant-09-te_obs_fold.pcap", 4, "request"): SMUGGLED,
    **{
        ("fuzz-2006-09-29-28586.pcap", f, d): FUZZED
        for f, d in [
            (77, "request"),
            (81, "request"),
            (92, "response"),
            (100, "request"),
            (103, "response"),
            (124, "request"),
            (128, "request"),
        ]
    },
}
# A whole capture's extras with one reason: 999 responses after the one dropped segment.
DELIBERATE_FILES = {"1000-requests-one-dropped-response.pcap.gz": ("response", AFTER_GAP)}

# (capture, frame, direction) -> (pairs only tshark shows, pairs only lineid shows, why).
HEADER_DIFFERENCES: dict[tuple[str, int, str], tuple[set[tuple[str, str]], set[tuple[str, str]], str]] = {
    ("variant-09-te_obs_fold.pcap", 4, "request"): (
        {("transfer-encoding", "")},
        {("transfer-encoding", "chunked")},
        "obs-fold: tshark drops the continuation line; lineid joins it to the value (RFC 9112 §5.2), "
        "which is how a lenient server reads this smuggling attempt",
    ),
    ("fuzz-2006-09-29-28586.pcap", 126, "response"): (
        {("\x1aserver", "Microsoft-IIS/4.0")},
        set(),
        "a bare CR inside the status line: tshark ends the line there; lineid keeps it in the reason phrase "
        "(RFC 9112 §2.2: a bare CR is not a line end)",
    ),
}

_ESCAPED_BYTE = re.compile(r"\\x([0-9a-f]{2})")


def as_tshark_shows(value: str) -> str:
    """tshark's rendering of a value: invalid UTF-8 as U+FFFD, cut at the first NUL."""
    raw = _ESCAPED_BYTE.sub(lambda m: chr(int(m.group(1), 16)), value).encode("latin-1", "backslashreplace")
    # Characters above U+00FF were valid UTF-8 in the original; latin-1 cannot hold them.
    raw = value.encode("utf-8") if "\\x" not in value else raw
    return raw.decode("utf-8", "replace").split("\x00", 1)[0]


def _text(value: object) -> str | None:
    return None if value is None or value is pd.NA or value != value else str(value)


@pytest.mark.tshark
@pytest.mark.skipif(tshark_oracle.TSHARK is None, reason="tshark not installed (CI installs it)")
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_every_message_tshark_reports_is_reproduced(capture: Path) -> None:
    result = analyzer.analyze([capture])
    messages = result.messages
    headers = result.headers
    ours: Counter[tuple[object, ...]] = Counter()
    by_key: dict[tuple[object, ...], list[int]] = {}
    for row in messages.itertuples():
        is_request = row.direction == "request"
        key = (
            int(row.frame_last),
            row.direction,
            _text(row.method) if is_request else None,
            _text(row.uri) if is_request else None,
            None if is_request or pd.isna(row.status) else int(row.status),
        )
        ours[key] += 1
        by_key.setdefault(key, []).append(int(row.message_id))
    oracle = tshark_oracle.messages(str(capture))
    theirs = Counter((o.frame, o.direction, o.method, o.uri, o.status) for o in oracle)

    missing = theirs - ours
    assert not missing, f"tshark reports messages lineid does not: {sorted(missing)}"

    extra = ours - theirs
    partial = set(
        zip(messages["frame_last"].astype(int), messages["direction"].astype(str), messages["partial"], strict=True)
    )
    unexplained = []
    for frame, direction, *_ in extra:
        if (frame, direction, True) in partial:
            continue  # PARTIAL: a reason that holds for every such message
        reason = DELIBERATE.get((capture.name, frame, direction))
        whole_file = DELIBERATE_FILES.get(capture.name)
        if reason is None and not (whole_file and whole_file[0] == direction):
            unexplained.append((frame, direction))
    assert not unexplained, f"lineid reports messages tshark does not, with no reason listed: {unexplained}"

    grouped = headers.groupby("message_id", sort=False)
    for o in oracle:
        if not o.headers:
            continue  # several messages completed in one frame: tshark's lines are not separable
        ids = by_key.get((o.frame, o.direction, o.method, o.uri, o.status), [])
        assert len(ids) == 1, (o.frame, o.direction, ids)
        rows = grouped.get_group(ids[0]) if ids[0] in grouped.groups else headers.iloc[0:0]
        mine = Counter(
            (as_tshark_shows(str(n)).lower(), as_tshark_shows(str(v)))
            for n, v in zip(rows["raw_name"], rows["value"], strict=True)
        )
        expected_diff = HEADER_DIFFERENCES.get((capture.name, o.frame, o.direction))
        if expected_diff is None:
            assert mine == o.headers, (capture.name, o.frame, o.direction)
        else:
            tshark_only, ours_only, _reason = expected_diff
            assert (set(o.headers - mine), set(mine - o.headers)) == (tshark_only, ours_only)


def test_every_listed_difference_still_happens() -> None:
    """A DELIBERATE entry that no longer applies would hide a regression."""
    files = {name for name, _, _ in DELIBERATE}
    for capture in CAPTURES:
        if capture.name not in files:
            continue
        frames = analyzer.analyze([capture]).messages
        present = set(zip(frames["frame_last"].astype(int), frames["direction"].astype(str), strict=True))
        for name, frame, direction in DELIBERATE:
            if name == capture.name:
                assert (frame, direction) in present, (name, frame, direction)
