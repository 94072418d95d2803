"""Benchmark 7: on a real control plane (the e2e tier's: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok; or KUBECONFIG's cluster): status latency
and failover time.

Status latency: a SemanticRouter created; `kubectl get --watch` streams of its Deployment
and of the SemanticRouter, timestamped as each event arrives: the time from the event
in which the Deployment has all its replicas ready to the one in which the router's
status says Running with Ready True. Several routers, one after the other.

Failover: two operator processes with leader election (Lease duration 10 s, the default);
the leader killed (SIGKILL, as a node loss would); the time from the kill until the other
holds the Lease, and until it has applied a spec change made at the kill.

The operator runs as the e2e tier runs it: its own process, under its ServiceAccount's
token and config/default's RBAC.

    python -m bench.live [--routers 5] [--failovers 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import stats
from bench.stats import Figure
from scripts import deploy_manifests
from tests.support import live as e2e
from tests.support.kubectl import Kubectl, find_cluster, wait_for
from tests.support.routers import (
    BACKEND_SERVICE,
    KIND,
    backend_service,
    simple_router,
    status_of,
    wait_running,
)

LEADS = "holds the Lease; reconciling"


class Stream:
    """`kubectl get --watch -o json` of one object (its collection, by name, so that it may
    not exist yet): every version, timestamped on arrival."""

    def __init__(self, kubectl: Kubectl, kind: str, name: str, namespace: str) -> None:
        self.events: list[tuple[float, dict[str, Any]]] = []
        command = [kubectl.binary, "get", kind, "-n", namespace, "--watch", "-o", "json"]
        command += ["--field-selector", f"metadata.name={name}"]
        self.proc = subprocess.Popen(
            command,
            env=kubectl.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        decoder, buffer = json.JSONDecoder(), ""
        for line in self.proc.stdout:
            buffer += line
            with contextlib.suppress(json.JSONDecodeError):
                obj, end = decoder.raw_decode(buffer.strip())
                self.events.append((time.monotonic(), obj))
                buffer = buffer.strip()[end:]

    def first(self, test: Any) -> float | None:
        return next((at for at, obj in list(self.events) if test(obj)), None)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def deployment_ready(obj: dict[str, Any]) -> bool:
    want = int((obj.get("spec") or {}).get("replicas") or 1)
    status = obj.get("status") or {}
    return (
        int(status.get("readyReplicas") or 0) >= want
        and int(status.get("updatedReplicas") or 0) >= want
    )


def router_ready(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return ready and status.get("phase") == "Running"


@contextlib.contextmanager
def operator_credentials(kubectl: Kubectl, workdir: Path) -> Iterator[Kubectl]:
    """config/default's RBAC applied and the CRD installed; kubectl as the operator."""
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", str(e2e.CRD_FILE))
    e2e.wait_established(kubectl, e2e.CRD_NAME)
    objs = [o for o in e2e.operator_manifests() if o["kind"] in e2e.RBAC_KINDS]
    kubectl.run(
        "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=deploy_manifests.dump(objs)
    )
    token = e2e.request_token(kubectl, e2e.OPERATOR_NAMESPACE, e2e.OPERATOR_SERVICE_ACCOUNT)
    yield e2e.token_kubeconfig(kubectl, token, workdir / "operator-kubeconfig")


def status_latency(kubectl: Kubectl, creds: Kubectl, workdir: Path, routers: int) -> Figure:
    namespace = e2e.new_namespace(kubectl, "sr-bench-status")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    operator = e2e.start_operator(creds, [namespace], workdir / "status")
    found = Figure()
    try:
        for index in range(routers):
            router = simple_router(kubectl, namespace)
            name = f"latency-{index}"
            router["metadata"]["name"] = name
            router["spec"]["replicas"] = 1
            deployment = Stream(kubectl, "deployment", name, namespace)
            semantic = Stream(kubectl, KIND, name, namespace)
            try:
                kubectl.apply(router)
                wait_running(kubectl, name, namespace)
                time.sleep(1.0)  # the last events reach the streams
                ready = deployment.first(deployment_ready)
                shown = semantic.first(router_ready)
                assert ready is not None and shown is not None, (ready, shown)
                found.add(max(0.0, shown - ready))
            finally:
                deployment.stop()
                semantic.stop()
    finally:
        e2e.delete_routers(kubectl, namespace)
        operator.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
    return found


