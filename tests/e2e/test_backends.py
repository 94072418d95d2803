"""Backends discovered from real objects: an InferenceService (serving.kserve.io, its CRD a
stand-in described in tests/e2e/apis.py), a Service carrying Llama Stack labels and a plain
Service; the router is deployed with each address in its configuration, and reports each
backend as resolved. The InferenceService CRD is installed for this module and removed after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e import apis
from tests.support.kubectl import Kubectl
from tests.support.routers import KIND, backend_service, condition, wait_removed, wait_running

NAME = "backends"
ISVC = "llama-3-8b"
LLAMA_STACK_LABELS = {"app": "llama-stack", "model": "llama-3.3-70b"}


@pytest.fixture(scope="module")
def kserve(kubectl: Kubectl) -> Iterator[set[str]]:
    with apis.installed(kubectl, {"InferenceService"}) as served:
        yield served


def inference_service(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": ISVC, "namespace": namespace},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "vllm"}}}},
    }


def router(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "persistence": {"enabled": False},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            "vllmEndpoints": [
                {
                    "name": "llama3-8b",
                    "model": "llama3-8b",
                    "backend": {"type": "kserve", "inferenceServiceName": ISVC},
                },
                {
                    "name": "llama-70b",
                    "model": "llama-3.3-70b-instruct",
                    "backend": {"type": "llamastack", "discoveryLabels": LLAMA_STACK_LABELS},
                },
                {
                    "name": "deepseek",
                    "model": "deepseek-r1-distill-qwen-7b",
                    "backend": {
                        "type": "service",
                        "service": {"name": "vllm-deepseek", "port": 8000},
                    },
                },
            ],
        },
    }


def test_backends_come_from_an_inference_service_llama_stack_labels_and_a_service(
    kubectl: Kubectl, operator: object, namespace: str, kserve: set[str]
) -> None:
    assert "InferenceService" in kserve
    kubectl.apply(inference_service(namespace))
    kubectl.apply(backend_service("llama-stack-70b", namespace, LLAMA_STACK_LABELS, port=8321))
    kubectl.apply(backend_service("vllm-deepseek", namespace))
    kubectl.apply(router(namespace))
    try:
        status = wait_running(kubectl, NAME, namespace)
        assert condition(status, "BackendsResolved").get("status") == "True"
        backends = {b["name"]: b for b in status["backends"]}
        assert set(backends) == {"llama3-8b", "llama-70b", "deepseek"}
        text = json.dumps(backends)
        assert f"{ISVC}-predictor.{namespace}.svc.cluster.local" in text
        assert f"llama-stack-70b.{namespace}.svc.cluster.local" in text
        assert f"vllm-deepseek.{namespace}.svc.cluster.local" in text
        configmaps = kubectl.json(
            "get", "configmaps", "-n", namespace, "-l", f"app.kubernetes.io/instance={NAME}"
        )["items"]
        rendered = yaml.safe_dump([c.get("data") for c in configmaps])
        for host in (f"{ISVC}-predictor", "llama-stack-70b", "vllm-deepseek"):
            assert f"{host}.{namespace}.svc.cluster.local" in rendered, host
    finally:
        kubectl.run("delete", KIND, NAME, "-n", namespace, "--wait=false", check=False)
        wait_removed(kubectl, NAME, namespace)
