"""The integration harness: the real operator (kopf) against an emulated Kubernetes API
over HTTP, with only the helm step replaced by `FakeReleases`.

What a real control plane proves is proven there (tests/e2e: discovery from real objects,
OpenShift detection, the named-namespaces mode, restart without helm runs, delete and
finalizer); this tier keeps what needs a stand-in to observe or to provoke: exact helm runs
and values, helm failures, timer-paced drift and retries.

The operator runs in its own thread and event loop, as it would in its own process:
kopf cancels every task of its loop when it stops, and the test's tasks are not its.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import kmock
import kopf
import pytest
import pytest_asyncio
from semantic_router_operator import handlers
from semantic_router_operator.handlers import Operator
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.release import ReleaseManager
from semantic_router_operator.settings import Settings

from tests.integration.cluster import OPTIONAL_RESOURCES, ROUTES, Client, Cluster
from tests.integration.releases import FakeReleases

ROUTERS = "vllm.ai/v1alpha1/semanticrouters"
DEPLOYMENTS = "apps/v1/deployments"
TIMER_INTERVAL = 0.3
WAIT = 30.0

log = logging.getLogger(__name__)


class StandInReleases(ReleaseManager, Protocol):
    """A test's stand-in for helm: the operator's release interface, plus closing it."""

    async def close(self) -> None: ...


class OperatorThread:
    """One operator 'process': a thread running kopf with this project's handlers."""

    timer_interval = TIMER_INTERVAL
    wait = WAIT

    def __init__(self, url: str, releases: StandInReleases, **settings: Any) -> None:
        self.url = url
        self.releases = releases
        # No jitter: the tests count the timer's runs.
        defaults = {"timer_interval": self.timer_interval, "timer_jitter": 0.0}
        self.settings = Settings(**{**defaults, **settings})
        self.metrics = Metrics()
        self.op: Operator | None = None
        self.ready = threading.Event()
        self.stop_flag = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="operator", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by stop()
            self.error = exc
            self.ready.set()

    async def _run(self) -> None:
        self.op = Operator(
            settings=self.settings,
            releases=self.releases,
            metrics=self.metrics,
            login=lambda **_: kopf.ConnectionInfo(server=self.url),
            backoff_base=0.2,
            backoff_max=1.0,
        )
        registry = kopf.OperatorRegistry()
        handlers.register(registry, self.op)
        kopf_settings = kopf.OperatorSettings()
        handlers.configure(kopf_settings)
        self.tune(kopf_settings)
        try:
            await kopf.operator(
                registry=registry,
                settings=kopf_settings,
                clusterwide=self.settings.clusterwide,
                namespaces=self.settings.namespaces,
                standalone=True,
                stop_flag=self.stop_flag,
                ready_flag=self.ready,
            )
        finally:
            await self.op.reader.close()
            await self.releases.close()

    def tune(self, kopf_settings: kopf.OperatorSettings) -> None:
        """kopf's pacing for tests: reconnect a dropped watch at once."""
        kopf_settings.watching.reconnect_backoff = 0.1

    async def start(self) -> None:
        self.thread.start()
        await asyncio.to_thread(self.ready.wait, self.wait)
        if self.error is not None:
            raise self.error

    async def stop(self) -> None:
        self.stop_flag.set()
        await asyncio.to_thread(self.thread.join, self.wait)
        assert not self.thread.is_alive(), "the operator did not stop"
        if self.error is not None:
            raise self.error

    def reconciles(self, trigger: str | None = None) -> int:
        total = 0.0
        for metric in self.metrics.registry.collect():
            for sample in metric.samples:
                if sample.name != "semantic_router_operator_reconciles_total":
                    continue
                if trigger is None or sample.labels.get("trigger") == trigger:
                    total += sample.value
        return int(total)


