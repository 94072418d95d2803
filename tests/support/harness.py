"""The harness every operator-level tier and the benchmarks share: an emulated cluster
(`tests.support.cluster`) reached over HTTP, and the operator run against it.

- `ApiEnv`: the cluster, a client for the test (or benchmark driver) and what it does to
  and reads from SemanticRouters: create, patch, read status and conditions, play the
  Deployment controller, read events, and wait for any of it.
- `OperatorEnv`: an `ApiEnv` that also runs the real operator (kopf and this project's
  handlers) in `OperatorThread`s, each one "process" with its own thread and event loop,
  as it would be in its own pod. kopf cancels every task of its loop when it stops, and
  the test's tasks are not its. Each tier says which helm stand-in an operator gets.

Events: kopf posts them from its own queue, after the status patch they go with, so a
test that saw a status waits for the events it checks (`wait_events`), never reads them
right away.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import kopf
from semantic_router_operator import handlers
from semantic_router_operator.handlers import Operator
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.release import ReleaseManager
from semantic_router_operator.settings import Settings

from tests.support.cluster import Client, Cluster

ROUTERS = "vllm.ai/v1alpha1/semanticrouters"
DEPLOYMENTS = "apps/v1/deployments"
NAMESPACE = "default"


def router_object(name: str, spec: Mapping[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """A SemanticRouter as `kubectl apply` would send it."""
    return {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": name, "namespace": namespace},
        "spec": dict(spec),
    }


def ready_status(replicas: int, generation: int) -> dict[str, int]:
    """A Deployment's status once the Deployment controller rolled out every replica."""
    counts = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    return {"observedGeneration": generation, **{key: replicas for key in counts}}


class StandInReleases(ReleaseManager, Protocol):
    """A test's stand-in for helm: the operator's release interface, plus closing it."""

    async def close(self) -> None: ...


