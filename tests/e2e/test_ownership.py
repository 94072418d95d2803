"""Releases the operator does not own, failures the cluster fixes, and name collisions, on the
real API server with real Helm 4:

- a release of another chart named like a SemanticRouter is never upgraded nor uninstalled:
  the router reports ReleaseNameTaken naming the release and its chart, with a Warning event;
- this chart installed with `helm install` is adopted only with the vllm.ai/adopt-release
  annotation;
- a ResourceQuota that forbids the router's Service fails the helm run; the router is retried
  (QuotaExceeded, with the next try in its status) and converges once the quota is gone,
  without a spec edit;
- router `x-grpc-headless` created after router `x` (whose headless Service has that name)
  reports NameCollision naming `x`, and `x` keeps running.

The module runs its own operator on its own namespace (the quota is namespace-wide), with a
short retry backoff (SR_OPERATOR_RETRY_BACKOFF) so that a retry comes within seconds.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.helm import CHART, helm_binary
from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import OperatorProcess, delete_routers, new_namespace, start_operator
from tests.support.routers import (
    APPLY_TIMEOUT,
    BACKEND_SERVICE,
    KIND,
    backend_service,
    condition,
    simple_router,
    status_of,
    wait_removed,
    wait_running,
)

RETRY = {"SR_OPERATOR_RETRY_BACKOFF": "2", "SR_OPERATOR_RETRY_BACKOFF_MAX": "8"}
ADOPT = "vllm.ai/adopt-release"
OWNER_LABEL = "semantic-router.vllm.ai/owner-uid"


@dataclass(frozen=True)
class Helm:
    """Helm 4 as a user runs it, with the admin's kubeconfig."""

    kubectl: Kubectl
    home: Path

    def __call__(self, *args: str) -> str:
        env = {
            **self.kubectl.env,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        proc = subprocess.run(
            [helm_binary(4), *args], capture_output=True, text=True, env=env, timeout=180
        )
        assert proc.returncode == 0, f"helm {' '.join(args)}: {proc.stderr.strip()}"
        return proc.stdout

    def status(self, name: str, namespace: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self("status", name, "-n", namespace, "-o", "json"))
        return found


@dataclass(frozen=True)
class Scene:
    kubectl: Kubectl
    namespace: str
    operator: OperatorProcess
    helm: Helm


@pytest.fixture(scope="module")
def scene(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    namespace = new_namespace(kubectl, "sr-e2e-owner")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    work = tmp_path_factory.mktemp("ownership")
    running = start_operator(operator_rbac, [namespace], work / "operator", settings=RETRY)
    try:
        yield Scene(kubectl, namespace, running, Helm(kubectl, work / "helm"))
    finally:
        kubectl.run("delete", "resourcequota", "--all", "-n", namespace, check=False)
        delete_routers(kubectl, namespace)
        running.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def router_named(
    scene: Scene, name: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    router = simple_router(scene.kubectl, scene.namespace)
    router["metadata"]["name"] = name
    if annotations:
        router["metadata"]["annotations"] = annotations
    return router


def wait_reason(scene: Scene, name: str, reason: str) -> dict[str, Any]:
    """The ReleaseFailed condition of `name` once it is True with `reason`."""

    def failed() -> dict[str, Any] | None:
        found = condition(status_of(scene.kubectl, name, scene.namespace), "ReleaseFailed")
        return found if found.get("status") == "True" and found.get("reason") == reason else None

    return wait_for(f"{name} ReleaseFailed {reason}", failed, APPLY_TIMEOUT, every=1)


def warnings(scene: Scene, name: str, reason: str) -> list[str]:
    events = scene.kubectl.json(
        "get", "events", "-n", scene.namespace,
        "--field-selector", f"involvedObject.name={name},reason={reason},type=Warning",
    )["items"]  # fmt: skip
    return [str(e.get("message")) for e in events]


def existing(kubectl: Kubectl, kind: str, name: str, namespace: str) -> dict[str, Any]:
    found = kubectl.get(kind, name, namespace)
    assert found is not None, f"{kind} {namespace}/{name} is missing"
    return found


def one_configmap_chart(path: Path) -> Path:
    """Another team's chart: one ConfigMap named after its release."""
    (path / "templates").mkdir(parents=True)
    (path / "Chart.yaml").write_text("apiVersion: v2\nname: team-cache\nversion: 1.2.3\n")
    (path / "templates" / "data.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-data\n"
        "data:\n  owner: team\n"
    )
    return path


def test_a_release_of_another_chart_is_never_touched_and_outlives_the_router(
    scene: Scene, tmp_path: Path
) -> None:
    kubectl, namespace, name = scene.kubectl, scene.namespace, "cache"
    scene.helm("install", name, str(one_configmap_chart(tmp_path / "chart")), "-n", namespace)
    before = scene.helm.status(name, namespace)
    data = kubectl.get("configmap", f"{name}-data", namespace)
    assert data is not None
    kubectl.apply(router_named(scene, name))

    found = wait_reason(scene, name, "ReleaseNameTaken")
    assert f"release {namespace}/{name} (chart team-cache)" in found["message"]
    assert "next try in" in found["message"]
    wait_for(
        f"a ReleaseNameTaken event of {name}", lambda: warnings(scene, name, "ReleaseNameTaken"), 60
    )
    assert "(chart team-cache)" in warnings(scene, name, "ReleaseNameTaken")[0]
    changes = [
        run
        for run in scene.operator.helm_runs()
        if run.split()[:2] in (["upgrade", name], ["uninstall", name], ["rollback", name])
    ]
    assert changes == []
    after = scene.helm.status(name, namespace)
    assert (after["version"], after["info"]["status"]) == (before["version"], "deployed")
    assert (
        existing(kubectl, "configmap", f"{name}-data", namespace)["metadata"]["resourceVersion"]
        == (data["metadata"]["resourceVersion"])
    )

    kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
    wait_for(f"{name} deleted", lambda: kubectl.get(KIND, name, namespace) is None, APPLY_TIMEOUT)
    assert not [run for run in scene.operator.helm_runs() if run.startswith(f"uninstall {name} ")]
    left = scene.helm.status(name, namespace)
    assert (left["version"], left["info"]["status"]) == (before["version"], "deployed")
    assert kubectl.get("configmap", f"{name}-data", namespace) is not None
    scene.helm("uninstall", name, "-n", namespace)


def test_the_chart_installed_by_hand_is_adopted_only_with_the_annotation(scene: Scene) -> None:
    kubectl, namespace, name = scene.kubectl, scene.namespace, "by-hand"
    scene.helm("install", name, str(CHART), "-n", namespace, "--set", "persistence.enabled=false")
    kubectl.apply(router_named(scene, name))

    found = wait_reason(scene, name, "ReleaseNameTaken")
    assert f"release {namespace}/{name} (chart semantic-router)" in found["message"]
    assert ADOPT in found["message"]
    assert scene.helm.status(name, namespace)["version"] == 1

    kubectl.run("annotate", KIND, name, "-n", namespace, f"{ADOPT}=true")
    status = wait_running(kubectl, name, namespace)
    assert status["release"]["revision"] >= 2
    assert condition(status, "ReleaseFailed").get("status") == "False"
    uid = existing(kubectl, KIND, name, namespace)["metadata"]["uid"]
    secrets = kubectl.json("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={name}")
    latest = max(secrets["items"], key=lambda s: int(s["metadata"]["labels"]["version"]))
    assert latest["metadata"]["labels"][OWNER_LABEL] == uid

    kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
    wait_removed(kubectl, name, namespace)


def test_a_quota_failure_is_retried_until_the_quota_is_gone(scene: Scene) -> None:
    kubectl, namespace, name = scene.kubectl, scene.namespace, "quota"
    used = len(kubectl.json("get", "services", "-n", namespace)["items"])
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "no-more-services", "namespace": namespace},
        "spec": {"hard": {"services": str(used)}},
    }
    kubectl.apply(quota)

    def counted() -> bool:
        found = kubectl.get("resourcequota", "no-more-services", namespace) or {}
        return bool((found.get("status") or {}).get("used", {}).get("services") == str(used))

    wait_for("the quota controller to count the Services", counted, APPLY_TIMEOUT, every=0.5)
    router = router_named(scene, name)
    kubectl.apply(router)

    found = wait_reason(scene, name, "QuotaExceeded")
    assert "exceeded quota" in found["message"]
    assert "next try in" in found["message"]
    generation = existing(kubectl, KIND, name, namespace)["metadata"]["generation"]

    kubectl.run("delete", "resourcequota", "no-more-services", "-n", namespace)
    status = wait_running(kubectl, name, namespace)
    assert existing(kubectl, KIND, name, namespace)["metadata"]["generation"] == generation
    assert condition(status, "ReleaseFailed").get("status") == "False"
    assert kubectl.get("service", name, namespace) is not None

    kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
    wait_removed(kubectl, name, namespace)


def test_the_second_of_two_routers_whose_names_collide_reports_the_first(scene: Scene) -> None:
    kubectl, namespace = scene.kubectl, scene.namespace
    first, second = "edge", "edge-grpc-headless"
    kubectl.apply(router_named(scene, first))
    wait_running(kubectl, first, namespace)
    kubectl.apply(router_named(scene, second))

    found = wait_reason(scene, second, "NameCollision")
    assert f"Service {second}, which SemanticRouter {first}" in found["message"]
    wait_for(
        f"a NameCollision event of {second}", lambda: warnings(scene, second, "NameCollision"), 60
    )
    assert status_of(kubectl, second, namespace).get("release") is None
    assert not [run for run in scene.operator.helm_runs() if run.startswith(f"upgrade {second} ")]
    headless = kubectl.get("service", second, namespace)
    assert headless is not None
    assert headless["metadata"]["labels"]["app.kubernetes.io/instance"] == first
    status = wait_running(kubectl, first, namespace)
    assert condition(status, "ReleaseFailed").get("status") == "False"

    kubectl.run("delete", KIND, second, "-n", namespace, "--wait=false")
    wait_for(
        f"{second} deleted", lambda: kubectl.get(KIND, second, namespace) is None, APPLY_TIMEOUT
    )
    assert kubectl.get("service", second, namespace) is not None
    kubectl.run("delete", KIND, first, "-n", namespace, "--wait=false")
    wait_removed(kubectl, first, namespace)
