"""Every rendered router config meets the router's own contract at the version the chart ships.

The router's Go module is not served by the Go module proxy, so its loader cannot be built
here: the contract is the key inventory read from its Go structs (tests/support/routerkeys.py
says from where) plus the start-up checks of its cache backends and guards.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import SCENARIOS, rendered
from tests.chart.test_operator_config import operator_values, sample_spec
from tests.chart.validators import configmaps_with_key
from tests.support.helm import ROOT, HelmError, render
from tests.support.routerkeys import (
    INVENTORY,
    V040_RENAMES,
    contract_problems,
    load_inventory,
    startup_problems,
    unknown_keys,
)

SAMPLE_NAMES = sorted(
    p.name.removeprefix("vllm.ai_v1alpha1_semanticrouter_").removesuffix(".yaml")
    for p in (ROOT / "samples").glob("*.yaml")
)
ENDPOINT = {
    "name": "a",
    "model": "llama3-8b",
    "backend": {"type": "service", "service": {"name": "vllm", "port": 8000}},
}


def config_of(objs: Any) -> str:
    [configmap] = configmaps_with_key(objs, "config.yaml")
    text: str = configmap["data"]["config.yaml"]
    return text


def chart_config(values: dict[str, Any]) -> dict[str, Any]:
    objs = render(values=values, release="sr", namespace="team-a")
    config: dict[str, Any] = yaml.safe_load(config_of(objs))
    return config


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ci_render_router_config_meets_the_router_contract(scenario: str) -> None:
    assert contract_problems(config_of(rendered(scenario))) == []


def resolvable(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with Llama Stack backends (found by listing Services) as the Service found."""
    spec = copy.deepcopy(spec)
    for endpoint in spec.get("vllmEndpoints") or []:
        if endpoint["backend"]["type"] == "llamastack":
            service = {"name": "llama-stack", "port": 8321}
            endpoint["backend"] = {"type": "service", "service": service}
    return spec


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_router_config_meets_the_router_contract(name: str) -> None:
    spec = resolvable(sample_spec(name))
    values = operator_values(spec)
    if (spec.get("openshift") or {}).get("routes", {}).get("enabled"):
        values["platform"] = "openshift"  # Routes render only where OpenShift serves them
    objs = render(values=values, release="sr", namespace="team-a")
    assert contract_problems(config_of(objs)) == []


def test_the_inventory_names_the_router_commit_it_was_read_from() -> None:
    data = yaml.safe_load(INVENTORY.read_text())
    assert data["commit"] == "3d48f8c9cc0d5b15067ce324a03ec6cc25f192c3"
    assert data["root"] == "CanonicalConfig"
    assert {"version", "listeners", "providers", "routing", "global"} <= set(
        data["structs"]["CanonicalConfig"]
    )


def test_an_unknown_key_anywhere_is_reported_with_its_path() -> None:
    inventory = load_inventory()
    config = {
        "version": "v0.3",
        "typo": 1,
        "global": {"stores": {"response_cache": {"milvus": {"connection": {"hots": "m"}}}}},
        "routing": {"decisions": [{"name": "d", "prioritty": 1}]},
        "providers": {"models": [{"name": "m", "backend_refs": [{"endpont": "x:1"}]}]},
    }
    assert unknown_keys(config, inventory) == [
        "global.stores.response_cache.milvus.connection.hots",
        "providers.models[0].backend_refs[0].endpont",
        "routing.decisions[0].prioritty",
        "typo",
    ]


def test_the_v040_provider_names_are_known_and_the_older_ones_are_not() -> None:
    inventory = load_inventory()
    current = {
        "providers": {"defaults": {"model": "m"}, "models": [{"name": "m", "reasoning": {}}]}
    }
    older = {
        "providers": {"defaults": {"default_model": "m"}, "models": [{"reasoning_family": "q"}]}
    }
    assert unknown_keys(current, inventory) == []
    assert unknown_keys(older, inventory) == [
        "providers.defaults.default_model",
        "providers.models[0].reasoning_family",
    ]


