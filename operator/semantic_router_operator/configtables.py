"""The tables of the router config translation (`routerconfig`): the canonical v0.3
top-level sections, the seed sections, and where each legacy key goes, as the router's own
``vllm-sr config migrate`` places them (place_global_block)."""

from __future__ import annotations

CANONICAL_VERSION = "v0.3"

# Where the chart mounts the router ConfigMap (config.yaml, tools_db.json).
TOOLS_DB_PATH = "/app/config/tools_db.json"

CANONICAL_TOP_LEVEL_KEYS = frozenset(
    {
        "version",
        "listeners",
        "providers",
        "evaluation",
        "routing",
        "entrypoints",
        "recipes",
        "global",
    }
)

SEED_SECTIONS = (
    "bert_model",
    "semantic_cache",
    "tools",
    "prompt_guard",
    "classifier",
    "reasoning_families",
    "api",
    "observability",
)

# --- The legacy → canonical tables of `vllm-sr config migrate` (place_global_block) ---

_ROUTER_KEYS = frozenset(
    {
        "strategy",
        "auto_model_name",
        "auto_model_names",
        "include_config_models_in_list",
        "clear_route_cache",
        "model_selection",
    }
)
_STREAMED_BODY_KEYS = {
    "streamed_body_mode": "enabled",
    "max_streamed_body_bytes": "max_bytes",
    "streamed_body_timeout_sec": "timeout_sec",
}
_SERVICE_KEYS = frozenset(
    {"response_api", "router_replay", "api", "observability", "authz", "ratelimit"}
)
# semantic_cache is the legacy name of response_cache (migrate renames it).
_STORE_KEYS = {
    "semantic_cache": "response_cache",
    "response_cache": "response_cache",
    "memory": "memory",
    "vector_store": "vector_store",
}
_INTEGRATION_KEYS = frozenset({"tools", "looper"})
_MODEL_CATALOG_KEYS: dict[str, tuple[str, ...]] = {
    "system_models": ("model_catalog", "system"),
    "external_models": ("model_catalog", "external"),
    "embedding_models": ("model_catalog", "embeddings", "semantic"),
    "prompt_compression": ("model_catalog", "modules", "prompt_compression"),
    "modality_detector": ("model_catalog", "modules", "modality_detector"),
}
# Module blocks that get a default `model_ref` when they name a `model_id`.
_MODULE_MODEL_REFS = {"prompt_guard": "prompt_guard", "feedback_detector": "feedback_detector"}
_CLASSIFIER_BLOCKS = {
    "category_model": ("domain", "domain_classifier"),
    "pii_model": ("pii", "pii_classifier"),
    "mcp_category_model": ("mcp", None),
    "preference_model": ("preference", None),
}
_HALLUCINATION_BLOCKS = {
    "fact_check_model": ("fact_check", "fact_check_classifier"),
    "hallucination_model": ("detector", "hallucination_detector"),
    "nli_model": ("explainer", "hallucination_explainer"),
}
# Legacy flat signal lists → routing.signals.<canonical> (LEGACY_SIGNAL_KEY_TO_CANONICAL).
_SIGNAL_KEYS = {
    "keyword_rules": "keywords",
    "embedding_rules": "embeddings",
    "categories": "domains",
    "fact_check_rules": "fact_check",
    "user_feedback_rules": "user_feedbacks",
    "reask_rules": "reasks",
    "preference_rules": "preferences",
    "language_rules": "language",
    "context_rules": "context",
    "structure_rules": "structure",
    "complexity_rules": "complexity",
    "modality_rules": "modality",
    "role_bindings": "role_bindings",
    "jailbreak": "jailbreak",
    "hallucination": "hallucination",
    "pii": "pii",
    "kb": "kb",
    "conversation": "conversation",
    "events": "events",
    "metadata": "metadata",
    "classifiers": "classifiers",
    "input_modality": "input_modality",
}
_ROUTING_KEYS = frozenset({"signals", "decisions"})
_PROVIDER_DEFAULT_KEYS = {"default_model": "model", "default_reasoning_effort": "reasoning_effort"}
# Legacy ways to declare backends: the CR declares them in spec.vllmEndpoints instead.
_BACKEND_KEYS = frozenset({"model_config", "vllm_endpoints", "provider_profiles"})

# Settings the router (v0.4.0) reads but does not act on for some backends: left out of the
# router config, with the reason given in the notice.
_HYBRID_IGNORED = ("max_entries", "eviction_policy")
_MILVUS_DEFAULT_DATABASE = "default"

# Documented legacy fields the v0.3 contract has no place for, keyed by their path under the
# response cache (or module) block, with the reason given in the notice.
_RETIRED_CACHE_FIELDS: dict[tuple[str, ...], str] = {
    ("hnsw",): "the v0.3 response cache has no HNSW settings",
    ("redis", "development", "verbose_errors"): "not a v0.3 Redis cache setting",
    ("valkey", "development", "verbose_errors"): "not a v0.3 Valkey cache setting",
    ("milvus", "development", "verbose_errors"): "not a v0.3 Milvus cache setting",
    ("milvus", "performance"): "not a v0.3 Milvus cache setting",
    (
        "milvus",
        "data_management",
    ): "not a v0.3 Milvus cache setting (entry lifetime is ttl_seconds)",
}
_RETIRED_MODULE_FIELDS: dict[tuple[str, ...], str] = {
    ("prompt_guard", "use_modernbert"): "v0.3 selects the prompt guard variant with `variant`",
    ("classifier", "pii_model", "use_modernbert"): "not a v0.3 PII classifier setting",
}

_REASONING_FAMILY_KEYS = frozenset(
    {
        "type",
        "parameter",
        "activation_parameter",
        "effort_flags",
        "levels",
        "default",
        "modes",
        "default_mode",
        "disabled",
    }
)
