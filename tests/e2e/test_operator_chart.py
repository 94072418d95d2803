"""The operator installed with its own chart (charts/semantic-router-operator): `helm install`
into the real API server, with watchNamespaces and the ServiceMonitor on, rolls out; the
operator, running with the token of the chart's ServiceAccount and the environment of the
chart's Deployment, takes a router through its lifecycle in the watched namespace, and is
Forbidden outside it.

As everywhere in this tier, the operator runs as a process (the cluster's nodes run no
images): the Deployment the chart installs is admitted and rolled out, and the process gets
exactly its credentials and settings."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import apis
from tests.support import live, routers
from tests.support.helm import ROOT, helm_binary
from tests.support.kubectl import Kubectl, wait_for

CHART = ROOT / "charts" / "semantic-router-operator"
RELEASE = "e2e-semantic-router-operator"
FULLNAME = RELEASE  # it contains the chart name: the objects are named after it
TIMEOUT = 180


@dataclass
class Installed:
    """The chart's release, the namespace it watches, and the operator running as it."""

    namespace: str
    watched: str
    credentials: Kubectl
    operator: live.OperatorProcess


def helm(
    kubectl: Kubectl, *args: str, tmp: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **kubectl.env,
        "HELM_CACHE_HOME": str(tmp / "cache"),
        "HELM_CONFIG_HOME": str(tmp / "config"),
        "HELM_DATA_HOME": str(tmp / "data"),
    }
    return subprocess.run(
        [helm_binary(4), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT + 60,
    )


def deployment_env(deployment: dict[str, Any]) -> dict[str, str]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


@pytest.fixture(scope="module")
def installed(
    kubectl: Kubectl, crd: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("operator-chart")
    with apis.installed(kubectl, {"ServiceMonitor"}):
        namespace = live.new_namespace(kubectl, "sr-e2e-opchart")
        watched = live.new_namespace(kubectl, "sr-e2e-opchart-watched")
        values = {"watchNamespaces": [watched], "metrics": {"serviceMonitor": {"enabled": True}}}
        install = helm(
            kubectl, "install", RELEASE, str(CHART), "--namespace", namespace,
            "--wait", f"--timeout={TIMEOUT}s", "-f", "-",
            tmp=work, stdin=yaml.safe_dump(values),
        )  # fmt: skip
        operator: live.OperatorProcess | None = None
        try:
            assert install.returncode == 0, install.stderr
            deployment = kubectl.get("deployment", f"{FULLNAME}-controller-manager", namespace)
            assert deployment is not None
            account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
            token = live.request_token(kubectl, namespace, account)
            credentials = live.token_kubeconfig(kubectl, token, work / "kubeconfig")
            operator = live.start_operator(
                credentials,
                [watched],
                work / "operator",
                env=deployment_env(deployment),
                pod_namespace=namespace,
            )
            yield Installed(namespace, watched, credentials, operator)
        finally:
            live.delete_routers(kubectl, watched)
            if operator is not None:
                operator.stop()
            helm(kubectl, "uninstall", RELEASE, "--namespace", namespace, "--wait", tmp=work)
            for name in (watched, namespace):
                kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def test_the_chart_rolls_out_the_operator_with_its_metrics_service_and_service_monitor(
    kubectl: Kubectl, installed: Installed
) -> None:
    ns = installed.namespace

    def available() -> dict[str, Any] | None:
        found = kubectl.get("deployment", f"{FULLNAME}-controller-manager", ns) or {}
        wanted = found.get("spec", {}).get("replicas")
        return found if wanted == 2 == found.get("status", {}).get("availableReplicas") else None

    deployment = wait_for("both operator replicas available", available, TIMEOUT)
    assert deployment_env(deployment)["SR_OPERATOR_NAMESPACES"] == installed.watched
    monitor = kubectl.get("servicemonitor", f"{FULLNAME}-metrics", ns)
    service = kubectl.get("service", f"{FULLNAME}-metrics", ns)
    assert monitor is not None and service is not None
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    binding = kubectl.get("rolebinding", f"{FULLNAME}-manager-rolebinding", installed.watched)
    assert binding is not None
    assert kubectl.get("clusterrolebinding", f"{FULLNAME}-manager-rolebinding") is None


def test_the_crd_served_is_the_one_the_chart_carries(
    kubectl: Kubectl, installed: Installed
) -> None:
    served = kubectl.get("crd", "semanticrouters.vllm.ai")
    carried = yaml.safe_load((CHART / "crds" / "vllm.ai_semanticrouters.yaml").read_text())
    assert served is not None
    for ours, theirs in zip(carried["spec"]["versions"], served["spec"]["versions"], strict=True):
        assert (ours["name"], ours["served"], ours["storage"]) == (
            theirs["name"],
            theirs["served"],
            theirs["storage"],
        )
        assert json.dumps(ours["schema"], sort_keys=True) == json.dumps(
            theirs["schema"], sort_keys=True
        )


def test_the_operator_with_the_charts_credentials_runs_a_router_lifecycle(
    kubectl: Kubectl, installed: Installed
) -> None:
    watched = installed.watched
    kubectl.apply(routers.backend_service(routers.BACKEND_SERVICE, watched))
    router = routers.simple_router(kubectl, watched)
    name = router["metadata"]["name"]
    kubectl.apply(router)
    status = routers.wait_running(kubectl, name, watched)
    assert status["release"]["status"] == "deployed"
    kubectl.run("delete", routers.KIND, name, "-n", watched, "--wait=false")
    routers.wait_removed(kubectl, name, watched)
    assert "Forbidden" not in installed.operator.log.read_text()


def test_outside_its_watched_namespace_the_charts_operator_is_forbidden(
    installed: Installed,
) -> None:
    proc = installed.credentials.run("get", "secrets", "-n", "default", check=False)
    assert proc.returncode != 0
    assert "forbidden" in proc.stderr.lower(), proc.stderr
