"""The Kubernetes API answers 500, 409 and 429: every SemanticRouter still converges to
its last spec, and no status update is lost."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from kmock._internal import enums, rendering

from tests.reliability.faults import Rule, discovery_reads, router_watches, status_patches
from tests.reliability.harness import Env, measure, spec

pytestmark = pytest.mark.timeout(180)

ROUTERS = [f"router-{i:02d}" for i in range(8)]
EDITS = (1, 2, 3, 4)


def router_writes(request: rendering.Request) -> bool:
    """kopf's writes to the SemanticRouter itself (finalizer, last-handled spec digest)."""
    return (
        request.resource is not None
        and request.resource.plural == "semanticrouters"
        and request.action == enums.action.UPDATE
        and request.subresource is None
    )


def kopf_retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("failed; will retry" in m for m in caplog.messages)


async def all_converged(env: Env, names: list[str], last: dict[str, Any]) -> bool:
    return all([await env.converged(name, last) for name in names])


async def test_every_router_converges_to_its_last_spec_while_the_api_fails_status_reads_and_watches(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await env.service("vllm-qwen")
    rules = [
        env.cluster.inject(Rule("status patches", status_patches, probability=0.35, seed=1)),
        env.cluster.inject(
            Rule("discovery reads", discovery_reads, statuses=(500, 429), probability=0.25, seed=2)
        ),
        env.cluster.inject(
            Rule(
                "router watches",
                router_watches,
                statuses=(500, 429),
                probability=1.0,
                max_in_a_row=3,
                budget=4,
            )
        ),
    ]
    start = time.monotonic()
    await asyncio.gather(*(env.create_router(name, spec(EDITS[0])) for name in ROUTERS))
    for replicas in EDITS[1:]:
        await asyncio.sleep(0.2)
        await asyncio.gather(*(env.patch_spec(name, spec(replicas)) for name in ROUTERS))
    last = spec(EDITS[-1])

    # Converged while the faults go on: each status reports its generation, deployed at
    # the digest of the last spec, which helm's storage holds deployed.
    await env.wait(
        lambda: all_converged(env, ROUTERS, last),
        "every router at its last spec",
        explain=lambda: env.explain(ROUTERS, last),
    )
    converged_after = time.monotonic() - start
    faults = env.cluster.faults()
    for rule in rules:
        assert rule.total > 0, f"no fault was injected on {rule.name}"
    assert set(faults["status patches"]) == {500, 409, 429}

    # Healed: the status stays right, the timer finds nothing to apply again.
    env.cluster.heal()
    runs = len(env.store.runs_of())
    await env.wait_timer(2, routers=len(ROUTERS))
    assert await all_converged(env, ROUTERS, last)
    assert len(env.store.runs_of()) == runs
    assert env.store.overlaps == []
    assert [r for r in env.store.runs_of() if r.redundant] == []
    assert all(r.ok for r in env.store.runs_of())
    for name in ROUTERS:
        assert (await env.status(name))["replicas"] == 0  # no pods in the emulator
        [deployment] = [
            m for m in env.store.manifests("default", name) if m["kind"] == "Deployment"
        ]
        assert deployment["spec"]["replicas"] == EDITS[-1]
    measure(
        "API faults",
        routers=len(ROUTERS),
        edits_each=len(EDITS),
        faults=faults,
        kopf_request_retries=kopf_retries(caplog),
        handler_retries=sum("retrying in" in m for m in caplog.messages),
        reconciles=env.operator.reconciles(),
        helm_upgrades=len(env.store.runs_of("upgrade")),
        converged_s=round(converged_after, 1),
    )


async def test_a_lost_write_of_the_handled_spec_is_noticed_by_the_timer_and_the_status_catches_up(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await env.service("vllm-qwen")
    await env.create_router("my-router", spec(1))
    await env.wait(lambda: env.converged("my-router", spec(1)), "the first release")

    # More 500s in a row than kopf retries a write: its record of the handled spec is
    # lost, and no further event would ever come for this object.
    env.cluster.inject(
        Rule(
            "router writes",
            router_writes,
            statuses=(500,),
            probability=1.0,
            max_in_a_row=7,
            budget=7,
        )
    )
    start = time.monotonic()
    await env.patch_spec("my-router", spec(2))
    await env.wait(lambda: env.converged("my-router", spec(2)), "the edited spec")
    took = time.monotonic() - start

    assert env.cluster.faults()["router writes"] == {500: 7}
    assert any("waking the change handlers" in m for m in caplog.messages)
    assert [r.redundant for r in env.store.runs_of("upgrade")] == [False, False]
    measure(
        "lost handled-state write",
        faults=env.cluster.faults(),
        kopf_request_retries=kopf_retries(caplog),
        helm_upgrades=len(env.store.runs_of("upgrade")),
        converged_s=round(took, 1),
    )


async def test_a_429_on_a_discovery_read_is_retried_no_sooner_than_its_retry_after(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await env.service("vllm-qwen")
    env.cluster.inject(
        Rule(
            "service reads",
            lambda r: r.resource is not None and r.resource.plural == "services",
            statuses=(429,),
            probability=1.0,
            retry_after=2,
            budget=1,
        )
    )
    start = time.monotonic()
    await env.create_router("my-router", spec(1))
    await env.wait(lambda: env.converged("my-router", spec(1)), "the release")
    assert "Kubernetes API trouble, retrying in 2s" in caplog.messages
    assert [e["reason"] for e in await env.wait_events("KubernetesApiError")] == [
        "KubernetesApiError"
    ]
    measure(
        "429 on discovery",
        faults=env.cluster.faults(),
        helm_upgrades=len(env.store.runs_of("upgrade")),
        converged_s=round(time.monotonic() - start, 1),
    )
