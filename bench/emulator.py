"""The Kubernetes API the benchmarks run against: the tests' emulator
(`tests.support.cluster`), with counters.

Requests are told apart by their User-Agent: the operator's (kopf and its own reads),
the release store's (what helm would write: release Secrets, the Deployment) and the
benchmark driver's (creating and changing SemanticRouters). Only the operator's are
counted as its cost. The emulator also notes, for every SemanticRouter, the phase and
release revision each status write reports, and when the operator last read its
Deployment (the last read of every reconcile), so that the driver never polls the API.

Object lookups by name and lists by resource are indexed, and finished requests leave
kmock's request log: kmock scans every stored object and every past request on each
request, which at a thousand SemanticRouters would make the emulator, not the operator,
the thing being measured.
"""

from __future__ import annotations

import collections
import contextlib
import time
from typing import Any

import attrs
import kmock
from kmock._internal import enums, rendering
from semantic_router_operator import owned

from tests.support.cluster import KSERVE, Cluster

__all__ = ["KSERVE", "BenchCluster"]

STORE_AGENT = "semantic-router-bench/release-store"
DRIVER_AGENT = "semantic-router-bench/driver"
ROUTERS_PLURAL = "semanticrouters"

Key = tuple[str, str]  # (namespace, name)


def source_of(request: rendering.Request) -> str:
    """operator, store or driver, from the request's User-Agent."""
    agent = str(request.headers.get("User-Agent", ""))
    if agent == STORE_AGENT:
        return "store"
    if agent == DRIVER_AGENT:
        return "driver"
    return "operator"


def is_startup(action: str, resource: str) -> bool:
    """True for API discovery and kopf's own lists and watches (counted per process)."""
    if resource.startswith("/"):
        return True
    if resource == "selfsubjectaccessreviews":
        return True
    startup = STARTUP_RESOURCES | OWNED_PLURALS
    return resource in startup and action in ("list", "watch")


STARTUP_RESOURCES = {"customresourcedefinitions", ROUTERS_PLURAL, "namespaces"}
# The owned-object watches: one list and watch per kind, and an access review per kind.
OWNED_PLURALS = {kind.plural for kind in owned.KINDS}

_DIRECT_ACTIONS = {
    enums.action.FETCH: "_serve_fetch",
    enums.action.LIST: "_serve_list",
    enums.action.CREATE: "_serve_create",
    enums.action.UPDATE: "_serve_update",
    enums.action.DELETE: "_serve_delete",
}


@attrs.define(kw_only=True)
class _DirectDispatch(kmock.KubernetesScaffold):
    """Serves reads and writes of served resources straight from the emulator's own
    handlers. (kmock matches every request against each of its reactions in turn; the
    benchmarks register none, so the answer is always the emulator's own.) Sits below
    KubernetesEmulator in the method order: the emulator updates its state first."""

    async def _handle(self, request: rendering.Request) -> Any:
        action = request.action if request.resource is not None else None
        method = _DIRECT_ACTIONS.get(action) if action is not None else None
        if method is None or request.resource not in self._served():
            return await super()._handle(request)
        return await rendering.Response.guess(getattr(self, method))(request)

    def _served(self) -> set[Any]:
        return set(kmock.KubernetesScaffold._get_resources(self))