def one_failover(kubectl: Kubectl, creds: Kubectl, base: Path) -> tuple[float, float]:
    """(kill → the standby holds the Lease, kill → it applied a change made at the kill)."""
    namespace = e2e.new_namespace(kubectl, "sr-bench-failover")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    election = {
        "SR_OPERATOR_LEADER_ELECTION": "true",
        "SR_OPERATOR_LEASE_NAME": f"bench-{namespace}",
        "SR_OPERATOR_LEASE_NAMESPACE": e2e.OPERATOR_NAMESPACE,
    }
    leader = e2e.start_operator(creds, [namespace], base / "a", settings=election)
    standby = None
    try:
        wait_for("a leader", lambda: LEADS in leader.log.read_text(), 60, 0.1)
        standby = e2e.start_operator(creds, [namespace], base / "b", settings=election)
        log = standby.log
        router = simple_router(kubectl, namespace)
        name = router["metadata"]["name"]
        kubectl.apply(router)
        wait_running(kubectl, name, namespace)
        killed = time.monotonic()
        os.killpg(leader.proc.pid, signal.SIGKILL)
        kubectl.run(
            "patch", KIND, name, "-n", namespace, "--type=merge",
            "-p", '{"spec":{"replicas":3}}',
        )  # fmt: skip
        wait_for("the standby to lead", lambda: LEADS in log.read_text(), 60, 0.05)
        took = time.monotonic() - killed

        def applied() -> bool:
            release = status_of(kubectl, name, namespace).get("release") or {}
            return release.get("revision") == 2

        wait_for("the change applied", applied, 120, 0.05)
        return took, time.monotonic() - killed
    finally:
        e2e.delete_routers(kubectl, namespace)
        leader.stop()
        if standby is not None:
            standby.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def failover(kubectl: Kubectl, creds: Kubectl, workdir: Path, rounds: int) -> tuple[Figure, Figure]:
    took_lease, reconciled = Figure(), Figure()
    for round_ in range(rounds):
        lease, applied = one_failover(kubectl, creds, workdir / f"failover-{round_}")
        took_lease.add(lease)
        reconciled.add(applied)
    return took_lease, reconciled


STATUS_TARGET = 1.0
FAILOVER_TARGET = 15.0


@dataclass
class Result:
    latency: Figure
    lease: Figure
    reconciled: Figure

    def markdown(self) -> str:
        return stats.table(
            ["figure", "median (range, runs)", "p99"],
            [
                [
                    "status latency: Deployment ready → router Ready",
                    self.latency.show(stats.seconds),
                    stats.seconds(p99(self.latency.samples)),
                ],
                [
                    "failover: leader killed → the other holds the Lease",
                    self.lease.show(stats.seconds),
                    stats.seconds(p99(self.lease.samples)),
                ],
                [
                    "failover: leader killed → a change made at the kill applied",
                    self.reconciled.show(stats.seconds),
                    stats.seconds(p99(self.reconciled.samples)),
                ],
            ],
        )

    def checks(self) -> list[stats.Check]:
        return [
            stats.Check(
                "status latency, Deployment ready → router Ready (p99)",
                stats.seconds(p99(self.latency.samples)),
                f"≤ {STATUS_TARGET:g} s",
                p99(self.latency.samples) <= STATUS_TARGET,
            ),
            stats.Check(
                "failover time, leader killed → the other holds the Lease and reconciles",
                self.lease.show(stats.seconds),
                f"≤ {FAILOVER_TARGET:g} s",
                self.lease.high <= FAILOVER_TARGET,
            ),
        ]


def p99(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def measure(routers: int = 10, failovers: int = 3) -> Result:
    with tempfile.TemporaryDirectory(prefix="sr-bench-live-") as tmp:
        workdir = Path(tmp)
        with find_cluster(workdir) as kubectl, operator_credentials(kubectl, workdir) as creds:
            latency = status_latency(kubectl, creds, workdir, routers)
            lease, reconciled = failover(kubectl, creds, workdir, failovers)
    return Result(latency, lease, reconciled)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.live")
    parser.add_argument("--routers", type=int, default=10)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.routers, args.failovers)
    print(result.markdown())
    print()
    print(stats.checks_table(result.checks()))


if __name__ == "__main__":
    main()
