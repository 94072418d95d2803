"""Gateway mode on a real API server, under the operator's own RBAC: the real CRDs of the Gateway
API and Envoy Gateway admit what the operator installs (HTTPRoute with a rule per model,
EnvoyExtensionPolicy, ClientTrafficPolicy), the operator reads the Gateway (GatewayNotFound
until it exists, the HTTPRoute already there) and reflects the HTTPRoute's status as a gateway
controller writes it.

No gateway controller runs here: the test writes the HTTPRoute's status as Envoy Gateway
would (Gateway API v1 `status.parents[]`, through the status subresource).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import apis
from tests.support.kubectl import Kubectl, wait_for
from tests.support.routers import (
    APPLY_TIMEOUT,
    KIND,
    READY_TIMEOUT,
    backend_service,
    condition,
    status_of,
    wait_removed,
)

NAME = "gw-router"
GATEWAY = "e2e-gateway"
NOT_ALLOWED = "No listeners included by this parent ref allowed this attachment."
KINDS = {"HTTPRoute", "Gateway", "BackendTLSPolicy", "EnvoyExtensionPolicy", "ClientTrafficPolicy"}


@pytest.fixture(scope="module")
def gateway_apis(kubectl: Kubectl) -> Iterator[set[str]]:
    with apis.installed(kubectl, KINDS) as served:
        yield served


@pytest.fixture(scope="module")
def router(
    kubectl: Kubectl, operator: object, namespace: str, gateway_apis: set[str]
) -> Iterator[dict[str, Any]]:
    kubectl.apply(backend_service("gw-vllm-a", namespace))
    kubectl.apply(backend_service("gw-vllm-b", namespace))
    obj = {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "persistence": {"enabled": False},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            "gateway": {"existingRef": {"name": GATEWAY}, "implementation": "envoy-gateway"},
            "vllmEndpoints": [
                {
                    "name": name,
                    "model": model,
                    "backend": {"type": "service", "service": {"name": name, "port": 8000}},
                }
                for name, model in (("gw-vllm-a", "model-a"), ("gw-vllm-b", "model-b"))
            ],
        },
    }
    kubectl.apply(obj)
    yield obj
    kubectl.run("delete", KIND, NAME, "-n", namespace, "--wait=false", check=False)
    wait_removed(kubectl, NAME, namespace)
    kubectl.run("delete", "gateway", GATEWAY, "-n", namespace, "--ignore-not-found", check=False)


def degraded_reason(kubectl: Kubectl, namespace: str, reason: str) -> dict[str, Any]:
    def reported() -> dict[str, Any] | None:
        status = status_of(kubectl, NAME, namespace)
        return status if condition(status, "Degraded").get("reason") == reason else None

    return wait_for(f"{NAME} Degraded with {reason}", reported, READY_TIMEOUT, every=2)


def test_a_missing_gateway_is_degraded_and_the_httproute_is_created_anyway(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    status = degraded_reason(kubectl, namespace, "GatewayNotFound")
    assert status["phase"] == "Degraded"
    assert status["gatewayMode"] == "gateway-integration"
    message = condition(status, "Degraded")["message"]
    assert f"Gateway {namespace}/{GATEWAY} (spec.gateway.existingRef) does not exist" in message
    route = kubectl.get("httproute", NAME, namespace)
    assert route is not None
    matched = [
        h["value"]
        for r in route["spec"]["rules"]
        for m in r["matches"]
        for h in m.get("headers", [])
    ]
    assert matched == ["model-a", "model-b"]
    policy = kubectl.get("envoyextensionpolicy", NAME, namespace)
    assert policy is not None and policy["spec"]["targetRefs"][0]["name"] == NAME
    traffic = kubectl.get("clienttrafficpolicy", NAME, namespace)
    assert traffic is not None
    assert traffic["spec"]["headers"]["earlyRequestHeaders"]["remove"] == ["x-selected-model"]


def test_once_the_gateway_exists_the_router_runs_attached_to_it(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    kubectl.apply(
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY, "namespace": namespace},
            "spec": {
                "gatewayClassName": "eg",
                "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}],
            },
        }
    )

    def running() -> dict[str, Any] | None:
        status = status_of(kubectl, NAME, namespace)
        return status if status.get("phase") == "Running" else None

    status = wait_for(f"{NAME} Running", running, APPLY_TIMEOUT, every=2)
    ready = condition(status, "Ready")
    assert ready["status"] == "True"
    assert f"HTTPRoute {NAME} attached to Gateway {namespace}/{GATEWAY}" in ready["message"]


def test_an_httproute_the_gateway_controller_refuses_degrades_the_router(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    route = kubectl.get("httproute", NAME, namespace)
    assert route is not None
    refused = {
        "status": {
            "parents": [
                {
                    "parentRef": {
                        "group": "gateway.networking.k8s.io",
                        "kind": "Gateway",
                        "name": GATEWAY,
                    },
                    "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                    "conditions": [
                        {
                            "type": "Accepted",
                            "status": "False",
                            "reason": "NotAllowedByListeners",
                            "message": NOT_ALLOWED,
                            "observedGeneration": route["metadata"]["generation"],
                            "lastTransitionTime": "2026-01-01T00:00:00Z",
                        }
                    ],
                }
            ]
        }
    }
    kubectl.run(
        "patch", "httproute", NAME, "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps(refused),
    )  # fmt: skip
    status = degraded_reason(kubectl, namespace, "HTTPRouteNotAccepted")
    message = condition(status, "Degraded")["message"]
    assert "Accepted=False (NotAllowedByListeners)" in message
