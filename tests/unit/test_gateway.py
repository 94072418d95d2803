"""Gateway mode in the status: the referenced Gateway missing, or the gateway controller's view
of the HTTPRoute (its `status.parents[].conditions`, Gateway API v1 HTTPRoute status), become
the router's Degraded reason; a healthy attachment and `implementation: none` are said in the
Ready message."""

from __future__ import annotations

from typing import Any

from semantic_router_operator import gateway, status
from semantic_router_operator.discovery import Address, BackendResult
from semantic_router_operator.gateway import GatewayState
from semantic_router_operator.release import ReleaseInfo
from semantic_router_operator.status import Observation, Workload

SPEC = {"gateway": {"existingRef": {"name": "eg", "namespace": "gateways"}}}
RELEASE = ReleaseInfo("r", "default", 1, "deployed", "0.1.0", digest="sha256:abc")
OK = BackendResult("a", "service", Address("h", 8000, "http"), "Service llm/h")
READY = Workload.from_deployment(
    {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "readyReplicas": 1,
            "updatedReplicas": 1,
        },
    }
)


def route_status(**conditions: tuple[str, str, str]) -> dict[str, Any]:
    """An HTTPRoute as a gateway controller writes its status for parent gateways/eg."""
    return {
        "status": {
            "parents": [
                {
                    "parentRef": {
                        "group": "gateway.networking.k8s.io",
                        "kind": "Gateway",
                        "name": "eg",
                        "namespace": "gateways",
                    },
                    "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                    "conditions": [
                        {"type": kind, "status": s, "reason": reason, "message": message}
                        for kind, (s, reason, message) in conditions.items()
                    ],
                }
            ]
        }
    }


def state(found: bool | None, route: dict[str, Any] | None = None, **spec: Any) -> GatewayState:
    raw = {"gateway": {**SPEC["gateway"], **spec}}
    unread = gateway.unobserved(raw, "llm", "my-router")
    assert unread is not None
    return GatewayState(unread.ref, found, route)


def computed(gw: GatewayState) -> dict[str, Any]:
    obs = Observation(
        generation=1,
        gateway_mode="gateway-integration",
        release=RELEASE,
        workload=READY,
        backends=[OK],
        gateway=gw,
    )
    return status.compute(obs, None, "2026-01-01T00:00:00Z").to_dict()


def conditions(got: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in got["conditions"]}


def test_standalone_mode_has_no_gateway_to_check() -> None:
    assert gateway.unobserved({}, "llm", "r") is None
    assert gateway.problem(None) is None
    assert gateway.note(None) == ""


def test_the_reference_defaults_to_the_routers_namespace_and_names_the_charts_httproute() -> None:
    unread = gateway.unobserved({"gateway": {"existingRef": {"name": "eg"}}}, "llm", "my-router")
    assert unread is not None
    assert (unread.ref.gateway, unread.ref.route, unread.ref.route_namespace) == (
        "llm/eg",
        "my-router",
        "llm",
    )
    assert unread.ref.implementation == "envoy-gateway"


def test_a_missing_gateway_is_degraded_with_gateway_not_found_and_says_the_route_waits() -> None:
    got = computed(state(False))
    assert got["phase"] == "Degraded"
    degraded = conditions(got)["Degraded"]
    assert (degraded["status"], degraded["reason"]) == ("True", "GatewayNotFound")
    assert "Gateway gateways/eg (spec.gateway.existingRef) does not exist" in degraded["message"]
    assert (
        "HTTPRoute llm/my-router is created and attaches when the Gateway appears"
        in degraded["message"]
    )


def test_an_httproute_the_gateway_did_not_accept_is_degraded_with_the_controllers_words() -> None:
    route = route_status(
        Accepted=("False", "NotAllowedByListeners", "no listener allows this namespace")
    )
    got = computed(state(True, route))
    degraded = conditions(got)["Degraded"]
    assert (got["phase"], degraded["reason"]) == ("Degraded", "HTTPRouteNotAccepted")
    assert (
        "Accepted=False (NotAllowedByListeners): no listener allows this namespace"
        in degraded["message"]
    )


def test_unresolved_backend_refs_are_degraded() -> None:
    route = route_status(
        Accepted=("True", "Accepted", ""),
        ResolvedRefs=("False", "RefNotPermitted", "backend in serving needs a ReferenceGrant"),
    )
    degraded = conditions(computed(state(True, route)))["Degraded"]
    assert degraded["reason"] == "HTTPRouteRefsUnresolved"
    assert "RefNotPermitted" in degraded["message"]


def test_an_accepted_route_is_running_and_says_so() -> None:
    route = route_status(
        Accepted=("True", "Accepted", ""), ResolvedRefs=("True", "ResolvedRefs", "")
    )
    got = computed(state(True, route))
    assert got["phase"] == "Running"
    assert (
        conditions(got)["Ready"]["message"]
        == "1/1 replicas ready; HTTPRoute my-router accepted by Gateway gateways/eg"
    )


def test_conditions_for_another_parent_gateway_are_not_this_routers() -> None:
    route = route_status(Accepted=("False", "NotAllowedByListeners", "elsewhere"))
    route["status"]["parents"][0]["parentRef"]["name"] = "other"
    assert computed(state(True, route))["phase"] == "Running"


def test_an_unreadable_gateway_is_no_verdict() -> None:
    """API trouble or no RBAC to read Gateways: nothing is claimed about the Gateway."""
    assert computed(state(None))["phase"] == "Running"


def test_implementation_none_tells_the_user_to_attach_the_router() -> None:
    message = conditions(computed(state(True, None, implementation="none")))["Ready"]["message"]
    assert "attach the router to the Gateway's Envoy as ext_proc yourself" in message
    assert "Service my-router port grpc" in message
