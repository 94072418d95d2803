"""The SemanticRouter models: defaults, wire names, thresholds, and every rule enforced twice.

The table of invalid resources is checked against both enforcers: the CRD (OpenAPI schema
plus CEL rules, as the API server applies them) and the pydantic models the operator uses.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from semantic_router_operator import models
from semantic_router_operator.models import (
    SemanticRouterSpec,
    SemanticRouterStatus,
    SpecError,
    parse_spec,
    parse_status,
)

from tests.support import crdcheck

CRD = crdcheck.load_crd()

Mutation = Callable[[dict[str, Any]], None]


def base_router() -> dict[str, Any]:
    """A small valid SemanticRouter every invalid case starts from."""
    return {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": "r"},
        "spec": {
            "vllmEndpoints": [
                {
                    "name": "llama",
                    "model": "llama3-8b",
                    "backend": {"type": "kserve", "inferenceServiceName": "llama-3-8b"},
                }
            ],
            "config": {"semantic_cache": {"enabled": True, "backend_type": "memory"}},
        },
    }


def backend(router: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = router["spec"]["vllmEndpoints"][0]["backend"]
    return spec


def cache(router: dict[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = router["spec"]["config"]["semantic_cache"]
    return section


@dataclass(frozen=True)
class Invalid:
    """An invalid resource and how each enforcer must name the problem."""

    mutate: Mutation
    crd_path: str
    crd_message: str
    model_path: str
    model_message: str


def rule(mutate: Mutation, path: str, message: str) -> Invalid:
    """A cross-field rule: both enforcers report the same message at the same place."""
    return Invalid(mutate, path, message, path, message)


def set_path(path: str, value: Any) -> Mutation:
    def mutate(router: dict[str, Any]) -> None:
        node = router
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return mutate


def apply(*mutations: Mutation) -> Mutation:
    def mutate(router: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(router)

    return mutate


def without_backend_field(name: str, type_: str, **fields: Any) -> Mutation:
    def mutate(router: dict[str, Any]) -> None:
        router["spec"]["vllmEndpoints"][0]["backend"] = {"type": type_, **fields}

    return mutate


def duplicate_endpoint(router: dict[str, Any]) -> None:
    router["spec"]["vllmEndpoints"].append(copy.deepcopy(router["spec"]["vllmEndpoints"][0]))


def too_many_endpoints(router: dict[str, Any]) -> None:
    template = router["spec"]["vllmEndpoints"][0]
    router["spec"]["vllmEndpoints"] = [
        {**copy.deepcopy(template), "name": f"e{i}"} for i in range(models.MAX_ENDPOINTS + 1)
    ]


def cache_backend(kind: str, **sections: Any) -> Mutation:
    def mutate(router: dict[str, Any]) -> None:
        cache(router)["backend_type"] = kind
        cache(router).update(sections)

    return mutate


def endpoint_field(name: str, value: Any) -> Mutation:
    def mutate(router: dict[str, Any]) -> None:
        router["spec"]["vllmEndpoints"][0][name] = value

    return mutate


EP = "spec.vllmEndpoints[0]"
SC = "spec.config.semantic_cache"

INVALID: dict[str, Invalid] = {
    "a decision with an action": Invalid(
        set_path(
            "spec.config.decisions",
            [{"name": "d", "priority": 1, "action": {"type": "route", "destination": "x"}}],
        ),
        "spec.config.decisions[0]",
        models.RULE_NO_DECISION_ACTION.message,
        "spec.config.decisions[0].action",
        models.RULE_NO_DECISION_ACTION.message,
    ),
    "management API exposed without a token": rule(
        set_path("spec.managementApi", {"expose": True}),
        "spec.managementApi",
        models.RULE_MANAGEMENT_TOKENS.message,
    ),
    "podLabels overriding the selector's name": rule(
        set_path("spec.podLabels", {"app.kubernetes.io/name": "other", "team": "a"}),
        "spec.podLabels",
        models.RULE_POD_LABELS.message,
    ),
    "podLabels overriding the selector's instance": rule(
        set_path("spec.podLabels", {"app.kubernetes.io/instance": "other"}),
        "spec.podLabels",
        models.RULE_POD_LABELS.message,
    ),
    "kserve backend without inferenceServiceName": rule(
        without_backend_field("inferenceServiceName", "kserve"),
        f"{EP}.backend",
        models.RULE_KSERVE.message,
    ),
    "kserve backend with an empty inferenceServiceName": Invalid(
        without_backend_field("inferenceServiceName", "kserve", inferenceServiceName=""),
        f"{EP}.backend.inferenceServiceName",
        "does not match",
        f"{EP}.backend.inferenceServiceName",
        "String should match pattern",
    ),
    "llamastack backend without discoveryLabels": rule(
        without_backend_field("discoveryLabels", "llamastack"),
        f"{EP}.backend",
        models.RULE_LLAMASTACK.message,
    ),
    "llamastack backend with empty discoveryLabels": rule(
        without_backend_field("discoveryLabels", "llamastack", discoveryLabels={}),
        f"{EP}.backend",
        models.RULE_LLAMASTACK.message,
    ),
    "service backend without service": rule(
        without_backend_field("service", "service"),
        f"{EP}.backend",
        models.RULE_SERVICE.message,
    ),
    "service backend without port": rule(
        without_backend_field("service", "service", service={"name": "vllm"}),
        f"{EP}.backend",
        models.RULE_SERVICE.message,
    ),
    "service backend without name": rule(
        without_backend_field("service", "service", service={"port": 8000}),
        f"{EP}.backend",
        models.RULE_SERVICE.message,
    ),
    "autoscaling minReplicas above maxReplicas": rule(
        set_path("spec.autoscaling", {"enabled": True, "minReplicas": 5, "maxReplicas": 2}),
        "spec.autoscaling",
        models.RULE_AUTOSCALING_RANGE.message,
    ),
    "duplicate endpoint names": rule(
        duplicate_endpoint, "spec.vllmEndpoints", models.RULE_UNIQUE_ENDPOINTS.message
    ),
    "redis cache without connection host": rule(
        cache_backend("redis", redis={"connection": {"port": 6379}}),
        SC,
        models.RULE_REDIS_HOST.message,
    ),
    "redis cache without redis section": rule(
        cache_backend("redis"), SC, models.RULE_REDIS_HOST.message
    ),
    "milvus cache without connection host": rule(
        cache_backend("milvus", milvus={"connection": {"port": 19530}}),
        SC,
        models.RULE_MILVUS_HOST.message,
    ),
    "hybrid cache without milvus": rule(
        cache_backend("hybrid", hnsw={"use_hnsw": True}), SC, models.RULE_HYBRID_MILVUS.message
    ),
    "hybrid cache with a redis block": rule(
        cache_backend(
            "hybrid",
            milvus={"connection": {"host": "milvus"}},
            redis={"connection": {"host": "redis"}},
        ),
        SC,
        models.RULE_CACHE_ONE_BACKEND.message,
    ),
    "valkey cache without connection host": rule(
        cache_backend("valkey", valkey={"connection": {"port": 6379}}),
        SC,
        models.RULE_VALKEY_HOST.message,
    ),
    "qdrant cache without host": rule(
        cache_backend("qdrant", qdrant={"port": 6334}), SC, models.RULE_QDRANT_HOST.message
    ),
    "memory cache with a qdrant block": rule(
        cache_backend("memory", qdrant={"host": "qdrant"}),
        SC,
        models.RULE_CACHE_ONE_BACKEND.message,
    ),
    "valkey cache with tls": rule(
        cache_backend("valkey", valkey={"connection": {"host": "v", "tls": {"enabled": True}}}),
        f"{SC}.valkey.connection",
        models.RULE_VALKEY_NO_TLS.message,
    ),
    "milvus cache with tls": rule(
        cache_backend("milvus", milvus={"connection": {"host": "m", "tls": {"enabled": True}}}),
        f"{SC}.milvus.connection",
        models.RULE_MILVUS_NO_TLS.message,
    ),
    "redis cache with tls": rule(
        cache_backend("redis", redis={"connection": {"host": "r", "tls": {"enabled": True}}}),
        f"{SC}.redis.connection",
        models.RULE_REDIS_NO_TLS.message,
    ),
    "a container claim the pod does not declare": rule(
        set_path("spec.resources", {"claims": [{"name": "gpu"}]}),
        "spec",
        models.RULE_CLAIMS_DECLARED.message,
    ),
    "a ReadWriteOncePod claim with two replicas": rule(
        apply(
            set_path("spec.persistence", {"accessMode": "ReadWriteOncePod"}),
            set_path("spec.replicas", 2),
        ),
        "spec",
        models.RULE_ONE_POD_CLAIM.message,
    ),
    "a ReadWriteOncePod claim an autoscaler may share": rule(
        apply(
            set_path("spec.persistence", {"accessMode": "ReadWriteOncePod"}),
            set_path("spec.autoscaling", {"enabled": True, "maxReplicas": 3}),
        ),
        "spec",
        models.RULE_ONE_POD_CLAIM.message,
    ),
    "a pod resource claim with two sources": rule(
        set_path(
            "spec.resourceClaims",
            [{"name": "gpu", "resourceClaimName": "a", "resourceClaimTemplateName": "b"}],
        ),
        "spec.resourceClaims[0]",
        models.RULE_ONE_CLAIM_SOURCE.message,
    ),
    "existingClaim with a storageClassName": rule(
        set_path("spec.persistence", {"existingClaim": "models", "storageClassName": "gp3"}),
        "spec.persistence",
        models.RULE_EXISTING_CLAIM.message,
    ),
    "existingClaim with a non-default size": rule(
        set_path("spec.persistence", {"existingClaim": "models", "size": "50Gi"}),
        "spec.persistence",
        models.RULE_EXISTING_CLAIM.message,
    ),
    "both PDB minAvailable and maxUnavailable": rule(
        set_path(
            "spec.podDisruptionBudget", {"enabled": True, "minAvailable": 1, "maxUnavailable": 1}
        ),
        "spec.podDisruptionBudget",
        models.RULE_PDB_EXCLUSIVE.message,
    ),
    "passthrough route serving plain HTTP": rule(
        set_path(
            "spec.openshift",
            {
                "routes": {
                    "enabled": True,
                    "tls": {"termination": "passthrough", "insecureEdgeTerminationPolicy": "Allow"},
                }
            },
        ),
        "spec.openshift.routes.tls",
        models.RULE_PASSTHROUGH_INSECURE.message,
    ),
    "ingress without hosts": rule(
        set_path("spec.ingress", {"enabled": True}),
        "spec.ingress",
        models.RULE_INGRESS_HOSTS.message,
    ),
    "bad pull policy": Invalid(
        set_path("spec.image", {"pullPolicy": "Sometimes"}),
        "spec.image.pullPolicy",
        "is not one of",
        "spec.image.pullPolicy",
        "Input should be 'Always', 'IfNotPresent' or 'Never'",
    ),
    "bad backend type": Invalid(
        without_backend_field("type", "nim"),
        f"{EP}.backend.type",
        "is not one of",
        f"{EP}.backend.type",
        "Input should be 'kserve', 'llamastack' or 'service'",
    ),
    "bad route termination": Invalid(
        set_path("spec.openshift", {"routes": {"tls": {"termination": "edgy"}}}),
        "spec.openshift.routes.tls.termination",
        "is not one of",
        "spec.openshift.routes.tls.termination",
        "Input should be 'edge', 'passthrough' or 'reencrypt'",
    ),
    "bad cache backend": Invalid(
        cache_backend("disk"),
        f"{SC}.backend_type",
        "is not one of",
        f"{SC}.backend_type",
        "Input should be 'memory', 'redis', 'valkey', 'milvus', 'qdrant' or 'hybrid'",
    ),
    "replicas written as a word": Invalid(
        set_path("spec.replicas", "two"),
        "spec.replicas",
        "is not of type 'integer'",
        "spec.replicas",
        "Input should be a valid integer",
    ),
    "negative replicas": Invalid(
        set_path("spec.replicas", -1),
        "spec.replicas",
        "less than the minimum of 0",
        "spec.replicas",
        "greater than or equal to 0",
    ),
    "service port out of range": Invalid(
        set_path("spec.service", {"api": {"port": 70000}}),
        "spec.service.api.port",
        "greater than the maximum of 65535",
        "spec.service.api.port",
        "less than or equal to 65535",
    ),
    "endpoint name that is not a DNS label": Invalid(
        endpoint_field("name", "Llama_3"),
        f"{EP}.name",
        "does not match",
        f"{EP}.name",
        "String should match pattern",
    ),
    "threshold written as a word": Invalid(
        set_path("spec.config.bert_model", {"threshold": "high"}),
        "spec.config.bert_model.threshold",
        "does not match",
        "spec.config.bert_model.threshold",
        'must be a number between 0 and 1 such as 0.6 or "0.6"',
    ),
    "threshold above one": Invalid(
        set_path("spec.config.bert_model", {"threshold": 1.5}),
        "spec.config.bert_model.threshold",
        "greater than the maximum of 1",
        "spec.config.bert_model.threshold",
        "less than or equal to 1",
    ),
    "resource quantity that is not a quantity": Invalid(
        set_path("spec.resources", {"limits": {"memory": "lots"}}),
        "spec.resources.limits.memory",
        "does not match",
        "spec.resources.limits.memory",
        "must be a Kubernetes quantity",
    ),
    "plain redis password": Invalid(
        cache_backend("redis", redis={"connection": {"host": "redis", "password": "hunter2"}}),
        f"{SC}.redis.connection.password",
        f'unknown field "{SC}.redis.connection.password"',
        f"{SC}.redis.connection.password",
        "plain passwords are not accepted",
    ),
    "misspelt spec field": Invalid(
        set_path("spec.replica", 2),
        "spec.replica",
        'unknown field "spec.replica"',
        "spec.replica",
        "unknown field",
    ),
    "more endpoints than the CRD allows": Invalid(
        too_many_endpoints,
        "spec.vllmEndpoints",
        "is too long",
        "spec.vllmEndpoints",
        f"at most {models.MAX_ENDPOINTS} items",
    ),
    "secret reference without key": Invalid(
        cache_backend(
            "redis",
            redis={"connection": {"host": "redis", "password_secret_ref": {"name": "creds"}}},
        ),
        f"{SC}.redis.connection.password_secret_ref.key",
        "Required value",
        f"{SC}.redis.connection.password_secret_ref.key",
        "Field required",
    ),
    "ingress path type that does not exist": Invalid(
        set_path(
            "spec.ingress", {"hosts": [{"host": "r.example.com", "paths": [{"pathType": "Glob"}]}]}
        ),
        "spec.ingress.hosts[0].paths[0].pathType",
        "is not one of",
        "spec.ingress.hosts[0].paths[0].pathType",
        "Input should be",
    ),
}


def invalid_router(case: Invalid) -> dict[str, Any]:
    router = base_router()
    case.mutate(router)
    return router


def test_base_router_is_valid_for_both_enforcers() -> None:
    router = base_router()
    assert crdcheck.admission_problems(CRD, router) == []
    parse_spec(router["spec"])


@pytest.mark.parametrize(
    "spec",
    [
        {"persistence": {"accessMode": "ReadWriteOncePod"}},
        {
            "persistence": {"accessMode": "ReadWriteOncePod"},
            "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 1},
            "replicas": 3,
        },
        {"persistence": {"accessMode": "ReadWriteOncePod", "existingClaim": "m"}, "replicas": 2},
        {"persistence": {"accessMode": "ReadWriteOncePod", "enabled": False}, "replicas": 2},
        {"persistence": {"accessMode": "ReadWriteMany"}, "replicas": 2},
    ],
    ids=["one-replica", "autoscaler-of-one", "existing-claim", "no-claim", "read-write-many"],
)
def test_a_claim_one_pod_can_mount_is_admitted_when_one_pod_mounts_it(spec: dict[str, Any]) -> None:
    router = base_router()
    router["spec"].update(spec)
    assert crdcheck.admission_problems(CRD, router) == []
    parse_spec(router["spec"])


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_router_is_refused_by_the_crd(name: str) -> None:
    case = INVALID[name]
    problems = crdcheck.admission_problems(CRD, invalid_router(case))
    assert any(p.path == case.crd_path and case.crd_message in p.message for p in problems), (
        problems
    )


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_router_is_refused_by_the_models_naming_the_field(name: str) -> None:
    case = INVALID[name]
    with pytest.raises(SpecError) as refused:
        parse_spec(invalid_router(case)["spec"])
    errors = refused.value.errors
    assert any(e.path == case.model_path and case.model_message in e.message for e in errors), (
        errors
    )


def test_every_cross_field_rule_has_an_invalid_case() -> None:
    covered = {case.crd_message for case in INVALID.values()}
    assert {r.message for r in models.RULES} <= covered


def test_an_empty_spec_gets_the_documented_defaults() -> None:
    spec = SemanticRouterSpec()
    assert spec.image.repository == "ghcr.io/vllm-project/semantic-router/extproc"
    assert spec.image.tag is None  # the chart's appVersion
    assert spec.image.pull_policy == "IfNotPresent"
    assert spec.replicas == 1
    assert (spec.service.grpc.port, spec.service.api.port, spec.service.metrics.port) == (
        50051,
        8080,
        9190,
    )
    assert spec.service.metrics.enabled is True
    assert spec.persistence.size == "10Gi"
    assert spec.persistence.access_mode == "ReadWriteOnce"
    assert spec.autoscaling.enabled is False
    assert spec.pod_disruption_budget.enabled is False
    assert spec.service_monitor.enabled is False
    assert spec.gateway_mode == "standalone"


def test_dump_uses_the_wire_names_of_the_chart_values() -> None:
    spec = parse_spec(
        {
            "imagePullSecrets": [{"name": "ghcr-secret"}],
            "persistence": {"existingClaim": "models"},
            "serviceAccount": {"create": False, "name": "router"},
            "vllmEndpoints": [
                {
                    "name": "a",
                    "model": "m",
                    "reasoningFamily": "qwen3",
                    "backend": {"type": "service", "service": {"name": "s", "port": 80}},
                }
            ],
            "config": {"bert_model": {"model_id": "m", "use_cpu": True}},
        }
    )
    values = spec.to_dict()
    assert values["imagePullSecrets"] == [{"name": "ghcr-secret"}]
    assert values["persistence"]["existingClaim"] == "models"
    assert values["serviceAccount"] == {"create": False, "name": "router"}
    assert values["vllmEndpoints"][0]["reasoningFamily"] == "qwen3"
    assert values["config"] == {"bert_model": {"model_id": "m", "use_cpu": True}}
    assert values == spec.model_dump(mode="json", exclude_none=True)


def test_fields_can_be_set_by_python_name_too() -> None:
    spec = SemanticRouterSpec.model_validate({"image_pull_secrets": [{"name": "x"}]})
    assert spec.to_dict()["imagePullSecrets"] == [{"name": "x"}]


@pytest.mark.parametrize(
    ("written", "parsed"),
    [(0.6, 0.6), ("0.6", 0.6), ("0.60", 0.6), (" 0.85 ", 0.85), (1, 1.0), ("1", 1.0), (0, 0.0)],
)
def test_thresholds_accept_numbers_and_numeric_strings_as_floats(
    written: object, parsed: float
) -> None:
    spec = parse_spec({"config": {"bert_model": {"threshold": written}}})
    assert spec.config is not None and spec.config.bert_model is not None
    threshold = spec.config.bert_model.threshold
    assert isinstance(threshold, float)
    assert threshold == parsed
    assert spec.to_dict()["config"]["bert_model"]["threshold"] == parsed


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_any_threshold_between_zero_and_one_round_trips_as_a_string(value: float) -> None:
    written = format(Decimal(repr(value)), "f")
    spec = parse_spec({"config": {"semantic_cache": {"similarity_threshold": written}}})
    assert spec.config is not None and spec.config.semantic_cache is not None
    assert spec.config.semantic_cache.similarity_threshold == value


NOT_RATIOS: list[object] = [True, "nan", "inf", "0.6.1", "", "1e-1", "+0.5", -0.1, 1.01, "1.01"]


@pytest.mark.parametrize("written", [*NOT_RATIOS, float("nan")])
def test_thresholds_refuse_what_is_not_a_number_between_zero_and_one(written: object) -> None:
    with pytest.raises(SpecError, match=r"spec\.config\.tools\.similarity_threshold"):
        parse_spec({"config": {"tools": {"similarity_threshold": written}}})


@pytest.mark.parametrize("written", [w for w in NOT_RATIOS if not isinstance(w, bool)])
def test_the_crd_refuses_the_same_thresholds_as_the_models(written: object) -> None:
    router = base_router()
    router["spec"]["config"]["tools"] = {"similarity_threshold": written}
    problems = crdcheck.admission_problems(CRD, router)
    assert [p.path for p in problems] == ["spec.config.tools.similarity_threshold"]


def test_config_keeps_router_sections_it_does_not_model() -> None:
    sections = {"providers": {"defaults": {"model": "m"}}, "global": {"router": {"x": 1}}}
    spec = parse_spec({"config": sections})
    assert spec.config is not None
    assert spec.config.extra_sections == sections
    assert spec.to_dict()["config"] == sections


def test_typed_routing_sections_round_trip_as_written() -> None:
    routing = {"decisions": [{"name": "default", "priority": 1, "modelRefs": [{"model": "m"}]}]}
    config = {"routing": routing, "default_reasoning_effort": "medium", "strategy": "priority"}
    spec = parse_spec({"config": config})
    assert spec.config is not None and not spec.config.extra_sections
    assert spec.to_dict()["config"] == config


def test_documented_config_sections_refuse_unknown_keys() -> None:
    with pytest.raises(SpecError, match=r"spec\.config\.bert_model\.modelid: unknown field"):
        parse_spec({"config": {"bert_model": {"modelid": "m"}}})


def test_secret_references_are_kept_as_references() -> None:
    spec = parse_spec(
        {
            "config": {
                "semantic_cache": {
                    "backend_type": "redis",
                    "redis": {
                        "connection": {
                            "host": "redis",
                            "password_secret_ref": {"name": "redis-credentials", "key": "password"},
                        }
                    },
                }
            }
        }
    )
    connection = spec.to_dict()["config"]["semantic_cache"]["redis"]["connection"]
    assert connection["password_secret_ref"] == {"name": "redis-credentials", "key": "password"}


def test_spec_error_names_every_bad_field() -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec({"replicas": -1, "image": {"pullPolicy": "Sometimes"}})
    paths = [error.path for error in refused.value.errors]
    assert paths == ["spec.image.pullPolicy", "spec.replicas"]
    assert str(refused.value).startswith("spec.image.pullPolicy: Input should be")


def test_gateway_mode_follows_the_existing_gateway_reference() -> None:
    spec = parse_spec({"gateway": {"existingRef": {"name": "gw", "namespace": "istio-system"}}})
    assert spec.gateway_mode == "gateway-integration"
    assert parse_spec({"gateway": {}}).gateway_mode == "standalone"


def test_a_spec_that_does_not_parse_still_has_a_gateway_mode() -> None:
    invalid = {"gateway": {"existingRef": {"name": "gw"}}, "replicas": "many"}
    with pytest.raises(models.SpecError):
        parse_spec(invalid)
    assert models.gateway_mode_of(invalid) == "gateway-integration"
    assert models.gateway_mode_of({"replicas": "many"}) == "standalone"
    assert models.gateway_mode_of({"gateway": {"existingRef": {}}}) == "standalone"


def test_status_round_trips_in_its_wire_shape() -> None:
    wire = {
        "phase": "Running",
        "replicas": 2,
        "readyReplicas": 2,
        "observedGeneration": 3,
        "gatewayMode": "standalone",
        "openshiftFeatures": {
            "routesEnabled": True,
            "routeHostname": "semantic-router-default.apps.openshift.example.com",
        },
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Deployed",
                "message": "2/2 pods ready",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
                "observedGeneration": 3,
            }
        ],
        "release": {
            "name": "r",
            "revision": 4,
            "chartVersion": "0.1.0",
            "status": "deployed",
            "digest": "sha256:abc",
        },
        "backends": [
            {
                "name": "llama",
                "type": "kserve",
                "host": "llama-3-8b-predictor.default.svc.cluster.local",
                "port": 8443,
                "protocol": "https",
                "resolved": True,
            }
        ],
    }
    status = parse_status(wire)
    assert status.to_dict() == wire
    assert (
        crdcheck.schema_problems(
            CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"], wire
        )
        == []
    )


def test_status_of_a_new_resource_is_empty() -> None:
    assert parse_status(None) == SemanticRouterStatus()


@pytest.mark.parametrize(
    ("field", "value"),
    [("phase", "Exploding"), ("gatewayMode", "sidecar")],
)
def test_status_refuses_values_outside_its_vocabulary(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        parse_status({field: value})


def test_condition_status_is_true_false_or_unknown() -> None:
    condition = {"type": "Ready", "status": "Maybe", "reason": "X", "lastTransitionTime": "t"}
    with pytest.raises(ValidationError):
        parse_status({"conditions": [condition]})


DOCUMENTED_FRAGMENTS = {
    "high availability": """
