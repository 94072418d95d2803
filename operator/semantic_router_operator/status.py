"""The SemanticRouter status, computed from what the operator observed (pure).

Inputs: the release (helm), the workload (the router Deployment), the discovered
backends, the Route, and the problem that stopped the reconcile, if any. Output: the
whole ``status`` stanza (phase, replicas, conditions, release, backends ...) as the API's
pydantic ``SemanticRouterStatus``; what is written is its dump, so it fits the CRD's schema.

A condition's ``lastTransitionTime`` only moves when its status changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from semantic_router_operator import gateway
from semantic_router_operator.discovery import BackendResult
from semantic_router_operator.models.status import (
    GatewayMode,
    OpenShiftFeaturesStatus,
    Phase,
    ReleaseStatus,
    SemanticRouterStatus,
)
from semantic_router_operator.release.model import ReleaseInfo


class ProblemKind(StrEnum):
    INVALID_SPEC = "InvalidSpec"  # the user must fix the spec; nothing is retried
    STORAGE = "Storage"  # the StorageClass for the models PVC is missing
    RELEASE = "Release"  # helm failed to install/upgrade
    NO_BACKENDS = "NoBackends"  # no vllmEndpoints entry could be resolved
    API = "Api"  # the Kubernetes API could not be read
    PLATFORM = "Platform"  # the cluster lacks an API the spec asks for; the rest deploys


CONDITION_TYPES = (
    "Ready",
    "Available",
    "Progressing",
    "Degraded",
    "ReleaseFailed",
    "BackendsResolved",
)

# Status keys this operator writes; anything else (e.g. kopf's bookkeeping) is left alone.
OWNED_KEYS = (
    "phase",
    "replicas",
    "readyReplicas",
    "observedGeneration",
    "gatewayMode",
    "openshiftFeatures",
    "conditions",
    "release",
    "backends",
    "driftRepair",
)


@dataclass(frozen=True)
class Problem:
    """What stopped the reconcile; `reason` is a CamelCase condition reason."""

    kind: ProblemKind
    reason: str
    message: str


def release_from_status(status: Mapping[str, Any] | None, namespace: str) -> ReleaseInfo | None:
    """The release as `status.release` recorded it; None when absent or incomplete."""
    release = (status or {}).get("release") or {}
    try:
        return ReleaseInfo(
            name=str(release["name"]),
            namespace=namespace,
            revision=int(release["revision"]),
            chart_version=str(release.get("chartVersion", "")),
            status=str(release["status"]),
            digest=str(release.get("digest", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def release_status(release: ReleaseInfo) -> ReleaseStatus:
    """`status.release`: every field written, empty when helm did not say."""
    return ReleaseStatus(
        name=release.name,
        revision=release.revision,
        chart_version=release.chart_version or "",
        status=release.status,
        digest=release.digest or "",
    )


@dataclass(frozen=True)
class Workload:
    """The router Deployment's replica counts and rollout state."""

    desired: int
    replicas: int
    ready: int
    updated: int
    rollout_complete: bool
    stalled: bool

    @classmethod
    def from_deployment(cls, deployment: Mapping[str, Any] | None) -> Workload | None:
        if deployment is None:
            return None
        spec = deployment.get("spec") or {}
        status = deployment.get("status") or {}
        meta = deployment.get("metadata") or {}
        desired = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas") or 0)
        observed = int(status.get("observedGeneration") or 0)
        generation = int(meta.get("generation") or 0)
        conditions = status.get("conditions") or []
        stalled = any(
            c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
            for c in conditions
        )
        return cls(
            desired=desired,
            replicas=int(status.get("replicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            updated=updated,
            rollout_complete=observed >= generation and updated >= desired,
            stalled=stalled,
        )

    @classmethod
    def last_seen(cls, previous: Mapping[str, Any] | None) -> Workload | None:
        """The counts the status last reported, for a reconcile that did not read the
        Deployment (invalid spec, API trouble): nothing is known to have changed, so a
        router that was serving is not reported as down."""
        previous = previous or {}
        if "replicas" not in previous:
            return None
        replicas = int(previous.get("replicas") or 0)
        return cls(
            desired=replicas,
            replicas=replicas,
            ready=int(previous.get("readyReplicas") or 0),
            updated=replicas,
            rollout_complete=True,
            stalled=False,
        )


@dataclass(frozen=True)
class Observation:
    """Everything `compute` needs, gathered by the handlers."""

    generation: int
    gateway_mode: GatewayMode = "standalone"
    routes_enabled: bool = False
    release: ReleaseInfo | None = None
    workload: Workload | None = None
    backends: Sequence[BackendResult] | None = None  # None: not discovered this time
    route: Mapping[str, Any] | None = None
    problem: Problem | None = None
    gateway: gateway.GatewayState | None = None  # gateway mode: the Gateway and HTTPRoute read
    # What the release left out of the spec (a Route on plain Kubernetes): the router is
    # Degraded for it once everything else is as asked.
    shortfall: Problem | None = None
    # The repairs of owned objects (reactions.Reactions); None: as the status last said.
    drift_repair: Mapping[str, Any] | None = None


def admitted_host(route: Mapping[str, Any] | None) -> str | None:
    """The host a router admitted for this Route (status.ingress[]), if any."""
    for ingress in ((route or {}).get("status") or {}).get("ingress") or []:
        admitted = any(
            c.get("type") == "Admitted" and c.get("status") == "True"
            for c in ingress.get("conditions") or []
        )
        if admitted and ingress.get("host"):
            return str(ingress["host"])
    return None


def phase(obs: Observation) -> tuple[Phase, str, str]:
    """The phase, with the reason and message that explain it."""
    problem, release, workload = obs.problem, obs.release, obs.workload
    if problem is not None and problem.kind is ProblemKind.INVALID_SPEC:
        return Phase.FAILED, problem.reason, problem.message
    serving = workload is not None and workload.ready > 0
    if release is None:
        if problem is None:
            return Phase.PENDING, "Pending", "waiting for the first release"
        if problem.kind in (ProblemKind.NO_BACKENDS, ProblemKind.API):
            return Phase.PENDING, problem.reason, problem.message
        return Phase.FAILED, problem.reason, problem.message
    if problem is not None or release.failed:
        reason = problem.reason if problem else "ReleaseFailed"
        message = problem.message if problem else f"helm release {release.name} is failed"
        return (Phase.DEGRADED if serving else Phase.FAILED), reason, message
    if not release.deployed:
        return Phase.PROGRESSING, "ReleasePending", f"helm release is {release.status}"
    if workload is None:
        return Phase.PROGRESSING, "WaitingForDeployment", "the router Deployment is not there yet"
    counts = f"{workload.ready}/{workload.desired} replicas ready"
    if workload.stalled:
        return Phase.DEGRADED, "ProgressDeadlineExceeded", f"rollout stalled; {counts}"
    if not workload.rollout_complete:
        return Phase.PROGRESSING, "RolloutInProgress", f"rolling out; {counts}"
    if workload.ready < workload.desired:
        if workload.ready > 0:
            return Phase.DEGRADED, "ReplicasUnavailable", counts
        return Phase.PROGRESSING, "ReplicasStarting", counts
    unresolved = [b for b in obs.backends or () if not b.resolved]
    if unresolved:
        names = ", ".join(b.endpoint for b in unresolved)
        return Phase.DEGRADED, "BackendDiscoveryFailed", f"{counts}; unresolved backends: {names}"
    gateway_problem = gateway.problem(obs.gateway)
    if gateway_problem is not None:
        return Phase.DEGRADED, gateway_problem[0], f"{counts}; {gateway_problem[1]}"
    if obs.shortfall is not None:
        return Phase.DEGRADED, obs.shortfall.reason, obs.shortfall.message
    return Phase.RUNNING, "Available", counts + gateway.note(obs.gateway)


def _condition(status: bool | None, reason: str, message: str) -> dict[str, Any]:
    text = "Unknown" if status is None else ("True" if status else "False")
    return {"status": text, "reason": reason, "message": message}


def _available_condition(workload: Workload | None) -> dict[str, Any]:
    """Whether the router serves: at least one replica ready (a Deployment's own sense of
    Available), whatever else the phase says. What `kubectl wait --for=condition=Available`
    waits for."""
    if workload is None:
        return _condition(False, "NoDeployment", "the router Deployment is not there yet")
    counts = f"{workload.ready}/{workload.desired} replicas ready"
    if workload.ready > 0 or workload.desired == 0:
        return _condition(True, "MinimumReplicasAvailable", counts)
    return _condition(False, "MinimumReplicasUnavailable", counts)


def _backends_condition(backends: Sequence[BackendResult] | None) -> dict[str, Any]:
    if backends is None:
        return _condition(None, "NotDiscovered", "backends were not discovered")
    resolved = sum(1 for b in backends if b.resolved)
    failed = [b for b in backends if not b.resolved]
    detail = "; ".join(f"{b.endpoint}: {b.message}" for b in failed)
    if not backends:
        return _condition(False, "NoBackendsFound", "spec.vllmEndpoints is empty")
    if resolved == 0:
        return _condition(False, "NoBackendsFound", f"0/{len(backends)} resolved; {detail}")
    if failed:
        return _condition(
            False, "BackendDiscoveryFailed", f"{resolved}/{len(backends)} resolved; {detail}"
        )
    return _condition(True, "Resolved", f"{resolved}/{len(backends)} backends resolved")


def conditions(obs: Observation, current: Phase, reason: str, message: str) -> dict[str, Any]:
    """The six conditions (without timestamps), keyed by type."""
    release_failed = (obs.problem is not None and obs.problem.kind is ProblemKind.RELEASE) or (
        obs.release is not None and obs.release.failed
    )
    if release_failed:
        release = _condition(True, reason, message)
    elif obs.release is not None:
        release = _condition(
            False, "ReleaseDeployed", f"revision {obs.release.revision} is {obs.release.status}"
        )
    else:
        release = _condition(False, "NoRelease", "nothing has been released yet")
    return {
        "Ready": _condition(current is Phase.RUNNING, reason, message),
        "Available": _available_condition(obs.workload),
        "Progressing": _condition(current is Phase.PROGRESSING, reason, message),
        "Degraded": _condition(current is Phase.DEGRADED, reason, message),
        "ReleaseFailed": release,
        "BackendsResolved": _backends_condition(obs.backends),
    }


def merge_conditions(
    previous: Sequence[Mapping[str, Any]],
    fresh: Mapping[str, Mapping[str, Any]],
    now: str,
    generation: int,
) -> list[dict[str, Any]]:
    """Fresh conditions with lastTransitionTime kept when the status did not change."""
    before = {str(c.get("type")): c for c in previous}
    merged = []
    for kind in CONDITION_TYPES:
        cond = {"type": kind, **fresh[kind], "observedGeneration": generation}
        old = before.get(kind)
        if (
            old is not None
            and old.get("status") == cond["status"]
            and old.get("lastTransitionTime")
        ):
            cond["lastTransitionTime"] = old["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = now
        merged.append(cond)
    return merged


def compute(obs: Observation, previous: Mapping[str, Any] | None, now: str) -> SemanticRouterStatus:
    """The whole status stanza. `previous` is the current status; `now` an RFC 3339 time."""
    previous = previous or {}
    current, reason, message = phase(obs)
    host = admitted_host(obs.route) if obs.routes_enabled else None
    if obs.backends is None:
        backends = list(previous.get("backends") or [])
    else:
        backends = [b.as_status() for b in obs.backends]
    drift_repair = obs.drift_repair if obs.drift_repair is not None else previous.get("driftRepair")
    return SemanticRouterStatus.model_validate(
        {
            "phase": current,
            "replicas": obs.workload.replicas if obs.workload else 0,
            "readyReplicas": obs.workload.ready if obs.workload else 0,
            "observedGeneration": obs.generation,
            "gatewayMode": obs.gateway_mode,
            "openshiftFeatures": OpenShiftFeaturesStatus(
                routes_enabled=obs.routes_enabled, route_hostname=host or None
            ),
            "conditions": merge_conditions(
                previous.get("conditions") or [],
                conditions(obs, current, reason, message),
                now,
                obs.generation,
            ),
            "backends": backends,
            "release": release_status(obs.release) if obs.release is not None else None,
            "driftRepair": dict(drift_repair) if drift_repair else None,
        }
    )


def as_patch(previous: Mapping[str, Any] | None, computed: SemanticRouterStatus) -> dict[str, Any]:
    """A merge patch from `previous` to `computed` (its dump, unset fields left out):
    owned keys that disappeared become null."""
    fresh = computed.to_dict()
    patch: dict[str, Any] = dict(fresh)
    for key in OWNED_KEYS:
        if key in (previous or {}) and key not in fresh:
            patch[key] = None
    nested = (previous or {}).get("openshiftFeatures") or {}
    if "routeHostname" in nested and "routeHostname" not in fresh.get("openshiftFeatures", {}):
        patch["openshiftFeatures"] = {**fresh.get("openshiftFeatures", {}), "routeHostname": None}
    return patch


def changed(previous: Mapping[str, Any] | None, computed: SemanticRouterStatus) -> bool:
    """True when writing `computed` would change an owned key of `previous`."""
    previous = previous or {}
    fresh = computed.to_dict()
    return any(previous.get(key) != fresh.get(key) for key in OWNED_KEYS)


def release_state(computed: SemanticRouterStatus) -> str | None:
    """The state the release_state metric shows: helm's status of the release, "failed"
    while the last helm run failed, nothing while there is no release."""
    for cond in computed.conditions or []:
        if cond.type == "ReleaseFailed" and cond.status == "True":
            return "failed"
    release = computed.release
    return release.status if release is not None and release.status else None


def reported(previous: Mapping[str, Any] | None, message: str) -> bool:
    """True when the status already shows `message` as a failure (Ready False or
    ReleaseFailed True)."""
    for cond in (previous or {}).get("conditions") or []:
        failing = (cond.get("type"), cond.get("status")) in (
            ("Ready", "False"),
            ("ReleaseFailed", "True"),
        )
        if failing and str(cond.get("message") or "").startswith(message):
            return True
    return False
