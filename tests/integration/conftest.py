"""The integration tier's fixtures: the shared harness (`tests.support.harness`) with the
helm step replaced by `FakeReleases`.

What a real control plane proves is proven there (tests/e2e: discovery from real objects,
OpenShift detection, the named-namespaces mode, restart without helm runs, delete and
finalizer); this tier keeps what needs a stand-in to observe or to provoke: exact helm runs
and values, helm failures, timer-paced drift and retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import kmock
import pytest
import pytest_asyncio

from tests.integration.releases import FakeReleases
from tests.support.cluster import ROUTES, Client, Cluster
from tests.support.harness import OperatorEnv, StandInReleases


@dataclass
class Env(OperatorEnv):
    """The emulated cluster, the release store and the running operator(s); every
    operator shares the one `FakeReleases`."""

    timeout: ClassVar[float] = 30.0

    releases: FakeReleases

    def releases_for_operator(self) -> StandInReleases:
        return self.releases

    async def wait_runs(self, count: int) -> None:
        """Wait until `count` helm runs have finished."""

        async def check() -> bool:
            return sum(1 for run in self.releases.runs if run.finished) >= count

        await self.wait(check, f"{count} finished helm run(s)")

    def report(self, scenario: str) -> str:
        runs = self.releases.runs
        line = (
            f"{scenario}: reconciles={sum(o.reconciles() for o in self.operators())} "
            f"helm runs={len(runs)} ({', '.join(r.action for r in runs) or 'none'})"
        )
        print(line)
        return line


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """A cluster (plus the optional APIs a test marks with `serves`) and a running operator."""
    marker = request.node.get_closest_marker("serves")
    optional = list(marker.args) if marker else []
    cluster = Cluster.standard(*optional)
    async with cluster, kmock.Server(cluster) as server:
        url = str(server.url).rstrip("/")
        client = Client(server.client, url)
        api_versions = ["route.openshift.io/v1"] if ROUTES in optional else []
        environment = Env(cluster, client, url, FakeReleases(url, api_versions=api_versions))
        try:
            await environment.start()
            yield environment
        finally:
            await environment.stop_all()
            await environment.releases.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "serves(*resources): optional APIs the cluster serves")
