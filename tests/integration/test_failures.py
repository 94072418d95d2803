"""helm failures (transient and permanent) and drift repaired by the timer."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from semantic_router_operator.release import ReleaseError

from tests.integration.conftest import Env

SPEC: dict[str, Any] = {
    "persistence": {"enabled": False},
    "vllmEndpoints": [
        {
            "name": "qwen",
            "model": "qwen2.5-7b",
            "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
        }
    ],
}


def unreachable() -> ReleaseError:
    return ReleaseError(
        "upgrade",
        "my-router",
        "default",
        reason="ClusterUnreachable",
        transient=True,
        detail="Kubernetes cluster unreachable: connection refused",
    )


def render_failed() -> ReleaseError:
    return ReleaseError(
        "upgrade",
        "my-router",
        "default",
        reason="RenderFailed",
        transient=False,
        detail="execution error at (semantic-router/templates/configmap.yaml:5:4): bad value",
    )


async def add_backend(env: Env) -> None:
    await env.client.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "vllm-qwen", "namespace": "default"},
            "spec": {"ports": [{"port": 8000}]},
        }
    )


async def test_transient_helm_failure_sets_release_failed_and_is_retried_with_backoff(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        env.releases.fail_next(unreachable())
    await add_backend(env)
    await env.create_router("my-router", SPEC)

    failed = await env.wait_condition("my-router", "ReleaseFailed", "True", "ClusterUnreachable")
    assert "Kubernetes cluster unreachable" in failed["message"]
    assert (await env.status("my-router"))["phase"] == "Failed"

    await env.wait_runs(4)
    assert [run.ok for run in env.releases.runs] == [False, False, False, True]
    await env.wait_condition("my-router", "ReleaseFailed", "False", "ReleaseDeployed")
    retries = [m for m in caplog.messages if m.startswith("helm failed (transient)")]
    assert retries == [
        "helm failed (transient), retrying in 0.2s",
        "helm failed (transient), retrying in 0.4s",
        "helm failed (transient), retrying in 0.8s",
    ]
    assert await env.wait_events("ReleaseFailed")
    assert await env.wait_events("Installed")
    await env.wait_timer(2)
    assert len(env.releases.runs) == 4
    env.report("transient helm failure")


async def test_permanent_helm_failure_is_not_retried_until_the_spec_changes(env: Env) -> None:
    env.releases.fail_next(render_failed())
    await add_backend(env)
    await env.create_router("my-router", SPEC)
    failed = await env.wait_condition("my-router", "ReleaseFailed", "True", "RenderFailed")
    assert "execution error" in failed["message"]
    await env.wait_timer(3)
    assert len(env.releases.runs) == 1
    assert len(await env.wait_events("ReleaseFailed")) == 1
    still = await env.condition("my-router", "ReleaseFailed")
    assert (still["status"], still["reason"]) == ("True", "RenderFailed")
    assert (await env.status("my-router"))["phase"] == "Failed"

    await env.patch_spec("my-router", {"replicas": 2})
    await env.wait_runs(2)
    assert env.releases.runs[1].ok is True
    await env.wait_condition("my-router", "ReleaseFailed", "False", "ReleaseDeployed")
    env.report("permanent helm failure")


async def test_release_removed_behind_the_operators_back_is_reinstalled_by_the_timer(
    env: Env,
) -> None:
    await add_backend(env)
    await env.create_router("my-router", SPEC)
    await env.wait_runs(1)
    await env.wait_timer(1)
    await env.releases.forget("my-router", "default")

    await env.wait_runs(2)
    assert env.releases.runs[1].action == "install"
    assert env.releases.runs[1].digest == env.releases.runs[0].digest
    await env.wait_timer(2)
    assert len(env.releases.runs) == 2
    env.report("drift repair")


async def test_kubernetes_api_trouble_sets_a_condition_and_is_retried(env: Env) -> None:
    await add_backend(env)
    env.cluster.failing.add("services")
    await env.create_router("my-router", SPEC)
    ready = await env.wait_condition("my-router", "Ready", "False", "KubernetesApiError")
    assert "HTTP 500" in ready["message"]
    assert (await env.status("my-router"))["phase"] == "Pending"
    assert await env.wait_events("KubernetesApiError")
    assert env.releases.runs == []

    env.cluster.failing.discard("services")
    await env.wait_runs(1)
    await env.wait_condition("my-router", "ReleaseFailed", "False", "ReleaseDeployed")
    env.report("kubernetes api trouble")


async def test_api_trouble_on_a_serving_router_reports_it_degraded_with_its_last_counts(
    env: Env,
) -> None:
    """While the API is in trouble the Deployment is not read: the status keeps the counts it
    last reported, so a serving router is Degraded, not reported down."""
    await add_backend(env)
    await env.create_router("my-router", SPEC)
    await env.wait_runs(1)
    await env.make_ready("my-router")
    await env.wait_phase("my-router", "Running")
    serving = await env.status("my-router")

    env.cluster.failing.add("services")
    await env.patch_spec("my-router", {"replicas": 2})
    await env.wait_condition("my-router", "Ready", "False", "KubernetesApiError")
    status = await env.status("my-router")
    assert status["phase"] == "Degraded"
    assert (status["replicas"], status["readyReplicas"]) == (
        serving["replicas"],
        serving["readyReplicas"],
    )
    available = await env.condition("my-router", "Available")
    assert available["status"] == "True"

    env.cluster.failing.discard("services")
    await env.wait_runs(2)
    await env.make_ready("my-router")
    await env.wait_phase("my-router", "Running")
    env.report("api trouble while serving")
