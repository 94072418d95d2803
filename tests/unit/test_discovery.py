"""Backend discovery: KServe, Llama Stack and direct Services, each endpoint on its own."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from semantic_router_operator import discovery, kube
from semantic_router_operator.discovery import Address, BackendRef
from semantic_router_operator.kube import KubeApiError


def service(name: str, namespace: str, labels: Mapping[str, str] | None = None, *ports: Any) -> Any:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": {"ports": [p if isinstance(p, dict) else {"port": p} for p in ports]},
    }


class MemoryReader:
    """A KubeReader over a dict of objects keyed by API path."""

    def __init__(self, objects: Mapping[str, Any], fail: str = "") -> None:
        self.objects = dict(objects)
        self.fail = fail

    async def get(self, path: str) -> dict[str, Any] | None:
        if self.fail and self.fail in path:
            raise KubeApiError(f"reading {path} failed: connection refused")
        obj: dict[str, Any] | None = self.objects.get(path)
        return obj

    async def list_objects(
        self, path: str, labels: Mapping[str, str] | None = None, *, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        prefix = path.rstrip("/") + "/"
        items = [o for p, o in sorted(self.objects.items()) if p.startswith(prefix)]
        return [o for o in items if kube.labels_match(o, labels or {})]


def kserve(endpoint: str, isvc: str) -> dict[str, Any]:
    return {
        "name": endpoint,
        "model": "m",
        "backend": {"type": "kserve", "inferenceServiceName": isvc},
    }


def llamastack(endpoint: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": endpoint,
        "model": "m",
        "backend": {"type": "llamastack", "discoveryLabels": dict(labels)},
    }


def direct(endpoint: str, name: str, port: int, namespace: str | None = None) -> dict[str, Any]:
    svc: dict[str, Any] = {"name": name, "port": port}
    if namespace:
        svc["namespace"] = namespace
    return {"name": endpoint, "model": "m", "backend": {"type": "service", "service": svc}}


ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/ai/inferenceservices/llama-3-8b"


async def test_kserve_backend_resolves_to_the_predictor_service_on_8443_over_https() -> None:
    reader = MemoryReader({ISVC: {"metadata": {"name": "llama-3-8b"}}})
    [result] = await discovery.resolve([kserve("llama3", "llama-3-8b")], "ai", reader)
    assert result.resolved
    assert result.address == Address("llama-3-8b-predictor.ai.svc.cluster.local", 8443, "https")
    assert result.as_status() == {
        "name": "llama3",
        "type": "kserve",
        "host": "llama-3-8b-predictor.ai.svc.cluster.local",
        "port": 8443,
        "protocol": "https",
        "resolved": True,
        "message": "InferenceService ai/llama-3-8b predictor",
    }


async def test_kserve_backend_without_its_inference_service_fails_with_a_kubectl_hint() -> None:
    [result] = await discovery.resolve([kserve("llama3", "llama-3-8b")], "ai", MemoryReader({}))
    assert not result.resolved
    assert "InferenceService ai/llama-3-8b not found" in result.message
    assert "kubectl get inferenceservice llama-3-8b -n ai" in result.message


def test_kserve_backend_that_is_not_ready_still_resolves_and_says_so() -> None:
    isvc = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    ref = BackendRef.from_endpoint(kserve("e", "isvc"))
    result = discovery.decide_kserve(ref, "ns", isvc)
    assert result.resolved
    assert "not Ready yet" in result.message


async def test_llamastack_backend_takes_the_first_matching_service_by_name_and_its_first_port() -> (
    None
):
    labels = {"app": "llama-stack", "model": "llama-3.3-70b"}
    reader = MemoryReader(
        {
            "/api/v1/namespaces/ai/services/zeta": service("zeta", "ai", labels, 9000),
            "/api/v1/namespaces/ai/services/alpha": service("alpha", "ai", labels, 8321, 9090),
            "/api/v1/namespaces/ai/services/other": service("other", "ai", {"app": "x"}, 80),
            "/api/v1/namespaces/ai/services/partial": service(
                "partial", "ai", {"app": "llama-stack"}, 80
            ),
        }
    )
    [result] = await discovery.resolve([llamastack("llama", labels)], "ai", reader)
    assert result.address == Address("alpha.ai.svc.cluster.local", 8321, "http")
    assert "1 more matched, using the first by name" in result.message


def test_llamastack_https_port_is_recognised_by_name() -> None:
    svc = service("ls", "ai", {"app": "ls"}, {"name": "https", "port": 8443})
    ref = BackendRef.from_endpoint(llamastack("e", {"app": "ls"}))
    assert discovery.decide_llamastack(ref, "ai", [svc]).address == Address(
        "ls.ai.svc.cluster.local", 8443, "https"
    )


async def test_llamastack_backend_without_matching_service_names_the_selector() -> None:
    [result] = await discovery.resolve(
        [llamastack("llama", {"app": "llama-stack"})], "ai", MemoryReader({})
    )
    assert not result.resolved
    assert "no Service in namespace ai matches labels app=llama-stack" in result.message
    assert "kubectl get services -n ai -l app=llama-stack" in result.message


def test_llamastack_service_without_ports_is_not_usable() -> None:
    ref = BackendRef.from_endpoint(llamastack("e", {"app": "ls"}))
    result = discovery.decide_llamastack(ref, "ai", [service("ls", "ai", {"app": "ls"})])
    assert not result.resolved
    assert "defines no ports" in result.message


def test_llamastack_backend_with_no_labels_asks_for_them() -> None:
    ref = BackendRef.from_endpoint(llamastack("e", {}))
    assert "discoveryLabels is empty" in discovery.decide_llamastack(ref, "ai", []).message


async def test_direct_service_in_another_namespace_resolves_to_its_cluster_dns_name() -> None:
    reader = MemoryReader(
        {
            "/api/v1/namespaces/vllm-serving/services/vllm-deepseek": service(
                "vllm-deepseek", "vllm-serving", None, 8000
            )
        }
    )
    [result] = await discovery.resolve(
        [direct("deepseek", "vllm-deepseek", 8000, "vllm-serving")], "default", reader
    )
    assert result.address == Address("vllm-deepseek.vllm-serving.svc.cluster.local", 8000, "http")


async def test_direct_service_defaults_to_the_routers_namespace() -> None:
    reader = MemoryReader(
        {"/api/v1/namespaces/team/services/vllm-qwen": service("vllm-qwen", "team", None, 8000)}
    )
    [result] = await discovery.resolve([direct("qwen", "vllm-qwen", 8000)], "team", reader)
    assert result.address == Address("vllm-qwen.team.svc.cluster.local", 8000, "http")


async def test_missing_direct_service_fails_with_its_namespace_and_name() -> None:
    [result] = await discovery.resolve(
        [direct("qwen", "vllm-qwen", 8000, "serving")], "team", MemoryReader({})
    )
    assert not result.resolved
    assert "Service serving/vllm-qwen not found" in result.message


def test_direct_service_port_must_be_one_the_service_exposes() -> None:
    ref = BackendRef.from_endpoint(direct("qwen", "vllm-qwen", 8000))
    result = discovery.decide_service(ref, "ns", service("vllm-qwen", "ns", None, 80, 443))
    assert not result.resolved
    assert "has no port 8000 (it exposes 80, 443)" in result.message
    assert "backend.service.port" in result.message


def test_direct_service_without_ports_such_as_external_name_is_accepted() -> None:
    ref = BackendRef.from_endpoint(direct("ext", "external", 8000))
    result = discovery.decide_service(ref, "ns", {"spec": {"type": "ExternalName"}})
    assert result.address == Address("external.ns.svc.cluster.local", 8000, "http")


async def test_unknown_backend_type_names_the_accepted_types() -> None:
    bad = {"name": "x", "backend": {"type": "ollama"}}
    [result] = await discovery.resolve([bad], "ns", MemoryReader({}))
    assert "unknown backend.type 'ollama'" in result.message
    assert "kserve, llamastack, service" in result.message


async def test_one_failing_backend_does_not_block_the_others_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = MemoryReader({ISVC: {}})
    with caplog.at_level(logging.WARNING):
        results = await discovery.resolve(
            [kserve("good", "llama-3-8b"), kserve("bad", "missing")], "ai", reader
        )
    assert [r.resolved for r in results] == [True, False]
    assert "Failed to discover backend bad (kserve)" in caplog.text
    assert "No backends found" not in caplog.text
    assert discovery.summary(results).startswith("1/2 backends resolved; bad: InferenceService")


async def test_no_resolved_backend_logs_no_backends_found(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        await discovery.resolve([kserve("a", "missing")], "ai", MemoryReader({}), owner="ai/r")
    assert "No backends found for SemanticRouter ai/r: 0/1 backends resolved" in caplog.text


async def test_api_trouble_is_raised_not_mistaken_for_a_missing_backend() -> None:
    with pytest.raises(KubeApiError):
        await discovery.resolve([kserve("a", "x")], "ai", MemoryReader({}, fail="inference"))


def test_offline_results_match_what_discovery_finds_when_objects_exist() -> None:
    ks = BackendRef.from_endpoint(kserve("a", "isvc"))
    svc = BackendRef.from_endpoint(direct("b", "vllm", 8000, "serving"))
    ls = BackendRef.from_endpoint(llamastack("c", {"app": "x"}))
    assert discovery.offline_result(ks, "ns") == discovery.decide_kserve(ks, "ns", {})
    offline = discovery.offline_result(svc, "ns")
    assert offline is not None
    assert offline.address == Address("vllm.serving.svc.cluster.local", 8000, "http")
    assert discovery.offline_result(ls, "ns") is None


def test_label_selector_is_sorted_and_comma_separated() -> None:
    assert kube.label_selector({"model": "m", "app": "a"}) == "app=a,model=m"


async def test_failures_already_reported_in_the_status_are_not_logged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = MemoryReader({})
    [first] = await discovery.resolve([kserve("a", "missing")], "ai", reader)
    reported = discovery.reported_failures({"backends": [first.as_status()]})
    assert reported == {"a": first.message}
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        await discovery.resolve([kserve("a", "missing")], "ai", reader, reported=reported)
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING):
        await discovery.resolve([kserve("a", "other")], "ai", reader, reported=reported)
    assert "Failed to discover backend a (kserve)" in caplog.text
    assert "No backends found" in caplog.text
