"""SemanticRouter specs drawn from the CRD's own OpenAPI schema (hypothesis strategies),
the free-text string fields of that schema, and one-field mutations that break it.

`specs()` follows the schema: types, enums, patterns, bounds, required fields, and the
``x-kubernetes-int-or-string`` and threshold (number or numeric string) shapes. Objects
that keep unknown fields and declare none (affinity, securityContext ...) stay empty.
Free-text strings (no pattern, no enum) are drawn from `hostile_text()`: quotes,
newlines, template and variable syntax, unicode.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from tests.support.crdcheck import load_crd, openapi_schema

Schema = Mapping[str, Any]

# Text that breaks naive templating: YAML structure, Go templates, shell/env expansion.
HOSTILE_PIECES = (
    '"',
    "'",
    "\n",
    "\r\n",
    "\t",
    "{{ .Release.Name }}",
    '{{ fail "injected" }}',
    "{{",
    "}}",
    "${HOME}",
    "$(id)",
    "`id`",
    ": ",
    "- ",
    "#",
    "&anchor",
    "*alias",
    "!!python/object",
    "---",
    "\\",
    "%",
    "@",
    "|",
    ">",
    "é",
    "ß",
    "中文",
    "🚀",
    "\u200b",
    "\u202e",
    "null",
    "true",
    "0x1F",
)


def hostile_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    piece = st.sampled_from(HOSTILE_PIECES) | st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=4
    )
    return (
        st.lists(piece, min_size=1, max_size=6)
        .map("".join)
        .filter(lambda s: min_size <= len(s) <= max_size)
    )


@cache
def spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = openapi_schema(load_crd())["properties"]["spec"]
    return schema


def is_free_text(schema: Schema) -> bool:
    return schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema


def _string(schema: Schema) -> st.SearchStrategy[Any]:
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 40))
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda s: low <= len(s) <= high
        )
    return hostile_text(low, min(high, 40))


def _number(schema: Schema, integer: bool) -> st.SearchStrategy[Any]:
    low = schema.get("minimum", 0 if integer else 0.0)
    high = schema.get("maximum", low + 1000)
    if integer:
        return st.integers(int(low), int(high))
    return st.floats(float(low), float(high), allow_nan=False)


def strategy(schema: Schema) -> st.SearchStrategy[Any]:
    """Values that `schema` accepts (CEL rules aside: see crdcheck for the full verdict)."""
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        text = st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else None
        return st.integers(1, 64) | text if text is not None else st.integers(1, 64)
    if kind is None and "pattern" in schema and "maximum" in schema:
        # A ratio: a number, or a numeric string, between minimum and maximum.
        ratio = st.floats(float(schema["minimum"]), float(schema["maximum"]), allow_nan=False)
        return ratio | ratio.map(lambda v: f"{v:.3f}")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return _number(schema, integer=True)
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = strategy(schema.get("items") or {})
        high = min(int(schema.get("maxItems", 3)), 3)
        return st.lists(items, min_size=int(schema.get("minItems", 0)), max_size=high)
    if kind == "object" or "properties" in schema:
        return _object(schema)
    return st.nothing()


def _object(schema: Schema) -> st.SearchStrategy[Any]:
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    if properties:
        required = set(schema.get("required") or [])
        return st.fixed_dictionaries(
            {name: strategy(properties[name]) for name in sorted(required)},
            optional={
                name: strategy(prop) for name, prop in properties.items() if name not in required
            },
        )
    if isinstance(additional, Mapping):
        keys = st.from_regex(r"\A[a-z]([-a-z0-9.]{0,20}[a-z0-9])?\Z")
        return st.dictionaries(keys, strategy(additional), max_size=3)
    return st.just({})


def specs() -> st.SearchStrategy[dict[str, Any]]:
    """Whole specs following the CRD schema."""
    return _object(spec_schema()).map(_unique_endpoint_names)


def _unique_endpoint_names(spec: dict[str, Any]) -> dict[str, Any]:
    """The CRD's CEL rule: vllmEndpoints names are unique."""
    seen: set[str] = set()
    for index, endpoint in enumerate(spec.get("vllmEndpoints") or []):
        if endpoint["name"] in seen:
            endpoint["name"] = f"e{index}-{endpoint['name']}"[:63].rstrip("-")
        seen.add(endpoint["name"])
    return spec


