"""Gateway mode as the cluster sees it: the referenced Gateway and the HTTPRoute's own status.

The chart's HTTPRoute is created whether or not the Gateway exists (it attaches when the
Gateway appears); what the gateway controller thinks of it is in the HTTPRoute's
`status.parents[].conditions` (Gateway API: Accepted, ResolvedRefs). `observe` reads both
(reads only); `problem` and `note` turn them into what the router's status says (pure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from semantic_router_operator import names
from semantic_router_operator.kube import KubeApiError


class Reader(Protocol):
    async def get(self, path: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class GatewayRef:
    """The Gateway a router's HTTPRoute attaches to, and that HTTPRoute."""

    name: str
    namespace: str
    implementation: str
    route: str
    route_namespace: str

    @property
    def gateway(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class GatewayState:
    """What was read: `found` is None when the Gateway could not be read (API trouble)."""

    ref: GatewayRef
    found: bool | None
    route: Mapping[str, Any] | None = None


def reference(spec: Mapping[str, Any], namespace: str, cr_name: str) -> GatewayRef | None:
    """The gateway reference of a (raw) spec in `namespace`; None in standalone mode."""
    gateway = spec.get("gateway") or {}
    existing = gateway.get("existingRef") or {}
    if not existing.get("name"):
        return None
    return GatewayRef(
        name=str(existing["name"]),
        namespace=str(existing.get("namespace") or namespace),
        implementation=str(gateway.get("implementation") or "envoy-gateway"),
        route=names.fullname(names.release_name(cr_name)),
        route_namespace=namespace,
    )


def unobserved(spec: Mapping[str, Any], namespace: str, cr_name: str) -> GatewayState | None:
    """The gateway of a (raw) spec, not read yet; None in standalone mode."""
    ref = reference(spec, namespace, cr_name)
    return None if ref is None else GatewayState(ref, found=None)


async def observe(reader: Reader, ref: GatewayRef) -> GatewayState:
    """The Gateway's existence and the HTTPRoute (with its status); reads only."""
    ns, route_ns = quote(ref.namespace), quote(ref.route_namespace)
    gateway = f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/gateways/{quote(ref.name)}"
    route = (
        f"/apis/gateway.networking.k8s.io/v1/namespaces/{route_ns}/httproutes/{quote(ref.route)}"
    )
    try:
        found: bool | None = await reader.get(gateway) is not None
    except KubeApiError:
        found = None
    try:
        route_obj = await reader.get(route)
    except KubeApiError:
        route_obj = None
    return GatewayState(ref, found, route_obj)


def _parent_conditions(state: GatewayState) -> dict[str, Mapping[str, Any]]:
    """The HTTPRoute's conditions for the referenced Gateway, by type."""
    for parent in ((state.route or {}).get("status") or {}).get("parents") or []:
        ref = parent.get("parentRef") or {}
        namespace = ref.get("namespace") or state.ref.route_namespace
        if ref.get("name") == state.ref.name and namespace == state.ref.namespace:
            return {str(c.get("type")): c for c in parent.get("conditions") or []}
    return {}


def problem(state: GatewayState | None) -> tuple[str, str] | None:
    """(reason, message) when gateway mode cannot carry traffic, else None."""
    if state is None:
        return None
    ref = state.ref
    if state.found is False:
        return (
            "GatewayNotFound",
            f"Gateway {ref.gateway} (spec.gateway.existingRef) does not exist: HTTPRoute "
            f"{ref.route_namespace}/{ref.route} is created and attaches when the Gateway "
            "appears; create the Gateway or correct spec.gateway.existingRef",
        )
    conditions = _parent_conditions(state)
    for kind, reason in (
        ("Accepted", "HTTPRouteNotAccepted"),
        ("ResolvedRefs", "HTTPRouteRefsUnresolved"),
    ):
        condition = conditions.get(kind)
        if condition is not None and condition.get("status") == "False":
            return (
                reason,
                f"Gateway {ref.gateway} reports HTTPRoute {ref.route} {kind}=False "
                f"({condition.get('reason', '')}): {condition.get('message', '')}",
            )
    return None


def note(state: GatewayState | None) -> str:
    """What a healthy gateway mode adds to the status message ("" in standalone mode)."""
    if state is None:
        return ""
    ref = state.ref
    accepted = _parent_conditions(state).get("Accepted", {}).get("status") == "True"
    if accepted:
        text = f"; HTTPRoute {ref.route} accepted by Gateway {ref.gateway}"
    else:
        text = f"; HTTPRoute {ref.route} attached to Gateway {ref.gateway}"
    if ref.implementation == "none":
        text += (
            " (spec.gateway.implementation none: attach the router to the Gateway's Envoy as "
            f"ext_proc yourself, Service {ref.route} port grpc)"
        )
    return text
