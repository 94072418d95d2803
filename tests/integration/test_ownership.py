"""Releases the operator did not install are never upgraded nor uninstalled; a release of
this chart installed by hand is adopted only when the router asks for it; two routers
whose objects would share a name are told apart before helm runs.

A foreign release is seeded as ``helm install`` leaves it: helm's release Secret (labels
``owner=helm, name, status, version``, none of the operator's) and its objects.
"""

from __future__ import annotations

from typing import Any

from semantic_router_operator.handlers import ADOPT_ANNOTATION
from semantic_router_operator.release import OWNER_LABEL

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
ROUTERS = "vllm.ai/v1alpha1/semanticrouters"
SECRETS = "v1/secrets"
REDIS_DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "redis", "namespace": "default", "labels": {"app": "redis"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "redis"}},
        "template": {
            "metadata": {"labels": {"app": "redis"}},
            "spec": {"containers": [{"name": "redis", "image": "redis:7"}]},
        },
    },
}


async def add_backend(env: Env) -> None:
    await env.client.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "vllm-qwen", "namespace": "default"},
            "spec": {"ports": [{"port": 8000}]},
        }
    )


async def release_labels(env: Env, name: str, revision: int = 1) -> dict[str, str]:
    secret = await env.client.get(SECRETS, "default", f"sh.helm.release.v1.{name}.v{revision}")
    assert secret is not None
    return dict(secret["metadata"]["labels"])


async def delete_router(env: Env, name: str) -> None:
    await env.client.delete(ROUTERS, "default", name)

    async def gone() -> bool:
        return await env.router(name) is None

    await env.wait(gone, f"the SemanticRouter {name} to be deleted")


async def test_a_router_named_like_another_charts_release_never_touches_it(env: Env) -> None:
    await add_backend(env)
    await env.releases.seed("redis", "default", chart="redis", manifests=[REDIS_DEPLOYMENT])
    await env.create_router("redis", SPEC)

    taken = await env.wait_condition("redis", "ReleaseFailed", "True", "ReleaseNameTaken")
    assert "release default/redis (chart redis)" in taken["message"]
    assert "nothing was changed" in taken["message"]
    assert "next try in" in taken["message"]
    assert (await env.status("redis"))["phase"] == "Failed"
    [event] = await env.wait_events("ReleaseNameTaken")
    assert event["type"] == "Warning"
    assert "(chart redis)" in event["message"]
    assert env.releases.runs == []

    await delete_router(env, "redis")
    assert env.releases.runs == []
    assert env.releases.releases[("default", "redis")].chart == "redis"
    deployment = await env.client.get("apps/v1/deployments", "default", "redis")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "redis:7"
    assert await env.wait_events("ReleaseNotOwned")
    env.report("foreign release")


async def test_the_router_converges_once_the_foreign_release_is_gone(env: Env) -> None:
    await add_backend(env)
    await env.releases.seed("redis", "default", chart="redis")
    await env.create_router("redis", SPEC)
    await env.wait_condition("redis", "ReleaseFailed", "True", "ReleaseNameTaken")

    await env.releases.forget("redis", "default")
    await env.wait_runs(1)
    assert [r.action for r in env.releases.runs] == ["install"]
    await env.wait_condition("redis", "ReleaseFailed", "False", "ReleaseDeployed")
    env.report("foreign release removed")


async def test_this_chart_installed_by_hand_is_adopted_only_with_the_annotation(
    env: Env,
) -> None:
    await add_backend(env)
    await env.releases.seed("my-router", "default", chart="semantic-router")
    await env.create_router("my-router", SPEC)
    taken = await env.wait_condition("my-router", "ReleaseFailed", "True", "ReleaseNameTaken")
    assert "installed without the operator" in taken["message"]
    assert env.releases.runs == []

    await env.client.patch(
        ROUTERS,
        "default",
        "my-router",
        {"metadata": {"annotations": {ADOPT_ANNOTATION: "true"}}},
    )
    # An annotation is no spec change: the retry after the backoff picks it up.
    await env.wait_runs(1)
    assert [r.action for r in env.releases.runs] == ["upgrade"]
    await env.wait_condition("my-router", "ReleaseFailed", "False", "ReleaseDeployed")
    router = await env.router("my-router")
    labels = await release_labels(env, "my-router", revision=2)
    assert labels[OWNER_LABEL] == router["metadata"]["uid"]

    await delete_router(env, "my-router")
    assert [r.action for r in env.releases.runs] == ["upgrade", "uninstall"]
    env.report("adopted release")


async def test_a_release_the_operator_installed_is_labelled_with_its_routers_uid(
    env: Env,
) -> None:
    await add_backend(env)
    created = await env.create_router("my-router", SPEC)
    await env.wait_condition("my-router", "ReleaseFailed", "False", "ReleaseDeployed")
    labels = await release_labels(env, "my-router")
    assert labels[OWNER_LABEL] == created["metadata"]["uid"]
    await delete_router(env, "my-router")
    assert [r.action for r in env.releases.runs] == ["install", "uninstall"]


async def test_a_new_router_does_not_take_a_release_another_router_left_behind(
    env: Env,
) -> None:
    await add_backend(env)
    await env.releases.seed(
        "my-router", "default", chart="semantic-router", labels={OWNER_LABEL: "old-uid"}
    )
    await env.create_router("my-router", SPEC)
    taken = await env.wait_condition("my-router", "ReleaseFailed", "True", "ReleaseNameTaken")
    assert "another SemanticRouter (uid old-uid)" in taken["message"]
    assert env.releases.runs == []


async def test_a_router_whose_objects_would_share_a_name_is_stopped_before_helm(
    env: Env,
) -> None:
    await add_backend(env)
    await env.create_router("x", SPEC)
    await env.wait_condition("x", "ReleaseFailed", "False", "ReleaseDeployed")
    await env.create_router("x-grpc-headless", SPEC)

    clash = await env.wait_condition("x-grpc-headless", "ReleaseFailed", "True", "NameCollision")
    assert clash["message"].startswith(
        "the release would create Service x-grpc-headless, which SemanticRouter x (created "
        "earlier in default) also creates: rename this SemanticRouter"
    )
    assert "next try in" in clash["message"]
    assert await env.wait_events("NameCollision")
    assert [(r.action, r.name) for r in env.releases.runs] == [("install", "x")]
    assert (await env.condition("x", "ReleaseFailed"))["reason"] == "ReleaseDeployed"

    await delete_router(env, "x")
    await env.wait_condition("x-grpc-headless", "ReleaseFailed", "False", "ReleaseDeployed")
    assert [(r.action, r.name) for r in env.releases.runs] == [
        ("install", "x"),
        ("uninstall", "x"),
        ("install", "x-grpc-headless"),
    ]
