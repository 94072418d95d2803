"""SemanticRouters on a real cluster: the simple sample adjusted to the cluster, backend
Services, and waiting for the states the operator reports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from tests.support.kubectl import Kubectl, wait_for

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


def backend_service(
    name: str, namespace: str, labels: dict[str, str] | None = None, port: int = 8000
) -> dict[str, Any]:
    """A Service standing for a model server (nothing needs to answer behind it)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": port, "targetPort": port}],
        },
    }


def wait_running(kubectl: Kubectl, name: str, namespace: str) -> dict[str, Any]:
    """The status of `name` once it is Running and Ready."""

    def running() -> dict[str, Any] | None:
        status = status_of(kubectl, name, namespace)
        ready = condition(status, "Ready").get("status") == "True"
        return status if ready and status.get("phase") == "Running" else None

    return wait_for(f"{namespace}/{name} Running and Ready", running, READY_TIMEOUT, every=1)


LABELLED_KINDS = (
    "deployments,replicasets,pods,services,configmaps,secrets,serviceaccounts,pvc,hpa,pdb,ingresses"
)


def wait_removed(kubectl: Kubectl, name: str, namespace: str) -> None:
    """Wait until the SemanticRouter is gone (its finalizer ran) and nothing labelled with its
    instance is left."""
    wait_for(f"{name} deleted", lambda: kubectl.get(KIND, name, namespace) is None, APPLY_TIMEOUT)
    selector = f"app.kubernetes.io/instance={name}"

    def gone() -> bool:
        return not kubectl.json("get", LABELLED_KINDS, "-n", namespace, "-l", selector)["items"]

    wait_for(f"nothing left labelled {selector}", gone, APPLY_TIMEOUT)
