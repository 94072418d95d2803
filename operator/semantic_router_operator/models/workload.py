"""The router workload: image, service account, services, resources, persistence, scaling,
probes, disruption budget, ServiceMonitor and pod-level settings."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from semantic_router_operator.models.base import (
    DEFAULT_IMAGE_REPOSITORY,
    DEFAULT_PVC_SIZE,
    MAX_CLAIMS,
    PROMETHEUS_DURATION,
    STORAGE_SIZE,
    AnnotationMap,
    ApiModel,
    DnsLabel,
    DnsSubdomain,
    FreeForm,
    IntOrPercent,
    LabelMap,
    Port,
    Quantity,
    _sub,
)
from semantic_router_operator.models.rules import (
    RULE_AUTOSCALING_RANGE,
    RULE_EXISTING_CLAIM,
    RULE_ONE_CLAIM_SOURCE,
    RULE_PDB_EXCLUSIVE,
    _rules,
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
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Image tag (letters, digits, _ . -; at most 128, not starting with . or -"
        ", as an image reference takes it). Unset means the router version this operator "
        "release ships with (the chart's appVersion), so upgrades are deliberate; avoid `latest` "
        "in production.",
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Kubernetes image pull policy."
    )
    image_registry: str | None = Field(
        None,
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
    target_port: Port = Field(50051, description="Container port of the router's gRPC server.")
    protocol: Literal["TCP"] | None = Field(
        None,
        description="Service port protocol; only TCP (the router serves TCP only), "
        "accepted as the upstream operator spells it.",
    )


class ApiPortSpec(ApiModel):
    """The router's HTTP API port (classification, health); the Service port `api`."""

    port: Port = Field(
        8080,
        description="Service port of the router's management API (classification, config, "
        "health), published only with spec.managementApi.expose. Chat traffic enters through "
        "the Envoy port `envoy-http` (spec.envoy.port, 8801) in standalone mode and through "
        "the Gateway in gateway mode.",
    )
    target_port: Port = Field(
        8080,
        description="Container port of the router's management API server (the router "
        "config's management_api.port).",
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
    target_port: Port = Field(9190, description="Container port of the metrics endpoint.")
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
        None, description="An existing ResourceClaim to share."
    )
    resource_claim_template_name: DnsSubdomain | None = Field(
        None,
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
        max_length=253,
        description="StorageClass of the new PVC; omit to use the cluster's default StorageClass.",
    )
    access_mode: Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] = (
        Field("ReadWriteOnce", description="Access mode of the new PVC.")
    )
    size: str = Field(
        DEFAULT_PVC_SIZE,
        max_length=64,
        pattern=STORAGE_SIZE,
        description="Requested size of the new PVC, e.g. 10Gi.",
    )
    existing_claim: str | None = Field(
        None,
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
    min_replicas: int = Field(1, ge=1, description="Lowest replica count.")
    max_replicas: int = Field(10, ge=1, description="Highest replica count.")
    target_cpu_utilization_percentage: int | None = Field(
        80,
        alias="targetCPUUtilizationPercentage",
        ge=1,
        le=100,
        description="Average CPU utilisation (percent of requests) the HPA aims for.",
    )
    target_memory_utilization_percentage: int | None = Field(
        None,
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
        ge=0,
        description="Seconds after start before the first probe.",
    )
    period_seconds: int | None = Field(None, ge=1, description="Seconds between probes.")
    timeout_seconds: int | None = Field(None, ge=1, description="Seconds before a probe times out.")
    failure_threshold: int | None = Field(
        None,
        ge=1,
        description="Consecutive failures before the probe fails.",
    )


class PodDisruptionBudgetSpec(ApiModel):
    """A PodDisruptionBudget keeping router pods available during voluntary disruptions."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_PDB_EXCLUSIVE))

    enabled: bool = Field(False, description="Create a PodDisruptionBudget.")
    min_available: IntOrPercent | None = Field(
        None,
        description='Pods that must stay available: a count or a percentage such as "50%".',
    )
    max_unavailable: IntOrPercent | None = Field(
        None,
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
        pattern=PROMETHEUS_DURATION,
        description="Scrape timeout, e.g. 10s; must not exceed interval.",
    )
    labels: LabelMap | None = Field(
        None,
        description="Extra labels on the ServiceMonitor, e.g. the label your Prometheus selects.",
    )


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
        None, description="How long a NoExecute taint is tolerated."
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
        description="Source of the value (core/v1 EnvVarSource), e.g. "
        "{secretKeyRef: {name: hf-token-secret, key: token}}.",
    )
