"""The upstream Go operator's sample SemanticRouters, applied to the real API server with their
spec unchanged, are admitted by this CRD (strict field validation) and reach Running.

The samples are those of tests/chart/data/upstream-samples (see its README). Each keeps its
spec as upstream wrote it; only where it lands changes: the test namespace, and a name with
the prefix `upstream-` so that no other module's router is touched. What the samples refer to
is created first, as a user would: their Secrets (from the same files), the KServe
InferenceServices (a stand-in CRD, tests/e2e/apis.py) and the model Services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.chart.test_upstream_samples import FILES
from tests.e2e import apis
from tests.support.kubectl import Kubectl
from tests.support.routers import KIND, backend_service, condition, wait_removed, wait_running

PREFIX = "upstream-"


def documents() -> list[dict[str, Any]]:
    return [doc for path in FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


def routers(namespace: str) -> list[dict[str, Any]]:
    found = []
    for doc in documents():
        if doc["kind"] == "SemanticRouter":
            meta = doc["metadata"]
            meta["name"] = PREFIX + meta["name"]
            meta["namespace"] = namespace
            found.append(doc)
    return found


def secrets(namespace: str) -> list[dict[str, Any]]:
    found = {}
    for doc in documents():
        if doc["kind"] == "Secret":
            doc["metadata"]["namespace"] = namespace
            found[doc["metadata"]["name"]] = doc
    return list(found.values())


def backends(namespace: str) -> list[dict[str, Any]]:
    """An InferenceService or a Service for every backend the samples name."""
    objs: dict[str, dict[str, Any]] = {}
    for router in routers(namespace):
        for endpoint in router["spec"]["vllmEndpoints"]:
            backend = endpoint["backend"]
            if backend["type"] == "kserve":
                name = backend["inferenceServiceName"]
                objs[f"isvc/{name}"] = {
                    "apiVersion": "serving.kserve.io/v1beta1",
                    "kind": "InferenceService",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": {"predictor": {"model": {"modelFormat": {"name": "vllm"}}}},
                }
            else:
                service = backend["service"]
                objs[f"svc/{service['name']}"] = backend_service(
                    service["name"], namespace, port=service["port"]
                )
    return list(objs.values())


def kept(written: Any, stored: Any) -> bool:
    """Every field written is stored with its value (the API server only adds defaults)."""
    if isinstance(written, dict):
        return isinstance(stored, dict) and all(
            key in stored and kept(value, stored[key]) for key, value in written.items()
        )
    if isinstance(written, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(written)
            and all(kept(w, s) for w, s in zip(written, stored, strict=True))
        )
    return bool(written == stored)


@pytest.fixture(scope="module")
def kserve(kubectl: Kubectl) -> Iterator[set[str]]:
    with apis.installed(kubectl, {"InferenceService"}) as served:
        yield served


def test_the_upstream_samples_are_admitted_unchanged_and_reach_running(
    kubectl: Kubectl, operator: object, namespace: str, kserve: set[str]
) -> None:
    assert "InferenceService" in kserve
    for obj in [*secrets(namespace), *backends(namespace)]:
        kubectl.apply(obj)
    applied = routers(namespace)
    assert len(applied) == len(FILES)
    try:
        for router in applied:
            kubectl.apply(router)
        for router in applied:
            name = router["metadata"]["name"]
            stored = kubectl.get(KIND, name, namespace)
            assert stored is not None
            assert kept(router["spec"], stored["spec"]), f"{name}: the API server changed a field"
            status = wait_running(kubectl, name, namespace)
            assert condition(status, "BackendsResolved").get("status") == "True", status
    finally:
        for router in applied:
            name = router["metadata"]["name"]
            kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false", check=False)
        for router in applied:
            wait_removed(kubectl, router["metadata"]["name"], namespace)
