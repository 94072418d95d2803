"""The Envoy sidecar of standalone mode."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from semantic_router_operator.models.base import (
    DURATION,
    SECRET_KEY,
    ApiModel,
    DnsSubdomain,
    FreeForm,
    Port,
)
from semantic_router_operator.models.workload import (
    ResourceRequirements,
)

# --- the Envoy sidecar (standalone mode) -----------------------------------------------------


class EnvoyImageSpec(ApiModel):
    """Image of the Envoy sidecar; unset fields keep the chart's pinned Envoy release."""

    repository: str | None = Field(
        None, min_length=1, description="Image repository, e.g. envoyproxy/envoy."
    )
    tag: str | None = Field(None, min_length=1, description="Image tag, e.g. v1.40.0.")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        None, description="Kubernetes image pull policy."
    )
    image_registry: str | None = Field(
        None,
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
        description="true lets requests through when the router fails (fail open): they skip "
        "the router and go to the default model; the default false fails them with 5xx, so "
        "guards and routing are never silently skipped.",
    )
    message_timeout: str | None = Field(
        None,
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
        None, min_length=1, description="CA bundle path inside the Envoy image."
    )
    ca_config_map: ConfigMapKeyRef | None = Field(
        None,
        description="ConfigMap holding the CA that signed the backends' certificates; overrides "
        "caFile. On OpenShift: {name: openshift-service-ca.crt, key: service-ca.crt}.",
    )


class EnvoySpec(ApiModel):
    """The Envoy sidecar of standalone mode; unset fields keep the chart's defaults.

    Envoy routes on the x-selected-model header the router sets; a request without a router
    selection goes to the default model, or gets a 404 JSON error when there is none."""

    image: EnvoyImageSpec | None = Field(None, description="Envoy image.")
    port: Port | None = Field(None, description="Envoy listener port (8801 by default).")
    admin_port: Port | None = Field(None, description="Envoy admin port, bound to 127.0.0.1 only.")
    log_level: (
        Literal["trace", "debug", "info", "warning", "warn", "error", "critical", "off"] | None
    ) = Field(None, description="Envoy log level.")
    access_log: bool | None = Field(None, description="Log every request to stdout.")
    route_timeout: str | None = Field(
        None,
        pattern=DURATION,
        description="Upstream request timeout, e.g. 300s.",
    )
    stream_idle_timeout: str | None = Field(
        None,
        pattern=DURATION,
        description="Idle timeout of a stream, e.g. 300s.",
    )
    upstream_connect_timeout: str | None = Field(
        None,
        pattern=DURATION,
        description="Connect timeout to model backends, e.g. 10s.",
    )
    buffer_limit_bytes: int | None = Field(
        None,
        ge=65536,
        description="Per-connection buffer limit; caps the bodies ext_proc sees.",
    )
    ext_proc: EnvoyExtProcSpec | None = Field(None, description="ext_proc settings.")
    upstream_tls: EnvoyUpstreamTLSSpec | None = Field(
        None, description="Verification of https model backends."
    )
    resources: ResourceRequirements | None = Field(None, description="Envoy container resources.")
    security_context: FreeForm | None = Field(
        None,
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
