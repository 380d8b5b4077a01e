"""The HTML report: one self-contained page (no script, no network) a data-protection
officer can read and an analyst can verify.

Every value that came off the wire is attacker-controlled (a Host header, a URI, a header
value): each one passes through `esc` (html.escape, quotes included) and nothing else is
inserted into the page. The chart (report/chart.py) is SVG built from numbers and dates
lineid formats itself, escaped as well. The page sets a Content-Security-Policy that forbids
scripts and any fetch, so even a bug in escaping could not run code or leak the page.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import pandas as pd

from analyzer.analysis import Analysis
from analyzer.report.exports import redact_value
from analyzer.schema import CONFIDENCE_LEVELS

Redact = Callable[[str, str | None], str]
# Rows of findings shown in the page; the data files hold all of them.
MAX_FINDING_ROWS = 2000
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#1d1d1f;
line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555}.cards{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.7em 1em;min-width:9em}.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%;font-size:.86em;margin:.5em 0}th,td{border:1px solid #e1e1e1;
padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f5f5f7;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.95em;word-break:break-all}.high{color:#b00020;font-weight:600}.medium{color:#b35c00;font-weight:600}
.low{color:#666}.window{background:#fff4e5;border-left:4px solid #e67e22;padding:.6em 1em;margin:1em 0}
.note{color:#666;font-size:.9em}figure{margin:1em 0}figure svg{max-width:100%;height:auto}
"""


