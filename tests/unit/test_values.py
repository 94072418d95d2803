"""Chart values from a SemanticRouter spec, discovered backends and the platform."""

from __future__ import annotations

import copy
import tarfile
from pathlib import Path
from typing import Any

import pytest
from semantic_router_operator import models, values
from semantic_router_operator.discovery import Address, BackendResult
from semantic_router_operator.platform import Platform
from semantic_router_operator.routerconfig import RouterConfigError

from tests.support.helm import CHART

DEFAULTS = values.read_chart_defaults(CHART)

SPEC: dict[str, Any] = {
    "replicas": 2,
    "image": {"repository": "ghcr.io/vllm-project/semantic-router/extproc", "tag": "latest"},
    "vllmEndpoints": [
        {
            "name": "llama3-8b-endpoint",
            "model": "llama3-8b",
            "reasoningFamily": "qwen3",
            "backend": {"type": "kserve", "inferenceServiceName": "llama-3-8b"},
            "weight": 2,
        },
        {
            "name": "qwen-7b",
            "model": "qwen2.5-7b",
            "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
        },
    ],
    "resources": {"limits": {"memory": "7Gi", "cpu": "2"}, "requests": {"memory": "3Gi"}},
    "persistence": {"enabled": True, "size": "10Gi", "storageClassName": "standard"},
    "config": {
        "bert_model": {"model_id": "models/mom-embedding-light", "threshold": "0.6"},
        "semantic_cache": {"enabled": True, "backend_type": "memory", "max_entries": 1000},
        "reasoning_families": {
            "qwen3": {"type": "chat_template_kwargs", "parameter": "enable_thinking"}
        },
    },
    "toolsDb": [{"tool": {"type": "function", "function": {"name": "get_weather"}}}],
}

KSERVE = BackendResult(
    "llama3-8b-endpoint",
    "kserve",
    Address("llama-3-8b-predictor.ns.svc.cluster.local", 8443, "https"),
    "ok",
)
QWEN = BackendResult(
    "qwen-7b", "service", Address("vllm-qwen.ns.svc.cluster.local", 8000, "http"), "ok"
)
QWEN_MISSING = BackendResult("qwen-7b", "service", None, "Service ns/vllm-qwen not found")


def build(
    spec: dict[str, Any], *resolved: BackendResult, platform: Platform = Platform.KUBERNETES
) -> dict[str, Any]:
    return values.build(models.parse_spec(spec), resolved, platform, chart_defaults=DEFAULTS)


def test_values_mirror_the_spec_key_for_key() -> None:
    got = build(SPEC, KSERVE, QWEN)
    assert got["replicas"] == 2
    assert got["image"]["repository"] == "ghcr.io/vllm-project/semantic-router/extproc"
    assert got["persistence"]["storageClassName"] == "standard"
    assert got["resources"]["limits"] == {"memory": "7Gi", "cpu": "2"}
    assert got["toolsDb"] == SPEC["toolsDb"]
    assert got["platform"] == "kubernetes"


def test_router_config_becomes_canonical_and_reasoning_families_move_out() -> None:
    got = build(SPEC, KSERVE, QWEN)
    assert got["config"]["version"] == "v0.3"
    assert "bert_model" not in got["config"]
    assert "reasoning_families" not in got["config"]
    assert got["reasoningFamilies"] == {
        "qwen3": {"type": "chat_template_kwargs", "parameter": "enable_thinking"},
        "deepseek": None,
        "gpt": None,
    }


def test_spec_without_config_leaves_the_chart_defaults() -> None:
    spec = {k: v for k, v in SPEC.items() if k != "config"}
    got = build(spec, KSERVE, QWEN)
    assert "config" not in got
    assert "reasoningFamilies" not in got


def test_resolved_addresses_are_added_to_each_endpoint_backend() -> None:
    got = build(SPEC, KSERVE, QWEN)
    [llama, qwen] = got["vllmEndpoints"]
    assert llama["backend"] == {
        "type": "kserve",
        "inferenceServiceName": "llama-3-8b",
        "resolved": {
            "host": "llama-3-8b-predictor.ns.svc.cluster.local",
            "port": 8443,
            "protocol": "https",
        },
    }
    assert llama["weight"] == 2
    assert qwen["backend"]["resolved"]["host"] == "vllm-qwen.ns.svc.cluster.local"