@dataclass
class Env:
    """The emulated cluster, the release store and the running operator(s)."""

    cluster: Cluster
    client: Client
    url: str
    releases: FakeReleases
    running: list[OperatorThread] = field(default_factory=list)
    stopped: list[OperatorThread] = field(default_factory=list)

    @property
    def operator(self) -> OperatorThread:
        return self.running[-1]

    async def start(self, **settings: Any) -> OperatorThread:
        """Start an operator (as a fresh process would) against the cluster."""
        operator = OperatorThread(self.url, self.releases, **settings)
        await operator.start()
        self.running.append(operator)
        return operator

    async def stop(self, operator: OperatorThread | None = None) -> None:
        operator = operator or self.operator
        self.running.remove(operator)
        self.stopped.append(operator)
        await operator.stop()

    # -- objects

    async def create_router(
        self, name: str, spec: Mapping[str, Any], namespace: str = "default"
    ) -> Any:
        return await self.client.create(
            {
                "apiVersion": "vllm.ai/v1alpha1",
                "kind": "SemanticRouter",
                "metadata": {"name": name, "namespace": namespace},
                "spec": dict(spec),
            }
        )

    async def patch_spec(
        self, name: str, spec: Mapping[str, Any], namespace: str = "default"
    ) -> Any:
        return await self.client.patch(ROUTERS, namespace, name, {"spec": dict(spec)})

    async def router(self, name: str, namespace: str = "default") -> Any:
        return await self.client.get(ROUTERS, namespace, name)

    async def status(self, name: str, namespace: str = "default") -> dict[str, Any]:
        obj = await self.router(name, namespace)
        return dict((obj or {}).get("status") or {})

    async def condition(self, name: str, kind: str, namespace: str = "default") -> dict[str, Any]:
        for cond in (await self.status(name, namespace)).get("conditions") or []:
            if cond.get("type") == kind:
                return dict(cond)
        return {}

    async def make_ready(self, name: str, namespace: str = "default") -> None:
        """Play the Deployment controller: every desired replica is updated and ready."""
        deployment = await self.client.get(DEPLOYMENTS, namespace, name)
        assert deployment is not None, f"no Deployment {namespace}/{name}"
        replicas = int(deployment["spec"].get("replicas", 1))
        generation = int(deployment["metadata"].get("generation", 1))
        await self.client.patch(
            DEPLOYMENTS,
            namespace,
            name,
            {
                "status": {
                    "observedGeneration": generation,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                }
            },
            subresource="status",
        )

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        found = []
        for (resource, _, _), obj in list(self.cluster.objects.items()):
            if resource.plural == "events" and not obj.deleted:
                raw = obj.raw
                if reason is None or raw.get("reason") == reason:
                    found.append(raw)
        return found

    async def wait(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        """Poll `check` until it holds; fail naming `what` after a generous bound."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not await check():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def wait_phase(self, name: str, phase: str, namespace: str = "default") -> None:
        async def check() -> bool:
            return (await self.status(name, namespace)).get("phase") == phase

        await self.wait(check, f"{namespace}/{name} phase {phase}")

    async def wait_condition(
        self, name: str, kind: str, value: str, reason: str | None = None
    ) -> dict[str, Any]:
        async def check() -> bool:
            cond = await self.condition(name, kind)
            return cond.get("status") == value and reason in (None, cond.get("reason"))

        await self.wait(check, f"condition {kind}={value} ({reason}) on {name}")
        return await self.condition(name, kind)

    async def wait_runs(self, count: int) -> None:
        """Wait until `count` helm runs have finished."""

        async def check() -> bool:
            return sum(1 for run in self.releases.runs if run.finished) >= count

        await self.wait(check, f"{count} finished helm run(s)")

    async def wait_timer(self, ticks: int = 2) -> None:
        """Wait until the current operator's timer has run `ticks` more times."""
        operator = self.operator
        target = operator.reconciles("timer") + ticks

        async def check() -> bool:
            return operator.reconciles("timer") >= target

        await self.wait(check, f"{ticks} timer run(s)")

    def report(self, scenario: str) -> str:
        runs = self.releases.runs
        operators = self.running + self.stopped
        line = (
            f"{scenario}: reconciles={sum(o.reconciles() for o in operators)} "
            f"helm runs={len(runs)} ({', '.join(r.action for r in runs) or 'none'})"
        )
        print(line)
        return line


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    """A cluster (plus the optional APIs a test marks with `serves`) and a running operator."""
    marker = request.node.get_closest_marker("serves")
    optional = list(marker.args) if marker else []
    cluster = Cluster.standard()
    for resource in optional:
        cluster.serve(resource, **OPTIONAL_RESOURCES[resource])
    async with cluster, kmock.Server(cluster) as server:
        url = str(server.url).rstrip("/")
        client = Client(server.client, url)
        api_versions = ["route.openshift.io/v1"] if ROUTES in optional else []
        environment = Env(cluster, client, url, FakeReleases(url, api_versions=api_versions))
        try:
            await environment.start()
            yield environment
        finally:
            for operator in list(environment.running):
                with contextlib.suppress(Exception):
                    await environment.stop(operator)
            await environment.releases.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "serves(*resources): optional APIs the cluster serves")