@attrs.define(kw_only=True)
class BenchCluster(Cluster, _DirectDispatch):
    """The tests' emulator, counting the operator's requests."""

    # (action, plural) → number of operator requests.
    counts: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    # SemanticRouter → the phase its latest status write reported.
    phases: dict[Key, str] = attrs.field(factory=dict)
    # SemanticRouter → the release revision its latest status write reported.
    revisions: dict[Key, int] = attrs.field(factory=dict)
    # SemanticRouter → monotonic time its Deployment was last read by the operator.
    checked: dict[Key, float] = attrs.field(factory=dict)
    # Deployment (namespace, name) → monotonic time it was last created.
    created: dict[Key, float] = attrs.field(factory=dict)
    # SemanticRouter → monotonic time of the latest status write that changed its phase.
    phase_changed: dict[Key, float] = attrs.field(factory=dict)
    _by_resource: dict[Any, dict[Any, None]] = attrs.field(factory=dict, init=False)
    _by_namespace: dict[Any, dict[Any, None]] = attrs.field(factory=dict, init=False)

    def reset_counts(self) -> None:
        self.counts.clear()
        self.checked.clear()

    def operator_requests(self, *, watches: bool = True) -> int:
        return sum(n for (action, _), n in self.counts.items() if watches or action != "watch")

    def running(self) -> int:
        return sum(1 for phase in self.phases.values() if phase == "Running")

    def at_revision(self, revision: int) -> int:
        return sum(1 for seen in self.revisions.values() if seen >= revision)

    async def _handle(self, request: rendering.Request) -> Any:
        if str(request.url.path).endswith("/selfsubjectaccessreviews"):
            # The benchmarks' operator may do anything (as under an admin's credentials):
            # its owned-object watches ask before watching each kind.
            self.counts[("create", "selfsubjectaccessreviews")] += 1
            review = request.data if isinstance(request.data, dict) else {}

            async def allowed(_: rendering.Request) -> dict[str, Any]:
                return {**review, "status": {"allowed": True}}

            return await rendering.Response.guess(allowed)(request)
        source = source_of(request)
        plural = request.resource.plural if request.resource is not None else ""
        if source == "operator":
            action = str(request.action.value if request.action else request.method.value)
            self.counts[(action.lower(), str(plural or request.url.path))] += 1
            if plural == "deployments" and request.action == enums.action.FETCH:
                key = (str(request.namespace), str(request.name))
                self.checked[key] = time.monotonic()
        try:
            response = await super()._handle(request)
        finally:
            self._forget(request)
        if plural == ROUTERS_PLURAL and request.action == enums.action.UPDATE:
            self._note_phase(request)
        if request.action == enums.action.CREATE and request.resource is not None:
            self._index(request)
            if plural == "deployments":
                meta = request.data.get("metadata", {}) if isinstance(request.data, dict) else {}
                key = (str(request.namespace or meta.get("namespace")), str(meta.get("name")))
                self.created[key] = time.monotonic()
        return response

    def _get_resources(self) -> list[Any]:
        # kmock adds the resource of every stored object, scanning them all; the index has them.
        return list(set(kmock.KubernetesScaffold._get_resources(self)) | set(self._by_resource))

    def _forget(self, request: rendering.Request) -> None:
        """Drop a finished request from kmock's request logs. kmock matches each request
        against its whole log (quadratic over a benchmark); only requests in flight must
        stay there, to be matched."""
        with contextlib.suppress(ValueError):
            self._requests.remove(request)
        for payload in self._payloads:
            payload._requests.clear()

    def _note_phase(self, request: rendering.Request) -> None:
        data = request.data if isinstance(request.data, dict) else {}
        status = data.get("status") or {}
        key = (str(request.namespace), str(request.name))
        if status.get("phase"):
            if self.phases.get(key) != str(status["phase"]):
                self.phase_changed[key] = time.monotonic()
            self.phases[key] = str(status["phase"])
        revision = (status.get("release") or {}).get("revision")
        if revision:
            self.revisions[key] = int(revision)

    def _index(self, request: rendering.Request) -> None:
        meta = request.data.get("metadata", {}) if isinstance(request.data, dict) else {}
        namespace = request.namespace or meta.get("namespace")
        key = (request.resource, namespace, meta.get("name"))
        self._by_resource.setdefault(request.resource, {})[key] = None
        self._by_namespace.setdefault((request.resource, namespace), {})[key] = None

    # kmock's private lookup (name-mangled), indexed; same answers, without the full scan.
    def _KubernetesEmulator__get_objs(self, request: rendering.Request, strict: bool) -> list[Any]:
        objects = self._objects
        if request.resource is None:
            return []
        if request.name is not None and (strict or request.namespace is not None):
            key = (request.resource, request.namespace, request.name)
            return [objects[key]] if key in objects else []
        if request.namespace is None and not strict:
            keys = self._by_resource.get(request.resource, {})
        else:
            keys = self._by_namespace.get((request.resource, request.namespace), {})
        return [
            objects[key]
            for key in keys
            if (request.name is None or key[2] == request.name) and key in objects
        ]
