"""An in-memory Kubernetes API over real HTTP, for the integration and reliability tiers
and the benchmarks.

Built on kmock's KubernetesEmulator, with what the control loop needs and kmock 0.8
lacks: the core group discovered as ``v1`` (not ``/v1``), ``resourceVersion`` /
``generation`` / ``uid`` / ``creationTimestamp`` maintained on writes, ``generateName``,
a stale ``resourceVersion`` test in a JSON patch answered with 422, writes to the
``status`` subresource limited to the status, and label selectors honoured on lists.

The contract these copy is the Kubernetes API server's (the API conventions of
kubernetes/community, contributors/devel/sig-architecture/api-conventions.md: metadata
maintained by the server, ``generation`` bumped by spec changes only, the status
subresource, optimistic concurrency), as Kubernetes 1.25 and later behave; the e2e tier runs
the same operator against a real API server.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Self

import aiohttp
import attrs
import kmock
from kmock._internal import enums, rendering

# The resources a cluster serves in every test: the CRD, the core kinds, what the chart makes.
CORE_RESOURCES: dict[str, dict[str, Any]] = {
    "v1/namespaces": {"kind": "Namespace", "namespaced": False},
    "v1/events": {"kind": "Event", "namespaced": True},
    "v1/services": {"kind": "Service", "namespaced": True},
    "v1/configmaps": {"kind": "ConfigMap", "namespaced": True},
    "v1/secrets": {"kind": "Secret", "namespaced": True},
    "v1/serviceaccounts": {"kind": "ServiceAccount", "namespaced": True},
    "v1/persistentvolumeclaims": {"kind": "PersistentVolumeClaim", "namespaced": True},
    "apps/v1/deployments": {"kind": "Deployment", "namespaced": True, "subresources": {"status"}},
    "storage.k8s.io/v1/storageclasses": {"kind": "StorageClass", "namespaced": False},
    "apiextensions.k8s.io/v1/customresourcedefinitions": {
        "kind": "CustomResourceDefinition",
        "namespaced": False,
    },
    "vllm.ai/v1alpha1/semanticrouters": {
        "kind": "SemanticRouter",
        "namespaced": True,
        "subresources": {"status"},
    },
}
KSERVE = "serving.kserve.io/v1beta1/inferenceservices"
ROUTES = "route.openshift.io/v1/routes"
OPTIONAL_RESOURCES: dict[str, dict[str, Any]] = {
    KSERVE: {"kind": "InferenceService", "namespaced": True, "subresources": {"status"}},
    ROUTES: {"kind": "Route", "namespaced": True, "subresources": {"status"}},
}
VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _selector(raw: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in raw.split(",") if "=" in part)
    return {key.strip(): value.strip() for key, value in pairs}


def _labels_match(obj: Mapping[str, Any], selector: Mapping[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


@attrs.define(kw_only=True)
class Cluster(kmock.KubernetesEmulator):
    """kmock's emulator with the Kubernetes behaviours the operator relies on."""

    _versions: Iterator[int] = attrs.field(factory=lambda: itertools.count(1), init=False)
    _version: int = attrs.field(default=0, init=False)
    # Plurals whose reads answer HTTP 500, as an overloaded API server would.
    failing: set[str] = attrs.field(factory=set)

    def serve(self, resource: str, **info: Any) -> None:
        """Make `resource` ("group/version/plural") discoverable, as a CRD install would."""
        self.resources[resource] = kmock.ResourceInfo(verbs=VERBS, **info)

    @classmethod
    def standard(cls, *optional: str) -> Self:
        """The core resources and the CRD, plus `optional` ones (KSERVE, ROUTES)."""
        cluster = cls()
        for resource, info in CORE_RESOURCES.items():
            cluster.serve(resource, **info)
        for resource in optional:
            cluster.serve(resource, **OPTIONAL_RESOURCES[resource])
        return cluster

    async def _handle(self, request: rendering.Request) -> Any:
        reads = (enums.action.FETCH, enums.action.LIST)
        failing = request.resource is not None and request.resource.plural in self.failing
        if failing and request.action in reads:
            raise kmock.KubernetesError(
                status=500, reason="InternalError", message="etcdserver: request timed out"
            )
        if request.resource is not None and isinstance(request.data, dict):
            if request.action == enums.action.CREATE:
                self._on_create(request)
            elif request.action == enums.action.UPDATE and request.name is not None:
                self._on_patch(request)
        elif request.action == enums.action.UPDATE and isinstance(request.data, list):
            # A JSON patch (kopf uses them for finalizers) guarded by a resourceVersion test:
            # a stale version is a 422, as a real API server answers; else a new version.
            self._check_version_tests(request)
            version = self._next_version()
            request.data.append(
                {"op": "add", "path": "/metadata/resourceVersion", "value": version}
            )
        stored = self._stored(request)
        if request.action == enums.action.DELETE and stored is not None:
            # A finalizer turns the delete into a patch (deletionTimestamp): a new version.
            stored.patch({"metadata": {"resourceVersion": self._next_version()}})
        return await super()._handle(request)

    def _stored(self, request: rendering.Request) -> kmock.Object | None:
        """The live object a request names, if any."""
        if request.resource is None or request.name is None:
            return None
        key = (request.resource, request.namespace, request.name)
        if key in self.objects and not self.objects[key].deleted:
            return self.objects[key]
        return None

    def _check_version_tests(self, request: rendering.Request) -> None:
        stored = self._stored(request)
        if stored is None:
            return
        current = stored.raw.get("metadata", {}).get("resourceVersion")
        for op in request.data:
            is_version_test = (
                op.get("op") == "test" and op.get("path") == "/metadata/resourceVersion"
            )
            if is_version_test and op.get("value") != current:
                raise kmock.KubernetesError(
                    status=422,
                    reason="Invalid",
                    message=f"resourceVersion {op.get('value')} is not {current}",
                )

    def _on_create(self, request: rendering.Request) -> None:
        meta = request.data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if request.namespace and not meta.get("namespace"):
            meta["namespace"] = request.namespace
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta["resourceVersion"] = self._next_version()
        meta["generation"] = 1

    def _on_patch(self, request: rendering.Request) -> None:
        data = request.data
        if request.subresource == "status":
            for key in list(data):
                if key not in ("status", "metadata"):
                    del data[key]
            data["metadata"] = {}
        meta = data.setdefault("metadata", {})
        meta.pop("uid", None)
        meta.pop("generation", None)
        meta["resourceVersion"] = self._next_version()
        stored = self._stored(request)
        if "spec" in data and request.subresource is None and stored is not None:
            meta["generation"] = int(stored.raw.get("metadata", {}).get("generation", 0)) + 1

    def _next_version(self) -> str:
        self._version = next(self._versions)
        return str(self._version)

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        version = self._version
        payload = await super()._serve_list(request)
        if isinstance(payload, dict):
            payload["metadata"] = {"resourceVersion": str(version)}
            selector = _selector(request.params.get("labelSelector", ""))
            if selector:
                payload["items"] = [o for o in payload["items"] if _labels_match(o, selector)]
        return payload

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        # A watch from a list's resourceVersion streams only what happened after it
        # (kmock replays every object on each watch, as if it were a fresh list).
        since = request.params.get("resourceVersion", "")
        since_version = int(since) if since.isdigit() else None
        async for event in super()._serve_watch(request):
            if since_version is not None and isinstance(event, dict):
                meta = (event.get("object") or {}).get("metadata") or {}
                version = str(meta.get("resourceVersion", ""))
                if version.isdigit() and int(version) <= since_version:
                    continue
            yield event

    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        payload = await super()._serve_version(request)
        if isinstance(payload, dict) and str(payload.get("groupVersion", "")).startswith("/"):
            payload["groupVersion"] = payload["groupVersion"][1:]
        return payload


