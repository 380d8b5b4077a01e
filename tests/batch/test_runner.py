"""Running a batch: error isolation, worker deaths, exit codes, refusing to mix batches."""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import analyzer
from analyzer.api import Options
from analyzer.batch.dataset import locked
from analyzer.batch.runner import _run_local, run_batch
from analyzer.batch.sources import Source, expand_sources
from analyzer.batch.task import Outcome, Task
from analyzer.errors import UsageError
from tests.batch.crashing import die_on_crash_inputs
from tests.batch.support import NUMBER, capture, manifest_rows, run_cli


def test_a_worker_that_dies_fails_only_the_input_it_was_reading(tmp_path: Path) -> None:
    names = ["a", "b", "crash", "c", "d", "e"]
    tasks = [Task(Source(n, n), str(tmp_path), Options(), analyzer.__version__) for n in names]
    results = dict((t.source.label, o) for t, o in _run_local(tasks, 2, function=die_on_crash_inputs))
    assert sorted(results) == sorted(names)
    assert isinstance(results.pop("crash"), BrokenProcessPool)
    assert all(isinstance(o, Outcome) and o.row["status"] == "done" for o in results.values())


def test_unreadable_inputs_are_recorded_and_the_rest_finishes_exit_3(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    capture(tmp_path / "in" / "good.pcap", f"x-msisdn: {NUMBER}")
    (tmp_path / "in" / "readme.txt").write_text("not evidence")
    (tmp_path / "in" / "dangling.pcap").symlink_to(tmp_path / "nowhere")
    code, output = run_cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "ds"), "--workers", "2")
    assert code == 3, output
    manifest = manifest_rows(tmp_path / "ds").set_index("source")
    assert manifest["status"].to_dict() == {
        str(tmp_path / "in" / "dangling.pcap"): "failed",
        str(tmp_path / "in" / "good.pcap"): "done",
        str(tmp_path / "in" / "readme.txt"): "skipped",
    }
    assert "readme.txt" in output and "no such file" in output


def test_nothing_done_is_exit_2_and_a_usage_error_too(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("not evidence")
    assert run_cli("batch", str(tmp_path / "readme.txt"), "-o", str(tmp_path / "ds"))[0] == 2
    assert run_cli("batch", str(tmp_path / "empty-*"), "-o", str(tmp_path / "ds2"))[0] == 2
    code, output = run_cli("batch", str(tmp_path), "-o", str(tmp_path / "ds3"), "--rules", "no-such-rule")
    assert code == 2 and "no-such-rule" in output


def test_a_dataset_is_continued_only_with_resume_and_by_one_batch_at_a_time(tmp_path: Path) -> None:
    leaky = capture(tmp_path / "leaky.pcap", f"x-msisdn: {NUMBER}")
    assert run_cli("batch", str(leaky), "-o", str(tmp_path / "ds"))[0] == 0
    code, output = run_cli("batch", str(leaky), "-o", str(tmp_path / "ds"))
    assert code == 2 and "--resume" in output
    code, output = run_cli("batch", str(leaky), "-o", str(tmp_path / "ds"), "--resume")
    assert code == 0 and "kept" in output
    with locked(tmp_path / "ds"), pytest.raises(UsageError, match="another lineid batch"):
        run_batch(expand_sources([str(leaky)]), tmp_path / "ds", Options(), resume=True)


def test_new_options_read_every_input_again_and_replace_its_rows(tmp_path: Path) -> None:
    leaky = capture(tmp_path / "leaky.pcap", f"x-msisdn: {NUMBER}")
    first = run_batch(expand_sources([str(leaky)]), tmp_path / "ds", Options())
    again = run_batch(expand_sources([str(leaky)]), tmp_path / "ds", Options(rules="all,-header-catalog"), resume=True)
    assert (first.read, again.read, again.unchanged) == (1, 1, 0)
    assert first.rows[0]["parts"] != again.rows[0]["parts"]
    on_disk = {p.relative_to(tmp_path / "ds").as_posix() for p in (tmp_path / "ds").rglob("part-*.parquet")}
    assert on_disk == set(again.rows[0]["parts"])  # the old configuration's parts are gone


def test_logs_in_a_custom_format_are_read_with_log_format(tmp_path: Path) -> None:
    from fixtures.build_logs import NGINX_FORMAT
    from tests.helpers import FIXTURES

    log = FIXTURES / "logs" / "nginx-custom-msisdn.log"
    code, output = run_cli("batch", str(log), "-o", str(tmp_path / "ds"), "--log-format", NGINX_FORMAT, "--quiet")
    assert code == 0, output
    found = analyzer.open_dataset(tmp_path / "ds").findings
    assert set(found["field"]) >= {"x-msisdn"} and set(found["line"].dropna()) >= {1, 2}
    code, output = run_cli("batch", str(log), "-o", str(tmp_path / "bad"), "--log-format", "nginx:no variables")
    assert code == 2 and "log format" in output


def test_the_lineid_command_has_batch_and_report() -> None:
    from click.testing import CliRunner

    from analyzer.cli import main

    for command in ("batch", "report"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "DATASET" in result.output, command