def test_the_v040_renames_are_what_vllm_sr_040_migrate_does(tmp_path: Path) -> None:
    legacy = {
        "version": "v0.3",
        "providers": {
            "defaults": {
                "default_model": "m",
                "default_reasoning_effort": "low",
                "reasoning_families": {"q": {"type": "chat_template_kwargs", "parameter": "t"}},
            },
            "models": [
                {"name": "m", "reasoning_family": "q", "backend_refs": [{"endpoint": "h:1"}]}
            ],
        },
    }
    source = tmp_path / "config.yaml"
    source.write_text(yaml.safe_dump(legacy))
    out = tmp_path / "migrated.yaml"
    vllm_sr = str(Path(__import__("sys").executable).parent / "vllm-sr")
    subprocess.run(
        [vllm_sr, "config", "migrate", "--config", str(source), "--output", str(out)],
        check=True,
        capture_output=True,
    )
    providers = yaml.safe_load(out.read_text())["providers"]
    renames = V040_RENAMES["CanonicalProviderDefaults"]
    assert set(providers["defaults"]) == {v for v in renames.values() if v}
    assert "reasoning" in providers["models"][0]
    assert "reasoning_family" not in providers["models"][0]


@pytest.mark.parametrize(
    ("cache", "problem"),
    [
        (
            {
                "backend_type": "hybrid",
                "milvus": {"development": {"auto_create_collection": True}},
                "redis": {},
            },
            "redis configuration is not valid when backend_type is hybrid",
        ),
        ({"backend_type": "memory", "milvus": {}}, "milvus configuration is not valid"),
        ({"backend_type": "hybrid"}, "milvus configuration is required for hybrid"),
        ({"backend_type": "hybrid", "max_entries": 5, "milvus": {}}, "hybrid ignores max_entries"),
        (
            {"backend_type": "milvus", "milvus": {"connection": {"auth": {"enabled": True}}}},
            "milvus auth is ignored",
        ),
        ({"backend_type": "milvus", "milvus": {}}, "auto_create_collection"),
        (
            {"backend_type": "redis", "redis": {"connection": {"tls": {"enabled": True}}}},
            "redis tls is ignored",
        ),
    ],
)
def test_the_startup_checks_find_what_the_router_refuses_or_ignores(
    cache: dict[str, Any], problem: str
) -> None:
    config = {"global": {"stores": {"response_cache": cache}}}
    assert any(problem in p for p in startup_problems(config)), startup_problems(config)


def test_an_enabled_prompt_guard_without_a_jailbreak_decision_is_a_problem() -> None:
    config = {"global": {"model_catalog": {"modules": {"prompt_guard": {"enabled": True}}}}}
    assert startup_problems(config) == [
        "prompt_guard is enabled but no decision uses a jailbreak signal"
    ]


def test_the_chart_adds_a_blocking_decision_for_an_enabled_prompt_guard() -> None:
    config = chart_config({"vllmEndpoints": [ENDPOINT]})
    [rule] = config["routing"]["signals"]["jailbreak"]
    [decision] = [d for d in config["routing"]["decisions"] if d["name"] == "block-jailbreak"]
    assert decision["rules"]["conditions"] == [{"type": "jailbreak", "name": rule["name"]}]
    assert decision["plugins"][0]["type"] == "fast_response"
    assert decision["priority"] > max(
        d["priority"] for d in config["routing"]["decisions"] if d is not decision
    )


def test_the_chart_adds_no_guard_decision_when_the_prompt_guard_is_off() -> None:
    guard = {
        "config": {"global": {"model_catalog": {"modules": {"prompt_guard": {"enabled": False}}}}}
    }
    config = chart_config({"vllmEndpoints": [ENDPOINT], **guard})
    assert "jailbreak" not in config["routing"].get("signals", {})
    assert [d["name"] for d in config["routing"]["decisions"]] == ["default-route"]


def test_the_chart_keeps_a_jailbreak_decision_the_user_wrote() -> None:
    decision = {
        "name": "mine",
        "priority": 5,
        "rules": {"operator": "OR", "conditions": [{"type": "jailbreak", "name": "strict"}]},
        "plugins": [{"type": "fast_response", "configuration": {"message": "no"}}],
    }
    routing = {
        "signals": {"jailbreak": [{"name": "strict", "threshold": 0.4}]},
        "decisions": [decision],
    }
    config = chart_config({"vllmEndpoints": [ENDPOINT], "config": {"routing": routing}})
    assert config["routing"]["decisions"] == [decision]


def test_a_pii_classifier_gets_a_decision_that_routes_as_usual_and_loads_it() -> None:
    pii = {"model_id": "models/mom-pii-classifier", "threshold": 0.7}
    values = {
        "vllmEndpoints": [ENDPOINT],
        "config": {"global": {"model_catalog": {"modules": {"classifier": {"pii": pii}}}}},
    }
    config = chart_config(values)
    [decision] = [d for d in config["routing"]["decisions"] if d["name"] == "pii-detected"]
    assert decision["rules"]["conditions"] == [{"type": "pii", "name": "pii-detected"}]
    assert decision["modelRefs"] == [{"model": "llama3-8b", "use_reasoning": False}]
    assert "plugins" not in decision


