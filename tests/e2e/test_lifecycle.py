"""End to end on a real cluster: the simple sample is installed by the operator, becomes
Ready, follows a change of replicas, and is removed with everything helm installed.

The simple sample is applied as the user documentation shows, with three adjustments a bare
test cluster needs, each only when the cluster lacks what the sample expects:

- its KServe backend becomes a `service` backend on a Service this test creates, when the
  cluster serves no serving.kserve.io API (the operator installs nothing before at least one
  backend resolves);
- `persistence.storageClassName: standard` is dropped when there is no such StorageClass
  (the default class is used), and persistence is turned off when there is no default either;
- the resource requests are lowered to fit a small node (the limits stay as in the sample).

Waiting for Ready includes pulling the router image and its models: ``SR_E2E_READY_TIMEOUT``
(seconds, default 900) bounds it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import Kubectl, wait_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "vllm.ai_v1alpha1_semanticrouter_simple.yaml"
KIND = "semanticrouter"
BACKEND_SERVICE = "e2e-vllm"
APPLY_TIMEOUT = 300.0
READY_TIMEOUT = float(os.environ.get("SR_E2E_READY_TIMEOUT", "900"))


def simple_router(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    """The simple sample, adjusted to the cluster as the module docstring says."""
    router: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    router["metadata"]["namespace"] = namespace
    spec = router["spec"]
    if "serving.kserve.io" not in kubectl.served_groups():
        for endpoint in spec["vllmEndpoints"]:
            endpoint["backend"] = {
                "type": "service",
                "service": {"name": BACKEND_SERVICE, "port": 8000},
            }
    classes = kubectl.json("get", "storageclasses")["items"]
    persistence = spec.get("persistence") or {}
    wanted = persistence.get("storageClassName")
    if wanted and wanted not in {c["metadata"]["name"] for c in classes}:
        persistence.pop("storageClassName")
        default = "storageclass.kubernetes.io/is-default-class"
        if not any(c["metadata"].get("annotations", {}).get(default) == "true" for c in classes):
            persistence["enabled"] = False
    spec.setdefault("resources", {})["requests"] = {"cpu": "100m", "memory": "256Mi"}
    return router


def status_of(kubectl: Kubectl, name: str, namespace: str) -> dict[str, Any]:
    obj = kubectl.get(KIND, name, namespace) or {}
    status: dict[str, Any] = obj.get("status") or {}
    return status


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in status.get("conditions") or [] if c.get("type") == kind]
    return found[0] if found else {}


@pytest.fixture(scope="module")
def router(kubectl: Kubectl, operator: str, namespace: str) -> dict[str, Any]:
    backend = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": BACKEND_SERVICE, "namespace": namespace},
        "spec": {
            "selector": {"app": BACKEND_SERVICE},
            "ports": [{"name": "http", "port": 8000, "targetPort": 8000}],
        },
    }
    kubectl.apply(backend)
    obj = simple_router(kubectl, namespace)
    kubectl.apply(obj)
    return obj


def test_the_operator_installs_the_simple_sample(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    name = router["metadata"]["name"]

    def deployed() -> dict[str, Any] | None:
        release = status_of(kubectl, name, namespace).get("release") or {}
        return release if release.get("status") == "deployed" else None

    release = wait_for(f"release {name} deployed", deployed, APPLY_TIMEOUT)
    assert release["name"] == name
    selector = f"app.kubernetes.io/instance={name}"
    objs = kubectl.json("get", "deployment,service,configmap", "-n", namespace, "-l", selector)
    kinds = sorted({o["kind"] for o in objs["items"]})
    assert kinds == ["ConfigMap", "Deployment", "Service"]
    status = status_of(kubectl, name, namespace)
    assert status["gatewayMode"] == "standalone"
    assert condition(status, "BackendsResolved").get("status") == "True"


def test_the_router_becomes_ready(kubectl: Kubectl, router: dict[str, Any], namespace: str) -> None:
    name = router["metadata"]["name"]

    def ready() -> dict[str, Any] | None:
        status = status_of(kubectl, name, namespace)
        return status if condition(status, "Ready").get("status") == "True" else None

    status = wait_for(f"{name} Ready", ready, READY_TIMEOUT, every=5)
    assert status["phase"] == "Running"
    assert status["readyReplicas"] == router["spec"]["replicas"]


def test_a_change_of_replicas_reaches_the_deployment(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    name = router["metadata"]["name"]
    before = status_of(kubectl, name, namespace)["release"]["revision"]
    replicas = router["spec"]["replicas"] - 1 or 2
    patch = f'{{"spec": {{"replicas": {replicas}}}}}'
    kubectl.run("patch", KIND, name, "-n", namespace, "--type=merge", "-p", patch)

    def scaled() -> int | None:
        deployment = kubectl.get("deployment", name, namespace) or {}
        return replicas if (deployment.get("spec") or {}).get("replicas") == replicas else None

    wait_for(f"deployment {name} at {replicas} replicas", scaled, APPLY_TIMEOUT)

    def observed() -> dict[str, Any] | None:
        status = status_of(kubectl, name, namespace)
        return status if status.get("observedGeneration", 0) >= 2 else None

    status = wait_for(f"{name} status of generation 2", observed, APPLY_TIMEOUT)
    assert status["release"]["revision"] > before


def test_deleting_the_router_uninstalls_the_release(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    name = router["metadata"]["name"]
    kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
    wait_for(f"{name} deleted", lambda: kubectl.get(KIND, name, namespace) is None, APPLY_TIMEOUT)
    assert kubectl.get("deployment", name, namespace) is None
    secrets = kubectl.json("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={name}")
    assert secrets["items"] == []
