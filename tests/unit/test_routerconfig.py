"""routerconfig: the CR's seed-shaped spec.config → the router's canonical v0.3 config.

The verdicts come from the router's own CLI (`vllm-sr config validate` and
`vllm-sr config migrate`), run on every seed snippet and every sample CR.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from semantic_router_operator.routerconfig import (
    SECRET_REF_PATHS,
    TOOLS_DB_PATH,
    CanonicalConfig,
    RouterConfigError,
    is_numeric_key,
    iter_secret_refs,
    to_canonical,
)

from tests.support.chartreasoning import chart_reasoning, reasoning_can_be_off

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.yaml"))

# --- The seed documentation's spec.config snippets, verbatim --------------------------

SEED_SNIPPETS: dict[str, str] = {
    "custom_configuration": """
bert_model:
  model_id: "models/mom-embedding-light"
  threshold: "0.6"
  use_cpu: true
semantic_cache:
  enabled: true
  backend_type: "memory"
  max_entries: 1000
  ttl_seconds: 3600
tools:
  enabled: true
  top_k: 3
  similarity_threshold: "0.2"
prompt_guard:
  enabled: true
  threshold: "0.7"
""",
    "key_configuration_sections": """
bert_model:
  model_id: "models/mom-embedding-light"
  threshold: 0.6
  use_cpu: true
semantic_cache:
  enabled: true
  backend_type: "memory"
  similarity_threshold: 0.8
  max_entries: 1000
  ttl_seconds: 3600
  eviction_policy: "fifo"
tools:
  enabled: true
  top_k: 3
  similarity_threshold: 0.2
  tools_db_path: "config/tools_db.json"
  fallback_to_empty: true
prompt_guard:
  enabled: true
  model_id: "models/mom-jailbreak-classifier"
  threshold: 0.7
  use_cpu: true
classifier:
  category_model:
    model_id: "models/lora_intent_classifier_bert-base-uncased_model"
    threshold: 0.6
    use_cpu: true
  pii_model:
    model_id: "models/pii_classifier_modernbert-base_presidio_token_model"
    threshold: 0.7
    use_cpu: true
reasoning_families:
  deepseek:
    type: "chat_template_kwargs"
    parameter: "thinking"
  qwen3:
    type: "chat_template_kwargs"
    parameter: "enable_thinking"
  gpt:
    type: "reasoning_effort"
    parameter: "reasoning_effort"
api:
  batch_classification:
    max_batch_size: 100
    concurrency_threshold: 5
    max_concurrency: 8
    metrics:
      enabled: true
      detailed_goroutine_tracking: true
      sample_rate: 1.0
observability:
  tracing:
    enabled: false
    provider: "opentelemetry"
    exporter:
      type: "otlp"
      endpoint: "jaeger:4317"
""",
    "memory_cache": """
bert_model:
  model_id: models/mom-embedding-light
  threshold: "0.6"
  use_cpu: true
semantic_cache:
  enabled: true
  backend_type: memory
  similarity_threshold: "0.8"
  max_entries: 1000
  ttl_seconds: 3600
  eviction_policy: fifo
""",
    "redis_cache": """
bert_model:
  model_id: models/mom-embedding-light
  threshold: "0.6"
  use_cpu: true
semantic_cache:
  enabled: true
  backend_type: redis
  similarity_threshold: "0.85"
  ttl_seconds: 3600
  embedding_model: bert
  redis:
    connection:
      host: redis.default.svc.cluster.local
      port: 6379
      database: 0
      password_secret_ref:
        name: redis-credentials
        key: password
      timeout: 30
      tls:
        enabled: false
    index:
      name: semantic_cache_idx
      prefix: "cache:"
      vector_field:
        name: embedding
        dimension: 384
        metric_type: COSINE
      index_type: HNSW
      params:
        M: 16
        efConstruction: 64
    search:
      topk: 1
    development:
      auto_create_index: true
      verbose_errors: true
""",
    "milvus_cache": """
bert_model:
  model_id: models/mom-embedding-light
  threshold: "0.6"
  use_cpu: true
semantic_cache:
  enabled: true
  backend_type: milvus
  similarity_threshold: "0.90"
  ttl_seconds: 7200
  embedding_model: bert
  milvus:
    connection:
      host: milvus-standalone.default.svc.cluster.local
      port: 19530
      database: semantic_router_cache
      timeout: 30
      auth:
        enabled: true
        username: root
        password_secret_ref:
          name: milvus-credentials
          key: password
    collection:
      name: semantic_cache
      description: "Semantic cache for LLM responses"
      vector_field:
        name: embedding
        dimension: 384
        metric_type: IP
      index:
        type: HNSW
        params:
          M: 16
          efConstruction: 64
    search:
      params:
        ef: 64
      topk: 10
      consistency_level: Session
    performance:
      connection_pool:
        max_connections: 10
        max_idle_connections: 5
      batch:
        insert_batch_size: 100
    data_management:
      ttl:
        enabled: true
        timestamp_field: created_at
        cleanup_interval: 3600
    development:
      auto_create_collection: true
