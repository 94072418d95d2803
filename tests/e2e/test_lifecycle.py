"""End to end on a real cluster, with the operator under its own ServiceAccount: the simple
sample is installed by the operator with real helm, its pods run on the cluster's nodes, it
becomes Ready and Running, follows a change of replicas, and is removed with everything helm
installed.

The simple sample is applied as the user documentation shows, with three adjustments a bare
test cluster needs, each only when the cluster lacks what the sample expects:

- its KServe backend becomes a `service` backend on a Service this test creates, when the
  cluster serves no serving.kserve.io API (the operator installs nothing before at least one
  backend resolves);
- `persistence.storageClassName: standard` is dropped when there is no such StorageClass
  (the default class is used), and persistence is turned off when there is no default either;
- the resource requests are lowered to fit a small node (the limits stay as in the sample).

On a real cluster, waiting for Ready includes pulling the router image and its models:
``SR_E2E_READY_TIMEOUT`` (seconds, default 900) bounds it. On the local control plane the nodes
are kwok's: pods become Running and Ready as soon as they are scheduled.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import helmstorage
from tests.support.kubectl import Kubectl, wait_for
from tests.support.routers import (
    APPLY_TIMEOUT,
    BACKEND_SERVICE,
    KIND,
    READY_TIMEOUT,
    condition,
    simple_router,
    status_of,
)


@pytest.fixture(scope="module")
def router(kubectl: Kubectl, operator: object, namespace: str) -> dict[str, Any]:
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
    assert condition(status, "Degraded").get("status") == "False"
    assert condition(status, "ReleaseFailed").get("status") == "False"
    pods = kubectl.json("get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/instance={name}")
    nodes = {n["metadata"]["name"] for n in kubectl.json("get", "nodes")["items"]}
    assert pods["items"] and all(p["spec"].get("nodeName") in nodes for p in pods["items"])


def test_the_persistent_volume_claim_is_bound(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    name = router["metadata"]["name"]
    selector = f"app.kubernetes.io/instance={name}"
    if not (router["spec"].get("persistence") or {}).get("enabled", True):
        # a cluster without a default StorageClass: persistence was turned off
        assert kubectl.json("get", "pvc", "-n", namespace, "-l", selector)["items"] == []
        return

    def bound() -> list[dict[str, Any]] | None:
        claims = kubectl.json("get", "pvc", "-n", namespace, "-l", selector)["items"]
        return (
            claims if claims and all(c["status"].get("phase") == "Bound" for c in claims) else None
        )

    claims = wait_for(f"the claims of {name} bound", bound, APPLY_TIMEOUT)
    assert (
        claims[0]["spec"]["resources"]["requests"]["storage"]
        == router["spec"]["persistence"]["size"]
    )


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
    selector = f"app.kubernetes.io/instance={name}"

    def rolled() -> list[dict[str, Any]] | None:
        pods = kubectl.json("get", "pods", "-n", namespace, "-l", selector)["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return running if len(running) == replicas == len(pods) else None

    wait_for(f"{replicas} running pods of {name}", rolled, APPLY_TIMEOUT)


def test_helms_storage_secrets_are_what_the_helm_stand_ins_write(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    """The contract `tests.support.helmstorage` copies, checked against real helm: after an
    install and an upgrade, each revision's Secret has the name, type and labels the helm
    stand-ins write (`HelmStorage.deploy`: created pending, then updated, so every revision
    is stamped ``modifiedAt``; the latest deployed, the ones before superseded)."""
    name = router["metadata"]["name"]
    found = kubectl.json("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={name}")
    by_revision = {int(s["metadata"]["labels"]["version"]): s for s in found["items"]}
    assert len(by_revision) >= 2, sorted(by_revision)
    latest = max(by_revision)
    for revision, real in sorted(by_revision.items()):
        labels = dict(real["metadata"]["labels"])
        status = "deployed" if revision == latest else "superseded"
        own = {key: value for key, value in labels.items() if "/" in key}
        expected = helmstorage.stamped_labels("modifiedAt", name, revision, status, own)
        assert labels.pop("modifiedAt").isdigit(), revision
        del expected["modifiedAt"]
        assert labels == expected, revision
        assert real["metadata"]["name"] == helmstorage.secret_name(name, revision)
        assert real["type"] == helmstorage.SECRET_TYPE


def test_deleting_the_router_uninstalls_the_release(
    kubectl: Kubectl, router: dict[str, Any], namespace: str
) -> None:
    name = router["metadata"]["name"]
    kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
    wait_for(f"{name} deleted", lambda: kubectl.get(KIND, name, namespace) is None, APPLY_TIMEOUT)
    assert kubectl.get("deployment", name, namespace) is None
    secrets = kubectl.json("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={name}")
    assert secrets["items"] == []
    selector = f"app.kubernetes.io/instance={name}"
    kinds = (
        "deployments,replicasets,services,configmaps,secrets,serviceaccounts,pvc,hpa,pdb,ingresses"
    )

    def gone() -> bool:
        left = kubectl.json("get", kinds, "-n", namespace, "-l", selector)["items"]
        pods = kubectl.json("get", "pods", "-n", namespace, "-l", selector)["items"]
        return not left and not pods

    wait_for(f"nothing left labelled {selector}", gone, APPLY_TIMEOUT)
