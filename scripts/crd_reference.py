#!/usr/bin/env python3
"""Generate docs/crd-reference.md from the SemanticRouter CRD (which the models produce).

Every spec and status field gets a row: path, type, default, constraints (allowed values,
ranges, lengths, named patterns, required) and description; the CEL rules are listed with
the messages users see. The page is rebuilt from `crd.render_crd()`, so it cannot say
anything the API server does not enforce.

Usage:
  scripts/crd_reference.py            rewrite docs/crd-reference.md
  scripts/crd_reference.py --check    exit 1 when docs/crd-reference.md is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "operator"))

from semantic_router_operator import crd, models  # noqa: E402

OUTPUT = ROOT / "docs" / "crd-reference.md"

Schema = Mapping[str, Any]

# Patterns of the models, by the name the reference shows instead of the regular expression.
NAMED_PATTERNS: dict[str, str] = {
    models.DNS1123_LABEL: "DNS-1123 label",
    models.DNS1123_SUBDOMAIN: "DNS-1123 subdomain",
    models.SECRET_KEY: "Secret/ConfigMap key",
    models.QUANTITY: "Kubernetes quantity",
    models.PERCENT: "percentage",
    models.DURATION: "duration",
    models.STORAGE_SIZE: "storage size",
    models.HOSTNAME: "host name",
    models.RATIO: "ratio",
    models.CONDITION_REASON: "condition reason",
}
PATTERN_EXAMPLES: dict[str, str] = {
    "DNS-1123 label": "`llama-3-8b` (at most 63 characters)",
    "DNS-1123 subdomain": "`my-secret`, `gateway.example`",
    "Secret/ConfigMap key": "`password`, `ca.crt`",
    "Kubernetes quantity": '`2`, `"500m"`, `"7Gi"`',
    "percentage": '`"25%"`',
    "duration": "`30s`, `1m30s`, `500ms`",
    "storage size": "`10Gi`, `500Mi`",
    "host name": "`router.example.com`, `*.example.com`",
    "ratio": '`0.6` or `"0.6"` (a number from 0 to 1, no exponent or sign)',
    "condition reason": "`NoBackendsFound`",
}


@dataclass(frozen=True)
class Row:
    """One documented field."""

    path: str
    type: str
    default: str
    constraints: str
    description: str


@dataclass(frozen=True)
class CelRule:
    """A CEL rule and where it is declared."""

    path: str
    rule: str
    message: str


def cell(text: str) -> str:
    """`text` made safe for a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def code(text: str) -> str:
    """`text` as an inline code span (backticks inside are doubled around)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return slug.replace(" ", "-")


def is_map(node: Schema) -> bool:
    return isinstance(node.get("additionalProperties"), Mapping)


def type_of(node: Schema) -> str:
    """A short, human type: string, integer or string, map of string, array of object ..."""
    if node.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = node.get("type")
    if kind is None and node.get("x-kubernetes-preserve-unknown-fields"):
        if "minimum" in node or "maximum" in node:
            return "number or string"
        return "any"
    if kind == "array":
        return f"array of {type_of(node.get('items') or {})}"
    if kind == "object":
        if is_map(node):
            return f"map of {type_of(node['additionalProperties'])}"
        if node.get("x-kubernetes-preserve-unknown-fields") and not node.get("properties"):
            return "object (free-form)"
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return "object (open)"
        return "object"
    return str(kind)


def default_of(node: Schema) -> str:
    if "default" not in node:
        return ""
    return code(json.dumps(node["default"], ensure_ascii=False, separators=(", ", ": ")))


def _range(low: Any, high: Any, what: str) -> str:
    if low is not None and high is not None:
        return f"{what}{low} to {high}"
    if low is not None:
        return f"{what}≥ {low}"
    return f"{what}≤ {high}"


def pattern_text(pattern: str) -> str:
    name = NAMED_PATTERNS.get(pattern)
    if name is not None:
        return f"[{name}](#patterns)"
    return f"pattern {code(pattern)}"


def constraints_of(node: Schema, required: bool) -> str:
    parts: list[str] = []
    if required:
        parts.append("**required**")
    if "enum" in node:
        parts.append("one of " + ", ".join(code(json.dumps(v)) for v in node["enum"]))
    if "minimum" in node or "maximum" in node:
        parts.append(_range(node.get("minimum"), node.get("maximum"), ""))
    if "minLength" in node or "maxLength" in node:
        low = node.get("minLength")
        if low == 1 and "maxLength" not in node:
            parts.append("non-empty")
        else:
            parts.append(_range(low, node.get("maxLength"), "length "))
    if "maxItems" in node:
        parts.append(f"at most {node['maxItems']} items")
    if "maxProperties" in node:
        parts.append(f"at most {node['maxProperties']} entries")
    if "pattern" in node:
        parts.append(pattern_text(str(node["pattern"])))
    if "format" in node:
        parts.append(f"format {node['format']}")
    if node.get("x-kubernetes-list-type") == "map":
        keys = ", ".join(node.get("x-kubernetes-list-map-keys") or [])
        parts.append(f"one entry per {keys}")
    rules = node.get("x-kubernetes-validations") or []
    if rules:
        parts.append(f"[{len(rules)} CEL rule{'s' if len(rules) > 1 else ''}](#validation-rules)")
    return "; ".join(parts)


def children(node: Schema, path: str) -> Iterator[tuple[str, Schema, bool]]:
    """(path, schema, required) of the fields directly below `node`."""
    if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
        yield from children(node["items"], path + "[]")
        return
    if is_map(node):
        value = node["additionalProperties"]
        if value.get("properties") or (
            isinstance(value.get("items"), Mapping) and value["items"].get("properties")
        ):
            yield from children(value, path + ".<name>")
        return
    required = set(node.get("required") or [])
    for name, child in (node.get("properties") or {}).items():
        yield f"{path}.{name}", child, name in required


def describe(node: Schema) -> str:
    text = str(node.get("description") or "")
    if not text and node.get("type") == "array":
        text = str((node.get("items") or {}).get("description") or "")
    return text


def rows(node: Schema, path: str, required: bool = False) -> Iterator[Row]:
    """`node` and every field below it, depth first, in declaration order."""
    yield Row(
        path=path,
        type=type_of(node),
        default=default_of(node),
        constraints=full_constraints(node, required),
        description=describe(node),
    )
    for child_path, child, child_required in children(node, path):
        yield from rows(child, child_path, child_required)


def full_constraints(node: Schema, required: bool) -> str:
    """Constraints of `node`; for an array or map of scalars also those of each element."""
    own = constraints_of(node, required)
    element: Schema | None = None
    if node.get("type") == "array":
        element = node.get("items")
    elif is_map(node):
        element = node["additionalProperties"]
    if not element or element.get("type") in ("object", "array"):
        return own
    each = constraints_of(element, False)
    if not each:
        return own
    label = "each item" if node.get("type") == "array" else "each value"
    each = each.replace("; ", ", ")
    return "; ".join(part for part in (own, f"{label}: {each}") if part)


def cel_rules(node: Schema, path: str) -> Iterator[CelRule]:
    for rule in node.get("x-kubernetes-validations") or []:
        yield CelRule(path, str(rule["rule"]), str(rule["message"]))
    if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
        yield from cel_rules(node["items"], path + "[]")
        return
    if is_map(node):
        yield from cel_rules(node["additionalProperties"], path + ".<name>")
        return
    for name, child in (node.get("properties") or {}).items():
        yield from cel_rules(child, f"{path}.{name}")


def patterns_in(node: Any) -> Iterator[str]:
    """Every `pattern` anywhere in a schema."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from patterns_in(item)


