"""An in-memory release store that stands in for `helm upgrade --install` in the
integration tests (helm cannot talk to the emulated API server).

It renders every release with the real chart and the real helm binary
(`HelmReleases.template`), keeps the revisions in memory, writes helm's release
Secrets (`tests.support.helmstorage`: the release's own labels set by ``--labels`` at
install and merged at each upgrade, as helm 3.17/4.1 does) and the workload objects the
operator reads (Deployment, Route) into the emulated cluster, and records every run.
`seed` puts a release there that the operator did not install (another chart's, or this
chart installed by hand), as ``helm install`` would leave it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from semantic_router_operator.release import (
    OWNER_LABEL,
    ReleaseError,
    ReleaseInfo,
)

from tests.support.helm import release_settings
from tests.support.helmstorage import WORKLOADS
from tests.support.releases import HelmStandIn


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


class FakeReleases(HelmStandIn):
    """`ReleaseManager` over memory and the emulated cluster, rendering with real helm."""

    def __init__(self, url: str, *, api_versions: Sequence[str] = ()) -> None:
        super().__init__(url, release_settings())
        self.api_versions = list(api_versions)
        self.releases: dict[tuple[str, str], Release] = {}
        self.runs: list[Run] = []
        self.failures: list[ReleaseError] = []

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

    # -- ReleaseManager (template: the real adapter's)

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
            await self.storage.apply(manifest, namespace)
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
        await self._delete_secrets(release)
        for manifest in release.manifests:
            resource = WORKLOADS.get(str(manifest.get("kind")))
            if resource:
                await self.storage.remove(resource, namespace, manifest["metadata"]["name"])
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
            await self.storage.apply(manifest, namespace)

    async def forget(self, name: str, namespace: str) -> None:
        """The release vanishes behind the operator's back (its Secrets deleted)."""
        await self._delete_secrets(self.releases.pop((namespace, name)))

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
        await self.storage.deploy(
            release.namespace,
            release.name,
            release.revision,
            release.labels,
            previous=previous.labels if previous is not None else None,
        )

    async def _delete_secrets(self, release: Release) -> None:
        for revision in range(1, release.revision + 1):
            await self.storage.delete(release.namespace, release.name, revision)
