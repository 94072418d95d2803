"""Backend discovery: each `vllmEndpoints` entry becomes an address, or a reason why not.

Three kinds of backend, as the user documentation describes them:

- ``kserve``: the InferenceService ``<inferenceServiceName>`` must exist in the
  SemanticRouter's namespace; traffic goes to its ``<name>-predictor`` Service on
  port 8443 over https.
- ``llamastack``: the Services of the SemanticRouter's namespace whose labels include
  ``discoveryLabels``; the first one by name wins; the port is its first port.
- ``service``: an explicit Service (name, namespace defaulting to the SemanticRouter's,
  port); it must exist, and may live in another namespace.

One failing backend never blocks the others: every endpoint gets its own result.
The decisions are pure functions over already-read objects; `resolve` does the reads
through a `kube.KubeReader` (`kube.KubeClient` talks to the Kubernetes API with kopf's
credentials).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from semantic_router_operator.kube import KubeReader, label_selector, labels_match

KSERVE_PORT = 8443
KSERVE_PROTOCOL = "https"
CLUSTER_DOMAIN = "svc.cluster.local"

KSERVE_GROUP_VERSION = "serving.kserve.io/v1beta1"

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]


# --- the decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """Where the router sends a backend's traffic."""

    host: str
    port: int
    protocol: str = "http"

    def as_values(self) -> dict[str, Any]:
        """The chart's `vllmEndpoints[].backend.resolved`."""
        return {"host": self.host, "port": self.port, "protocol": self.protocol}


@dataclass(frozen=True)
class BackendRef:
    """One `vllmEndpoints` entry, as discovery needs it."""

    endpoint: str
    type: str
    inference_service_name: str = ""
    discovery_labels: Mapping[str, str] = field(default_factory=dict)
    service_name: str = ""
    service_namespace: str = ""
    service_port: int | None = None

    @classmethod
    def from_endpoint(cls, endpoint: Mapping[str, Any]) -> BackendRef:
        """From a `vllmEndpoints` entry in its camelCase (CR) shape."""
        backend = endpoint.get("backend") or {}
        service = backend.get("service") or {}
        return cls(
            endpoint=str(endpoint.get("name") or ""),
            type=str(backend.get("type") or ""),
            inference_service_name=str(backend.get("inferenceServiceName") or ""),
            discovery_labels=dict(backend.get("discoveryLabels") or {}),
            service_name=str(service.get("name") or ""),
            service_namespace=str(service.get("namespace") or ""),
            service_port=service.get("port"),
        )


@dataclass(frozen=True)
class BackendResult:
    """The outcome of discovering one endpoint: an address, or why there is none."""

    endpoint: str
    type: str
    address: Address | None
    message: str

    @property
    def resolved(self) -> bool:
        return self.address is not None

    def as_status(self) -> dict[str, Any]:
        """The entry of `status.backends`."""
        entry: dict[str, Any] = {"name": self.endpoint, "type": self.type}
        if self.address is not None:
            entry.update(self.address.as_values())
        entry["resolved"] = self.resolved
        entry["message"] = self.message
        return entry


def service_host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.{CLUSTER_DOMAIN}"


def _port_protocol(port: Obj) -> str:
    """https when the Service port says so (name, appProtocol or 443), else http."""
    hints = {str(port.get("name") or "").lower(), str(port.get("appProtocol") or "").lower()}
    if "https" in hints or port.get("port") == 443:
        return "https"
    return "http"


def _failed(ref: BackendRef, message: str) -> BackendResult:
    return BackendResult(endpoint=ref.endpoint, type=ref.type, address=None, message=message)


def decide_kserve(ref: BackendRef, namespace: str, isvc: Obj | None) -> BackendResult:
    """KServe: the InferenceService must exist; its predictor Service takes the traffic."""
    name = ref.inference_service_name
    if not name:
        return _failed(ref, "backend.inferenceServiceName is empty: set it to the InferenceService")
    if isvc is None:
        return _failed(
            ref,
            f"InferenceService {namespace}/{name} not found "
            f"(kubectl get inferenceservice {name} -n {namespace}); is KServe installed?",
        )
    address = Address(service_host(f"{name}-predictor", namespace), KSERVE_PORT, KSERVE_PROTOCOL)
    note = ""
    conditions = (isvc.get("status") or {}).get("conditions") or []
    ready = [c for c in conditions if c.get("type") == "Ready"]
    if ready and ready[0].get("status") != "True":
        note = " (InferenceService not Ready yet)"
    return BackendResult(
        endpoint=ref.endpoint,
        type=ref.type,
        address=address,
        message=f"InferenceService {namespace}/{name} predictor{note}",
    )


def decide_llamastack(ref: BackendRef, namespace: str, services: Sequence[Obj]) -> BackendResult:
    """Llama Stack: the first Service (by name) carrying every discovery label."""
    labels = dict(ref.discovery_labels)
    if not labels:
        return _failed(ref, "backend.discoveryLabels is empty: set the labels of the Service")
    matching = sorted(
        (svc for svc in services if labels_match(svc, labels)),
        key=lambda svc: str(svc.get("metadata", {}).get("name", "")),
    )
    selector = label_selector(labels)
    if not matching:
        return _failed(
            ref,
            f"no Service in namespace {namespace} matches labels {selector} "
            f"(kubectl get services -n {namespace} -l {selector})",
        )
    chosen = matching[0]
    name = str(chosen["metadata"]["name"])
    ports = (chosen.get("spec") or {}).get("ports") or []
    if not ports:
        return _failed(ref, f"Service {namespace}/{name} (labels {selector}) defines no ports")
    port = ports[0]
    others = (
        f"; {len(matching) - 1} more matched, using the first by name" if len(matching) > 1 else ""
    )
    return BackendResult(
        endpoint=ref.endpoint,
        type=ref.type,
        address=Address(service_host(name, namespace), int(port["port"]), _port_protocol(port)),
        message=f"Service {namespace}/{name} matched labels {selector}{others}",
    )


