"""Translate the CR's seed-shaped ``spec.config`` into the router's canonical v0.3 config.

The SemanticRouter CR keeps the documented (legacy) layout of the router config:
``bert_model``, ``semantic_cache``, ``tools``, ``prompt_guard``, ``classifier``,
``reasoning_families``, ``api``, ``observability`` ... The router reads the canonical
v0.3 layout (``version``, ``global.*``, ``routing.*``, ``providers.*``). This module
relocates every legacy section to its canonical home with the same mapping as the
router's own ``vllm-sr config migrate``, and adds what a Kubernetes deployment needs:

* thresholds written as strings (``"0.6"``) become numbers;
* ``password_secret_ref`` objects stay exactly where the chart turns them into
  ``${ENV}`` references bound with ``secretKeyRef``; no password is ever invented, and a
  literal credential is refused (it would land in a ConfigMap);
* documented legacy fields with no v0.3 equivalent are dropped and reported as notices;
* the tools database path defaults to where the chart mounts it;
* ``reasoning_families`` is returned apart: the chart attaches a family to each provider
  model it builds from ``vllmEndpoints``; an effort family without ``levels`` gets the
  legacy efforts (low, medium, high), which v0.3 requires it to list.

Canonical v0.3 top-level sections given in ``spec.config`` (``global``, ``routing``,
``providers`` ...) are the escape hatch: they pass through and deep-merge over the
translation. Anything else is an error naming the key and the fix.

Pure and deterministic: no I/O, and the same input always gives byte-identical YAML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml

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

# Canonical places where the chart resolves a `password_secret_ref` into `${ENV}`.
SECRET_REF_PATHS: tuple[tuple[str, ...], ...] = (
    ("global", "stores", "response_cache", "redis", "connection"),
    ("global", "stores", "response_cache", "valkey", "connection"),
    ("global", "stores", "response_cache", "milvus", "connection", "auth"),
)
# Canonical places where the chart resolves an `api_key_secret_ref` into `${ENV}`.
API_KEY_REF_PATHS: tuple[tuple[str, ...], ...] = (("global", "stores", "response_cache", "qdrant"),)
_SECRET_REF_KEYS = {
    "password_secret_ref": SECRET_REF_PATHS,
    "api_key_secret_ref": API_KEY_REF_PATHS,
}

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

Path: TypeAlias = tuple[str | int, ...]

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

# Keys whose string values are numbers written as strings (CRDs store ratios as strings):
# every `*threshold` of the v0.3 contract is a number except the boolean switch below.
_NUMERIC_KEY_SUFFIX = "threshold"
_NUMERIC_KEYS = frozenset({"sample_rate", "rate"})
_NON_NUMERIC_KEYS = frozenset({"adaptive_threshold"})

# Keys holding credentials: a literal value would be rendered into a ConfigMap.
_CREDENTIAL_KEYS = frozenset({"password", "api_key", "access_key", "auth_token", "api_keys"})
_ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")

# The efforts a legacy `reasoning_effort` family passed through (low | medium | high). v0.3
# requires effort families to list their levels, so a legacy family without them gets these.
LEGACY_EFFORT_LEVELS = ("low", "medium", "high")
_EFFORT_TYPES = frozenset({"reasoning_effort", "top_level_reasoning_effort"})

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


class RouterConfigError(ValueError):
    """``spec.config`` cannot be translated; ``field`` is the offending ``spec.config.<path>``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class CanonicalConfig:
    """The router's canonical v0.3 config and what the chart needs beside it."""

    config: dict[str, Any]
    """Canonical v0.3 config without provider models (the chart builds those)."""
    reasoning_families: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``{family: {type, parameter, ...}}``, attached by the chart to provider models."""
    notices: tuple[str, ...] = ()
    """Human-readable notes about legacy fields dropped because v0.3 has no place for them."""

    def to_yaml(self) -> str:
        """The config as stable YAML (sorted keys): equal inputs give equal bytes."""
        return yaml.safe_dump(self.config, sort_keys=True, default_flow_style=False)

    def chart_values(self) -> dict[str, Any]:
        """The chart values this translation owns: ``config`` and ``reasoningFamilies``."""
        return {
            "config": deepcopy(self.config),
            "reasoningFamilies": deepcopy(self.reasoning_families),
        }


def to_canonical(config: Mapping[str, Any] | None) -> CanonicalConfig:
    """Translate a seed-shaped ``spec.config`` (plain data) into canonical v0.3.

    ``config`` is what ``spec.config.model_dump(mode="json", by_alias=True,
    exclude_none=True)`` gives. Raises :class:`RouterConfigError` naming the field and
    the fix when the config cannot be translated safely.
    """
    source = _plain(config or {}, ())
    if not isinstance(source, dict):
        raise _error((), "must be a mapping of router config sections")
    _check_credentials(source, ())
    source = _coerce_numbers(source, ())

    unknown = sorted(key for key in source if not _is_known_key(key))
    if unknown:
        key = unknown[0]
        raise _error(
            (key,),
            f"unknown router config section {key!r}; use a seed section "
            f"({', '.join(SEED_SECTIONS)}) or a canonical v0.3 section "
            f"({', '.join(sorted(CANONICAL_TOP_LEVEL_KEYS))})",
        )
    for key in sorted(_BACKEND_KEYS & source.keys()):
        raise _error(
            (key,),
            "backends are declared in spec.vllmEndpoints; for extra provider models use "
            "spec.config.providers.models (canonical v0.3)",
        )

    notices: list[str] = []
    translated: dict[str, Any] = {"version": CANONICAL_VERSION}
    global_config = _translate_global(source, notices)
    if global_config:
        translated["global"] = global_config
    routing = _translate_routing(source)
    if routing:
        translated["routing"] = routing
    defaults = {
        canonical: source[legacy]
        for legacy, canonical in _PROVIDER_DEFAULT_KEYS.items()
        if not _is_empty(source.get(legacy))
    }
    if defaults:
        translated["providers"] = {"defaults": defaults}
    evaluation = _translate_evaluation(source)
    if evaluation is not None:
        translated["evaluation"] = evaluation

    canonical = _canonical_sections(source)
    merged = _deep_merge(translated, canonical)
    return CanonicalConfig(
        config=_sorted(merged),
        reasoning_families=_reasoning_families(source.get("reasoning_families")),
        notices=tuple(notices),
    )


# --- sections ------------------------------------------------------------------------


def _is_known_key(key: str) -> bool:
    return (
        key in CANONICAL_TOP_LEVEL_KEYS
        or key in _ROUTER_KEYS
        or key in _STREAMED_BODY_KEYS
        or key in _SERVICE_KEYS
        or key in _STORE_KEYS
        or key in _INTEGRATION_KEYS
        or key in _MODEL_CATALOG_KEYS
        or key in _MODULE_MODEL_REFS
        or key in _SIGNAL_KEYS
        or key in _ROUTING_KEYS
        or key in _PROVIDER_DEFAULT_KEYS
        or key in _BACKEND_KEYS
        or key in {"bert_model", "classifier", "hallucination_mitigation", "reasoning_families"}
        or key == "evaluation_catalog"
    )


def _translate_global(source: dict[str, Any], notices: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(_ROUTER_KEYS):
        if not _is_empty(source.get(key)):
            _put(out, ("router", key), source[key])
    for key, canonical in sorted(_STREAMED_BODY_KEYS.items()):
        if not _is_empty(source.get(key)):
            _put(out, ("router", "streamed_body", canonical), source[key])
    for key in sorted(_SERVICE_KEYS):
        if not _is_empty(source.get(key)):
            _put(out, ("services", key), source[key])
    for key in sorted(_INTEGRATION_KEYS):
        if not _is_empty(source.get(key)):
            _put(out, ("integrations", key), source[key])
    _translate_stores(source, out, notices)
    _translate_model_catalog(source, out, notices)

    tools = out.get("integrations", {}).get("tools")
    if isinstance(tools, dict) and tools.get("enabled") and not tools.get("tools_db_path"):
        tools["tools_db_path"] = TOOLS_DB_PATH
    return out


def _translate_stores(source: dict[str, Any], out: dict[str, Any], notices: list[str]) -> None:
    given = [key for key in ("semantic_cache", "response_cache") if not _is_empty(source.get(key))]
    if len(given) > 1:
        raise _error(
            ("response_cache",),
            "conflicts with semantic_cache (its legacy name); keep only one of them",
        )
    for key, canonical in sorted(_STORE_KEYS.items()):
        if _is_empty(source.get(key)):
            continue
        value = source[key]
        if canonical == "response_cache":
            value = _require_mapping(value, (key,))
            for retired, reason in sorted(_RETIRED_CACHE_FIELDS.items()):
                if _drop(value, retired):
                    notices.append(_notice((key, *retired), reason))
            _drop_ignored_cache_settings(value, key, notices)
        _put(out, ("stores", canonical), value)


def _drop_ignored_cache_settings(cache: dict[str, Any], key: str, notices: list[str]) -> None:
    """Leave out what the router (v0.4.0) ignores: a hybrid cache's memory limits (which its
    start-up checks refuse), Milvus auth (it connects without credentials) and a Milvus
    database other than `default`."""
    if cache.get("backend_type") == "hybrid":
        for name in _HYBRID_IGNORED:
            if _drop(cache, (name,)):
                notices.append(
                    _notice((key, name), "backend_type hybrid caps its in-memory index itself")
                )
    if _drop(cache, ("milvus", "connection", "auth")):
        notices.append(
            _notice(
                (key, "milvus", "connection", "auth"),
                "the router (v0.4.0) connects to Milvus without credentials",
            )
        )
    database = cache.get("milvus", {}).get("connection", {}).get("database")
    if database not in (None, "", _MILVUS_DEFAULT_DATABASE):
        _drop(cache, ("milvus", "connection", "database"))
        notices.append(
            _notice(
                (key, "milvus", "connection", "database"),
                "the router (v0.4.0) always uses the Milvus database named default",
            )
        )


def _translate_model_catalog(
    source: dict[str, Any], out: dict[str, Any], notices: list[str]
) -> None:
    for key, target in sorted(_MODEL_CATALOG_KEYS.items()):
        if not _is_empty(source.get(key)):
            _put(out, target, source[key])

    if not _is_empty(source.get("bert_model")):
        bert = _require_mapping(source["bert_model"], ("bert_model",))
        semantic = _ensure(out, ("model_catalog", "embeddings", "semantic"))
        if "model_id" in bert:
            semantic.setdefault("bert_model_path", bert["model_id"])
        if "use_cpu" in bert:
            semantic.setdefault("use_cpu", bert["use_cpu"])
        if "threshold" in bert:
            embedding_config = _ensure(semantic, ("embedding_config",))
            embedding_config.setdefault("min_score_threshold", bert["threshold"])
        for extra in sorted(set(bert) - {"model_id", "use_cpu", "threshold"}):
            raise _error(
                ("bert_model", extra),
                "unknown bert_model field; bert_model takes model_id, threshold and use_cpu "
                "(other embedding settings go in global.model_catalog.embeddings.semantic)",
            )

    for key, model_ref in sorted(_MODULE_MODEL_REFS.items()):
        if _is_empty(source.get(key)):
            continue
        module = _require_mapping(source[key], (key,))
        for retired, reason in sorted(_RETIRED_MODULE_FIELDS.items()):
            if retired[0] == key and _drop(module, retired[1:]):
                notices.append(_notice(retired, reason))
        if key == "prompt_guard":
            _check_prompt_guard_protocol(module)
        if "model_id" in module:
            module.setdefault("model_ref", model_ref)
        _put(out, ("model_catalog", "modules", key), module)

    if not _is_empty(source.get("classifier")):
        classifier = _require_mapping(source["classifier"], ("classifier",))
        for retired, reason in sorted(_RETIRED_MODULE_FIELDS.items()):
            if retired[0] == "classifier" and _drop(classifier, retired[1:]):
                notices.append(_notice(retired, reason))
        _place_model_blocks(classifier, ("classifier",), _CLASSIFIER_BLOCKS, out, ("classifier",))

    if not _is_empty(source.get("hallucination_mitigation")):
        key = "hallucination_mitigation"
        block = _require_mapping(source[key], (key,))
        enabled = block.pop("enabled", None)
        _place_model_blocks(block, (key,), _HALLUCINATION_BLOCKS, out, (key,))
        if enabled is not None:
            _put(out, ("model_catalog", "modules", "hallucination_mitigation", "enabled"), enabled)


def _place_model_blocks(
    block: dict[str, Any],
    path: Path,
    table: Mapping[str, tuple[str, str | None]],
    out: dict[str, Any],
    target: tuple[str, ...],
) -> None:
    for key in sorted(block):
        if key not in table:
            raise _error(
                (*path, key),
                f"unknown field; {path[-1]} takes {', '.join(sorted(table))}",
            )
        canonical, model_ref = table[key]
        value = block[key]
        if isinstance(value, dict) and model_ref and "model_id" in value:
            value.setdefault("model_ref", model_ref)
        _put(out, ("model_catalog", "modules", *target, canonical), value)


def _check_prompt_guard_protocol(module: dict[str, Any]) -> None:
    if "protocol" not in module:
        return
    if not module["protocol"]:
        del module["protocol"]
        return
    raise _error(
        ("prompt_guard", "protocol"),
        "prompt_guard.protocol is retired; set prompt_guard.backend {protocol, contract, "
        "model} naming a guardrail model under global.model_catalog.external",
    )


def _translate_routing(source: dict[str, Any]) -> dict[str, Any]:
    routing: dict[str, Any] = {}
    for key in sorted(_ROUTING_KEYS):
        if not _is_empty(source.get(key)):
            routing[key] = source[key]
    for legacy, canonical in sorted(_SIGNAL_KEYS.items()):
        value = source.get(legacy)
        if _is_empty(value):
            continue
        if not isinstance(value, list):
            raise _error((legacy,), f"must be a list of {canonical} signal rules")
        signals = _ensure(routing, ("signals",))
        signals.setdefault(canonical, value)
    return routing


def _translate_evaluation(source: dict[str, Any]) -> Any:
    if _is_empty(source.get("evaluation_catalog")):
        return None
    if "evaluation" in source:
        raise _error(
            ("evaluation_catalog",),
            "conflicts with evaluation; evaluation_catalog is its retired name, keep only "
            "evaluation",
        )
    return source["evaluation_catalog"]


def _canonical_sections(source: dict[str, Any]) -> dict[str, Any]:
    canonical = {key: source[key] for key in sorted(CANONICAL_TOP_LEVEL_KEYS & source.keys())}
    version = canonical.get("version")
    if version is not None and version != CANONICAL_VERSION:
        raise _error(
            ("version",),
            f"the router reads config version {CANONICAL_VERSION}; set version: "
            f"{CANONICAL_VERSION} or leave it out",
        )
    for key, value in canonical.items():
        if key in {"providers", "routing", "global", "evaluation"} and not isinstance(value, dict):
            raise _error((key,), "must be a mapping")
    return canonical


def _reasoning_families(value: Any) -> dict[str, dict[str, Any]]:
    if _is_empty(value):
        return {}
    families = _require_mapping(value, ("reasoning_families",))
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(families):
        path: Path = ("reasoning_families", name)
        family = _require_mapping(families[name], path)
        for required in ("type", "parameter"):
            if not isinstance(family.get(required), str) or not family[required]:
                raise _error(
                    (*path, required),
                    f"is required: a reasoning family needs {required} "
                    "(e.g. type: chat_template_kwargs, parameter: enable_thinking)",
                )
        for extra in sorted(set(family) - _REASONING_FAMILY_KEYS):
            raise _error(
                (*path, extra),
                f"unknown reasoning family field; use {', '.join(sorted(_REASONING_FAMILY_KEYS))}",
            )
        if family["type"] in _EFFORT_TYPES and not family.get("levels"):
            family["levels"] = list(LEGACY_EFFORT_LEVELS)
        out[name] = _sorted(family)
    return out


# --- input checks ----------------------------------------------------------------------


def _check_credentials(value: Any, path: Path) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_credentials(item, (*path, index))
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        here = (*path, key)
        if key in _SECRET_REF_KEYS:
            _check_secret_ref(item, here, value)
        elif key in _CREDENTIAL_KEYS:
            _check_no_literal_credential(item, here)
        else:
            _check_credentials(item, here)


def _check_secret_ref(ref: Any, path: Path, parent: Mapping[str, Any]) -> None:
    owner = tuple(str(part) for part in path[:-1])
    ref_key = str(path[-1])
    places = _SECRET_REF_KEYS[ref_key]
    if _canonical_store_path(owner) not in places:
        allowed = " or ".join("semantic_cache." + ".".join(p[3:]) for p in places)
        raise _error(
            path,
            f"{ref_key} is only supported at {allowed}; reference other "
            "credentials with a ${ENV_VAR} bound through spec.env",
        )
    literal = "api_key" if ref_key == "api_key_secret_ref" else "password"
    if not isinstance(ref, dict):
        raise _error(path, "must be {name: <Secret name>, key: <key in the Secret>}")
    for part in ("name", "key"):
        if not isinstance(ref.get(part), str) or not ref[part]:
            raise _error(
                (*path, part),
                f"is required: the Secret {part} holding the password",
            )
    for extra in sorted(set(ref) - {"name", "key", "optional"}):
        raise _error((*path, extra), f"unknown field; {ref_key} takes name, key and optional")
    if "optional" in ref and not isinstance(ref["optional"], bool):
        raise _error((*path, "optional"), "must be true or false")
    if not _is_empty(parent.get(literal)):
        raise _error(
            (*path[:-1], literal),
            f"set either {literal} or {ref_key}, not both (the chart fills {literal} from "
            "the Secret)",
        )


def _canonical_store_path(owner: tuple[str, ...]) -> tuple[str, ...]:
    """Map where a secret ref sits in the input to where the chart looks for it."""
    if owner[:1] in {("semantic_cache",), ("response_cache",)}:
        return ("global", "stores", "response_cache", *owner[1:])
    return owner


def _check_no_literal_credential(value: Any, path: Path) -> None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str) and (item == "" or _ENV_REFERENCE.match(item)):
            continue
        if item is None:
            continue
        raise _error(
            path,
            "a literal credential would be stored in a ConfigMap; keep it in a Secret and "
            "reference it (password_secret_ref {name, key} for the response cache, or a "
            "${ENV_VAR} bound through spec.env)",
        )


def _coerce_numbers(value: Any, path: Path) -> Any:
    if isinstance(value, list):
        return [_coerce_numbers(item, (*path, index)) for index, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        here = (*path, key)
        if isinstance(item, str) and is_numeric_key(key):
            out[key] = _number(item, here)
        else:
            out[key] = _coerce_numbers(item, here)
    return out


def is_numeric_key(key: str) -> bool:
    """True for config keys whose string values are read as numbers (``"0.6"`` → 0.6)."""
    if key in _NON_NUMERIC_KEYS:
        return False
    return key.endswith(_NUMERIC_KEY_SUFFIX) or key in _NUMERIC_KEYS


def _number(text: str, path: Path) -> int | float | str:
    """``"0.6"`` → 0.6, ``"5"`` → 5; a ``${ENV}`` reference stays for the router to expand."""
    value = text.strip()
    if _ENV_REFERENCE.match(value):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise _error(path, f'must be a number (e.g. 0.6 or "0.6"), got {text!r}')
    return number


# --- plain-data helpers ----------------------------------------------------------------


def _plain(value: Any, path: Path) -> Any:
    """Deep-copy into plain dicts and lists, rejecting non-string mapping keys."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _error(path, f"keys must be strings, got {key!r}")
            out[key] = _plain(item, (*path, key))
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, (*path, index)) for index, item in enumerate(value)]
    return value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _require_mapping(value: Any, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error(path, f"must be a mapping, got {type(value).__name__}")
    return value


def _ensure(target: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    node = target
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    return node


def _put(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    _ensure(target, path[:-1]).setdefault(path[-1], value)


def _drop(block: dict[str, Any], path: Sequence[str]) -> bool:
    """Remove ``block[path]``; prune parents it leaves empty. True when something went."""
    parents: list[tuple[dict[str, Any], str]] = []
    node: Any = block
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return False
        parents.append((node, key))
        node = node[key]
    if not isinstance(node, dict) or path[-1] not in node:
        return False
    del node[path[-1]]
    for parent, key in reversed(parents):
        if parent[key]:
            break
        del parent[key]
    return True


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            out[key] = _deep_merge(current, value)
        else:
            out[key] = value
    return out


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _format_path(path: Path) -> str:
    text = "spec.config"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _error(path: Path, message: str) -> RouterConfigError:
    return RouterConfigError(_format_path(path), message)


def _notice(path: Path, reason: str) -> str:
    return f"{_format_path(path)} dropped: {reason}"


def iter_secret_refs(config: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Yield ``(connection path, password_secret_ref)`` for each ref in a canonical config."""
    for owner in SECRET_REF_PATHS:
        node: Any = config
        for key in owner:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and isinstance(node.get("password_secret_ref"), Mapping):
            yield owner, dict(node["password_secret_ref"])


__all__ = [
    "CANONICAL_TOP_LEVEL_KEYS",
    "CANONICAL_VERSION",
    "LEGACY_EFFORT_LEVELS",
    "SECRET_REF_PATHS",
    "TOOLS_DB_PATH",
    "CanonicalConfig",
    "RouterConfigError",
    "is_numeric_key",
    "iter_secret_refs",
    "to_canonical",
]
