"""The reliability harness: the real operator (kopf, handlers, `HelmReleases`) against a
misbehaving emulated API (`FaultyCluster`) and an in-memory helm storage (`ReleaseStore`).

Each operator "process" runs in its own thread and event loop (`tests.support.harness`);
stopping one cancels whatever it was doing (a helm command included), which is
how a killed pod behaves. The store and the cluster outlive the operators.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
import kopf
from semantic_router_operator import discovery, models, values
from semantic_router_operator.discovery import BackendRef, BackendResult
from semantic_router_operator.platform import Platform
from semantic_router_operator.release import read_chart_version

from tests.reliability.faults import EXEMPT_HEADER, FaultyCluster
from tests.reliability.store import ReleaseStore, StoreReleases
from tests.support.cluster import Client
from tests.support.harness import OperatorEnv, OperatorThread, StandInReleases
from tests.support.helm import CHART

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
    """One operator 'process' of the reliability tier: the shared operator thread with
    kopf's retry pacing shortened (`tune`) and more time to start and stop."""

    timer_interval = TIMER_INTERVAL
    wait = WAIT

    def tune(self, kopf_settings: kopf.OperatorSettings) -> None:
        tune(kopf_settings)


def spec(replicas: int, backend: str = "vllm-qwen") -> dict[str, Any]:
    """A router with one Service backend (`backend`), `replicas` replicas and no PVC."""
    return {
        "replicas": replicas,
        "persistence": {"enabled": False},
        "vllmEndpoints": [
            {
                "name": "qwen",
                "model": "qwen2.5-7b",
                "backend": {"type": "service", "service": {"name": backend, "port": 8000}},
            }
        ],
    }


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
class Env(OperatorEnv):
    """The faulty cluster, helm's storage and the operator process(es); each operator
    gets its own `StoreReleases` (its own helm adapter) over the one shared store."""

    timeout: ClassVar[float] = WAIT
    operator_class: ClassVar[type[OperatorThread]] = OperatorProcess

    cluster: FaultyCluster
    store: ReleaseStore
    release_settings: dict[str, Any] = field(default_factory=dict)

    def releases_for_operator(self) -> StandInReleases:
        return StoreReleases(self.store, **self.release_settings)

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
