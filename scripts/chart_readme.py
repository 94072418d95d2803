#!/usr/bin/env python3
"""Generate the values table of the chart README from the `# --` comments in values.yaml.

Conventions (helm-docs style):
- `# -- text` directly above a key documents it; following `#` lines continue the text.
- `# @default -- text` (inside that block) replaces the default shown in the table.
- `# -- (type) text` states the type when the default does not show it (e.g. null).
- A documented key whose children carry no `# --` comments is one row (a free-form value,
  e.g. `config` or `resources`); otherwise each child is documented on its own.
- Every key of a map that has documented keys must be documented (the root included).

Usage:
  scripts/chart_readme.py            rewrite the table between the markers in the README
  scripts/chart_readme.py --check    exit 1 when the README is stale or a key is undocumented
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "semantic-router"
START = "<!-- values-table:start -->"
END = "<!-- values-table:end -->"

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-]+):(?:\s|$)")
_DOC = re.compile(r"^ *# -- ?(?P<text>.*)$")
_DEFAULT = re.compile(r"^ *# @default -- ?(?P<text>.*)$")
_COMMENT = re.compile(r"^ *#(?P<text>.*)$")


_TYPE_HINT = re.compile(r"^\((?P<type>[^)]+)\)\s*(?P<rest>.*)$")


@dataclass
class Key:
    """One mapping key of values.yaml, with its `# --` documentation if any."""

    path: tuple[str, ...]
    description: str | None
    default_override: str | None

    @property
    def type_hint(self) -> str | None:
        m = _TYPE_HINT.match(self.description or "")
        return m["type"] if m else None

    @property
    def text(self) -> str:
        m = _TYPE_HINT.match(self.description or "")
        return m["rest"] if m else (self.description or "")


def parse_keys(text: str) -> list[Key]:
    """Every mapping key outside lists, in file order, with the doc block above it."""
    keys: list[Key] = []
    stack: list[tuple[int, str]] = []
    doc: list[str] | None = None
    default: str | None = None
    list_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            doc, default = None, None
            continue
        indent = len(line) - len(line.lstrip(" "))
        if list_indent is not None:
            if indent > list_indent or (indent == list_indent and stripped.startswith("- ")):
                continue
            list_indent = None
        if m := _DOC.match(line):
            doc, default = [m["text"].strip()], None
            continue
        if m := _DEFAULT.match(line):
            default = m["text"].strip()
            continue
        if m := _COMMENT.match(line):
            if doc is not None:
                doc.append(m["text"].strip())
            continue
        if stripped.startswith("- "):
            list_indent = indent
            continue
        m = _KEY.match(line)
        if m is None:
            doc, default = None, None
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (*(k for _, k in stack), m["key"])
        keys.append(Key(path, " ".join(p for p in doc if p) if doc else None, default))
        stack.append((indent, m["key"]))
        doc, default = None, None
    return keys


def _rows(keys: list[Key]) -> tuple[list[Key], list[str]]:
    """Keys that form table rows, and the dotted paths that lack documentation."""
    documented = {k.path for k in keys if k.description is not None}
    # Maps with a documented key somewhere below them (the root () included).
    has_documented_children = {p[:i] for p in documented for i in range(len(p))}
    rows: list[Key] = []
    missing: list[str] = []
    for key in keys:
        parent = key.path[:-1]
        # Inside a free-form value (a documented key whose children are undocumented)?
        if any(
            parent[:i] in documented and parent[:i] not in has_documented_children
            for i in range(1, len(parent) + 1)
        ):
            continue
        if key.description is None:
            if parent == () or parent in has_documented_children:
                missing.append(".".join(key.path))
            continue
        rows.append(key)
    return rows, missing


def undocumented_keys(text: str) -> list[str]:
    """Dotted paths of keys that need a `# --` comment and have none."""
    return _rows(parse_keys(text))[1]


def _lookup(values: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        values = values[part]
    return values


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(text: str) -> str:
    """The markdown values table for a values.yaml text."""
    values = yaml.safe_load(text) or {}
    keys = parse_keys(text)
    rows, _ = _rows(keys)
    parents = {k.path[:-1] for k in rows}
    lines = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for key in rows:
        value = _lookup(values, key.path)
        if key.default_override is not None:
            default = key.default_override
        elif key.path in parents:
            default = ""
        else:
            default = "`" + json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "`"
        lines.append(
            f"| `{'.'.join(key.path)}` | {key.type_hint or _type_of(value)} | {_cell(default)} "
            f"| {_cell(key.text)} |"
        )
    return "\n".join(lines) + "\n"


def update_readme(readme: str, table: str) -> str:
    """The README with the text between the markers replaced by `table`."""
    if START not in readme or END not in readme:
        raise ValueError(f"README lacks the markers {START} and {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chart", type=Path, default=CHART, help="chart directory")
    parser.add_argument("--check", action="store_true", help="fail instead of writing")
    args = parser.parse_args(argv)
    values_text = (args.chart / "values.yaml").read_text()
    readme_path = args.chart / "README.md"
    missing = undocumented_keys(values_text)
    if missing:
        print("values.yaml keys without a `# --` comment: " + ", ".join(missing), file=sys.stderr)
        return 1
    current = readme_path.read_text()
    wanted = update_readme(current, render_table(values_text))
    if current == wanted:
        return 0
    if args.check:
        print(f"{readme_path} is stale: run `make chart-docs`", file=sys.stderr)
        return 1
    readme_path.write_text(wanted)
    print(f"updated {readme_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
