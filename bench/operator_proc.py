"""The operator as its own process, for benchmarks: the real handlers and kopf, logged
as `semantic-router-operator run` logs, with `TimedReleases` as the release step.

    python -m bench.operator_proc --server URL --report FILE [--apply-seconds T]
        [--concurrency C] [--timer-interval S] [--timer-jitter S]

Prints ``ready`` on stdout once kopf is up; on SIGTERM or SIGINT it stops like the
operator does and writes a JSON report (helm runs, peak RSS) to FILE. With
SR_BENCH_PROFILE=PATH set, it runs under cProfile and writes the profile to PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import sys
import threading
from pathlib import Path
from typing import Any

import kopf
from semantic_router_operator import handlers
from semantic_router_operator.cli import QuietDriftChecks
from semantic_router_operator.handlers import Operator
from semantic_router_operator.metrics import Metrics
from semantic_router_operator.settings import Settings

from bench.store import TimedReleases


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.operator_proc")
    p.add_argument("--server", required=True, help="URL of the emulated API server")
    p.add_argument("--report", required=True, type=Path, help="where to write the JSON report")
    p.add_argument("--apply-seconds", type=float, default=0.0)
    p.add_argument("--concurrency", type=int, default=Settings().helm_concurrency)
    p.add_argument("--timer-interval", type=float, default=Settings().timer_interval)
    p.add_argument("--timer-jitter", type=float, default=Settings().timer_jitter)
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        timer_interval=args.timer_interval,
        timer_jitter=args.timer_jitter,
        helm_concurrency=args.concurrency,
        metrics_port=0,
        liveness_endpoint="",
    )
    releases = TimedReleases(
        args.server,
        settings.chart_path,
        apply_seconds=args.apply_seconds,
        concurrency=args.concurrency,
    )
    operator = Operator(
        settings=settings,
        releases=releases,
        metrics=Metrics(),
        login=lambda **_: kopf.ConnectionInfo(server=args.server),
    )
    registry = kopf.OperatorRegistry()
    handlers.register(registry, operator)
    kopf_settings = kopf.OperatorSettings()
    handlers.configure(kopf_settings)
    ready = threading.Event()

    def announce() -> None:
        ready.wait()
        print("ready", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        await kopf.operator(
            registry=registry,
            settings=kopf_settings,
            clusterwide=True,
            standalone=True,
            ready_flag=ready,
        )
    finally:
        await releases.close()
    return {"helm_runs": releases.runs}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    kopf.configure(debug=False, verbose=False, log_format=kopf.LogFormat.FULL)
    logging.getLogger("kopf.objects").addFilter(QuietDriftChecks())
    profile = os.environ.get("SR_BENCH_PROFILE")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(asyncio.run, run(args))
        profiler.dump_stats(profile)
    else:
        report = asyncio.run(run(args))
    # ru_maxrss is in KiB on Linux: the peak resident set of this process.
    report["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    args.report.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
