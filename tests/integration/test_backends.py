"""Backend discovery against objects in the cluster: KServe, Llama Stack, Services."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Env
from tests.support.cluster import KSERVE


def kserve(name: str, isvc: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"{name}-model",
        "backend": {"type": "kserve", "inferenceServiceName": isvc},
    }


def llamastack(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"{name}-model",
        "backend": {"type": "llamastack", "discoveryLabels": labels},
    }


def direct(name: str, service: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "model": f"{name}-model",
        "backend": {"type": "service", "service": {"name": service, "port": port}},
    }


def spec(*endpoints: dict[str, Any]) -> dict[str, Any]:
    return {"persistence": {"enabled": False}, "vllmEndpoints": list(endpoints)}


async def add_isvc(env: Env, name: str, namespace: str = "default") -> None:
    await env.client.create(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}}}},
        }
    )


async def add_service(
    env: Env, name: str, ports: list[dict[str, Any]], labels: dict[str, str] | None = None
) -> None:
    await env.client.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
            "spec": {"ports": ports},
        }
    )


def resolved(values: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["backend"]["resolved"] for e in values["vllmEndpoints"]}


@pytest.mark.serves(KSERVE)
async def test_backend_created_later_is_resolved_by_the_timer(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    await env.create_router("router", spec(kserve("llama3", "llama-3-8b")))
    cond = await env.wait_condition("router", "BackendsResolved", "False", "NoBackendsFound")
    assert "InferenceService default/llama-3-8b not found" in cond["message"]
    assert (await env.status("router"))["phase"] == "Pending"
    assert "Failed to discover backend llama3 (kserve)" in caplog.text
    assert "No backends found for SemanticRouter default/router" in caplog.text
    await env.wait_timer(2)
    assert env.releases.runs == []
    [event] = await env.wait_events("BackendDiscoveryFailed")
    assert event["message"].startswith("backend llama3 (kserve): InferenceService default/")

    await add_isvc(env, "llama-3-8b")
    await env.wait_runs(1)
    assert env.releases.runs[0].action == "install"
    await env.wait_condition("router", "BackendsResolved", "True", "Resolved")
    await env.wait_timer(2)
    assert len(env.releases.runs) == 1
    env.report("backend created later")


async def test_one_missing_backend_does_not_block_the_others(env: Env) -> None:
    await add_service(env, "vllm-a", [{"port": 8000}])
    await env.create_router(
        "router", spec(direct("a", "vllm-a", 8000), direct("b", "vllm-b", 8000))
    )
    await env.wait_runs(1)
    assert list(resolved(env.releases.runs[0].values)) == ["a"]
    cond = await env.wait_condition("router", "BackendsResolved", "False", "BackendDiscoveryFailed")
    assert "Service default/vllm-b not found" in cond["message"]
    await env.make_ready("router")
    await env.wait_phase("router", "Degraded")

    await add_service(env, "vllm-b", [{"port": 8000}])
    await env.wait_runs(2)
    assert env.releases.runs[1].action == "upgrade"
    assert list(resolved(env.releases.runs[1].values)) == ["a", "b"]
    await env.make_ready("router")
    await env.wait_phase("router", "Running")
    env.report("partial backends")