""",
    "hybrid_cache": """
bert_model:
  model_id: models/mom-embedding-light
  threshold: "0.6"
  use_cpu: true
semantic_cache:
  enabled: true
  backend_type: hybrid
  similarity_threshold: "0.85"
  ttl_seconds: 3600
  max_entries: 5000
  eviction_policy: lru
  embedding_model: bert
  hnsw:
    use_hnsw: true
    hnsw_m: 32
    hnsw_ef_construction: 128
    max_memory_entries: 5000
  milvus:
    connection:
      host: milvus-standalone.default.svc.cluster.local
      port: 19530
""",
    "cache_embedding_model": """
semantic_cache:
  embedding_model: bert
""",
    "distributed_tracing": """
observability:
  tracing:
    enabled: true
    provider: "opentelemetry"
    exporter:
      type: "otlp"
      endpoint: "jaeger-collector:4317"
      insecure: true
    sampling:
      type: "always_on"
      rate: 1.0
""",
}

# The seed's Custom Configuration endpoint: what the chart builds providers from when a
# snippet is validated on its own.
SEED_ENDPOINTS: list[dict[str, Any]] = [
    {
        "name": "llama3-8b-endpoint",
        "model": "llama3-8b",
        "reasoningFamily": "qwen3",
        "backend": {"type": "kserve", "inferenceServiceName": "llama-3-8b"},
        "weight": 1,
    }
]


def seed(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load(SEED_SNIPPETS[name])
    assert isinstance(loaded, dict)
    return loaded


def sample_specs() -> dict[str, dict[str, Any]]:
    """spec of every SemanticRouter document under samples/, keyed by file:name."""
    specs: dict[str, dict[str, Any]] = {}
    for path in SAMPLES:
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "SemanticRouter":
                name = f"{path.name}:{document['metadata']['name']}"
                specs[name] = document.get("spec") or {}
    return specs


# --- What the chart adds (docs/architecture.md), so a translation validates in context --


def chart_providers_stanza(
    result: CanonicalConfig, endpoints: list[dict[str, Any]]
) -> dict[str, Any]:
    """The router config as the chart renders it from a translation and vllmEndpoints.

    Minimal form of the chart's contract: one provider model per distinct
    `vllmEndpoints[].model` with one backend_ref per endpoint, `reasoning` from
    `reasoningFamilies` with the chart's defaults (tests/support/chartreasoning.py), a
    model card per model and a catch-all decision; each `password_secret_ref` becomes
    `password: ${ENV}` (bound with secretKeyRef).
    """
    config = deepcopy(result.config)
    for owner, _ref in iter_secret_refs(config):
        connection = config
        for key in owner:
            connection = connection[key]
        del connection["password_secret_ref"]
        connection["password"] = "${" + "_".join(owner[2:]).upper() + "_PASSWORD}"

    models: dict[str, dict[str, Any]] = {}
    for index, endpoint in enumerate(endpoints):
        model = models.setdefault(endpoint["model"], {"name": endpoint["model"]})
        family = result.reasoning_families.get(endpoint.get("reasoningFamily", ""))
        if family:
            model["reasoning"] = chart_reasoning(family)
        model.setdefault("backend_refs", []).append(
            {
                "name": endpoint["name"],
                "endpoint": f"backend-{index}.models.svc.cluster.local:8000",
                "protocol": "http",
                "weight": endpoint.get("weight", 1),
            }
        )
    providers = config.setdefault("providers", {})
    providers.setdefault("models", []).extend(models.values())
    if models:
        providers.setdefault("defaults", {}).setdefault("model", next(iter(models)))
    routing = config.setdefault("routing", {})
    routing.setdefault("modelCards", []).extend({"name": name} for name in models)
    if models and not routing.get("decisions"):
        routing["decisions"] = [
            {
                "name": "default",
                "priority": 1,
                "rules": {"operator": "AND", "conditions": []},
                "modelRefs": [
                    {"model": name, "use_reasoning": not reasoning_can_be_off(m.get("reasoning"))}
                    for name, m in models.items()
                ],
            }
        ]
    return config


# --- The router's own CLI, run once for every document ---------------------------------

# One interpreter invokes the real `vllm-sr` click command for each job, so the router's
# large model catalog is parsed once instead of once per document.
_CLI_RUNNER = """
import json, sys
from click.testing import CliRunner
from cli.main import main

results = []
for job in json.load(open(sys.argv[1])):
    outcome = CliRunner().invoke(main, job["args"], catch_exceptions=True)
    results.append({"exit_code": outcome.exit_code, "output": outcome.output})