def test_unresolved_endpoints_are_left_out_of_the_values() -> None:
    got = build(SPEC, KSERVE, QWEN_MISSING)
    assert [e["name"] for e in got["vllmEndpoints"]] == ["llama3-8b-endpoint"]


def test_openshift_platform_is_passed_to_the_chart() -> None:
    assert build(SPEC, KSERVE, platform=Platform.OPENSHIFT)["platform"] == "openshift"


ROUTE_SPEC = {
    **SPEC,
    "openshift": {"routes": {"enabled": True, "hostname": "sr.apps.example.com"}},
}


def test_a_route_on_plain_kubernetes_is_left_out_of_the_values_and_the_rest_kept() -> None:
    got = build(ROUTE_SPEC, KSERVE, platform=Platform.KUBERNETES)
    assert got["openshift"]["routes"] == {"enabled": False, "hostname": "sr.apps.example.com"}
    assert got["vllmEndpoints"] == build(SPEC, KSERVE)["vllmEndpoints"]


def test_a_route_on_openshift_stays_in_the_values() -> None:
    got = build(ROUTE_SPEC, KSERVE, platform=Platform.OPENSHIFT)
    assert got["openshift"]["routes"]["enabled"] is True


def test_secret_references_stay_references() -> None:
    spec = copy.deepcopy(SPEC)
    spec["config"]["semantic_cache"] = {
        "enabled": True,
        "backend_type": "redis",
        "redis": {
            "connection": {
                "host": "redis.default.svc.cluster.local",
                "port": 6379,
                "password_secret_ref": {"name": "redis-credentials", "key": "password"},
            }
        },
    }
    got = build(spec, KSERVE)
    connection = got["config"]["global"]["stores"]["response_cache"]["redis"]["connection"]
    assert connection["password_secret_ref"] == {"name": "redis-credentials", "key": "password"}
    assert "password" not in connection


def test_untranslatable_config_names_the_config_field() -> None:
    spec = copy.deepcopy(SPEC)
    spec["config"]["vllm_endpoints"] = [{"name": "x"}]
    with pytest.raises(RouterConfigError) as err:
        build(spec, KSERVE)
    assert err.value.field == "spec.config.vllm_endpoints"
    assert "spec.vllmEndpoints" in err.value.message


def test_build_is_pure_and_leaves_the_spec_alone() -> None:
    before = copy.deepcopy(SPEC)
    assert build(SPEC, KSERVE, QWEN) == build(SPEC, KSERVE, QWEN)
    assert before == SPEC


def test_digest_ignores_key_order_but_not_content_or_chart_version() -> None:
    a = {"replicas": 1, "image": {"tag": "a", "repository": "r"}}
    b = {"image": {"repository": "r", "tag": "a"}, "replicas": 1}
    assert values.digest("0.1.0", a) == values.digest("0.1.0", b)
    assert values.digest("0.1.0", a) != values.digest("0.2.0", a)
    assert values.digest("0.1.0", a) != values.digest("0.1.0", {**a, "replicas": 2})
    assert values.digest("0.1.0", a).startswith("sha256:")
    assert len(values.digest("0.1.0", a)) == len("sha256:") + 64


def test_digest_changes_when_a_backend_gets_resolved() -> None:
    before = values.digest("0.1.0", build(SPEC, KSERVE, QWEN_MISSING))
    after = values.digest("0.1.0", build(SPEC, KSERVE, QWEN))
    assert before != after


# --- the chart's default config is not inherited ------------------------------------------------


REDIS_CACHE: dict[str, Any] = {
    "enabled": True,
    "backend_type": "redis",
    "similarity_threshold": "0.85",
    "redis": {"connection": {"host": "redis.cache.svc.cluster.local", "port": 6379}},
}


