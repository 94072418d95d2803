"""An emulated Kubernetes API that misbehaves on purpose: HTTP 500, 409 and 429 answers.

`FaultyCluster` is the integration tier's `Cluster` with fault rules. Each rule names the
requests it hits (status patches of SemanticRouters, the operator's reads, the CR list
and watch), the answers it gives in turn (``500``, ``409``, ``429`` with ``Retry-After``),
how often (a seeded coin, so a run is repeatable up to thread scheduling), and a cap on
consecutive and total faults, so that a retrying client always gets through in the end.

Every request and every injected fault is counted per rule, and the cluster keeps the
paths of the Secrets anyone read, so a test can prove the operator never reads one.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import attrs
import kmock
from kmock._internal import enums, rendering

from tests.support.cluster import Cluster

# Requests carrying this header are never failed: the test's own calls, and helm's writes
# of its release storage (helm retries those itself; here they stand for helm, not the operator).
EXEMPT_HEADER = "X-Test-Exempt"

Matcher = Callable[[rendering.Request], bool]

REASONS = {500: "InternalError", 409: "Conflict", 429: "TooManyRequests"}
MESSAGES = {
    500: "etcdserver: request timed out",
    409: "Operation cannot be fulfilled: the object has been modified",
    429: "the server has received too many requests and has asked us to try again later",
}


def _plural(request: rendering.Request) -> str:
    return str(request.resource.plural or "") if request.resource is not None else ""


def status_patches(request: rendering.Request) -> bool:
    """Writes to the status subresource of a SemanticRouter."""
    return (
        _plural(request) == "semanticrouters"
        and request.action == enums.action.UPDATE
        and request.subresource == "status"
    )


def router_watches(request: rendering.Request) -> bool:
    """The operator's list and watch of SemanticRouters."""
    return _plural(request) == "semanticrouters" and request.action in (
        enums.action.LIST,
        enums.action.WATCH,
    )


DISCOVERY_PLURALS = frozenset(
    {"services", "inferenceservices", "storageclasses", "deployments", "routes", "secrets"}
)


def discovery_reads(request: rendering.Request) -> bool:
    """The operator's own reads: backends, storage classes, the workload, helm's Secrets."""
    return _plural(request) in DISCOVERY_PLURALS and request.action in (
        enums.action.FETCH,
        enums.action.LIST,
    )


@dataclass
class Rule:
    """Which requests fail, with which answers, how often and how many times at most."""

    name: str
    matches: Matcher
    statuses: Sequence[int] = (500, 409, 429)
    probability: float = 0.3
    retry_after: int = 1
    max_in_a_row: int = 2
    budget: int = 1_000_000
    seed: int = 0
    seen: int = 0
    injected: Counter[int] = field(default_factory=Counter)
    _row: int = 0
    _turn: int = 0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def decide(self, request: rendering.Request) -> int | None:
        """The HTTP status to answer `request` with, or None to serve it normally."""
        if not self.matches(request):
            return None
        self.seen += 1
        fail = (
            self.total < self.budget
            and self._row < self.max_in_a_row
            and self._rng.random() < self.probability
        )
        if not fail:
            self._row = 0
            return None
        self._row += 1
        status = self.statuses[self._turn % len(self.statuses)]
        self._turn += 1
        self.injected[status] += 1
        return status


@attrs.frozen
class Fault(kmock.KubernetesError):
    """An injected failure; a 429 carries its Retry-After (seconds) as a header."""

    retry_after: int | None = None


def fault(status: int, retry_after: int | None = None) -> Fault:
    return Fault(
        status=status,
        reason=REASONS.get(status),
        message=MESSAGES.get(status),
        retry_after=retry_after,
    )


@attrs.define(kw_only=True)
class FaultyCluster(Cluster):
    """The emulated API server with fault rules and a log of Secret reads."""

    rules: list[Rule] = attrs.field(factory=list)
    secret_reads: list[str] = attrs.field(factory=list)
    _faults_lock: threading.Lock = attrs.field(factory=threading.Lock)
    _inflight: set[rendering.Request] = attrs.field(factory=set)

    def inject(self, rule: Rule) -> Rule:
        with self._faults_lock:
            self.rules.append(rule)
        return rule

    def heal(self) -> None:
        """Stop injecting faults (the rules keep their counts)."""
        with self._faults_lock:
            for rule in self.rules:
                rule.budget = rule.total

    def faults(self) -> dict[str, dict[int, int]]:
        """Injected faults per rule and status code."""
        with self._faults_lock:
            return {rule.name: dict(rule.injected) for rule in self.rules}

    def _forget_old_requests(self) -> None:
        """kmock keeps every request and scans them all to route each new one (quadratic
        in a long test): keep only those still being served."""
        history: list[rendering.Request] = self._requests
        history[:] = [r for r in history if r in self._inflight]

    async def _handle(self, request: rendering.Request) -> Any:
        self._inflight.add(request)
        try:
            self._forget_old_requests()
            return await self._serve(request)
        finally:
            self._inflight.discard(request)

    async def _serve(self, request: rendering.Request) -> Any:
        if EXEMPT_HEADER in request.headers:
            return await super()._handle(request)
        if _plural(request) == "secrets" and request.action in (
            enums.action.FETCH,
            enums.action.LIST,
        ):
            self.secret_reads.append(str(request.url.path_qs))
        with self._faults_lock:
            status = next(
                (s for rule in self.rules if (s := rule.decide(request)) is not None), None
            )
            retry_after = next((r.retry_after for r in self.rules if r.matches(request)), 1)
        if status is not None:
            raise fault(status, retry_after if status == 429 else None)
        self._check_precondition(request)
        return await super()._handle(request)

    def _check_precondition(self, request: rendering.Request) -> None:
        """A merge patch naming a resourceVersion applies only to that version (409
        otherwise), as the API server does it."""
        if request.action != enums.action.UPDATE or not isinstance(request.data, dict):
            return
        wanted = (request.data.get("metadata") or {}).get("resourceVersion")
        stored = self._stored(request)
        if wanted is None or stored is None:
            return
        current = stored.raw.get("metadata", {}).get("resourceVersion")
        if str(wanted) != str(current):
            raise kmock.KubernetesError(
                status=409,
                reason="Conflict",
                message=f"the object has been modified (resourceVersion {wanted} is {current})",
            )

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        response: aiohttp.web.StreamResponse = await super()._render_error(exc)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