def test_the_chart_turns_off_router_defaults_that_reach_for_missing_services() -> None:
    no_tools = {"config": {"global": {"integrations": {"tools": None}}}}
    config = chart_config({"vllmEndpoints": [ENDPOINT], **no_tools})["global"]
    assert config["model_catalog"]["embeddings"]["semantic"]["mmbert_model_path"] == ""
    assert config["services"]["observability"]["tracing"]["enabled"] is False
    assert config["services"]["response_api"]["enabled"] is False


def test_with_tools_on_the_router_keeps_its_mmbert_model_which_loads_the_tools_database() -> None:
    """The router loads the tools database only once an mmBERT (Qwen3, Gemma) embedding
    model is ready, never on the BERT model alone (pkg/modelruntime/router_runtime.go)."""
    config = chart_config({"vllmEndpoints": [ENDPOINT]})["global"]
    assert config["integrations"]["tools"]["enabled"] is True
    assert "mmbert_model_path" not in config["model_catalog"]["embeddings"]["semantic"]


@pytest.mark.parametrize(("buffer", "megabytes"), [(52428800, 51), (4194304, 5), (5000000, 6)])
def test_the_router_accepts_ext_proc_messages_as_large_as_the_body_envoy_buffers(
    buffer: int, megabytes: int
) -> None:
    """The router's gRPC server refuses a message over grpc_max_msg_size_mb (4 MiB unless
    set): a buffered body larger than that would fail the request."""
    values = {"vllmEndpoints": [ENDPOINT], "envoy": {"bufferLimitBytes": buffer}}
    config = chart_config(values)["global"]
    assert config["integrations"]["looper"]["grpc_max_msg_size_mb"] == megabytes
    set_by_user = {"config": {"global": {"integrations": {"looper": {"grpc_max_msg_size_mb": 8}}}}}
    config = chart_config({**values, **set_by_user})["global"]
    assert config["integrations"]["looper"]["grpc_max_msg_size_mb"] == 8


def test_looper_calls_go_through_the_pods_own_envoy_listener_in_standalone_mode() -> None:
    """The router's looper default, localhost:8899 (pkg/config/canonical_defaults.go), is the
    vllm-sr container's Envoy listener; in our pod nothing listens there. Looper calls must
    pass through an Envoy whose ext_proc is this router (it recognises them by their
    x-vsr-looper-* headers), so the chart points them at the sidecar's listener."""
    values = {"vllmEndpoints": [ENDPOINT], "envoy": {"port": 9000}}
    looper = chart_config(values)["global"]["integrations"]["looper"]
    assert looper["endpoint"] == "http://127.0.0.1:9000/v1/chat/completions"
    mine = "http://other:8080/v1/chat/completions"
    set_by_user = {"config": {"global": {"integrations": {"looper": {"endpoint": mine}}}}}
    looper = chart_config({**values, **set_by_user})["global"]["integrations"]["looper"]
    assert looper["endpoint"] == mine


GATEWAY = {"existingRef": {"name": "eg", "namespace": "gateways"}}
SECOND = {**ENDPOINT, "name": "b", "model": "qwen3-8b"}
COMPRESSION = {"type": "context_compression", "configuration": {"recovery": {"enabled": True}}}


def decision(models: int = 2, **fields: Any) -> dict[str, Any]:
    """Values with two endpoints and one decision routing to the first `models` of them."""
    refs = [{"model": m["model"]} for m in (ENDPOINT, SECOND)[:models]]
    one = {"name": "ensemble", "priority": 10, "modelRefs": refs, **fields}
    return {"vllmEndpoints": [ENDPOINT, SECOND], "config": {"routing": {"decisions": [one]}}}


def with_looper(values: dict[str, Any], endpoint: Any) -> dict[str, Any]:
    values["config"]["global"] = {"integrations": {"looper": {"endpoint": endpoint}}}
    return values


def looper_of(values: dict[str, Any]) -> dict[str, Any]:
    looper: dict[str, Any] = chart_config(values)["global"]["integrations"]["looper"]
    return looper