def test_chart_defaults_the_cr_does_not_set_are_nulled_so_helm_drops_them() -> None:
    spec = copy.deepcopy(SPEC)
    spec["config"] = {"bert_model": SPEC["config"]["bert_model"], "semantic_cache": REDIS_CACHE}
    config = build(spec, KSERVE)["config"]
    modules = config["global"]["model_catalog"]["modules"]
    assert modules is None, "no prompt_guard in the CR: the chart's prompt guard is dropped"
    assert config["global"]["integrations"] is None, "no tools in the CR"
    cache = config["global"]["stores"]["response_cache"]
    assert cache["backend_type"] == "redis"
    assert cache["max_entries"] is None
    assert cache["eviction_policy"] is None
    assert cache["ttl_seconds"] is None
    assert cache["redis"]["connection"]["host"] == "redis.cache.svc.cluster.local"


def test_what_the_cr_sets_is_kept_and_only_missing_defaults_are_nulled() -> None:
    config = build(SPEC, KSERVE)["config"]
    cache = config["global"]["stores"]["response_cache"]
    assert (cache["backend_type"], cache["max_entries"]) == ("memory", 1000)
    assert cache["eviction_policy"] is None
    assert cache["similarity_threshold"] is None
    embeddings = config["global"]["model_catalog"]["embeddings"]["semantic"]
    assert embeddings["bert_model_path"] == "models/mom-embedding-light"
    assert config["version"] == "v0.3"


def test_a_config_without_reasoning_families_keeps_the_chart_families() -> None:
    spec = copy.deepcopy(SPEC)
    del spec["config"]["reasoning_families"]
    assert "reasoningFamilies" not in build(spec, KSERVE)


def test_an_empty_reasoning_families_section_drops_every_chart_family() -> None:
    spec = copy.deepcopy(SPEC)
    spec["config"]["reasoning_families"] = {}
    got = build(spec, KSERVE)["reasoningFamilies"]
    assert got == {"deepseek": None, "qwen3": None, "gpt": None}


def test_without_defaults_nulls_missing_keys_through_nested_mappings_only() -> None:
    defaults = {"a": {"b": 1, "c": {"d": 2}}, "e": [1], "f": {"g": 1}}
    wanted = {"a": {"c": {}}, "f": "scalar", "h": 3}
    assert values.without_defaults(defaults, wanted) == {
        "a": {"b": None, "c": {"d": None}},
        "e": None,
        "f": "scalar",
        "h": 3,
    }
    assert values.without_defaults(None, {"x": 1}) == {"x": 1}
    assert wanted == {"a": {"c": {}}, "f": "scalar", "h": 3}


def test_chart_defaults_read_the_same_from_a_packaged_chart(tmp_path: Path) -> None:
    archive = tmp_path / "semantic-router-0.1.0.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(CHART / "Chart.yaml", arcname="semantic-router/Chart.yaml")
        tar.add(CHART / "values.yaml", arcname="semantic-router/values.yaml")
    assert values.read_chart_defaults(archive) == DEFAULTS
    assert DEFAULTS["config"]["global"]["stores"]["response_cache"]["backend_type"] == "memory"


def tool(index: int, description: str) -> dict[str, Any]:
    function = {"name": f"tool_{index}", "description": description, "parameters": {}}
    return {"tool": {"type": "function", "function": function}, "description": description}


def test_a_tools_db_over_what_a_configmap_holds_is_refused_naming_the_field() -> None:
    big = [tool(i, "x" * 2000) for i in range(270)]  # about 1.1 MB as compact JSON
    with pytest.raises(RouterConfigError) as refused:
        build({**SPEC, "toolsDb": big}, QWEN)
    assert refused.value.field == "spec.toolsDb"
    assert "more than the" in refused.value.message
    assert f"a ConfigMap holds at most {values.CONFIGMAP_BYTES}" in refused.value.message


def test_a_large_tools_db_within_the_limit_is_kept() -> None:
    fits = [tool(i, "x" * 2000) for i in range(200)]
    assert build({**SPEC, "toolsDb": fits}, QWEN)["toolsDb"] == fits


def test_the_size_counts_json_as_go_escapes_it() -> None:
    assert values.rendered_json_size(["<a&b>"]) == len('["\\u003ca\\u0026b\\u003e"]')
