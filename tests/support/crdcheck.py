"""Check custom resources against a CRD the way the API server does, without a cluster.

Three steps, in the API server's order:

1. defaulting: the schema's ``default`` values fill missing fields of present objects;
2. the OpenAPI schema: checked with jsonschema after converting the Kubernetes extensions
   (``x-kubernetes-int-or-string`` keeps its anyOf, an untyped
   ``x-kubernetes-preserve-unknown-fields`` node accepts anything, and objects with
   ``properties`` refuse unknown fields as ``kubectl``'s strict field validation does). Unknown
   and missing required fields are named by their own path, as the API server names them
   (``unknown field "spec.replica"``, ``spec.x.key: Required value``);
3. the CEL rules (``x-kubernetes-validations``), evaluated with cel-python where the
   value is present, with ``self`` bound to it.

Each problem comes back as (path, message), e.g. ``("spec.autoscaling", "autoscaling...")``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy.adapter import json_to_cel

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "vllm.ai_semanticrouters.yaml"
SAMPLES_DIR = ROOT / "samples"


@dataclass(frozen=True)
class Problem:
    """One reason the API server would refuse an object."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_crd(path: Path = CRD_FILE) -> dict[str, Any]:
    """The CRD manifest committed in crds/."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert len(documents) == 1, f"{path} must hold exactly one document"
    crd: dict[str, Any] = documents[0]
    return crd


def openapi_schema(crd: Mapping[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema of the CRD's storage version."""
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def load_yaml(path: Path) -> dict[str, Any]:
    """A single-document YAML file."""
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert len(documents) == 1, f"{path} must hold exactly one document"
    document: dict[str, Any] = documents[0]
    return document


# --- 1. defaulting ----------------------------------------------------------------------------


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """`value` with the schema's defaults filled in (a copy), like the API server."""
    value = copy.deepcopy(value)
    _default_into(schema, value)
    return value


def _default_into(schema: Mapping[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        for name, prop in schema.get("properties", {}).items():
            if name not in value and "default" in prop:
                value[name] = copy.deepcopy(prop["default"])
            if name in value:
                _default_into(prop, value[name])
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for item in value.values():
                _default_into(additional, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            _default_into(schema["items"], item)


# --- 2. the OpenAPI schema --------------------------------------------------------------------


def to_jsonschema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A jsonschema (draft 4) equivalent of a structural Kubernetes schema."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: to_jsonschema(prop) for name, prop in value.items()}
        elif key == "items" or (key == "additionalProperties" and isinstance(value, Mapping)):
            out[key] = to_jsonschema(value)
        elif key.startswith("x-kubernetes-") or key in ("default", "description"):
            continue
        else:
            out[key] = copy.deepcopy(value)
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def schema_problems(schema: Mapping[str, Any], obj: Any, root: str = "") -> list[Problem]:
    """Problems the OpenAPI schema finds in `obj` (already defaulted)."""
    validator = jsonschema.Draft4Validator(to_jsonschema(schema))
    problems = []
    for error in validator.iter_errors(obj):
        path = _join(root, list(error.absolute_path))
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            # The API server's strict decoding names each unknown field by its full path.
            known = set(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - known):
                field = _join(path, [name])
                problems.append(Problem(field, f'unknown field "{field}"'))
        elif error.validator == "required" and isinstance(error.instance, Mapping):
            # ... and each missing required field by its own path, as "Required value".
            for name in error.validator_value:
                if name not in error.instance:
                    problems.append(Problem(_join(path, [name]), "Required value"))
        else:
            problems.append(Problem(path, error.message))
    return sorted(set(problems), key=str)


def _join(root: str, parts: list[Any]) -> str:
    path = root
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


# --- 3. CEL rules -----------------------------------------------------------------------------


@cache
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule))


def compile_rule(rule: str) -> None:
    """Raise when `rule` is not valid CEL."""
    _program(rule)


def evaluate_rule(rule: str, value: Any) -> bool:
    """The verdict of one CEL rule with `self` bound to `value`."""
    result = _program(rule).evaluate({"self": json_to_cel(value)})
    if isinstance(result, Exception):
        raise result
    return bool(result)


def iter_rules(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (schema path, rule) of the schema."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield path, rule
    for name, prop in schema.get("properties", {}).items():
        yield from iter_rules(prop, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), Mapping):
        yield from iter_rules(schema["items"], f"{path}[*]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from iter_rules(schema["additionalProperties"], f"{path}[*]")


def cel_problems(schema: Mapping[str, Any], value: Any, path: str = "") -> list[Problem]:
    """Problems the CEL rules find in `value` (already defaulted and schema-valid)."""
    problems = []
    for rule in schema.get("x-kubernetes-validations", []):
        if not evaluate_rule(rule["rule"], value):
            problems.append(Problem(path, rule["message"]))
    if isinstance(value, dict):
        for name, prop in schema.get("properties", {}).items():
            if name in value:
                child = f"{path}.{name}" if path else name
                problems.extend(cel_problems(prop, value[name], child))
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key, item in value.items():
                problems.extend(cel_problems(additional, item, f"{path}[{key}]"))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            problems.extend(cel_problems(schema["items"], item, f"{path}[{index}]"))
    return problems


# --- all three ----------------------------------------------------------------------------


def admission_problems(crd: Mapping[str, Any], obj: Mapping[str, Any]) -> list[Problem]:
    """Why the API server would refuse `obj` (empty when it would store it)."""
    schema = openapi_schema(crd)
    defaulted = apply_defaults(schema, obj)
    problems = schema_problems(schema, defaulted)
    if problems:
        return problems
    return cel_problems(schema, defaulted)
