"""Benchmark 6: watches of the owned objects: idle API requests, status and repair latency.

Idle requests: N SemanticRouters Running and nothing changing; after one check interval
(every router checked once), the operator's requests (watch connections aside) counted at
the API server over a window, per SemanticRouter,
scaled to an hour at the operator's default check interval. The operator runs with its
check interval (and jitter) shortened to `--interval` so that a window of minutes holds
several checks of every router; the figure is requests per check times the checks an hour
holds at the defaults (interval plus half the jitter, on average). Peak RSS of the
operator process is taken from the same runs.

Status latency: N Running SemanticRouters; every router Deployment's status made unready
at once (patched, as the Deployment controller would), then, once every router reports it,
ready again: for each router the time from the patch until a status write reports the new
phase (Running, for the ready transition): median and p99.

Repair latency: K of the N router Deployments deleted at once; the time until each is
created again (by a helm upgrade of the unchanged values, the release store's part).

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
from bench.emulator import Key
from bench.harness import Env, Fleet, OperatorProcess, emulated_cluster, quiet, wait_until

SIZES = (100, 1000)
WAIT_PER_CR = 1.0
DEFAULTS = Settings()


def checks_per_hour(interval: float, jitter: float) -> float:
    """Checks of one router an hour holds: one per interval plus the mean jitter."""
    return 3600.0 / (interval + jitter / 2)


@dataclass
class IdleResult:
    size: int
    interval: float
    jitter: float
    window: float
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    peak_rss_kib: float = 0.0

    @property
    def polled(self) -> int:
        """Requests of the window other than watch connections."""
        return sum(n for (verb, _), n in self.requests.items() if verb != "watch")

    def per_router_hour(self, interval: float, jitter: float) -> float:
        """At a check interval and jitter: requests per router per hour."""
        checks = self.window * checks_per_hour(self.interval, self.jitter) / 3600.0
        return self.polled / self.size / checks * checks_per_hour(interval, jitter)


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        if len(self.samples) < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=100, method="inclusive")[98]

    def show(self) -> str:
        return (
            f"median {stats.seconds(self.median)}, p99 {stats.seconds(self.p99)} "
            f"({len(self.samples)} samples)"
        )


async def _running_fleet(env: Env, size: int, interval: float, jitter: float) -> OperatorProcess:
    fleet = Fleet(size)
    await env.create_many(fleet.prerequisites())
    proc = OperatorProcess(env.url, timer_interval=interval, timer_jitter=jitter)
    await proc.start()
    await env.create_many(fleet.routers())
    wait = 30.0 + WAIT_PER_CR * size
    await wait_until(lambda: env.cluster.running() == size, "Running", wait, proc)
    await quiet(env.cluster, 1.0)
    return proc


async def idle(size: int, interval: float, jitter: float, window: float) -> IdleResult:
    async with emulated_cluster() as env:
        proc = await _running_fleet(env, size, interval, jitter)
        # Past the first checks (one interval after each router is seen): a steady state.
        await asyncio.sleep(interval + jitter)
        env.cluster.reset_counts()
        await asyncio.sleep(window)
        result = IdleResult(size, interval, jitter, window, Counter(env.cluster.counts))
        report = await proc.stop()
        result.peak_rss_kib = float(report.get("peak_rss_kib") or 0)
    return result


async def _patch_all(env: Env, members: list[Key], ready: bool) -> float:
    replicas = int(Fleet(1).routers()[0]["spec"].get("replicas") or 1) if ready else 0
    body = {"status": {"readyReplicas": replicas, "availableReplicas": replicas}}
    start = time.monotonic()
    await asyncio.gather(
        *(
            env.client.patch("apps/v1/deployments", ns, name, body, subresource="status")
            for ns, name in members
        )
    )
    return start


async def status_latency(size: int, interval: float, jitter: float) -> tuple[Latencies, Latencies]:
    """(unready → status follows, ready → status Running), per router."""
    async with emulated_cluster() as env:
        proc = await _running_fleet(env, size, interval, jitter)
        members = Fleet(size).members
        changed, phases = env.cluster.phase_changed, env.cluster.phases
        found = []
        for ready in (False, True):
            start = await _patch_all(env, members, ready)

            def followed(start: float = start, ready: bool = ready) -> bool:
                return all(changed.get(key, 0.0) > start for key in members) and all(
                    (phases.get(key) == "Running") == ready for key in members
                )

            await wait_until(
                followed,
                "every status to follow its Deployment",
                interval * 1.5 + 60.0,
                proc,
            )
            found.append(Latencies([changed[key] - start for key in members]))
        await proc.stop()
    return found[0], found[1]


async def repair_latency(size: int, deleted: int, interval: float, jitter: float) -> Latencies:
    async with emulated_cluster() as env:
        proc = await _running_fleet(env, size, interval, jitter)
        members = Fleet(size).members[:deleted]
        created = env.cluster.created
        start = time.monotonic()
        await asyncio.gather(
            *(env.client.delete("apps/v1/deployments", ns, name) for ns, name in members)
        )
        await wait_until(
            lambda: all(created.get(key, 0.0) > start for key in members),
            "every deleted Deployment to be restored",
            60.0,
            proc,
        )
        await proc.stop()
    return Latencies([created[key] - start for key in members])


# Today's figures, before the watches (see BEFORE in bench/run.py for how they were taken).
BEFORE_PER_ROUTER_HOUR = 180.0
IDLE_TARGET_FACTOR = 10.0
RSS_TARGET_MIB = 200.0
REPAIR_TARGET = 5.0


@dataclass
class Result:
    idle: list[IdleResult]
    unready: Latencies
    ready: Latencies
    repair: Latencies
    repairs: int
    latency_size: int

    def hourly(self, result: IdleResult) -> float:
        return result.per_router_hour(DEFAULTS.timer_interval, DEFAULTS.timer_jitter)

    def markdown(self) -> str:
        rows = [
            [
                str(r.size),
                f"{r.polled} in {r.window:g} s",
                f"{self.hourly(r):.1f}",
                f"{BEFORE_PER_ROUTER_HOUR / self.hourly(r):.0f}x fewer"
                if self.hourly(r)
                else "none",
                stats.mib(r.peak_rss_kib),
            ]
            for r in self.idle
        ]
        lines = [
            stats.table(
                [
                    "N",
                    "requests counted",
                    "API requests per router per hour (defaults)",
                    f"against today's {BEFORE_PER_ROUTER_HOUR:g}",
                    "operator peak RSS",
                ],
                rows,
            ),
            "Requests of the idle window at N="
            + f"{self.idle[-1].size}, by verb and resource: "
            + ", ".join(f"{v} {r} {n}" for (v, r), n in self.idle[-1].requests.most_common())
            + ".",
            stats.table(
                ["N", "what changed", "until", "median", "p99"],
                [
                    [
                        str(self.latency_size),
                        "every Deployment made unready at once",
                        "status follows",
                        stats.seconds(self.unready.median),
                        stats.seconds(self.unready.p99),
                    ],
                    [
                        str(self.latency_size),
                        "every Deployment ready again at once",
                        "status Running",
                        stats.seconds(self.ready.median),
                        stats.seconds(self.ready.p99),
                    ],
                    [
                        str(self.latency_size),
                        f"{self.repairs} Deployments deleted at once",
                        "created again by helm",
                        stats.seconds(self.repair.median),
                        stats.seconds(self.repair.p99),
                    ],
                ],
            ),
        ]
        return "\n\n".join(lines)

    def checks(self) -> list[stats.Check]:
        found = []
        for r in self.idle:
            hourly = self.hourly(r)
            factor = BEFORE_PER_ROUTER_HOUR / hourly if hourly else float("inf")
            found.append(
                stats.Check(
                    f"idle API requests per router per hour, N={r.size}",
                    f"{hourly:.1f} (today {BEFORE_PER_ROUTER_HOUR:g}: {factor:.0f}x fewer)",
                    f"at least {IDLE_TARGET_FACTOR:g}x fewer",
                    factor >= IDLE_TARGET_FACTOR,
                )
            )
        largest = max(self.idle, key=lambda r: r.size)
        found.append(
            stats.Check(
                f"operator peak RSS with the watches, N={largest.size}",
                stats.mib(largest.peak_rss_kib),
                f"≤ {RSS_TARGET_MIB:g} MiB",
                largest.peak_rss_kib / 1024 <= RSS_TARGET_MIB,
            )
        )
        found.append(
            stats.Check(
                f"repair latency, {self.repairs} objects deleted at once (p99)",
                stats.seconds(self.repair.p99),
                f"≤ {REPAIR_TARGET:g} s",
                self.repair.p99 <= REPAIR_TARGET,
            )
        )
        return found


async def measure(
    sizes: tuple[int, ...] = SIZES,
    interval: float = 30.0,
    window: float = 120.0,
    latency_size: int = 100,
    repairs: int = 20,
) -> Result:
    jitter = interval * DEFAULTS.timer_jitter / DEFAULTS.timer_interval
    idles = [await idle(size, interval, jitter, window) for size in sizes]
    unready, ready = await status_latency(latency_size, interval, jitter)
    repair = await repair_latency(latency_size, repairs, interval, jitter)
    return Result(idles, unready, ready, repair, repairs, latency_size)


def _ints(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(",") if part.strip())


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.watches")
    parser.add_argument("--sizes", type=_ints, default=SIZES)
    parser.add_argument("--interval", type=float, default=30.0, help="check interval of the runs")
    parser.add_argument("--window", type=float, default=120.0)
    parser.add_argument("--latency-size", type=int, default=100)
    parser.add_argument("--repairs", type=int, default=20)
    args = parser.parse_args()
    result = asyncio.run(
        measure(args.sizes, args.interval, args.window, args.latency_size, args.repairs)
    )
    print(result.markdown())
    print()
    print(stats.checks_table(result.checks()))


if __name__ == "__main__":
    main()
