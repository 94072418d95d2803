"""Run every benchmark and write docs/benchmarks.md (what `make bench` does).

    python -m bench.run [--output docs/benchmarks.md] [--quick]

--quick runs each benchmark with fewer repetitions and sizes (a smoke run; its figures
are not the published ones).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import concurrency, fleet, live, pipeline, render, stats, watches
from bench.stats import Check

DOC = stats.ROOT / "docs" / "benchmarks.md"


def section(title: str, command: str, about: str, body: str, checks: list[Check]) -> str:
    parts = [f"## {title}", about, f"Reproduce: `{command}`", body.strip()]
    if checks:
        parts.append(stats.checks_table(checks))
    return "\n\n".join(parts)


@dataclass
class Report:
    """The sections written so far and every target checked in them."""

    sections: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def add(
        self,
        title: str,
        command: str,
        about: str,
        body: str,
        checks: list[Check],
        notes: dict[str, str],
    ) -> None:
        """A section: what is measured, how to reproduce it, the figures, and for each
        missed target its note."""
        self.checks += checks
        self.sections.append(
            section(title, command, about, body + "\n\n" + misses(checks, notes), checks)
        )


def misses(checks: list[Check], notes: dict[str, str]) -> str:
    """For every missed target: why, and what would reach it."""
    lines = []
    for check in checks:
        if not check.met:
            note = next((text for key, text in notes.items() if key in check.what), "")
            lines.append(
                f"- **{check.what}** missed ({check.value}, target {check.target}). " + note
            )
    return "\n".join(lines)


FLEET_NOTES = {
    "per-CR cost": (
        "Compare the operator's CPU time per CR (the cost the operator controls) between "
        "the sizes: the wall time per CR also holds the emulated API server's work, on the "
        "same two cores, and anything else the machine runs meanwhile. Running the emulator "
        "on its own machine or core, and more runs, would narrow the wall-time spread."
    ),
    "peak RSS": (
        "kopf keeps a copy of every watched object and a task per object for the drift "
        "timer; a smaller spec (no inline toolsDb) or kopf's per-object memory would have "
        "to shrink."
    ),
    "API requests per CR": (
        "Each reconcile reads every backend (one request per vllmEndpoints entry), the "
        "release Secrets' labels and the Deployment; a spec with more backends reads more."
    ),
}
CONCURRENCY_NOTES = {
    "efficiency": (
        "The operator is one Python process: every reconcile's own work (parsing, values, "
        "status, kopf's patches) is serial, and it competes with the emulated API server "
        "for the two cores; with a release step of a few seconds, as real helm upgrades "
        "take, that serial part weighs less."
    ),
}
PIPELINE_NOTES = {
    "pipeline": "The router config translation (routerconfig) dominates for large configs.",
}
RENDER_NOTES = {
    "everything-enabled": (
        "The chart's helpers (router config merge, Envoy config) run for every render; "
        "moving the Envoy config to a file rendered once would cut the template time."
    ),
}

WATCH_NOTES = {
    "idle API requests": (
        "Each safety-net check reads the backends, the release Secrets' labels and the "
        "Deployment; a longer SR_OPERATOR_TIMER_INTERVAL makes fewer checks."
    ),
    "status latency": (
        "The status refresh of a watched change runs the router's reconcile (its reads and "
        "a status write); routers whose Deployments change at once are refreshed one after "
        "the other."
    ),
    "repair latency": "A repair is a helm upgrade: its duration is helm's.",
    "failover": (
        "A killed leader's Lease must expire first (SR_OPERATOR_LEASE_DURATION); a shorter "
        "Lease fails over sooner at the price of more renewals."
    ),
}
BEFORE = """\
Today's figures, before the watches (the operator of commit 8dcc43a: a 60-second drift
timer, no watches; measured with `python -m bench.watches --sizes 100,1000 --interval 60
--window 120` of commit 2aaa2ad, whose handlers are those of 8dcc43a): at idle **180 API
requests per router per hour** at N = 100 (600 requests in 120 s: the InferenceService,
the release Secrets' labels and the Deployment read once a minute for every router) and
168 at N = 1000 (5603 in 120 s; the window caught 1.8 of the two checks of every router);
**status latency** (every Deployment made unready at once, N = 100) median 46.4 s, p99
47.4 s: the status followed at the next timer run, up to a minute later; operator peak RSS
at N = 1000 141.9 MiB (section 3 of the run of 2026-11-25). A deleted Service or a
hand-scaled Deployment was never restored: the timer compared only helm's revision."""

HISTORY = """\
These figures led to one operator change (commit "Restart reads each SemanticRouter
once"). Measured with this harness at the commit before it, a restart with nothing to do
made **7.0 API requests per SemanticRouter** at every N (the InferenceService read twice,
the StorageClasses listed twice, the Deployment read twice, the release Secrets listed
once) and took 4.5 s to check 1000 SemanticRouters: kopf's drift timer fired at once for
every object, beside the resume reconcile that was doing the same work, and every
reconcile listed the StorageClasses even when no helm run followed. Now the timer's first
run comes one interval after an object is seen, the resume checks helm's latest revision
in its stead, and the StorageClass check runs only before a helm run (which may create
the PVC); `tests/unit/test_handlers.py` holds the behaviour."""


async def run_all(quick: bool) -> str:
    started = time.monotonic()
    report = Report()

    print("1/7 pipeline overhead", flush=True)
    pipe = await pipeline.measure(*((40, 3) if quick else (200, 10)))
    report.add(
        "1. Pipeline overhead",
        "python -m bench.pipeline",
        "Per sample CR: the operator's own work before helm (spec → models → discovery → "
        "values → digest; discovery's reads answered from memory, so that only the "
        "operator's computation is timed) against `helm template` of the very same "
        "values through the operator's helm adapter (pyhelm3 command layer, Helm 4).",
        pipe.markdown(),
        pipe.checks(),
        PIPELINE_NOTES,
    )

    print("2-3/7 restart and scale (the longest part)", flush=True)
    sizes, runs = ((10, 100), (1, 1)) if quick else (fleet.SIZES, fleet.RUNS)
    fl = await fleet.measure(sizes, runs)
    report.add(
        "2. Restart with nothing to do",
        "python -m bench.fleet",
        "N SemanticRouters (the simple sample's spec: one KServe backend, a PVC, router "
        "config and tools; ten to a namespace) are Running and the operator idle; it is "
        "stopped with SIGTERM and a new operator process started. Counted at the API "
        "server: the new process's requests until it has gone quiet, per SemanticRouter "
        "(the start-up requests, API discovery and kopf's list and watch, do not depend "
        "on N and are shown apart); helm runs from the release store; the time from the "
        "process start until its last reconcile of every object had read the object's "
        "Deployment. The check timer's interval is the default (900 s plus up to 180 s): "
        "its first run comes after the window measured here.",
        fl.restart_markdown() + "\n\n" + HISTORY,
        fl.restart_checks(),
        FLEET_NOTES,
    )
    report.add(
        "3. Scale",
        "python -m bench.fleet",
        "N new SemanticRouters (as above) created against a freshly started operator "
        "(release step of no duration; the Deployment reported ready by the release "
        "store): the time from the first create until every one reports `Running` (and "
        "that time per CR), the CPU time the operator process and the emulated API server "
        "(with the driver's creates) spent meanwhile, per CR, the operator's RSS at start "
        "and its peak (the kernel's high-water mark of the process, VmHWM / ru_maxrss), "
        "helm runs and API requests. The operator and the emulated API server share the "
        "two cores: the wall time per CR lies between the operator's CPU time per CR "
        "(both busy at once) and the sum of both CPU times (taking turns), which is why "
        "its spread is wide; the operator's CPU time per CR is the steadier measure of "
        "its own cost. Runs per size: "
        + ", ".join(f"N = {s.size}: {len(s.per_cr.samples)}" for s in fl.sizes)
        + ".",
        fl.scale_markdown(),
        fl.scale_checks(),
        FLEET_NOTES,
    )

    print("4/7 chart render", flush=True)
    rend = render.measure(5 if quick else 20)
    report.add(
        "4. Chart render",
        "python -m bench.render",
        "`helm template` of the chart with `ci/everything-values.yaml` (every optional "
        "resource on) against `bench/baseline-chart` (one ConfigMap: helm's own start-up "
        "and rendering cost), with each Helm major.",
        rend.markdown(),
        rend.checks(),
        RENDER_NOTES,
    )

    print("5/7 concurrency", flush=True)
    conc = await concurrency.measure(
        *((40, 0.25, (1, 4, 8), (1, 1, 1)) if quick else (100, 0.5, (1, 4, 8), (2, 3, 3)))
    )
    report.add(
        "5. Concurrency",
        "python -m bench.concurrency",
        f"{conc.routers} Running SemanticRouters; a fresh operator with "
        "`SR_OPERATOR_HELM_CONCURRENCY` = C and a release step of fixed duration T (the "
        "whole `helm upgrade --install`, at most C at once, as the operator's helm "
        "semaphore allows); every spec changed at once; the wall time from the first "
        "change until all report their new release revision, against the ideal "
        f"{conc.routers}·T/C. T = {conc.step:g} s is shorter than a real helm upgrade "
        "(seconds): the operator's own share of the wall time weighs more here than it "
        "would in a cluster.",
        conc.markdown(),
        conc.checks(),
        CONCURRENCY_NOTES,
    )

    print("6/7 watches: idle requests, status and repair latency (emulated API)", flush=True)
    watch = await watches.measure(
        *(((100,), 20.0, 40.0, 50, 10) if quick else ((100, 1000), 30.0, 120.0, 100, 20))
    )
    report.add(
        "6. Watches: idle requests, status and repair latency",
        "python -m bench.watches",
        "N Running SemanticRouters (as above), the operator idle: its requests counted at "
        "the API server (watch connections aside) over a window that starts once every "
        "router has been checked, per router and scaled to an hour at the default check "
        "interval (900 s plus a random 0 to 180 s: 3.6 checks an hour). The runs use a "
        "check interval of 30 s (jitter scaled alike) so that the window holds several "
        "checks of every router: requests per check times checks per hour. Then, on the "
        "emulated API: every router Deployment's status made unready at once, then ready "
        "again (a burst of N changes: each router's status is refreshed through the "
        "owned-object watches, one after the other); and Deployments deleted at once "
        "(each restored by a helm upgrade, the release store's part).",
        watch.markdown() + "\n\n" + BEFORE,
        watch.checks(),
        WATCH_NOTES,
    )

    print("7/7 real control plane: status latency and failover", flush=True)
    real = await asyncio.to_thread(live.measure, *((3, 1) if quick else (10, 3)))
    report.add(
        "7. Real control plane: status latency and failover",
        "python -m bench.live",
        "On the e2e tier's control plane (etcd, kube-apiserver, kube-controller-manager, "
        "kube-scheduler, kwok), the operator as its own process under its "
        "ServiceAccount's token. Status latency: routers created one after the other; "
        "`kubectl get --watch` streams of the router's Deployment and of the "
        "SemanticRouter, timestamped as events arrive: from the event in which the "
        "Deployment has all replicas ready to the one in which the router is Running "
        "and Ready. Failover: two operator processes with leader election (Lease "
        "duration 10 s, the default); once the router is Running the leader is killed "
        "(SIGKILL, as a lost node) and the router's spec changed at once: the time until "
        "the other holds the Lease, and until it has applied the change (helm upgrade "
        "included).",
        real.markdown(),
        real.checks(),
        WATCH_NOTES,
    )

    took = time.monotonic() - started
    today = datetime.date.today().isoformat()
    header = "\n\n".join(
        [
            "# Benchmarks",
            f"Generated by `make bench` (`python -m bench.run`) on {today}; the whole run took "
            f"{took / 60:.1f} minutes. Do not edit by hand: run it again. Benchmarks are not "
            "tests: nothing asserts on these figures; the tests prove the behaviour they rest "
            "on (no helm run on restart, one reconcile's reads, concurrency limits).",
            "Every figure is the median over repeated runs, with its spread: the range "
            f"(min{stats.EN_DASH}max), or the interquartile range (IQR) where there are many runs.",
            "## Summary",
            stats.checks_table(report.checks),
            "## The machine",
            stats.table(["", ""], stats.machine()),
            "## How the benchmarks run",
            "- The Kubernetes API is the emulator of the integration tests (kmock's "
            "KubernetesEmulator with the project's fixes, `tests/support/cluster.py`), "
            "served over HTTP from the benchmark process; `bench/emulator.py` indexes its "
            "lookups (kmock scans every object and every past request on each request, which "
            "would make the emulator the thing measured) and counts the operator's requests, "
            "told apart from the driver's and the release store's by their User-Agent.\n"
            "- The operator runs as its own process (`bench/operator_proc.py`): the real "
            "handlers under kopf, logging as `semantic-router-operator run` does, so that its "
            "memory is its own.\n"
            "- The release step: real `helm template` through the operator's helm adapter "
            "where no cluster is needed (benchmarks 1 and 4); where a cluster would be, a "
            "release store whose apply takes a set time and writes what helm leaves behind "
            "(the release Secret, the Deployment) into the emulated API "
            "(`bench/store.py`).",
            *report.sections,
        ]
    )
    return header + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.run")
    parser.add_argument("--output", type=Path, default=DOC)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    args = parser.parse_args()
    text = asyncio.run(run_all(args.quick))
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
