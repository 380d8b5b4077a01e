"""`Analysis`: the frames of one analysis and the questions asked of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from analyzer.schema import concat
from analyzer.tables import anomalies_frame

from analyzer.timeline import methods as timeline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analyzer.api import InputResult, Options
    from analyzer.timeline.hosts import TrustedSpec
    from analyzer.timeline.onset import ExposureWindows

# One row per input: how it was read, its SHA-256 (of the bytes as stored, compressed or
# not: what an examiner hashes), and how many messages and findings it gave.
INPUT_COLUMNS = (
    "index",
    "path",
    "format",
    "compression",
    "size",
    "sha256",
    "status",
    "error",
    "messages",
    "findings",
)


class Analysis:
    """Frames: `messages`, `headers`, `findings` (the timeline, sorted by `ts`),
    `anomalies` and `inputs`. Columns are documented in docs/columns.md."""

    def __init__(
        self,
        messages: pd.DataFrame,
        headers: pd.DataFrame,
        findings: pd.DataFrame,
        anomalies: pd.DataFrame,
        inputs: pd.DataFrame,
        options: Options | None = None,
    ) -> None:
        self.messages = messages
        self.headers = headers
        self.findings = findings
        self.anomalies = anomalies
        self.inputs = inputs
        self.options = options

    @classmethod
    def from_results(
        cls, results: Sequence[InputResult], options: Options | None = None, extra_findings: pd.DataFrame | None = None
    ) -> Analysis:
        messages = concat("messages", [r.messages for r in results])
        order = messages.sort_values(["ts", "message_id"], kind="stable", na_position="last").index
        messages = messages.loc[order].reset_index(drop=True)
        # Headers in message-id order whatever order messages completed in (or shards ran).
        headers = concat("headers", [r.headers for r in results])
        headers = headers.sort_values(["message_id", "position"], kind="stable").reset_index(drop=True)
        findings = concat("findings", [*(r.findings for r in results), extra_findings])
        findings = findings.sort_values(
            ["ts", "message_id", "where", "field", "identifier"], kind="stable", na_position="last"
        ).reset_index(drop=True)
        anomalies = anomalies_frame(a for r in results for a in r.anomalies)
        anomalies = anomalies.sort_values(
            ["source", "frame", "code", "flow_id", "detail"], kind="stable", na_position="first"
        ).reset_index(drop=True)
        inputs = pd.DataFrame(
            [
                {
                    "index": r.index,
                    "path": r.path,
                    "format": r.format,
                    "compression": r.compression,
                    "size": r.size,
                    "sha256": r.sha256,
                    "status": r.status,
                    "error": r.error,
                    "messages": r.message_count,
                    "findings": 0 if r.findings is None else len(r.findings),
                }
                for r in results
            ],
            columns=list(INPUT_COLUMNS),
        )
        return cls(messages, headers, findings, anomalies, inputs, options)

    # ------------------------------------------------------------------ the questions
    def exposures(self) -> pd.DataFrame:
        """One row per identifier: first and last seen, messages, hosts, fields, sources."""
        return timeline.exposures(self)

    def recipients(self) -> pd.DataFrame:
        """One row per destination host and server IP: identifiers received, first and last time."""
        return timeline.recipients(self)

    def daily(self, freq: str = "D") -> pd.DataFrame:
        """Per period (any pandas frequency): requests, those carrying identifiers, their share."""
        return timeline.daily(self, freq)

    def onset(self, trusted_hosts: TrustedSpec = None, **options: Any) -> ExposureWindows:
        """When identifiers started and stopped flowing to hosts outside `trusted_hosts`."""
        return timeline.onset(self, trusted_hosts, **options)

    def plot_timeline(self, **options: Any) -> Figure:
        return timeline.plot_timeline(self, **options)

    def plot_heatmap(self, **options: Any) -> Figure:
        return timeline.plot_heatmap(self, **options)

    @property
    def failed_inputs(self) -> pd.DataFrame:
        return self.inputs[self.inputs["status"] == "failed"]

    def __repr__(self) -> str:
        return (
            f"<Analysis: {len(self.inputs)} input(s), {len(self.messages)} messages, "
            f"{len(self.findings)} findings, {len(self.anomalies)} anomalies>"
        )

    def _repr_html_(self) -> str:  # a notebook shows the counts, not four frames
        return f"<p>{self.__repr__()[1:-1].replace('<', '&lt;')}</p>"

    def summary(self) -> dict[str, Any]:
        return {
            "inputs": len(self.inputs),
            "failed_inputs": int((self.inputs["status"] == "failed").sum()),
            "messages": len(self.messages),
            "requests": int((self.messages["direction"] == "request").sum()),
            "findings": len(self.findings),
            "anomalies": len(self.anomalies),
        }
