"""Where the Envoy configs under test come from: the chart, the operator, the router's CLI.

Each function returns the `envoy.yaml` of a standalone deployment exactly as that source
produced it, parsed; the dataplane tests only move its ports (see `localize.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.helm import CHART, ROOT, helm_binary, parse, render

ENVOY_KEY = "envoy.yaml"


@dataclass(frozen=True)
class Backend:
    """A model and the loopback port of the fake server that serves it."""

    endpoint: str
    model: str
    port: int


def standalone_values(backends: Iterable[Backend]) -> dict[str, Any]:
    """Chart values of a standalone deployment whose backends are already resolved.

    Each endpoint is a plain Service reference, as a user would write it, plus the
    `backend.resolved` address the operator adds after discovery (here: loopback).
    """
    return {
        "vllmEndpoints": [
            {
                "name": b.endpoint,
                "model": b.model,
                "backend": {
                    "type": "service",
                    "service": {"name": b.endpoint, "port": 8000},
                    "resolved": {"host": "127.0.0.1", "port": b.port, "protocol": "http"},
                },
                "weight": 1,
            }
            for b in backends
        ]
    }


def envoy_config_from_manifests(objs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The parsed `envoy.yaml` of the one ConfigMap holding it among rendered objects."""
    holders = [
        o for o in objs if o.get("kind") == "ConfigMap" and ENVOY_KEY in (o.get("data") or {})
    ]
    if len(holders) != 1:
        names = [o["metadata"]["name"] for o in holders]
        raise AssertionError(f"expected one ConfigMap with key {ENVOY_KEY}, found {names}")
    config: dict[str, Any] = yaml.safe_load(holders[0]["data"][ENVOY_KEY])
    return config


def chart_envoy_config(backends: Iterable[Backend], **extra: Any) -> dict[str, Any]:
    """The Envoy config the chart renders for a standalone release with `backends`."""
    values = {**standalone_values(backends), **extra}
    return envoy_config_from_manifests(render(values=values, release="dataplane"))


def chart_documented_values() -> dict[str, Any]:
    """The chart's default values, as documented in values.yaml."""
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return values


def operator_cli() -> list[str]:
    """The operator's command line, run from this project's own environment."""
    return [sys.executable, "-m", "semantic_router_operator"]


def operator_envoy_config(cr: Path, resolve: Mapping[str, tuple[str, int]]) -> dict[str, Any]:
    """The Envoy config in the manifests `semantic-router-operator render` prints for `cr`."""
    args = [*operator_cli(), "render", str(cr)]
    for name, (host, port) in resolve.items():
        args += ["--resolve", f"{name}={host}:{port}"]
    # The operator runs the helm it is configured with: this project's pinned Helm 4.
    env = {**os.environ, "SR_OPERATOR_HELM_BINARY": helm_binary(4)}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"`{' '.join(args[2:])}` failed:\n{proc.stderr}")
    return envoy_config_from_manifests(parse(proc.stdout))


def router_cli_envoy_config(router_config: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    """The Envoy config the router's own CLI (`vllm-sr config envoy`) generates."""
    path = workdir / "router-config.yaml"
    path.write_text(yaml.safe_dump(dict(router_config)))
    vllm_sr = Path(sys.executable).parent / "vllm-sr"
    proc = subprocess.run(
        [str(vllm_sr), "config", "envoy", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"vllm-sr config envoy failed:\n{proc.stderr}")
    config: dict[str, Any] = yaml.safe_load(proc.stdout)
    return config


def router_config(backends: Iterable[Backend]) -> dict[str, Any]:
    """A minimal v0.3 router config routing to `backends` (one provider model each)."""
    backends = list(backends)
    models = [b.model for b in backends]
    return {
        "version": "v0.3",
        "listeners": [{"name": "http-8801", "address": "0.0.0.0", "port": 8801}],
        "providers": {
            "defaults": {"model": models[0]},
            "models": [
                {
                    "name": b.model,
                    "backend_refs": [
                        {
                            "name": b.endpoint,
                            "provider": "vllm",
                            "endpoint": f"127.0.0.1:{b.port}",
                            "protocol": "http",
                            "weight": 1,
                        }
                    ],
                }
                for b in backends
            ],
        },
        "routing": {
            "modelCards": [{"name": m} for m in models],
            "decisions": [
                {
                    "name": "default-route",
                    "description": "every request",
                    "priority": 100,
                    "rules": {"operator": "AND", "conditions": []},
                    "modelRefs": [{"model": m, "use_reasoning": False} for m in models],
                }
            ],
        },
    }
