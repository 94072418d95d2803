"""A release store for benchmarks: `helm upgrade --install` whose duration is a parameter.

helm cannot talk to the emulated API server, so where a release would need a cluster
this store stands in for it: each apply takes `apply_seconds` (at most `concurrency`
at once, as the operator's helm semaphore allows), then writes what helm would leave
behind and the operator reads back: the release's storage Secret
(`tests.support.helmstorage`, with the owner label the operator's ``--labels`` sets) and
the router Deployment, already rolled out and ready (the Deployment controller's part). Its
requests carry their own User-Agent, so the emulator does not count them as the
operator's.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from semantic_router_operator.release import (
    OWNER_LABEL,
    ReleaseError,
    ReleaseInfo,
    ReleaseSettings,
    read_chart_version,
)

from bench.emulator import STORE_AGENT
from tests.support.harness import DEPLOYMENTS, ready_status
from tests.support.releases import HelmStandIn


class TimedReleases(HelmStandIn):
    """`ReleaseManager` whose apply takes a fixed time and writes to the emulated API."""

    def __init__(self, url: str, chart: Path, *, apply_seconds: float, concurrency: int) -> None:
        settings = ReleaseSettings(chart=chart, max_concurrent=concurrency)
        super().__init__(url.rstrip("/"), settings, {"User-Agent": STORE_AGENT})
        self.apply_seconds = apply_seconds
        self.concurrency = concurrency
        self.runs: dict[str, int] = {"install": 0, "upgrade": 0, "uninstall": 0}
        self._revisions: dict[tuple[str, str], int] = {}
        self._semaphore: asyncio.Semaphore | None = None
        # Read once: the operator asks at every reconcile, and the figures are its cost.
        self._chart_version = read_chart_version(chart)

    def chart_version(self) -> str:
        return self._chart_version

    async def apply(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        digest: str,
        owner: str = "",
        repair: bool = False,
    ) -> ReleaseInfo:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        previous = await self._revision(name, namespace)
        self.runs["install" if previous == 0 else "upgrade"] += 1
        async with self._semaphore:
            await asyncio.sleep(self.apply_seconds)
        revision = previous + 1
        replicas = int(values.get("replicas") or 1)
        await self._write_secret(name, namespace, revision, owner, replicas)
        await self._write_deployment(name, namespace, replicas)
        self._revisions[(namespace, name)] = revision
        return ReleaseInfo(
            name=name,
            namespace=namespace,
            revision=revision,
            status="deployed",
            chart_version=self._chart_version,
            digest=digest,
        )

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None:
        revision = await self._revision(name, namespace)
        if revision == 0:
            return None
        return ReleaseInfo(name, namespace, revision, "deployed", self._chart_version)

    async def uninstall(self, name: str, namespace: str) -> None:
        self.runs["uninstall"] += 1
        self._revisions.pop((namespace, name), None)

    async def template(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        api_versions: Sequence[str] = (),
    ) -> str:
        raise ReleaseError(
            "template",
            name,
            namespace,
            reason="HelmFailed",
            transient=False,
            detail="the benchmark release store does not render",
        )

    # -- what helm would write

    async def _revision(self, name: str, namespace: str) -> int:
        """The latest revision: remembered, else read from the release Secrets (a fresh
        process after a restart)."""
        key = (namespace, name)
        if key not in self._revisions:
            self._revisions[key] = await self.storage.latest_revision(namespace, name)
        return self._revisions[key]

    async def _write_secret(
        self, name: str, namespace: str, revision: int, owner: str, replicas: int = 1
    ) -> None:
        own = {OWNER_LABEL: owner}
        record = release_record(name, namespace, revision, replicas)
        await self.storage.deploy(namespace, name, revision, own, previous=own, record=record)

    async def _write_deployment(self, name: str, namespace: str, replicas: int) -> None:
        """The router Deployment, rolled out and ready (the Deployment controller's part)."""
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": chart_labels(name),
                "annotations": {
                    "meta.helm.sh/release-name": name,
                    "meta.helm.sh/release-namespace": namespace,
                },
            },
            "spec": deployment_spec(name, replicas),
        }
        stored = await self.storage.apply(deployment, namespace)
        ready = ready_status(replicas, int(stored["metadata"].get("generation") or 1))
        await self.storage.client.patch(
            DEPLOYMENTS, namespace, name, {"status": ready}, subresource="status"
        )


def deployment_spec(name: str, replicas: int) -> dict[str, Any]:
    return {"replicas": replicas, "selector": {"matchLabels": {"app": name}}}


def release_record(name: str, namespace: str, revision: int, replicas: int) -> str:
    """What helm stores in the release Secret's ``data.release``: base64 (the API's) of
    base64 (helm's) of gzip'd JSON, whose manifest holds what the store writes."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": chart_labels(name)},
        "spec": deployment_spec(name, replicas),
    }
    record = {"name": name, "namespace": namespace, "version": revision}
    record["manifest"] = "---\n" + json.dumps(deployment)
    helm = base64.b64encode(gzip.compress(json.dumps(record).encode()))
    return base64.b64encode(helm).decode()


def chart_labels(release: str) -> dict[str, str]:
    """The labels the chart puts on every object of `release` (semantic-router.labels)."""
    return {
        "app.kubernetes.io/name": "semantic-router",
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "semantic-router",
    }
