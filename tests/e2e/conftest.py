"""Fixtures of the end-to-end tier: a real cluster, the CRD, the operator, a namespace.

The operator runs here as a `semantic-router-operator run` process against the cluster
(watching only the test namespace), or, with ``SR_E2E_IMG=<image>`` (an image the cluster
can pull, e.g. after `make docker-build` and `kind load docker-image`), deployed in the
cluster with config/default: then it runs under its own least-privilege ClusterRole.

Without a reachable cluster every test is skipped with a one-line reason (`make e2e`
prints it), and the run exits 0.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import deploy_manifests
from tests.e2e.cluster import Kubectl, NoCluster, find_cluster, wait_for
from tests.support.helm import CHART, helm_binary

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "vllm.ai_semanticrouters.yaml"
CRD_NAME = "semanticrouters.vllm.ai"
OPERATOR_NAMESPACE = "semantic-router-operator-system"
OPERATOR_DEPLOYMENT = "semantic-router-operator-controller-manager"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    try:
        with find_cluster(tmp_path_factory.mktemp("cluster")) as found:
            yield found
    except NoCluster as reason:
        pytest.skip(str(reason))


@pytest.fixture(scope="session")
def crd(kubectl: Kubectl) -> Iterator[str]:
    """The SemanticRouter CRD, installed as `make install` does (removed again if it was not
    there before)."""
    existed = kubectl.get("crd", CRD_NAME) is not None
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    kubectl.run("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    yield CRD_NAME
    if not existed:
        kubectl.run("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture(scope="session")
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = f"sr-e2e-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    yield name
    kubectl.run("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def operator(
    kubectl: Kubectl, crd: str, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The running operator; yields a description of how it runs."""
    image = os.environ.get("SR_E2E_IMG", "")
    if image:
        yield from _deployed_operator(kubectl, image)
    else:
        yield from _local_operator(kubectl, namespace, tmp_path_factory.mktemp("operator"))


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


def _local_operator(kubectl: Kubectl, namespace: str, workdir: Path) -> Iterator[str]:
    port = _free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    env = {
        **kubectl.env,
        "SR_OPERATOR_NAMESPACES": namespace,
        "SR_OPERATOR_HELM_BINARY": helm_binary(4),
        "SR_OPERATOR_CHART_PATH": str(CHART),
        "SR_OPERATOR_METRICS_PORT": "0",
        "SR_OPERATOR_LIVENESS_ENDPOINT": health,
        "SR_OPERATOR_TIMER_INTERVAL": "10",
        "HELM_CACHE_HOME": str(workdir / "helm-cache"),
        "HELM_CONFIG_HOME": str(workdir / "helm-config"),
        "HELM_DATA_HOME": str(workdir / "helm-data"),
    }
    command = Path(sys.executable).parent / "semantic-router-operator"
    log_path = workdir / "operator.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(command), "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"the operator exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            return _healthy(health)

        wait_for(f"the operator's liveness endpoint {health}", ready, timeout=120)
        yield f"process {proc.pid} watching namespace {namespace} (log: {log_path})"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
