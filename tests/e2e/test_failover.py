"""Two operator replicas, one reconciling: the holder of the Lease. When it is killed the
other takes the Lease over and reconciles, and no helm run happens twice."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import (
    OPERATOR_NAMESPACE,
    OperatorProcess,
    delete_routers,
    new_namespace,
    start_operator,
)
from tests.support.routers import (
    BACKEND_SERVICE,
    KIND,
    backend_service,
    simple_router,
    status_of,
    wait_running,
)

LEADS = "holds the Lease; reconciling"
STANDS_BY = "standing by"


def upgrades(operator: OperatorProcess) -> list[str]:
    return [run for run in operator.helm_runs() if run.startswith(("upgrade", "install"))]


def release_revisions(kubectl: Kubectl, release: str, namespace: str) -> list[str]:
    """The revisions helm keeps for `release` (its storage Secrets)."""
    secrets = kubectl.json("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={release}")[
        "items"
    ]
    return sorted(s["metadata"]["labels"]["version"] for s in secrets)


def test_the_standby_takes_over_when_the_leader_is_killed_and_helm_runs_once_per_change(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> None:
    namespace = new_namespace(kubectl, "sr-e2e-failover")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    router = simple_router(kubectl, namespace)
    name = router["metadata"]["name"]
    work: Path = tmp_path_factory.mktemp("failover")
    election = {
        "SR_OPERATOR_LEADER_ELECTION": "true",
        "SR_OPERATOR_LEASE_NAME": f"lease-{namespace}",
        "SR_OPERATOR_LEASE_NAMESPACE": OPERATOR_NAMESPACE,
        "SR_OPERATOR_LEASE_DURATION": "6",
    }
    first = start_operator(operator_rbac, [namespace], work / "a", settings=election)
    second: OperatorProcess | None = None
    try:
        wait_for("the first replica to lead", lambda: LEADS in first.log.read_text(), 60, 0.2)
        second = start_operator(operator_rbac, [namespace], work / "b", settings=election)
        wait_for("the second to stand by", lambda: STANDS_BY in second.log.read_text(), 60, 0.2)

        kubectl.apply(router)
        wait_running(kubectl, name, namespace)
        assert len(upgrades(first)) == 1, first.helm_runs()
        assert upgrades(second) == []
        assert release_revisions(kubectl, name, namespace) == ["1"]

        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait(timeout=30)
        kubectl.run(
            "patch", KIND, name, "-n", namespace, "--type=merge",
            "-p", '{"spec":{"replicas":3}}',
        )  # fmt: skip
        wait_for("the second replica to lead", lambda: LEADS in second.log.read_text(), 60, 0.2)

        def upgraded() -> bool:
            release = status_of(kubectl, name, namespace).get("release") or {}
            return release.get("revision") == 2

        wait_for("the new leader to apply the change", upgraded, 120, 0.5)
        assert len(upgrades(second)) == 1, second.helm_runs()
        assert release_revisions(kubectl, name, namespace) == ["1", "2"]
    finally:
        delete_routers(kubectl, namespace)
        first.stop()
        if second is not None:
            second.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
        kubectl.run(
            "delete", "lease", f"lease-{namespace}", "-n", OPERATOR_NAMESPACE,
            "--ignore-not-found", check=False,
        )  # fmt: skip


def test_a_standby_answers_its_liveness_probe_and_never_runs_helm(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> None:
    namespace = new_namespace(kubectl, "sr-e2e-standby")
    work: Path = tmp_path_factory.mktemp("standby")
    lease = f"lease-{namespace}"
    kubectl.apply(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": lease, "namespace": OPERATOR_NAMESPACE},
            "spec": {
                "holderIdentity": "someone-else",
                "leaseDurationSeconds": 3600,
                "renewTime": "2099-01-01T00:00:00.000000Z",
            },
        }
    )
    election = {
        "SR_OPERATOR_LEADER_ELECTION": "true",
        "SR_OPERATOR_LEASE_NAME": lease,
        "SR_OPERATOR_LEASE_NAMESPACE": OPERATOR_NAMESPACE,
    }
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    router = simple_router(kubectl, namespace)
    # start_operator returns once the liveness endpoint answers: the standby's own.
    standby = start_operator(operator_rbac, [namespace], work, settings=election)
    try:
        kubectl.apply(router)
        wait_for("the replica to stand by", lambda: STANDS_BY in standby.log.read_text(), 60)
        assert status_of(kubectl, router["metadata"]["name"], namespace) == {}
        assert standby.helm_runs() == []
    finally:
        standby.stop()
        kubectl.run(
            "patch", KIND, router["metadata"]["name"], "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}', check=False,
        )  # fmt: skip
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
        kubectl.run(
            "delete", "lease", lease, "-n", OPERATOR_NAMESPACE, "--ignore-not-found", check=False
        )
