"""Real helm binaries for tests: find them, render the chart, parse the manifests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from semantic_router_operator.release import ReleaseSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "semantic-router"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))


def helm_binary(major: int = 4) -> str:
    """Path of the pinned Helm `major` binary that `make dev` puts in ./bin."""
    candidate = ROOT / "bin" / f"helm{major}"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(f"helm{major}")
    if found:
        return found
    raise FileNotFoundError(f"Helm {major} binary not found at {candidate}: run `make dev`")


def release_settings(**overrides: Any) -> ReleaseSettings:
    """The operator's helm settings for tests: the pinned helm 4, this chart, a cache in
    the checkout (never the user's)."""
    return ReleaseSettings(
        helm=helm_binary(4),
        chart=CHART,
        env={"HELM_CACHE_HOME": str(ROOT / ".cache" / "helm-home")},
        **overrides,
    )


class HelmError(RuntimeError):
    """helm exited non-zero; the message holds its stderr."""


def run_helm(args: Iterable[str], *, major: int = 4, stdin: str | None = None) -> str:
    env = {**os.environ, "HELM_CACHE_HOME": str(ROOT / ".cache" / "helm-home")}
    proc = subprocess.run(
        [helm_binary(major), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip() or proc.stdout.strip())
    return proc.stdout


def template(
    values_files: Iterable[Path | str] = (),
    values: Mapping[str, Any] | None = None,
    *,
    release: str = "test",
    namespace: str = "default",
    major: int = 4,
    api_versions: Iterable[str] = (),
    chart: Path = CHART,
) -> str:
    """`helm template` the chart; `values` are passed on stdin, never written to disk."""
    args = ["template", release, str(chart), "--namespace", namespace]
    for f in values_files:
        args += ["-f", str(f)]
    if values is not None:
        args += ["-f", "-"]
    for api in api_versions:
        args += ["--api-versions", api]
    return run_helm(args, major=major, stdin=yaml.safe_dump(dict(values)) if values else None)


def notes(values: Mapping[str, Any], *, release: str = "test") -> str:
    """The NOTES helm prints after installing the chart with `values` (a client-side dry run)."""
    args = ["install", release, str(CHART), "--dry-run=client", "-o", "json", "-f", "-"]
    text: str = json.loads(run_helm(args, stdin=yaml.safe_dump(dict(values))))["info"]["notes"]
    return text


def parse(manifest: str) -> list[dict[str, Any]]:
    """Every object of a rendered multi-document manifest, empty documents dropped."""
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def render(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return parse(template(*args, **kwargs))


def find(objs: Iterable[Mapping[str, Any]], kind: str, name: str | None = None) -> list[Any]:
    """Objects of `kind` (and `name`, when given) among rendered objects."""
    return [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
