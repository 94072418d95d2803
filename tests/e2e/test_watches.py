"""The objects a release owns are watched: the status follows the Deployment within
seconds, a deleted Service and a hand-scaled Deployment are restored (a DriftRepaired event
names them), a replica count the HPA owns is left alone, and a flapping object is repaired
only as often as the repair budget allows, the status saying so.

The operator's periodic check is set to ten minutes here: whatever happens within a test
happened because of a watch."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.kubectl import Kubectl, wait_for
from tests.support.live import OperatorProcess, delete_routers, new_namespace, start_operator
from tests.support.routers import (
    BACKEND_SERVICE,
    backend_service,
    simple_router,
    status_of,
    wait_running,
)

SETTINGS = {
    "SR_OPERATOR_TIMER_INTERVAL": "600",
    "SR_OPERATOR_REPAIR_BURST": "2",
    "SR_OPERATOR_REPAIR_WINDOW": "600",
}
REACT = 60.0  # seconds allowed for a reaction (the benchmarks measure how fast it is)


@dataclass
class Scene:
    kubectl: Kubectl
    namespace: str
    operator: OperatorProcess

    def router(self, name: str, **spec: Any) -> str:
        """A Running SemanticRouter `name` (the simple sample with `spec` over it)."""
        router = simple_router(self.kubectl, self.namespace)
        router["metadata"]["name"] = name
        router["spec"] = {**copy.deepcopy(router["spec"]), **spec}
        self.kubectl.apply(router)
        wait_running(self.kubectl, name, self.namespace)
        return name

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.kubectl.get(kind, name, self.namespace)

    def events(self, name: str, reason: str) -> list[str]:
        events = self.kubectl.json(
            "get", "events", "-n", self.namespace,
            "--field-selector", f"involvedObject.name={name},reason={reason}",
        )["items"]  # fmt: skip
        return [str(e.get("message")) for e in events]

    def upgrades(self, release: str) -> list[str]:
        return [
            run
            for run in self.operator.helm_runs()
            if run.startswith("upgrade") and f" {release} " in f" {run} "
        ]


@pytest.fixture(scope="module")
def scene(
    kubectl: Kubectl, crd: str, operator_rbac: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    namespace = new_namespace(kubectl, "sr-e2e-watch")
    kubectl.apply(backend_service(BACKEND_SERVICE, namespace))
    work = tmp_path_factory.mktemp("watches")
    operator = start_operator(operator_rbac, [namespace], work, settings=SETTINGS)
    try:
        yield Scene(kubectl, namespace, operator)
    finally:
        delete_routers(kubectl, namespace)
        operator.stop()
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)


def test_the_operator_watches_every_owned_kind_the_cluster_serves(scene: Scene) -> None:
    def started() -> str | None:
        text = scene.operator.log.read_text()
        return text if "Watching the objects the releases own" in text else None

    log = wait_for("the watches to start", started, 60, 0.5)
    assert "Deployment, Service, ConfigMap, PersistentVolumeClaim, ServiceAccount" in log


def test_a_deleted_service_is_restored_and_an_event_names_it(scene: Scene) -> None:
    name = scene.router("watch-svc")
    before = scene.get("service", name)
    assert before is not None
    scene.kubectl.run("delete", "service", name, "-n", scene.namespace)

    def restored() -> dict[str, Any] | None:
        found = scene.get("service", name)
        return found if found and found["metadata"]["uid"] != before["metadata"]["uid"] else None

    wait_for(f"Service {name} restored", restored, REACT, 0.2)
    messages = wait_for("a DriftRepaired event", lambda: scene.events(name, "DriftRepaired"), REACT)
    assert f"Service {scene.namespace}/{name} deleted" in messages[0]
    repair = status_of(scene.kubectl, name, scene.namespace)["driftRepair"]
    assert repair["repairs"] == 1
    assert repair["lastRepaired"].startswith(f"Service {scene.namespace}/{name} deleted")


def test_a_hand_scaled_deployment_is_scaled_back(scene: Scene) -> None:
    name = scene.router("watch-scale", replicas=1)
    scene.kubectl.run("scale", "deployment", name, "-n", scene.namespace, "--replicas=3")

    def scaled_back() -> bool:
        deployment = scene.get("deployment", name) or {}
        return bool(deployment.get("spec", {}).get("replicas") == 1)

    wait_for(f"Deployment {name} back at 1 replica", scaled_back, REACT, 0.2)
    messages = wait_for("a DriftRepaired event", lambda: scene.events(name, "DriftRepaired"), REACT)
    assert f"Deployment {scene.namespace}/{name} changed (spec.replicas)" in messages[0]


def test_replicas_the_hpa_owns_are_left_alone_and_the_status_follows_them(scene: Scene) -> None:
    autoscaling = {"enabled": True, "minReplicas": 1, "maxReplicas": 4}
    name = scene.router("watch-hpa", autoscaling=autoscaling)
    upgrades = len(scene.upgrades(name))
    # What the HPA does when it scales: the scale subresource of the Deployment.
    scene.kubectl.run("scale", "deployment", name, "-n", scene.namespace, "--replicas=2")

    def followed() -> dict[str, Any] | None:
        status = status_of(scene.kubectl, name, scene.namespace)
        return status if status.get("readyReplicas") == 2 else None

    wait_for("the status to show 2 ready replicas", followed, REACT, 0.2)
    deployment = scene.get("deployment", name) or {}
    assert deployment["spec"]["replicas"] == 2
    assert len(scene.upgrades(name)) == upgrades
    assert scene.events(name, "DriftRepaired") == []


def test_a_flapping_object_is_repaired_only_within_the_budget(scene: Scene) -> None:
    name = scene.router("watch-flap")
    config = f"{name}-config"
    upgrades = len(scene.upgrades(name))
    for round_ in range(2):
        before = scene.get("configmap", config)
        assert before is not None
        scene.kubectl.run("delete", "configmap", config, "-n", scene.namespace)

        def restored(uid: str = before["metadata"]["uid"]) -> bool:
            found = scene.get("configmap", config)
            return bool(found and found["metadata"]["uid"] != uid)

        wait_for(f"ConfigMap {config} restored ({round_ + 1})", restored, REACT, 0.2)
    scene.kubectl.run("delete", "configmap", config, "-n", scene.namespace)

    def limited() -> dict[str, Any] | None:
        repair = status_of(scene.kubectl, name, scene.namespace).get("driftRepair") or {}
        return repair if repair.get("limitedUntil") else None

    repair = wait_for("the status to report the repair limit", limited, REACT, 0.2)
    assert repair["repairs"] == 2
    assert repair["limit"] == "at most 2 repairs in 600s"
    warned = wait_for(
        "a DriftRepairLimited event", lambda: scene.events(name, "DriftRepairLimited"), 30
    )
    assert f"ConfigMap {scene.namespace}/{config} deleted" in warned[0]
    assert scene.get("configmap", config) is None
    assert len(scene.upgrades(name)) == upgrades + 2
