"""The router config of an operator-managed release is the CR's config, not the chart's.

The operator's values go through real `helm template`: Helm deep-merges them over the
chart's values.yaml, so every default the CR does not set must reach helm as a null. The
rendered `global` section is then exactly what routerconfig translates from the CR (plus
the chart's credential placeholder), and the whole config still passes the router's own
`vllm-sr config validate`.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from semantic_router_operator import models, routerconfig, values
from semantic_router_operator.discovery import BackendRef, offline_result
from semantic_router_operator.platform import Platform

from tests.chart.validators import validate_router_config
from tests.support.chartreasoning import chart_reasoning, reasoning_can_be_off
from tests.support.helm import CHART, ROOT, HelmError, find, render

SAMPLES = ROOT / "samples"
RELEASE = "sr"
NAMESPACE = "team-a"


def sample_spec(name: str) -> dict[str, Any]:
    cr = yaml.safe_load((SAMPLES / f"vllm.ai_v1alpha1_semanticrouter_{name}.yaml").read_text())
    spec: dict[str, Any] = cr["spec"]
    return spec


def without_guard_and_tools() -> dict[str, Any]:
    """The simple sample with neither prompt_guard nor tools in its config."""
    spec = copy.deepcopy(sample_spec("simple"))
    for section in ("prompt_guard", "tools"):
        spec["config"].pop(section)
    return spec


CASES = {"redis_cache": sample_spec("redis_cache"), "no_guard_no_tools": without_guard_and_tools()}


def operator_values(raw_spec: dict[str, Any]) -> dict[str, Any]:
    """The values the operator gives helm for `raw_spec` (backends resolved offline)."""
    spec = models.parse_spec(raw_spec)
    resolved = []
    for endpoint in spec.vllm_endpoints or []:
        result = offline_result(BackendRef.from_endpoint(endpoint.to_dict()), NAMESPACE)
        assert result is not None
        resolved.append(result)
    return values.build(
        spec,
        resolved,
        Platform.KUBERNETES,
        chart_defaults=values.read_chart_defaults(CHART),
    )


def rendered_config_text(raw_spec: dict[str, Any]) -> str:
    objs = render(values=operator_values(raw_spec), release=RELEASE, namespace=NAMESPACE)
    [configmap] = find(objs, "ConfigMap", f"{RELEASE}-config")
    text: str = configmap["data"]["config.yaml"]
    return text


def expected_global(raw_spec: dict[str, Any]) -> dict[str, Any]:
    """routerconfig's `global`, with the credential placeholder and the Kubernetes defaults
    (no mmBERT download, no tracing, no Response API, a loopback management API) the chart
    puts in."""
    config = models.parse_spec(raw_spec).config
    assert config is not None
    raw = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    expected: dict[str, Any] = routerconfig.to_canonical(raw).config["global"]
    cache = expected.get("stores", {}).get("response_cache", {})
    connection = cache.get("redis", {}).get("connection", {})
    if connection.pop("password_secret_ref", None) is not None:
        connection["password"] = "${SR_CACHE_REDIS_PASSWORD}"
    integrations = expected.setdefault("integrations", {})
    # ext_proc messages as large as Envoy's 50 MiB body buffer (values.yaml), plus 1 MiB
    looper = integrations.setdefault("looper", {})
    looper.setdefault("grpc_max_msg_size_mb", 51)
    # looper calls through the pod's own Envoy listener (standalone mode, envoy.port 8801)
    looper.setdefault("endpoint", "http://127.0.0.1:8801/v1/chat/completions")
    if not integrations.get("tools", {}).get("enabled"):  # tools need the mmBERT model
        semantic = expected.setdefault("model_catalog", {}).setdefault("embeddings", {})
        semantic.setdefault("semantic", {}).setdefault("mmbert_model_path", "")
    services = expected.setdefault("services", {})
    services.setdefault("observability", {}).setdefault("tracing", {}).setdefault("enabled", False)
    services.setdefault("response_api", {}).setdefault("enabled", False)
    # The management API as the chart binds it unless spec.managementApi.expose: loopback.
    api = services.setdefault("management_api", {})
    api.update({"bind_address": "127.0.0.1", "port": 8080, "remote_exposure": False})
    return expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rendered_global_section_is_exactly_what_the_cr_translates_to(case: str) -> None:
    rendered = yaml.safe_load(rendered_config_text(CASES[case]))
    assert rendered["global"] == expected_global(CASES[case])


def test_a_redis_cache_keeps_no_memory_cache_limits_and_no_default_guard_or_tools() -> None:
    rendered = yaml.safe_load(rendered_config_text(CASES["redis_cache"]))["global"]
    cache = rendered["stores"]["response_cache"]
    assert cache["backend_type"] == "redis"
    assert "max_entries" not in cache and "eviction_policy" not in cache
    assert "modules" not in rendered["model_catalog"]
    assert "tools" not in rendered["integrations"]


def test_a_cr_without_prompt_guard_or_tools_renders_neither() -> None:
    rendered = yaml.safe_load(rendered_config_text(CASES["no_guard_no_tools"]))["global"]
    assert "prompt_guard" not in rendered["model_catalog"].get("modules", {})
    assert "tools" not in rendered.get("integrations", {})


def test_a_cr_without_reasoning_families_gets_the_chart_families_for_its_endpoints() -> None:
    config = yaml.safe_load(rendered_config_text(CASES["redis_cache"]))
    [model] = config["providers"]["models"]
    assert model["reasoning"]["parameter"] == "enable_thinking"


def test_a_cr_listing_reasoning_families_gets_only_those() -> None:
    spec = copy.deepcopy(CASES["no_guard_no_tools"])
    spec["config"]["reasoning_families"] = {
        "deepseek": {"type": "chat_template_kwargs", "parameter": "thinking"}
    }
    spec["vllmEndpoints"][0]["reasoningFamily"] = "gpt"
    config = yaml.safe_load(rendered_config_text(spec))
    [model] = config["providers"]["models"]
    # gpt is not in the CR's families: the chart's gpt default is gone, the router gets
    # the name as a catalog family.
    assert model["reasoning"] == {"family": "gpt"}


# Families the chart completes differently. A CR's family is {type, parameter} (the two
# first); values may also give levels, a default and modes.
CR_FAMILIES: dict[str, dict[str, Any]] = {
    "toggle": {"type": "chat_template_kwargs", "parameter": "enable_thinking"},
    "effort": {"type": "reasoning_effort", "parameter": "reasoning_effort"},
}
FAMILIES: dict[str, dict[str, Any]] = {
    **CR_FAMILIES,
    "effort-default": {"type": "top_level_reasoning_effort", "parameter": "e", "default": "high"},
    "effort-empty": {"type": "reasoning_effort", "parameter": "e", "levels": []},
    "effort-levels": {
        "type": "reasoning_effort",
        "parameter": "e",
        "levels": ["minimal", "high"],
        "default": "high",
        "modes": ["enabled"],
    },
}


def with_family(raw_spec: dict[str, Any], name: str) -> dict[str, Any]:
    """`raw_spec` with one reasoning family, `name`, picked by its first endpoint."""
    spec = copy.deepcopy(raw_spec)
    spec["config"]["reasoning_families"] = {name: FAMILIES[name]}
    spec["vllmEndpoints"][0]["reasoningFamily"] = name
    return spec


def rendered_reasoning(values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The one model's reasoning and the chart's default decision's use_reasoning for it,
    from a config the router validates."""
    objs = render(values=values, release=RELEASE, namespace=NAMESPACE)
    [configmap] = find(objs, "ConfigMap", f"{RELEASE}-config")
    text = configmap["data"]["config.yaml"]
    validate_router_config(text)
    config = yaml.safe_load(text)
    [model] = config["providers"]["models"]
    [decision] = [d for d in config["routing"]["decisions"] if d["name"] == "default-route"]
    [ref] = decision["modelRefs"]
    return model["reasoning"], ref["use_reasoning"]


