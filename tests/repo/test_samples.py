"""The samples in samples/: admitted by the CRD (schema and CEL), parsed by the models,
faithful to the user documentation, and together exercising every field of the spec."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import pytest
from semantic_router_operator.models import DNS1123_SUBDOMAIN, parse_spec

from tests.support import crdcheck

CRD = crdcheck.load_crd()
CHART_VALUES_SCHEMA = crdcheck.ROOT / "charts" / "semantic-router" / "values.schema.json"
SPEC_SCHEMA = crdcheck.openapi_schema(CRD)["properties"]["spec"]
PREFIX = "vllm.ai_v1alpha1_semanticrouter_"
SEED_SAMPLES = {
    "simple",
    "openshift",
    "gateway",
    "llamastack",
    "redis_cache",
    "milvus_cache",
    "hybrid_cache",
    "route",
}
SAMPLES = {
    path.name.removeprefix(PREFIX).removesuffix(".yaml"): path
    for path in sorted(crdcheck.SAMPLES_DIR.glob("*.yaml"))
}
# Fields that exclude one set in the full sample; another sample sets them.
ALTERNATIVES = {"spec.persistence.existingClaim", "spec.podDisruptionBudget.minAvailable"}
# Fields no sample sets: dynamic resource claims need a DRA driver and a ResourceClaimTemplate
# the samples cannot bring, and Kubernetes 1.31 or later. tests/unit/test_router_sections.py
# and tests/chart/test_parity_fields.py cover them.
NEED_A_DRA_DRIVER = {
    "spec.resourceClaims",
    "spec.resourceClaims[*].name",
    "spec.resourceClaims[*].resourceClaimName",
    "spec.resourceClaims[*].resourceClaimTemplateName",
    *(
        f"spec.{container}resources.claims{tail}"
        for container in ("", "envoy.")
        for tail in ("", "[*].name", "[*].request")
    ),
}


def sample(name: str) -> dict[str, Any]:
    return crdcheck.load_yaml(SAMPLES[name])


def spec_paths(schema: Mapping[str, Any], path: str = "spec") -> Iterator[str]:
    """Every named field of the spec schema, lists as [*]; free-form and map values excluded."""
    for name, prop in schema.get("properties", {}).items():
        child = f"{path}.{name}"
        yield child
        if prop.get("x-kubernetes-preserve-unknown-fields"):
            continue
        yield from spec_paths(prop, child)
        if isinstance(prop.get("items"), Mapping):
            yield from spec_paths(prop["items"], f"{child}[*]")


def value_paths(value: Any, path: str = "spec") -> Iterator[str]:
    """Every key path present in a spec, lists as [*]."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}"
            yield child
            yield from value_paths(item, child)
    elif isinstance(value, list):
        for item in value:
            yield from value_paths(item, f"{path}[*]")


def keys(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair nested anywhere in `value`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key), item
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


