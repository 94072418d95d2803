"""The base of every helm stand-in that plays helm's part on the emulated cluster.

A stand-in is the operator's `ReleaseManager` (apply, status, uninstall, template,
chart_version) and is closed by each operator "process" that used it. The base holds what
they share: the operator's helm settings, the real helm adapter (`HelmReleases`, one per
event loop: its semaphore belongs to one loop), one HTTP client of the cluster per event
loop, and helm's writes to the cluster (`HelmStorage`). Without overrides it is the real
adapter; each stand-in replaces what it stands in for:

- `tests.integration.releases.FakeReleases`: apply, status and uninstall in memory, rendering
  with the real adapter's ``helm template``;
- `tests.reliability.store.StoreReleases`: the real adapter whose helm processes are answered
  by a `ReleaseStore` (`new_helm`);
- `bench.store.TimedReleases`: an apply of a set duration, no rendering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from semantic_router_operator.release import (
    HelmReleases,
    ReleaseInfo,
    ReleaseSettings,
    read_chart_version,
)

from tests.support.cluster import LoopClients
from tests.support.helmstorage import HelmStorage


class HelmStandIn:
    """The operator's release manager, over the emulated cluster at `url`."""

    def __init__(
        self, url: str, settings: ReleaseSettings, headers: Mapping[str, str] | None = None
    ) -> None:
        self.url = url
        self.settings = settings
        self._clients = LoopClients(url, headers)
        self._helms: dict[asyncio.AbstractEventLoop, HelmReleases] = {}

    def new_helm(self) -> HelmReleases:
        """The helm adapter of one event loop."""
        return HelmReleases(self.settings)

    @property
    def helm(self) -> HelmReleases:
        loop = asyncio.get_running_loop()
        if loop not in self._helms:
            self._helms[loop] = self.new_helm()
        return self._helms[loop]

    @property
    def storage(self) -> HelmStorage:
        """helm's writes to the cluster, over the running loop's client."""
        return HelmStorage(self._clients.get())

    async def close(self) -> None:
        """Forget the running loop's adapter and close its session (each operator loop
        closes its own)."""
        self._helms.pop(asyncio.get_running_loop(), None)
        await self._clients.close()

    # -- ReleaseManager

    def chart_version(self) -> str:
        return read_chart_version(self.settings.chart)

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
        return await self.helm.apply(
            name, namespace, values, digest=digest, owner=owner, repair=repair
        )

    async def status(self, name: str, namespace: str) -> ReleaseInfo | None:
        return await self.helm.status(name, namespace)

    async def uninstall(self, name: str, namespace: str) -> None:
        await self.helm.uninstall(name, namespace)

    async def template(
        self,
        name: str,
        namespace: str,
        values: Mapping[str, Any],
        *,
        api_versions: Sequence[str] = (),
    ) -> str:
        return await self.helm.template(name, namespace, values, api_versions=api_versions)