# What the router runs through its looper (pkg/extproc/req_filter_looper.go hasLooperModelInputs,
# req_filter_prompt_selector.go, config/validator_decision.go), and whether "" may turn it off.
LOOPER_USES = {
    "confidence": (decision(algorithm={"type": "confidence"}), True),
    "ratings": (decision(algorithm={"type": "ratings"}), True),
    "remom": (decision(models=1, algorithm={"type": "remom"}), True),
    "workflows": (decision(models=1, algorithm={"type": "workflows"}), True),
    "fusion": (decision(models=1, algorithm={"type": "fusion", "fusion": None}), True),
    "fusion-analysis-models": (
        decision(models=0, algorithm={"type": "fusion", "fusion": {"analysis_models": ["a"]}}),
        True,
    ),
    "prompt": (decision(algorithm={"type": "prompt", "prompt": {"model": "qwen3-8b"}}), False),
    "context_compression recovery": (decision(models=1, plugins=[COMPRESSION]), False),
}


@pytest.mark.parametrize("use", sorted(LOOPER_USES))
def test_in_gateway_mode_a_decision_using_the_looper_needs_its_endpoint(use: str) -> None:
    values, may_be_off = copy.deepcopy(LOOPER_USES[use])
    with pytest.raises(HelmError) as failure:
        chart_config({**values, "gateway": GATEWAY})
    message = " ".join(str(failure.value).split())
    what = use.removesuffix("-analysis-models")
    what = what if what == "context_compression recovery" else f"the {what} algorithm"
    assert f'routing decision "ensemble" uses {what}, which the router runs' in message
    assert "Set the endpoint to your Gateway's listener" in message
    assert "(CR: spec.config.looper.endpoint;" in message
    assert ('or to "" to route the decision without the looper' in message) is may_be_off


@pytest.mark.parametrize("use", sorted(LOOPER_USES))
def test_the_users_looper_endpoint_lets_gateway_mode_render_and_is_kept(use: str) -> None:
    values = with_looper(copy.deepcopy(LOOPER_USES[use][0]), "http://eg.gateways/v1")
    assert looper_of({**values, "gateway": GATEWAY})["endpoint"] == "http://eg.gateways/v1"


@pytest.mark.parametrize("use", sorted(LOOPER_USES))
def test_an_empty_looper_endpoint_turns_off_only_what_can_run_without_it(use: str) -> None:
    values, may_be_off = copy.deepcopy(LOOPER_USES[use])
    values = with_looper(values, "")
    if may_be_off:
        assert looper_of(values)["endpoint"] == ""
        return
    with pytest.raises(HelmError) as failure:
        chart_config(values)
    assert 'is "": the router would refuse to start' in " ".join(str(failure.value).split())


@pytest.mark.parametrize(
    "values",
    [
        decision(models=1, algorithm={"type": "confidence"}),
        decision(models=1, algorithm={"type": "ratings"}),
        decision(models=0, algorithm={"type": "fusion", "fusion": {"analysis_models": []}}),
        decision(algorithm={"type": "static"}),
        decision(algorithm=None),
        decision(algorithm="remom"),
        decision(plugins=[{"type": "context_compression", "configuration": None}]),
        decision(plugins=[{**COMPRESSION, "configuration": {"recovery": {"enabled": False}}}]),
    ],
    ids=[
        "confidence-one-model",
        "ratings-one-model",
        "fusion-nothing-to-fuse",
        "selector-algorithm",
        "no-algorithm",
        "algorithm-not-an-object",
        "compression-without-configuration",
        "compression-without-recovery",
    ],
)
def test_in_gateway_mode_decisions_the_router_runs_without_the_looper_render_as_they_are(
    values: dict[str, Any],
) -> None:
    """Nothing to refuse, and the router's own default endpoint is left alone."""
    assert "endpoint" not in looper_of({**values, "gateway": GATEWAY})


@pytest.mark.parametrize("endpoint", [None, 8899], ids=["null", "not-a-string"])
def test_an_endpoint_that_is_not_a_string_gets_the_sidecars_listener_in_standalone_mode(
    endpoint: Any,
) -> None:
    """The router keeps its own default for anything but a string: the chart's default wins."""
    values = with_looper(decision(algorithm={"type": "remom"}), endpoint)
    assert looper_of(values)["endpoint"] == "http://127.0.0.1:8801/v1/chat/completions"


def guard_of(values: dict[str, Any]) -> dict[str, Any]:
    guard: dict[str, Any] = chart_config({"vllmEndpoints": [ENDPOINT], **values})["global"][
        "model_catalog"
    ]["modules"]["prompt_guard"]
    return guard


def with_guard(**guard: Any) -> dict[str, Any]:
    return {"config": {"global": {"model_catalog": {"modules": {"prompt_guard": guard}}}}}


