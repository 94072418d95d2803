"""The OLM bundle's install strategy on a real API server: what OLM creates from the
ClusterServiceVersion for an OwnNamespace and an AllNamespaces install (scripts/olm_install.py:
the ServiceAccount, the RBAC made of `permissions` and `clusterPermissions`, the Deployment with
its pod template's olm.* annotations) is applied, and the operator runs as a process with that
ServiceAccount's token and the Deployment's environment (its `olm.targetNamespaces` fieldRef
resolved from the pod template, as the kubelet would). Under each mode a router goes through
its lifecycle with no Forbidden in the operator's log (the bundle's permissions suffice), and
what the mode does not grant is Forbidden (they are no wider).

The Deployment itself is applied as OLM would create it; on the local control plane its pod
lands on a kwok node, where no container runs, hence the process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from scripts import bundle, olm_install
from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import (
    OperatorProcess,
    delete_routers,
    new_namespace,
    request_token,
    start_operator,
    token_kubeconfig,
)
from tests.support.routers import (
    BACKEND_SERVICE,
    KIND,
    backend_service,
    simple_router,
    wait_removed,
    wait_running,
)

MODES = ("OwnNamespace", "AllNamespaces")
_ANNOTATION_REF = re.compile(r"^metadata\.annotations\['(?P<key>[^']+)'\]$")


def bundle_csv() -> dict[str, Any]:
    csv: dict[str, Any] = yaml.safe_load((bundle.BUNDLE / bundle.CSV_FILE).read_text())
    return csv


def container_env(deployment: dict[str, Any]) -> dict[str, str]:
    """The manager container's environment as the kubelet gives it: plain values, and fieldRefs
    to the pod's annotations resolved from the pod template. Any other source fails loudly, so
    that a new kind of reference in the CSV is not silently dropped here."""
    template = deployment["spec"]["template"]
    annotations = template["metadata"].get("annotations") or {}
    (container,) = [c for c in template["spec"]["containers"] if c["name"] == "manager"]
    env: dict[str, str] = {}
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
            continue
        field = ((entry.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
        match = _ANNOTATION_REF.match(field)
        if not match:
            raise AssertionError(f"env {entry['name']}: no value this test can resolve: {entry}")
        env[entry["name"]] = str(annotations.get(match["key"], ""))
    return env


@dataclass
class OlmInstall:
    """One install: the operator's namespace, its credentials, the running process."""

    mode: str
    namespace: str
    credentials: Kubectl
    env: dict[str, str]
    operator: OperatorProcess
    account: str


