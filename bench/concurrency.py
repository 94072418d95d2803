"""Benchmark 5: 100 changed SemanticRouters, a release step of fixed duration T.

The fleet is created and Running first; then, for each helm concurrency C, a fresh
operator process (`SR_OPERATOR_HELM_CONCURRENCY=C`, each release step taking T) is
started, every spec is changed at once, and the wall time until all 100 report their
new release revision is compared with the ideal 100·T/C (efficiency = ideal / wall).

    python -m bench.concurrency [--step 0.5] [--routers 100] [--levels 1,4,8] [--runs 2,3,3]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import functools
import time
from dataclasses import dataclass, field

from bench import stats
from bench.emulator import BenchCluster
from bench.harness import Env, Fleet, OperatorProcess, emulated_cluster, quiet, wait_until
from bench.stats import Check, Figure

ROUTERS = 100
STEP = 0.5
LEVELS = (1, 4, 8)
RUNS = (2, 3, 3)
TARGET = 0.80


@dataclass
class LevelResult:
    concurrency: int
    wall: Figure = field(default_factory=Figure)
    efficiency: Figure = field(default_factory=Figure)
    helm_runs: Figure = field(default_factory=Figure)


@dataclass
class Result:
    routers: int
    step: float
    levels: list[LevelResult]

    def ideal(self, concurrency: int) -> float:
        return self.routers * self.step / concurrency

    def checks(self) -> list[Check]:
        return [
            Check(
                f"efficiency at concurrency {level.concurrency}",
                level.efficiency.show(stats.percent),
                f"≥ {TARGET:.0%}",
                level.efficiency.median >= TARGET,
            )
            for level in self.levels
            if level.concurrency > 1
        ]

    def markdown(self) -> str:
        rows = [
            [
                str(level.concurrency),
                stats.seconds(self.ideal(level.concurrency)),
                level.wall.show(stats.seconds),
                level.efficiency.show(stats.percent),
                level.helm_runs.show(stats.count),
            ]
            for level in self.levels
        ]
        return "\n\n".join(
            [
                stats.table(
                    [
                        "concurrency C",
                        f"ideal {self.routers}·T/C",
                        "wall time",
                        "efficiency",
                        "helm runs",
                    ],
                    rows,
                ),
                f"{self.routers} SemanticRouters, release step T = {self.step:g} s.",
            ]
        )


def upgraded(cluster: BenchCluster, revision: int, routers: int) -> bool:
    return cluster.at_revision(revision) == routers


async def change_all(env: Env, fleet: Fleet, replicas: int) -> None:
    spec = fleet.routers()[0]["spec"]
    changed = {**copy.deepcopy(spec), "replicas": replicas}
    gate = asyncio.Semaphore(16)

    async def one(namespace: str, name: str) -> None:
        async with gate:
            await env.patch_spec(name, changed, namespace)

    await asyncio.gather(*(one(namespace, name) for namespace, name in fleet.members))


async def measure(
    routers: int = ROUTERS,
    step: float = STEP,
    levels: tuple[int, ...] = LEVELS,
    runs: tuple[int, ...] = RUNS,
) -> Result:
    fleet = Fleet(routers)
    wait = 60.0 + 2 * routers * step
    results = []
    async with emulated_cluster() as env:
        cluster = env.cluster
        await env.create_many(fleet.prerequisites())
        first = OperatorProcess(env.url, timer_interval=3600.0)
        await first.start()
        await env.create_many(fleet.routers())
        await wait_until(lambda: cluster.running() == routers, "Running", wait, first)
        await first.stop()
        revision = 1
        for concurrency, repeat in zip(levels, runs, strict=True):
            level = LevelResult(concurrency)
            for _ in range(repeat):
                proc = OperatorProcess(
                    env.url, apply_seconds=step, concurrency=concurrency, timer_interval=3600.0
                )
                await proc.start()
                cluster.reset_counts()
                await wait_until(lambda: len(cluster.checked) == routers, "resume", wait, proc)
                await quiet(cluster, 1.0)
                revision += 1
                target = revision
                start = time.monotonic()
                await change_all(env, fleet, replicas=1 + revision % 3)
                done = await wait_until(
                    functools.partial(upgraded, cluster, target, routers), "upgrades", wait, proc
                )
                report = await proc.stop()
                wall = done - start
                level.wall.add(wall)
                level.efficiency.add(routers * step / concurrency / wall)
                level.helm_runs.add(float(sum(report["helm_runs"].values())))
            results.append(level)
    return Result(routers, step, results)


def _ints(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(",") if part.strip())


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.concurrency")
    parser.add_argument("--routers", type=int, default=ROUTERS)
    parser.add_argument("--step", type=float, default=STEP)
    parser.add_argument("--levels", type=_ints, default=LEVELS)
    parser.add_argument("--runs", type=_ints, default=RUNS)
    args = parser.parse_args()
    result = asyncio.run(measure(args.routers, args.step, args.levels, args.runs))
    print(result.markdown())
    print()
    print(stats.checks_table(result.checks()))


if __name__ == "__main__":
    main()