def test_a_prompt_guard_on_its_own_model_gets_the_candle_loader_and_that_models_mapping() -> None:
    guard = guard_of({})  # the chart's default guard: models/mom-jailbreak-classifier
    assert guard["variant"] == "candle"
    assert guard["jailbreak_mapping_path"] == (
        "models/mom-jailbreak-classifier/jailbreak_type_mapping.json"
    )
    guard = guard_of(with_guard(model_id="models/my-guard/", variant=None))
    assert guard["jailbreak_mapping_path"] == "models/my-guard/jailbreak_type_mapping.json"


@pytest.mark.parametrize(
    "guard",
    [
        {"model_id": "models/mmbert32k-jailbreak-detector-merged"},
        {"model_id": None},
        {"backend": {"protocol": "http_chat", "model": "guard"}},
        {"variant": "mmbert32k", "jailbreak_mapping_path": "models/x/map.json"},
    ],
    ids=["router-default-model", "model-ref-only", "remote", "set-by-user"],
)
def test_the_router_keeps_its_own_guard_defaults_or_the_users(guard: dict[str, Any]) -> None:
    rendered = guard_of(with_guard(**guard))
    for key in ("variant", "jailbreak_mapping_path"):
        assert rendered.get(key) == guard.get(key)


def test_a_users_tracing_setting_is_kept() -> None:
    tracing = {"enabled": True, "exporter": {"endpoint": "otel:4317"}}
    values = {"config": {"global": {"services": {"observability": {"tracing": tracing}}}}}
    config = chart_config({"vllmEndpoints": [ENDPOINT], **values})
    assert config["global"]["services"]["observability"]["tracing"]["enabled"] is True


def test_a_milvus_backed_cache_creates_its_collection_unless_told_otherwise() -> None:
    base: dict[str, Any] = {
        "backend_type": "milvus",
        "max_entries": None,
        "eviction_policy": None,
        "milvus": {"connection": {"host": "milvus"}},
    }
    config = chart_config({"config": {"global": {"stores": {"response_cache": base}}}})
    cache = config["global"]["stores"]["response_cache"]
    assert cache["milvus"]["development"] == {"auto_create_collection": True}
    told = copy.deepcopy(base)
    told["milvus"]["development"] = {"auto_create_collection": False}
    config = chart_config({"config": {"global": {"stores": {"response_cache": told}}}})
    assert config["global"]["stores"]["response_cache"]["milvus"]["development"] == {
        "auto_create_collection": False
    }


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        (
            {
                "backend_type": "hybrid",
                "milvus": {"connection": {"host": "m"}},
                "redis": {"connection": {"host": "r"}},
            },
            "response_cache.redis is set but backend_type is hybrid",
        ),
        (
            {"backend_type": "hybrid", "milvus": {"connection": {"host": "m"}}},
            "backend_type hybrid ignores max_entries and eviction_policy",
        ),
        (
            {
                "backend_type": "milvus",
                "max_entries": None,
                "eviction_policy": None,
                "milvus": {"connection": {"host": "m", "auth": {"enabled": True}}},
            },
            "milvus.connection.auth is not supported",
        ),
        (
            {
                "backend_type": "milvus",
                "max_entries": None,
                "eviction_policy": None,
                "milvus": {"connection": {"host": "m", "database": "cache"}},
            },
            "milvus.connection.database is not supported",
        ),
        (
            {
                "backend_type": "milvus",
                "max_entries": None,
                "eviction_policy": None,
                "milvus": {"connection": {"host": "m", "tls": {"enabled": True}}},
            },
            "milvus.connection.tls is not supported",
        ),
        (
            {
                "backend_type": "redis",
                "max_entries": None,
                "eviction_policy": None,
                "redis": {"connection": {"host": "r", "tls": {"enabled": True}}},
            },
            "redis.connection.tls is not supported",
        ),
    ],
)
def test_the_chart_refuses_cache_settings_the_router_cannot_honour(
    cache: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError) as refused:
        render(values={"config": {"global": {"stores": {"response_cache": cache}}}})
    assert message in str(refused.value)


def test_the_configuration_guide_names_the_inventory_commit_and_every_router_flag() -> None:
    from semantic_router_operator.models import ROUTER_FLAGS

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## Router features and what they need", 1)[1].split("\n## ", 1)[0]
    commit = yaml.safe_load(INVENTORY.read_text())["commit"]
    assert f"`{commit[:8]}`" in section
    assert all(f"`--{flag}`" in section for flag in ROUTER_FLAGS)
