"""Builders and assertions shared by the batch tests: inputs, CLI runs, dataset comparison."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import pandas as pd
import pyarrow.dataset as ds
from click.testing import CliRunner

from analyzer.batch.cli import batch_command, report_command
from analyzer.batch.dataset import MANIFEST, TABLES, manifest_frame
from tests.helpers import OK_RESPONSE, ROOT, http_capture, request

NUMBER = "447712345678"  # E.164 +44 7712 345678: a GB mobile number
# Columns of a manifest row that say when and where it was made, not what.
RUN_COLUMNS = ["started", "finished", "host"]


@click.group()
def lineid() -> None:
    """The two batch commands on a group, as analyzer/cli.py registers them."""


lineid.add_command(batch_command)
lineid.add_command(report_command)

# Runs the batch command in a fresh interpreter (for tests that kill it).
CLI_SCRIPT = "import sys; from analyzer.batch.cli import batch_command; batch_command(sys.argv[1:])"


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(lineid, list(args))
    return result.exit_code, result.output  # click 8.2+: stdout and stderr, interleaved


def cli_process(*args: str) -> subprocess.Popen[bytes]:
    """`lineid batch ARGS` as its own process group (so that a test can kill all of it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CLI_SCRIPT, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def capture(path: Path, *headers: str, uri: str = "/", start: float = 1_326_182_400.0) -> Path:
    """A one-request capture (request headers `headers`), written to `path`."""
    extra = "".join(f"{h}\r\n" for h in headers)
    path.write_bytes(http_capture([(request(uri, extra=extra), OK_RESPONSE)], start=start))
    return path


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def table_rows(root: Path, table: str) -> pd.DataFrame:
    """Every row of a table as an engine sees it (pyarrow dataset, hive partitions: every
    file, committed or not), in a canonical order."""
    folder = root / table
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return pd.DataFrame()
    frame = ds.dataset(folder, format="parquet", partitioning="hive").to_table().to_pandas()
    frame = frame.astype({c: object for c in frame.select_dtypes("category")})
    return frame.sort_values(list(frame.columns), kind="stable", ignore_index=True)


def manifest_rows(root: Path) -> pd.DataFrame:
    return manifest_frame(root).drop(columns=RUN_COLUMNS).reset_index(drop=True)


def files_of(root: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every table and manifest file (lock file aside)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != ".lineid-batch.lock":
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_same_dataset(a: Path, b: Path, *, same_bytes: bool = True) -> None:
    """The same inputs' results: the same files, rows and manifest (times and hosts aside)."""
    files_a, files_b = files_of(a), files_of(b)
    assert sorted(files_a) == sorted(files_b)
    for table in TABLES:
        pd.testing.assert_frame_equal(table_rows(a, table), table_rows(b, table))
    pd.testing.assert_frame_equal(manifest_rows(a), manifest_rows(b))
    if same_bytes:  # table parts are deterministic; manifest entries hold times
        differ = [p for p in files_a if files_a[p] != files_b[p] and not p.startswith(MANIFEST)]
        assert not differ


def normalise_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Ids without the input's index: what a batch (every input index 0) and a scan (inputs
    numbered by position) have in common."""
    out = frame.copy()
    if "message_id" in out:
        out["message_id"] = out["message_id"] & ((1 << 48) - 1)
    if "flow_id" in out:
        out["flow_id"] = out["flow_id"].astype(object).str.replace(r"^\d+:", "0:", regex=True)
    out = out.astype({c: object for c in out.select_dtypes("category")})
    return out.sort_values(list(out.columns), kind="stable", ignore_index=True)


def labels(paths: Sequence[Path]) -> list[str]:
    return [str(p) for p in paths]