json.dump(results, open(sys.argv[2], "w"))
"""


def run_vllm_sr(jobs: list[list[str]], workdir: Path) -> list[dict[str, Any]]:
    jobs_file, results_file = workdir / "jobs.json", workdir / "results.json"
    jobs_file.write_text(json.dumps([{"args": args} for args in jobs]))
    subprocess.run(
        [sys.executable, "-c", _CLI_RUNNER, str(jobs_file), str(results_file)],
        check=True,
        timeout=240,
        cwd=workdir,
    )
    results = json.loads(results_file.read_text())
    assert isinstance(results, list)
    return results


# The seed's reasoning families, each attached to a provider model of its own.
EVERY_FAMILY_CASE = "seed:key_configuration_sections with a model per reasoning family"


def all_cases() -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every spec.config to check, with the vllmEndpoints the chart builds providers from."""
    cases = {f"seed:{name}": (seed(name), SEED_ENDPOINTS) for name in SEED_SNIPPETS}
    families = seed("key_configuration_sections")["reasoning_families"]
    cases[EVERY_FAMILY_CASE] = (
        seed("key_configuration_sections"),
        [
            {"name": f"{family}-endpoint", "model": f"{family}-model", "reasoningFamily": family}
            for family in sorted(families)
        ],
    )
    for name, spec in sample_specs().items():
        cases[f"sample:{name}"] = (spec.get("config") or {}, spec.get("vllmEndpoints") or [])
    return cases


class Verdicts:
    """Validate verdicts of each translated case, and migrate's view of each input."""

    def __init__(self, workdir: Path) -> None:
        cases = all_cases()
        self.results: dict[str, CanonicalConfig] = {}
        jobs: list[list[str]] = []
        for index, (name, (config, endpoints)) in enumerate(sorted(cases.items())):
            result = to_canonical(config)
            self.results[name] = result
            rendered = workdir / f"case-{index}.yaml"
            rendered.write_text(yaml.safe_dump(chart_providers_stanza(result, endpoints)))
            legacy = workdir / f"legacy-{index}.yaml"
            legacy.write_text(yaml.safe_dump(config))
            migrated = workdir / f"migrated-{index}.yaml"
            jobs.append(["config", "validate", "--config", str(rendered)])
            jobs.append(["config", "migrate", "--config", str(legacy), "--output", str(migrated)])
        outcomes = run_vllm_sr(jobs, workdir)
        self.validate: dict[str, dict[str, Any]] = {}
        self.migrated: dict[str, dict[str, Any]] = {}
        for index, name in enumerate(sorted(cases)):
            self.validate[name] = outcomes[2 * index]
            migrate = outcomes[2 * index + 1]
            assert migrate["exit_code"] == 0, f"{name}: migrate failed: {migrate['output']}"
            self.migrated[name] = yaml.safe_load((workdir / f"migrated-{index}.yaml").read_text())


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Verdicts:
    return Verdicts(tmp_path_factory.mktemp("routerconfig"))


# --- 1. Every seed snippet and sample passes `vllm-sr config validate` -----------------


@pytest.mark.parametrize("name", sorted(SEED_SNIPPETS))
def test_seed_snippet_translation_passes_router_validate(verdicts: Verdicts, name: str) -> None:
    verdict = verdicts.validate[f"seed:{name}"]
    assert verdict["exit_code"] == 0, verdict["output"]
    assert "Configuration is valid" in verdict["output"]


def test_samples_directory_holds_sample_crs() -> None:
    assert SAMPLES, "samples/*.yaml is empty: every seed sample CR belongs there"
    assert sample_specs(), "no SemanticRouter document found under samples/"


def test_every_sample_cr_config_passes_router_validate(verdicts: Verdicts) -> None:
    samples = {name: v for name, v in verdicts.validate.items() if name.startswith("sample:")}
    assert samples, "no sample CR to validate"
    failures = {name: v["output"] for name, v in samples.items() if v["exit_code"] != 0}
    assert not failures, json.dumps(failures, indent=2)


# --- 2. Agreement with `vllm-sr config migrate` ----------------------------------------

