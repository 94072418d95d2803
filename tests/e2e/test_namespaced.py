"""The namespaced mode of docs/install.md ("Namespaced install"): the operator watches the
namespaces of SR_OPERATOR_NAMESPACES, its ServiceAccount bound to the manager ClusterRole by a
RoleBinding in each, plus a ClusterRole of its own for StorageClasses only. A whole lifecycle
runs under it, and another namespace is Forbidden to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import (
    OPERATOR_NAMESPACE,
    OperatorProcess,
    delete_routers,
    new_namespace,
    request_token,
    start_operator,
    token_kubeconfig,
)
from tests.support.routers import (
    APPLY_TIMEOUT,
    BACKEND_SERVICE,
    KIND,
    backend_service,
    simple_router,
    status_of,
    wait_removed,
    wait_running,
)

SERVICE_ACCOUNT = "sr-e2e-namespaced"
MANAGER_ROLE = "semantic-router-operator-manager-role"
STORAGE_ROLE = "sr-e2e-namespaced-storageclasses"


def grants(namespace: str) -> list[dict[str, Any]]:
    subject = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE}
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE},
        },
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": {"name": "semantic-router-operator-manager", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": MANAGER_ROLE,
            },
            "subjects": [subject],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRole",
            "metadata": {"name": STORAGE_ROLE},
            "rules": [
                {
                    "apiGroups": ["storage.k8s.io"],
                    "resources": ["storageclasses"],
                    "verbs": ["get", "list"],
                }
            ],
        },
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": STORAGE_ROLE},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": STORAGE_ROLE,
            },
            "subjects": [subject],
        },
    ]


@pytest.fixture(scope="module")
def namespaced(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Kubectl, OperatorProcess]]:
    namespace = new_namespace(kubectl, "sr-e2e-namespaced")
    objs = grants(namespace)
    for obj in objs:
        kubectl.apply(obj)
    work = tmp_path_factory.mktemp("namespaced")
    token = request_token(kubectl, OPERATOR_NAMESPACE, SERVICE_ACCOUNT)
    credentials = token_kubeconfig(kubectl, token, work / "kubeconfig")
    running = start_operator(credentials, [namespace], work / "operator")
    try:
        yield namespace, credentials, running
    finally:
        delete_routers(kubectl, namespace)
        running.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
        for obj in objs:
            kind, name = str(obj["kind"]).lower(), obj["metadata"]["name"]
            ns = obj["metadata"].get("namespace", "")
            kubectl.run(
                "delete", kind, name, *(["-n", ns] if ns else []), "--ignore-not-found", check=False
            )


def test_another_namespace_is_forbidden_to_the_namespaced_operator(
    namespaced: tuple[str, Kubectl, OperatorProcess],
) -> None:
    _, credentials, _ = namespaced
    proc = credentials.run("get", "secrets", "-n", "default", check=False)
    assert proc.returncode != 0
    assert "forbidden" in proc.stderr.lower(), proc.stderr
    proc = credentials.run("get", "semanticrouters", "-A", check=False)
    assert "forbidden" in proc.stderr.lower(), proc.stderr


def test_a_lifecycle_runs_under_role_only_permissions(
    kubectl: Kubectl, namespaced: tuple[str, Kubectl, OperatorProcess]
) -> None:
    namespace, _, running = namespaced
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    router = simple_router(kubectl, namespace)
    name = router["metadata"]["name"]
    kubectl.apply(router)
    status = wait_running(kubectl, name, namespace)
    assert status["release"]["status"] == "deployed"
    before = status["release"]["revision"]
    patch = '{"spec": {"replicas": 3}}'
    kubectl.run("patch", KIND, name, "-n", namespace, "--type=merge", "-p", patch)

    def upgraded() -> dict[str, Any] | None:
        now = status_of(kubectl, name, namespace)
        release = now.get("release") or {}
        return (
            now if release.get("revision", 0) > before and now.get("readyReplicas") == 3 else None
        )

    wait_for(f"{name} upgraded to 3 ready replicas", upgraded, APPLY_TIMEOUT)
    kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
    wait_removed(kubectl, name, namespace)
    assert "Forbidden" not in running.log.read_text()
