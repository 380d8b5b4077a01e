"""Every capture fixture against its golden output; the fixtures against their builder.

`fixtures/build_captures.py` writes each capture in `fixtures/captures/` beside
`<name>.expected.json`, derived from what it wrote, never from lineid. Here lineid must
report exactly those messages, ordered by the frame that completes them (with their
pairing, path and header lists), where each one's first byte was captured, the listed
anomalies and no warning the fixture does not list; an input that is no capture must be
refused cleanly by the API and the CLI; tshark must report the frames the golden file
says; and the builder must write the committed files byte for byte.

A fixture lineid gets wrong stays as it should be: its case is listed below with a
strict xfail saying exactly what lineid does instead, and turns into a failure as soon as
lineid is fixed (then delete the entry).
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import analyzer
from analyzer.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / "fixtures" / "build_captures.py"
CAPTURES = ROOT / "fixtures" / "captures"
GOLDEN_SUFFIX = ".expected.json"
TSHARK = shutil.which("tshark")


def _golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CAPTURES / f"{name}{GOLDEN_SUFFIX}").read_text(encoding="ascii"))
    return data


ALL = sorted(p.name.removesuffix(GOLDEN_SUFFIX) for p in CAPTURES.glob(f"*{GOLDEN_SUFFIX}"))
READABLE = [n for n in ALL if "error" not in _golden(n)]
REFUSED = [n for n in ALL if "error" in _golden(n)]

# Fields of a message row compared with the golden file, apart from where its first byte
# was seen (frame_first, ts), which `test_first_byte` checks on its own.
MESSAGE_FIELDS = (
    "direction",
    "method",
    "uri",
    "host",
    "status",
    "reason",
    "version",
    "trans_depth",
    "frame_last",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "vlan",
    "inner_vlan",
    "tunnel",
    "tunnel_id",
    "content_type",
    "content_encoding",
    "body_len",
    "gap",
)
FIRST_BYTE_FIELDS = ("frame_first", "ts")

# --------------------------------------------------------------------------- known failures
# fixture -> what lineid does instead of what the golden file says (strict xfail).
MESSAGE_FAILURES: dict[str, str] = {}
FIRST_BYTE_FAILURES: dict[str, str] = {}
ANOMALY_FAILURES: dict[str, str] = {}


def _cases(names: list[str], failures: dict[str, str]) -> list[Any]:
    unknown = set(failures) - set(names)
    assert not unknown, f"known failures name no fixture: {sorted(unknown)}"
    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=failures[n])) if n in failures else n for n in names
    ]


# --------------------------------------------------------------------------- lineid's view
@functools.cache
def _analysis(name: str) -> analyzer.Analysis:
    return analyzer.analyze([CAPTURES / name])


def _plain(value: Any) -> Any:
    """A frame cell as JSON would hold it: None for every kind of missing, ints as ints,
    timestamps as integer nanoseconds."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.value
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


def _rows(name: str, fields: tuple[str, ...], *, headers: bool) -> list[dict[str, Any]]:
    """lineid's messages in completion order (frame_last, then message_id: the k-th message
    completed in a frame), as golden rows."""
    result = _analysis(name)
    messages = result.messages.sort_values(["frame_last", "message_id"], kind="stable")
    pairs: dict[int, list[list[str]]] = {}
    for header in result.headers.sort_values(["message_id", "position"]).to_dict("records"):
        pairs.setdefault(header["message_id"], []).append([str(header["raw_name"]), str(header["value"])])
    rows = []
    for message in messages.to_dict("records"):
        row = {f: _plain(message[f]) for f in fields}
        if headers:
            row["headers"] = pairs.get(message["message_id"], [])
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", _cases(READABLE, MESSAGE_FAILURES))
def test_messages(name: str) -> None:
    """Every message the fixture holds, in completion order: start line, pairing,
    endpoints, path, header list exactly (raw names, wire order, duplicates), body length."""
    expected = [{f: m[f] for f in (*MESSAGE_FIELDS, "headers")} for m in _golden(name)["messages"]]
    assert _rows(name, MESSAGE_FIELDS, headers=True) == expected