@pytest.mark.parametrize("name", sorted(CR_FAMILIES))
def test_a_cr_reasoning_family_reaches_the_chart_as_written_and_renders_as_from_values(
    name: str,
) -> None:
    """The chart owns a family's defaults: the operator passes the family as written, and
    the model's reasoning is the same whether the family came from a CR or from values."""
    given = operator_values(with_family(CASES["no_guard_no_tools"], name))
    families = dict(given["reasoningFamilies"])
    assert families.pop(name) == FAMILIES[name]
    assert set(families.values()) == {None}  # the chart's own families, removed
    chart_alone = given | {"reasoningFamilies": {name: FAMILIES[name]}}
    assert rendered_reasoning(given) == rendered_reasoning(chart_alone)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_the_chart_completes_a_reasoning_family_as_the_no_helm_tiers_assume(name: str) -> None:
    values = operator_values(with_family(CASES["no_guard_no_tools"], "toggle"))
    values["reasoningFamilies"] = {name: FAMILIES[name]}
    values["vllmEndpoints"][0]["reasoningFamily"] = name
    reasoning = chart_reasoning(FAMILIES[name])
    assert rendered_reasoning(values) == (reasoning, not reasoning_can_be_off(reasoning))


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_rendered_config_passes_the_router_validation(case: str) -> None:
    validate_router_config(rendered_config_text(CASES[case]))


def gateway_spec_with_an_ensemble(looper: dict[str, Any] | None = None) -> dict[str, Any]:
    """Gateway mode, two Service backends and a decision the router runs through its looper."""
    endpoints = [
        {"name": n, "model": n, "backend": {"type": "service", "service": {"name": n, "port": 80}}}
        for n in ("llama3-8b", "qwen3-8b")
    ]
    decision = {
        "name": "ensemble",
        "priority": 10,
        "modelRefs": [{"model": "llama3-8b"}, {"model": "qwen3-8b"}],
        "algorithm": {"type": "remom"},
    }
    config: dict[str, Any] = {"decisions": [decision], **({"looper": looper} if looper else {})}
    gateway = {"existingRef": {"name": "eg", "namespace": "gateways"}}
    return {"vllmEndpoints": endpoints, "gateway": gateway, "config": config}


def test_a_gateway_mode_cr_whose_decision_needs_the_looper_is_refused_naming_the_field() -> None:
    with pytest.raises(HelmError) as failure:
        rendered_config_text(gateway_spec_with_an_ensemble())
    assert 'routing decision "ensemble" uses the remom algorithm' in str(failure.value)
    assert "spec.config.looper.endpoint" in str(failure.value)


def test_a_gateway_mode_cr_with_a_looper_endpoint_renders_it() -> None:
    endpoint = "http://eg.gateways.svc:80/v1/chat/completions"
    text = rendered_config_text(gateway_spec_with_an_ensemble({"endpoint": endpoint}))
    assert yaml.safe_load(text)["global"]["integrations"]["looper"]["endpoint"] == endpoint
