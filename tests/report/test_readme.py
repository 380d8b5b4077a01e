"""The README's first command, as a new user runs it, and its page read in headless Chromium."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli import main
from tests.helpers import ROOT
from tests.report.test_scan import chromium_dom

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def readme_scan_arguments() -> list[str]:
    """The `lineid scan …` part of the README's first command, split as a shell would."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.startswith("python3 -m venv") and "lineid scan" in line)
    scan = re.search(r"lineid (scan .*?);", first)
    assert scan is not None, first
    return shlex.split(scan.group(1))


def test_readme_first_command_names_bundled_inputs() -> None:
    args = readme_scan_arguments()
    for arg in args[1:]:
        if "/" in arg and not arg.startswith("-"):
            assert (ROOT / arg).is_file() or arg == "lineid-demo", arg


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it)")
def test_readme_first_command_gives_a_report_with_tables_and_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = readme_scan_arguments()
    out = tmp_path / "lineid-demo"
    args[args.index("-o") + 1] = str(out)
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 1, result.output  # identifiers found
    dom = chromium_dom(out / "report.html", tmp_path)
    assert dom.count("<table") >= 5 and "<svg" in dom
    for section in ("Summary", "Timeline", "Identifiers", "Recipient sites", "Findings", "Anomalies", "Inputs"):
        assert f">{section}</h2>" in dom, section
    assert "10 Jan 2012 07:00 UTC to 25 Jan 2012 13:15 UTC" in dom
    assert "x-up-calling-line-id" in dom and "447700900" not in dom  # masked by default