@pytest.mark.parametrize("name", _cases(READABLE, FIRST_BYTE_FAILURES))
def test_first_byte(name: str) -> None:
    """frame_first and ts are where the message's first byte was captured (schema.py); a
    message whose first byte came in a Simple Packet Block has no time."""
    expected = [{f: m[f] for f in FIRST_BYTE_FIELDS} for m in _golden(name)["messages"]]
    assert _rows(name, FIRST_BYTE_FIELDS, headers=False) == expected


@pytest.mark.parametrize("name", _cases(READABLE, ANOMALY_FAILURES))
def test_anomalies_and_input(name: str) -> None:
    """The anomalies the fixture must raise, none it must not, no unlisted warning; the input
    recognised by content (format, compression)."""
    golden = _golden(name)
    result = _analysis(name)
    codes = set(result.anomalies["code"].astype(str))
    assert set(golden["anomalies"]) <= codes, f"missing: {sorted(set(golden['anomalies']) - codes)}"
    assert not set(golden["anomalies_absent"]) & codes, "forbidden anomalies present"
    # The fixture knows every oddity it holds: a warning or error it does not list is wrong.
    serious = result.anomalies[result.anomalies["severity"] != "info"]
    unlisted = sorted(set(serious["code"].astype(str)) - set(golden["anomalies"]))
    assert not unlisted, serious[serious["code"].isin(unlisted)][["code", "frame", "detail"]].to_string()
    (row,) = result.inputs.itertuples(index=False)
    assert (row.status, row.format, row.compression) == ("done", golden["format"], golden["compression"])


@pytest.mark.parametrize("name", REFUSED)
def test_refused_input_raises(name: str) -> None:
    """Not a capture: the API raises the golden file's error, naming the file."""
    error = getattr(analyzer, _golden(name)["error"])
    with pytest.raises(error) as info:
        analyzer.analyze([CAPTURES / name])
    assert name in str(info.value)


@pytest.mark.parametrize("name", REFUSED)
def test_refused_input_cli(name: str) -> None:
    """The CLI exits 2 with one line on stderr, naming the file, and no traceback."""
    result = CliRunner().invoke(cli_main, ["headers", str(CAPTURES / name)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "Traceback" not in result.output


def _tshark_reports(path: Path, args: list[str], *, may_fail: bool) -> list[tuple[int, str | int]]:
    assert TSHARK is not None
    command = [TSHARK, "-n", "-r", str(path), "-o", "tcp.reassemble_out_of_order:TRUE", *args]
    command += ["-Y", "http", "-T", "fields", "-e", "frame.number", "-e", "http.request.method"]
    command += ["-e", "http.response.code"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert may_fail or done.returncode == 0, done.stderr
    reports: list[tuple[int, str | int]] = []
    for line in done.stdout.splitlines():
        frame, methods, codes = line.split("\t")
        # Several messages completed in one frame are listed comma-separated, in order.
        reports += [(int(frame), m) for m in methods.split(",") if m]
        reports += [(int(frame), int(c)) for c in codes.split(",") if c]
    return reports


@pytest.mark.tshark
@pytest.mark.parametrize("name", READABLE)
def test_tshark_agrees_with_golden(name: str) -> None:
    """tshark, reassembling out-of-order segments, reports the frames the golden file says
    (lineid may deliberately report more: the golden file's notes say where)."""
    if TSHARK is None:
        pytest.skip("tshark is not installed")
    spec = _golden(name)["tshark"]
    if spec is None:
        pytest.skip("tshark does not read this container")
    got = _tshark_reports(CAPTURES / name, spec["args"], may_fail=spec.get("exit_nonzero", False))
    assert Counter(got) == Counter((frame, what) for frame, what in spec["reports"])


def test_builder_reproduces_committed_fixtures(tmp_path: Path) -> None:
    """A fresh run writes exactly the committed files, byte for byte: the fixtures are what
    the script makes, and the script is deterministic (no clock, no randomness, no hash order)."""
    subprocess.run([sys.executable, str(BUILDER), "--out", str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in CAPTURES.iterdir())
    assert built == committed
    differ = [n for n in built if (tmp_path / n).read_bytes() != (CAPTURES / n).read_bytes()]
    assert not differ, f"rebuild with `python fixtures/build_captures.py`: {differ}"
