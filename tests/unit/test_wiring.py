"""The watches find a release's SemanticRouter in the operator's index of routers."""

from __future__ import annotations

from semantic_router_operator import names
from semantic_router_operator.wiring import router_name

LONG = "r" * 70


def test_a_long_router_name_is_found_from_its_shortened_release_name() -> None:
    index: dict[str, list[tuple[str, str, dict[str, str]]]] = {
        "team": [("2026-01-02T00:00:00Z", LONG, {}), ("2026-01-01T00:00:00Z", "a", {})]
    }
    assert router_name(index, "team", names.release_name(LONG)) == LONG
    assert router_name(index, "team", "a") == "a"


def test_before_the_index_is_known_the_release_names_its_router() -> None:
    assert router_name(None, "team", "a") == "a"
    assert router_name({}, "team", "b") == "b"
