"""Fixtures of the chart tier: every `ci/*-values.yaml` rendered once with Helm 4."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.validators import Finding, checkov_findings
from tests.support.helm import CHART, CI_VALUES, HelmError, render

RELEASE = "sr"
# A namespace of its own, as a real install has (the default namespace is a finding of its own).
NAMESPACE = "semantic-router"
# Stands in for the scenarios when the chart has no CI values file, so that every
# parametrized test fails (loudly) instead of being collected with no parameter.
NO_CI_FILES = "no-ci-values-files"


def scenario_of(path: Path) -> str:
    """`ci/redis-cache-values.yaml` -> `redis-cache`."""
    return path.name.removesuffix("-values.yaml")


SCENARIOS = [scenario_of(p) for p in CI_VALUES] or [NO_CI_FILES]


def values_file(scenario: str) -> Path:
    assert scenario != NO_CI_FILES, f"no CI values files: {CHART / 'ci'} has no *-values.yaml"
    return CHART / "ci" / f"{scenario}-values.yaml"


def values_of(scenario: str) -> dict[str, Any]:
    data = yaml.safe_load(values_file(scenario).read_text())
    return data if isinstance(data, dict) else {}


def gateway_mode(scenario: str) -> bool:
    """Gateway mode: the values name an existing Gateway (HTTPRoute, no Envoy sidecar)."""
    gateway = values_of(scenario).get("gateway") or {}
    return bool((gateway.get("existingRef") or {}).get("name"))


@functools.cache
def rendered(scenario: str) -> tuple[dict[str, Any], ...]:
    """The scenario's manifests, as `helm template` (Helm 4) renders them."""
    return tuple(render([values_file(scenario)], release=RELEASE, namespace=NAMESPACE))


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, list[Finding]]:
    """Failed checkov checks of every scenario that renders, from one checkov run."""
    renders = {}
    for scenario in SCENARIOS:
        try:
            renders[scenario] = rendered(scenario)
        except (AssertionError, HelmError):
            continue  # that scenario's own tests report why it does not render
    return checkov_findings(renders)
