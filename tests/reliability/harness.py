"""The reliability harness: the real operator (kopf, handlers, `HelmReleases`) against a
misbehaving emulated API (`FaultyCluster`) and an in-memory helm storage (`ReleaseStore`).

Each operator "process" runs in its own thread and event loop, as in the integration
tier; stopping one cancels whatever it was doing (a helm command included), which is
how a killed pod behaves. The store and the cluster outlive the operators.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import kopf
from semantic_router_operator import discovery, models, values
from semantic_router_operator.discovery import BackendRef, BackendResult
from semantic_router_operator.platform import Platform
from semantic_router_operator.release import read_chart_version

from tests.integration.cluster import Client
from tests.integration.conftest import OperatorThread
from tests.reliability.faults import EXEMPT_HEADER, FaultyCluster
from tests.reliability.store import ReleaseStore, StoreReleases
from tests.support.helm import CHART

ROUTERS = "vllm.ai/v1alpha1/semanticrouters"
DEPLOYMENTS = "apps/v1/deployments"
TIMER_INTERVAL = 0.5
WAIT = 60.0

log = logging.getLogger(__name__)

# One line per scenario with what it measured (faults, retries, helm runs, seconds to
# converge), shown in the terminal summary: numbers to read, never asserted on.
MEASURES: list[str] = []


# Outcomes counted by the property tests (each example adds one), shown beside MEASURES.
COUNTS: Counter[str] = Counter()


def count(outcome: str) -> None:
    COUNTS[outcome] += 1


def measure(scenario: str, **numbers: Any) -> str:
    line = f"{scenario}: " + ", ".join(f"{key}={value}" for key, value in numbers.items())
    MEASURES.append(line)
    log.info(line)
    return line


def tune(settings: kopf.OperatorSettings) -> None:
    """kopf's retry pacing, shortened so that a test's faults cost seconds, not minutes
    (the same retries in the same order as the defaults; a 429's Retry-After still wins)."""
    settings.watching.reconnect_backoff = 0.1
    settings.networking.error_backoffs = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
    settings.queueing.error_delays = (0.2, 0.4, 0.8, 1.0)


class OperatorProcess(OperatorThread):
    """One operator 'process' of the reliability tier: the integration tier's operator thread
    with kopf's retry pacing shortened (`tune`) and more time to start and stop."""

    timer_interval = TIMER_INTERVAL
    wait = WAIT

    def tune(self, kopf_settings: kopf.OperatorSettings) -> None:
        tune(kopf_settings)


def expected_digest(spec: Mapping[str, Any], namespace: str = "default") -> str:
    """The values digest the operator must end up deploying for `spec` (Service backends,
    which resolve to their cluster address once the Service exists)."""
    parsed = models.parse_spec(spec)
    resolved: list[BackendResult] = []
    for endpoint in parsed.vllm_endpoints or []:
        result = discovery.offline_result(BackendRef.from_endpoint(endpoint.to_dict()), namespace)
        assert result is not None, "expected_digest knows Service and KServe backends only"
        resolved.append(result)
    defaults = values.read_chart_defaults(CHART)
    built = values.build(parsed, resolved, Platform.KUBERNETES, chart_defaults=defaults)
    return values.digest(read_chart_version(CHART), built)


@dataclass
class Env:
    """The faulty cluster, helm's storage and the operator process(es)."""

    cluster: FaultyCluster
    client: Client
    url: str
    store: ReleaseStore
    release_settings: dict[str, Any] = field(default_factory=dict)
    running: list[OperatorProcess] = field(default_factory=list)
    stopped: list[OperatorProcess] = field(default_factory=list)

    @property
    def operator(self) -> OperatorProcess:
        return self.running[-1]

    def operators(self) -> list[OperatorProcess]:
        return self.stopped + self.running

    async def start(self, **settings: Any) -> OperatorProcess:
        releases = StoreReleases(self.store, **self.release_settings)
        operator = OperatorProcess(self.url, releases, **settings)
        await operator.start()
        self.running.append(operator)
        return operator

    async def stop(self, operator: OperatorProcess | None = None) -> None:
        operator = operator or self.operator
        self.running.remove(operator)
        self.stopped.append(operator)
        await operator.stop()

    # -- objects

    async def service(self, name: str, namespace: str = "default", port: int = 8000) -> None:
        await self.client.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"ports": [{"port": port}]},
            }
        )

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

    async def delete_router(self, name: str, namespace: str = "default") -> Any:
        return await self.client.delete(ROUTERS, namespace, name)

    async def router(self, name: str, namespace: str = "default") -> Any:
        return await self.client.get(ROUTERS, namespace, name)

    async def status(self, name: str, namespace: str = "default") -> dict[str, Any]:
        obj = await self.router(name, namespace)
        return dict((obj or {}).get("status") or {})

    async def make_ready(self, deployment: str, namespace: str = "default") -> None:
        """Play the Deployment controller: every desired replica is updated and ready."""
        obj = await self.client.get(DEPLOYMENTS, namespace, deployment)
        assert obj is not None, f"no Deployment {namespace}/{deployment}"
        replicas = int(obj["spec"].get("replicas", 1))
        counts = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
        status: dict[str, Any] = {key: replicas for key in counts}
        status["observedGeneration"] = int(obj["metadata"].get("generation", 1))
        await self.client.patch(
            DEPLOYMENTS, namespace, deployment, {"status": status}, subresource="status"
        )

    async def phase(self, name: str, namespace: str = "default") -> str:
        return str((await self.status(name, namespace)).get("phase"))

    def events(self, reason: str | None = None) -> list[dict[str, Any]]:
        found = []
        for (resource, _, _), obj in list(self.cluster.objects.items()):
            if resource.plural == "events" and not obj.deleted:
                raw = obj.raw
                if reason is None or raw.get("reason") == reason:
                    found.append(raw)
        return found

    # -- waiting

    async def wait_events(self, reason: str) -> list[dict[str, Any]]:
        """The events of `reason`, once there is one: kopf posts events from its own queue,
        after the status patch they go with, so a test that saw the status waits for them."""

        async def posted() -> bool:
            return bool(self.events(reason))

        await self.wait(posted, f"a {reason} event")
        return self.events(reason)

    async def wait(
        self,
        check: Callable[[], Awaitable[bool]],
        what: str,
        timeout: float = WAIT,
        explain: Callable[[], Awaitable[str]] | None = None,
    ) -> float:
        """Poll `check` until it holds; the seconds it took. Fails naming `what`."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not await check():
            if loop.time() - start > timeout:
                detail = await explain() if explain is not None else ""
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}\n{detail}")
            await asyncio.sleep(0.05)
        return loop.time() - start

    async def wait_timer(self, ticks: int = 2, routers: int = 1) -> None:
        """Wait until the running operator's drift timer ran `ticks` more times for each
        of `routers` SemanticRouters."""
        operator = self.operator
        target = operator.reconciles("timer") + ticks * routers

        async def check() -> bool:
            return operator.reconciles("timer") >= target

        await self.wait(check, f"{ticks} timer run(s) per router")

    async def explain(self, names: list[str], spec: Mapping[str, Any]) -> str:
        """Why these routers are not converged (for failure messages)."""
        lines = [f"expected digest {expected_digest(spec)}"]
        for name in names:
            if await self.converged(name, spec):
                continue
            obj = await self.router(name) or {}
            meta = obj.get("metadata") or {}
            status = obj.get("status") or {}
            lines.append(
                f"{name}: generation={meta.get('generation')} "
                f"observed={status.get('observedGeneration')} phase={status.get('phase')} "
                f"release={status.get('release')} store={self.store.latest('default', name)} "
                f"annotations={meta.get('annotations')}"
            )
        return "\n".join(lines)

    async def converged(
        self, name: str, spec: Mapping[str, Any], namespace: str = "default"
    ) -> bool:
        """The CR's status reports its current generation, deployed at the digest of
        `spec`, and helm's storage holds exactly that digest, deployed."""
        obj = await self.router(name, namespace)
        if obj is None:
            return False
        status = obj.get("status") or {}
        release = status.get("release") or {}
        want = expected_digest(spec, namespace)
        return (
            status.get("observedGeneration") == obj["metadata"].get("generation")
            and release.get("digest") == want
            and release.get("status") == "deployed"
            and self.store.deployed_digest(namespace, release.get("name", name)) == want
        )


async def exempt_client(url: str) -> Client:
    """A client for the test itself: its calls are never failed on purpose."""
    return Client(aiohttp.ClientSession(headers={EXEMPT_HEADER: "test"}), url)