def test_there_is_a_sample_for_every_documented_scenario_and_a_full_one() -> None:
    assert set(SAMPLES) == SEED_SAMPLES | {"full"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_is_one_semanticrouter(name: str) -> None:
    router = sample(name)
    assert router["apiVersion"] == "vllm.ai/v1alpha1"
    assert router["kind"] == "SemanticRouter"
    assert re.match(DNS1123_SUBDOMAIN, router["metadata"]["name"])
    assert "namespace" not in router["metadata"], "samples apply to the current namespace"
    assert set(router) == {"apiVersion", "kind", "metadata", "spec"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_is_admitted_by_the_crd_schema_and_cel_rules(name: str) -> None:
    assert crdcheck.admission_problems(CRD, sample(name)) == []


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_parses_with_the_models(name: str) -> None:
    spec = parse_spec(sample(name)["spec"])
    assert spec.vllm_endpoints, "every sample routes to at least one model"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_means_the_same_before_and_after_api_server_defaulting(name: str) -> None:
    raw = sample(name)["spec"]
    defaulted = crdcheck.apply_defaults(SPEC_SCHEMA, raw)
    assert parse_spec(defaulted) == parse_spec(raw)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_holds_no_credentials(name: str) -> None:
    for key, value in keys(sample(name)["spec"]):
        assert key != "password", f"{name}: use password_secret_ref"
        if key == "env":
            for variable in value:
                secretish = re.search(r"TOKEN|PASSWORD|SECRET|KEY", variable["name"])
                assert not (secretish and "value" in variable), f"{name}: {variable['name']}"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_spec_is_accepted_as_chart_values(name: str) -> None:
    """The values contract: the spec is a values file (config is translated on the way)."""
    schema = json.loads(CHART_VALUES_SCHEMA.read_text())
    values = parse_spec(sample(name)["spec"]).to_dict()
    values.pop("config", None)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(values)]
    assert errors == []


def test_samples_together_set_every_field_of_the_spec() -> None:
    everywhere = {path for name in SAMPLES for path in value_paths(sample(name)["spec"])}
    assert set(spec_paths(SPEC_SCHEMA)) - everywhere == NEED_A_DRA_DRIVER


def test_full_sample_sets_every_field_but_the_alternatives_to_its_own() -> None:
    present = set(value_paths(sample("full")["spec"]))
    assert set(spec_paths(SPEC_SCHEMA)) - present == ALTERNATIVES | NEED_A_DRA_DRIVER


def test_full_sample_passes_a_router_section_through() -> None:
    spec = parse_spec(sample("full")["spec"])
    assert spec.config is not None
    assert spec.config.extra_sections == {"providers": {"defaults": {"reasoning_effort": "medium"}}}


def at(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        (
            "simple",
            "vllmEndpoints.0.backend",
            {"type": "kserve", "inferenceServiceName": "llama-3-8b"},
        ),
        (
            "simple",
            "persistence",
            {"enabled": True, "size": "10Gi", "storageClassName": "standard"},
        ),
        ("simple", "config.bert_model.threshold", "0.6"),
        ("simple", "toolsDb.0.tool.function.name", "get_weather"),
        ("openshift", "openshift.routes.tls.termination", "edge"),
        ("openshift", "securityContext.capabilities.drop", ["ALL"]),
        (
            "gateway",
            "gateway.existingRef",
            {"name": "istio-ingressgateway", "namespace": "istio-system"},
        ),
        ("gateway", "vllmEndpoints.1.backend.service", {"name": "vllm-qwen", "port": 8000}),
        (
            "llamastack",
            "vllmEndpoints.0.backend.discoveryLabels",
            {"app": "llama-stack", "model": "llama-3.3-70b"},
        ),
        ("redis_cache", "config.semantic_cache.backend_type", "redis"),
        (
            "redis_cache",
            "config.semantic_cache.redis.connection.password_secret_ref",
            {"name": "redis-credentials", "key": "password"},
        ),
        (
            "redis_cache",
            "config.semantic_cache.redis.index.params",
            {"M": 16, "efConstruction": 64},
        ),
        ("milvus_cache", "config.semantic_cache.backend_type", "milvus"),
        (
            "milvus_cache",
            "config.semantic_cache.milvus.connection.host",
            "milvus-standalone.default.svc.cluster.local",
        ),
        ("hybrid_cache", "config.semantic_cache.backend_type", "hybrid"),
        ("hybrid_cache", "config.semantic_cache.hnsw.hnsw_m", 32),
        ("route", "openshift.routes.hostname", "semantic-router.apps.openshift.example.com"),
        ("route", "openshift.routes.tls.insecureEdgeTerminationPolicy", "Redirect"),
    ],
)
def test_sample_follows_the_user_documentation(name: str, path: str, expected: Any) -> None:
    assert at(sample(name)["spec"], path) == expected


@pytest.mark.parametrize("name", ["openshift", "route"])
def test_openshift_samples_leave_user_ids_to_the_scc(name: str) -> None:
    spec = sample(name)["spec"]
    for context in ("securityContext", "podSecurityContext"):
        assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(spec.get(context, {}))


def test_gateway_sample_is_in_gateway_integration_mode() -> None:
    assert parse_spec(sample("gateway")["spec"]).gateway_mode == "gateway-integration"
    assert parse_spec(sample("simple")["spec"]).gateway_mode == "standalone"


def test_sample_files_are_named_after_the_resource_kind() -> None:
    for path in SAMPLES.values():
        assert path.name.startswith(PREFIX) and path.suffix == ".yaml"
