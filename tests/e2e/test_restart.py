"""An operator restart with a router deployed runs helm zero times: the new process resumes the
router from what the cluster holds (its status and helm's release Secrets), and its drift timer
finds nothing to repair."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import delete_routers, free_port, new_namespace, start_operator
from tests.support.routers import (
    BACKEND_SERVICE,
    KIND,
    backend_service,
    simple_router,
    status_of,
    wait_removed,
    wait_running,
)

TIMER_INTERVAL = 10.0  # SR_OPERATOR_TIMER_INTERVAL of start_operator
RECONCILES = "semantic_router_operator_reconciles_total"


def timer_runs(metrics_port: int) -> float:
    """Reconciles the drift timer has finished, from the operator's Prometheus metrics."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    except OSError:  # not listening yet
        return 0.0
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == RECONCILES and sample.labels.get("trigger") == "timer"
    )


def test_an_operator_restart_runs_helm_zero_times(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> None:
    namespace = new_namespace(kubectl, "sr-e2e-restart")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    router = simple_router(kubectl, namespace)
    name = router["metadata"]["name"]
    work: Path = tmp_path_factory.mktemp("restart")
    first = start_operator(operator_rbac, [namespace], work / "first")
    try:
        kubectl.apply(router)
        wait_running(kubectl, name, namespace)
        revision = status_of(kubectl, name, namespace)["release"]["revision"]
    finally:
        first.stop()
    assert any(run.startswith("upgrade") for run in first.helm_runs()), first.helm_runs()

    port = free_port()
    settings = {  # the drift check runs one interval after the resume, counted in the metrics
        "SR_OPERATOR_TIMER_JITTER": "0",
        "SR_OPERATOR_METRICS_PORT": str(port),
    }
    second = start_operator(operator_rbac, [namespace], work / "second", settings=settings)
    try:
        resumed = "Handler 'reconcile' succeeded"
        wait_for(
            "the restarted operator to resume the router",
            lambda: resumed in second.log.read_text(),
            120,
        )
        wait_for("a run of the drift timer", lambda: timer_runs(port) >= 1, TIMER_INTERVAL + 120)
        assert second.helm_runs() == [], second.helm_runs()
        status = status_of(kubectl, name, namespace)
        assert status["phase"] == "Running"
        assert status["release"]["revision"] == revision
        kubectl.run("delete", KIND, name, "-n", namespace, "--wait=false")
        wait_removed(kubectl, name, namespace)
    finally:
        delete_routers(kubectl, namespace)
        second.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
