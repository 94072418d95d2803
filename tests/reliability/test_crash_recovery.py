"""helm killed mid-upgrade, the operator restarted mid-reconcile, a SemanticRouter deleted
while its install runs: releases are recovered, nothing stays locked, nothing is left."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.reliability.harness import Env, measure, spec
from tests.reliability.store import Hold
from tests.support.helmstorage import secret_name

# A pending revision counts as abandoned once it is older than helm's deadline
# (--timeout + grace): 4s here instead of the operator's default 330s.
pytestmark = [pytest.mark.timeout(120), pytest.mark.release(timeout_seconds=1, grace_seconds=3)]


async def reached(hold: Hold) -> None:
    assert await asyncio.to_thread(hold.reached.wait, 30), "the held upgrade never started"


async def gone(env: Env, name: str) -> bool:
    return await env.router(name) is None


async def helm_secrets(env: Env, name: str, revisions: range) -> list[str]:
    found = []
    for revision in revisions:
        if await env.client.get("v1/secrets", "default", secret_name(name, revision)):
            found.append(secret_name(name, revision))
    return found


async def test_helm_killed_mid_upgrade_then_an_operator_restart_recovers_the_release_and_converges(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await env.service("vllm-qwen")
    await env.create_router("my-router", spec(1))
    await env.wait(lambda: env.converged("my-router", spec(1)), "the first release")

    # The upgrade to spec(2) is under way when the operator's pod dies: helm with it.
    hold = env.store.hold("default", "my-router")
    await env.patch_spec("my-router", spec(2))
    await reached(hold)
    await env.stop()
    assert (env.store.latest("default", "my-router") or {}).get("status") == "pending-upgrade"
    [killed] = [r for r in env.store.runs_of("upgrade") if r.ok is None]
    pending = await env.client.get("v1/secrets", "default", secret_name("my-router", 2))
    assert pending["metadata"]["labels"]["status"] == "pending-upgrade"

    # Someone edits the router while no operator runs; then the operator comes back.
    await env.patch_spec("my-router", spec(3))
    restarted = time.monotonic()
    await env.start()
    await env.wait(
        lambda: env.converged("my-router", spec(3)),
        "the last spec after the restart",
        explain=lambda: env.explain(["my-router"], spec(3)),
    )
    took = time.monotonic() - restarted

    statuses = [r["status"] for r in env.store.revisions("default", "my-router")]
    assert statuses[-1] == "deployed"
    assert "pending-upgrade" not in statuses
    assert "release default/my-router is stuck in pending-upgrade; rolling back to revision 1" in (
        caplog.messages
    )
    assert [r.command for r in env.store.runs_of("rollback")] == ["rollback"]
    assert env.store.overlaps == []
    assert [r for r in env.store.runs_of() if r.redundant] == []
    busy = sum(m.startswith("helm failed (transient)") for m in caplog.messages)
    measure(
        "helm killed mid-upgrade + restart",
        killed_digest=killed.digest[:15],
        in_progress_retries=busy,
        helm_runs=[r.command for r in env.store.runs_of()],
        revisions=statuses,
        converged_after_restart_s=round(took, 1),
    )


async def test_an_operator_restart_mid_reconcile_applies_the_spec_once(env: Env) -> None:
    await env.service("vllm-qwen")
    hold = env.store.hold("default", "my-router")
    await env.create_router("my-router", spec(1))
    await reached(hold)
    await env.stop()
    assert (env.store.latest("default", "my-router") or {}).get("status") == "pending-install"

    await env.start()
    await env.wait(lambda: env.converged("my-router", spec(1)), "the release after the restart")
    # The abandoned install never deployed: it is removed, then installed afresh.
    assert [r.command for r in env.store.runs_of()] == ["upgrade", "uninstall", "upgrade"]
    assert [r["status"] for r in env.store.revisions("default", "my-router")] == ["deployed"]
    assert env.store.overlaps == []
    measure("restart mid-install", helm_runs=[r.command for r in env.store.runs_of()])


async def test_a_router_deleted_while_its_install_runs_leaves_no_release_and_no_finalizer(
    env: Env,
) -> None:
    await env.service("vllm-qwen")
    hold = env.store.hold("default", "my-router")
    await env.create_router("my-router", spec(1))
    await reached(hold)
    await env.delete_router("my-router")
    deleting = await env.router("my-router")
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["finalizers"] == ["vllm.ai/semantic-router-operator"]

    hold.released.set()
    took = await env.wait(lambda: gone(env, "my-router"), "the router to be gone")
    assert env.store.release_names() == []
    assert [r.command for r in env.store.runs_of()] == ["upgrade", "uninstall"]
    assert await helm_secrets(env, "my-router", range(1, 3)) == []
    assert await env.client.get("apps/v1/deployments", "default", "my-router") is None
    assert env.store.overlaps == []
    measure("delete during install", helm_runs=len(env.store.runs_of()), gone_s=round(took, 1))


async def test_a_router_deleted_while_the_operator_is_down_mid_install_is_uninstalled_on_restart(
    env: Env,
) -> None:
    await env.service("vllm-qwen")
    hold = env.store.hold("default", "my-router")
    await env.create_router("my-router", spec(1))
    await reached(hold)
    await env.stop()
    await env.delete_router("my-router")

    await env.start()
    await env.wait(lambda: gone(env, "my-router"), "the router to be gone")
    assert env.store.release_names() == []
    assert await helm_secrets(env, "my-router", range(1, 3)) == []
    assert [r.command for r in env.store.runs_of()] == ["upgrade", "uninstall"]