class Client:
    """Typed writes and reads against the emulator over HTTP, as kubectl would do them."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")

    @staticmethod
    def path(resource: str, namespace: str | None, name: str | None = None) -> str:
        group_version, plural = resource.rsplit("/", 1)
        prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        ns = f"/namespaces/{namespace}" if namespace else ""
        return f"{prefix}{ns}/{plural}" + (f"/{name}" if name else "")

    async def _call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        async with self.session.request(method, self.url + path, json=body, **kw) as response:
            payload = await response.json(content_type=None)
            if response.status >= 400:
                raise AssertionError(f"{method} {path}: HTTP {response.status}: {payload}")
            return payload

    async def create(self, obj: Mapping[str, Any]) -> Any:
        api_version = str(obj["apiVersion"])
        resource = f"{api_version}/{_plural(str(obj['kind']))}"
        namespace = (obj.get("metadata") or {}).get("namespace")
        return await self._call("POST", self.path(resource, namespace), dict(obj))

    async def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        subresource: str = "",
    ) -> Any:
        path = self.path(resource, namespace, name) + (f"/{subresource}" if subresource else "")
        headers = {"Content-Type": "application/merge-patch+json"}
        return await self._call("PATCH", path, dict(body), headers=headers)

    async def delete(self, resource: str, namespace: str | None, name: str) -> Any:
        return await self._call("DELETE", self.path(resource, namespace, name))

    async def get(self, resource: str, namespace: str | None, name: str) -> Any:
        async with self.session.get(self.url + self.path(resource, namespace, name)) as response:
            if response.status == 404:
                return None
            return await response.json(content_type=None)

    async def list(
        self, resource: str, namespace: str | None, labels: Mapping[str, str] | None = None
    ) -> list[Any]:
        """The objects of `resource` (in `namespace`) carrying every one of `labels`."""
        selector = ",".join(f"{key}={value}" for key, value in (labels or {}).items())
        params = {"labelSelector": selector} if selector else {}
        payload = await self._call("GET", self.path(resource, namespace), params=params)
        return list(payload.get("items") or [])


class LoopClients:
    """One `Client` per event loop: a stand-in used from the operator's threads (each its
    own loop) and from the test's loop opens an HTTP session in each."""

    def __init__(self, url: str, headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self._clients: dict[asyncio.AbstractEventLoop, Client] = {}

    def get(self) -> Client:
        """The running loop's client (opened on first use)."""
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = Client(aiohttp.ClientSession(headers=self.headers), self.url)
        return self._clients[loop]

    async def close(self) -> None:
        """Close the running loop's session (each loop that used one closes its own)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.session.close()


_PLURALS = {
    "SemanticRouter": "semanticrouters",
    "InferenceService": "inferenceservices",
    "StorageClass": "storageclasses",
    "Route": "routes",
}


def _plural(kind: str) -> str:
    return _PLURALS.get(kind, kind.lower() + "s")
