"""The SemanticRouter API (vllm.ai/v1alpha1): pydantic models of the spec and the status.

These models are the single source of the API. `crd.py` turns them into the CRD (every
field description below is what `kubectl explain semanticrouter.spec...` prints), and the
operator validates every spec with them before doing anything.

Conventions:

- Python attributes are snake_case; the wire names (CR keys, chart values keys) are the
  aliases: camelCase for the spec (``vllmEndpoints``, ``imagePullSecrets``), snake_case
  inside ``spec.config`` exactly as the router's own configuration spells them.
  ``model_dump()`` writes the wire names; ``to_dict()`` also drops unset optional fields.
- Defaults here are the CRD defaults (the API server fills them in).
- Cross-field rules exist twice with one message: as a pydantic validator and as a CEL
  ``x-kubernetes-validations`` rule in the CRD (``RULES`` holds both halves' text).
- Credentials are never values: the cache backends take ``password_secret_ref`` {name, key}.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from semantic_router_operator import credentials
from semantic_router_operator.router_sections import (
    ComplexityRule,
    Decision,
    Effort,
    EmbeddingModelsConfig,
    NumberOrText,
    RoutingConfig,
    Strategy,
)

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

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
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


# --- router container flags ---------------------------------------------------------------------

ROUTER_FLAGS: tuple[str, ...] = (
    "port",
    "api-port",
    "api-bind",
    "management-auth-mode",
    "management-remote-exposure",
    "metrics-port",
    "enable-api",
    "secure",
    "cert-path",
    "kubeconfig",
    "namespace",
    "download-only",
)
"""The router's command-line flags (Go `flag` package, cmd/runtime_bootstrap.go at router
commit 3d48f8c9) other than `--config`, which the image's entrypoint sets. Go's flag parser
exits with status 2 on any other flag."""


def router_flag_problem(arg: str) -> str | None:
    """Why `arg` would stop the router's flag parser, or None when it is accepted."""
    if not arg.startswith("-"):
        return None  # a value of the previous flag (e.g. `--port 50051`)
    name = arg.lstrip("-").split("=", 1)[0]
    if name == "config":
        return "--config is set by the image's entrypoint from the mounted config; remove it"
    if name in ROUTER_FLAGS:
        return None
    return "the router defines no such flag and would exit at start; its flags are " + ", ".join(
        f"--{flag}" for flag in ROUTER_FLAGS
    )


# --- cross-field rules: one message, two enforcers ---------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A cross-field rule: the CEL expression (evaluated with `self` = the object the model
    describes) and the message shown to the user by both the API server and pydantic."""

    cel: str
    message: str

    def as_validation(self) -> dict[str, str]:
        """The CRD `x-kubernetes-validations` entry."""
        return {"rule": self.cel, "message": self.message}


def _needs(parent: str, *names: str) -> str:
    """CEL that is true when `parent.name1.name2...` is set and, for strings, non-empty."""
    steps = []
    path = parent
    for name in names:
        path = f"{path}.{name}"
        steps.append(f"has({path})")
    return " && ".join(steps)


RULE_KSERVE = Rule(
    cel=f"self.type != 'kserve' || ({_needs('self', 'inferenceServiceName')}"
    " && size(self.inferenceServiceName) > 0)",
    message="backend.type kserve needs backend.inferenceServiceName: set it to the name of "
    "the KServe InferenceService (in the SemanticRouter's namespace)",
)
RULE_LLAMASTACK = Rule(
    cel=f"self.type != 'llamastack' || ({_needs('self', 'discoveryLabels')}"
    " && size(self.discoveryLabels) > 0)",
    message="backend.type llamastack needs backend.discoveryLabels: set at least one label "
    "that selects the Llama Stack Service, e.g. {app: llama-stack}",
)
RULE_SERVICE = Rule(
    cel=f"self.type != 'service' || ({_needs('self', 'service', 'name')}"
    f" && size(self.service.name) > 0 && {_needs('self.service', 'port')})",
    message="backend.type service needs backend.service.name and backend.service.port: "
    "set them to the Kubernetes Service and the port it serves the model on",
)
RULE_AUTOSCALING_RANGE = Rule(
    cel="!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
    message="autoscaling.minReplicas must not exceed autoscaling.maxReplicas: "
    "lower minReplicas or raise maxReplicas",
)
RULE_REDIS_HOST = Rule(
    cel="!has(self.backend_type) || self.backend_type != 'redis' || ("
    + _needs("self", "redis", "connection", "host")
    + " && size(self.redis.connection.host) > 0)",
    message="semantic_cache.backend_type redis needs semantic_cache.redis.connection.host: "
    "set it to the Redis Service address, e.g. redis.default.svc.cluster.local",
)
RULE_MILVUS_HOST = Rule(
    cel="!has(self.backend_type) || self.backend_type != 'milvus' || ("
    + _needs("self", "milvus", "connection", "host")
    + " && size(self.milvus.connection.host) > 0)",
    message="semantic_cache.backend_type milvus needs semantic_cache.milvus.connection.host: "
    "set it to the Milvus Service address, e.g. milvus-standalone.default.svc.cluster.local",
)
RULE_HYBRID_MILVUS = Rule(
    cel="!has(self.backend_type) || self.backend_type != 'hybrid' || ("
    + _needs("self", "milvus", "connection", "host")
    + " && size(self.milvus.connection.host) > 0)",
    message="semantic_cache.backend_type hybrid keeps its entries in Milvus: "
    "set semantic_cache.milvus.connection.host to the Milvus Service address",
)
RULE_VALKEY_HOST = Rule(
    cel="!has(self.backend_type) || self.backend_type != 'valkey' || ("
    + _needs("self", "valkey", "connection", "host")
    + " && size(self.valkey.connection.host) > 0)",
    message="semantic_cache.backend_type valkey needs semantic_cache.valkey.connection.host: "
    "set it to the Valkey Service address, e.g. valkey.default.svc.cluster.local",
)
RULE_QDRANT_HOST = Rule(
    cel="!has(self.backend_type) || self.backend_type != 'qdrant' || ("
    + _needs("self", "qdrant", "host")
    + " && size(self.qdrant.host) > 0)",
    message="semantic_cache.backend_type qdrant needs semantic_cache.qdrant.host: "
    "set it to the Qdrant Service address, e.g. qdrant.default.svc.cluster.local",
)
RULE_CACHE_ONE_BACKEND = Rule(
    cel="(!has(self.redis) || (has(self.backend_type) && self.backend_type == 'redis'))"
    " && (!has(self.valkey) || (has(self.backend_type) && self.backend_type == 'valkey'))"
    " && (!has(self.qdrant) || (has(self.backend_type) && self.backend_type == 'qdrant'))"
    " && (!has(self.milvus) || (has(self.backend_type)"
    " && (self.backend_type == 'milvus' || self.backend_type == 'hybrid')))",
    message="semantic_cache holds a store block its backend_type does not use, which the router "
    "refuses at start-up: keep only redis (backend_type redis), valkey (valkey), qdrant "
    "(qdrant) or milvus (backend_type milvus or hybrid)",
)
RULE_MILVUS_NO_TLS = Rule(
    cel="!has(self.tls) || !has(self.tls.enabled) || !self.tls.enabled",
    message="semantic_cache.milvus.connection.tls is not supported: the router (v0.4.0) "
    "connects to Milvus in plain text; remove tls or set tls.enabled to false",
)
RULE_VALKEY_NO_TLS = Rule(
    cel="!has(self.tls) || !has(self.tls.enabled) || !self.tls.enabled",
    message="semantic_cache.valkey.connection.tls is not supported: the router (v0.4.0) "
    "connects to Valkey in plain text; remove tls or set tls.enabled to false",
)
RULE_REDIS_NO_TLS = Rule(
    cel="!has(self.tls) || !has(self.tls.enabled) || !self.tls.enabled",
    message="semantic_cache.redis.connection.tls is not supported: the router (v0.4.0) "
    "connects to Redis in plain text; remove tls or set tls.enabled to false",
)
RULE_EXISTING_CLAIM = Rule(
    cel="!has(self.existingClaim) || size(self.existingClaim) == 0 || ("
    "(!has(self.storageClassName) || size(self.storageClassName) == 0)"
    f" && (!has(self.size) || self.size == '{DEFAULT_PVC_SIZE}'))",
    message="persistence.existingClaim reuses a PVC, so persistence.storageClassName and "
    "persistence.size cannot apply: remove them, or remove existingClaim to create a new PVC",
)
RULE_PDB_EXCLUSIVE = Rule(
    cel="!has(self.minAvailable) || !has(self.maxUnavailable)",
    message="podDisruptionBudget takes minAvailable or maxUnavailable, not both: remove one",
)
RULE_UNIQUE_ENDPOINTS = Rule(
    cel="self.all(e, self.exists_one(f, f.name == e.name))",
    message="vllmEndpoints names must be unique: give each endpoint its own name",
)
RULE_PASSTHROUGH_INSECURE = Rule(
    cel="!has(self.termination) || self.termination != 'passthrough'"
    " || !has(self.insecureEdgeTerminationPolicy) || self.insecureEdgeTerminationPolicy != 'Allow'",
    message="openshift.routes.tls.termination passthrough cannot serve plain HTTP: "
    "set insecureEdgeTerminationPolicy to None or Redirect",
)

RULE_INGRESS_HOSTS = Rule(
    cel="!has(self.enabled) || !self.enabled || (has(self.hosts) && size(self.hosts) > 0)",
    message="ingress.enabled needs ingress.hosts: add at least one {host, paths}, "
    "or set ingress.enabled to false",
)

SELECTOR_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance")
"""The labels the chart's Deployment, Services and PodDisruptionBudget select pods by."""
RULE_POD_LABELS = Rule(
    cel=" && ".join(f"!('{key}' in self)" for key in SELECTOR_LABELS),
    message="podLabels cannot set app.kubernetes.io/name or app.kubernetes.io/instance: the "
    "Deployment and Services select the router's pods by them; use other label keys",
)
RULE_CLAIMS_DECLARED = Rule(
    cel="(!has(self.resources) || !has(self.resources.claims) || self.resources.claims.all(c, "
    "has(self.resourceClaims) && self.resourceClaims.exists(p, p.name == c.name)))"
    " && (!has(self.envoy) || !has(self.envoy.resources) || !has(self.envoy.resources.claims)"
    " || self.envoy.resources.claims.all(c, "
    "has(self.resourceClaims) && self.resourceClaims.exists(p, p.name == c.name)))",
    message="resources.claims names a claim that spec.resourceClaims does not declare: add "
    "{name, resourceClaimName or resourceClaimTemplateName} to spec.resourceClaims",
)
RULE_ONE_CLAIM_SOURCE = Rule(
    cel="has(self.resourceClaimName) != has(self.resourceClaimTemplateName)",
    message="a resourceClaims entry takes exactly one of resourceClaimName and "
    "resourceClaimTemplateName",
)

