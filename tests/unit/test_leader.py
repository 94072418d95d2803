"""Leader election: what a replica does with the Lease as it finds it."""

from __future__ import annotations

import datetime

from semantic_router_operator import leader
from semantic_router_operator.leader import LeaseTerms, Verdict

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
TERMS = LeaseTerms("semantic-router-operator", "system", duration=10.0)


def held_by(holder: str | None, seconds_ago: float, duration: int = 10) -> dict[str, object]:
    renewed = NOW - datetime.timedelta(seconds=seconds_ago)
    return {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration,
        "renewTime": leader.micro_time(renewed),
        "leaseTransitions": 2,
    }


def test_a_missing_or_given_up_lease_is_taken() -> None:
    assert leader.decide(None, "b", NOW) is Verdict.ACQUIRE
    assert leader.decide(held_by(None, 1), "b", NOW) is Verdict.ACQUIRE


def test_a_lease_another_replica_renewed_lately_is_left_to_it() -> None:
    assert leader.decide(held_by("a", 9.5), "b", NOW) is Verdict.WAIT


def test_a_lease_not_renewed_for_its_duration_is_taken_over() -> None:
    assert leader.decide(held_by("a", 10.0), "b", NOW) is Verdict.ACQUIRE


def test_the_holder_renews_its_own_lease() -> None:
    assert leader.decide(held_by("b", 3), "b", NOW) is Verdict.RENEW


def test_taking_over_counts_a_transition_and_renewing_does_not() -> None:
    taken = leader.claimed(held_by("a", 20), "b", NOW, TERMS)
    assert taken["holderIdentity"] == "b"
    assert taken["leaseTransitions"] == 3
    assert taken["acquireTime"] == taken["renewTime"] == "2026-01-01T12:00:00.000000Z"
    assert taken["leaseDurationSeconds"] == 10
    renewed = leader.claimed(taken, "b", NOW + datetime.timedelta(seconds=2), TERMS)
    assert renewed["leaseTransitions"] == 3
    assert renewed["acquireTime"] == taken["acquireTime"]
    assert renewed["renewTime"] == "2026-01-01T12:00:02.000000Z"


def test_the_lease_lives_in_the_operators_namespace_by_default() -> None:
    assert leader.default_namespace(lambda: "semantic-router-operator-system\n") == (
        "semantic-router-operator-system"
    )

    def unreadable() -> str:
        raise OSError("not in a pod")

    assert leader.default_namespace(unreadable) == "default"
