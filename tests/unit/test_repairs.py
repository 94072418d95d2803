"""The repair budget: a flapping object cannot make helm run in a loop."""

from __future__ import annotations

from semantic_router_operator.repairs import RepairBudget, RepairLimit


def test_repairs_beyond_the_burst_wait_until_the_oldest_leaves_the_window() -> None:
    budget = RepairBudget(RepairLimit(burst=3, window=300.0))
    assert [budget.take(t) for t in (0.0, 10.0, 20.0)] == [True, True, True]
    assert budget.take(30.0) is False
    assert budget.limited(30.0)
    assert budget.next_allowed(30.0) == 300.0
    assert budget.take(300.0) is True
    assert budget.total == 4


def test_a_refused_repair_is_not_counted() -> None:
    budget = RepairBudget(RepairLimit(burst=1, window=60.0))
    assert budget.take(0.0)
    assert not budget.take(1.0)
    assert not budget.take(2.0)
    assert budget.total == 1
    assert budget.next_allowed(2.0) == 60.0


def test_the_limit_describes_itself_for_the_status() -> None:
    assert RepairLimit(3, 300.0).describe() == "at most 3 repairs in 300s"
