"""Input checks and plain-data helpers of the router config translation (`routerconfig`):
credentials refused or referenced, numbers written as strings read as numbers, paths named
in errors as ``spec.config.<path>``, and the Secret references of a canonical config."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeAlias

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
Path: TypeAlias = tuple[str | int, ...]

# Keys whose string values are numbers written as strings (CRDs store ratios as strings):
# every `*threshold` of the v0.3 contract is a number except the boolean switch below.
_NUMERIC_KEY_SUFFIX = "threshold"
_NUMERIC_KEYS = frozenset({"sample_rate", "rate"})
_NON_NUMERIC_KEYS = frozenset({"adaptive_threshold"})

# Keys holding credentials: a literal value would be rendered into a ConfigMap.
_CREDENTIAL_KEYS = frozenset({"password", "api_key", "access_key", "auth_token", "api_keys"})
_ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


class RouterConfigError(ValueError):
    """``spec.config`` cannot be translated; ``field`` is the offending ``spec.config.<path>``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
