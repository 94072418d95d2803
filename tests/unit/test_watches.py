"""What a watch event of an owned object asks of its router."""

from __future__ import annotations

from semantic_router_operator.watches import Meaning, classify


def test_a_deleted_object_is_checked_for_drift() -> None:
    assert classify("DELETED", "Service", "d1", None) is Meaning.CHECK


def test_a_changed_content_is_checked_for_drift() -> None:
    assert classify("MODIFIED", "ConfigMap", "d1", "d2") is Meaning.CHECK


def test_a_deployment_status_change_refreshes_the_router_status() -> None:
    assert classify("MODIFIED", "Deployment", "d1", "d1") is Meaning.STATUS


def test_a_status_change_of_a_kind_the_status_does_not_show_is_ignored() -> None:
    assert classify("MODIFIED", "HorizontalPodAutoscaler", "d1", "d1") is None


def test_a_new_deployment_refreshes_the_status_and_a_new_service_asks_nothing() -> None:
    assert classify("ADDED", "Deployment", None, "d1") is Meaning.STATUS
    assert classify("ADDED", "Service", None, "d1") is None
