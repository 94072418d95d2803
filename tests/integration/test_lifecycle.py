"""The control loop end to end: create, update, restart, delete, invalid spec."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.conftest import Env
from tests.support.harness import DEPLOYMENTS

SPEC: dict[str, Any] = {
    "replicas": 2,
    "persistence": {"enabled": False},
    "vllmEndpoints": [
        {
            "name": "qwen",
            "model": "qwen2.5-7b",
            "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
        }
    ],
}


async def add_service(env: Env, name: str = "vllm-qwen", namespace: str = "default") -> None:
    await env.client.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"ports": [{"port": 8000}]},
        }
    )


async def running_router(env: Env, name: str = "my-router") -> None:
    await add_service(env)
    await env.create_router(name, SPEC)
    await env.wait_runs(1)
    await env.wait_phase(name, "Progressing")
    await env.make_ready(name)
    await env.wait_phase(name, "Running")


async def test_create_installs_one_release_and_reports_running_once_pods_are_ready(
    env: Env,
) -> None:
    await add_service(env)
    await env.create_router("my-router", SPEC)
    await env.wait_phase("my-router", "Progressing")

    [run] = env.releases.runs
    assert (run.action, run.name, run.namespace) == ("install", "my-router", "default")
    assert run.values["replicas"] == 2
    assert run.values["platform"] == "kubernetes"
    [endpoint] = run.values["vllmEndpoints"]
    assert endpoint["backend"]["resolved"] == {
        "host": "vllm-qwen.default.svc.cluster.local",
        "port": 8000,
        "protocol": "http",
    }
    [deployment] = env.releases.find("my-router", "default", "Deployment")
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000

    await env.make_ready("my-router")
    await env.wait_phase("my-router", "Running")
    status = await env.status("my-router")
    assert status["replicas"] == 2
    assert status["readyReplicas"] == 2
    assert status["gatewayMode"] == "standalone"
    assert status["observedGeneration"] == 1
    assert status["release"]["name"] == "my-router"
    assert status["release"]["revision"] == 1
    assert status["release"]["status"] == "deployed"
    assert status["release"]["digest"] == run.digest
    assert status["backends"][0]["resolved"] is True
    ready = await env.condition("my-router", "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Available")
    assert (await env.condition("my-router", "ReleaseFailed"))["status"] == "False"
    assert [e["message"] for e in await env.wait_events("Installed")] == [
        "Installed release my-router revision 1 (chart 0.1.0, deployed)"
    ]
    await env.wait_timer(2)
    assert len(env.releases.runs) == 1
    env.report("create")


async def test_only_a_digest_of_the_spec_is_kept_on_the_object(env: Env) -> None:
    await running_router(env)
    annotations = (await env.router("my-router"))["metadata"].get("annotations") or {}
    stored = annotations["semantic-router.vllm.ai/last-handled-configuration"]
    assert json.loads(stored) == {"specDigest": stored.split('"')[3]}
    assert stored.split('"')[3].startswith("sha256:")
    assert not any(key.startswith("kopf.zalando.org/") for key in annotations)
    assert (
        "vllm.ai/semantic-router-operator"
        in (await env.router("my-router"))["metadata"]["finalizers"]
    )
    env.report("digest annotation")


async def test_spec_change_upgrades_the_release_once(env: Env) -> None:
    await running_router(env)
    await env.patch_spec("my-router", {"replicas": 3})
    await env.wait_runs(2)
    upgrade = env.releases.runs[1]
    assert upgrade.action == "upgrade"
    assert upgrade.values["replicas"] == 3
    assert upgrade.digest != env.releases.runs[0].digest

    await env.wait_phase("my-router", "Progressing")
    deployment = await env.client.get(DEPLOYMENTS, "default", "my-router")
    assert deployment["spec"]["replicas"] == 3
    await env.make_ready("my-router")
    await env.wait_phase("my-router", "Running")
    status = await env.status("my-router")
    assert status["observedGeneration"] == 2
    assert status["release"]["revision"] == 2
    assert status["readyReplicas"] == 3
    assert await env.wait_events("Upgraded")
    await env.wait_timer(2)
    assert [r.action for r in env.releases.runs] == ["install", "upgrade"]
    env.report("spec change")


async def test_deleting_a_router_whose_release_is_already_gone_succeeds(env: Env) -> None:
    await running_router(env)
    await env.releases.forget("my-router", "default")
    await env.client.delete("vllm.ai/v1alpha1/semanticrouters", "default", "my-router")

    async def gone() -> bool:
        return await env.router("my-router") is None

    await env.wait(gone, "the SemanticRouter to be deleted")
    # helm keeps a release in its Secrets: with none left there is nothing to uninstall.
    assert [r.action for r in env.releases.runs] == ["install"]
    env.report("delete without release")


async def test_invalid_spec_sets_a_condition_naming_the_field_and_never_runs_helm(
    env: Env,
) -> None:
    await add_service(env)
    await env.create_router("bad", {**SPEC, "replicas": "two"})
    ready = await env.wait_condition("bad", "Ready", "False", "InvalidSpec")
    assert ready["message"].startswith("spec.replicas:")
    assert (await env.status("bad"))["phase"] == "Failed"
    [event] = await env.wait_events("InvalidSpec")
    assert event["type"] == "Warning"
    assert "spec.replicas" in event["message"]
    await env.wait_timer(3)
    assert env.releases.runs == []

    await env.patch_spec("bad", {"replicas": 1})
    await env.wait_runs(1)
    assert env.releases.runs[0].values["replicas"] == 1
    await env.wait_condition("bad", "ReleaseFailed", "False", "ReleaseDeployed")
    env.report("invalid spec")


async def test_untranslatable_router_config_is_an_invalid_spec(env: Env) -> None:
    await add_service(env)
    spec = {**SPEC, "config": {"vllm_endpoints": [{"name": "x"}]}}
    await env.create_router("bad-config", spec)
    ready = await env.wait_condition("bad-config", "Ready", "False", "InvalidSpec")
    assert "spec.config.vllm_endpoints" in ready["message"]
    await env.wait_timer(2)
    assert env.releases.runs == []
    env.report("invalid config")


async def test_gateway_reference_deploys_gateway_integration_mode(env: Env) -> None:
    await add_service(env)
    gateway = {"existingRef": {"name": "istio-ingressgateway", "namespace": "istio-system"}}
    await env.create_router("gw-router", {**SPEC, "gateway": gateway})
    await env.wait_runs(1)
    await env.wait_phase("gw-router", "Progressing")
    assert (await env.status("gw-router"))["gatewayMode"] == "gateway-integration"
    [route] = env.releases.find("gw-router", "default", "HTTPRoute")
    assert route["spec"]["parentRefs"][0]["name"] == "istio-ingressgateway"
    [deployment] = env.releases.find("gw-router", "default", "Deployment")
    containers = [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert not any("envoy" in name for name in containers)
    env.report("gateway mode")