class OperatorThread:
    """One operator 'process': a thread running kopf with this project's handlers."""

    timer_interval = 0.3
    wait = 30.0

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
class ApiEnv:
    """The emulated cluster and the test's (or driver's) client of it."""

    timeout: ClassVar[float] = 30.0

    cluster: Cluster
    client: Client
    url: str

    # -- objects

    async def create_router(
        self, name: str, spec: Mapping[str, Any], namespace: str = NAMESPACE
    ) -> Any:
        return await self.client.create(router_object(name, spec, namespace))

    async def create_many(self, objs: list[dict[str, Any]], parallel: int = 16) -> None:
        """Create `objs`, `parallel` requests at a time."""
        gate = asyncio.Semaphore(parallel)

        async def one(obj: dict[str, Any]) -> None:
            async with gate:
                await self.client.create(obj)

        await asyncio.gather(*(one(obj) for obj in objs))

    async def patch_spec(
        self, name: str, spec: Mapping[str, Any], namespace: str = NAMESPACE
    ) -> Any:
        return await self.client.patch(ROUTERS, namespace, name, {"spec": dict(spec)})

    async def delete_router(self, name: str, namespace: str = NAMESPACE) -> Any:
        return await self.client.delete(ROUTERS, namespace, name)

    async def service(self, name: str, namespace: str = NAMESPACE, port: int = 8000) -> None:
        await self.client.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"ports": [{"port": port}]},
            }
        )

    async def router(self, name: str, namespace: str = NAMESPACE) -> Any:
        return await self.client.get(ROUTERS, namespace, name)

    async def status(self, name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        obj = await self.router(name, namespace)
        return dict((obj or {}).get("status") or {})

    async def phase(self, name: str, namespace: str = NAMESPACE) -> str:
        return str((await self.status(name, namespace)).get("phase"))

    async def condition(self, name: str, kind: str, namespace: str = NAMESPACE) -> dict[str, Any]:
        for cond in (await self.status(name, namespace)).get("conditions") or []:
            if cond.get("type") == kind:
                return dict(cond)
        return {}

    async def make_ready(self, deployment: str, namespace: str = NAMESPACE) -> None:
        """Play the Deployment controller: every desired replica is updated and ready."""
        obj = await self.client.get(DEPLOYMENTS, namespace, deployment)
        assert obj is not None, f"no Deployment {namespace}/{deployment}"
        status = ready_status(
            int(obj["spec"].get("replicas", 1)), int(obj["metadata"].get("generation", 1))
        )
        await self.client.patch(
            DEPLOYMENTS, namespace, deployment, {"status": status}, subresource="status"
        )

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        found = []
        for (resource, _, _), obj in list(self.cluster.objects.items()):
            if resource.plural == "events" and not obj.deleted:
                raw = obj.raw
                if reason is None or raw.get("reason") == reason:
                    found.append(raw)
        return found

    # -- waiting

    async def wait(
        self,
        check: Callable[[], Awaitable[bool]],
        what: str,
        timeout: float | None = None,
        explain: Callable[[], Awaitable[str]] | None = None,
    ) -> float:
        """Poll `check` until it holds; the seconds it took. Fails naming `what`."""
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not await check():
            if loop.time() - start > limit:
                detail = await explain() if explain is not None else ""
                raise AssertionError(f"timed out after {limit:g}s waiting for {what}\n{detail}")
            await asyncio.sleep(0.05)
        return loop.time() - start

    async def wait_events(self, reason: str) -> list[dict[str, Any]]:
        """The events of `reason`, once there is one (kopf posts them after the status)."""

        async def posted() -> bool:
            return bool(self.events(reason))

        await self.wait(posted, f"a {reason} event")
        return self.events(reason)

    async def wait_phase(self, name: str, phase: str, namespace: str = NAMESPACE) -> None:
        async def check() -> bool:
            return await self.phase(name, namespace) == phase

        await self.wait(check, f"{namespace}/{name} phase {phase}")

    async def wait_condition(
        self, name: str, kind: str, value: str, reason: str | None = None
    ) -> dict[str, Any]:
        async def check() -> bool:
            cond = await self.condition(name, kind)
            return cond.get("status") == value and reason in (None, cond.get("reason"))

        await self.wait(check, f"condition {kind}={value} ({reason}) on {name}")
        return await self.condition(name, kind)


@dataclass
class OperatorEnv(ApiEnv, abc.ABC):
    """An `ApiEnv` with the operator process(es) running against the cluster; each tier
    subclasses it to name its helm stand-in."""

    operator_class: ClassVar[type[OperatorThread]] = OperatorThread

    running: list[OperatorThread] = field(default_factory=list, init=False)
    stopped: list[OperatorThread] = field(default_factory=list, init=False)

    @abc.abstractmethod
    def releases_for_operator(self) -> StandInReleases:
        """The helm stand-in a new operator process gets (each tier says which)."""

    @property
    def operator(self) -> OperatorThread:
        return self.running[-1]

    def operators(self) -> list[OperatorThread]:
        return self.stopped + self.running

    async def start(self, **settings: Any) -> OperatorThread:
        """Start an operator (as a fresh process would) against the cluster."""
        operator = self.operator_class(self.url, self.releases_for_operator(), **settings)
        await operator.start()
        self.running.append(operator)
        return operator

    async def stop(self, operator: OperatorThread | None = None) -> None:
        operator = operator or self.operator
        self.running.remove(operator)
        self.stopped.append(operator)
        await operator.stop()

    async def stop_all(self) -> None:
        """Stop every running operator, as the end of a test does (errors dropped)."""
        for operator in list(self.running):
            with contextlib.suppress(Exception):  # the test's own failure is the one to report
                await self.stop(operator)

    async def wait_timer(self, ticks: int = 2, routers: int = 1) -> None:
        """Wait until the running operator's drift timer ran `ticks` more times for each
        of `routers` SemanticRouters."""
        operator = self.operator
        target = operator.reconciles("timer") + ticks * routers

        async def check() -> bool:
            return operator.reconciles("timer") >= target

        await self.wait(check, f"{ticks} timer run(s) per router")