# --------------------------------------------------------------------------- free text


@dataclass(frozen=True)
class Field:
    """A place in the spec: keys and list indexes from spec down."""

    path: tuple[str | int, ...]

    def __str__(self) -> str:
        out = "spec"
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out


def free_text_fields(
    schema: Schema | None = None, path: tuple[str | int, ...] = ()
) -> Iterator[Field]:
    """Every free-text string field of the schema (lists at index 0, maps at key "k")."""
    schema = spec_schema() if schema is None else schema
    if is_free_text(schema):
        yield Field(path)
        return
    for name, prop in (schema.get("properties") or {}).items():
        yield from free_text_fields(prop, (*path, name))
    if isinstance(schema.get("items"), Mapping):
        yield from free_text_fields(schema["items"], (*path, 0))
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping):
        yield from free_text_fields(additional, (*path, "k"))


def set_field(spec: dict[str, Any], field: Field, value: Any) -> dict[str, Any]:
    """A copy of `spec` with `value` at `field`, creating the objects and lists on the way
    (a list gets one entry made of the schema's required fields, when it is missing)."""
    out = copy.deepcopy(spec)
    node: Any = out
    schema: Schema = spec_schema()
    for part, following in zip(field.path, [*field.path[1:], None], strict=True):
        schema = _child_schema(schema, part)
        if isinstance(part, int):
            while len(node) <= part:
                node.append(minimal(schema))
        if following is None:
            node[part] = value
            break
        if not isinstance(part, int) and (part not in node or node[part] is None):
            node[part] = [] if isinstance(following, int) else (minimal(schema) or {})
        node = node[part]
    return out


def _child_schema(schema: Schema, part: str | int) -> Schema:
    child: Schema
    if isinstance(part, int):
        child = schema.get("items") or {}
    elif part in (schema.get("properties") or {}):
        child = schema["properties"][part]
    else:
        additional = schema.get("additionalProperties")
        child = additional if isinstance(additional, Mapping) else {}
    return child


def typed_leaves(
    schema: Schema | None = None, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[Field, Schema]]:
    """Every field with a checkable type (not free text, not free-form), and every object
    that lists its properties (where an unknown key is an error)."""
    schema = spec_schema() if schema is None else schema
    if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties"):
        return
    kind = schema.get("type")
    typed = kind in ("integer", "boolean", "array") or "enum" in schema
    closed = bool(schema.get("properties")) and not schema.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if path and (typed or closed or (kind == "string" and not is_free_text(schema))):
        yield Field(path), schema
    for name, prop in (schema.get("properties") or {}).items():
        yield from typed_leaves(prop, (*path, name))
    if isinstance(schema.get("items"), Mapping):
        yield from typed_leaves(schema["items"], (*path, 0))


def breakers(schema: Schema) -> list[Any]:
    """Values `schema` refuses that no lenient parser could take for valid ones."""
    kind = schema.get("type")
    out: list[Any] = []
    if "enum" in schema:
        out.append("not-one-of-them")
    if kind == "integer":
        out.append("ten")
        if "minimum" in schema:
            out.append(int(schema["minimum"]) - 1)
        if "maximum" in schema:
            out.append(int(schema["maximum"]) + 1)
    elif kind == "boolean":
        out.append("maybe")
    elif kind == "array":
        out.append("not-a-list")
    elif kind == "string" and "enum" not in schema:
        out.append({"not": "a string"})
        if "pattern" in schema:
            out.append("Not A Valid Value!")
        if "maxLength" in schema:
            out.append("a" * (int(schema["maxLength"]) + 1))
    elif kind == "object" and schema.get("properties"):
        out.append({"unknownField": 1})
    return out


def get_field(spec: Mapping[str, Any], field: Field) -> Any:
    node: Any = spec
    for part in field.path:
        if isinstance(part, int):
            if not isinstance(node, list) or len(node) <= part:
                return None
        elif not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def minimal(schema: Schema) -> Any:
    """A smallest valid value: required fields with a plain value each, lists of their
    minItems entries."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: minimal(props[name]) for name in schema.get("required") or []}
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "array":
        return [minimal(schema.get("items") or {}) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "boolean":
        return False
    return None