replicas: 3
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchLabels:
            app.kubernetes.io/instance: prod-router
        topologyKey: kubernetes.io/hostname
autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 20, targetCPUUtilizationPercentage: 70}
resources:
  limits: {memory: "10Gi", cpu: "4"}
  requests: {memory: "5Gi", cpu: "2"}
livenessProbe: {enabled: true, initialDelaySeconds: 60, periodSeconds: 30, failureThreshold: 3}
readinessProbe: {enabled: true, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 3}
""",
    "security context override": """
securityContext:
  runAsNonRoot: true
  runAsUser: 2000
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}
podSecurityContext: {runAsNonRoot: true, runAsUser: 2000, fsGroup: 2000}
""",
    "image configuration": """
image:
  repository: ghcr.io/vllm-project/semantic-router/extproc
  tag: latest
  pullPolicy: IfNotPresent
  imageRegistry: ""
imagePullSecrets:
  - name: ghcr-secret
""",
    "model download token": """
env:
  - name: HF_TOKEN
    valueFrom:
      secretKeyRef: {name: hf-token-secret, key: token}
""",
    "tracing": """
config:
  observability:
    tracing:
      enabled: true
      provider: "opentelemetry"
      exporter: {type: "otlp", endpoint: "jaeger-collector:4317", insecure: true}
      sampling: {type: "always_on", rate: 1.0}
