"""`lineid scan`: outputs, exit codes, evidence handling, determinism, hostile values."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analyzer.cli import main
from tests.helpers import OK_RESPONSE, corpus, http_capture, request

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MSISDN = "447712345678"


def write_capture(path: Path, *headers: str) -> Path:
    path.write_bytes(http_capture([(request(extra="".join(f"{h}\r\n" for h in headers)), OK_RESPONSE)]))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def leaky(tmp_path: Path) -> Path:
    return write_capture(tmp_path / "leaky.pcap", f"x-up-calling-line-id: {MSISDN}")


def test_scan_writes_every_output_and_a_manifest_with_hashes(tmp_path: Path, leaky: Path) -> None:
    code, _ = run("scan", str(leaky), "-o", str(tmp_path / "out"), "--quiet")
    out = tmp_path / "out"
    assert code == 1  # a high-confidence finding, --fail-on medium by default
    for name in (
        "report.html",
        "findings.parquet",
        "findings.csv",
        "findings.jsonl",
        "messages.parquet",
        "headers.parquet",
        "anomalies.parquet",
        "manifest.json",
    ):
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".lineid-partial")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"][0]["sha256"] == sha256(leaky)
    assert manifest["inputs"][0]["size"] == leaky.stat().st_size
    assert manifest["counts"]["findings_by_confidence"]["high"] == 1
    assert manifest["version"] and manifest["started"] and manifest["finished"]
    findings = pd.read_parquet(out / "findings.parquet")
    assert list(findings["identifier"]) == ["+" + MSISDN] and list(findings["field"]) == ["x-up-calling-line-id"]
    record = json.loads((out / "findings.jsonl").read_text().splitlines()[0])
    assert {"message", "datetime", "timestamp_desc"} <= set(record) and record["datetime"].startswith("2012-01-10")
    assert pd.read_parquet(out / "messages.parquet")["direction"].tolist() == ["request", "response"]


def test_exit_codes(tmp_path: Path, leaky: Path) -> None:
    clean = write_capture(tmp_path / "clean.pcap", "Accept: */*")
    junk = tmp_path / "junk.pcap"
    junk.write_text("not a capture\n")
    assert run("scan", str(clean), "-o", str(tmp_path / "a"), "--quiet")[0] == 0
    assert run("scan", str(leaky), "-o", str(tmp_path / "b"), "--quiet")[0] == 1
    assert run("scan", str(leaky), "-o", str(tmp_path / "c"), "--quiet", "--fail-on", "high")[0] == 1
    assert run("scan", str(junk), "-o", str(tmp_path / "d"), "--quiet")[0] == 2
    code, output = run("scan", str(junk), str(clean), "-o", str(tmp_path / "e"), "--quiet")
    assert code == 3 and "junk.pcap" in output and "Traceback" not in output
    assert run("scan", str(clean), "-o", str(tmp_path / "f"), "--rules", "nonsense")[0] == 2
    assert run("scan", str(clean), "-o", str(tmp_path / "g"), "--redact", "hmac")[0] == 2  # no key
    assert run("scan", str(tmp_path / "missing.pcap"), "-o", str(tmp_path / "h"), "--quiet")[0] == 2


def test_inputs_are_never_changed(tmp_path: Path, leaky: Path) -> None:
    inputs = [leaky, corpus("zeek", "1000-requests-one-dropped-response.pcap.gz"), corpus("har", "chrome.har")]
    before = {p: (sha256(p), p.stat().st_mtime_ns, p.stat().st_size) for p in inputs}
    run("scan", *map(str, inputs), "-o", str(tmp_path / "out"), "--quiet")
    assert {p: (sha256(p), p.stat().st_mtime_ns, p.stat().st_size) for p in inputs} == before


def test_same_inputs_give_byte_identical_findings_files(tmp_path: Path, leaky: Path) -> None:
    inputs = [str(leaky), str(corpus("ndpi", "fuzz-2006-09-29-28586.pcap"))]
    run("scan", *inputs, "-o", str(tmp_path / "one"), "--quiet")
    run("scan", *inputs, "-o", str(tmp_path / "two"), "--quiet", "--jobs", "2")
    for name in ("findings.parquet", "findings.csv", "findings.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    capture = write_capture(
        tmp_path / "f.pcap",
        f'X-MSISDN: =HYPERLINK("http://evil","{MSISDN}")',
        f"msisdn: +{MSISDN}",
        f"x-nokia-msisdn: @{MSISDN}",
    )
    run("scan", str(capture), "-o", str(tmp_path / "out"), "--quiet")
    frame = pd.read_csv(tmp_path / "out" / "findings.csv", dtype=str, keep_default_na=False)
    assert len(frame) >= 3
    for column in frame.columns:
        assert not frame[column].str.match(r"[=+\-@\t\r]").any(), column


def test_report_redacts_by_default_and_exports_do_not(tmp_path: Path, leaky: Path) -> None:
    run("scan", str(leaky), "-o", str(tmp_path / "out"), "--quiet")
    html = (tmp_path / "out" / "report.html").read_text()
    assert MSISDN not in html and "+44 77** ***678" in html
    assert MSISDN in (tmp_path / "out" / "findings.csv").read_text()
    run("scan", str(leaky), "-o", str(tmp_path / "h"), "--quiet", "--redact", "hmac", "--hmac-key", "secret")
    assert MSISDN not in (tmp_path / "h" / "findings.csv").read_text()
    assert "hmac:" in (tmp_path / "h" / "report.html").read_text()


def chromium_dom(page: Path, tmp_path: Path) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it)")
def test_hostile_header_value_renders_as_text_and_no_script_runs(tmp_path: Path) -> None:
    payload = f"{MSISDN}<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED2'\">"
    capture = write_capture(tmp_path / "x.pcap", f"X-MSISDN: {payload}", f"Host2: <b>{MSISDN}</b>")
    run("scan", str(capture), "-o", str(tmp_path / "out"), "--quiet", "--redact", "none")
    dom = chromium_dom(tmp_path / "out" / "report.html", tmp_path)
    assert "<title>lineid report</title>" in dom and "PWNED" in dom  # present, but only as text
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert "<script" not in dom and '<img src="x"' not in dom and "<b>447" not in dom
