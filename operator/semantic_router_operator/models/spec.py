"""The SemanticRouter spec: backends, vLLM endpoints and the spec itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from semantic_router_operator.models.base import (
    MAX_CLAIMS,
    MAX_ENDPOINTS,
    AnnotationMap,
    ApiModel,
    DnsLabel,
    FreeForm,
    LabelMap,
    Port,
    StringMap,
    _labels,
    _sub,
)
from semantic_router_operator.models.config import (
    RouterConfig,
)
from semantic_router_operator.models.envoy import (
    EnvoySpec,
)
from semantic_router_operator.models.networking import (
    GatewaySpec,
    IngressSpec,
    ManagementApiSpec,
    OpenShiftSpec,
)
from semantic_router_operator.models.rules import (
    ROUTER_FLAGS,
    RULE_CLAIMS_DECLARED,
    RULE_KSERVE,
    RULE_LLAMASTACK,
    RULE_ONE_POD_CLAIM,
    RULE_POD_LABELS,
    RULE_SERVICE,
    RULE_UNIQUE_ENDPOINTS,
    SELECTOR_LABELS,
    _rules,
    router_flag_problem,
)
from semantic_router_operator.models.status import GatewayMode
from semantic_router_operator.models.workload import (
    AutoscalingSpec,
    EnvVar,
    ImageSpec,
    LocalObjectReference,
    PersistenceSpec,
    PodDisruptionBudgetSpec,
    PodResourceClaim,
    ProbeSpec,
    ResourceRequirements,
    ServiceAccountSpec,
    ServiceMonitorSpec,
    ServiceSpec,
    Toleration,
)
from semantic_router_operator.names import DNS1123_LABEL

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
        max_length=63,
        pattern=DNS1123_LABEL,
        description="type kserve: name of the InferenceService in the SemanticRouter's namespace.",
    )
    discovery_labels: StringMap | None = Field(
        None,
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

    model_config = ConfigDict(json_schema_extra=_rules(RULE_CLAIMS_DECLARED, RULE_ONE_POD_CLAIM))

    image: ImageSpec = _sub(ImageSpec, "Container image of the router.")
    replicas: int = Field(
        1, ge=0, description="Router pods (ignored while autoscaling is enabled)."
    )
    image_pull_secrets: list[LocalObjectReference] | None = Field(
        None, description="Secrets for pulling from private registries."
    )
    service_account: ServiceAccountSpec = _sub(
        ServiceAccountSpec,
        "ServiceAccount of the pods.",
    )
    service: ServiceSpec = _sub(ServiceSpec, "Service ports and type.")
    resources: ResourceRequirements | None = Field(None, description="Router container resources.")
    resource_claims: list[PodResourceClaim] | None = Field(
        None,
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
        description="Tool catalogue for automatic tool selection: entries of {tool, description, "
        "category, tags} as the router's tools database expects.",
    )
    vllm_endpoints: list[VllmEndpoint] | None = Field(
        None,
        max_length=MAX_ENDPOINTS,
        description="Model servers the router routes to.",
        json_schema_extra=_rules(RULE_UNIQUE_ENDPOINTS),
    )
    autoscaling: AutoscalingSpec = _sub(AutoscalingSpec, "HorizontalPodAutoscaler.")
    startup_probe: ProbeSpec | None = Field(
        None,
        description="Startup probe: TCP on the ext_proc port, which the router opens after "
        "downloading and loading its models. Budget periodSeconds x failureThreshold, 10s x 360 "
        "= 60 minutes by default, for a first model download.",
    )
    liveness_probe: ProbeSpec | None = Field(
        None,
        description="Liveness probe: TCP on the ext_proc port; starts after the startup probe.",
    )
    readiness_probe: ProbeSpec | None = Field(
        None,
        description="Readiness probe: TCP on the ext_proc port (the router serves no gRPC health "
        "service).",
    )
    security_context: FreeForm | None = Field(
        None,
        description="Router container securityContext (core/v1 SecurityContext), merged over the "
        "hardened defaults (allowPrivilegeEscalation false, capabilities.drop [ALL], "
        "readOnlyRootFilesystem, runAsNonRoot): each key given wins, false and 0 included; "
        "nested objects merge key by key; a list replaces the default's.",
    )
    pod_security_context: FreeForm | None = Field(
        None,
        description="Pod securityContext (core/v1 PodSecurityContext), merged over the "
        "platform defaults (runAsNonRoot, seccompProfile RuntimeDefault; on Kubernetes also "
        "runAsUser, runAsGroup and fsGroup 1000): each key given wins, false and 0 included; "
        "nested objects merge key by key. On OpenShift leave runAsUser and fsGroup unset.",
    )
    pod_annotations: AnnotationMap | None = Field(None, description="Pod annotations.")
    pod_labels: LabelMap | None = Field(
        None,
        description="Extra pod labels. The selector labels app.kubernetes.io/name and "
        "app.kubernetes.io/instance are the chart's and cannot be set here.",
        json_schema_extra=_rules(RULE_POD_LABELS),
    )
    node_selector: LabelMap | None = Field(None, description="Node labels pods must run on.")
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
    management_api: ManagementApiSpec | None = Field(
        None, description="The router's management API."
    )
    envoy: EnvoySpec | None = Field(
        None, description="Envoy sidecar settings (standalone mode only)."
    )
    openshift: OpenShiftSpec | None = Field(None, description="OpenShift features.")
    ingress: IngressSpec = _sub(IngressSpec, "Kubernetes Ingress.")
    pod_disruption_budget: PodDisruptionBudgetSpec = _sub(
        PodDisruptionBudgetSpec,
        "PodDisruptionBudget.",
    )
    service_monitor: ServiceMonitorSpec = _sub(
        ServiceMonitorSpec,
        "Prometheus Operator ServiceMonitor.",
    )

    @model_validator(mode="after")
    def _claims_declared(self) -> SemanticRouterSpec:
        declared = {claim.name for claim in self.resource_claims or []}
        for resources in (self.resources, self.envoy.resources if self.envoy else None):
            if any(c.name not in declared for c in (resources.claims if resources else None) or []):
                raise ValueError(RULE_CLAIMS_DECLARED.message)
        return self

    @property
    def most_replicas(self) -> int:
        """The most router pods that may run: the autoscaler's maximum, else replicas."""
        return self.autoscaling.max_replicas if self.autoscaling.enabled else self.replicas

    @model_validator(mode="after")
    def _one_pod_claim(self) -> SemanticRouterSpec:
        claim = self.persistence
        one_pod = claim.enabled and not claim.existing_claim
        if one_pod and claim.access_mode == "ReadWriteOncePod" and self.most_replicas > 1:
            raise ValueError(RULE_ONE_POD_CLAIM.message)
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
    def gateway_mode(self) -> GatewayMode:
        """gateway-integration when an existing Gateway is referenced, else standalone."""
        return gateway_mode_of(self.model_dump(by_alias=True, include={"gateway"}))


def gateway_mode_of(spec: Mapping[str, Any]) -> GatewayMode:
    """The one rule for the mode, on the spec as written (so that a spec that does not
    parse still reports one): gateway-integration when it names an existing Gateway."""
    existing = ((spec.get("gateway") or {}).get("existingRef") or {}).get("name")
    return "gateway-integration" if existing else "standalone"
