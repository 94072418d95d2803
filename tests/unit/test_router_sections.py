"""The fields upstream's operator has: checked by the models and the CRD alike, each naming the
field at fault, and each documented for `kubectl explain`."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from semantic_router_operator import crd as crdgen
from semantic_router_operator import routerconfig
from semantic_router_operator.models import SpecError, parse_spec

from tests.support import crdcheck

CRD = crdgen.render_crd()
SCHEMA = crdcheck.openapi_schema(CRD)["properties"]["spec"]


def router(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": "r", "namespace": "team-a"},
        "spec": spec,
    }


def refused_by_both(spec: dict[str, Any], path: str) -> None:
    """The models and the CRD both refuse `spec`, naming `path`."""
    with pytest.raises(SpecError) as refused:
        parse_spec(copy.deepcopy(spec))
    assert path in [error.path for error in refused.value.errors], refused.value.errors
    problems = crdcheck.admission_problems(CRD, router(spec))
    assert any(p.path.startswith(path) for p in problems), [str(p) for p in problems]


def admitted_by_both(spec: dict[str, Any]) -> None:
    parse_spec(copy.deepcopy(spec))
    problems = crdcheck.admission_problems(CRD, router(spec))
    assert problems == [], [str(p) for p in problems]


def explain(path: str) -> str:
    """What `kubectl explain semanticrouter.spec.<path>` prints as the description."""
    node = SCHEMA
    for part in path.split("."):
        if node.get("type") == "array":
            node = node["items"]
        node = node["properties"][part]
    description: str = node["description"]
    return description


GUARD = {
    "enabled": True,
    "variant": "candle",
    "on_error": "block",
    "positive_labels": ["jailbreak"],
}


def test_prompt_guard_takes_variant_on_error_and_positive_labels_to_the_router() -> None:
    admitted_by_both({"config": {"prompt_guard": GUARD}})
    config = parse_spec({"config": {"prompt_guard": GUARD}}).config
    assert config is not None
    canonical = routerconfig.to_canonical(config.to_dict()).config
    guard = canonical["global"]["model_catalog"]["modules"]["prompt_guard"]
    assert {k: guard[k] for k in GUARD} == GUARD


def test_a_prompt_guard_variant_the_router_lacks_is_refused_naming_it() -> None:
    refused_by_both(
        {"config": {"prompt_guard": {"variant": "onnx"}}}, "spec.config.prompt_guard.variant"
    )


def test_a_prompt_guard_protocol_is_admitted_but_refused_with_the_fix_before_deploying() -> None:
    spec = {"config": {"prompt_guard": {"enabled": True, "protocol": "http_chat"}}}
    admitted_by_both(spec)
    config = parse_spec(spec).config
    assert config is not None
    with pytest.raises(routerconfig.RouterConfigError) as refused:
        routerconfig.to_canonical(config.to_dict())
    assert refused.value.field == "spec.config.prompt_guard.protocol"
    assert "global.model_catalog.external" in refused.value.message


@pytest.mark.parametrize("backend", ["valkey", "qdrant"])
def test_valkey_and_qdrant_are_cache_backends(backend: str) -> None:
    block = (
        {"connection": {"host": "valkey.cache.svc", "port": 6379}}
        if backend == "valkey"
        else {"host": "qdrant.cache.svc", "port": 6334}
    )
    for section in ("semantic_cache", "response_cache"):
        admitted_by_both({"config": {section: {"backend_type": backend, backend: block}}})


def test_secret_refs_may_be_optional_as_kubernetes_secret_key_refs_are() -> None:
    ref = {"name": "valkey-credentials", "key": "password", "optional": True}
    spec: dict[str, Any] = {
        "config": {
            "response_cache": {
                "backend_type": "valkey",
                "valkey": {"connection": {"host": "v", "password_secret_ref": ref}},
            }
        }
    }
    admitted_by_both(spec)
    spec["config"]["response_cache"]["valkey"]["connection"]["password_secret_ref"] = {
        **ref,
        "optional": "maybe",
    }
    refused_by_both(
        spec, "spec.config.response_cache.valkey.connection.password_secret_ref.optional"
    )


def test_a_literal_qdrant_api_key_is_refused_with_the_secret_ref_to_use() -> None:
    spec: dict[str, Any] = {
        "config": {"response_cache": {"backend_type": "qdrant", "qdrant": {"host": "q"}}}
    }
    spec["config"]["response_cache"]["qdrant"]["api_key"] = "s3cr3t"
    with pytest.raises(SpecError) as refused:
        parse_spec(spec)
    assert [e.path for e in refused.value.errors] == ["spec.config.response_cache.qdrant.api_key"]
    assert "s3cr3t" not in str(refused.value)


def test_duration_buckets_take_numbers_and_numeric_strings_and_give_numbers() -> None:
    buckets = ["0.001", "0.5", 1, "2.5", 30]
    spec = {"config": {"api": {"batch_classification": {"metrics": {"duration_buckets": buckets}}}}}
    admitted_by_both(spec)
    config = parse_spec(spec).config
    assert config is not None
    written = config.to_dict()["api"]["batch_classification"]["metrics"]["duration_buckets"]
    assert written == [0.001, 0.5, 1.0, 2.5, 30.0]
    spec["config"]["api"]["batch_classification"]["metrics"]["duration_buckets"] = ["fast"]
    refused_by_both(spec, "spec.config.api.batch_classification.metrics.duration_buckets[0]")


def test_decisions_and_complexity_rules_are_checked_at_admission() -> None:
    decision = {"name": "math", "priority": 10, "modelRefs": [{"model": "m"}]}
    rule = {"name": "hard-code", "hard": {"candidates": ["a"]}, "easy": {"candidates": ["b"]}}
    admitted_by_both({"config": {"decisions": [decision], "complexity_rules": [rule]}})
    refused_by_both(
        {"config": {"decisions": [{"name": "math"}]}}, "spec.config.decisions[0].priority"
    )
    refused_by_both(
        {"config": {"complexity_rules": [{"name": "x", "hard": {"candidates": ["a"]}}]}},
        "spec.config.complexity_rules[0].easy",
    )
    refused_by_both(
        {"config": {"routing": {"decisions": [{**decision, "modelref": []}]}}},
        "spec.config.routing.decisions[0].modelref",
    )


def test_strategy_and_default_reasoning_effort_take_the_router_values_only() -> None:
    admitted_by_both({"config": {"strategy": "priority", "default_reasoning_effort": "high"}})
    refused_by_both({"config": {"strategy": "fastest"}}, "spec.config.strategy")
    refused_by_both(
        {"config": {"default_reasoning_effort": "max"}}, "spec.config.default_reasoning_effort"
    )


def test_embedding_models_refuse_a_misspelt_key() -> None:
    admitted_by_both({"config": {"embedding_models": {"mmbert_model_path": "models/m"}}})
    refused_by_both(
        {"config": {"embedding_models": {"mmbert_path": "models/m"}}},
        "spec.config.embedding_models.mmbert_path",
    )


def test_service_ports_take_the_tcp_protocol_only() -> None:
    admitted_by_both({"service": {"grpc": {"protocol": "TCP"}, "metrics": {"protocol": "TCP"}}})
    refused_by_both({"service": {"api": {"protocol": "UDP"}}}, "spec.service.api.protocol")


POD_CLAIMS = [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]


def test_resource_claims_name_a_claim_the_pod_declares() -> None:
    claims = {"claims": [{"name": "gpu", "request": "a100"}]}
    admitted_by_both({"resources": claims, "resourceClaims": POD_CLAIMS})
    admitted_by_both({"envoy": {"resources": claims}, "resourceClaims": POD_CLAIMS})
    refused_by_both({"resources": claims}, "spec")
    refused_by_both({"envoy": {"resources": claims}}, "spec")
    claim_without_name = {"resources": {"claims": [{"request": "a100"}]}}
    refused_by_both(claim_without_name, "spec.resources.claims[0].name")


def test_a_pod_resource_claim_takes_exactly_one_source() -> None:
    both = [{"name": "gpu", "resourceClaimName": "a", "resourceClaimTemplateName": "b"}]
    refused_by_both({"resourceClaims": both}, "spec.resourceClaims[0]")
    refused_by_both({"resourceClaims": [{"name": "gpu"}]}, "spec.resourceClaims[0]")


def test_ingress_hosts_may_be_wildcards() -> None:
    ingress = {"enabled": True, "hosts": [{"host": "*.example.com"}]}
    ingress["tls"] = [{"secretName": "wildcard", "hosts": ["*.example.com"]}]
    admitted_by_both({"ingress": ingress})
    refused_by_both(
        {"ingress": {"enabled": True, "hosts": [{"host": "*"}]}}, "spec.ingress.hosts[0].host"
    )


@pytest.mark.parametrize(
    "path",
    [
        "config.prompt_guard.variant",
        "config.prompt_guard.protocol",
        "config.prompt_guard.on_error",
        "config.prompt_guard.positive_labels",
        "config.response_cache.valkey",
        "config.response_cache.qdrant.api_key_secret_ref",
        "config.response_cache.redis.connection.password_secret_ref.optional",
        "config.api.batch_classification.metrics.duration_buckets",
        "config.embedding_models",
        "config.complexity_rules",
        "config.decisions",
        "config.strategy",
        "config.routing",
        "config.default_reasoning_effort",
        "service.api.protocol",
        "resources.claims",
        "resourceClaims",
        "ingress.hosts",
    ],
)
def test_every_parity_field_has_a_kubectl_explain_description(path: str) -> None:
    assert len(explain(path)) > 20


def test_a_decision_action_is_refused_by_both_as_the_router_has_none() -> None:
    jailbreak = {"type": "jailbreak", "name": "jb"}
    decision = {
        "name": "block",
        "priority": 100,
        "rules": {"conditions": [jailbreak]},
        "action": {"type": "route", "destination": "refusal"},
    }
    for config, at in (
        ({"decisions": [decision]}, "spec.config.decisions[0]"),
        ({"routing": {"decisions": [decision]}}, "spec.config.routing.decisions[0]"),
    ):
        with pytest.raises(SpecError) as refused:
            parse_spec({"config": copy.deepcopy(config)})
        [error] = refused.value.errors
        assert error.path == f"{at}.action"
        assert "the router (v0.4.0) has no decision actions" in error.message
        problems = crdcheck.admission_problems(CRD, router({"config": config}))
        assert [(p.path, "remove action" in p.message) for p in problems] == [(at, True)]


LORA_ENDPOINT = {
    "name": "a",
    "model": "m",
    "loras": [{"name": "sql"}],
    "backend": {"type": "kserve", "inferenceServiceName": "m"},
}


def test_a_decision_naming_a_model_no_endpoint_serves_is_refused_naming_the_reference() -> None:
    decision = {"name": "d", "priority": 1, "modelRefs": [{"model": "m"}, {"model": "other"}]}
    with pytest.raises(SpecError) as refused:
        parse_spec({"vllmEndpoints": [LORA_ENDPOINT], "config": {"decisions": [decision]}})
    [error] = refused.value.errors
    assert error.path == "spec.config.decisions[0].modelRefs[1].model"
    assert "model 'other' is not a model the router serves (m)" in error.message


def test_a_decision_lora_must_be_one_of_its_models_adapters() -> None:
    decision = {"name": "d", "priority": 1, "modelRefs": [{"model": "m", "lora_name": "math"}]}
    with pytest.raises(SpecError) as refused:
        parse_spec(
            {"vllmEndpoints": [LORA_ENDPOINT], "config": {"routing": {"decisions": [decision]}}}
        )
    [error] = refused.value.errors
    assert error.path == "spec.config.routing.decisions[0].modelRefs[0].lora_name"
    decision["modelRefs"] = [{"model": "m", "lora_name": "sql"}]
    parse_spec({"vllmEndpoints": [LORA_ENDPOINT], "config": {"routing": {"decisions": [decision]}}})
