"""Benchmark 6: what watching the owned objects buys: idle API requests, status latency.

Idle requests: N SemanticRouters Running and nothing changing; the operator's requests
(watch connections aside) counted at the API server over a window, per SemanticRouter,
scaled to an hour. The operator runs with its timer at `--interval`; the figure is
scaled to the timer's default interval (requests per check times checks per hour), so that
a long default can be measured in a short window.

Status latency: N Running SemanticRouters; every router Deployment made unready at once
(its status patched, as the Deployment controller would); for each router the time from
that patch until a status write reports the new phase: median and p99.

    python -m bench.watches [--sizes 100,1000] [--interval S] [--window S]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from semantic_router_operator.settings import Settings

from bench import stats
from bench.harness import Env, Fleet, OperatorProcess, emulated_cluster, quiet, wait_until
from bench.stats import Figure

SIZES = (100, 1000)
WAIT_PER_CR = 1.0


@dataclass
class IdleResult:
    size: int
    interval: float
    window: float
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def polled(self) -> int:
        """Requests of the window other than watch connections."""
        return sum(n for (verb, _), n in self.requests.items() if verb != "watch")

    def per_router_hour(self, default_interval: float) -> float:
        checks = self.window / self.interval
        return self.polled / self.size / checks * (3600.0 / default_interval)


@dataclass
class LatencyResult:
    size: int
    latencies: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]


async def _running_fleet(env: Env, size: int, interval: float) -> OperatorProcess:
    fleet = Fleet(size)
    await env.create_many(fleet.prerequisites())
    proc = OperatorProcess(env.url, timer_interval=interval)
    await proc.start()
    await env.create_many(fleet.routers())
    wait = 30.0 + WAIT_PER_CR * size
    await wait_until(lambda: env.cluster.running() == size, "Running", wait, proc)
    await quiet(env.cluster, 1.0)
    return proc


async def idle(size: int, interval: float, window: float) -> IdleResult:
    async with emulated_cluster() as env:
        proc = await _running_fleet(env, size, interval)
        env.cluster.reset_counts()
        await asyncio.sleep(window)
        result = IdleResult(size, interval, window, Counter(env.cluster.counts))
        await proc.stop()
    return result


async def status_latency(size: int, interval: float) -> LatencyResult:
    async with emulated_cluster() as env:
        proc = await _running_fleet(env, size, interval)
        members = Fleet(size).members
        start = time.monotonic()
        unready = {"status": {"readyReplicas": 0, "availableReplicas": 0}}
        await asyncio.gather(
            *(
                env.call(
                    "PATCH",
                    f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
                    unready,
                )
                for namespace, name in members
            )
        )
        changed = env.cluster.phase_changed
        await wait_until(
            lambda: all(changed.get(key, 0.0) > start for key in members),
            "every status to follow its Deployment",
            interval * 1.5 + 30.0,
            proc,
        )
        result = LatencyResult(size, [changed[key] - start for key in members])
        await proc.stop()
    return result


def _floats(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(",") if part.strip())


async def measure(
    sizes: tuple[int, ...], interval: float, window: float, latency_size: int
) -> tuple[list[IdleResult], LatencyResult]:
    idles = [await idle(size, interval, window) for size in sizes]
    latency = await status_latency(latency_size, interval)
    return idles, latency


def main() -> None:
    default = Settings().timer_interval
    parser = argparse.ArgumentParser(prog="bench.watches")
    parser.add_argument("--sizes", type=_floats, default=SIZES)
    parser.add_argument("--interval", type=float, default=default)
    parser.add_argument("--window", type=float, default=2 * default)
    parser.add_argument("--latency-size", type=int, default=100)
    args = parser.parse_args()
    idles, latency = asyncio.run(measure(args.sizes, args.interval, args.window, args.latency_size))
    for result in idles:
        print(
            f"idle N={result.size}: {result.polled} requests in {result.window:g}s at timer "
            f"interval {result.interval:g}s → "
            f"{result.per_router_hour(default):.1f} per router per hour "
            f"(default interval {default:g}s); {dict(result.requests)}"
        )
    figure = Figure(latency.latencies)
    print(
        f"status latency N={latency.size}: median {stats.seconds(latency.median)}, "
        f"p99 {stats.seconds(latency.p99)}, max {stats.seconds(figure.high)}"
    )


if __name__ == "__main__":
    main()