RULES: tuple[Rule, ...] = (
    RULE_KSERVE,
    RULE_LLAMASTACK,
    RULE_SERVICE,
    RULE_AUTOSCALING_RANGE,
    RULE_REDIS_HOST,
    RULE_MILVUS_HOST,
    RULE_HYBRID_MILVUS,
    RULE_VALKEY_HOST,
    RULE_QDRANT_HOST,
    RULE_CACHE_ONE_BACKEND,
    RULE_MILVUS_NO_TLS,
    RULE_REDIS_NO_TLS,
    RULE_VALKEY_NO_TLS,
    RULE_EXISTING_CLAIM,
    RULE_PDB_EXCLUSIVE,
    RULE_UNIQUE_ENDPOINTS,
    RULE_PASSTHROUGH_INSECURE,
    RULE_INGRESS_HOSTS,
    RULE_POD_LABELS,
    RULE_CLAIMS_DECLARED,
    RULE_ONE_CLAIM_SOURCE,
)


def _rules(*rules: Rule) -> dict[str, Any]:
    """json_schema_extra carrying CEL rules into the CRD."""
    return {"x-kubernetes-validations": [rule.as_validation() for rule in rules]}


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


def _quantity(value: int | str) -> int | str:
    if isinstance(value, bool):
        raise ValueError('must be a Kubernetes quantity such as 2, "500m" or "10Gi"')
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if not re.match(QUANTITY, value):
        raise ValueError(
            f'must be a Kubernetes quantity such as 2, "500m" or "10Gi", got {value!r}'
        )
    return value


Quantity = Annotated[
    int | str,
    AfterValidator(_quantity),
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY,
        }
    ),
]
"""A Kubernetes resource quantity: an integer or a string like "500m" or "7Gi"."""


def _int_or_percent(value: int | str) -> int | str:
    if isinstance(value, bool):
        raise ValueError('must be a number of pods such as 1 or a percentage such as "25%"')
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if not re.match(PERCENT, value):
        raise ValueError(
            f'must be a number of pods such as 1 or a percentage such as "25%", got {value!r}'
        )
    return value


IntOrPercent = Annotated[
    int | str,
    AfterValidator(_int_or_percent),
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": PERCENT,
        }
    ),
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
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=False,
    )

    def to_dict(self) -> dict[str, Any]:
        """The wire shape (aliases), without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _sub(model: type[BaseModel], description: str, alias: str | None = None) -> Any:
    """A nested object that is always present (its own defaults apply, CRD default {})."""
    return Field(
        default_factory=model,
        alias=alias,
        description=description,
        json_schema_extra={"default": {}},
    )


# --- image, service account, service --------------------------------------------------------


class ImageSpec(ApiModel):
    """Container image of the semantic router."""

    repository: str = Field(
        DEFAULT_IMAGE_REPOSITORY,
        min_length=1,
        description="Image repository, without tag.",
    )
    tag: str | None = Field(
        None,
        min_length=1,
        description="Image tag. Unset means the router version this operator release ships with "
        "(the chart's appVersion), so upgrades are deliberate; avoid `latest` in production.",
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", alias="pullPolicy", description="Kubernetes image pull policy."
    )
    image_registry: str | None = Field(
        None,
        alias="imageRegistry",
        description="Optional registry host prefixed to the repository (e.g. a mirror such as "
        "quay.example.com); empty keeps the repository as written.",
    )


class LocalObjectReference(ApiModel):
    """A reference to an object in the SemanticRouter's namespace."""

    name: DnsSubdomain = Field(description="Name of the object (e.g. an image pull Secret).")


class ServiceAccountSpec(ApiModel):
    """The ServiceAccount the router pods run as."""

    create: bool = Field(True, description="Create a ServiceAccount for the router.")
    name: DnsSubdomain | None = Field(
        None,
        description="ServiceAccount name; defaults to the release's full name when created, "
        "or to the namespace's `default` ServiceAccount when not.",
    )
    annotations: AnnotationMap | None = Field(
        None, description="Annotations on the created ServiceAccount (e.g. cloud IAM roles)."
    )


class GrpcPortSpec(ApiModel):
    """The ext_proc gRPC port of the router."""

    port: Port = Field(50051, description="Service port for gRPC (Envoy ext_proc) traffic.")
    target_port: Port = Field(
        50051, alias="targetPort", description="Container port of the router's gRPC server."
    )
    protocol: Literal["TCP"] | None = Field(
        None,
        description="Service port protocol; only TCP (the router serves TCP only), "
        "accepted as the upstream operator spells it.",
    )


class ApiPortSpec(ApiModel):
    """The router's HTTP API port (classification, health); the Service port `api`."""

    port: Port = Field(
        8080,
        description="Service port of the router's HTTP API (classification, health); the "
        "backend of the HTTPRoute in gateway mode. Chat traffic in standalone mode enters "
        "through the Envoy port `envoy-http` (spec.envoy.port, 8801).",
    )
    target_port: Port = Field(
        8080,
        alias="targetPort",
        description="Container port of the router's HTTP API server, in both modes (the "
        "Envoy sidecar listens on spec.envoy.port).",
    )
    protocol: Literal["TCP"] | None = Field(
        None,
        description="Service port protocol; only TCP (the router serves TCP only), "
        "accepted as the upstream operator spells it.",
    )


class MetricsPortSpec(ApiModel):
    """The Prometheus metrics port."""

    enabled: bool = Field(True, description="Expose the metrics port on the Service.")
    port: Port = Field(9190, description="Service port for Prometheus metrics.")
    target_port: Port = Field(
        9190, alias="targetPort", description="Container port of the metrics endpoint."
    )
    protocol: Literal["TCP"] | None = Field(
        None,
        description="Service port protocol; only TCP (the router serves TCP only), "
        "accepted as the upstream operator spells it.",
    )


