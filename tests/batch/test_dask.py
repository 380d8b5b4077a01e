"""The same batch on a real dask.distributed cluster (a scheduler and two worker processes on
loopback) gives the same dataset as the local process pool, file for file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.batch.support import NUMBER, assert_same_dataset, capture, run_cli
from tests.helpers import FIXTURES, corpus


@pytest.mark.slow
def test_a_local_cluster_gives_the_dataset_of_the_local_pool(tmp_path: Path) -> None:
    from distributed import LocalCluster

    (tmp_path / "in").mkdir()
    capture(tmp_path / "in" / "leaky.pcap", f"x-msisdn: {NUMBER}")
    (tmp_path / "in" / "notes.txt").write_text("not evidence\n")
    inputs = [
        str(tmp_path / "in"),
        str(FIXTURES / "captures" / "pipelined.pcap"),
        str(FIXTURES / "captures" / "ethernet-get.pcap.zst"),
        str(corpus("zeek", "1000-requests-one-dropped-response.pcap.gz")),
        str(corpus("ndpi", "http_origin_different_than_host.pcap")),
        str(tmp_path / "gone.pcap"),
    ]
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        code, output = run_cli("batch", *inputs, "-o", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address)
        assert code == 3, output
        # Every input ran on the cluster's workers (state_counts: tasks that reached a state).
        assert cluster.scheduler.task_prefixes["run_task"].state_counts["memory"] == 7
    code, output = run_cli("batch", *inputs, "-o", str(tmp_path / "local"), "--workers", "2")
    assert code == 3, output
    assert_same_dataset(tmp_path / "dask", tmp_path / "local")
    # --dask-local starts (and stops) a LocalCluster of its own.
    code, output = run_cli("batch", *inputs, "-o", str(tmp_path / "dask-local"), "--dask-local", "2")
    assert code == 3, output
    assert_same_dataset(tmp_path / "dask-local", tmp_path / "local")