def decide_service(ref: BackendRef, namespace: str, service: Obj | None) -> BackendResult:
    """Direct Service: it must exist; the given port must be one of its ports."""
    svc_namespace = ref.service_namespace or namespace
    name = ref.service_name
    if not name:
        return _failed(ref, "backend.service.name is empty: set it to the Service's name")
    if ref.service_port is None:
        return _failed(ref, "backend.service.port is missing: set it to the Service's port")
    if service is None:
        return _failed(
            ref,
            f"Service {svc_namespace}/{name} not found "
            f"(kubectl get service {name} -n {svc_namespace})",
        )
    ports = (service.get("spec") or {}).get("ports") or []
    declared = [p for p in ports if int(p.get("port", -1)) == ref.service_port]
    if ports and not declared:
        exposed = ", ".join(str(p.get("port")) for p in ports)
        return _failed(
            ref,
            f"Service {svc_namespace}/{name} has no port {ref.service_port} "
            f"(it exposes {exposed}): set backend.service.port to one of them",
        )
    protocol = _port_protocol(declared[0]) if declared else "http"
    return BackendResult(
        endpoint=ref.endpoint,
        type=ref.type,
        address=Address(service_host(name, svc_namespace), ref.service_port, protocol),
        message=f"Service {svc_namespace}/{name}",
    )


def offline_result(ref: BackendRef, namespace: str) -> BackendResult | None:
    """The address discovery would find if the referenced object exists, for offline rendering.

    Llama Stack needs a list of Services, which only a cluster has: None.
    """
    if ref.type == "kserve":
        return decide_kserve(ref, namespace, {})
    if ref.type == "service":
        port = {"port": ref.service_port} if ref.service_port is not None else {}
        return decide_service(ref, namespace, {"spec": {"ports": [port] if port else []}})
    return None


def summary(results: Sequence[BackendResult]) -> str:
    """One line: how many backends resolved, and what failed."""
    failed = [r for r in results if not r.resolved]
    head = f"{len(results) - len(failed)}/{len(results)} backends resolved"
    if not failed:
        return head
    return head + "; " + "; ".join(f"{r.endpoint}: {r.message}" for r in failed)


# --- the reads ----------------------------------------------------------------------------------


async def discover(ref: BackendRef, namespace: str, reader: KubeReader) -> BackendResult:
    """Read what `ref` points at and decide. API trouble raises KubeApiError."""
    if ref.type == "kserve":
        if not ref.inference_service_name:
            return decide_kserve(ref, namespace, None)
        isvc = await reader.get(
            f"/apis/{KSERVE_GROUP_VERSION}/namespaces/{quote(namespace)}"
            f"/inferenceservices/{quote(ref.inference_service_name)}"
        )
        return decide_kserve(ref, namespace, isvc)
    if ref.type == "llamastack":
        if not ref.discovery_labels:
            return decide_llamastack(ref, namespace, [])
        services = await reader.list_objects(
            f"/api/v1/namespaces/{quote(namespace)}/services", ref.discovery_labels
        )
        return decide_llamastack(ref, namespace, services)
    if ref.type == "service":
        if not ref.service_name:
            return decide_service(ref, namespace, None)
        svc_namespace = ref.service_namespace or namespace
        service = await reader.get(
            f"/api/v1/namespaces/{quote(svc_namespace)}/services/{quote(ref.service_name)}"
        )
        return decide_service(ref, namespace, service)
    return _failed(
        ref, f"unknown backend.type {ref.type!r}: use one of kserve, llamastack, service"
    )


async def resolve(
    endpoints: Sequence[Mapping[str, Any]],
    namespace: str,
    reader: KubeReader,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = log,
    owner: str = "",
    reported: Mapping[str, str] | None = None,
) -> list[BackendResult]:
    """Discover every endpoint (camelCase CR entries) concurrently; log what failed.

    `reported` maps endpoint names to failure messages already reported (in the status):
    those repeat at debug level only, so periodic re-checks do not flood the log.
    """
    refs = [BackendRef.from_endpoint(endpoint) for endpoint in endpoints]
    results = list(await asyncio.gather(*(discover(ref, namespace, reader) for ref in refs)))
    reported = reported or {}
    news = False
    for result in results:
        if not result.resolved:
            repeated = reported.get(result.endpoint) == result.message
            news = news or not repeated
            logger.log(
                logging.DEBUG if repeated else logging.WARNING,
                f"Failed to discover backend {result.endpoint} ({result.type}): {result.message}",
            )
    if not any(result.resolved for result in results):
        who = f" for SemanticRouter {owner}" if owner else ""
        level = logging.WARNING if news or not results else logging.DEBUG
        logger.log(level, f"No backends found{who}: {summary(results)}")
    return results


def reported_failures(status: Mapping[str, Any] | None) -> dict[str, str]:
    """Endpoint name → failure message, from a status's `backends` entries."""
    return {
        str(b.get("name")): str(b.get("message"))
        for b in (status or {}).get("backends") or []
        if not b.get("resolved")
    }
