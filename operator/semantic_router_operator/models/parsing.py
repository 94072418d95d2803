"""Parsing a CR's spec and status with errors that name each field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import (
    ValidationError,
)

from semantic_router_operator import credentials
from semantic_router_operator.models.spec import (
    SemanticRouterSpec,
)
from semantic_router_operator.models.status import (
    SemanticRouterStatus,
)
from semantic_router_operator.router_sections import model_ref_problems

# --- parsing with readable errors --------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem in a spec: where (e.g. spec.vllmEndpoints[0].backend) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """A SemanticRouter spec that the models refuse; `errors` names every field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


_UNION_BRANCHES = frozenset({"int", "str", "float", "bool"})


def _path(root: str, loc: tuple[int | str, ...]) -> str:
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_BRANCHES or part.startswith(("function-", "literal[", "[")):
            continue  # union branches and validator names are not fields (`strategy` is)
        else:
            path += f".{part}"
    return path


def field_errors(exc: ValidationError, root: str = "spec") -> list[FieldError]:
    """The errors of `exc`, each with a dotted field path and a message for people."""
    errors = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"])
        message = message.removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            if error["loc"] and error["loc"][-1] == "password":
                message = (
                    "plain passwords are not accepted: put the password in a Secret and "
                    "set password_secret_ref {name, key}"
                )
            else:
                message = "unknown field: remove it or check its spelling"
        errors.append(FieldError(_path(root, tuple(error["loc"])), message))
    return errors


# Characters a manifest cannot carry through helm (its YAML writer drops or mangles them):
# DEL, the C1 controls and the noncharacters U+FFFE and U+FFFF.
UNCARRIABLE = re.compile(r"[\x7f-\x9f\ufffe\uffff]")


def uncarriable_text(node: Any, path: str = "spec") -> list[FieldError]:
    """A FieldError for each string (key or value) holding a character helm cannot carry."""
    errors: list[FieldError] = []
    if isinstance(node, str):
        found = UNCARRIABLE.search(node)
        if found:
            errors.append(
                FieldError(
                    path,
                    f"contains the control character U+{ord(found.group()):04X}, which a "
                    "Kubernetes manifest cannot carry: remove it",
                )
            )
    elif isinstance(node, Mapping):
        for key, value in node.items():
            errors += uncarriable_text(key, path)
            errors += uncarriable_text(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            errors += uncarriable_text(item, f"{path}[{index}]")
    return errors


def parse_spec(spec: Mapping[str, Any]) -> SemanticRouterSpec:
    """Validate a CR's spec; raise SpecError naming each bad field (e.g. spec.replicas).

    Literal credentials anywhere in ``spec.config`` are refused (`credentials`): the
    router configuration is rendered into a ConfigMap."""
    errors = uncarriable_text(spec)
    if errors:
        raise SpecError(errors)
    exposed = [
        FieldError(path, message)
        for path, message in credentials.literal_credentials(spec.get("config"))
    ]
    try:
        parsed = SemanticRouterSpec.model_validate(dict(spec))
    except ValidationError as exc:
        found = field_errors(exc)
        paths = {error.path for error in found}
        raise SpecError(found + [e for e in exposed if e.path not in paths]) from None
    if exposed:
        raise SpecError(exposed)
    unserved = [FieldError(path, message) for path, message in model_ref_problems(dict(spec))]
    if unserved:
        raise SpecError(unserved)
    return parsed


def parse_status(status: Mapping[str, Any] | None) -> SemanticRouterStatus:
    """A CR's status as the model (empty when the CR has none yet)."""
    return SemanticRouterStatus.model_validate(dict(status or {}))
