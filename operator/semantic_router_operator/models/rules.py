"""Cross-field rules, one message and two enforcers: the CEL expression the API server runs
(`x-kubernetes-validations` in the CRD) and the pydantic validator the operator runs; and the
router container's command-line flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from semantic_router_operator.models.base import (
    DEFAULT_PVC_SIZE,
)
from semantic_router_operator.router_sections import NO_DECISION_ACTION, NO_DECISION_ACTION_CEL

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


def _cache_host_rule(backend_type: str, host: tuple[str, ...], message: str) -> Rule:
    """`semantic_cache.backend_type` `backend_type` needs a non-empty host at `host` (a path
    under semantic_cache): the router dials that store and fails at start-up without it."""
    return Rule(
        cel=f"!has(self.backend_type) || self.backend_type != '{backend_type}' || ("
        + _needs("self", *host)
        + f" && size(self.{'.'.join(host)}) > 0)",
        message=message,
    )


RULE_REDIS_HOST = _cache_host_rule(
    "redis",
    ("redis", "connection", "host"),
    "semantic_cache.backend_type redis needs semantic_cache.redis.connection.host: "
    "set it to the Redis Service address, e.g. redis.default.svc.cluster.local",
)
RULE_MILVUS_HOST = _cache_host_rule(
    "milvus",
    ("milvus", "connection", "host"),
    "semantic_cache.backend_type milvus needs semantic_cache.milvus.connection.host: "
    "set it to the Milvus Service address, e.g. milvus-standalone.default.svc.cluster.local",
)
RULE_HYBRID_MILVUS = _cache_host_rule(
    "hybrid",
    ("milvus", "connection", "host"),
    "semantic_cache.backend_type hybrid keeps its entries in Milvus: "
    "set semantic_cache.milvus.connection.host to the Milvus Service address",
)
RULE_VALKEY_HOST = _cache_host_rule(
    "valkey",
    ("valkey", "connection", "host"),
    "semantic_cache.backend_type valkey needs semantic_cache.valkey.connection.host: "
    "set it to the Valkey Service address, e.g. valkey.default.svc.cluster.local",
)
RULE_QDRANT_HOST = _cache_host_rule(
    "qdrant",
    ("qdrant", "host"),
    "semantic_cache.backend_type qdrant needs semantic_cache.qdrant.host: "
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
RULE_ONE_POD_CLAIM = Rule(
    cel="!has(self.persistence) || !has(self.persistence.accessMode)"
    " || self.persistence.accessMode != 'ReadWriteOncePod'"
    " || (has(self.persistence.enabled) && !self.persistence.enabled)"
    " || (has(self.persistence.existingClaim) && size(self.persistence.existingClaim) > 0)"
    " || (has(self.autoscaling) && has(self.autoscaling.enabled) && self.autoscaling.enabled"
    " ? (has(self.autoscaling.maxReplicas) && self.autoscaling.maxReplicas <= 1)"
    " : (!has(self.replicas) || self.replicas <= 1))",
    message="persistence.accessMode ReadWriteOncePod lets one pod mount the models claim: "
    "every other replica would never start; use ReadWriteMany, or run one replica "
    "(replicas 1, or autoscaling.maxReplicas 1)",
)
RULE_ONE_CLAIM_SOURCE = Rule(
    cel="has(self.resourceClaimName) != has(self.resourceClaimTemplateName)",
    message="a resourceClaims entry takes exactly one of resourceClaimName and "
    "resourceClaimTemplateName",
)

RULE_MANAGEMENT_TOKENS = Rule(
    cel="!self.expose || (has(self.tokens) && size(self.tokens) > 0)",
    message="managementApi.expose needs at least one managementApi.tokens entry: the router "
    "refuses remote exposure without bearer authentication",
)

RULE_NO_DECISION_ACTION = Rule(cel=NO_DECISION_ACTION_CEL, message=NO_DECISION_ACTION)

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
    RULE_ONE_POD_CLAIM,
    RULE_ONE_CLAIM_SOURCE,
    RULE_MANAGEMENT_TOKENS,
    RULE_NO_DECISION_ACTION,
)


def _rules(*rules: Rule) -> dict[str, Any]:
    """json_schema_extra carrying CEL rules into the CRD."""
    return {"x-kubernetes-validations": [rule.as_validation() for rule in rules]}
