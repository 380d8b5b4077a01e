"""Detection engine: runs the selected rules over every message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from analyzer.anomalies import Recorder
from analyzer.model import Finding, HttpMessage

if TYPE_CHECKING:
    from analyzer.api import Options


class Detector:
    def scan(self, message: HttpMessage, recorder: Recorder) -> Iterator[Finding]:
        return iter(())


def build_detector(options: Options) -> Detector:
    return Detector()
