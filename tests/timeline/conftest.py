"""Shared fixtures of the timeline tests: the committed incident capture, analysed once,
and generated variants of it (fixtures/build_incident.py, loaded by path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import analyzer
from analyzer.analysis import Analysis

from .helpers import INCIDENT, MONTH, load_builder


@pytest.fixture(scope="session")
def builder() -> ModuleType:
    return load_builder()


@pytest.fixture(scope="session")
def incident() -> Analysis:
    return analyzer.analyze(MONTH)


@pytest.fixture(scope="session")
def incident_truth() -> dict[str, Any]:
    truth: dict[str, Any] = json.loads((INCIDENT / "gateway-2012-01.truth.json").read_text(encoding="ascii"))
    return truth


Generated = tuple[Analysis, dict[str, Any]]


@pytest.fixture(scope="session")
def generate(builder: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Generated]:
    """Write a scenario's capture and analyse it (each scenario once a session)."""
    cache: dict[Any, Generated] = {}

    def make(**scenario: Any) -> Generated:
        key = tuple(sorted((k, repr(v)) for k, v in scenario.items()))
        if key not in cache:
            data, truth = builder.month(builder.Scenario(**scenario))
            path = tmp_path_factory.mktemp("incident") / "variant.pcap"
            path.write_bytes(data)
            cache[key] = (analyzer.analyze(path), truth)
        return cache[key]

    return make