""",
    "embedding model of the cache": """
config:
  semantic_cache:
    embedding_model: bert
""",
    "storage class only": """
persistence:
  storageClassName: "your-available-storage-class"
""",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_FRAGMENTS))
def test_spec_fragments_of_the_user_documentation_are_accepted(name: str) -> None:
    spec = yaml.safe_load(DOCUMENTED_FRAGMENTS[name])
    router = {**base_router(), "spec": spec}
    router["spec"].setdefault("vllmEndpoints", base_router()["spec"]["vllmEndpoints"])
    assert crdcheck.admission_problems(CRD, router) == []
    parse_spec(router["spec"])


def test_an_argument_the_router_does_not_define_is_refused_naming_it() -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec({"args": ["--enable-api=true", "--enable-system-prompt-api=false"]})
    [error] = refused.value.errors
    assert error.path == "spec.args"
    assert "--enable-system-prompt-api=false" in error.message
    assert "defines no such flag" in error.message


def test_the_routers_own_flags_and_their_values_are_accepted() -> None:
    args = ["--port", "50051", "--metrics-port=9190", "-enable-api=false", "--secure"]
    assert parse_spec({"args": args}).args == args


def test_config_is_left_to_the_image_entrypoint() -> None:
    with pytest.raises(SpecError) as refused:
        parse_spec({"args": ["--config=/tmp/x.yaml"]})
    assert "entrypoint" in refused.value.errors[0].message
