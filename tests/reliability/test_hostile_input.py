"""Hostile input through the pure pipeline (models → routerconfig → values.build → real
``helm template``): specs drawn from the CRD schema render to valid manifests or are
refused with one typed error naming the field; quotes, newlines, ``{{ }}``, ``${}`` and
unicode in any free-text field come out as data, never as template or YAML structure."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from semantic_router_operator.platform import Platform

from tests.chart.validators import (
    KUBERNETES_VERSIONS,
    configmaps_with_key,
    validate_envoy,
    validate_kubernetes,
    validate_router_config,
)
from tests.reliability import crdspec, pipeline
from tests.reliability.crdspec import Field
from tests.reliability.harness import count
from tests.support import crdcheck

pytestmark = pytest.mark.timeout(240)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@cache
def full_spec(standalone: bool) -> dict[str, Any]:
    """The sample that sets every field; standalone drops the Gateway (Envoy renders)."""
    cr = yaml.safe_load((SAMPLES / "vllm.ai_v1alpha1_semanticrouter_full.yaml").read_text())
    spec: dict[str, Any] = cr["spec"]
    if standalone:
        spec.pop("gateway", None)
    return spec


def as_list(value: Any) -> list[Any]:
    """`value` when it is a list (a broken field may hold anything), else no items."""
    return value if isinstance(value, list) else []


def place(spec: dict[str, Any], field: Field, value: Any) -> dict[str, Any]:
    """`crdspec.set_field`, then each decision model reference it made up names a model the
    spec serves: the router refuses a decision naming a model it does not serve, a rule
    across fields that no schema states (the reference at `field` itself is left as drawn)."""
    out = crdspec.set_field(spec, field, value)
    served = out["vllmEndpoints"][0]["model"]
    for where in (("config", "decisions"), ("config", "routing", "decisions")):
        for i, decision in enumerate(as_list(crdspec.get_field(out, Field(where)))):
            refs = as_list(decision.get("modelRefs") if isinstance(decision, dict) else None)
            for j, ref in enumerate(refs):
                at = (*where, i, "modelRefs", j)
                made_up = crdspec.get_field(spec, Field(at)) is None
                if made_up and isinstance(ref, dict) and Field((*at, "model")) != field:
                    ref["model"] = served
    return out


def names_field(refused: pipeline.Refused, field: Field) -> bool:
    """The refusal names `field`, or an object holding it (a rule on the object)."""
    wanted = str(field)
    return any(
        wanted == f or wanted.startswith(f + ".") or f.startswith(wanted) for f in refused.fields
    )


def uses_resource_claims(objs: Sequence[Mapping[str, Any]]) -> bool:
    """Dynamic resource claims, which the CRD documents for Kubernetes 1.31 and later."""
    for obj in objs:
        pod = (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}
        containers = pod.get("containers") or []
        if pod.get("resourceClaims") or any(
            (c.get("resources") or {}).get("claims") for c in containers
        ):
            return True
    return False


def check_rendered(rendered: pipeline.Rendered) -> None:
    versions = (
        KUBERNETES_VERSIONS[-1:] if uses_resource_claims(rendered.objs) else KUBERNETES_VERSIONS
    )
    for version in versions:
        validate_kubernetes(rendered.objs, version)


# --- specs drawn from the schema ----------------------------------------------------------


@settings(SETTINGS, max_examples=60)
@given(crdspec.specs(), st.sampled_from([Platform.KUBERNETES, Platform.OPENSHIFT]))
def test_a_spec_drawn_from_the_crd_renders_valid_manifests_or_is_refused_naming_a_field(
    spec: dict[str, Any], target: Platform
) -> None:
    admission = crdcheck.admission_problems(crdcheck.load_crd(), {"spec": copy.deepcopy(spec)})
    outcome = pipeline.outcome(spec, target)
    if isinstance(outcome, pipeline.Refused):
        count("schema specs refused")
        assert outcome.fields and all(f.startswith("spec") for f in outcome.fields)
        assert all(f in outcome.message for f in outcome.fields)
        return
    count("schema specs rendered")
    assert admission == [], f"the models accept what the API server refuses: {admission}"
    check_rendered(outcome)


LEAVES = [
    (field, schema)
    for field, schema in crdspec.typed_leaves()
    if crdspec.get_field(full_spec(True), Field(field.path[:-1])) is not None
]


@settings(SETTINGS, max_examples=100)
@given(st.sampled_from(LEAVES), st.data())
def test_a_value_the_schema_refuses_is_refused_with_one_error_naming_its_field(
    leaf: tuple[Field, Mapping[str, Any]], data: st.DataObject
) -> None:
    field, schema = leaf
    breakers = crdspec.breakers(schema)
    if not breakers:
        return
    value = data.draw(st.sampled_from(breakers), label="value")
    spec = place(full_spec(True), field, value)
    assert crdcheck.admission_problems(crdcheck.load_crd(), {"spec": copy.deepcopy(spec)})
    outcome = pipeline.chart_values(spec, Platform.KUBERNETES)
    assert isinstance(outcome, pipeline.Refused), f"{field} = {value!r} was accepted"
    assert names_field(outcome, field), f"{field} = {value!r}: {outcome.message}"
    count("broken fields refused")


# --- hostile text in every free-text field ------------------------------------------------

FREE_TEXT = list(crdspec.free_text_fields())


@cache
def benign(field: Field, standalone: bool) -> tuple[str, frozenset[tuple[str, str]]]:
    """How a plain marker in `field` comes out: as a whole value ("exact"), inside one
    ("embedded"), or not at all ("absent"); and the objects rendered."""
    marker = "plainmarker7"
    outcome = pipeline.outcome(place(full_spec(standalone), field, marker))
    if isinstance(outcome, pipeline.Refused):
        return "refused", frozenset()
    found = pipeline.rendered_strings(outcome.objs)
    how = (
        "exact" if marker in found else "embedded" if any(marker in s for s in found) else "absent"
    )
    return how, frozenset((o["kind"], o["metadata"]["name"]) for o in outcome.objs)


@settings(SETTINGS, max_examples=80)
@given(st.sampled_from(FREE_TEXT), crdspec.hostile_text(min_size=1), st.booleans())
def test_hostile_text_in_any_free_text_field_comes_out_as_data_or_is_refused_naming_it(
    field: Field, text: str, standalone: bool
) -> None:
    how, objects = benign(field, standalone)
    outcome = pipeline.outcome(place(full_spec(standalone), field, text))
    if isinstance(outcome, pipeline.Refused):
        assert names_field(outcome, field), f"{field} = {text!r}: {outcome.message}"
        count("hostile text refused")
        return
    check_rendered(outcome)
    found = pipeline.rendered_strings(outcome.objs)
    if how == "exact":
        assert text in found, f"{field} = {text!r} is not a value of the render"
    elif how == "embedded":
        assert any(text in s for s in found), f"{field} = {text!r} is in no value of the render"
    assert frozenset((o["kind"], o["metadata"]["name"]) for o in outcome.objs) == objects
    count(f"hostile text rendered ({how})")


CONFIG_TEXT = [f for f in FREE_TEXT if f.path[0] in ("config", "vllmEndpoints")]


@settings(SETTINGS, max_examples=4)
@given(st.sampled_from(CONFIG_TEXT), crdspec.hostile_text(min_size=1))
def test_hostile_text_in_the_router_config_passes_the_router_and_envoy_validators(
    field: Field, text: str
) -> None:
    spec = place(full_spec(True), field, text)
    # Envoy checks that CA files exist: the sample's CA comes from a ConfigMap mounted in the pod.
    spec["envoy"] = {k: v for k, v in spec["envoy"].items() if k != "upstreamTls"}
    outcome = pipeline.outcome(spec)
    if isinstance(outcome, pipeline.Refused):
        assert names_field(outcome, field), f"{field} = {text!r}: {outcome.message}"
        return
    [router] = configmaps_with_key(outcome.objs, "config.yaml")
    validate_router_config(router["data"]["config.yaml"])
    for envoy in configmaps_with_key(outcome.objs, "envoy.yaml"):
        validate_envoy(envoy["data"]["envoy.yaml"])
    count("router and Envoy validations")


def test_envoy_durations_in_any_unit_render_as_envoy_takes_them() -> None:
    spec = copy.deepcopy(full_spec(True))
    spec["envoy"] = {
        "routeTimeout": "1h30m",
        "streamIdleTimeout": "500ms",
        "upstreamConnectTimeout": "0.5m",
        "extProc": {"messageTimeout": "45s"},
    }
    outcome = pipeline.outcome(spec)
    assert isinstance(outcome, pipeline.Rendered)
    [envoy] = configmaps_with_key(outcome.objs, "envoy.yaml")
    text = envoy["data"]["envoy.yaml"]
    for seconds in ("5400s", "0.5s", "30s", "45s"):
        assert f"timeout: {seconds}" in text
    validate_envoy(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("extProc", {"messageTimeout": "2h"}),
        ("upstreamConnectTimeout", "0s"),
        ("routeTimeout", "99999999999h"),
    ],
)
def test_an_envoy_duration_envoy_refuses_is_refused_naming_its_field(
    field: str, value: Any
) -> None:
    spec = copy.deepcopy(full_spec(True))
    spec["envoy"] = {field: value}
    outcome = pipeline.chart_values(spec, Platform.KUBERNETES)
    assert isinstance(outcome, pipeline.Refused)
    assert any(f.startswith(f"spec.envoy.{field}") for f in outcome.fields), outcome.message
