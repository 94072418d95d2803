"""A release store for benchmarks: `helm upgrade --install` whose duration is a parameter.

helm cannot talk to the emulated API server, so where a release would need a cluster
this store stands in for it: each apply takes `apply_seconds` (at most `concurrency`
at once, as the operator's helm semaphore allows), then writes what helm would leave
behind and the operator reads back: the release's storage Secret (labels ``owner=helm,
name, status, version`` and the owner label the operator's ``--labels`` sets) and the
router Deployment, already rolled out and ready (the Deployment controller's part). Its
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

import aiohttp
from semantic_router_operator.release import (
    OWNER_LABEL,
    ReleaseError,
    ReleaseInfo,
    read_chart_version,
)

from bench.emulator import STORE_AGENT


class TimedReleases:
    """`ReleaseManager` whose apply takes a fixed time and writes to the emulated API."""

    def __init__(self, url: str, chart: Path, *, apply_seconds: float, concurrency: int) -> None:
        self.url = url.rstrip("/")
        self.chart = chart
        self.apply_seconds = apply_seconds
        self.concurrency = concurrency
        self.runs: dict[str, int] = {"install": 0, "upgrade": 0, "uninstall": 0}
        self._revisions: dict[tuple[str, str], int] = {}
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._chart_version = read_chart_version(chart)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": STORE_AGENT})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
            revision = 0
            secrets = f"/api/v1/namespaces/{namespace}/secrets"
            while await self._call("GET", f"{secrets}/{_secret(name, revision + 1)}"):
                revision += 1
            self._revisions[key] = revision
        return self._revisions[key]

    async def _write_secret(
        self, name: str, namespace: str, revision: int, owner: str, replicas: int = 1
    ) -> None:
        secrets = f"/api/v1/namespaces/{namespace}/secrets"
        if revision > 1:
            await self._call(
                "PATCH",
                f"{secrets}/{_secret(name, revision - 1)}",
                body={"metadata": {"labels": {"status": "superseded"}}},
            )
        labels = {"owner": "helm", "name": name, "status": "deployed", "version": str(revision)}
        labels[OWNER_LABEL] = owner
        await self._call(
            "POST",
            secrets,
            body={
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "helm.sh/release.v1",
                "metadata": {"name": _secret(name, revision), "labels": labels},
                "data": {"release": release_record(name, namespace, revision, replicas)},
            },
        )

    async def _write_deployment(self, name: str, namespace: str, replicas: int) -> None:
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
        spec = deployment_spec(name, replicas)
        existing = await self._call("GET", f"{path}/{name}")
        if existing is None:
            created = await self._call(
                "POST",
                path,
                body={
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
                    "spec": spec,
                },
            )
            generation = int(created["metadata"].get("generation") or 1)
        else:
            patched = await self._call("PATCH", f"{path}/{name}", body={"spec": spec})
            generation = int(patched["metadata"].get("generation") or 1)
        ready = {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        }
        await self._call("PATCH", f"{path}/{name}/status", body={"status": ready})

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
        async with self.session.request(
            method, self.url + path, json=body, params=params, headers=headers
        ) as response:
            if response.status == 404 and method == "GET":
                return None
            payload = await response.json(content_type=None)
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {response.status}: {payload}")
            return payload


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


def _secret(name: str, revision: int) -> str:
    """The name helm gives the storage Secret of a release revision."""
    return f"sh.helm.release.v1.{name}.v{revision}"
