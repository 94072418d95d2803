"""OpenShift, as far as the API decides it: with route.openshift.io served (OpenShift's own Route
CRD, from tools/apis), a new operator process detects OpenShift, the chart renders a Route, and
the status reports the OpenShift features in effect. The Route CRD is removed after the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from semantic_router_operator.platform import OPENSHIFT_DETECTED

from tests.e2e import apis
from tests.support.kubectl import Kubectl
from tests.support.live import OperatorProcess, delete_routers, new_namespace, start_operator
from tests.support.routers import (
    BACKEND_SERVICE,
    KIND,
    backend_service,
    wait_removed,
    wait_running,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "vllm.ai_v1alpha1_semanticrouter_openshift.yaml"


@pytest.fixture(scope="module")
def openshift(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, OperatorProcess]]:
    with apis.installed(kubectl, {"Route"}):
        namespace = new_namespace(kubectl, "sr-e2e-openshift")
        running = start_operator(operator_rbac, [namespace], tmp_path_factory.mktemp("openshift"))
        try:
            yield namespace, running
        finally:
            delete_routers(kubectl, namespace)
            running.stop()
            kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def openshift_router(namespace: str) -> dict[str, Any]:
    """The OpenShift sample with its backends on a Service of this test and the default
    StorageClass."""
    router: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    router["metadata"]["namespace"] = namespace
    spec = router["spec"]
    for endpoint in spec["vllmEndpoints"]:
        endpoint["backend"] = {
            "type": "service",
            "service": {"name": BACKEND_SERVICE, "port": 8000},
        }
    spec["persistence"].pop("storageClassName", None)
    spec["resources"]["requests"] = {"cpu": "100m", "memory": "256Mi"}
    return router


def test_with_the_route_api_the_operator_deploys_a_route_and_reports_openshift(
    kubectl: Kubectl, openshift: tuple[str, OperatorProcess]
) -> None:
    namespace, running = openshift
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    router = openshift_router(namespace)
    name = router["metadata"]["name"]
    kubectl.apply(router)
    try:
        status = wait_running(kubectl, name, namespace)
        assert OPENSHIFT_DETECTED in running.log.read_text()
        features = status["openshiftFeatures"]
        assert features, status
        routes = kubectl.json(
            "get", "routes.route.openshift.io", "-n", namespace,
            "-l", f"app.kubernetes.io/instance={name}",
        )["items"]  # fmt: skip
        assert len(routes) == 1
        assert routes[0]["spec"]["tls"]["termination"] == "edge"
        deployment = kubectl.get("deployment", name, namespace)
        assert deployment is not None
        pod_security = deployment["spec"]["template"]["spec"].get("securityContext") or {}
        assert "runAsUser" not in pod_security and "fsGroup" not in pod_security
    finally:
        kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false", check=False)
        wait_removed(kubectl, name, namespace)
