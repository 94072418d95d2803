"""The conditions users wait on, on a real API server: `kubectl wait --for=condition=Available`
and `--for=condition=Ready` return once the router serves, every condition carries the
generation it was computed for, and a Route asked for on plain Kubernetes leaves the router
deployed without it, Degraded with reason RoutesNeedOpenShift and a Warning event.

The module runs its own operator process, started on a cluster without the Route API (the
one thing it asserts before it starts): OpenShift itself serves Routes, and the
OpenShift module covers what happens there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import OperatorProcess, delete_routers, new_namespace, start_operator
from tests.support.routers import (
    APPLY_TIMEOUT,
    BACKEND_SERVICE,
    KIND,
    READY_TIMEOUT,
    backend_service,
    condition,
    simple_router,
    status_of,
)


@pytest.fixture(scope="module")
def watched(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, OperatorProcess]]:
    assert "route.openshift.io" not in kubectl.served_groups(), (
        "this module needs a cluster without the Route API (plain Kubernetes)"
    )
    namespace = new_namespace(kubectl, "sr-e2e-conditions")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    running = start_operator(operator_rbac, [namespace], tmp_path_factory.mktemp("conditions"))
    try:
        yield namespace, running
    finally:
        delete_routers(kubectl, namespace)
        running.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def kubectl_wait(kubectl: Kubectl, condition_type: str, name: str, namespace: str) -> None:
    timeout = int(READY_TIMEOUT)
    proc = kubectl.run(
        "wait", f"--for=condition={condition_type}", f"{KIND}/{name}", "-n", namespace,
        f"--timeout={timeout}s", timeout=timeout + 30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "condition met" in proc.stdout, proc.stdout


def router_named(kubectl: Kubectl, namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    router = simple_router(kubectl, namespace)
    router["metadata"]["name"] = name
    router["spec"].update(spec)
    router["spec"]["replicas"] = 1
    return router


def test_kubectl_wait_for_available_then_ready_returns_once_the_router_serves(
    kubectl: Kubectl, watched: tuple[str, OperatorProcess]
) -> None:
    namespace, _ = watched
    kubectl.apply(router_named(kubectl, namespace, "waited-on"))
    kubectl_wait(kubectl, "Available", "waited-on", namespace)
    kubectl_wait(kubectl, "Ready", "waited-on", namespace)
    status = status_of(kubectl, "waited-on", namespace)
    assert status["phase"] == "Running"
    assert condition(status, "Available")["reason"] == "MinimumReplicasAvailable"


def test_every_condition_carries_the_generation_it_was_computed_for(
    kubectl: Kubectl, watched: tuple[str, OperatorProcess]
) -> None:
    namespace, _ = watched
    kubectl.apply(router_named(kubectl, namespace, "generations"))
    kubectl_wait(kubectl, "Ready", "generations", namespace)
    patch = json.dumps({"spec": {"replicas": 2}})
    kubectl.run("patch", KIND, "generations", "-n", namespace, "--type=merge", "-p", patch)
    generation = kubectl.get(KIND, "generations", namespace)["metadata"]["generation"]  # type: ignore[index]

    def caught_up() -> dict[str, Any] | None:
        status = status_of(kubectl, "generations", namespace)
        done = status.get("observedGeneration") == generation and status.get("readyReplicas") == 2
        return status if done else None

    status = wait_for("the status of generation 2", caught_up, APPLY_TIMEOUT)
    types = {c["type"] for c in status["conditions"]}
    assert {"Ready", "Available", "Progressing", "Degraded"} <= types
    assert {c["observedGeneration"] for c in status["conditions"]} == {generation}
    kubectl_wait(kubectl, "Ready", "generations", namespace)


def test_a_route_on_plain_kubernetes_leaves_the_router_deployed_degraded_with_a_warning(
    kubectl: Kubectl, watched: tuple[str, OperatorProcess]
) -> None:
    namespace, _ = watched
    routes = {"routes": {"enabled": True, "hostname": "router.apps.example.com"}}
    kubectl.apply(router_named(kubectl, namespace, "wants-a-route", openshift=routes))
    kubectl_wait(kubectl, "Available", "wants-a-route", namespace)

    def degraded() -> dict[str, Any] | None:
        status = status_of(kubectl, "wants-a-route", namespace)
        return status if status.get("phase") == "Degraded" and status.get("readyReplicas") else None

    status = wait_for("wants-a-route Degraded and serving", degraded, APPLY_TIMEOUT)
    assert condition(status, "Degraded")["status"] == "True"
    assert condition(status, "Degraded")["reason"] == "RoutesNeedOpenShift"
    assert condition(status, "Ready")["status"] == "False"
    assert condition(status, "Available")["status"] == "True"
    assert status["release"]["status"] == "deployed"
    assert status["openshiftFeatures"] == {"routesEnabled": False}
    deployment = kubectl.get("deployment", "wants-a-route", namespace)
    assert deployment is not None

    def route_events() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = kubectl.json(
            "get", "events", "-n", namespace,
            "--field-selector", "involvedObject.name=wants-a-route,reason=RoutesNeedOpenShift",
        )["items"]  # fmt: skip
        return found

    events = wait_for("a RoutesNeedOpenShift event", route_events, 60)
    assert [e["type"] for e in events] == ["Warning"]
    assert "the Route is left out" in events[0]["message"]
