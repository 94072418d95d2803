"""Fixtures of the end-to-end tier: a real cluster, the CRD, the operator under its own RBAC.

The cluster is ``KUBECONFIG``'s, or a local control plane started for the run
(tests/support/kubectl.py); the helpers shared with the live benchmarks are
in tests/support/live.py.

The operator runs as a `semantic-router-operator run` process whose only credential is a
ServiceAccount token from the TokenRequest API, the ServiceAccount bound to exactly the
ClusterRole of config/rbac as config/default deploys it: never as the admin. With
``SR_E2E_IMG=<image>`` (an image the cluster can pull) it is deployed in the cluster with
config/default instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import deploy_manifests
from tests.support.kubectl import Kubectl, find_cluster
from tests.support.live import (
    CRD_FILE,
    CRD_NAME,
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    RBAC_KINDS,
    OperatorProcess,
    delete_routers,
    new_namespace,
    operator_manifests,
    request_token,
    start_operator,
    token_kubeconfig,
    wait_established,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    with find_cluster(tmp_path_factory.mktemp("cluster")) as found:
        yield found


@pytest.fixture(scope="session")
def crd(kubectl: Kubectl) -> Iterator[str]:
    """The SemanticRouter CRD, applied server-side as `make install` does, and Established
    (removed again if it was not there before)."""
    existed = kubectl.get("crd", CRD_NAME) is not None
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    wait_established(kubectl, CRD_NAME)
    yield CRD_NAME
    if not existed:
        kubectl.run("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(scope="session")
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = new_namespace(kubectl)
    yield name
    kubectl.run("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(scope="session")
def operator_rbac(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """kubectl as the operator's ServiceAccount: config/default's Namespace, ServiceAccount,
    ClusterRole and bindings applied (not its Deployment), and a TokenRequest token."""
    objs = [o for o in operator_manifests() if o["kind"] in RBAC_KINDS]
    kinds = {o["kind"] for o in objs}
    assert {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"} <= kinds, kinds
    kubectl.run(
        "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=deploy_manifests.dump(objs)
    )
    token = request_token(kubectl, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)
    yield token_kubeconfig(kubectl, token, tmp_path_factory.mktemp("sa") / "kubeconfig")
    without_namespace = [o for o in objs if o["kind"] != "Namespace"]
    kubectl.run(
        "delete", "--ignore-not-found", "--wait=false", "-f", "-",
        stdin=deploy_manifests.dump(without_namespace), check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def operator(
    kubectl: Kubectl,
    crd: str,
    namespace: str,
    operator_rbac: Kubectl,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess | str]:
    """The running operator, under the operator's ServiceAccount token."""
    image = os.environ.get("SR_E2E_IMG", "")
    if image:
        yield from _deployed_operator(kubectl, image)
        return
    running = start_operator(operator_rbac, [namespace], tmp_path_factory.mktemp("operator"))
    try:
        yield running
    finally:
        delete_routers(kubectl, namespace)
        running.stop()


def _deployed_operator(kubectl: Kubectl, image: str) -> Iterator[str]:
    manifest = deploy_manifests.kustomize(
        deploy_manifests.DEFAULT_DIR, deploy_manifests.Image.parse(image)
    )
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifest)
    kubectl.run(
        "-n",
        OPERATOR_NAMESPACE,
        "rollout",
        "status",
        f"deployment/{OPERATOR_DEPLOYMENT}",
        "--timeout=300s",
        timeout=330,
    )
    yield f"deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} ({image})"
    without_crd = deploy_manifests.dump(
        deploy_manifests.without_crds(deploy_manifests.objects(manifest))
    )
    kubectl.run("delete", "--ignore-not-found", "--wait=false", "-f", "-", stdin=without_crd)
