"""OpenShift detection, Routes in the status, and the StorageClass check before the PVC."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.conftest import Env
from tests.support.cluster import ROUTES

ROUTE_HOST = "my-router-default.apps.openshift.example.com"


def spec(**extra: Any) -> dict[str, Any]:
    return {
        "persistence": {"enabled": False},
        "vllmEndpoints": [
            {
                "name": "qwen",
                "model": "qwen2.5-7b",
                "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
            }
        ],
        **extra,
    }


async def add_backend(env: Env) -> None:
    await env.client.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "vllm-qwen", "namespace": "default"},
            "spec": {"ports": [{"port": 8000}]},
        }
    )


async def add_storage_class(env: Env, name: str, default: bool = False) -> None:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    await env.client.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": name, "annotations": annotations},
            "provisioner": "example.com/csi",
        }
    )


def pod_security(env: Env) -> dict[str, Any]:
    [deployment] = env.releases.find("my-router", "default", "Deployment")
    return dict(deployment["spec"]["template"]["spec"]["securityContext"])


async def test_standard_kubernetes_is_detected_and_sets_user_and_group_1000(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await add_backend(env)
    await env.create_router("my-router", spec())
    await env.wait_runs(1)
    assert env.releases.runs[0].values["platform"] == "kubernetes"
    security = pod_security(env)
    assert (security["runAsUser"], security["fsGroup"]) == (1000, 1000)
    assert (
        "Detected standard Kubernetes platform - will use standard security contexts"
        in caplog.messages
    )
    env.report("kubernetes")


@pytest.mark.serves(ROUTES)
async def test_admitted_route_host_is_reported_in_the_status(env: Env) -> None:
    await add_backend(env)
    await env.create_router("my-router", spec(openshift={"routes": {"enabled": True}}))
    await env.wait_runs(1)
    route = await env.client.get("route.openshift.io/v1/routes", "default", "my-router")
    assert route is not None
    await env.wait_phase("my-router", "Progressing")
    features = (await env.status("my-router"))["openshiftFeatures"]
    assert features == {"routesEnabled": True}

    admitted = {"type": "Admitted", "status": "True"}
    await env.client.patch(
        "route.openshift.io/v1/routes",
        "default",
        "my-router",
        {"status": {"ingress": [{"host": ROUTE_HOST, "conditions": [admitted]}]}},
        subresource="status",
    )

    async def hostname() -> bool:
        status = await env.status("my-router")
        return bool(status.get("openshiftFeatures", {}).get("routeHostname") == ROUTE_HOST)

    await env.wait(hostname, "the Route hostname in the status")
    assert (await env.status("my-router"))["openshiftFeatures"]["routesEnabled"] is True
    assert len(env.releases.runs) == 1
    env.report("route hostname")


async def test_missing_storage_class_sets_a_condition_and_releases_nothing(env: Env) -> None:
    await add_backend(env)
    await add_storage_class(env, "standard", default=True)
    persistence = {"enabled": True, "storageClassName": "fast", "size": "10Gi"}
    await env.create_router("my-router", {**spec(), "persistence": persistence})
    ready = await env.wait_condition("my-router", "Ready", "False", "StorageClassNotFound")
    assert ready["message"].startswith("spec.persistence.storageClassName: StorageClass 'fast'")
    assert "(available: standard)" in ready["message"]
    assert (await env.status("my-router"))["phase"] == "Failed"
    assert len(await env.wait_events("StorageClassNotFound")) == 1
    await env.wait_timer(3)
    assert env.releases.runs == []
    assert len(env.events("StorageClassNotFound")) == 1

    await add_storage_class(env, "fast")
    await env.wait_runs(1)
    assert env.releases.runs[0].values["persistence"]["storageClassName"] == "fast"
    [pvc] = env.releases.find("my-router", "default", "PersistentVolumeClaim")
    assert pvc["spec"]["storageClassName"] == "fast"
    env.report("missing storage class")


async def test_persistence_without_a_class_needs_a_default_storage_class(env: Env) -> None:
    await add_backend(env)
    await add_storage_class(env, "slow")
    await env.create_router("my-router", {**spec(), "persistence": {"enabled": True}})
    ready = await env.wait_condition("my-router", "Ready", "False", "NoDefaultStorageClass")
    assert "storageclass.kubernetes.io/is-default-class=true" in ready["message"]
    await env.wait_timer(2)
    assert env.releases.runs == []
    env.report("no default storage class")


async def test_routes_on_plain_kubernetes_deploy_all_but_the_route_degraded_with_one_event(
    env: Env,
) -> None:
    await add_backend(env)
    await env.create_router("my-router", spec(openshift={"routes": {"enabled": True}}))
    await env.wait_runs(1)
    assert env.releases.runs[0].values["openshift"]["routes"]["enabled"] is False
    assert env.releases.find("my-router", "default", "Route") == []
    assert env.releases.find("my-router", "default", "Deployment")
    await env.make_ready("my-router")
    await env.wait_phase("my-router", "Degraded")
    degraded = await env.condition("my-router", "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "RoutesNeedOpenShift")
    assert degraded["message"] == (
        "spec.openshift.routes.enabled needs OpenShift (route.openshift.io/v1 is not served by "
        "this cluster): everything else is deployed, the Route is left out; use spec.ingress "
        "instead, or set spec.openshift.routes.enabled to false"
    )
    assert (await env.condition("my-router", "Available"))["status"] == "True"
    assert (await env.condition("my-router", "ReleaseFailed"))["status"] == "False"
    status = await env.status("my-router")
    assert status["openshiftFeatures"] == {"routesEnabled": False}
    [event] = await env.wait_events("RoutesNeedOpenShift")
    assert event["type"] == "Warning" and event["message"] == degraded["message"]
    await env.wait_timer(2)
    assert len(env.releases.runs) == 1
    assert len(env.events("RoutesNeedOpenShift")) == 1

    await env.patch_spec("my-router", {"openshift": {"routes": {"enabled": False}}})
    await env.wait_phase("my-router", "Running")
    assert (await env.condition("my-router", "Degraded"))["status"] == "False"
    env.report("routes on kubernetes")


async def test_replicas_sharing_a_read_write_once_claim_deploy_with_one_warning_event(
    env: Env,
) -> None:
    await add_backend(env)
    await add_storage_class(env, "standard", default=True)
    await env.create_router(
        "my-router", {**spec(), "persistence": {"enabled": True}, "replicas": 2}
    )
    await env.wait_runs(1)
    [event] = await env.wait_events("ModelsClaimNotShared")
    assert event["type"] == "Warning"
    assert event["message"].startswith("up to 2 replicas share a ReadWriteOnce models claim")
    await env.wait_timer(2)
    assert len(env.events("ModelsClaimNotShared")) == 1

    await env.patch_spec("my-router", {"persistence": {"accessMode": "ReadWriteMany"}})
    await env.wait_runs(2)
    assert len(env.events("ModelsClaimNotShared")) == 1
    env.report("read-write-once claim shared by replicas")