def esc(value: object) -> str:
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if value is None or (not isinstance(value, (list, tuple)) and _missing(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return html.escape(str(value), quote=True)


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with every missing value (NaN, NA, NaT) as None: one vectorised pass
    instead of a pd.isna call per cell."""
    cells = frame.astype(object).where(frame.notna().to_numpy(dtype=bool), None)
    return cast(list[dict[str, Any]], cells.to_dict(orient="records"))


def table(
    frame: pd.DataFrame, columns: Sequence[tuple[str, str]], *, css: dict[str, str] | None = None, caption: str = ""
) -> str:
    """An HTML table of `columns` ((column, title) pairs) of `frame`, every cell escaped."""
    css = css or {}
    head = "".join(f"<th>{esc(title)}</th>" for _, title in columns)
    rows = []
    for record in records(frame):
        cells = []
        for column, _ in columns:
            value = record.get(column)
            cls = css.get(column, "")
            if column == "confidence":
                cls = esc(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cls = "num"
            text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
            cells.append(f'<td class="{cls}">{esc(text)}</td>' if cls else f"<td>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "".join(rows) if rows else f'<tr><td colspan="{len(columns)}" class="note">none</td></tr>'
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def wireshark_filter(row: Mapping[Any, Any]) -> str:
    first, last = _number(row.get("frame_first")), _number(row.get("frame_last"))
    if last is None:
        return ""
    if first is None or first == last:
        return f"frame.number == {last}"
    return f"frame.number >= {first} && frame.number <= {last}"


def provenance(row: Mapping[Any, Any]) -> str:
    entry, line = _number(row.get("har_entry")), _number(row.get("line"))
    if entry is not None:
        return f"HAR entry {entry}"
    if line is not None:
        return f"line {line}"
    return wireshark_filter(row)


def _number(value: Any) -> int | None:
    return None if value is None or _missing(value) else int(value)


def render_report(
    analysis: Analysis,
    *,
    redact: Redact,
    redaction: str,
    exposures: pd.DataFrame,
    recipients: pd.DataFrame,
    windows: pd.DataFrame,
    window_text: str,
    chart: tuple[str, str] | None,
    manifest: dict[str, Any],
) -> str:
    findings = analysis.findings
    counts = manifest["counts"]
    by_conf = counts["findings_by_confidence"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>lineid report</title><style>{STYLE}</style></head><body>",
        "<h1>Subscriber identifiers in clear HTTP</h1>",
        f"<p class='meta'>lineid {esc(manifest['version'])} · analysed {esc(manifest['started'])} · "
        f"{len(manifest['inputs'])} input(s) · identifiers shown <b>{esc(_redaction_label(redaction))}</b></p>",
        "<h2 id='summary'>Summary</h2><div class='cards'>",
        _card("HTTP messages", counts["messages"]),
        _card("findings", counts["findings"]),
        *(_card(f"{level} confidence", by_conf.get(level, 0)) for level in reversed(CONFIDENCE_LEVELS)),
        _card("distinct identifiers", counts["identifiers"]),
        _card("recipient hosts", len(recipients)),
        _card("anomalies", counts["anomalies"]),
        "</div>",
        f"<div class='window'><b>Exposure window:</b> {esc(window_text)}</div>",
    ]
    if len(windows):
        parts.append(table(windows, [(c, c.replace("_", " ")) for c in windows.columns]))
    if chart is not None:
        parts += [
            "<h2 id='timeline'>Timeline</h2><figure>",
            chart[0],
            f"<figcaption class='note'>Requests per {esc(chart[1])}, and those carrying an identifier; "
            "the exposure window is shaded.</figcaption></figure>",
        ]
    shown = exposures.copy()
    if len(shown):
        shown["identifier"] = [redact(str(i), str(k)) for i, k in zip(shown["identifier"], shown["kind"], strict=True)]
    parts += [
        "<h2 id='identifiers'>Identifiers</h2>",
        table(shown, [(c, c.replace("_", " ")) for c in shown.columns]),
        "<h2 id='sites'>Recipient sites</h2>",
        table(recipients, [(c, c.replace("_", " ")) for c in recipients.columns]),
        "<h2 id='findings'>Findings</h2>",
        _findings_table(findings, redact),
        "<h2 id='anomalies'>Anomalies</h2>",
        _anomalies_table(analysis.anomalies),
        "<h2 id='inputs'>Inputs</h2>",
        table(
            pd.DataFrame(manifest["inputs"]),
            [
                ("path", "file"),
                ("size", "bytes"),
                ("sha256", "SHA-256"),
                ("format", "format"),
                ("compression", "compression"),
                ("status", "status"),
                ("messages", "messages"),
                ("error", "error"),
            ],
            css={"sha256": "mono"},
        ),
        "<p class='note'>The data files beside this page hold every finding with full provenance; "
        "manifest.json records the inputs' SHA-256, the options and the tool version.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _card(label: str, value: object) -> str:
    return f"<div class='card'><b>{esc(value)}</b>{esc(label)}</div>"


def _redaction_label(mode: str) -> str:
    return {"none": "in full", "mask": "masked", "hmac": "as keyed pseudonyms"}.get(mode, mode)


def _findings_table(findings: pd.DataFrame, redact: Redact) -> str:
    rows = []
    for row in records(findings.head(MAX_FINDING_ROWS)):
        hidden = redact(str(row["identifier"]), None if row["kind"] is None else str(row["kind"]))
        value = "" if row["value"] is None else str(row["value"])
        if hidden != str(row["identifier"]):  # redaction is on
            value = redact_value(value, str(row["identifier"]), hidden)
        rows.append(
            {
                "time": row["ts"],
                "source": row["source"],
                "provenance": provenance(row),
                "flow": f"{row['client_ip']} → {row['server_ip']}",
                "host": row["host"],
                "place": f"{row['where']}: {row['field']}",
                "kind": row["kind"],
                "identifier": hidden,
                "value": value,
                "encoding": row["encoding"],
                "confidence": row["confidence"],
                "rule": row["rule"],
                "reason": row["reason"],
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "time",
            "source",
            "provenance",
            "flow",
            "host",
            "place",
            "kind",
            "identifier",
            "value",
            "encoding",
            "confidence",
            "rule",
            "reason",
        ],
    )
    note = ""
    if len(findings) > MAX_FINDING_ROWS:
        note = (
            f"<p class='note'>The first {MAX_FINDING_ROWS} of {len(findings)} findings; "
            "all are in findings.parquet.</p>"
        )
    return note + table(
        frame, [(c, c) for c in frame.columns], css={"provenance": "mono", "identifier": "mono", "value": "mono"}
    )


def _anomalies_table(anomalies: pd.DataFrame) -> str:
    if not len(anomalies):
        return table(anomalies, [("code", "code")])
    grouped = (
        anomalies.assign(code=anomalies["code"].astype(str), severity=anomalies["severity"].astype(str))
        .groupby(["code", "severity"], sort=True)
        .agg(
            count=("code", "size"),
            first_frame=("frame", "min"),
            source=("source", "first"),
            example=("detail", "first"),
        )
        .reset_index()
        .sort_values(["count"], ascending=False, kind="stable")
    )
    return table(
        grouped,
        [
            ("code", "code"),
            ("severity", "severity"),
            ("count", "count"),
            ("first_frame", "first frame"),
            ("source", "first in"),
            ("example", "example"),
        ],
    )
