"""Networking: Gateway API integration, OpenShift Routes and Ingress."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from semantic_router_operator.models.base import (
    HOSTNAME,
    SECRET_KEY,
    AnnotationMap,
    ApiModel,
    DnsLabel,
    DnsSubdomain,
    Port,
)
from semantic_router_operator.models.rules import (
    RULE_INGRESS_HOSTS,
    RULE_MANAGEMENT_TOKENS,
    RULE_PASSTHROUGH_INSECURE,
    _rules,
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
        description="The Gateway to attach to. Set it for gateway-integration mode; leave "
        "unset for standalone mode (Envoy sidecar).",
    )
    hostnames: list[Annotated[str, Field(max_length=253, pattern=HOSTNAME)]] | None = Field(
        None,
        max_length=16,
        description="Host names the HTTPRoute matches (e.g. router.example.com or "
        "*.example.com); unset matches every host of the Gateway listener.",
    )
    implementation: Literal["envoy-gateway", "istio", "none"] = Field(
        "envoy-gateway",
        description="What runs the Gateway, and so how the router is attached to it as "
        "ext_proc: envoy-gateway (an EnvoyExtensionPolicy on the HTTPRoute), istio (an "
        "EnvoyFilter on the Gateway's workload, in the Gateway's namespace) or none (attach "
        "it yourself to the router Service's grpc port; the status says so).",
    )
    drop_client_selected_model: bool = Field(
        True,
        description="Remove a client-sent x-selected-model header before the Gateway picks a "
        "route, so that only the router chooses the backend: a ClientTrafficPolicy on the "
        "Gateway (envoy-gateway) or an early header mutation in the EnvoyFilter (istio). Turn "
        "it off only if the Gateway already has a ClientTrafficPolicy, and add "
        "headers.earlyRequestHeaders.remove: [x-selected-model] to that one.",
    )


class ManagementTokenSecret(ApiModel):
    """The Secret key holding one bearer token."""

    name: DnsSubdomain = Field(description="Secret name, in the SemanticRouter's namespace.")
    key: str = Field(
        min_length=1, max_length=253, pattern=SECRET_KEY, description="Key in the Secret."
    )


class ManagementToken(ApiModel):
    """A bearer token of the management API and the role it grants."""

    secret_key_ref: ManagementTokenSecret = Field(
        description="Secret key holding the token; it reaches the router as an environment "
        "variable, never in the config.",
    )
    role: Literal["viewer", "operator", "admin"] = Field(
        "viewer",
        description="viewer (read, classify), operator (also config and cache writes) or "
        "admin (everything, secrets included).",
    )


class ManagementApiSpec(ApiModel):
    """The router's management API (classification, config, health, start-up status; no chat
    completions). Bound to 127.0.0.1 unless exposed."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_MANAGEMENT_TOKENS))

    expose: bool = Field(
        False,
        description="Publish it on the Service port api (spec.service.api.port): the router "
        "binds 0.0.0.0 with remote_exposure and bearer authentication. Off: the port is not "
        "published and nothing routes to it (kubectl port-forward still reaches it).",
    )
    tokens: list[ManagementToken] | None = Field(
        None, max_length=16, description="Bearer tokens; at least one when exposed."
    )

    @model_validator(mode="after")
    def _tokens_when_exposed(self) -> ManagementApiSpec:
        if self.expose and not self.tokens:
            raise ValueError(RULE_MANAGEMENT_TOKENS.message)
        return self


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
        description="What plain HTTP gets: None (refused), Allow (served), Redirect (to HTTPS).",
    )

    @model_validator(mode="after")
    def _passthrough(self) -> RouteTLSSpec:
        if self.termination == "passthrough" and self.insecure_edge_termination_policy == "Allow":
            raise ValueError(RULE_PASSTHROUGH_INSECURE.message)
        return self


class RoutesSpec(ApiModel):
    """An OpenShift Route in front of the Service: the Envoy port in standalone mode, the
    management API port in gateway mode (only with spec.managementApi.expose)."""

    enabled: bool = Field(
        False,
        description="Create a Route. Needs OpenShift: on a cluster without the Route API "
        "the router is deployed without it and reported Degraded (reason "
        "RoutesNeedOpenShift); use ingress there.",
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
        "Prefix", description="How the path matches."
    )
    service_port: Port | None = Field(
        None,
        description="Service port the path routes to; defaults to the Envoy port "
        "(envoy-http) in standalone mode, the management API port in gateway mode (published "
        "only with spec.managementApi.expose).",
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
        None, description="Secret holding the certificate (kubernetes.io/tls)."
    )
    hosts: list[Annotated[str, Field(max_length=253, pattern=HOSTNAME)]] | None = Field(
        None, description="Hosts the certificate covers (wildcards such as *.example.com too)."
    )


class IngressSpec(ApiModel):
    """A Kubernetes Ingress in front of the API port."""

    model_config = ConfigDict(json_schema_extra=_rules(RULE_INGRESS_HOSTS))

    enabled: bool = Field(False, description="Create an Ingress.")
    class_name: str | None = Field(
        None, description="IngressClass, e.g. nginx, haproxy or traefik."
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
