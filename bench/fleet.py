"""Benchmarks 2 and 3: a fleet of N SemanticRouters, created, then the operator restarted.

Scale (3): N new SemanticRouters (the simple sample's spec, ten to a namespace) against
a freshly started operator: time until every one reports Running, the operator's peak
RSS, helm runs and API requests; per-CR cost and memory growth from 10 to 1000.

Restart (2): the operator stopped (SIGTERM) once the fleet is Running and quiet, and a
new operator process started: helm runs, API requests per CR and the time until it had
checked every CR (read its Deployment, the last read of a reconcile).

The operator runs in a child process (`bench.operator_proc`, the real handlers under
kopf), the API is the emulator, the release step takes no time (`TimedReleases`).

    python -m bench.fleet [--sizes 10,100,1000] [--runs 5,3,3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import stats
from bench.emulator import is_startup
from bench.harness import Fleet, OperatorProcess, emulated_cluster, quiet, wait_until
from bench.stats import Check, Figure

SIZES = (10, 100, 1000)
RUNS = (5, 7, 5)
RSS_TARGET_MIB = 200.0
FLAT_TARGET = 0.20
RESTART_REQUESTS_TARGET = 3.0
WAIT_PER_CR = 1.0  # seconds allowed per SemanticRouter before a wait is abandoned


@dataclass
class SizeResult:
    size: int
    # scale
    time_to_running: Figure = field(default_factory=Figure)
    per_cr: Figure = field(default_factory=Figure)
    operator_cpu_per_cr: Figure = field(default_factory=Figure)
    api_cpu_per_cr: Figure = field(default_factory=Figure)
    baseline_rss: Figure = field(default_factory=Figure)
    peak_rss: Figure = field(default_factory=Figure)
    helm_runs: Figure = field(default_factory=Figure)
    requests_per_cr: Figure = field(default_factory=Figure)
    startup_requests: Figure = field(default_factory=Figure)
    # restart
    restart_ready: Figure = field(default_factory=Figure)
    restart_checked: Figure = field(default_factory=Figure)
    restart_helm_runs: Figure = field(default_factory=Figure)
    restart_requests_per_cr: Figure = field(default_factory=Figure)
    restart_startup_requests: Figure = field(default_factory=Figure)
    restart_peak_rss: Figure = field(default_factory=Figure)
    # what the requests of the last run were, by (verb, resource)
    scale_breakdown: Counter[tuple[str, str]] = field(default_factory=Counter)
    restart_breakdown: Counter[tuple[str, str]] = field(default_factory=Counter)


async def one_run(size: int, result: SizeResult) -> None:
    fleet = Fleet(size)
    wait = 30.0 + WAIT_PER_CR * size
    async with emulated_cluster() as env:
        await env.create_many(fleet.prerequisites())
        cluster = env.cluster

        # Scale: N new SemanticRouters.
        proc = OperatorProcess(env.url)
        await proc.start()
        cluster.reset_counts()
        routers = fleet.routers()
        cpu, api_cpu = proc.cpu_seconds(), time.process_time()
        start = time.monotonic()
        await env.create_many(routers)
        done = await wait_until(lambda: cluster.running() == size, "Running", wait, proc)
        result.operator_cpu_per_cr.add((proc.cpu_seconds() - cpu) / size)
        result.api_cpu_per_cr.add((time.process_time() - api_cpu) / size)
        await quiet(cluster, 1.0)
        scale_requests = Counter(cluster.counts)
        report = await proc.stop()
        elapsed = done - start
        result.time_to_running.add(elapsed)
        result.per_cr.add(elapsed / size)
        result.baseline_rss.add(proc.baseline_rss_kib)
        result.peak_rss.add(float(report["peak_rss_kib"]))
        result.helm_runs.add(float(sum(report["helm_runs"].values())))
        startup = startup_requests(scale_requests)
        result.startup_requests.add(float(startup))
        result.requests_per_cr.add((sum(scale_requests.values()) - startup) / size)
        result.scale_breakdown = scale_requests

        # Restart: the same fleet, nothing to do.
        cluster.reset_counts()
        proc = OperatorProcess(env.url)
        await proc.start()
        checked = await wait_until(lambda: len(cluster.checked) == size, "checked", wait, proc)
        await quiet(cluster, 2.0)
        restart_requests = Counter(cluster.counts)
        report = await proc.stop()
        result.restart_ready.add(proc.ready_at - proc.started)
        result.restart_checked.add(checked - proc.started)
        result.restart_helm_runs.add(float(sum(report["helm_runs"].values())))
        startup = startup_requests(restart_requests)
        result.restart_startup_requests.add(float(startup))
        result.restart_requests_per_cr.add((sum(restart_requests.values()) - startup) / size)
        result.restart_peak_rss.add(float(report["peak_rss_kib"]))
        result.restart_breakdown = restart_requests


@dataclass
class Result:
    sizes: list[SizeResult]

    def size(self, n: int) -> SizeResult | None:
        return next((s for s in self.sizes if s.size == n), None)

    @property
    def largest(self) -> SizeResult:
        return max(self.sizes, key=lambda s: s.size)

    def flatness(self) -> float | None:
        """Per-CR cost at the largest size against 100 (relative change)."""
        hundred, largest = self.size(100), self.largest
        if hundred is None or largest is hundred:
            return None
        return largest.per_cr.median / hundred.per_cr.median - 1.0

    def cpu_flatness(self) -> float:
        """Operator CPU time per CR at the largest size against 100 (relative change)."""
        hundred, largest = self.size(100), self.largest
        if hundred is None:
            return float("nan")
        return largest.operator_cpu_per_cr.median / hundred.operator_cpu_per_cr.median - 1.0

    def restart_checks(self) -> list[Check]:
        checks = []
        for s in self.sizes:
            checks.append(
                Check(
                    f"restart, N={s.size}: helm runs",
                    s.restart_helm_runs.show(stats.count),
                    "0",
                    s.restart_helm_runs.high == 0,
                )
            )
            checks.append(
                Check(
                    f"restart, N={s.size}: API requests per CR",
                    s.restart_requests_per_cr.show(stats.per_cr),
                    f"≤ {RESTART_REQUESTS_TARGET:g}",
                    s.restart_requests_per_cr.median <= RESTART_REQUESTS_TARGET,
                )
            )
        return checks

    def scale_checks(self) -> list[Check]:
        largest = self.largest
        peak_mib = largest.peak_rss.median / 1024
        checks = [
            Check(
                f"scale, N={largest.size}: operator peak RSS",
                largest.peak_rss.show(stats.mib),
                f"≤ {RSS_TARGET_MIB:g} MiB",
                peak_mib <= RSS_TARGET_MIB,
            )
        ]
        flat = self.flatness()
        if flat is not None:
            checks.append(
                Check(
                    f"scale: per-CR cost, N={largest.size} against N=100",
                    f"{flat * 100:+.1f} %",
                    f"within ±{FLAT_TARGET:.0%}",
                    abs(flat) <= FLAT_TARGET,
                )
            )
        return checks

    def checks(self) -> list[Check]:
        return self.restart_checks() + self.scale_checks()

    def restart_markdown(self) -> str:
        rows = [
            [
                str(s.size),
                s.restart_helm_runs.show(stats.count),
                s.restart_requests_per_cr.show(stats.per_cr),
                s.restart_startup_requests.show(stats.count),
                s.restart_ready.show(stats.seconds),
                s.restart_checked.show(stats.seconds),
                s.restart_peak_rss.show(stats.mib),
            ]
            for s in self.sizes
        ]
        return "\n\n".join(
            [
                stats.table(
                    [
                        "N",
                        "helm runs",
                        "API requests per CR",
                        "start-up requests",
                        "start → ready",
                        "start → every CR checked",
                        "peak RSS",
                    ],
                    rows,
                ),
                f"Requests of the restart at N={self.largest.size}, by verb and resource "
                f"(last run): {breakdown(self.largest.restart_breakdown)}.",
            ]
        )

    def scale_markdown(self) -> str:
        rows = [
            [
                str(s.size),
                s.time_to_running.show(stats.seconds),
                s.per_cr.show(stats.ms),
                s.operator_cpu_per_cr.show(stats.ms),
                s.api_cpu_per_cr.show(stats.ms),
                s.baseline_rss.show(stats.mib),
                s.peak_rss.show(stats.mib),
                s.helm_runs.show(stats.count),
                s.requests_per_cr.show(stats.per_cr),
                s.startup_requests.show(stats.count),
            ]
            for s in self.sizes
        ]
        smallest, largest = min(self.sizes, key=lambda s: s.size), self.largest
        growth = largest.peak_rss.median - smallest.peak_rss.median
        per_cr_kib = growth / max(1, largest.size - smallest.size)
        flat = self.flatness()
        lines = [
            stats.table(
                [
                    "N",
                    "create → all Running",
                    "per CR",
                    "operator CPU per CR",
                    "emulated API CPU per CR",
                    "RSS at start",
                    "peak RSS",
                    "helm runs",
                    "API requests per CR",
                    "start-up requests",
                ],
                rows,
            ),
            f"Memory growth from N={smallest.size} to N={largest.size}: "
            f"{stats.mib(growth)} ({per_cr_kib:.0f} KiB per SemanticRouter).",
        ]
        if flat is not None:
            cpu = self.cpu_flatness()
            lines.append(
                f"Per-CR cost at N={largest.size} against N=100: {flat * 100:+.1f} % in wall "
                f"time, {cpu * 100:+.1f} % in operator CPU time."
            )
        lines.append(
            f"Requests of the scale run at N={largest.size}, by verb and resource (last run): "
            f"{breakdown(largest.scale_breakdown)}."
        )
        return "\n\n".join(lines)


def startup_requests(counts: Counter[tuple[str, str]]) -> int:
    return sum(n for key, n in counts.items() if is_startup(*key))


def breakdown(counts: Counter[tuple[str, str]]) -> str:
    return ", ".join(
        f"{verb} {resource.strip('/')} {n}" for (verb, resource), n in counts.most_common()
    )


async def measure(sizes: tuple[int, ...] = SIZES, runs: tuple[int, ...] = RUNS) -> Result:
    results = []
    for size, repeat in zip(sizes, runs, strict=True):
        result = SizeResult(size)
        for _ in range(repeat):
            await one_run(size, result)
        results.append(result)
    return Result(results)


def _ints(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(",") if part.strip())


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.fleet")
    parser.add_argument("--sizes", type=_ints, default=SIZES)
    parser.add_argument("--runs", type=_ints, default=RUNS)
    args = parser.parse_args()
    result = asyncio.run(measure(args.sizes, args.runs))
    print(result.restart_markdown())
    print()
    print(result.scale_markdown())
    print()
    print(stats.checks_table(result.checks()))


if __name__ == "__main__":
    main()
