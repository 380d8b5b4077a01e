"""One input → its part files and manifest entry: done, skipped, failed, unchanged, remote."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import pandas as pd
import pyarrow.parquet as pq

import analyzer
from analyzer.api import Options
from analyzer.batch.dataset import MANIFEST, entry_path, read_entries
from analyzer.batch.sources import Source
from analyzer.batch.task import Task, run_task
from analyzer.schema import arrow_schema, from_arrow
from tests.batch.support import NUMBER, capture


def task_for(path: Path | str, root: Path, **kwargs: object) -> Task:
    return Task(Source(str(path), str(path)), str(root), Options(), analyzer.__version__, **kwargs)  # type: ignore[arg-type]


def test_a_capture_gives_day_partitioned_parts_then_its_entry(tmp_path: Path) -> None:
    # Frames 10 ms apart from 35 ms before midnight: the request (4th frame) is on one day,
    # the response (5th) on the next.
    leaky = capture(tmp_path / "leaky.pcap", f"x-msisdn: {NUMBER}", start=1_326_239_999.965)
    outcome = run_task(task_for(leaky, tmp_path / "ds"))
    row = outcome.row
    assert row["status"] == "done" and row["error"] is None
    assert row["sha256"] == hashlib.sha256(leaky.read_bytes()).hexdigest()
    assert (row["messages"], row["findings"], row["format"]) == (2, 1, "pcap")
    name = Path(row["parts"][0]).name
    assert name.startswith(f"part-{row['sha256'][:32]}-") and all(p.endswith(name) for p in row["parts"])
    assert sorted(p.rsplit("/", 1)[0] for p in row["parts"]) == [
        "findings/date=2012-01-10",
        "headers/date=2012-01-10",
        "headers/date=2012-01-11",
        "messages/date=2012-01-10",
        "messages/date=2012-01-11",
    ]
    findings = from_arrow("findings", pq.read_table(tmp_path / "ds" / row["parts"][0], schema=arrow_schema("findings")))
    assert findings["identifier"].tolist() == ["+447712345678"]
    assert findings["source"].tolist() == [str(leaky)] and findings["message_id"].tolist()[0] >> 48 == 0
    assert read_entries(tmp_path / "ds")[str(leaky)]["parts"] == row["parts"]
    assert not [p for p in (tmp_path / "ds").rglob(".lineid-tmp-*")]


def test_a_file_that_is_not_evidence_is_skipped_with_its_hash_and_writes_no_part(tmp_path: Path) -> None:
    text = tmp_path / "notes.pcap"
    text.write_text("This is not a capture\n")
    row = run_task(task_for(text, tmp_path / "ds")).row
    assert row["status"] == "skipped" and "not a pcap" in row["error"] and row["error"].startswith(str(text))
    assert row["sha256"] == hashlib.sha256(text.read_bytes()).hexdigest() and row["size"] == len(text.read_bytes())
    assert row["parts"] == []
    assert sorted(p.name for p in (tmp_path / "ds").rglob("*")) == [MANIFEST, entry_path(tmp_path, str(text)).name]


def test_json_that_is_not_a_har_is_skipped_not_failed(tmp_path: Path) -> None:
    other = tmp_path / "config.json"
    other.write_text('{"capture": "x"}')
    assert run_task(task_for(other, tmp_path / "ds")).row["status"] == "skipped"


def test_unreadable_inputs_fail_and_are_committed_as_failed(tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.pcap")
    for path, why in ((tmp_path / "gone.pcap", "no such file"), (tmp_path / "dangling.pcap", "no such file")):
        row = run_task(task_for(path, tmp_path / "ds")).row
        assert (row["status"], row["error"], row["parts"]) == ("failed", f"{path}: {why}", [])
    assert len(read_entries(tmp_path / "ds")) == 2


def test_an_input_committed_with_the_same_bytes_is_only_hashed(tmp_path: Path) -> None:
    leaky = capture(tmp_path / "leaky.pcap", f"x-msisdn: {NUMBER}")
    first = run_task(task_for(leaky, tmp_path / "ds")).row
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "ds").rglob("*") if p.is_file()}
    again = run_task(task_for(leaky, tmp_path / "ds", committed_sha256=first["sha256"]))
    assert again.unchanged and not again.row
    assert before == {p: p.stat().st_mtime_ns for p in (tmp_path / "ds").rglob("*") if p.is_file()}
    changed = run_task(task_for(leaky, tmp_path / "ds", committed_sha256="0" * 64))
    assert not changed.unchanged and changed.row["sha256"] == first["sha256"]
    leaky.unlink()  # evidence read once and unreachable now: its rows stay, and it is said
    gone = run_task(task_for(leaky, tmp_path / "ds", committed_sha256=first["sha256"]))
    assert gone.unchanged and gone.note == f"{leaky}: cannot be read now (no such file); its rows are kept"


def test_a_remote_input_is_read_from_a_local_copy_and_keeps_its_url(tmp_path: Path) -> None:
    leaky = capture(tmp_path / "leaky.pcap", f"x-msisdn: {NUMBER}")
    memory = fsspec.filesystem("memory")
    memory.pipe("/batch-task/leaky.pcap", leaky.read_bytes())
    url = "memory:///batch-task/leaky.pcap"
    try:
        task = Task(Source(url, url, remote=True), str(tmp_path / "ds"), Options(), analyzer.__version__)
        row = run_task(task).row
        local = run_task(task_for(leaky, tmp_path / "local")).row
    finally:
        memory.rm("/batch-task", recursive=True)
    assert row["status"] == "done" and row["sha256"] == local["sha256"]
    findings = pd.read_parquet(tmp_path / "ds" / "findings")
    assert findings["source"].astype(str).tolist() == [url]
    gone = "memory:///batch-task/gone"
    missing = Task(Source(gone, gone, remote=True), str(tmp_path), Options(), analyzer.__version__)
    assert run_task(missing).row["error"] == f"{gone}: no such file"
