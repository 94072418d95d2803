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
  model it builds from ``vllmEndpoints``, and owns the defaults a family leaves out (a
  toggle's ``modes``, an effort family's ``levels``): the chart installs on its own too.

Canonical v0.3 top-level sections given in ``spec.config`` (``global``, ``routing``,
``providers`` ...) are the escape hatch: they pass through and deep-merge over the
translation. Anything else is an error naming the key and the fix.

Pure and deterministic: no I/O, and the same input always gives byte-identical YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import yaml

from semantic_router_operator.configinput import (
    SECRET_REF_PATHS,
    Path,
    RouterConfigError,
    _check_credentials,
    _coerce_numbers,
    _deep_merge,
    _drop,
    _ensure,
    _error,
    _is_empty,
    _notice,
    _plain,
    _put,
    _require_mapping,
    _sorted,
    is_numeric_key,
    iter_secret_refs,
)
from semantic_router_operator.configtables import (
    _BACKEND_KEYS,
    _CLASSIFIER_BLOCKS,
    _HALLUCINATION_BLOCKS,
    _HYBRID_IGNORED,
    _INTEGRATION_KEYS,
    _MILVUS_DEFAULT_DATABASE,
    _MODEL_CATALOG_KEYS,
    _MODULE_MODEL_REFS,
    _PROVIDER_DEFAULT_KEYS,
    _REASONING_FAMILY_KEYS,
    _RETIRED_CACHE_FIELDS,
    _RETIRED_MODULE_FIELDS,
    _ROUTER_KEYS,
    _ROUTING_KEYS,
    _SERVICE_KEYS,
    _SIGNAL_KEYS,
    _STORE_KEYS,
    _STREAMED_BODY_KEYS,
    CANONICAL_TOP_LEVEL_KEYS,
    CANONICAL_VERSION,
    SEED_SECTIONS,
    TOOLS_DB_PATH,
)


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
    _check_sections(source)
    notices: list[str] = []
    translated = _translate(source, notices)
    canonical = _canonical_sections(source)
    merged = _deep_merge(translated, canonical)
    return CanonicalConfig(
        config=_sorted(merged),
        reasoning_families=_reasoning_families(source.get("reasoning_families")),
        notices=tuple(notices),
    )


# --- sections ------------------------------------------------------------------------


def _check_sections(source: dict[str, Any]) -> None:
    """Every top-level key is a seed or canonical section; backends are not config."""
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


def _translate(source: dict[str, Any], notices: list[str]) -> dict[str, Any]:
    """The seed sections, each translated to its canonical home."""
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
    return translated


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
        _translate_bert_model(source["bert_model"], out)
    for key, model_ref in sorted(_MODULE_MODEL_REFS.items()):
        if not _is_empty(source.get(key)):
            _translate_module(key, model_ref, source[key], out, notices)
    if not _is_empty(source.get("classifier")):
        _translate_classifier(source["classifier"], out, notices)
    if not _is_empty(source.get("hallucination_mitigation")):
        _translate_hallucination(source["hallucination_mitigation"], out)


def _translate_bert_model(value: Any, out: dict[str, Any]) -> None:
    bert = _require_mapping(value, ("bert_model",))
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


def _translate_module(
    key: str, model_ref: str, value: Any, out: dict[str, Any], notices: list[str]
) -> None:
    module = _require_mapping(value, (key,))
    for retired, reason in sorted(_RETIRED_MODULE_FIELDS.items()):
        if retired[0] == key and _drop(module, retired[1:]):
            notices.append(_notice(retired, reason))
    if key == "prompt_guard":
        _check_prompt_guard_protocol(module)
    if "model_id" in module:
        module.setdefault("model_ref", model_ref)
    _put(out, ("model_catalog", "modules", key), module)


def _translate_classifier(value: Any, out: dict[str, Any], notices: list[str]) -> None:
    classifier = _require_mapping(value, ("classifier",))
    for retired, reason in sorted(_RETIRED_MODULE_FIELDS.items()):
        if retired[0] == "classifier" and _drop(classifier, retired[1:]):
            notices.append(_notice(retired, reason))
    _place_model_blocks(classifier, ("classifier",), _CLASSIFIER_BLOCKS, out, ("classifier",))


def _translate_hallucination(value: Any, out: dict[str, Any]) -> None:
    key = "hallucination_mitigation"
    block = _require_mapping(value, (key,))
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
        out[name] = _sorted(family)
    return out


__all__ = [
    "CANONICAL_TOP_LEVEL_KEYS",
    "CANONICAL_VERSION",
    "SECRET_REF_PATHS",
    "TOOLS_DB_PATH",
    "CanonicalConfig",
    "RouterConfigError",
    "is_numeric_key",
    "iter_secret_refs",
    "to_canonical",
]