# Every way routerconfig's output differs from `vllm-sr config migrate` of the same
# legacy config, with the reason. Patterns match dotted leaf paths.
ONLY_IN_MIGRATE: dict[str, str] = {
    "listeners": "migrate writes `listeners: []`; the chart owns the listeners "
    "(Envoy sidecar or an existing Gateway)",
    "global.stores.response_cache.hnsw.*": "no HNSW settings in the v0.3 response cache "
    "(the router rejects the key); dropped with a notice",
    "global.stores.response_cache.redis.development.verbose_errors": "not a v0.3 Redis "
    "setting (the router rejects the key); dropped with a notice",
    "global.stores.response_cache.milvus.development.verbose_errors": "not a v0.3 Milvus "
    "setting (the router rejects the key); dropped with a notice",
    "global.model_catalog.modules.prompt_guard.use_modernbert": "v0.3 picks the prompt "
    "guard variant with `variant` (the router rejects the key); dropped with a notice",
    "global.model_catalog.modules.classifier.pii.use_modernbert": "not a v0.3 PII "
    "classifier setting (the router rejects the key); dropped with a notice",
    "global.stores.response_cache.milvus.performance.*": "not a v0.3 Milvus setting "
    "(the router rejects the key); dropped with a notice",
    "global.stores.response_cache.milvus.data_management.*": "not a v0.3 Milvus setting "
    "(the router rejects the key); dropped with a notice",
    "global.stores.response_cache.max_entries": "a hybrid cache ignores it and the router "
    "refuses it at start-up; dropped with a notice",
    "global.stores.response_cache.eviction_policy": "a hybrid cache ignores it and the "
    "router refuses it at start-up; dropped with a notice",
    "global.stores.response_cache.milvus.connection.auth.*": "the router (v0.4.0) connects "
    "to Milvus without credentials; dropped with a notice",
    "global.stores.response_cache.milvus.connection.database": "the router (v0.4.0) always "
    "uses the database named default; dropped with a notice",
}
ONLY_IN_ROUTERCONFIG: dict[str, str] = {
    "global.integrations.tools.tools_db_path": "tools enabled without a path: routerconfig "
    "points the router at the tools DB where the chart mounts it",
}
VALUE_DIFFERENCES: dict[str, str] = {
    "string-threshold": "migrate copies a threshold written as a string ('0.6'); "
    "routerconfig writes the number (the router's schema wants a number)",
}


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path; empty mappings (migrate's placeholders) hold nothing."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(mine: dict[str, Any], migrated: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, justification key) for each difference; unjustified ones are 'UNLISTED'."""
    ours, theirs = leaves(mine), leaves(migrated)
    for path in sorted(theirs.keys() - ours.keys()):
        yield path, _listed(path, ONLY_IN_MIGRATE)
    for path in sorted(ours.keys() - theirs.keys()):
        yield path, _listed(path, ONLY_IN_ROUTERCONFIG)
    for path in sorted(ours.keys() & theirs.keys()):
        if ours[path] == theirs[path]:
            continue
        if isinstance(theirs[path], str) and _as_number(theirs[path]) == ours[path]:
            yield path, "string-threshold"
        else:
            yield path, f"UNLISTED value {theirs[path]!r} != {ours[path]!r}"


def _listed(path: str, table: Mapping[str, str]) -> str:
    return next((pattern for pattern in table if fnmatch.fnmatchcase(path, pattern)), "UNLISTED")


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def test_translation_agrees_with_vllm_sr_migrate_on_every_key_both_produce(
    verdicts: Verdicts,
) -> None:
    unlisted = {
        f"{name} {path}": why
        for name, result in verdicts.results.items()
        for path, why in differences(result.config, verdicts.migrated[name])
        if why.startswith("UNLISTED")
    }
    assert not unlisted, json.dumps(unlisted, indent=2)


def test_every_listed_difference_from_migrate_occurs(verdicts: Verdicts) -> None:
    seen = {
        why
        for name, result in verdicts.results.items()
        for _path, why in differences(result.config, verdicts.migrated[name])
    }
    listed = {*ONLY_IN_MIGRATE, *ONLY_IN_ROUTERCONFIG, *VALUE_DIFFERENCES}
    assert listed <= seen, f"listed but never seen: {sorted(listed - seen)}"


# Legacy sections `vllm-sr config migrate` knows, with a representative value each.
LEGACY_SECTIONS: dict[str, Any] = {
    "strategy": "priority",
    "auto_model_name": "MoM",
    "auto_model_names": ["MoM", "auto"],
    "include_config_models_in_list": True,
    "clear_route_cache": True,
    "model_selection": {"method": "static"},
    "streamed_body_mode": True,
    "max_streamed_body_bytes": 1048576,
    "streamed_body_timeout_sec": 30,
    "response_api": {"enabled": True},
    "router_replay": {"enabled": False},
    "authz": {"enabled": False},
    "ratelimit": {"enabled": False},
    "response_cache": {"enabled": True, "backend_type": "memory"},
    "memory": {"enabled": False},
    "vector_store": {"enabled": False},
    "looper": {"enabled": False},
    "system_models": {"prompt_guard": "models/guard"},
    "external_models": [{"name": "guard", "model_role": "guardrail"}],
    "embedding_models": {"mmbert_model_path": "models/mom-embedding-ultra", "use_cpu": True},
    "prompt_compression": {"enabled": False},
    "modality_detector": {"enabled": False},
    "feedback_detector": {"enabled": True, "model_id": "models/feedback"},
    "classifier": {
        "category_model": {"model_id": "models/category", "threshold": 0.6},
        "pii_model": {"model_id": "models/pii", "threshold": 0.7},
        "mcp_category_model": {"enabled": False},
        "preference_model": {"use_contrastive": True},
    },
    "hallucination_mitigation": {
        "enabled": True,
        "fact_check_model": {"model_id": "models/fact"},
        "hallucination_model": {"model_id": "models/detector"},
        "nli_model": {"model_id": "models/nli"},
    },
    "signals": {"keywords": [{"name": "urgent", "operator": "OR", "keywords": ["now"]}]},
    "decisions": [{"name": "d", "priority": 1}],
    "keyword_rules": [{"name": "k", "operator": "OR", "keywords": ["x"]}],
    "embedding_rules": [{"name": "e"}],
    "categories": [{"name": "math"}],
    "fact_check_rules": [{"name": "f"}],
    "user_feedback_rules": [{"name": "u"}],
    "reask_rules": [{"name": "r"}],
    "preference_rules": [{"name": "p"}],
    "language_rules": [{"name": "l"}],
    "context_rules": [{"name": "c"}],
    "structure_rules": [{"name": "s"}],
    "complexity_rules": [{"name": "x"}],
    "modality_rules": [{"name": "m"}],
    "role_bindings": [{"name": "rb"}],
    "jailbreak": [{"name": "j"}],
    "hallucination": [{"name": "h"}],
    "pii": [{"name": "pii"}],
    "kb": [{"name": "kb"}],
    "conversation": [{"name": "cv"}],
    "events": [{"name": "ev"}],
    "metadata": [{"name": "md"}],
    "classifiers": [{"name": "cl"}],
    "input_modality": [{"name": "im"}],
    "default_model": "llama3-8b",
    "default_reasoning_effort": "medium",
    "evaluation_catalog": {"records": [{"model": "m", "benchmark": "b", "metrics": {"s": 1.0}}]},
}


def test_each_legacy_section_lands_where_vllm_sr_migrate_puts_it(tmp_path: Path) -> None:
    names = sorted(LEGACY_SECTIONS)
    jobs = []
    for index, name in enumerate(names):
        (tmp_path / f"in-{index}.yaml").write_text(yaml.safe_dump({name: LEGACY_SECTIONS[name]}))
        jobs.append(
            [
                "config",
                "migrate",
                "--config",
                str(tmp_path / f"in-{index}.yaml"),
                "--output",
                str(tmp_path / f"out-{index}.yaml"),
            ]
        )
    outcomes = run_vllm_sr(jobs, tmp_path)
    unlisted = {}
    for index, name in enumerate(names):
        assert outcomes[index]["exit_code"] == 0, outcomes[index]["output"]
        migrated = yaml.safe_load((tmp_path / f"out-{index}.yaml").read_text())
        mine = to_canonical({name: LEGACY_SECTIONS[name]}).config
        assert leaves(mine), f"{name} translated to nothing"
        for path, why in differences(mine, migrated):
            if why != "listeners":
                unlisted[f"{name} {path}"] = why
    assert not unlisted, json.dumps(unlisted, indent=2)


# --- 3. Behaviour: shape, numbers, secrets, tools path, notices, determinism -----------


def test_seed_sections_land_in_their_canonical_homes() -> None:
    config = to_canonical(seed("key_configuration_sections")).config
    catalog = config["global"]["model_catalog"]
    assert config["version"] == "v0.3"
    assert catalog["embeddings"]["semantic"] == {
        "bert_model_path": "models/mom-embedding-light",
        "embedding_config": {"min_score_threshold": 0.6},
        "use_cpu": True,
    }
    assert catalog["modules"]["prompt_guard"]["model_ref"] == "prompt_guard"
    assert catalog["modules"]["classifier"]["domain"]["model_ref"] == "domain_classifier"
    assert catalog["modules"]["classifier"]["pii"]["model_ref"] == "pii_classifier"
    assert config["global"]["stores"]["response_cache"]["eviction_policy"] == "fifo"
    assert config["global"]["integrations"]["tools"]["top_k"] == 3
    assert config["global"]["services"]["api"]["batch_classification"]["max_batch_size"] == 100
    assert config["global"]["services"]["observability"]["tracing"]["provider"] == "opentelemetry"
    assert "reasoning_families" not in yaml.safe_dump(config)
    assert "providers" not in config


def test_reasoning_families_are_returned_for_the_chart() -> None:
    result = to_canonical(seed("key_configuration_sections"))
    assert result.reasoning_families == {
        "deepseek": {"parameter": "thinking", "type": "chat_template_kwargs"},
        "gpt": {"parameter": "reasoning_effort", "type": "reasoning_effort"},
        "qwen3": {"parameter": "enable_thinking", "type": "chat_template_kwargs"},
    }
    assert result.chart_values()["reasoningFamilies"] == result.reasoning_families
    assert result.chart_values()["config"] == result.config


def test_a_reasoning_family_reaches_the_chart_as_written() -> None:
    """The chart owns a family's defaults (levels, modes): it installs on its own too."""
    for family in (
        {"type": "reasoning_effort", "parameter": "e"},
        {"type": "reasoning_effort", "parameter": "e", "levels": ["x"]},
    ):
        result = to_canonical({"reasoning_families": {"gpt": dict(family)}})
        assert result.reasoning_families == {"gpt": family}


def test_every_seed_reasoning_family_validates_on_a_provider_model(verdicts: Verdicts) -> None:
    """v0.3 checks inline families harder than the legacy router: each must pass as is."""
    verdict = verdicts.validate[EVERY_FAMILY_CASE]
    assert verdict["exit_code"] == 0, verdict["output"]


def test_string_thresholds_become_numbers() -> None:
    config = to_canonical(
        {
            "bert_model": {"model_id": "m", "threshold": "0.6"},
            "semantic_cache": {"enabled": True, "similarity_threshold": "0.90"},
            "tools": {"enabled": True, "similarity_threshold": "0.2"},
            "prompt_guard": {"enabled": True, "threshold": "0.7"},
            "classifier": {"category_model": {"model_id": "c", "threshold": " 0.5 "}},
            "api": {
                "batch_classification": {
                    "concurrency_threshold": "5",
                    "metrics": {"sample_rate": "1.0"},
                }
            },
        }
    ).config
    semantic = config["global"]["model_catalog"]["embeddings"]["semantic"]
    assert semantic["embedding_config"]["min_score_threshold"] == 0.6
    assert config["global"]["stores"]["response_cache"]["similarity_threshold"] == 0.9
    assert config["global"]["integrations"]["tools"]["similarity_threshold"] == 0.2
    assert config["global"]["model_catalog"]["modules"]["prompt_guard"]["threshold"] == 0.7
    domain = config["global"]["model_catalog"]["modules"]["classifier"]["domain"]
    assert domain["threshold"] == 0.5
    batch = config["global"]["services"]["api"]["batch_classification"]
    assert batch["concurrency_threshold"] == 5
    assert isinstance(batch["concurrency_threshold"], int)
    assert batch["metrics"]["sample_rate"] == 1.0
    assert "'0." not in to_canonical(seed("memory_cache")).to_yaml()


def test_numeric_thresholds_and_env_references_pass_unchanged() -> None:
    config = to_canonical(
        {"semantic_cache": {"similarity_threshold": 0.8}, "tools": {"similarity_threshold": "${T}"}}
    ).config
    assert config["global"]["stores"]["response_cache"]["similarity_threshold"] == 0.8
    assert config["global"]["integrations"]["tools"]["similarity_threshold"] == "${T}"


def test_threshold_suffix_rule_matches_only_numbers_in_the_router_schema() -> None:
    """Every `*threshold`/`rate` key of the v0.3 contract is numeric, but the listed switch."""
    spec = importlib.util.find_spec("cli.config_schema")
    assert spec is not None and spec.origin is not None, "vllm-sr is not installed"
    schema_file = Path(spec.origin).parent / "router-config-v0.3.schema.json"
    types: dict[str, set[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, prop in (node.get("properties") or {}).items():
                types.setdefault(key, set()).add(str(prop.get("type")))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(json.loads(schema_file.read_text()))
    coerced = {key for key in types if is_numeric_key(key)}
    assert coerced
    assert all(types[key] <= {"number", "integer"} for key in coerced), {
        key: types[key] for key in coerced
    }
    assert types["adaptive_threshold"] == {"boolean"}


VALKEY_REF = {"name": "valkey-credentials", "key": "password", "optional": True}


def test_password_secret_refs_stay_where_the_chart_resolves_them() -> None:
    redis = to_canonical(seed("redis_cache")).config
    milvus = to_canonical(seed("milvus_cache")).config
    assert list(iter_secret_refs(redis)) == [
        (SECRET_REF_PATHS[0], {"name": "redis-credentials", "key": "password"})
    ]
    valkey = to_canonical(
        {
            "response_cache": {
                "backend_type": "valkey",
                "valkey": {"connection": {"host": "v", "password_secret_ref": VALKEY_REF}},
            }
        }
    ).config
    assert list(iter_secret_refs(valkey)) == [(SECRET_REF_PATHS[1], VALKEY_REF)]
    assert list(iter_secret_refs(milvus)) == [], "Milvus auth is dropped: the router ignores it"
    for config in (redis, valkey, milvus):
        assert "password:" not in yaml.safe_dump(config).replace("password_secret_ref", "")


def test_a_literal_password_is_refused_naming_the_field() -> None:
    with pytest.raises(RouterConfigError) as caught:
        to_canonical(
            {"semantic_cache": {"redis": {"connection": {"host": "r", "password": "hunter2"}}}}
        )
    assert caught.value.field == "spec.config.semantic_cache.redis.connection.password"
    assert "password_secret_ref" in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_a_literal_api_key_in_the_escape_hatch_is_refused() -> None:
    with pytest.raises(RouterConfigError) as caught:
        to_canonical({"providers": {"models": [{"name": "m", "backend_refs": [{"api_key": "k"}]}]}})
    assert caught.value.field == "spec.config.providers.models[0].backend_refs[0].api_key"


def test_an_env_reference_password_is_accepted() -> None:
    config = to_canonical(
        {"semantic_cache": {"redis": {"connection": {"password": "${REDIS_PASSWORD}"}}}}
    ).config
    connection = config["global"]["stores"]["response_cache"]["redis"]["connection"]
    assert connection["password"] == "${REDIS_PASSWORD}"


def test_a_secret_ref_beside_a_password_is_refused() -> None:
    with pytest.raises(RouterConfigError) as caught:
        to_canonical(
            {
                "semantic_cache": {
                    "redis": {
                        "connection": {
                            "password": "${P}",
                            "password_secret_ref": {"name": "s", "key": "k"},
                        }
                    }
                }
            }
        )
    assert caught.value.field == "spec.config.semantic_cache.redis.connection.password"


def test_a_secret_ref_where_the_chart_cannot_resolve_it_is_refused() -> None:
    with pytest.raises(RouterConfigError) as caught:
        to_canonical(
            {
                "semantic_cache": {
                    "qdrant": {"host": "q", "password_secret_ref": {"name": "s", "key": "k"}}
                }
            }
        )
    assert caught.value.field == "spec.config.semantic_cache.qdrant.password_secret_ref"
    assert "semantic_cache.valkey.connection" in caught.value.message


def test_a_secret_ref_without_a_key_is_refused_naming_the_key() -> None:
    with pytest.raises(RouterConfigError) as caught:
        to_canonical(
            {
                "semantic_cache": {
                    "milvus": {"connection": {"auth": {"password_secret_ref": {"name": "s"}}}}
                }
            }
        )
    assert caught.value.field == (
        "spec.config.semantic_cache.milvus.connection.auth.password_secret_ref.key"
    )


def test_a_secret_ref_in_the_canonical_escape_hatch_is_kept() -> None:
    ref = {"name": "s", "key": "k"}
    config = to_canonical(
        {
            "global": {
                "stores": {
                    "response_cache": {"redis": {"connection": {"password_secret_ref": ref}}}
                }
            }
        }
    ).config
    assert list(iter_secret_refs(config)) == [(SECRET_REF_PATHS[0], ref)]


def test_enabled_tools_without_a_path_read_the_db_where_the_chart_mounts_it() -> None:
    config = to_canonical(seed("custom_configuration")).config
    assert config["global"]["integrations"]["tools"]["tools_db_path"] == TOOLS_DB_PATH
    assert TOOLS_DB_PATH == "/app/config/tools_db.json"


def test_the_seed_tools_db_path_is_kept() -> None:
    config = to_canonical(seed("key_configuration_sections")).config
    assert config["global"]["integrations"]["tools"]["tools_db_path"] == "config/tools_db.json"


def test_disabled_tools_get_no_db_path() -> None:
    config = to_canonical({"tools": {"enabled": False}}).config
    assert config["global"]["integrations"]["tools"] == {"enabled": False}


def test_retired_cache_fields_are_dropped_with_a_notice_naming_them() -> None:
    hybrid = to_canonical(seed("hybrid_cache"))
    assert "hnsw" not in hybrid.config["global"]["stores"]["response_cache"]
    assert hybrid.notices == (
        "spec.config.semantic_cache.hnsw dropped: the v0.3 response cache has no HNSW settings",
        "spec.config.semantic_cache.max_entries dropped: backend_type hybrid caps its "
        "in-memory index itself",
        "spec.config.semantic_cache.eviction_policy dropped: backend_type hybrid caps its "
        "in-memory index itself",
    )
    assert "max_entries" not in hybrid.config["global"]["stores"]["response_cache"]
    redis = to_canonical(seed("redis_cache"))
    development = redis.config["global"]["stores"]["response_cache"]["redis"]["development"]
    assert development == {"auto_create_index": True}
    assert [n.split(" ")[0] for n in redis.notices] == [
        "spec.config.semantic_cache.redis.development.verbose_errors"
    ]
    milvus = to_canonical(seed("milvus_cache"))
    assert [n.split(" ")[0] for n in milvus.notices] == [
        "spec.config.semantic_cache.milvus.data_management",
        "spec.config.semantic_cache.milvus.performance",
        "spec.config.semantic_cache.milvus.connection.auth",
        "spec.config.semantic_cache.milvus.connection.database",
    ]
    assert to_canonical(seed("memory_cache")).notices == ()


def test_same_input_gives_byte_identical_yaml() -> None:
    first = to_canonical(seed("key_configuration_sections")).to_yaml()
    second = to_canonical(seed("key_configuration_sections")).to_yaml()
    assert first == second
    assert first.startswith("global:\n")


def _reordered(value: Any, order: list[int]) -> Any:
    """The same data, each mapping's keys put in the order the permutation picks."""
    if isinstance(value, dict):
        keys = list(value)
        positions = [i for i in order if i < len(keys)] + list(range(len(order), len(keys)))
        return {keys[i]: _reordered(value[keys[i]], order) for i in positions}
    if isinstance(value, list):
        return [_reordered(item, order) for item in value]
    return value


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(list(range(10))))
def test_key_order_of_the_input_does_not_change_the_output(order: list[int]) -> None:
    for name in ("key_configuration_sections", "redis_cache", "milvus_cache"):
        config = seed(name)
        assert to_canonical(_reordered(config, order)).to_yaml() == to_canonical(config).to_yaml()


def test_the_input_is_not_mutated() -> None:
    config = seed("hybrid_cache")
    before = deepcopy(config)
    to_canonical(config)
    assert config == before


def test_an_empty_config_is_just_the_version() -> None:
    assert to_canonical({}).config == {"version": "v0.3"}
    assert to_canonical(None).config == {"version": "v0.3"}
    assert to_canonical({}).reasoning_families == {}


# --- Escape hatch: canonical v0.3 sections deep-merge over the translation -------------


def test_canonical_global_deep_merges_over_the_translation() -> None:
    config = to_canonical(
        {
            **seed("memory_cache"),
            "global": {
                "stores": {"response_cache": {"similarity_threshold": "0.95"}},
                "router": {"strategy": "priority"},
            },
        }
    ).config
    cache = config["global"]["stores"]["response_cache"]
    assert cache["similarity_threshold"] == 0.95
    assert cache["max_entries"] == 1000
    assert config["global"]["router"] == {"strategy": "priority"}
    assert config["global"]["model_catalog"]["embeddings"]["semantic"]["use_cpu"] is True


def test_canonical_routing_merges_with_legacy_signal_lists() -> None:
    decision = {
        "name": "math",
        "priority": 10,
        "rules": {"operator": "AND", "conditions": [{"type": "keyword", "name": "k"}]},
        "modelRefs": [{"model": "llama3-8b"}],
    }
    config = to_canonical(
        {
            "keyword_rules": [{"name": "k", "operator": "OR", "keywords": ["integral"]}],
            "routing": {"decisions": [decision], "signals": {"embeddings": [{"name": "e"}]}},
        }
    ).config
    assert config["routing"]["decisions"] == [
        {
            "modelRefs": [{"model": "llama3-8b"}],
            "name": "math",
            "priority": 10,
            "rules": {"conditions": [{"name": "k", "type": "keyword"}], "operator": "AND"},
        }
    ]
    assert set(config["routing"]["signals"]) == {"keywords", "embeddings"}


def test_provider_defaults_merge_with_the_legacy_default_effort() -> None:
    config = to_canonical(
        {"default_reasoning_effort": "medium", "providers": {"defaults": {"model": "m"}}}
    ).config
    assert config["providers"] == {"defaults": {"model": "m", "reasoning_effort": "medium"}}


# --- Errors name the field and the fix --------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field", "hint"),
    [
        ({"bert_modle": {"model_id": "m"}}, "spec.config.bert_modle", "bert_model"),
        ({"setup": {"mode": "x"}}, "spec.config.setup", "canonical v0.3 section"),
        ({"vllm_endpoints": [{"name": "e"}]}, "spec.config.vllm_endpoints", "spec.vllmEndpoints"),
        ({"model_config": {"m": {}}}, "spec.config.model_config", "spec.vllmEndpoints"),
        ({"bert_model": {"threshold": "high"}}, "spec.config.bert_model.threshold", "number"),
        (
            {"semantic_cache": {"similarity_threshold": "nan"}},
            "spec.config.semantic_cache.similarity_threshold",
            "number",
        ),
        ({"bert_model": {"model": "m"}}, "spec.config.bert_model.model", "model_id"),
        ({"semantic_cache": "on"}, "spec.config.semantic_cache", "mapping"),
        (
            {"classifier": {"intent_model": {}}},
            "spec.config.classifier.intent_model",
            "category_model",
        ),
        (
            {"semantic_cache": {"enabled": True}, "response_cache": {"enabled": True}},
            "spec.config.response_cache",
            "keep only one",
        ),
        ({"version": "v0.2"}, "spec.config.version", "v0.3"),
        ({"keyword_rules": {"name": "k"}}, "spec.config.keyword_rules", "list"),
        (
            {"reasoning_families": {"qwen3": {"type": "chat_template_kwargs"}}},
            "spec.config.reasoning_families.qwen3.parameter",
            "parameter",
        ),
        (
            {"reasoning_families": {"qwen3": {"type": "t", "parameter": "p", "effort": "x"}}},
            "spec.config.reasoning_families.qwen3.effort",
            "unknown",
        ),
        (
            {"prompt_guard": {"protocol": "http_chat"}},
            "spec.config.prompt_guard.protocol",
            "prompt_guard.backend",
        ),
        ({"routing": ["not", "a", "mapping"]}, "spec.config.routing", "mapping"),
        (
            {"evaluation": {"records": []}, "evaluation_catalog": {"records": [{"model": "m"}]}},
            "spec.config.evaluation_catalog",
            "evaluation",
        ),
    ],
)
def test_bad_config_raises_an_error_naming_the_field_and_the_fix(
    config: dict[str, Any], field: str, hint: str
) -> None:
    with pytest.raises(RouterConfigError) as caught:
        to_canonical(config)
    assert caught.value.field == field
    assert hint in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")
