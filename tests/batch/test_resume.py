"""A batch killed at any moment (SIGKILL, the whole process group) and resumed ends with
exactly the files and rows of an uninterrupted run: nothing duplicated, nothing lost, and
inputs committed before the kill not read again."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer.batch.dataset import MANIFEST
from tests.batch.support import assert_same_dataset, cli_process, manifest_frame
from tests.helpers import FIXTURES, ROOT

SEEDS = (11, 12, 13)
POLL_S = 0.01
KILL_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Six synthetic gateway captures (~0.4 s of work each: a kill lands mid-batch), a
    fixture, a text file (skipped) and a missing file (failed)."""
    folder = tmp_path_factory.mktemp("gateway")
    generator = ROOT / "benchmarks" / "gen_gateway_capture.py"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(generator),
                "--size",
                "2MB",
                "--seed",
                str(seed),
                "--quiet",
                "--out",
                str(folder / f"gi-{seed}.pcap"),
            ]
        )
        for seed in SEEDS
    ]
    assert all(p.wait() == 0 for p in procs)
    for seed in SEEDS:
        pcap = folder / f"gi-{seed}.pcap"
        (folder / f"gi-{seed}.pcap.gz").write_bytes(gzip.compress(pcap.read_bytes(), compresslevel=1))
        (folder / f"gi-{seed}.pcap.truth.json").unlink()
    (folder / "notes.txt").write_text("not evidence\n")
    return [str(folder), str(FIXTURES / "captures" / "keepalive.pcap"), str(folder / "gone.pcap")]


def committed(root: Path) -> int:
    folder = root / MANIFEST
    return len(list(folder.glob("entry-*.parquet"))) if folder.is_dir() else 0


def run_and_kill(
    inputs: list[str], root: Path, after: int, extra: tuple[str, ...] = (), *, parent_only: bool = False
) -> None:
    """Starts the batch and SIGKILLs its process group (or its parent process alone) once
    `after` more inputs are committed."""
    start = committed(root)
    proc = cli_process(*inputs, "-o", str(root), "--workers", "2", *extra)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while committed(root) < start + after:
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(POLL_S)
    if parent_only:
        os.kill(proc.pid, signal.SIGKILL)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if parent_only:  # the workers die with it (PR_SET_PDEATHSIG): none writes on, none holds the lock
        deadline = time.monotonic() + 5
        while group_alive(proc.pid):
            assert time.monotonic() < deadline, "workers outlived the batch"
            time.sleep(POLL_S)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_killed_twice_then_resumed_equals_an_uninterrupted_run(inputs: list[str], tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    proc = cli_process(*inputs, "-o", str(reference), "--workers", "2")
    _, err = proc.communicate(timeout=KILL_TIMEOUT_S)
    assert proc.returncode == 3, err.decode()  # gone.pcap failed; the rest is in the dataset
    total = committed(reference)

    root = tmp_path / "resumed"
    run_and_kill(inputs, root, after=2)
    first = manifest_frame(root).set_index("source")["started"]
    assert 2 <= len(first) < total
    run_and_kill(inputs, root, after=2, extra=("--resume",), parent_only=True)
    assert committed(root) < total
    proc = cli_process(*inputs, "-o", str(root), "--workers", "2", "--resume")
    _, err = proc.communicate(timeout=KILL_TIMEOUT_S)
    assert proc.returncode == 3, err.decode()

    assert_same_dataset(root, reference)
    final = manifest_frame(root).set_index("source")
    kept = [s for s in first.index if final.loc[s, "status"] != "failed"]  # failed ones are tried again
    assert (final.loc[kept, "started"] == first.loc[kept]).all()  # committed before the kill: not read again
