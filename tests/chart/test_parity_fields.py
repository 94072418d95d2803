"""Where the fields upstream's operator has take effect: a CR using each is rendered the way
the operator renders it (its values through real `helm template`) and the release passes the
chart tier's validators (Kubernetes schemas and API-server checks, `vllm-sr config validate`,
the router's config-key contract, `envoy --mode validate`). The security scan runs on the
upstream samples' renders (`test_upstream_samples.py`), not once per field here."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from semantic_router_operator import models, values
from semantic_router_operator.discovery import BackendRef, offline_result
from semantic_router_operator.platform import Platform

from tests.chart.conftest import NAMESPACE, RELEASE
from tests.chart.validators import (
    KUBERNETES_VERSIONS,
    configmaps_with_key,
    validate_release,
    validate_router_config,
)
from tests.support.helm import CHART, find, render

ENDPOINT = {
    "name": "qwen",
    "model": "qwen3-8b",
    "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
}


def release(
    spec: dict[str, Any], versions: tuple[str, ...] = KUBERNETES_VERSIONS
) -> list[dict[str, Any]]:
    """The manifests the operator applies for `spec` on Kubernetes, validated against the
    schemas of `versions`."""
    parsed = models.parse_spec({"vllmEndpoints": [ENDPOINT], **spec})
    resolved = [
        result
        for endpoint in parsed.vllm_endpoints or []
        if (result := offline_result(BackendRef.from_endpoint(endpoint.to_dict()), NAMESPACE))
    ]
    built = values.build(
        parsed,
        resolved,
        Platform.KUBERNETES,
        chart_defaults=values.read_chart_defaults(CHART),
    )
    objs = render(values=built, release=RELEASE, namespace=NAMESPACE)
    validate_release(objs, versions=versions, scan=lambda _: None)
    return objs


def router_container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = find(objs, "Deployment")
    [container] = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] != "envoy"
    ]
    return dict(container)


def router_config(objs: list[dict[str, Any]]) -> dict[str, Any]:
    [configmap] = configmaps_with_key(objs, "config.yaml")
    config: dict[str, Any] = yaml.safe_load(configmap["data"]["config.yaml"])
    return config


def env_of(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [env] = [e for e in router_container(objs)["env"] if e["name"] == name]
    return dict(env)


def test_a_valkey_cache_password_comes_from_its_secret_optionally() -> None:
    ref = {"name": "valkey-credentials", "key": "password", "optional": True}
    valkey = {"connection": {"host": "valkey.cache.svc", "port": 6379, "password_secret_ref": ref}}
    objs = release({"config": {"response_cache": {"backend_type": "valkey", "valkey": valkey}}})
    secret = env_of(objs, "SR_CACHE_VALKEY_PASSWORD")["valueFrom"]["secretKeyRef"]
    assert secret == ref
    cache = router_config(objs)["global"]["stores"]["response_cache"]
    assert cache["valkey"]["connection"]["password"] == "${SR_CACHE_VALKEY_PASSWORD}"
    assert "password_secret_ref" not in cache["valkey"]["connection"]


def test_a_qdrant_api_key_comes_from_its_secret() -> None:
    ref = {"name": "qdrant", "key": "api-key"}
    qdrant = {"host": "qdrant.cache.svc", "port": 6334, "api_key_secret_ref": ref}
    objs = release({"config": {"semantic_cache": {"backend_type": "qdrant", "qdrant": qdrant}}})
    secret = env_of(objs, "SR_CACHE_QDRANT_API_KEY")["valueFrom"]["secretKeyRef"]
    assert secret == ref, "not optional unless the reference says so"
    cache = router_config(objs)["global"]["stores"]["response_cache"]
    assert cache["qdrant"]["api_key"] == "${SR_CACHE_QDRANT_API_KEY}"


def test_duration_buckets_written_as_strings_reach_the_router_as_numbers() -> None:
    metrics = {"enabled": True, "duration_buckets": ["0.005", "0.5", "1", "30"]}
    objs = release({"config": {"api": {"batch_classification": {"metrics": metrics}}}})
    rendered = router_config(objs)["global"]["services"]["api"]["batch_classification"]
    assert rendered["metrics"]["duration_buckets"] == [0.005, 0.5, 1.0, 30.0]


def test_the_service_ports_carry_the_protocol_given() -> None:
    tcp = {"protocol": "TCP"}
    token = {"secretKeyRef": {"name": "management", "key": "token"}, "role": "viewer"}
    objs = release(
        {
            "service": {"grpc": tcp, "api": tcp, "metrics": tcp},
            "managementApi": {"expose": True, "tokens": [token]},
        }
    )
    service = find(objs, "Service", f"{RELEASE}-semantic-router")
    [service] = service or [s for s in find(objs, "Service") if "clusterIP" not in s["spec"]]
    assert {p["name"]: p["protocol"] for p in service["spec"]["ports"]} == {
        "grpc": "TCP",
        "api": "TCP",
        "metrics": "TCP",
        "envoy-http": "TCP",
    }


def test_resource_claims_reach_the_router_container_and_the_pod() -> None:
    claims = [{"name": "gpu", "request": "a100"}]
    pod_claims = [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]
    spec: dict[str, Any] = {"resources": {"limits": {"memory": "8Gi"}, "claims": claims}}
    spec["resourceClaims"] = pod_claims
    newest = KUBERNETES_VERSIONS[-1]
    objs = release(spec, (newest,))
    assert router_container(objs)["resources"]["claims"] == claims
    [deployment] = find(objs, "Deployment")
    assert deployment["spec"]["template"]["spec"]["resourceClaims"] == pod_claims
    with pytest.raises(AssertionError, match="'claims' was unexpected"):
        release(spec, ("1.25",))  # Kubernetes 1.25 has no resource claims, as documented


def test_a_wildcard_ingress_host_reaches_the_ingress() -> None:
    ingress = {
        "enabled": True,
        "hosts": [{"host": "*.example.com"}],
        "tls": [{"secretName": "wildcard-example", "hosts": ["*.example.com"]}],
    }
    objs = release({"ingress": ingress})
    [rendered] = find(objs, "Ingress")
    assert [rule["host"] for rule in rendered["spec"]["rules"]] == ["*.example.com"]
    assert rendered["spec"]["tls"][0]["hosts"] == ["*.example.com"]


def test_a_decision_on_an_endpoint_lora_passes_the_router() -> None:
    endpoint = {**ENDPOINT, "loras": [{"name": "sql"}]}
    refs = [{"model": endpoint["model"], "lora_name": "sql"}]
    decision = {"name": "sql", "priority": 10, "modelRefs": refs}
    parsed = models.parse_spec({"vllmEndpoints": [endpoint], "config": {"decisions": [decision]}})
    resolved = [offline_result(BackendRef.from_endpoint(endpoint), NAMESPACE)]
    built = values.build(
        parsed,
        [r for r in resolved if r],
        Platform.KUBERNETES,
        chart_defaults=values.read_chart_defaults(CHART),
    )
    objs = render(values=built, release=RELEASE, namespace=NAMESPACE)
    [router] = configmaps_with_key(objs, "config.yaml")
    validate_router_config(router["data"]["config.yaml"])
    assert router_config(objs)["routing"]["decisions"][0]["modelRefs"][0]["lora_name"] == "sql"
