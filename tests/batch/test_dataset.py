"""The dataset as commit log: readers trust committed parts only; a resume removes the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analyzer.api import Options
from analyzer.batch import open_dataset
from analyzer.batch.dataset import MANIFEST, TEMP_PREFIX, read_entries, recover
from analyzer.batch.runner import run_batch
from analyzer.batch.sources import expand_sources
from tests.batch.support import NUMBER, assert_same_dataset, capture


@pytest.fixture
def two_inputs(tmp_path: Path) -> list[str]:
    a = capture(tmp_path / "a.pcap", f"x-msisdn: {NUMBER}")
    b = capture(tmp_path / "b.pcap", "x-up-calling-line-id: 447700900123", start=1_326_268_800.0)
    return [str(a), str(b)]


def batch(inputs: list[str], root: Path, *, resume: bool = False) -> None:
    run_batch(expand_sources(inputs), root, Options(), workers=1, resume=resume)


def test_leftovers_of_a_killed_run_are_invisible_then_removed_and_the_resume_equals_a_clean_run(
    tmp_path: Path, two_inputs: list[str]
) -> None:
    root = tmp_path / "ds"
    batch(two_inputs, root)
    before = open_dataset(root)
    entries = read_entries(root)
    a_parts, b_parts = (entries[label]["parts"] for label in two_inputs)
    # What a run killed at various moments leaves: temporaries, a part renamed before
    # its entry, an entry whose part was lost, an entry file cut short.
    (root / "messages" / "date=2012-01-10" / f"{TEMP_PREFIX}x.parquet").write_bytes(b"PAR1")
    (root / MANIFEST / f"{TEMP_PREFIX}y.parquet").write_bytes(b"")
    orphan = root / "findings" / "date=2012-01-12" / "part-0123-4567.parquet"
    orphan.parent.mkdir()
    shutil.copy(root / next(p for p in a_parts if p.startswith("findings/")), orphan)
    (root / b_parts[0]).unlink()
    (root / MANIFEST / "entry-cut.parquet").write_bytes(b"PAR1\x00")

    still = open_dataset(root)  # never reads a part no entry lists, and says what is missing
    pd.testing.assert_frame_equal(still.findings, before.findings.iloc[:1], check_categorical=False)
    assert (
        still.failed_inputs["error"].str.contains("1 part file\\(s\\) missing").all() and len(still.failed_inputs) == 1
    )

    committed, notes = recover(root)
    assert sorted(committed) == [two_inputs[0]]
    assert any("1 part file(s) missing" in n for n in notes) and any("unreadable" in n for n in notes)
    left = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix == ".parquet")
    [entry] = (root / MANIFEST).glob("entry-*.parquet")
    assert left == sorted([*a_parts, f"{MANIFEST}/{entry.name}"])
    assert not orphan.parent.exists()

    batch(two_inputs, root, resume=True)
    batch(two_inputs, tmp_path / "clean")
    assert_same_dataset(root, tmp_path / "clean")


def test_a_changed_input_replaces_its_rows(tmp_path: Path, two_inputs: list[str]) -> None:
    root = tmp_path / "ds"
    batch(two_inputs, root)
    old = read_entries(root)[two_inputs[0]]
    capture(Path(two_inputs[0]), "x-msisdn: 447700900999")
    batch(two_inputs, root, resume=True)
    new = read_entries(root)[two_inputs[0]]
    assert new["sha256"] != old["sha256"] and not any((root / p).exists() for p in old["parts"])
    identifiers = set(open_dataset(root).findings["identifier"].astype(str))
    assert {i.lstrip("+") for i in identifiers} == {"447700900999", "447700900123"}