def cluster_scoped(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def no_other_routers(kubectl: Kubectl) -> bool:
    return not kubectl.json("get", KIND, "-A")["items"]


@pytest.fixture(scope="module", params=MODES)
def olm(
    request: pytest.FixtureRequest,
    kubectl: Kubectl,
    crd: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OlmInstall]:
    mode: str = request.param
    if mode == "AllNamespaces":
        # A cluster-wide operator takes every SemanticRouter: none of another test may exist.
        wait_for("no SemanticRouter of another test left", lambda: no_other_routers(kubectl), 300)
    namespace = new_namespace(kubectl, f"sr-e2e-olm-{mode[:3].lower()}")
    objs = olm_install.install_objects(bundle_csv(), mode, namespace)
    kubectl.run("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(objs))
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    applied = kubectl.get("deployment", deployment["metadata"]["name"], namespace)
    assert applied is not None
    account = applied["spec"]["template"]["spec"]["serviceAccountName"]
    work = tmp_path_factory.mktemp(f"olm-{mode}")
    token = request_token(kubectl, namespace, account)
    credentials = token_kubeconfig(kubectl, token, work / "kubeconfig")
    env = container_env(applied)
    running = start_operator(credentials, [], work / "operator", env=env, pod_namespace=namespace)
    try:
        yield OlmInstall(mode, namespace, credentials, env, running, account)
    finally:
        delete_routers(kubectl, namespace)
        running.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
        kubectl.run(
            "delete", "--ignore-not-found", "-f", "-",
            stdin=yaml.safe_dump_all(cluster_scoped(objs)), check=False,
        )  # fmt: skip


def test_the_deployment_env_names_the_target_namespaces_of_the_mode(olm: OlmInstall) -> None:
    expected = olm.namespace if olm.mode == "OwnNamespace" else ""
    assert olm.env["SR_OPERATOR_NAMESPACES"] == expected
    assert olm.env["RELATED_IMAGE_ROUTER"]
    log = olm.operator.log.read_text()
    assert ("all namespaces" in log) == (olm.mode == "AllNamespaces"), log[-2000:]


def test_routers_are_reconciled_in_the_target_namespaces_only_under_the_bundle_permissions(
    kubectl: Kubectl, olm: OlmInstall
) -> None:
    """A router in the operator's namespace and one in another namespace: both go through their
    lifecycle under AllNamespaces; under OwnNamespace the other one is never touched (no
    finalizer, no status) while the first runs."""
    other = new_namespace(kubectl, "sr-e2e-olm-other")
    targets = [olm.namespace, other] if olm.mode == "AllNamespaces" else [olm.namespace]
    routers = []
    try:
        for namespace in (olm.namespace, other):
            kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
            router = simple_router(kubectl, namespace)
            kubectl.apply(router)
            routers.append((router["metadata"]["name"], namespace))
        for name, namespace in routers:
            if namespace in targets:
                assert wait_running(kubectl, name, namespace)["release"]["status"] == "deployed"
        for name, namespace in routers:
            obj = kubectl.get(KIND, name, namespace) or {}
            touched = bool(obj["metadata"].get("finalizers") or obj.get("status"))
            assert touched == (namespace in targets), (namespace, obj)
        for name, namespace in routers:
            kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
        for name, namespace in routers:
            wait_removed(kubectl, name, namespace)
    finally:
        delete_routers(kubectl, other)
        kubectl.run("delete", "namespace", other, "--wait=false", check=False)
    assert "forbidden" not in olm.operator.log.read_text().lower()


# (arguments, allowed under OwnNamespace, allowed under AllNamespaces)
READS_ELSEWHERE = [
    (("get", "secrets", "-n", "default"), False, True),
    (("get", "services", "-n", "default"), False, True),
    (("get", KIND, "-A"), False, True),
    (("get", "namespaces"), False, True),
]


@pytest.mark.parametrize(
    ("args", "own", "every"), READS_ELSEWHERE, ids=[" ".join(r[0]) for r in READS_ELSEWHERE]
)
def test_only_all_namespaces_grants_reads_outside_the_operator_namespace(
    olm: OlmInstall, args: tuple[str, ...], own: bool, every: bool
) -> None:
    allowed = every if olm.mode == "AllNamespaces" else own
    proc = olm.credentials.run(*args, check=False)
    if allowed:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0 and "forbidden" in proc.stderr.lower(), proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("get", "nodes"),
        ("get", "clusterroles"),
        ("get", "pods", "-A"),
        ("create", "namespace", "sr-e2e-olm-forbidden"),
        ("delete", "crd", "semanticrouters.vllm.ai", "--dry-run=server"),
        ("create", "clusterrolebinding", "sr-e2e-olm-forbidden", "--clusterrole=admin", "--user=x"),
    ],
    ids=lambda args: " ".join(args),
)
def test_what_no_install_mode_grants_is_forbidden(olm: OlmInstall, args: tuple[str, ...]) -> None:
    proc = olm.credentials.run(*args, check=False)
    assert proc.returncode != 0, f"kubectl {' '.join(args)} was allowed"
    assert "forbidden" in proc.stderr.lower(), proc.stderr
    assert f"system:serviceaccount:{olm.namespace}:{olm.account}" in proc.stderr
