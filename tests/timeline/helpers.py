"""Paths and constants the timeline tests share (conftest.py holds the fixtures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
INCIDENT = ROOT / "fixtures" / "incident"
MONTH = INCIDENT / "gateway-2012-01.pcap.gz"
PHONE_HAR = INCIDENT / "phone-2012-01-12.har"
GATEWAY_PCAP = INCIDENT / "gateway-2012-01-12.pcap"
# The month's legitimate recipients of the number, as the analyst lists them.
TRUSTED = [".partner.example", "mms.operator.example"]


def load_builder() -> ModuleType:
    """fixtures/build_incident.py, loaded by path (fixtures/ is no package)."""
    spec = importlib.util.spec_from_file_location("build_incident", ROOT / "fixtures" / "build_incident.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
