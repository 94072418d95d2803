"""The router's config contract, as its loader reads it: known keys and start-up checks.

`tests/chart/data/router-config-keys.json` is the key inventory read from the router's Go
structs (yaml tags of `src/semantic-router/pkg/config`, at the commit it names) by
`scripts/router-config-keys.sh`. `unknown_keys` walks a config the way the router's loader
does when it warns about unknown keys (`collectUnknownFieldsRecursive`, pkg/config/validate.go):
a key the inventory does not list under its struct is one the router would drop.

The inventory's commit predates the v0.4.0 image the chart ships in one place: v0.4.0 names
the provider defaults `providers.defaults.{model, reasoning_effort}` and a model's reasoning
`providers.models[].reasoning` (vllm-sr 0.4.0 `cli/config_migration_catalog.py` renames
`default_model`, `default_reasoning_effort` and `reasoning_family` to them and drops
`defaults.reasoning_families`). `V040_RENAMES` applies exactly those renames, and a test holds
them to what `vllm-sr config migrate` 0.4.0 does.

`startup_problems` copies the response cache checks the router makes before it serves
(pkg/cache/backend_registry.go `validateSelectedBackendFields` and each backend's `validate`)
and the settings it ignores at that version (pkg/milvus/lifecycle.go, pkg/cache/redis_cache.go,
pkg/cache/cache_factory.go), plus the guard rule of pkg/extproc/router_components.go: the
jailbreak model is loaded only when a decision uses a jailbreak signal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

INVENTORY = Path(__file__).resolve().parents[1] / "chart" / "data" / "router-config-keys.json"

# struct -> {key at the inventory's commit: key in v0.4.0, or None when v0.4.0 dropped it}
V040_RENAMES: dict[str, dict[str, str | None]] = {
    "CanonicalProviderDefaults": {
        "default_model": "model",
        "default_reasoning_effort": "reasoning_effort",
        "reasoning_families": None,
    },
    "CanonicalProviderModel": {"reasoning_family": "reasoning"},
}


def load_inventory(path: Path = INVENTORY) -> dict[str, Any]:
    """The inventory with the v0.4.0 renames applied (a renamed key's value is a leaf)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for struct, renames in V040_RENAMES.items():
        fields = data["structs"][struct]
        for old, new in renames.items():
            if old not in fields:
                raise KeyError(f"{struct}.{old} is no longer in the inventory: review V040_RENAMES")
            del fields[old]
            if new is not None:
                fields[new] = {}
    return data


def unknown_keys(config: Mapping[str, Any], inventory: Mapping[str, Any]) -> list[str]:
    """Paths of the keys the router's loader would warn about and drop."""
    return sorted(_walk(config, inventory["root"], inventory["structs"], ""))


def _walk(value: Any, struct: str, structs: Mapping[str, Any], path: str) -> Iterator[str]:
    if not isinstance(value, Mapping):
        return
    known: Mapping[str, Any] = structs[struct]
    for key, item in value.items():
        here = f"{path}.{key}" if path else str(key)
        if key not in known:
            yield here
            continue
        yield from _follow(item, known[key], structs, here)


def _follow(
    value: Any, ref: Mapping[str, Any], structs: Mapping[str, Any], path: str
) -> Iterator[str]:
    if "struct" in ref:
        yield from _walk(value, ref["struct"], structs, path)
    elif "list" in ref and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _follow(item, ref["list"], structs, f"{path}[{index}]")
    elif "map" in ref and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _follow(item, ref["map"], structs, f"{path}.{key}")


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def startup_problems(config: Mapping[str, Any]) -> list[str]:
    """What the router refuses at start-up, or accepts and then ignores, in `config`."""
    problems: list[str] = []
    cache = _dig(config, "global", "stores", "response_cache") or {}
    backend = cache.get("backend_type") or "memory"
    for block in ("redis", "valkey", "milvus", "qdrant"):
        if (
            cache.get(block) is not None
            and block != backend
            and not (block == "milvus" and backend == "hybrid")
        ):
            problems.append(f"{block} configuration is not valid when backend_type is {backend}")
    if backend in ("redis", "valkey", "milvus", "hybrid"):
        needed = "milvus" if backend == "hybrid" else backend
        if cache.get(needed) is None:
            problems.append(f"{needed} configuration is required for {backend} cache backend")
    if backend == "hybrid":
        problems += [
            f"hybrid ignores {k}" for k in ("max_entries", "eviction_policy") if k in cache
        ]
    milvus = _dig(cache, "milvus", "connection") or {}
    auth = milvus.get("auth") or {}
    if auth.get("enabled") or auth.get("password") or auth.get("password_secret_ref"):
        problems.append("milvus auth is ignored (the router connects with host:port only)")
    if milvus.get("database") not in (None, "", "default"):
        problems.append("milvus database is ignored")
    if _dig(milvus, "tls", "enabled"):
        problems.append("milvus tls is ignored")
    if _dig(cache, "redis", "connection", "tls", "enabled"):
        problems.append("redis tls is ignored")
    if backend in ("milvus", "hybrid") and not _dig(
        cache, "milvus", "development", "auto_create_collection"
    ):
        problems.append("milvus collection is not created when missing (auto_create_collection)")
    guard = _dig(config, "global", "model_catalog", "modules", "prompt_guard") or {}
    if guard.get("enabled") and not _uses_signal(config, "jailbreak"):
        problems.append("prompt_guard is enabled but no decision uses a jailbreak signal")
    return problems


def _uses_signal(config: Mapping[str, Any], signal: str) -> bool:
    decisions = _dig(config, "routing", "decisions") or []
    return any(
        isinstance(c, Mapping) and c.get("type") == signal
        for d in decisions
        for c in _conditions(_dig(d, "rules"))
    )


def _conditions(rules: Any) -> Iterator[Mapping[str, Any]]:
    if not isinstance(rules, Mapping):
        return
    for condition in rules.get("conditions") or []:
        if isinstance(condition, Mapping):
            yield condition
            yield from _conditions(condition)


def contract_problems(config_yaml_text: str) -> list[str]:
    """Unknown keys and start-up problems of a rendered `config.yaml`."""
    import yaml

    config = yaml.safe_load(config_yaml_text) or {}
    unknown = [f"unknown key {path}" for path in unknown_keys(config, load_inventory())]
    return unknown + startup_problems(config)
