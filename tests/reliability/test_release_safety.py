"""Security and reliability cases against the real helm adapter and helm's storage: a
release the operator did not install is never touched, failures the cluster can fix are
retried until they are gone, specs that would expose a credential, break the selector,
overflow a ConfigMap or share an object name never reach helm."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.harness import Env, measure

pytestmark = pytest.mark.timeout(120)

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
QUOTA = (
    'Error: INSTALLATION FAILED: deployments.apps "router" is forbidden: exceeded quota: '
    "compute, requested: requests.cpu=2, used: requests.cpu=8, limited: requests.cpu=8\n"
)


async def condition(env: Env, name: str, kind: str) -> dict[str, Any]:
    for cond in (await env.status(name)).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


async def wait_reason(env: Env, name: str, kind: str, status: str, reason: str) -> dict[str, Any]:
    async def check() -> bool:
        cond = await condition(env, name, kind)
        return (cond.get("status"), cond.get("reason")) == (status, reason)

    await env.wait(check, f"{kind}={status} ({reason}) on {name}")
    return await condition(env, name, kind)


async def test_a_foreign_release_is_neither_upgraded_nor_uninstalled(env: Env) -> None:
    await env.service("vllm-qwen")
    await env.store.seed("default", "redis", chart="redis")
    await env.create_router("redis", SPEC)
    taken = await wait_reason(env, "redis", "ReleaseFailed", "True", "ReleaseNameTaken")
    assert "(chart redis)" in taken["message"]

    await env.delete_router("redis")

    async def gone() -> bool:
        return await env.router("redis") is None

    await env.wait(gone, "the SemanticRouter to be deleted")
    assert env.store.runs_of("upgrade", "uninstall", "rollback") == []
    assert [row["chart"] for row in env.store.revisions("default", "redis")] == ["redis"]
    measure("foreign release", mutating_helm_runs=len(env.store.runs))


async def test_a_quota_exceeded_is_retried_until_it_is_raised(env: Env) -> None:
    await env.service("vllm-qwen")
    env.store.fail("upgrade", QUOTA, times=2)
    await env.create_router("router", SPEC)
    failed = await wait_reason(env, "router", "ReleaseFailed", "True", "QuotaExceeded")
    assert "exceeded quota" in failed["message"]
    assert "next try in" in failed["message"]
    await wait_reason(env, "router", "ReleaseFailed", "False", "ReleaseDeployed")
    outcomes = [run.ok for run in env.store.runs_of("upgrade")]
    assert outcomes == [False, False, True]
    measure("quota raised", upgrades=len(outcomes))


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "literal credential": (
        {
            **SPEC,
            "config": {
                "providers": {
                    "models": [{"name": "m", "extra_headers": {"Authorization": "Bearer sk-1"}}]
                }
            },
        },
        "spec.config.providers.models[0].extra_headers.Authorization",
    ),
    "URL with a password": (
        {**SPEC, "config": {"x": {"url": "https://admin:hunter2@db.example.com"}}},
        "spec.config.x.url",
    ),
    "selector label in podLabels": (
        {**SPEC, "podLabels": {"app.kubernetes.io/instance": "other"}},
        "spec.podLabels",
    ),
    "tools DB over a ConfigMap": (
        {
            **SPEC,
            "toolsDb": [
                {
                    "tool": {"type": "function", "function": {"name": f"t{i}"}},
                    "description": "x" * 4096,
                }
                # About 1.04 MB: over what the ConfigMap can take, under the API's request
                # limit (the emulator, like the API server, refuses larger bodies).
                for i in range(250)
            ],
        },
        "spec.toolsDb",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_a_spec_that_would_expose_or_break_something_never_reaches_helm(
    env: Env, case: str
) -> None:
    spec, field = REFUSED[case]
    await env.service("vllm-qwen")
    await env.create_router("router", spec)
    ready = await wait_reason(env, "router", "Ready", "False", "InvalidSpec")
    assert ready["message"].startswith(f"{field}:") or f"; {field}:" in ready["message"]
    assert await env.wait_events("InvalidSpec")
    assert env.store.runs == []


async def test_of_two_routers_sharing_an_object_name_the_newer_waits(env: Env) -> None:
    await env.service("vllm-qwen")
    await env.create_router("x", SPEC)
    await wait_reason(env, "x", "ReleaseFailed", "False", "ReleaseDeployed")
    await env.create_router("x-grpc-headless", SPEC)
    clash = await wait_reason(env, "x-grpc-headless", "ReleaseFailed", "True", "NameCollision")
    assert "SemanticRouter x (created earlier in default)" in clash["message"]
    assert [run.name for run in env.store.runs_of("upgrade")] == ["x"]

    await env.delete_router("x")
    await wait_reason(env, "x-grpc-headless", "ReleaseFailed", "False", "ReleaseDeployed")
    assert [run.name for run in env.store.runs_of("upgrade")] == ["x", "x-grpc-headless"]
