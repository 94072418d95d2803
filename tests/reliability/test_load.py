"""200 SemanticRouters edited concurrently, several times each: each ends at its last
spec, helm never runs twice at once on one release, never for values already deployed.

The release store renders the chart with real helm once per distinct values digest
(`render="values"`) and reuses it across releases: the edits here cycle through a few
specs, so hundreds of upgrades cost a handful of renders.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from tests.reliability.harness import Env, measure, spec

ROUTERS = [f"load-{i:03d}" for i in range(200)]
EDITS = 3

pytestmark = [
    # Bounds for liveness, not speed (the speed is measured in bench/): a loaded machine takes
    # several minutes where a quiet one takes one.
    pytest.mark.timeout(720),
    pytest.mark.store(render="values"),
    # The drift timer reads three objects per router per run: every 5s, not every 0.5s.
    pytest.mark.operator(timer_interval=5.0),
]


async def edit(env: Env, name: str, plan: list[int]) -> None:
    await env.create_router(name, spec(plan[0]))
    for replicas in plan[1:]:
        await asyncio.sleep(random.uniform(0.0, 0.5))
        await env.patch_spec(name, spec(replicas))


async def test_two_hundred_routers_edited_concurrently_each_end_at_their_last_spec(
    env: Env,
) -> None:
    rng = random.Random(7)
    plans = {name: [rng.randint(1, 4) for _ in range(EDITS + 1)] for name in ROUTERS}
    await env.service("vllm-qwen")
    start = time.monotonic()
    await asyncio.gather(*(edit(env, name, plan) for name, plan in plans.items()))
    edited = time.monotonic() - start

    async def converged() -> bool:
        results = await asyncio.gather(
            *(env.converged(name, spec(plan[-1])) for name, plan in plans.items())
        )
        return all(results)

    async def explain() -> str:
        lagging = [n for n, p in plans.items() if not await env.converged(n, spec(p[-1]))]
        return await env.explain(lagging[:5], spec(plans[lagging[0]][-1])) if lagging else ""

    await env.wait(converged, "all 200 routers at their last spec", timeout=600, explain=explain)
    took = time.monotonic() - start

    runs = env.store.runs_of("upgrade")
    assert env.store.overlaps == []
    assert [r for r in runs if r.redundant] == []
    assert all(r.ok for r in runs)
    per_release = Counter(r.name for r in runs)
    assert set(per_release) == set(ROUTERS)
    # At most one upgrade per spec a router went through (edits that arrive while a
    # reconcile runs are folded into the next one).
    assert all(per_release[name] <= len(plans[name]) for name in ROUTERS)
    deployed = {name: env.store.deployed_digest("default", name) for name in ROUTERS}
    assert len(set(deployed.values())) == len({plan[-1] for plan in plans.values()})
    measure(
        "load",
        routers=len(ROUTERS),
        spec_changes=sum(len(p) for p in plans.values()),
        helm_upgrades=len(runs),
        helm_commands=dict(env.store.commands),
        renders=env.store.renders,
        reconciles=env.operator.reconciles(),
        edits_s=round(edited, 1),
        converged_s=round(took, 1),
    )
