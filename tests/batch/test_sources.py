"""SOURCE arguments → files: folders, globs, file:// and other fsspec URLs, the dataset excluded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import pytest

from analyzer.batch.sources import Source, expand_sources
from analyzer.errors import UsageError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("b.pcap", "a.har", "sub/c.pcap.gz", "sub/deeper/d.txt"):
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path / "in"


def test_a_folder_gives_every_file_under_it_sorted_depth_first(tree: Path) -> None:
    found = [s.label for s in expand_sources([str(tree)])]
    assert found == [str(tree / n) for n in ("a.har", "b.pcap", "sub/c.pcap.gz", "sub/deeper/d.txt")]
    assert all(not s.remote for s in expand_sources([str(tree)]))


def test_globs_files_and_duplicates(tree: Path) -> None:
    found = expand_sources([str(tree / "*.pcap"), str(tree / "**" / "*.gz"), str(tree / "b.pcap")])
    assert [s.label for s in found] == [str(tree / "b.pcap"), str(tree / "sub/c.pcap.gz")]


def test_a_missing_path_is_kept_for_its_task_to_record_and_an_empty_glob_adds_nothing(tree: Path) -> None:
    found = expand_sources([str(tree / "gone.pcap"), str(tree / "*.nothing")])
    assert found == [Source(str(tree / "gone.pcap"), str(tree / "gone.pcap"))]


def test_the_dataset_inside_a_source_folder_is_not_read(tree: Path) -> None:
    (tree / "out" / "findings").mkdir(parents=True)
    (tree / "out" / "findings" / "part-x.parquet").write_bytes(b"x")
    found = [s.label for s in expand_sources([str(tree)], exclude=tree / "out")]
    assert not any("/out/" in label for label in found)


def test_file_urls_are_read_in_place_and_keep_their_url_as_label(tree: Path) -> None:
    [single] = expand_sources([f"file://{tree}/b.pcap"])
    assert single == Source(f"file://{tree}/b.pcap", str(tree / "b.pcap"))
    found = expand_sources([f"file://{tree}/sub"])
    assert [s.label for s in found] == [f"file://{tree}/sub/c.pcap.gz", f"file://{tree}/sub/deeper/d.txt"]
    assert all(not s.remote for s in found)


def test_other_fsspec_urls_are_listed_through_fsspec() -> None:
    memory = fsspec.filesystem("memory")
    memory.pipe("/batch-src/x/1.pcap", b"1")
    memory.pipe("/batch-src/x/2.pcap", b"2")
    try:
        found = expand_sources(["memory://batch-src/x/"])
        assert [s.label for s in found] == ["memory:///batch-src/x/1.pcap", "memory:///batch-src/x/2.pcap"]
        assert all(s.remote for s in found)
        assert [s.label for s in expand_sources(["memory://batch-src/x/*.pcap"])] == [s.label for s in found]
    finally:
        memory.rm("/batch-src", recursive=True)


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_a_url_whose_fsspec_package_is_missing_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match="s3fs"):
        expand_sources(["s3://bucket/captures/"])


def test_an_unknown_protocol_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="Protocol not known"):
        expand_sources(["nosuchproto://x/y.pcap"])
