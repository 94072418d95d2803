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
    AnnotationMap,
    ApiModel,
    DnsLabel,
    DnsSubdomain,
    Port,
)
from semantic_router_operator.models.rules import (
    RULE_INGRESS_HOSTS,
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
        "Prefix", description="How the path matches."
    )
    service_port: Port | None = Field(
        None,
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