def table(items: list[Row]) -> list[str]:
    out = [
        "| Field | Type | Default | Constraints | Description |",
        "|---|---|---|---|---|",
    ]
    for row in items:
        out.append(
            f"| {code(row.path)} | {cell(row.type)} | {cell(row.default)} | "
            f"{cell(row.constraints)} | {cell(row.description)} |"
        )
    return out


def has_fields(node: Schema) -> bool:
    return any(True for _ in children(node, ""))


def render() -> str:
    """The whole page."""
    manifest = crd.render_crd()
    spec_ = manifest["spec"]
    version = spec_["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    spec = schema["properties"]["spec"]
    status = schema["properties"]["status"]
    names = spec_["names"]

    out: list[str] = [
        "# SemanticRouter API reference",
        "",
        "<!-- Generated by `make docs` (scripts/crd_reference.py) from the CRD that",
        "     operator/semantic_router_operator/models/ produces. Do not edit by hand. -->",
        "",
        str(schema["description"]),
        "",
        "| | |",
        "|---|---|",
        f"| API version | `{spec_['group']}/{version['name']}` |",
        f"| Kind | `{names['kind']}` ({spec_['scope']}) |",
        f"| Plural, short names | `{names['plural']}`, "
        + ", ".join(f"`{n}`" for n in names.get("shortNames", []))
        + " |",
        f"| Categories | {', '.join(f'`{c}`' for c in names.get('categories', []))} |",
        f"| CRD | `{manifest['metadata']['name']}` "
        "([crds/vllm.ai_semanticrouters.yaml](../crds/vllm.ai_semanticrouters.yaml)) |",
        "",
        "`kubectl explain semanticrouter.spec.<field>` prints the same descriptions from a",
        "cluster. Defaults are filled in by the API server. Fields marked free-form or open",
        "are passed through unchanged (router sections, Kubernetes core types).",
        "",
        "`kubectl get semanticrouters` shows these columns:",
        "",
        "| Column | From | Description |",
        "|---|---|---|",
    ]
    for column in version.get("additionalPrinterColumns", []):
        wide = " Shown with `-o wide`." if column.get("priority") else ""
        text = cell(str(column.get("description", "")) + wide)
        out.append(f"| {column['name']} | `{column['jsonPath']}` | {text} |")

    top = list(children(spec, "spec"))
    sections = [(path, node) for path, node, _ in top if has_fields(node)]
    out += ["", "## Contents", ""]
    out.append("- [spec](#spec)")
    for path, _ in sections:
        out.append(f"  - [{path}](#{anchor(path)})")
    out.append("- [status](#status)")
    out.append("- [Validation rules](#validation-rules)")
    out.append("- [Patterns](#patterns)")

    out += ["", "## spec", "", cell(describe(spec)), ""]
    overview = [
        Row(
            path=path,
            type=type_of(node),
            default=default_of(node),
            constraints=full_constraints(node, required),
            description=describe(node)
            + (f" See [{path}](#{anchor(path)})." if has_fields(node) else ""),
        )
        for path, node, required in top
    ]
    out += table(overview)

    for path, node in sections:
        out += ["", f"### {path}", "", cell(describe(node)), ""]
        out += table(list(rows(node, path))[1:])

    out += ["", "## status", "", cell(describe(status)), ""]
    out += table(
        [row for path, node, req in children(status, "status") for row in rows(node, path, req)]
    )

    rules = list(cel_rules(spec, "spec"))
    out += [
        "",
        "## Validation rules",
        "",
        "Cross-field rules, enforced twice with one message: by the API server (CEL, below) when",
        "the object is written, and by the operator's models before anything is deployed.",
        "",
        "| Where | Rule (CEL, `self` is the object at Where) | Message |",
        "|---|---|---|",
    ]
    for rule in rules:
        out.append(f"| {code(rule.path)} | {cell(code(rule.rule))} | {cell(rule.message)} |")

    out += [
        "",
        "## Patterns",
        "",
        "| Name | Examples | Regular expression |",
        "|---|---|---|",
    ]
    used = set(patterns_in(schema))
    for pattern, name in NAMED_PATTERNS.items():
        if pattern not in used:
            continue
        out.append(f"| {name} | {PATTERN_EXAMPLES[name]} | {cell(code(pattern))} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write or check")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
