"""The generated SemanticRouter CRD: in sync with the models, structural, documented, valid."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from semantic_router_operator import crd as crdgen
from semantic_router_operator import models, router_sections

from tests.support import crdcheck

CRD = crdcheck.load_crd()
SCHEMA = crdcheck.openapi_schema(CRD)
SPEC = SCHEMA["properties"]["spec"]

# Object nodes that keep unknown fields on purpose: Kubernetes core types passed through to
# the pod, router configuration sections beyond the documented ones, and tool entries.
FREE_FORM_OBJECTS = {
    "spec.affinity",
    "spec.config",
    "spec.env[*].valueFrom",
    "spec.envoy.securityContext",
    "spec.podSecurityContext",
    "spec.securityContext",
    "spec.toolsDb[*]",
}
# In the typed routing sections (router_sections): the router's plugin, algorithm and
# adaptation catalogues, signal kinds other than complexity, and rule levels below the
# first (a CRD schema cannot recurse). `vllm-sr config validate` covers them.
DECISION_FREE_FORM = (
    "adaptations",
    "algorithm",
    "annotations",
    "output_contract_spec",
    "plugins[*].configuration",
    "rules.conditions[*].conditions[*]",
    "rules.conditions[*].predicate",
)
COMPLEXITY_FREE_FORM = (
    "composer.conditions[*].conditions[*]",
    "composer.conditions[*].predicate",
    "prototype_scoring",
)
ROUTING_FREE_FORM_OBJECTS = {
    *(f"spec.config.decisions[*].{p}" for p in DECISION_FREE_FORM),
    *(f"spec.config.routing.decisions[*].{p}" for p in DECISION_FREE_FORM),
    *(f"spec.config.complexity_rules[*].{p}" for p in COMPLEXITY_FREE_FORM),
    *(f"spec.config.routing.signals.complexity[*].{p}" for p in COMPLEXITY_FREE_FORM),
    "spec.config.routing.candidate_requirements",
    "spec.config.routing.data_policy",
    "spec.config.routing.modelCards[*].distribution",
    "spec.config.routing.modelCards[*].presentation",
    "spec.config.routing.model_bindings",
    "spec.config.routing.projections",
    "spec.config.routing.signals",
}


def walk(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every (path, node) of a schema: properties, array items and map values."""
    yield path, schema
    for name, prop in schema.get("properties", {}).items():
        yield from walk(prop, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), Mapping):
        yield from walk(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from walk(schema["additionalProperties"], f"{path}[*]")


def properties(
    schema: Mapping[str, Any], path: str = ""
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every (path, node) that is a named property."""
    for name, prop in schema.get("properties", {}).items():
        child = f"{path}.{name}" if path else name
        yield child, prop
        yield from properties(prop, child)
    for key, suffix in (("items", "[*]"), ("additionalProperties", "[*]")):
        if isinstance(schema.get(key), Mapping):
            yield from properties(schema[key], path + suffix)


def is_number(node: Mapping[str, Any]) -> bool:
    """The number-or-numeric-string node of router numbers (0.005 or "0.005")."""
    return (
        node.get("x-kubernetes-preserve-unknown-fields") is True
        and "type" not in node
        and node.get("pattern") == router_sections.NUMBER_TEXT
    )


def is_ratio(node: Mapping[str, Any]) -> bool:
    """The number-or-numeric-string node of thresholds (0.6 or "0.6")."""
    return (
        node.get("x-kubernetes-preserve-unknown-fields") is True
        and "type" not in node
        and node.get("minimum") == 0
        and node.get("maximum") == 1
        and "pattern" in node
    )


def test_committed_crd_matches_the_models() -> None:
    committed = crdcheck.CRD_FILE.read_text()
    assert committed == crdgen.render_yaml(), "crds/ is stale: run `make manifests`"
    assert crdcheck.load_crd() == crdgen.render_crd()


def test_crd_module_prints_the_committed_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    crdgen.main()
    assert capsys.readouterr().out == crdcheck.CRD_FILE.read_text()


def test_rendering_the_crd_twice_gives_identical_yaml() -> None:
    assert crdgen.render_yaml() == crdgen.render_yaml()


def test_crd_is_a_valid_custom_resource_definition_for_every_supported_kubernetes() -> None:
    for version in ("1.25.0", kubernetes_validate.latest_version()):
        kubernetes_validate.validate(CRD, version, strict=True)


def test_crd_names_the_semanticrouter_resource() -> None:
    spec = CRD["spec"]
    assert CRD["metadata"]["name"] == "semanticrouters.vllm.ai"
    assert spec["group"] == "vllm.ai"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "SemanticRouter"
    assert spec["names"]["plural"] == "semanticrouters"
    assert spec["names"]["singular"] == "semanticrouter"
    assert spec["names"]["shortNames"] == ["sr"]
    assert "vllm" in spec["names"]["categories"]
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


def test_status_is_a_subresource() -> None:
    (version,) = CRD["spec"]["versions"]
    assert version["subresources"] == {"status": {}}


def test_kubectl_get_shows_phase_replicas_ready_and_age() -> None:
    (version,) = CRD["spec"]["versions"]
    columns = [c for c in version["additionalPrinterColumns"] if c.get("priority", 0) == 0]
    assert [c["name"] for c in columns] == ["Phase", "Replicas", "Ready", "Age"]
    by_name = {c["name"]: c for c in columns}
    assert by_name["Phase"]["jsonPath"] == ".status.phase"
    assert by_name["Ready"]["jsonPath"] == ".status.readyReplicas"
    assert by_name["Age"] == {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
    }


def test_every_property_has_a_description() -> None:
    missing = [
        path
        for path, node in properties(SCHEMA)
        if path != "metadata" and not str(node.get("description", "")).strip()
    ]
    assert missing == []


def test_root_metadata_is_left_to_the_api_server() -> None:
    assert SCHEMA["properties"]["metadata"] == {"type": "object"}


def test_schema_is_structural() -> None:
    int_or_string = [{"type": "integer"}, {"type": "string"}]
    problems = []
    for path, node in walk(SCHEMA):
        for keyword in (
            "$ref",
            "$defs",
            "definitions",
            "allOf",
            "oneOf",
            "not",
            "title",
            "nullable",
        ):
            if keyword in node:
                problems.append(f"{path}: {keyword} is not allowed")
        if "anyOf" in node and not (
            node["anyOf"] == int_or_string and node.get("x-kubernetes-int-or-string") is True
        ):
            problems.append(f"{path}: anyOf only for x-kubernetes-int-or-string")
        typed = "type" in node
        if not typed and not (
            node.get("x-kubernetes-int-or-string")
            or node.get("x-kubernetes-preserve-unknown-fields")
        ):
            problems.append(f"{path}: no type")
        if node.get("type") == "array" and "items" not in node:
            problems.append(f"{path}: array without items")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: properties and additionalProperties together")
        if node.get("additionalProperties") in (True, False):
            problems.append(f"{path}: boolean additionalProperties")
        if node.get("x-kubernetes-int-or-string") and node.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            problems.append(f"{path}: int-or-string and preserve-unknown-fields together")
    assert problems == []


def test_unknown_fields_are_kept_only_where_the_api_is_free_form() -> None:
    preserved = {
        path
        for path, node in walk(SCHEMA)
        if node.get("x-kubernetes-preserve-unknown-fields")
        and not is_ratio(node)
        and not is_number(node)
    }
    assert preserved == FREE_FORM_OBJECTS | ROUTING_FREE_FORM_OBJECTS
    for path in FREE_FORM_OBJECTS | ROUTING_FREE_FORM_OBJECTS:
        node = dict(walk(SCHEMA))[path]
        assert node["type"] == "object", path


def test_thresholds_are_numbers_or_numeric_strings_between_zero_and_one() -> None:
    nodes = {path: node for path, node in walk(SPEC, "spec") if is_ratio(node)}
    assert "spec.config.bert_model.threshold" in nodes
    assert "spec.config.semantic_cache.similarity_threshold" in nodes
    assert "spec.config.tools.similarity_threshold" in nodes
    for path, node in nodes.items():
        validator = jsonschema.Draft4Validator(crdcheck.to_jsonschema(node))
        for good in (0.6, "0.6", 0, 1, "1.0", ".5"):
            assert validator.is_valid(good), (path, good)
        for bad in (1.5, "1.5", "high", -0.1):
            assert not validator.is_valid(bad), (path, bad)


def test_quantities_accept_integers_and_strings() -> None:
    limits = SPEC["properties"]["resources"]["properties"]["limits"]["additionalProperties"]
    assert limits["x-kubernetes-int-or-string"] is True
    validator = jsonschema.Draft4Validator(crdcheck.to_jsonschema(limits))
    for good in (2, "2", "500m", "7Gi"):
        assert validator.is_valid(good), good
    for bad in ("lots", 1.5):
        assert not validator.is_valid(bad), bad


def test_no_property_can_hold_a_plain_password() -> None:
    names = {path.rsplit(".", 1)[-1] for path, _ in properties(SCHEMA)}
    assert "password" not in names
    secret_refs = {path for path, _ in properties(SPEC, "spec") if path.endswith("_secret_ref")}
    assert secret_refs == {
        f"spec.config.{cache}.{where}"
        for cache in ("semantic_cache", "response_cache")
        for where in (
            "redis.connection.password_secret_ref",
            "valkey.connection.password_secret_ref",
            "milvus.connection.auth.password_secret_ref",
            "qdrant.api_key_secret_ref",
        )
    }


@pytest.mark.parametrize(
    "path",
    [
        "spec.config.semantic_cache.redis",
        "spec.config.semantic_cache.milvus",
        "spec.config.semantic_cache.hnsw",
        "spec.vllmEndpoints[*].backend.inferenceServiceName",
        "spec.openshift.routes.tls.insecureEdgeTerminationPolicy",
    ],
)
def test_kubectl_explain_finds_the_documented_paths(path: str) -> None:
    node = dict(walk(SPEC, "spec"))[path]
    assert node["description"]


def test_defaults_in_the_crd_are_the_model_defaults() -> None:
    defaulted = crdcheck.apply_defaults(SPEC, {})
    assert defaulted == models.SemanticRouterSpec().to_dict()


def test_spec_defaults_follow_the_user_documentation() -> None:
    spec = crdcheck.apply_defaults(SPEC, {})
    assert spec["image"]["repository"] == "ghcr.io/vllm-project/semantic-router/extproc"
    assert "tag" not in spec["image"]  # unset: the chart's appVersion, never a moving tag
    assert spec["replicas"] == 1
    assert spec["service"]["type"] == "ClusterIP"
    assert spec["service"]["grpc"] == {"port": 50051, "targetPort": 50051}
    assert spec["service"]["api"] == {"port": 8080, "targetPort": 8080}
    assert spec["service"]["metrics"] == {"enabled": True, "port": 9190, "targetPort": 9190}


def test_every_default_satisfies_its_own_schema() -> None:
    problems = []
    for path, node in walk(SCHEMA):
        if "default" in node:
            defaulted = crdcheck.apply_defaults(node, node["default"])
            validator = jsonschema.Draft4Validator(crdcheck.to_jsonschema(node))
            problems += [f"{path}: {error.message}" for error in validator.iter_errors(defaulted)]
    assert problems == []


def test_every_model_rule_is_in_the_crd_with_its_message() -> None:
    in_crd = {(rule["rule"], rule["message"]) for _, rule in crdcheck.iter_rules(SCHEMA)}
    assert in_crd == {(rule.cel, rule.message) for rule in models.RULES}


def test_every_cel_rule_compiles() -> None:
    for _, rule in crdcheck.iter_rules(SCHEMA):
        crdcheck.compile_rule(rule["rule"])


def test_cel_rules_only_touch_bounded_values() -> None:
    """The API server estimates rule cost from maxItems/maxLength/maxProperties/enum."""
    nodes = dict(walk(SCHEMA))
    unbounded = []
    for path, rule in crdcheck.iter_rules(SCHEMA):
        node = nodes[path]
        if node.get("type") == "array" and "maxItems" not in node:
            unbounded.append(f"{path}: maxItems")
        for chain in re.findall(r"self((?:\.[A-Za-z_]+)+)", rule["rule"]):
            target: Mapping[str, Any] = node
            for name in chain.strip(".").split("."):
                target = target.get("properties", {}).get(name, {})
            kind = target.get("type")
            bounded = {
                "string": "maxLength" in target or "enum" in target,
                "array": "maxItems" in target,
                "object": "maxProperties" in target or "properties" in target,
            }.get(str(kind), True)
            if not bounded:
                unbounded.append(f"{path}: self{chain}")
        for name in re.findall(r"\bf\.([A-Za-z_]+)", rule["rule"]):
            item = node.get("items", {}).get("properties", {}).get(name, {})
            if item.get("type") == "string" and "maxLength" not in item:
                unbounded.append(f"{path}[*].{name}: maxLength")
    assert unbounded == []


def test_structural_conversion_refuses_unions_it_cannot_express() -> None:
    with pytest.raises(ValueError, match="unsupported union"):
        crdgen.structural({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, {})


@pytest.mark.parametrize("field", ["securityContext", "podSecurityContext"])
def test_security_context_descriptions_say_merged_as_the_chart_does(field: str) -> None:
    """The chart merges the user's securityContext over its defaults (tests/chart)."""
    crd = yaml.safe_load(crdgen.render_yaml())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    description = spec["properties"][field]["description"]
    assert "merged over" in description
    assert "false and 0 included" in description
    assert "replaces the platform-aware" not in description
