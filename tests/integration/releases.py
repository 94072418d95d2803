"""An in-memory release store that stands in for `helm upgrade --install` in the
integration tests (helm cannot talk to the emulated API server).

It renders every release with the real chart and the real helm binary
(`HelmReleases.template`), keeps the revisions in memory, writes helm's release
Secrets (labels ``owner=helm, name, status, version`` and the release's own labels, as
helm 3.17/4.1 does: set by ``--labels`` at install, merged at each upgrade) and the
workload objects the operator reads (Deployment, Route) into the emulated cluster, and
records every run. `seed` puts a release there that the operator did not install (another
chart's, or this chart installed by hand), as ``helm install`` would leave it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yaml
from semantic_router_operator.release import (
    OWNER_LABEL,
    HelmReleases,
    ReleaseError,
    ReleaseInfo,
    ReleaseSettings,
    read_chart_version,
)

from tests.integration.cluster import Client
from tests.support.helm import CHART, ROOT, helm_binary

# Kinds the emulated cluster keeps as objects (what the operator reads back).
MATERIALIZED = {"Deployment": "apps/v1/deployments", "Route": "route.openshift.io/v1/routes"}


@dataclass
class Run:
    """One recorded helm run."""

    action: str  # install, upgrade, uninstall
    name: str
    namespace: str
    values: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    ok: bool | None = None  # None while running

    @property
    def finished(self) -> bool:
        return self.ok is not None


@dataclass
class Release:
    name: str
    namespace: str
    revision: int
    status: str
    digest: str
    values: dict[str, Any]
    manifests: list[dict[str, Any]]
    labels: dict[str, str] = field(default_factory=dict)
    chart: str = "semantic-router"


class FakeReleases:
    """`ReleaseManager` over memory and the emulated cluster, rendering with real helm."""

    def __init__(self, url: str, *, api_versions: Sequence[str] = ()) -> None:
        self.url = url
        self.api_versions = list(api_versions)
        self.settings = ReleaseSettings(
            helm=helm_binary(4),
            chart=CHART,
            env={"HELM_CACHE_HOME": str(ROOT / ".cache" / "helm-home")},
        )
        self.releases: dict[tuple[str, str], Release] = {}
        self.runs: list[Run] = []
        self.failures: list[ReleaseError] = []
        # The operator runs in its own thread and event loop: one HTTP session per loop.
        self._clients: dict[asyncio.AbstractEventLoop, Client] = {}
        self._helms: dict[asyncio.AbstractEventLoop, HelmReleases] = {}

    @property
    def helm(self) -> HelmReleases:
        """The real helm adapter (its semaphore belongs to one loop: one per loop)."""
        loop = asyncio.get_running_loop()
        if loop not in self._helms:
            self._helms[loop] = HelmReleases(self.settings)
        return self._helms[loop]

    @property
    def client(self) -> Client:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = Client(aiohttp.ClientSession(), self.url)
        return self._clients[loop]

    async def close(self) -> None:
        """Close the session of the running loop (call it from each loop that used one)."""
        self._helms.pop(asyncio.get_running_loop(), None)
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.session.close()

    # -- what tests look at

    def fail_next(self, error: ReleaseError) -> None:
        """The next apply raises `error` (after being recorded as a failed run)."""
        self.failures.append(error)

    def runs_of(self, *actions: str) -> list[Run]:
        return [r for r in self.runs if not actions or r.action in actions]

    def manifests(self, name: str, namespace: str) -> list[dict[str, Any]]:
        return self.releases[(namespace, name)].manifests

    def find(self, name: str, namespace: str, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests(name, namespace) if m.get("kind") == kind]

    # -- ReleaseManager

    def chart_version(self) -> str:
        return read_chart_version(CHART)

    async def template(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        api_versions: Sequence[str] = (),
    ) -> str:
        return await self.helm.template(name, namespace, values, api_versions=api_versions)

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
        current = self.releases.get((namespace, name))
        action = "upgrade" if current else "install"
        run = Run(action, name, namespace, dict(values), digest)
        self.runs.append(run)
        if self.failures:
            run.ok = False
            raise self.failures.pop(0)
        rendered = await self.template(name, namespace, values, api_versions=self.api_versions)
        manifests = [doc for doc in yaml.safe_load_all(rendered) if doc]
        revision = (current.revision if current else 0) + 1
        labels = dict(current.labels) if current else {}
        if owner:
            labels[OWNER_LABEL] = owner
        release = Release(
            name, namespace, revision, "deployed", digest, dict(values), manifests, labels
        )
        self.releases[(namespace, name)] = release
        await self._write_secret(release, previous=current)
        for manifest in manifests:
            await self._materialize(manifest, namespace)
        run.ok = True
        return self._info(release)

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None:
        release = self.releases.get((namespace, name))
        return self._info(release) if release else None

    async def uninstall(self, name: str, namespace: str) -> None:
        run = Run("uninstall", name, namespace)
        self.runs.append(run)
        release = self.releases.pop((namespace, name), None)
        if release is None:
            run.ok = True
            return
        for revision in range(1, release.revision + 1):
            await self._delete("v1/secrets", namespace, _secret_name(name, revision))
        for manifest in release.manifests:
            resource = MATERIALIZED.get(str(manifest.get("kind")))
            if resource:
                await self._delete(resource, namespace, manifest["metadata"]["name"])
        run.ok = True

    # -- out-of-band changes a person could make

    async def seed(
        self,
        name: str,
        namespace: str,
        *,
        chart: str,
        manifests: Sequence[dict[str, Any]] = (),
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """A release installed without the operator (``helm install``): revision 1,
        deployed, of `chart`, with no digest in its description."""
        release = Release(
            name, namespace, 1, "deployed", "", {}, list(manifests), dict(labels or {}), chart
        )
        self.releases[(namespace, name)] = release
        await self._write_secret(release, previous=None)
        for manifest in manifests:
            await self._materialize(manifest, namespace)

    async def forget(self, name: str, namespace: str) -> None:
        """The release vanishes behind the operator's back (its Secrets deleted)."""
        release = self.releases.pop((namespace, name))
        for revision in range(1, release.revision + 1):
            await self._delete("v1/secrets", namespace, _secret_name(name, revision))

    # -- internals

    def _info(self, release: Release) -> ReleaseInfo:
        return ReleaseInfo(
            name=release.name,
            namespace=release.namespace,
            revision=release.revision,
            status=release.status,
            chart_version=self.chart_version(),
            digest=release.digest or None,
            chart_name=release.chart,
        )

    async def _write_secret(self, release: Release, previous: Release | None) -> None:
        if previous is not None:
            await self.client.patch(
                "v1/secrets",
                release.namespace,
                _secret_name(release.name, previous.revision),
                {"metadata": {"labels": {"status": "superseded"}}},
            )
        labels = {
            **release.labels,
            "owner": "helm",
            "name": release.name,
            "status": release.status,
            "version": str(release.revision),
        }
        await self.client.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "helm.sh/release.v1",
                "metadata": {
                    "name": _secret_name(release.name, release.revision),
                    "namespace": release.namespace,
                    "labels": labels,
                },
            }
        )

    async def _materialize(self, manifest: Mapping[str, Any], namespace: str) -> None:
        resource = MATERIALIZED.get(str(manifest.get("kind")))
        if resource is None:
            return
        name = manifest["metadata"]["name"]
        if await self.client.get(resource, namespace, name) is None:
            await self.client.create({**manifest, "metadata": {**manifest["metadata"]}})
        else:
            body = {"metadata": {"labels": manifest["metadata"].get("labels") or {}}}
            await self.client.patch(resource, namespace, name, {**body, "spec": manifest["spec"]})

    async def _delete(self, resource: str, namespace: str, name: str) -> None:
        if await self.client.get(resource, namespace, name) is not None:
            await self.client.delete(resource, namespace, name)


def _secret_name(name: str, revision: int) -> str:
    return f"sh.helm.release.v1.{name}.v{revision}"
