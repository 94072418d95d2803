"""Benchmark 1: the operator's own work per reconcile against `helm template`.

For each sample CR: spec → models → discovery → values → digest, the steps a reconcile
takes before it decides whether to run helm (the operator's code, with the reads it
makes answered from memory, so that only its own work is timed; the API requests are
counted by the restart and scale benchmarks), against `helm template` of the very same
values through the operator's helm adapter (pyhelm3 command layer, real helm).

    python -m bench.pipeline [--iterations N] [--helm-runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from semantic_router_operator import discovery, models, platform, values
from semantic_router_operator.platform import Platform
from semantic_router_operator.release import HelmReleases, ReleaseSettings, read_chart_version
from semantic_router_operator.settings import SOURCE_CHART_PATH

from bench import stats
from bench.stats import Check, Comparison

SAMPLES = stats.ROOT / "samples"
NAMESPACE = "default"
TARGET = 0.05
OPENSHIFT_SAMPLES = {"openshift", "route"}
QUIET = logging.getLogger("bench.pipeline.quiet")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False


class MemoryReader:
    """Answers discovery's reads for a sample: every referenced backend exists."""

    def __init__(self, storage_class: str) -> None:
        self.storage_class = storage_class

    async def get(self, path: str) -> dict[str, Any] | None:
        if "/inferenceservices/" in path:
            return {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
        if "/services/" in path:
            return {"spec": {"ports": []}}  # no declared ports: any port is accepted
        return None

    async def list_objects(
        self, path: str, labels: Mapping[str, str] | None = None, *, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        if path.endswith("/services"):
            return [
                {
                    "metadata": {"name": "llama-stack", "labels": dict(labels or {})},
                    "spec": {"ports": [{"port": 8321}]},
                }
            ]
        if path.endswith("/storageclasses"):
            default = {platform.DEFAULT_CLASS_ANNOTATION: "true"}
            return [{"metadata": {"name": self.storage_class, "annotations": default}}]
        return []


async def pipeline(
    raw_spec: Mapping[str, Any], detected: Platform, reader: MemoryReader, chart: Path
) -> tuple[dict[str, Any], str]:
    """What a reconcile computes before helm: the chart values and their digest."""
    spec = models.parse_spec(raw_spec)
    endpoints = [e.to_dict() for e in spec.vllm_endpoints or []]
    resolved = await discovery.resolve(endpoints, NAMESPACE, reader, QUIET)
    await platform.validate_storage(spec.persistence.to_dict(), reader)
    defaults = values.read_chart_defaults(chart)
    chart_values = values.build(spec, resolved, detected, chart_defaults=defaults)
    return chart_values, values.digest(read_chart_version(chart), chart_values)


@dataclass
class Result:
    samples: list[Comparison]  # per sample: the pipeline (measured), `helm template`
    iterations: int
    helm_runs: int

    @property
    def worst(self) -> Comparison:
        return max(self.samples, key=lambda s: s.ratio)

    def checks(self) -> list[Check]:
        worst = self.worst
        return [
            Check(
                f"pipeline / `helm template`, worst sample ({worst.subject})",
                stats.percent(worst.ratio),
                f"≤ {TARGET:.0%}",
                worst.ratio <= TARGET,
            )
        ]

    def markdown(self) -> str:
        rows = [s.row(s.subject, stats.percent) for s in self.samples]
        return "\n\n".join(
            [
                stats.table(["sample", "pipeline", "`helm template`", "pipeline / helm"], rows),
                f"Pipeline: median of {self.iterations} runs per sample (after warm-up); "
                f"`helm template`: {self.helm_runs} runs per sample (after one warm-up run).",
            ]
        )


def sample_router(path: Path) -> tuple[str, dict[str, Any]]:
    """(metadata.name, spec) of the sample's SemanticRouter."""
    for doc in yaml.safe_load_all(path.read_text()):
        if isinstance(doc, dict) and doc.get("kind") == "SemanticRouter":
            spec: dict[str, Any] = doc.get("spec") or {}
            return str(doc["metadata"]["name"]), spec
    raise ValueError(f"{path}: no SemanticRouter")


def sample_platform(name: str, raw_spec: Mapping[str, Any]) -> Platform:
    routes = ((raw_spec.get("openshift") or {}).get("routes") or {}).get("enabled")
    return Platform.OPENSHIFT if name in OPENSHIFT_SAMPLES or routes else Platform.KUBERNETES


async def measure(iterations: int = 200, helm_runs: int = 10) -> Result:
    chart = SOURCE_CHART_PATH
    helm = HelmReleases(
        ReleaseSettings(
            helm=str(stats.ROOT / "bin" / "helm4"),
            chart=chart,
            env={"HELM_CACHE_HOME": str(stats.ROOT / ".cache" / "helm-home")},
        )
    )
    results = []
    for path in sorted(SAMPLES.glob("*.yaml")):
        name = path.stem.split("semanticrouter_", 1)[-1]
        release, raw_spec = sample_router(path)
        detected = sample_platform(name, raw_spec)
        storage = str((raw_spec.get("persistence") or {}).get("storageClassName") or "standard")
        reader = MemoryReader(storage)
        result = Comparison(name)
        for _ in range(max(3, iterations // 20)):  # warm-up: imports, caches
            chart_values, _ = await pipeline(raw_spec, detected, reader, chart)
        for _ in range(iterations):
            start = time.perf_counter()
            await pipeline(raw_spec, detected, reader, chart)
            result.measured.add(time.perf_counter() - start)
        api_versions = ["route.openshift.io/v1"] if detected is Platform.OPENSHIFT else []
        for run in range(helm_runs + 1):
            start = time.perf_counter()
            await helm.template(release, NAMESPACE, chart_values, api_versions=api_versions)
            if run:  # the first run warms the page cache
                result.reference.add(time.perf_counter() - start)
        results.append(result)
    return Result(results, iterations, helm_runs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.pipeline")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--helm-runs", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(measure(args.iterations, args.helm_runs))
    print(result.markdown())
    print()
    print(stats.checks_table(result.checks()))


if __name__ == "__main__":
    main()
