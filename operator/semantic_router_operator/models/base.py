"""Shared pieces of the SemanticRouter API: group/kind names, wire-format patterns, scalar
types with Kubernetes schema shapes, and the three base models (spec, router config, status).

Spec and status models take camelCase wire names from an alias generator; a field whose wire
name is not the camelCase of its attribute (``targetCPUUtilizationPercentage``) names it itself.
Router configuration models keep the router's own snake_case keys."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from semantic_router_operator.names import DNS1123_LABEL, DNS1123_SUBDOMAIN

GROUP = "vllm.ai"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "SemanticRouter"
PLURAL = "semanticrouters"
SINGULAR = "semanticrouter"
SHORT_NAMES = ("sr",)
CATEGORIES = ("all", "vllm")

DEFAULT_IMAGE_REPOSITORY = "ghcr.io/vllm-project/semantic-router/extproc"
DEFAULT_PVC_SIZE = "10Gi"

MAX_CLAIMS = 16
"""Upper bound of resource claims lists; keeps the CEL membership rule cheap."""

MAX_ENDPOINTS = 64
"""Upper bound of spec.vllmEndpoints; keeps the CEL uniqueness rule cheap for the API server."""

SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
PERCENT = r"^[0-9]+%$"
DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
PROMETHEUS_DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
"""A duration as the Prometheus Operator's CRDs take it: whole numbers, units in order."""
STORAGE_SIZE = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
RATIO = r"^\s*(0(\.[0-9]*)?|1(\.0*)?|\.[0-9]+)\s*$"
"""A number between 0 and 1 written as a string: 0.6, .5, 1.0 (no exponent, no sign)."""
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"


# --- scalar types with Kubernetes schema shapes ----------------------------------------------


def _ratio(value: object) -> object:
    """Accept 0.6 and "0.6" alike (the CR examples use both); reject booleans and words."""
    if isinstance(value, bool):
        raise ValueError('must be a number between 0 and 1 such as 0.6 or "0.6", not a boolean')
    if isinstance(value, str):
        if not re.match(RATIO, value):
            raise ValueError(
                f'must be a number between 0 and 1 such as 0.6 or "0.6", got {value!r}'
            )
        return float(value)
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number between 0 and 1")
    return value


Ratio = Annotated[
    float,
    BeforeValidator(_ratio),
    AfterValidator(_finite),
    Field(ge=0, le=1),
    WithJsonSchema(
        {
            # A number or a numeric string: int-or-string would reject 0.6, so the node is
            # left untyped and constrained by minimum/maximum (numbers) and pattern (strings).
            "x-kubernetes-preserve-unknown-fields": True,
            "minimum": 0,
            "maximum": 1,
            "pattern": RATIO,
        }
    ),
]
"""A number between 0 and 1 written as 0.6 or "0.6"; always a float once parsed."""


def _int_or_pattern(pattern: str, what: str) -> Callable[[int | str], int | str]:
    """A validator for an int-or-string field: a non-negative integer, or a string matching
    `pattern` (the API server checks the same pattern); `what` names the accepted forms."""

    def check(value: int | str) -> int | str:
        if isinstance(value, bool):
            raise ValueError(f"must be {what}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if not re.match(pattern, value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return check


def _int_or_string_schema(pattern: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": pattern,
        }
    )


Quantity = Annotated[
    int | str,
    AfterValidator(_int_or_pattern(QUANTITY, 'a Kubernetes quantity such as 2, "500m" or "10Gi"')),
    _int_or_string_schema(QUANTITY),
]
"""A Kubernetes resource quantity: an integer or a string like "500m" or "7Gi"."""

IntOrPercent = Annotated[
    int | str,
    AfterValidator(
        _int_or_pattern(PERCENT, 'a number of pods such as 1 or a percentage such as "25%"')
    ),
    _int_or_string_schema(PERCENT),
]
"""A number of pods (integer) or a percentage string like "25%"."""

FreeForm = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
"""An object passed through as is (Kubernetes core types, router sections, tool entries)."""

Port = Annotated[int, Field(ge=1, le=65535)]
DnsLabel = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS1123_LABEL)]
DnsSubdomain = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS1123_SUBDOMAIN)]
StringMap = dict[str, str]

QUALIFIED_NAME = r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"


def _key_problem(key: str) -> str | None:
    """Why `key` is not a label or annotation key (``[prefix/]name``), or None."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not re.match(DNS1123_SUBDOMAIN, prefix)):
        return f"key {key!r}: the prefix before '/' must be a DNS subdomain"
    if len(name) > 63 or not re.match(QUALIFIED_NAME, name):
        return (
            f"key {key!r}: the name must be at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


def _annotation_keys(value: dict[str, str]) -> dict[str, str]:
    problems = [p for key in value if (p := _key_problem(key))]
    if problems:
        raise ValueError("; ".join(problems))
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    _annotation_keys(value)
    for key, text in value.items():
        if len(text) > 63 or not re.match(LABEL_VALUE, text):
            raise ValueError(
                f"label {key}={text!r}: a label value is at most 63 letters, digits, '-', "
                "'_' or '.', starting and ending with a letter or digit (or empty)"
            )
    return value


AnnotationMap = Annotated[StringMap, AfterValidator(_annotation_keys)]
"""Annotations: keys as Kubernetes takes them, any string values."""
LabelMap = Annotated[StringMap, AfterValidator(_labels)]
"""Labels (or a label selector): keys and values as Kubernetes takes them."""


# --- base models ------------------------------------------------------------------------------


class ApiModel(BaseModel):
    """Base of every spec model: unknown keys are errors, wire names are the aliases."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=False,
    )

    def to_dict(self) -> dict[str, Any]:
        """The wire shape (aliases), without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _sub(model: type[BaseModel], description: str) -> Any:
    """A nested object that is always present (its own defaults apply, CRD default {})."""
    return Field(
        default_factory=model,
        description=description,
        json_schema_extra={"default": {}},
    )


# --- router configuration (snake_case, as the router spells it) ------------------------------


class ConfigModel(BaseModel):
    """Base of the router configuration sections: keys are the router's own (snake_case)."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    def to_dict(self) -> dict[str, Any]:
        """The wire shape, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- the status --------------------------------------------------------------------------------


class StatusModel(BaseModel):
    """Base of the status models (written by the operator)."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True
    )

    def to_dict(self) -> dict[str, Any]:
        """The wire shape, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
