"""Status: phase, conditions, release and backends, computed from what was observed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pydantic
import pytest
from semantic_router_operator import models, status
from semantic_router_operator.discovery import Address, BackendResult
from semantic_router_operator.models import OpenShiftFeaturesStatus, Phase, SemanticRouterStatus
from semantic_router_operator.release import ReleaseInfo
from semantic_router_operator.status import (
    Observation,
    Problem,
    ProblemKind,
    Workload,
)

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:05:00Z"

RELEASE = ReleaseInfo("my-router", "default", 1, "deployed", "0.1.0", digest="sha256:abc")
OK = BackendResult("llama3", "kserve", Address("h", 8443, "https"), "InferenceService ns/x")
MISSING = BackendResult("qwen", "service", None, "Service ns/vllm-qwen not found")


def deployment(desired: int, ready: int, updated: int | None = None, **extra: Any) -> Any:
    return {
        "metadata": {"generation": 2},
        "spec": {"replicas": desired},
        "status": {
            "observedGeneration": 2,
            "replicas": desired,
            "readyReplicas": ready,
            "updatedReplicas": desired if updated is None else updated,
            **extra,
        },
    }


def workload(desired: int, ready: int, updated: int | None = None) -> Workload:
    got = Workload.from_deployment(deployment(desired, ready, updated))
    assert got is not None
    return got


def written(obs: Observation, previous: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """The status as the operator writes it: the dump of the computed model."""
    return status.compute(obs, previous, now).to_dict()


def conds(stat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in stat["conditions"]}


def test_ready_deployment_with_a_deployed_release_is_running() -> None:
    obs = Observation(generation=3, release=RELEASE, workload=workload(2, 2), backends=[OK])
    got = written(obs, None, T0)
    assert got["phase"] == "Running"
    assert got["replicas"] == 2
    assert got["readyReplicas"] == 2
    assert got["observedGeneration"] == 3
    assert got["gatewayMode"] == "standalone"
    assert got["release"] == {
        "name": "my-router",
        "revision": 1,
        "chartVersion": "0.1.0",
        "status": "deployed",
        "digest": "sha256:abc",
    }
    c = conds(got)
    assert [c[t]["status"] for t in status.CONDITION_TYPES] == [
        "True",
        "True",
        "False",
        "False",
        "False",
        "True",
    ]
    assert c["Ready"]["reason"] == "Available"
    assert c["Ready"]["message"] == "2/2 replicas ready"
    assert all(x["lastTransitionTime"] == T0 and x["observedGeneration"] == 3 for x in c.values())
    assert got["backends"] == [OK.as_status()]


def test_nothing_released_yet_is_pending() -> None:
    got = written(Observation(generation=1), None, T0)
    assert got["phase"] == "Pending"
    assert "release" not in got
    assert conds(got)["ReleaseFailed"]["reason"] == "NoRelease"
    assert conds(got)["BackendsResolved"]["status"] == "Unknown"


@pytest.mark.parametrize(
    ("desired", "ready", "updated", "expected", "reason"),
    [
        (2, 0, 2, Phase.PROGRESSING, "ReplicasStarting"),
        (2, 1, 1, Phase.PROGRESSING, "RolloutInProgress"),
        (3, 1, 3, Phase.DEGRADED, "ReplicasUnavailable"),
        (0, 0, 0, Phase.RUNNING, "Available"),
    ],
)
def test_workload_replica_counts_decide_the_phase(
    desired: int, ready: int, updated: int, expected: Phase, reason: str
) -> None:
    obs = Observation(generation=1, release=RELEASE, workload=workload(desired, ready, updated))
    assert status.phase(obs)[:2] == (expected, reason)


def test_release_without_a_deployment_yet_is_progressing() -> None:
    got = written(Observation(generation=1, release=RELEASE), None, T0)
    assert got["phase"] == "Progressing"
    assert conds(got)["Progressing"]["status"] == "True"
    assert got["replicas"] == 0


def test_the_last_seen_workload_is_what_the_status_last_reported() -> None:
    seen = Workload.last_seen({"phase": "Running", "replicas": 2, "readyReplicas": 1})
    assert seen is not None
    assert (seen.replicas, seen.ready, seen.stalled) == (2, 1, False)
    assert Workload.last_seen({}) is None
    assert Workload.last_seen(None) is None


def test_api_trouble_on_a_router_last_seen_serving_is_degraded_not_failed() -> None:
    obs = Observation(
        generation=2,
        release=ReleaseInfo("r", "ns", 1, "deployed", "0.1.0", digest="d"),
        workload=Workload.last_seen({"replicas": 1, "readyReplicas": 1}),
        problem=Problem(ProblemKind.API, "KubernetesApiError", "reading /api failed"),
    )
    assert status.phase(obs)[0] is Phase.DEGRADED
    assert status.phase(replace(obs, workload=None))[0] is Phase.FAILED


def test_stalled_rollout_is_degraded() -> None:
    cond = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    wl = Workload.from_deployment(deployment(2, 1, 1, conditions=[cond]))
    assert (
        status.phase(Observation(generation=1, release=RELEASE, workload=wl))[0] is Phase.DEGRADED
    )


def test_invalid_spec_fails_with_the_field_in_the_ready_condition() -> None:
    problem = Problem(
        ProblemKind.INVALID_SPEC, "InvalidSpec", "spec.replicas: Input should be a valid integer"
    )
    got = written(Observation(generation=4, problem=problem), None, T0)
    assert got["phase"] == "Failed"
    ready = conds(got)["Ready"]
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidSpec"
    assert ready["message"] == problem.message


def test_invalid_spec_update_fails_even_while_the_old_release_serves() -> None:
    problem = Problem(ProblemKind.INVALID_SPEC, "InvalidSpec", "spec.x: bad")
    obs = Observation(generation=2, release=RELEASE, workload=workload(1, 1), problem=problem)
    assert status.phase(obs)[0] is Phase.FAILED


def test_failed_first_release_sets_release_failed_and_phase_failed() -> None:
    problem = Problem(ProblemKind.RELEASE, "HelmError", "helm upgrade failed: timed out")
    got = written(Observation(generation=1, problem=problem, backends=[OK]), None, T0)
    assert got["phase"] == "Failed"
    rf = conds(got)["ReleaseFailed"]
    assert (rf["status"], rf["reason"], rf["message"]) == (
        "True",
        "HelmError",
        "helm upgrade failed: timed out",
    )


def test_failed_upgrade_while_old_pods_serve_is_degraded() -> None:
    problem = Problem(ProblemKind.RELEASE, "HelmError", "helm upgrade failed")
    obs = Observation(generation=2, release=RELEASE, workload=workload(2, 2), problem=problem)
    got = written(obs, None, T0)
    assert got["phase"] == "Degraded"
    assert conds(got)["ReleaseFailed"]["status"] == "True"
    assert conds(got)["Degraded"]["status"] == "True"


def test_helm_reporting_a_failed_release_sets_release_failed() -> None:
    failed = ReleaseInfo("r", "default", 2, "failed", "0.1.0", digest="d")
    got = written(Observation(generation=2, release=failed), None, T0)
    assert got["phase"] == "Failed"
    assert conds(got)["ReleaseFailed"]["status"] == "True"


def test_pending_helm_release_is_progressing() -> None:
    pending = ReleaseInfo("r", "default", 2, "pending-upgrade", "0.1.0", digest="d")
    assert status.phase(Observation(generation=2, release=pending))[0] is Phase.PROGRESSING


def test_missing_storage_class_without_a_release_fails_and_names_the_reason() -> None:
    problem = Problem(ProblemKind.STORAGE, "StorageClassNotFound", "spec.persistence...")
    got = written(Observation(generation=1, problem=problem), None, T0)
    assert got["phase"] == "Failed"
    assert conds(got)["Ready"]["reason"] == "StorageClassNotFound"


def test_no_backends_before_any_release_is_pending_and_says_so() -> None:
    problem = Problem(ProblemKind.NO_BACKENDS, "NoBackendsFound", "0/1 backends resolved")
    got = written(Observation(generation=1, problem=problem, backends=[MISSING]), None, T0)
    assert got["phase"] == "Pending"
    bc = conds(got)["BackendsResolved"]
    assert (bc["status"], bc["reason"]) == ("False", "NoBackendsFound")
    assert "Service ns/vllm-qwen not found" in bc["message"]


def test_some_unresolved_backends_make_a_running_router_degraded() -> None:
    obs = Observation(
        generation=1, release=RELEASE, workload=workload(1, 1), backends=[OK, MISSING]
    )
    got = written(obs, None, T0)
    assert got["phase"] == "Degraded"
    bc = conds(got)["BackendsResolved"]
    assert (bc["status"], bc["reason"]) == ("False", "BackendDiscoveryFailed")
    assert bc["message"].startswith("1/2 resolved; qwen:")


def test_empty_endpoint_list_reports_no_backends() -> None:
    got = written(Observation(generation=1, backends=[]), None, T0)
    assert conds(got)["BackendsResolved"]["reason"] == "NoBackendsFound"


def test_transition_time_only_moves_when_a_condition_status_changes() -> None:
    progressing = Observation(generation=1, release=RELEASE, workload=workload(2, 0), backends=[OK])
    first = written(progressing, None, T0)
    running = Observation(generation=1, release=RELEASE, workload=workload(2, 2), backends=[OK])
    second = written(running, first, T1)
    c = conds(second)
    assert c["Ready"]["lastTransitionTime"] == T1
    assert c["Progressing"]["lastTransitionTime"] == T1
    assert c["Degraded"]["lastTransitionTime"] == T0
    assert c["BackendsResolved"]["lastTransitionTime"] == T0
    third = written(running, second, "2026-01-01T01:00:00Z")
    assert third == second


def route(host: str, admitted: str) -> dict[str, Any]:
    cond = {"type": "Admitted", "status": admitted}
    return {"spec": {"host": host}, "status": {"ingress": [{"host": host, "conditions": [cond]}]}}


def test_route_hostname_is_reported_once_the_route_is_admitted() -> None:
    host = "semantic-router-default.apps.openshift.example.com"
    obs = Observation(generation=1, routes_enabled=True, route=route(host, "True"))
    assert written(obs, None, T0)["openshiftFeatures"] == {
        "routesEnabled": True,
        "routeHostname": host,
    }
    not_admitted = Observation(generation=1, routes_enabled=True, route=route(host, "False"))
    assert written(not_admitted, None, T0)["openshiftFeatures"] == {"routesEnabled": True}


def test_routes_disabled_reports_no_hostname() -> None:
    obs = Observation(generation=1, routes_enabled=False, route=route("h", "True"))
    assert written(obs, None, T0)["openshiftFeatures"] == {"routesEnabled": False}


def test_backends_not_rediscovered_keep_the_previous_entries() -> None:
    previous = written(Observation(generation=1, backends=[OK]), None, T0)
    again = written(Observation(generation=1), previous, T1)
    assert again["backends"] == [OK.as_status()]


def test_release_info_round_trips_through_the_status() -> None:
    recorded = {"release": status.release_status(RELEASE).to_dict()}
    assert status.release_from_status(recorded, "default") == RELEASE
    assert status.release_from_status({}, "default") is None
    assert status.release_from_status({"release": {"name": "x"}}, "default") is None


def test_a_release_helm_gave_no_chart_version_or_digest_is_written_with_empty_ones() -> None:
    bare = ReleaseInfo("r", "default", 3, "deployed", None)
    assert status.release_status(bare).to_dict() == {
        "name": "r",
        "revision": 3,
        "chartVersion": "",
        "status": "deployed",
        "digest": "",
    }


def test_patch_nulls_owned_keys_that_disappeared_and_keeps_foreign_ones() -> None:
    previous = {
        "release": status.release_status(RELEASE).to_dict(),
        "openshiftFeatures": {"routesEnabled": True, "routeHostname": "h"},
        "kopf": {"progress": {}},
    }
    fresh = SemanticRouterStatus(
        phase=Phase.PENDING, openshift_features=OpenShiftFeaturesStatus(routes_enabled=False)
    )
    patch = status.as_patch(previous, fresh)
    assert patch == {
        "phase": "Pending",
        "openshiftFeatures": {"routesEnabled": False, "routeHostname": None},
        "release": None,
    }
    assert status.changed(previous, fresh)
    assert not status.changed(fresh.to_dict(), fresh)


@pytest.mark.parametrize(
    "obs",
    [
        Observation(generation=1),
        Observation(
            generation=2,
            gateway_mode="gateway-integration",
            routes_enabled=True,
            route=route("h.example.com", "True"),
            release=RELEASE,
            workload=workload(2, 1),
            backends=[OK, MISSING],
        ),
        Observation(
            generation=3,
            problem=Problem(ProblemKind.INVALID_SPEC, "InvalidSpec", "spec.replicas: bad"),
        ),
    ],
)
def test_the_written_status_reads_back_as_the_computed_model(obs: Observation) -> None:
    computed = status.compute(obs, None, T0)
    assert isinstance(computed, SemanticRouterStatus)
    assert models.parse_status(computed.to_dict()) == computed


def test_a_status_the_api_schema_refuses_is_never_computed() -> None:
    problem = Problem(ProblemKind.RELEASE, "helm failed", "a reason must be CamelCase")
    with pytest.raises(pydantic.ValidationError, match="reason"):
        status.compute(Observation(generation=1, problem=problem), None, T0)


@pytest.mark.parametrize(
    ("desired", "ready", "updated", "available", "reason"),
    [
        (2, 2, 2, "True", "MinimumReplicasAvailable"),
        (3, 1, 3, "True", "MinimumReplicasAvailable"),
        (2, 1, 1, "True", "MinimumReplicasAvailable"),
        (2, 0, 2, "False", "MinimumReplicasUnavailable"),
        (0, 0, 0, "True", "MinimumReplicasAvailable"),
    ],
)
def test_available_follows_the_ready_replicas_whatever_the_phase(
    desired: int, ready: int, updated: int, available: str, reason: str
) -> None:
    obs = Observation(generation=1, release=RELEASE, workload=workload(desired, ready, updated))
    got = conds(written(obs, None, T0))["Available"]
    assert (got["status"], got["reason"]) == (available, reason)
    assert got["message"] == f"{ready}/{desired} replicas ready"


def test_without_a_deployment_nothing_is_available() -> None:
    got = conds(written(Observation(generation=4), None, T0))["Available"]
    assert (got["status"], got["reason"], got["observedGeneration"]) == (
        "False",
        "NoDeployment",
        4,
    )


def test_a_failed_upgrade_keeps_available_true_while_the_old_release_serves() -> None:
    problem = Problem(ProblemKind.RELEASE, "QuotaExceeded", "helm upgrade failed")
    obs = Observation(generation=2, release=RELEASE, workload=workload(2, 2, 2), problem=problem)
    got = written(obs, None, T0)
    assert got["phase"] == "Degraded"
    assert conds(got)["Available"]["status"] == "True"
    assert conds(got)["Ready"]["status"] == "False"


ROUTES_LEFT_OUT = Problem(ProblemKind.PLATFORM, "RoutesNeedOpenShift", "the Route is left out")


def test_a_shortfall_makes_an_otherwise_running_router_degraded_and_still_available() -> None:
    obs = Observation(
        generation=1, release=RELEASE, workload=workload(2, 2, 2), shortfall=ROUTES_LEFT_OUT
    )
    got = written(obs, None, T0)
    assert got["phase"] == "Degraded"
    c = conds(got)
    assert (c["Degraded"]["status"], c["Degraded"]["reason"]) == ("True", "RoutesNeedOpenShift")
    assert c["Degraded"]["message"] == "the Route is left out"
    assert c["Ready"]["status"] == "False"
    assert c["Available"]["status"] == "True"
    assert c["ReleaseFailed"]["status"] == "False"


def test_a_shortfall_waits_behind_the_rollout_it_does_not_explain() -> None:
    obs = Observation(
        generation=1, release=RELEASE, workload=workload(2, 0, 2), shortfall=ROUTES_LEFT_OUT
    )
    assert status.phase(obs)[:2] == (Phase.PROGRESSING, "ReplicasStarting")


def test_every_condition_carries_the_generation_of_the_spec_it_describes() -> None:
    obs = Observation(generation=7, release=RELEASE, workload=workload(1, 1, 1))
    got = written(obs, None, T0)
    assert [c["type"] for c in got["conditions"]] == list(status.CONDITION_TYPES)
    assert {c["observedGeneration"] for c in got["conditions"]} == {7}


def test_the_drift_repair_report_is_written_and_kept_until_a_newer_one() -> None:
    report = {"repairs": 1, "limit": "at most 3 repairs in 300s", "lastRepaired": "x"}
    obs = Observation(generation=1, release=RELEASE, drift_repair=report)
    first = written(obs, {}, T0)
    assert first["driftRepair"] == report
    kept = written(Observation(generation=1, release=RELEASE), first, T1)
    assert kept["driftRepair"] == report
    assert "driftRepair" not in written(Observation(generation=1), {}, T0)
