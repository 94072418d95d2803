"""The SemanticRouter status, as written by the operator."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import (
    Field,
)

from semantic_router_operator.models.base import (
    CONDITION_REASON,
    StatusModel,
)


class Condition(StatusModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(min_length=1, max_length=316, description="Condition type, e.g. Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1, max_length=1024, pattern=CONDITION_REASON, description="CamelCase reason."
    )
    message: str = Field("", max_length=32768, description="Human readable details.")
    last_transition_time: str = Field(
        description="When the status last changed (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        None,
        ge=0,
        description="Generation the condition was computed for.",
    )


class OpenShiftFeaturesStatus(StatusModel):
    """OpenShift features in effect."""

    routes_enabled: bool = Field(False, description="A Route is managed.")
    route_hostname: str | None = Field(None, description="Host of the Route.")


class ReleaseStatus(StatusModel):
    """The helm release behind this SemanticRouter."""

    name: str = Field(description="Release name.")
    revision: int | None = Field(None, ge=0, description="Release revision.")
    chart_version: str | None = Field(None, description="Chart version deployed.")
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


class DriftRepairStatus(StatusModel):
    """Repairs of the objects the release owns, when someone else changed or deleted them."""

    repairs: int | None = Field(None, ge=0, description="Repairs since the operator started.")
    limit: str | None = Field(None, description="The repair budget of this router.")
    last_repaired: str | None = Field(None, description="What the last repair restored.")
    last_repair_time: str | None = Field(None, description="When the last repair ran (RFC 3339).")
    limited_until: str | None = Field(
        None, description="Set while drift waits for the budget: when the next repair may run."
    )


class Phase(StrEnum):
    """Where a SemanticRouter stands, as `status.phase` tells it."""

    PENDING = "Pending"
    PROGRESSING = "Progressing"
    RUNNING = "Running"
    DEGRADED = "Degraded"
    FAILED = "Failed"


GatewayMode = Literal["standalone", "gateway-integration"]


class SemanticRouterStatus(StatusModel):
    """Observed state of a semantic router deployment."""

    phase: Phase | None = Field(
        None, description="Pending, Progressing, Running, Degraded or Failed."
    )
    replicas: int | None = Field(None, ge=0, description="Router pods.")
    ready_replicas: int | None = Field(None, ge=0, description="Ready router pods.")
    observed_generation: int | None = Field(
        None, ge=0, description="Spec generation last reconciled."
    )
    gateway_mode: GatewayMode | None = Field(
        None, description="standalone (Envoy sidecar) or gateway-integration."
    )
    openshift_features: OpenShiftFeaturesStatus | None = Field(
        None, description="OpenShift features in effect."
    )
    conditions: list[Condition] | None = Field(
        None,
        description="Ready, Progressing, Degraded, ReleaseFailed, BackendsResolved.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    release: ReleaseStatus | None = Field(None, description="The helm release.")
    backends: list[BackendStatus] | None = Field(None, description="Each endpoint as resolved.")
    drift_repair: DriftRepairStatus | None = Field(
        None, description="Repairs of owned objects changed or deleted by someone else."
    )