class ServiceSpec(ApiModel):
    """The Service in front of the router pods."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field(
        "ClusterIP", description="Kubernetes Service type."
    )
    grpc: GrpcPortSpec = _sub(GrpcPortSpec, "gRPC (ext_proc) port, 50051 by default.")
    api: ApiPortSpec = _sub(ApiPortSpec, "HTTP API port, 8080 by default.")
    metrics: MetricsPortSpec = _sub(MetricsPortSpec, "Metrics port, 9190 by default.")


# --- resources, persistence, scaling, probes -------------------------------------------------


class ResourceClaim(ApiModel):
    """A dynamic resource allocation claim the container uses (core/v1 ResourceClaim)."""

    name: DnsLabel = Field(description="Name of an entry of the pod's resourceClaims.")
    request: str | None = Field(
        None, min_length=1, description="One request of that claim; unset uses all of them."
    )


class PodResourceClaim(ApiModel):
    """A dynamic resource claim of the pod (core/v1 PodResourceClaim)."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_ONE_CLAIM_SOURCE))

    name: DnsLabel = Field(description="Name the containers' resources.claims use.")
    resource_claim_name: DnsSubdomain | None = Field(
        None, alias="resourceClaimName", description="An existing ResourceClaim to share."
    )
    resource_claim_template_name: DnsSubdomain | None = Field(
        None,
        alias="resourceClaimTemplateName",
        description="A ResourceClaimTemplate: each pod gets its own claim made from it.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> PodResourceClaim:
        if (self.resource_claim_name is None) == (self.resource_claim_template_name is None):
            raise ValueError(RULE_ONE_CLAIM_SOURCE.message)
        return self


class ResourceRequirements(ApiModel):
    """Compute resources of the router container (core/v1 ResourceRequirements)."""

    limits: dict[str, Quantity] | None = Field(
        None, description='Maximum resources, e.g. {cpu: "2", memory: 7Gi}.'
    )
    requests: dict[str, Quantity] | None = Field(
        None, description='Guaranteed resources, e.g. {cpu: "1", memory: 3Gi}.'
    )
    claims: list[ResourceClaim] | None = Field(
        None,
        max_length=MAX_CLAIMS,
        description="Dynamic resource claims (e.g. a GPU through DRA) the container uses, "
        "by the name of an entry of spec.resourceClaims; Kubernetes 1.31 and later.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


class PersistenceSpec(ApiModel):
    """A PersistentVolumeClaim holding the router's ML models across restarts."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_EXISTING_CLAIM))

    enabled: bool = Field(True, description="Store models on a PVC (otherwise on an emptyDir).")
    storage_class_name: str | None = Field(
        None,
        alias="storageClassName",
        max_length=253,
        description="StorageClass of the new PVC; omit to use the cluster's default StorageClass.",
    )
    access_mode: Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] = (
        Field("ReadWriteOnce", alias="accessMode", description="Access mode of the new PVC.")
    )
    size: str = Field(
        DEFAULT_PVC_SIZE,
        max_length=64,
        pattern=STORAGE_SIZE,
        description="Requested size of the new PVC, e.g. 10Gi.",
    )
    existing_claim: str | None = Field(
        None,
        alias="existingClaim",
        max_length=253,
        description="Use this existing PVC instead of creating one; storageClassName and size "
        "must then be left unset.",
    )
    annotations: AnnotationMap | None = Field(
        None, description="Annotations on the created PVC (e.g. backup.velero.io/backup-volumes)."
    )

    @model_validator(mode="after")
    def _existing_claim_alone(self) -> PersistenceSpec:
        if self.existing_claim and (self.storage_class_name or self.size != DEFAULT_PVC_SIZE):
            raise ValueError(RULE_EXISTING_CLAIM.message)
        return self


class AutoscalingSpec(ApiModel):
    """A HorizontalPodAutoscaler for the router Deployment."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_AUTOSCALING_RANGE))

    enabled: bool = Field(
        False, description="Create a HorizontalPodAutoscaler (replaces spec.replicas)."
    )
    min_replicas: int = Field(1, alias="minReplicas", ge=1, description="Lowest replica count.")
    max_replicas: int = Field(10, alias="maxReplicas", ge=1, description="Highest replica count.")
    target_cpu_utilization_percentage: int | None = Field(
        80,
        alias="targetCPUUtilizationPercentage",
        ge=1,
        le=100,
        description="Average CPU utilisation (percent of requests) the HPA aims for.",
    )
    target_memory_utilization_percentage: int | None = Field(
        None,
        alias="targetMemoryUtilizationPercentage",
        ge=1,
        le=100,
        description="Average memory utilisation (percent of requests) the HPA aims for; unset "
        "scales on CPU only.",
    )

    @model_validator(mode="after")
    def _range(self) -> AutoscalingSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(RULE_AUTOSCALING_RANGE.message)
        return self


class ProbeSpec(ApiModel):
    """A TCP probe of the router's ext_proc port, which opens once models are loaded; unset
    timings use the chart's."""

    enabled: bool = Field(True, description="Run this probe.")
    initial_delay_seconds: int | None = Field(
        None,
        alias="initialDelaySeconds",
        ge=0,
        description="Seconds after start before the first probe.",
    )
    period_seconds: int | None = Field(
        None, alias="periodSeconds", ge=1, description="Seconds between probes."
    )
    timeout_seconds: int | None = Field(
        None, alias="timeoutSeconds", ge=1, description="Seconds before a probe times out."
    )
    failure_threshold: int | None = Field(
        None,
        alias="failureThreshold",
        ge=1,
        description="Consecutive failures before the probe fails.",
    )


class PodDisruptionBudgetSpec(ApiModel):
    """A PodDisruptionBudget keeping router pods available during voluntary disruptions."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_PDB_EXCLUSIVE))

    enabled: bool = Field(False, description="Create a PodDisruptionBudget.")
    min_available: IntOrPercent | None = Field(
        None,
        alias="minAvailable",
        description='Pods that must stay available: a count or a percentage such as "50%".',
    )
    max_unavailable: IntOrPercent | None = Field(
        None,
        alias="maxUnavailable",
        description='Pods that may be unavailable: a count or a percentage such as "25%"; '
        "when neither field is set the chart uses maxUnavailable 1.",
    )

    @model_validator(mode="after")
    def _exclusive(self) -> PodDisruptionBudgetSpec:
        if self.min_available is not None and self.max_unavailable is not None:
            raise ValueError(RULE_PDB_EXCLUSIVE.message)
        return self


class ServiceMonitorSpec(ApiModel):
    """A Prometheus Operator ServiceMonitor scraping the metrics port."""

    enabled: bool = Field(
        False, description="Create a ServiceMonitor (needs the Prometheus Operator CRDs)."
    )
    interval: str = Field(
        "30s", pattern=PROMETHEUS_DURATION, description="Scrape interval, e.g. 30s."
    )
    scrape_timeout: str | None = Field(
        None,
        alias="scrapeTimeout",
        pattern=PROMETHEUS_DURATION,
        description="Scrape timeout, e.g. 10s; must not exceed interval.",
    )
    labels: LabelMap | None = Field(
        None,
        description="Extra labels on the ServiceMonitor, e.g. the label your Prometheus selects.",
    )


# --- networking: gateway, OpenShift routes, ingress -----------------------------------------


class GatewayReference(ApiModel):
    """An existing Gateway API Gateway."""

    name: DnsSubdomain = Field(description="Name of the Gateway.")
    namespace: DnsLabel | None = Field(
        None, description="Namespace of the Gateway; defaults to the SemanticRouter's namespace."
    )


class GatewaySpec(ApiModel):
    """Gateway integration mode: attach an HTTPRoute to an existing Gateway, no Envoy sidecar."""

    existing_ref: GatewayReference | None = Field(
        None,
        alias="existingRef",
        description="The Gateway to attach to. Set it for gateway-integration mode; leave "
        "unset for standalone mode (Envoy sidecar).",
    )
    hostnames: list[Annotated[str, Field(max_length=253, pattern=HOSTNAME)]] | None = Field(
        None,
        max_length=16,
        description="Host names the HTTPRoute matches (e.g. router.example.com or "
        "*.example.com); unset matches every host of the Gateway listener.",
    )


class RouteTLSSpec(ApiModel):
    """TLS settings of the OpenShift Route."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_PASSTHROUGH_INSECURE))

    termination: Literal["edge", "passthrough", "reencrypt"] = Field(
        "edge",
        description="Where TLS ends: edge (at the router, plain HTTP to the pods), passthrough "
        "(at the pods), reencrypt (at the router, then TLS again to the pods).",
    )
    insecure_edge_termination_policy: Literal["None", "Allow", "Redirect"] = Field(
        "Redirect",
        alias="insecureEdgeTerminationPolicy",
        description="What plain HTTP gets: None (refused), Allow (served), Redirect (to HTTPS).",
    )

    @model_validator(mode="after")
    def _passthrough(self) -> RouteTLSSpec:
        if self.termination == "passthrough" and self.insecure_edge_termination_policy == "Allow":
            raise ValueError(RULE_PASSTHROUGH_INSECURE.message)
        return self


class RoutesSpec(ApiModel):
    """An OpenShift Route in front of the Service: the Envoy port in standalone mode, the
    API port in gateway mode."""

    enabled: bool = Field(
        False,
        description="Create a Route. Needs OpenShift: on a cluster without the Route API the "
        "SemanticRouter is refused (reason RoutesNeedOpenShift); use ingress there.",
    )
    hostname: DnsSubdomain | None = Field(
        None,
        description="Route host; OpenShift generates <name>-<namespace>.<apps domain> if omitted.",
    )
    tls: RouteTLSSpec | None = Field(
        None, description="TLS termination; omit for a plain HTTP Route."
    )


class OpenShiftSpec(ApiModel):
    """OpenShift-only features."""

    routes: RoutesSpec | None = Field(None, description="OpenShift Route for external access.")


class IngressPath(ApiModel):
    """One path of an Ingress host."""

    path: str = Field("/", min_length=1, description="URL path prefix, e.g. /.")
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = Field(
        "Prefix", alias="pathType", description="How the path matches."
    )
    service_port: Port | None = Field(
        None,
        alias="servicePort",
        description="Service port the path routes to; defaults to the Envoy port "
        "(envoy-http) in standalone mode, the API port in gateway mode.",
    )


class IngressHost(ApiModel):
    """One host of the Ingress."""

    host: str = Field(
        min_length=1,
        max_length=253,
        pattern=HOSTNAME,
        description="Host name, e.g. router.example.com, or a wildcard such as *.example.com.",
    )
    paths: list[IngressPath] | None = Field(
        None, description="Paths of this host; defaults to / (Prefix)."
    )


class IngressTLS(ApiModel):
    """A TLS certificate for some Ingress hosts."""

    secret_name: DnsSubdomain | None = Field(
        None, alias="secretName", description="Secret holding the certificate (kubernetes.io/tls)."
    )
    hosts: list[Annotated[str, Field(max_length=253, pattern=HOSTNAME)]] | None = Field(
        None, description="Hosts the certificate covers (wildcards such as *.example.com too)."
    )


class IngressSpec(ApiModel):
    """A Kubernetes Ingress in front of the API port."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_INGRESS_HOSTS))

    enabled: bool = Field(False, description="Create an Ingress.")
    class_name: str | None = Field(
        None, alias="className", description="IngressClass, e.g. nginx, haproxy or traefik."
    )
    annotations: AnnotationMap | None = Field(
        None, description="Ingress annotations, e.g. cert-manager.io/cluster-issuer."
    )
    hosts: list[IngressHost] | None = Field(
        None, max_length=64, description="Hosts and paths routed to the router."
    )
    tls: list[IngressTLS] | None = Field(None, description="TLS certificates.")

    @model_validator(mode="after")
    def _hosts_when_enabled(self) -> IngressSpec:
        if self.enabled and not self.hosts:
            raise ValueError(RULE_INGRESS_HOSTS.message)
        return self


# --- the Envoy sidecar (standalone mode) -----------------------------------------------------


class EnvoyImageSpec(ApiModel):
    """Image of the Envoy sidecar; unset fields keep the chart's pinned Envoy release."""

    repository: str | None = Field(
        None, min_length=1, description="Image repository, e.g. envoyproxy/envoy."
    )
    tag: str | None = Field(None, min_length=1, description="Image tag, e.g. v1.40.0.")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, alias="pullPolicy", description="Kubernetes image pull policy."
    )
    image_registry: str | None = Field(
        None,
        alias="imageRegistry",
        description="Optional registry host prefixed to the repository (e.g. a mirror).",
    )


ENVOY_DURATION_MAX = 315_576_000_000
"""Longest duration Envoy's config takes (protobuf Duration), in seconds."""


def duration_seconds(text: str) -> float:
    """Seconds of a DURATION string such as 1h30m or 500ms."""
    factors = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(
        float(number) * factors[unit]
        for number, unit in re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", text)
    )


def _envoy_duration(
    text: str | None, *, above: float = -1.0, most: float = ENVOY_DURATION_MAX
) -> str | None:
    """`text` when Envoy takes it as this setting: more than `above`, at most `most` seconds."""
    if text is None:
        return None
    seconds = duration_seconds(text)
    if seconds > most:
        raise ValueError(f"{text} is longer than Envoy allows here ({most:g}s at most)")
    if seconds <= above:
        raise ValueError(f"{text} is too short: Envoy needs more than {above:g}s here")
    return text


class EnvoyExtProcSpec(ApiModel):
    """How Envoy calls the router (ext_proc)."""

    failure_mode_allow: bool | None = Field(
        None,
        alias="failureModeAllow",
        description="true lets requests through when the router fails (fail open): they skip "
        "the router and go to the default model; the default false fails them with 5xx, so "
        "guards and routing are never silently skipped.",
    )
    message_timeout: str | None = Field(
        None,
        alias="messageTimeout",
        pattern=DURATION,
        description="Time the router has for each ext_proc message (one step, not the whole "
        "chat); 1200s by default, as in the router's reference Envoy config.",
    )

    @field_validator("message_timeout")
    @classmethod
    def _message_timeout(cls, value: str | None) -> str | None:
        return _envoy_duration(value, most=3600)


class ConfigMapKeyRef(ApiModel):
    """A key of a ConfigMap in the SemanticRouter's namespace."""

    name: DnsSubdomain = Field(description="ConfigMap name, e.g. openshift-service-ca.crt.")
    key: str = Field(
        "ca.crt",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key in the ConfigMap.",
    )


class EnvoyUpstreamTLSSpec(ApiModel):
    """How Envoy verifies https model backends (such as KServe predictors on 8443)."""

    ca_file: str | None = Field(
        None, alias="caFile", min_length=1, description="CA bundle path inside the Envoy image."
    )
    ca_config_map: ConfigMapKeyRef | None = Field(
        None,
        alias="caConfigMap",
        description="ConfigMap holding the CA that signed the backends' certificates; overrides "
        "caFile. On OpenShift: {name: openshift-service-ca.crt, key: service-ca.crt}.",
    )


class EnvoySpec(ApiModel):
    """The Envoy sidecar of standalone mode; unset fields keep the chart's defaults.

    Envoy routes on the x-selected-model header the router sets; a request without a router
    selection goes to the default model, or gets a 404 JSON error when there is none."""

    image: EnvoyImageSpec | None = Field(None, description="Envoy image.")
    port: Port | None = Field(None, description="Envoy listener port (8801 by default).")
    admin_port: Port | None = Field(
        None, alias="adminPort", description="Envoy admin port, bound to 127.0.0.1 only."
    )
    log_level: (
        Literal["trace", "debug", "info", "warning", "warn", "error", "critical", "off"] | None
    ) = Field(None, alias="logLevel", description="Envoy log level.")
    access_log: bool | None = Field(
        None, alias="accessLog", description="Log every request to stdout."
    )
    route_timeout: str | None = Field(
        None,
        alias="routeTimeout",
        pattern=DURATION,
        description="Upstream request timeout, e.g. 300s.",
    )
    stream_idle_timeout: str | None = Field(
        None,
        alias="streamIdleTimeout",
        pattern=DURATION,
        description="Idle timeout of a stream, e.g. 300s.",
    )
    upstream_connect_timeout: str | None = Field(
        None,
        alias="upstreamConnectTimeout",
        pattern=DURATION,
        description="Connect timeout to model backends, e.g. 10s.",
    )
    buffer_limit_bytes: int | None = Field(
        None,
        alias="bufferLimitBytes",
        ge=65536,
        description="Per-connection buffer limit; caps the bodies ext_proc sees.",
    )
    ext_proc: EnvoyExtProcSpec | None = Field(
        None, alias="extProc", description="ext_proc settings."
    )
    upstream_tls: EnvoyUpstreamTLSSpec | None = Field(
        None, alias="upstreamTls", description="Verification of https model backends."
    )
    resources: ResourceRequirements | None = Field(None, description="Envoy container resources.")
    security_context: FreeForm | None = Field(
        None,
        alias="securityContext",
        description="Envoy container securityContext (core/v1), merged over the hardened "
        "defaults like spec.securityContext.",
    )

    @field_validator("route_timeout", "stream_idle_timeout")
    @classmethod
    def _timeouts(cls, value: str | None) -> str | None:
        return _envoy_duration(value)

    @field_validator("upstream_connect_timeout")
    @classmethod
    def _connect_timeout(cls, value: str | None) -> str | None:
        return _envoy_duration(value, above=0)


# --- pod-level settings -----------------------------------------------------------------------


class Toleration(ApiModel):
    """A core/v1 Toleration."""

    key: str | None = Field(
        None, description="Taint key the toleration applies to; empty matches all keys."
    )
    operator: Literal["Exists", "Equal"] | None = Field(
        None, description="Exists or Equal (default Equal)."
    )
    value: str | None = Field(None, description="Taint value to match (with operator Equal).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to match; empty matches all effects."
    )
    toleration_seconds: int | None = Field(
        None, alias="tolerationSeconds", description="How long a NoExecute taint is tolerated."
    )


class EnvVar(ApiModel):
    """An environment variable of the router container (core/v1 EnvVar)."""

    name: str = Field(
        min_length=1, pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$", description="Variable name."
    )
    value: str | None = Field(
        None, description="Literal value. Never put a secret here: use valueFrom.secretKeyRef."
    )
    value_from: FreeForm | None = Field(
        None,
        alias="valueFrom",
        description="Source of the value (core/v1 EnvVarSource), e.g. "
        "{secretKeyRef: {name: hf-token-secret, key: token}}.",
    )


# --- router configuration (snake_case, as the router spells it) ------------------------------


class ConfigModel(BaseModel):
    """Base of the router configuration sections: keys are the router's own (snake_case)."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    def to_dict(self) -> dict[str, Any]:
        """The wire shape, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ClassifierModelConfig(ConfigModel):
    """A classification model."""

    model_id: str | None = Field(
        None, description="Model path or id, e.g. models/mom-embedding-light."
    )
    threshold: Ratio | None = Field(
        None, description='Confidence threshold, 0 to 1 (0.6 or "0.6").'
    )
    use_cpu: bool | None = Field(None, description="Run the model on CPU.")


class BertModelConfig(ClassifierModelConfig):
    """The embedding model used for similarity (semantic cache, tool selection)."""


class PromptGuardConfig(ClassifierModelConfig):
    """Jailbreak detection on incoming prompts."""

    enabled: bool | None = Field(None, description="Turn jailbreak detection on.")
    use_modernbert: bool | None = Field(
        None, description="The model is a ModernBERT classifier (dropped: v0.3 uses variant)."
    )
    jailbreak_mapping_path: str | None = Field(None, description="Path of the label mapping JSON.")
    variant: Literal["candle", "mmbert32k"] | None = Field(
        None,
        description="Classifier family of model_id: candle (BERT/LoRA, e.g. "
        "mom-jailbreak-classifier) or mmbert32k (the router's bundled mmBERT-32K guard).",
    )
    protocol: Literal["http_chat", "http_classify"] | None = Field(
        None,
        description="Remote guard protocol of the upstream operator. The router (v0.4.0) has "
        "no such setting: a non-empty value is refused with the fix (name a guardrail model "
        "under global.model_catalog.external and set backend).",
    )
    on_error: Literal["allow", "block"] | None = Field(
        None, description="What a request gets when the guard fails: allow (fail open) or block."
    )
    positive_labels: list[str] | None = Field(
        None, description="Classifier labels that count as a jailbreak, e.g. [jailbreak]."
    )


class CategoryModelConfig(ClassifierModelConfig):
    """The intent (category) classifier."""

    use_modernbert: bool | None = Field(None, description="The model is a ModernBERT classifier.")
    category_mapping_path: str | None = Field(
        None, description="Path of the category mapping JSON."
    )
    fallback_category: str | None = Field(
        None, description="Category used when confidence is too low."
    )


class PIIModelConfig(ClassifierModelConfig):
    """The PII token classifier."""

    use_modernbert: bool | None = Field(None, description="The model is a ModernBERT classifier.")
    pii_mapping_path: str | None = Field(None, description="Path of the PII type mapping JSON.")


class ClassifierConfig(ConfigModel):
    """Request classifiers."""

    category_model: CategoryModelConfig | None = Field(
        None, description="Intent/category classifier."
    )
    pii_model: PIIModelConfig | None = Field(None, description="PII detector.")


class SecretKeyRef(ConfigModel):
    """A key of a Secret in the SemanticRouter's namespace. The value is never read by the
    operator: it reaches the router as an environment variable bound with secretKeyRef."""

    name: DnsSubdomain = Field(description="Secret name.")
    key: str = Field(
        min_length=1, max_length=253, pattern=SECRET_KEY, description="Key in the Secret."
    )
    optional: bool | None = Field(
        None,
        description="true starts the router even when the Secret or key is missing (the "
        "credential is then empty); by default the pod waits for the Secret.",
    )


class CacheTLSConfig(ConfigModel):
    """TLS to the cache backend."""

    enabled: bool | None = Field(None, description="Connect with TLS.")
    cert_file: str | None = Field(None, description="Client certificate path inside the pod.")
    key_file: str | None = Field(None, description="Client key path inside the pod.")
    ca_file: str | None = Field(None, description="CA bundle path inside the pod.")


class RedisConnection(ConfigModel):
    """How the router reaches Redis."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_REDIS_NO_TLS))

    host: str | None = Field(
        None,
        max_length=253,
        description="Redis host, e.g. redis.default.svc.cluster.local (required).",
    )
    port: Port | None = Field(None, description="Redis port (6379 when unset).")
    database: int | None = Field(None, ge=0, description="Redis database number.")
    password_secret_ref: SecretKeyRef | None = Field(
        None, description="Secret key holding the Redis password (no plain password field exists)."
    )
    timeout: int | None = Field(None, ge=0, description="Operation timeout in seconds.")
    tls: CacheTLSConfig | None = Field(
        None, description="TLS settings; not supported by the router (v0.4.0): keep it disabled."
    )

    @model_validator(mode="after")
    def _no_tls(self) -> RedisConnection:
        if self.tls and self.tls.enabled:
            raise ValueError(RULE_REDIS_NO_TLS.message)
        return self


class VectorField(ConfigModel):
    """The vector field storing embeddings."""

    name: str | None = Field(None, description="Field name, e.g. embedding.")
    dimension: int | None = Field(
        None, ge=1, description="Embedding size: 384 for bert, 768 for gemma, 1024 for qwen3."
    )
    metric_type: Literal["COSINE", "IP", "L2"] | None = Field(
        None, description="Similarity metric: COSINE, IP (inner product) or L2."
    )


IndexParams = Annotated[
    dict[str, int],
    Field(description="Index parameters, e.g. {M: 16, efConstruction: 64} for HNSW."),
]


class RedisIndex(ConfigModel):
    """The Redis vector index."""

    name: str | None = Field(None, description="Index name, e.g. semantic_cache_idx.")
    prefix: str | None = Field(None, description='Key prefix, e.g. "cache:".')
    vector_field: VectorField | None = Field(None, description="Vector field settings.")
    index_type: Literal["HNSW", "FLAT"] | None = Field(None, description="Index algorithm.")
    params: IndexParams | None = None


class RedisSearch(ConfigModel):
    """Redis search settings."""

    topk: int | None = Field(None, ge=1, description="Nearest entries to consider.")


class RedisDevelopment(ConfigModel):
    """Development conveniences."""

    drop_index_on_startup: bool | None = Field(
        None, description="Drop the index at start (tests only)."
    )
    auto_create_index: bool | None = Field(None, description="Create the index if missing.")
    verbose_errors: bool | None = Field(None, description="Log detailed errors.")


class RedisCacheConfig(ConfigModel):
    """Redis (with RediSearch) as the semantic cache store. Redis is not deployed for you."""

    connection: RedisConnection | None = Field(None, description="Connection settings.")
    index: RedisIndex | None = Field(None, description="Vector index settings.")
    search: RedisSearch | None = Field(None, description="Search settings.")
    development: RedisDevelopment | None = Field(None, description="Development settings.")


class ValkeyConnection(RedisConnection):
    """How the router reaches Valkey."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_VALKEY_NO_TLS))

    host: str | None = Field(
        None,
        max_length=253,
        description="Valkey host, e.g. valkey.default.svc.cluster.local (required).",
    )
    password_secret_ref: SecretKeyRef | None = Field(
        None,
        description="Secret key holding the Valkey password (no plain password field exists).",
    )

    @model_validator(mode="after")
    def _no_tls(self) -> ValkeyConnection:
        if self.tls and self.tls.enabled:
            raise ValueError(RULE_VALKEY_NO_TLS.message)
        return self


class ValkeyCacheConfig(ConfigModel):
    """Valkey (with its search module) as the response cache store. Valkey is not deployed
    for you."""

    connection: ValkeyConnection | None = Field(None, description="Connection settings.")
    index: RedisIndex | None = Field(None, description="Vector index settings.")
    search: RedisSearch | None = Field(None, description="Search settings.")
    development: RedisDevelopment | None = Field(None, description="Development settings.")


class QdrantCacheConfig(ConfigModel):
    """Qdrant as the response cache store. Qdrant is not deployed for you."""

    host: str | None = Field(
        None,
        max_length=253,
        description="Qdrant host, e.g. qdrant.default.svc.cluster.local (required).",
    )
    port: Port | None = Field(None, description="Qdrant gRPC port (6334 when unset).")
    api_key: str | None = Field(
        None,
        description='Only "" or a ${ENV} reference: a literal key would land in a ConfigMap; '
        "use api_key_secret_ref.",
    )
    api_key_secret_ref: SecretKeyRef | None = Field(
        None,
        description="Secret key holding the Qdrant API key; it reaches the router as an "
        "environment variable bound with secretKeyRef.",
    )
    use_tls: bool | None = Field(None, description="Connect to Qdrant with TLS.")
    collection_name: str | None = Field(None, description="Collection, e.g. semantic_cache.")
    connect_timeout: int | None = Field(None, ge=0, description="Connect timeout in seconds.")


class MilvusAuth(ConfigModel):
    """Milvus authentication."""

    enabled: bool | None = Field(None, description="Authenticate to Milvus.")
    username: str | None = Field(None, description="Milvus user, e.g. root.")
    password_secret_ref: SecretKeyRef | None = Field(
        None, description="Secret key holding the Milvus password (no plain password field exists)."
    )


class MilvusConnection(ConfigModel):
    """How the router reaches Milvus."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_MILVUS_NO_TLS))

    host: str | None = Field(
        None,
        max_length=253,
        description="Milvus host, e.g. milvus-standalone.default.svc.cluster.local (required).",
    )
    port: Port | None = Field(None, description="Milvus port (19530 when unset).")
    database: str | None = Field(
        None,
        max_length=255,
        description="Milvus database. The router (v0.4.0) always uses `default`: another "
        "value is accepted and left out of the router configuration.",
    )
    timeout: int | None = Field(None, ge=0, description="Operation timeout in seconds.")
    auth: MilvusAuth | None = Field(
        None,
        description="Authentication. The router (v0.4.0) connects to Milvus without "
        "credentials: auth is accepted and left out of the router configuration (no Secret is "
        "read); restrict access to Milvus with a NetworkPolicy.",
    )
    tls: CacheTLSConfig | None = Field(
        None, description="TLS settings; not supported by the router (v0.4.0): keep it disabled."
    )

    @model_validator(mode="after")
    def _router_supports(self) -> MilvusConnection:
        if self.tls and self.tls.enabled:
            raise ValueError(RULE_MILVUS_NO_TLS.message)
        return self


class MilvusIndex(ConfigModel):
    """The Milvus collection index."""

    type: Literal["HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "FLAT", "AUTOINDEX"] | None = Field(
        None, description="Index algorithm."
    )
    params: IndexParams | None = None


class MilvusCollection(ConfigModel):
    """The Milvus collection holding cache entries."""

    name: str | None = Field(None, description="Collection name, e.g. semantic_cache.")
    description: str | None = Field(None, description="Collection description.")
    vector_field: VectorField | None = Field(None, description="Vector field settings.")
    index: MilvusIndex | None = Field(None, description="Index settings.")


class MilvusSearch(ConfigModel):
    """Milvus search settings."""

    params: dict[str, int] | None = Field(None, description="Search parameters, e.g. {ef: 64}.")
    topk: int | None = Field(None, ge=1, description="Nearest entries to consider.")
    consistency_level: Literal["Strong", "Session", "Bounded", "Eventually"] | None = Field(
        None, description="Read consistency."
    )


class MilvusConnectionPool(ConfigModel):
    """Connection pool sizing."""

    max_connections: int | None = Field(None, ge=1, description="Pool size.")
    max_idle_connections: int | None = Field(None, ge=0, description="Idle connections kept.")
    acquire_timeout: int | None = Field(None, ge=0, description="Seconds to wait for a connection.")


class MilvusBatch(ConfigModel):
    """Batch operation settings."""

    insert_batch_size: int | None = Field(None, ge=1, description="Entries per insert batch.")
    timeout: int | None = Field(None, ge=0, description="Batch timeout in seconds.")


class MilvusPerformance(ConfigModel):
    """Performance tuning."""

    connection_pool: MilvusConnectionPool | None = Field(None, description="Connection pool.")
    batch: MilvusBatch | None = Field(None, description="Batching.")


class MilvusTTL(ConfigModel):
    """Expiry of cache entries in Milvus."""

    enabled: bool | None = Field(None, description="Expire old entries.")
    timestamp_field: str | None = Field(None, description="Timestamp field, e.g. created_at.")
    cleanup_interval: int | None = Field(None, ge=0, description="Seconds between cleanups.")


class MilvusCompaction(ConfigModel):
    """Automatic compaction."""

    enabled: bool | None = Field(None, description="Compact periodically.")
    interval: int | None = Field(None, ge=0, description="Seconds between compactions.")


class MilvusDataManagement(ConfigModel):
    """Data lifecycle."""

    ttl: MilvusTTL | None = Field(None, description="Entry expiry.")
    compaction: MilvusCompaction | None = Field(None, description="Compaction.")


class MilvusDevelopment(ConfigModel):
    """Development conveniences."""

    drop_collection_on_startup: bool | None = Field(
        None, description="Drop the collection at start (tests only)."
    )
    auto_create_collection: bool | None = Field(
        None, description="Create the collection if missing."
    )
    verbose_errors: bool | None = Field(None, description="Log detailed errors.")


class MilvusCacheConfig(ConfigModel):
    """Milvus as the semantic cache store (also the persistent tier of the hybrid backend).
    Milvus is not deployed for you."""

    connection: MilvusConnection | None = Field(None, description="Connection settings.")
    collection: MilvusCollection | None = Field(None, description="Collection settings.")
    search: MilvusSearch | None = Field(None, description="Search settings.")
    performance: MilvusPerformance | None = Field(None, description="Performance tuning.")
    data_management: MilvusDataManagement | None = Field(None, description="Data lifecycle.")
    development: MilvusDevelopment | None = Field(None, description="Development settings.")


class HNSWConfig(ConfigModel):
    """The in-memory HNSW index (memory and hybrid backends)."""

    use_hnsw: bool | None = Field(None, description="Index cached entries with HNSW.")
    hnsw_m: int | None = Field(
        None, ge=2, description="Links per node; higher is better recall, more memory."
    )
    hnsw_ef_construction: int | None = Field(
        None, ge=1, description="Candidate list size while building."
    )
    max_memory_entries: int | None = Field(
        None, ge=0, description="Entries kept in memory (hybrid)."
    )


class SemanticCacheConfig(ConfigModel):
    """Semantic cache of responses to similar prompts."""

    model_config = ConfigDict(
        json_schema_extra=_rules(
            RULE_REDIS_HOST,
            RULE_VALKEY_HOST,
            RULE_QDRANT_HOST,
            RULE_MILVUS_HOST,
            RULE_HYBRID_MILVUS,
            RULE_CACHE_ONE_BACKEND,
        )
    )

    enabled: bool | None = Field(None, description="Turn the semantic cache on.")
    backend_type: Literal["memory", "redis", "valkey", "milvus", "qdrant", "hybrid"] = Field(
        "memory",
        description="Where entries live: memory (in the pod), redis, valkey, milvus, qdrant, "
        "or hybrid (in-memory HNSW over Milvus).",
    )
    similarity_threshold: Ratio | None = Field(
        None, description='Similarity needed for a cache hit, 0 to 1 (0.8 or "0.8").'
    )
    max_entries: int | None = Field(
        None,
        ge=0,
        description="Maximum cached entries (memory); left out for hybrid, which caps its "
        "in-memory index itself.",
    )
    ttl_seconds: int | None = Field(None, ge=0, description="Entry lifetime in seconds.")
    eviction_policy: Literal["fifo", "lru", "lfu"] | None = Field(
        None, description="Eviction order of the memory backend."
    )
    embedding_model: str | None = Field(
        None,
        max_length=63,
        description="Embedding model for similarity: bert (384 dimensions), qwen3 (1024) or "
        "gemma (768); match the vector dimension of the store.",
    )
    hnsw: HNSWConfig | None = Field(None, description="In-memory HNSW index settings.")
    redis: RedisCacheConfig | None = Field(None, description="Redis store (backend_type redis).")
    valkey: ValkeyCacheConfig | None = Field(
        None, description="Valkey store (backend_type valkey)."
    )
    qdrant: QdrantCacheConfig | None = Field(
        None, description="Qdrant store (backend_type qdrant)."
    )
    milvus: MilvusCacheConfig | None = Field(
        None, description="Milvus store (backend_type milvus or hybrid)."
    )

    @model_validator(mode="after")
    def _backend_has_host(self) -> SemanticCacheConfig:
        redis_host = self.redis and self.redis.connection and self.redis.connection.host
        valkey_host = self.valkey and self.valkey.connection and self.valkey.connection.host
        milvus_host = self.milvus and self.milvus.connection and self.milvus.connection.host
        if self.backend_type == "redis" and not redis_host:
            raise ValueError(RULE_REDIS_HOST.message)
        if self.backend_type == "valkey" and not valkey_host:
            raise ValueError(RULE_VALKEY_HOST.message)
        if self.backend_type == "qdrant" and not (self.qdrant and self.qdrant.host):
            raise ValueError(RULE_QDRANT_HOST.message)
        if self.backend_type == "milvus" and not milvus_host:
            raise ValueError(RULE_MILVUS_HOST.message)
        if self.backend_type == "hybrid" and not milvus_host:
            raise ValueError(RULE_HYBRID_MILVUS.message)
        stray = [
            name
            for name, block in (
                ("redis", self.redis),
                ("valkey", self.valkey),
                ("qdrant", self.qdrant),
            )
            if block is not None and self.backend_type != name
        ]
        if stray or (self.milvus is not None and self.backend_type not in ("milvus", "hybrid")):
            raise ValueError(RULE_CACHE_ONE_BACKEND.message)
        return self


class ToolsConfig(ConfigModel):
    """Automatic tool selection from spec.toolsDb."""

    enabled: bool | None = Field(None, description="Select tools for each request.")
    top_k: int | None = Field(None, ge=1, description="Tools added per request.")
    similarity_threshold: Ratio | None = Field(
        None, description='Similarity a tool needs to be chosen, 0 to 1 (0.2 or "0.2").'
    )
    tools_db_path: str | None = Field(
        None,
        description="Path of the tools database in the pod; the chart mounts spec.toolsDb there.",
    )
    fallback_to_empty: bool | None = Field(
        None, description="Send no tools rather than fail when none match."
    )


class ReasoningFamily(ConfigModel):
    """How a model family turns reasoning on."""

    type: Literal["chat_template_kwargs", "reasoning_effort"] = Field(
        description="chat_template_kwargs (a template flag) or reasoning_effort (an API field)."
    )
    parameter: str = Field(min_length=1, description="Flag or field name, e.g. enable_thinking.")


class BatchMetricsConfig(ConfigModel):
    """Metrics of the batch classification API."""

    enabled: bool | None = Field(None, description="Record batch metrics.")
    detailed_goroutine_tracking: bool | None = Field(
        None, description="Track goroutines in detail."
    )
    high_resolution_timing: bool | None = Field(None, description="Use high resolution timers.")
    sample_rate: Ratio | None = Field(None, description="Fraction of batches measured, 0 to 1.")
    duration_buckets: list[NumberOrText] | None = Field(
        None,
        description='Histogram buckets in seconds, as numbers or numeric strings ("0.005"); '
        "the router gets numbers.",
    )
    size_buckets: list[int] | None = Field(None, description="Histogram buckets (batch sizes).")


class BatchClassificationConfig(ConfigModel):
    """The batch classification API."""

    max_batch_size: int | None = Field(None, ge=1, description="Largest batch accepted.")
    concurrency_threshold: int | None = Field(
        None, ge=0, description="Batch size from which work runs concurrently."
    )
    max_concurrency: int | None = Field(None, ge=1, description="Concurrent workers.")
    metrics: BatchMetricsConfig | None = Field(None, description="Batch metrics.")


class ApiConfig(ConfigModel):
    """The router's classification API."""

    batch_classification: BatchClassificationConfig | None = Field(
        None, description="Batch classification."
    )


class TracingExporter(ConfigModel):
    """Where spans go."""

    type: str | None = Field(None, description="Exporter: otlp or stdout.")
    endpoint: str | None = Field(None, description="Collector address, e.g. jaeger-collector:4317.")
    insecure: bool | None = Field(None, description="Send without TLS.")


class TracingSampling(ConfigModel):
    """Which requests are traced."""

    type: str | None = Field(None, description="always_on, always_off or probabilistic.")
    rate: Ratio | None = Field(None, description="Sampled fraction for probabilistic sampling.")


class TracingResource(ConfigModel):
    """Resource attributes of the spans."""

    service_name: str | None = Field(None, description="service.name attribute.")
    service_version: str | None = Field(None, description="service.version attribute.")
    deployment_environment: str | None = Field(
        None, description="deployment.environment attribute."
    )


class TracingConfig(ConfigModel):
    """Distributed tracing."""

    enabled: bool | None = Field(None, description="Emit traces.")
    provider: str | None = Field(None, description="Tracing provider, e.g. opentelemetry.")
    exporter: TracingExporter | None = Field(None, description="Span exporter.")
    sampling: TracingSampling | None = Field(None, description="Sampling.")
    resource: TracingResource | None = Field(None, description="Resource attributes.")


class MetricsConfig(ConfigModel):
    """Router metrics."""

    enabled: bool | None = Field(None, description="Serve Prometheus metrics.")


class ObservabilityConfig(ConfigModel):
    """Tracing and metrics."""

    tracing: TracingConfig | None = Field(None, description="Distributed tracing (OpenTelemetry).")
    metrics: MetricsConfig | None = Field(None, description="Prometheus metrics.")


class RouterConfig(ConfigModel):
    """The router configuration, in the sections the user documentation shows and the newer
    sections of the router's v0.3 contract (`router_sections`).

    Any other top-level key is kept as is and handed to the router, so a section of the
    router's own configuration (e.g. ``routing``, ``providers``, ``global``) can be written
    here directly; the translation to the router's format refuses keys it does not know."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )

    bert_model: BertModelConfig | None = Field(None, description="Embedding model for similarity.")
    semantic_cache: SemanticCacheConfig | None = Field(
        None, description="Semantic cache (the legacy name of response_cache)."
    )
    response_cache: SemanticCacheConfig | None = Field(
        None,
        description="Response cache of similar prompts (the router's current name of "
        "semantic_cache); set one of the two.",
    )
    embedding_models: EmbeddingModelsConfig | None = Field(
        None, description="Embedding models (model catalog) the similarity signals use."
    )
    complexity_rules: list[ComplexityRule] | None = Field(
        None, description="Complexity signals, used in decisions as {type: complexity, name}."
    )
    decisions: list[Decision] | None = Field(
        None,
        description="Routing decisions; without any, the operator routes every request to "
        "the vllmEndpoints models (one catch-all decision).",
    )
    strategy: Strategy | None = Field(
        None, description="How the router chooses among matching decisions: priority or confidence."
    )
    routing: RoutingConfig | None = Field(
        None, description="The router's canonical routing block (signals, decisions, modelCards)."
    )
    default_reasoning_effort: Effort | None = Field(
        None, description="Reasoning effort when a decision sets none: low, medium or high."
    )
    tools: ToolsConfig | None = Field(None, description="Automatic tool selection.")
    prompt_guard: PromptGuardConfig | None = Field(None, description="Jailbreak detection.")
    classifier: ClassifierConfig | None = Field(None, description="Category and PII classifiers.")
    reasoning_families: dict[str, ReasoningFamily] | None = Field(
        None,
        description="Reasoning switch per model family (e.g. deepseek, qwen3, gpt), referenced by "
        "vllmEndpoints[].reasoningFamily.",
    )
    api: ApiConfig | None = Field(None, description="Classification API settings.")
    observability: ObservabilityConfig | None = Field(None, description="Tracing and metrics.")

    @property
    def extra_sections(self) -> dict[str, Any]:
        """The free-form sections beyond the documented ones, as written."""
        return dict(self.model_extra or {})


# --- backends ----------------------------------------------------------------------------------


class ServiceReference(ApiModel):
    """A Kubernetes Service serving an OpenAI-compatible API."""

    name: str | None = Field(
        None, max_length=63, pattern=DNS1123_LABEL, description="Service name (required)."
    )
    namespace: DnsLabel | None = Field(
        None, description="Service namespace; defaults to the SemanticRouter's namespace."
    )
    port: Port | None = Field(None, description="Service port serving the model (required).")


class BackendSpec(ApiModel):
    """Where an endpoint's model is served, and how the operator finds it."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_KSERVE, RULE_LLAMASTACK, RULE_SERVICE))

    type: Literal["kserve", "llamastack", "service"] = Field(
        description="kserve (an InferenceService's predictor Service, port 8443, https), "
        "llamastack (the first Service matching discoveryLabels) or service (an explicit Service)."
    )
    inference_service_name: str | None = Field(
        None,
        alias="inferenceServiceName",
        max_length=63,
        pattern=DNS1123_LABEL,
        description="type kserve: name of the InferenceService in the SemanticRouter's namespace.",
    )
    discovery_labels: StringMap | None = Field(
        None,
        alias="discoveryLabels",
        max_length=32,
        description="type llamastack: labels selecting the Llama Stack Service.",
    )
    service: ServiceReference | None = Field(None, description="type service: the Service to use.")

    @field_validator("discovery_labels")
    @classmethod
    def _selector(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else _labels(value)

    @model_validator(mode="after")
    def _type_has_its_fields(self) -> BackendSpec:
        if self.type == "kserve" and not self.inference_service_name:
            raise ValueError(RULE_KSERVE.message)
        if self.type == "llamastack" and not self.discovery_labels:
            raise ValueError(RULE_LLAMASTACK.message)
        if self.type == "service" and (
            self.service is None or not self.service.name or self.service.port is None
        ):
            raise ValueError(RULE_SERVICE.message)
        return self


class LoraAdapter(ApiModel):
    """A LoRA adapter served by the endpoint's model server."""

    name: str = Field(
        min_length=1, max_length=253, description="Adapter name as the model server knows it."
    )
    description: str | None = Field(
        None, description="What the adapter is good at (used for routing)."
    )


class VllmEndpoint(ApiModel):
    """A model server the router sends requests to."""

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=DNS1123_LABEL,
        description="Endpoint name (a DNS label), unique.",
    )
    model: str = Field(
        min_length=1, max_length=253, description="Model name served, e.g. llama3-8b."
    )
    reasoning_family: str | None = Field(
        None,
        alias="reasoningFamily",
        max_length=63,
        description="Key of config.reasoning_families describing the model's reasoning switch.",
    )
    loras: list[LoraAdapter] | None = Field(
        None, max_length=64, description="LoRA adapters of the model."
    )
    backend: BackendSpec = Field(description="Where the model is served.")
    weight: int = Field(
        1, ge=1, le=1000, description="Share of traffic among endpoints of one model."
    )


# --- the spec ----------------------------------------------------------------------------------


class SemanticRouterSpec(ApiModel):
    """Desired state of a semantic router deployment."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_CLAIMS_DECLARED))

    image: ImageSpec = _sub(ImageSpec, "Container image of the router.")
    replicas: int = Field(
        1, ge=0, description="Router pods (ignored while autoscaling is enabled)."
    )
    image_pull_secrets: list[LocalObjectReference] | None = Field(
        None, alias="imagePullSecrets", description="Secrets for pulling from private registries."
    )
    service_account: ServiceAccountSpec = _sub(
        ServiceAccountSpec, "ServiceAccount of the pods.", alias="serviceAccount"
    )
    service: ServiceSpec = _sub(ServiceSpec, "Service ports and type.")
    resources: ResourceRequirements | None = Field(None, description="Router container resources.")
    resource_claims: list[PodResourceClaim] | None = Field(
        None,
        alias="resourceClaims",
        max_length=MAX_CLAIMS,
        description="Dynamic resource claims of the pod (Kubernetes 1.31 and later), which "
        "resources.claims of the router or Envoy container name.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    persistence: PersistenceSpec = _sub(PersistenceSpec, "PVC for the router's ML models.")
    config: RouterConfig | None = Field(
        None,
        description="Router configuration (snake_case keys as the router spells them). The "
        "sections bert_model, semantic_cache, response_cache, embedding_models, tools, "
        "prompt_guard, classifier, reasoning_families, complexity_rules, decisions, strategy, "
        "routing, default_reasoning_effort, api and observability are checked; any other "
        "top-level key of the router's v0.3 config (e.g. providers, global) is passed to the "
        "router unchanged.",
    )
    tools_db: list[FreeForm] | None = Field(
        None,
        alias="toolsDb",
        description="Tool catalogue for automatic tool selection: entries of {tool, description, "
        "category, tags} as the router's tools database expects.",
    )
    vllm_endpoints: list[VllmEndpoint] | None = Field(
        None,
        alias="vllmEndpoints",
        max_length=MAX_ENDPOINTS,
        description="Model servers the router routes to.",
        json_schema_extra=_rules(RULE_UNIQUE_ENDPOINTS),
    )
    autoscaling: AutoscalingSpec = _sub(AutoscalingSpec, "HorizontalPodAutoscaler.")
    startup_probe: ProbeSpec | None = Field(
        None,
        alias="startupProbe",
        description="Startup probe: TCP on the ext_proc port, which the router opens after "
        "downloading and loading its models. Budget periodSeconds x failureThreshold, 10s x 360 "
        "= 60 minutes by default, for a first model download.",
    )
    liveness_probe: ProbeSpec | None = Field(
        None,
        alias="livenessProbe",
        description="Liveness probe: TCP on the ext_proc port; starts after the startup probe.",
    )
    readiness_probe: ProbeSpec | None = Field(
        None,
        alias="readinessProbe",
        description="Readiness probe: TCP on the ext_proc port (the router serves no gRPC health "
        "service).",
    )
    security_context: FreeForm | None = Field(
        None,
        alias="securityContext",
        description="Router container securityContext (core/v1 SecurityContext), merged over the "
        "hardened defaults (allowPrivilegeEscalation false, capabilities.drop [ALL], "
        "readOnlyRootFilesystem, runAsNonRoot): each key given wins, false and 0 included; "
        "nested objects merge key by key; a list replaces the default's.",
    )
    pod_security_context: FreeForm | None = Field(
        None,
        alias="podSecurityContext",
        description="Pod securityContext (core/v1 PodSecurityContext), merged over the "
        "platform defaults (runAsNonRoot, seccompProfile RuntimeDefault; on Kubernetes also "
        "runAsUser, runAsGroup and fsGroup 1000): each key given wins, false and 0 included; "
        "nested objects merge key by key. On OpenShift leave runAsUser and fsGroup unset.",
    )
    pod_annotations: AnnotationMap | None = Field(
        None, alias="podAnnotations", description="Pod annotations."
    )
    pod_labels: LabelMap | None = Field(
        None,
        alias="podLabels",
        description="Extra pod labels. The selector labels app.kubernetes.io/name and "
        "app.kubernetes.io/instance are the chart's and cannot be set here.",
        json_schema_extra=_rules(RULE_POD_LABELS),
    )
    node_selector: LabelMap | None = Field(
        None, alias="nodeSelector", description="Node labels pods must run on."
    )
    tolerations: list[Toleration] | None = Field(None, description="Taints the pods tolerate.")
    affinity: FreeForm | None = Field(None, description="Pod affinity rules (core/v1 Affinity).")
    env: list[EnvVar] | None = Field(
        None, description="Extra environment variables of the router container."
    )
    args: list[str] | None = Field(
        None,
        description="Extra arguments of the router container, after `--config`. Only the "
        "router's own flags are accepted (an unknown flag makes it exit at start): "
        + ", ".join(f"--{flag}" for flag in ROUTER_FLAGS)
        + ".",
    )
    gateway: GatewaySpec | None = Field(None, description="Gateway integration mode.")
    envoy: EnvoySpec | None = Field(
        None, description="Envoy sidecar settings (standalone mode only)."
    )
    openshift: OpenShiftSpec | None = Field(None, description="OpenShift features.")
    ingress: IngressSpec = _sub(IngressSpec, "Kubernetes Ingress.")
    pod_disruption_budget: PodDisruptionBudgetSpec = _sub(
        PodDisruptionBudgetSpec, "PodDisruptionBudget.", alias="podDisruptionBudget"
    )
    service_monitor: ServiceMonitorSpec = _sub(
        ServiceMonitorSpec, "Prometheus Operator ServiceMonitor.", alias="serviceMonitor"
    )

    @model_validator(mode="after")
    def _claims_declared(self) -> SemanticRouterSpec:
        declared = {claim.name for claim in self.resource_claims or []}
        for resources in (self.resources, self.envoy.resources if self.envoy else None):
            if any(c.name not in declared for c in (resources.claims if resources else None) or []):
                raise ValueError(RULE_CLAIMS_DECLARED.message)
        return self

    @field_validator("args")
    @classmethod
    def _router_flags(cls, value: list[str] | None) -> list[str] | None:
        for index, arg in enumerate(value or []):
            problem = router_flag_problem(arg)
            if problem:
                raise ValueError(f"args[{index}] {arg!r}: {problem}")
        return value

    @field_validator("pod_labels")
    @classmethod
    def _not_selector_labels(cls, labels: dict[str, str] | None) -> dict[str, str] | None:
        for key in SELECTOR_LABELS:
            if key in (labels or {}):
                raise ValueError(f"{RULE_POD_LABELS.message} ({key!r} is set)")
        return labels

    @field_validator("vllm_endpoints")
    @classmethod
    def _unique_names(cls, endpoints: list[VllmEndpoint] | None) -> list[VllmEndpoint] | None:
        seen: set[str] = set()
        for endpoint in endpoints or []:
            if endpoint.name in seen:
                raise ValueError(f"{RULE_UNIQUE_ENDPOINTS.message} ({endpoint.name!r} repeats)")
            seen.add(endpoint.name)
        return endpoints

    @property
    def gateway_mode(self) -> Literal["standalone", "gateway-integration"]:
        """gateway-integration when an existing Gateway is referenced, else standalone."""
        if self.gateway is not None and self.gateway.existing_ref is not None:
            return "gateway-integration"
        return "standalone"


# --- the status --------------------------------------------------------------------------------


class StatusModel(BaseModel):
    """Base of the status models (written by the operator)."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    def to_dict(self) -> dict[str, Any]:
        """The wire shape, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Condition(StatusModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(min_length=1, max_length=316, description="Condition type, e.g. Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1, max_length=1024, pattern=CONDITION_REASON, description="CamelCase reason."
    )
    message: str = Field("", max_length=32768, description="Human readable details.")
    last_transition_time: str = Field(
        alias="lastTransitionTime",
        description="When the status last changed (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        None,
        alias="observedGeneration",
        ge=0,
        description="Generation the condition was computed for.",
    )


class OpenShiftFeaturesStatus(StatusModel):
    """OpenShift features in effect."""

    routes_enabled: bool = Field(False, alias="routesEnabled", description="A Route is managed.")
    route_hostname: str | None = Field(
        None, alias="routeHostname", description="Host of the Route."
    )


class ReleaseStatus(StatusModel):
    """The helm release behind this SemanticRouter."""

    name: str = Field(description="Release name.")
    revision: int | None = Field(None, ge=0, description="Release revision.")
    chart_version: str | None = Field(
        None, alias="chartVersion", description="Chart version deployed."
    )
    status: str | None = Field(None, description="Helm release status, e.g. deployed or failed.")
    digest: str | None = Field(None, description="Digest of chart version and values last applied.")


class BackendStatus(StatusModel):
    """How one vllmEndpoints entry resolved."""

    name: str = Field(description="Endpoint name.")
    type: str = Field(description="Backend type.")
    host: str | None = Field(None, description="Resolved host.")
    port: int | None = Field(None, description="Resolved port.")
    protocol: str | None = Field(None, description="http or https.")
    resolved: bool = Field(False, description="Discovery found the backend.")
    message: str | None = Field(None, description="Why discovery failed, when it did.")


Phase = Literal["Pending", "Progressing", "Running", "Degraded", "Failed"]
GatewayMode = Literal["standalone", "gateway-integration"]


class SemanticRouterStatus(StatusModel):
    """Observed state of a semantic router deployment."""

    phase: Phase | None = Field(
        None, description="Pending, Progressing, Running, Degraded or Failed."
    )
    replicas: int | None = Field(None, ge=0, description="Router pods.")
    ready_replicas: int | None = Field(
        None, alias="readyReplicas", ge=0, description="Ready router pods."
    )
    observed_generation: int | None = Field(
        None, alias="observedGeneration", ge=0, description="Spec generation last reconciled."
    )
    gateway_mode: GatewayMode | None = Field(
        None, alias="gatewayMode", description="standalone (Envoy sidecar) or gateway-integration."
    )
    openshift_features: OpenShiftFeaturesStatus | None = Field(
        None, alias="openshiftFeatures", description="OpenShift features in effect."
    )
    conditions: list[Condition] | None = Field(
        None,
        description="Ready, Progressing, Degraded, ReleaseFailed, BackendsResolved.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    release: ReleaseStatus | None = Field(None, description="The helm release.")
    backends: list[BackendStatus] | None = Field(None, description="Each endpoint as resolved.")


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
    return parsed


def parse_status(status: Mapping[str, Any] | None) -> SemanticRouterStatus:
    """A CR's status as the model (empty when the CR has none yet)."""
    return SemanticRouterStatus.model_validate(dict(status or {}))
