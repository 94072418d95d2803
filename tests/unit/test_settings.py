"""Operator settings come from SR_OPERATOR_* variables, with clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from semantic_router_operator import settings
from semantic_router_operator.release import ReleaseSettings
from semantic_router_operator.settings import Settings, SettingsError, from_env


def test_empty_environment_gives_defaults_that_watch_every_namespace() -> None:
    got = from_env({})
    assert got == Settings()
    assert got.clusterwide
    assert got.namespaces == ()
    assert got.helm_concurrency >= 1
    assert got.timer_interval > 0


def test_default_chart_path_in_a_source_checkout_is_the_repository_chart() -> None:
    assert settings.default_chart_path() in (settings.IMAGE_CHART_PATH, settings.SOURCE_CHART_PATH)
    assert settings.SOURCE_CHART_PATH.parts[-2:] == ("charts", "semantic-router")


def test_every_setting_is_read_from_its_prefixed_variable() -> None:
    got = from_env(
        {
            "SR_OPERATOR_NAMESPACES": " team-a, team-b ,team-a,",
            "SR_OPERATOR_HELM_BINARY": "/usr/local/bin/helm",
            "SR_OPERATOR_CHART_PATH": "/charts/semantic-router",
            "SR_OPERATOR_HELM_CONCURRENCY": "2",
            "SR_OPERATOR_TIMER_INTERVAL": "15.5",
            "SR_OPERATOR_HELM_TIMEOUT": "120",
            "SR_OPERATOR_RETRY_BACKOFF": "2.5",
            "SR_OPERATOR_RETRY_BACKOFF_MAX": "40",
            "SR_OPERATOR_RELEASE_HISTORY": "3",
            "SR_OPERATOR_METRICS_PORT": "0",
            "SR_OPERATOR_LIVENESS_ENDPOINT": "",
            "SR_OPERATOR_PEERING_NAME": "semantic-router",
            "UNRELATED": "ignored",
        }
    )
    assert got.namespaces == ("team-a", "team-b")
    assert not got.clusterwide
    assert got.helm_binary == "/usr/local/bin/helm"
    assert got.chart_path == Path("/charts/semantic-router")
    assert got.helm_concurrency == 2
    assert got.timer_interval == 15.5
    assert got.helm_timeout == 120.0
    assert (got.retry_backoff, got.retry_backoff_max) == (2.5, 40.0)
    assert got.release_history == 3
    assert got.metrics_port == 0
    assert got.liveness_endpoint == ""
    assert got.peering_name == "semantic-router"


@pytest.mark.parametrize("raw", ["", "*", "  "])
def test_empty_or_star_namespaces_mean_all_namespaces(raw: str) -> None:
    assert from_env({"SR_OPERATOR_NAMESPACES": raw}).clusterwide


@pytest.mark.parametrize("raw", ["team-*", "!kube-system", "team-a,Team-B", "team_a"])
def test_namespace_patterns_and_bad_names_are_refused_naming_the_entry(raw: str) -> None:
    with pytest.raises(SettingsError) as err:
        from_env({"SR_OPERATOR_NAMESPACES": raw})
    message = str(err.value)
    assert f"SR_OPERATOR_NAMESPACES={raw!r}" in message
    assert "is not a namespace name; patterns are not supported" in message
    assert "exact names" in message


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("HELM_CONCURRENCY", "0", "at least 1"),
        ("HELM_CONCURRENCY", "many", "a whole number"),
        ("TIMER_INTERVAL", "-1", "seconds greater than 0"),
        ("HELM_TIMEOUT", "soon", "seconds greater than 0"),
        ("RETRY_BACKOFF", "0", "seconds greater than 0"),
        ("RETRY_BACKOFF_MAX", "never", "seconds greater than 0"),
        ("RELEASE_HISTORY", "0", "at least 1"),
        ("METRICS_PORT", "70000", "port number"),
        ("HELM_BINARY", " ", "helm executable"),
    ],
)
def test_bad_value_names_the_variable_and_the_expected_form(
    key: str, raw: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as err:
        from_env({f"SR_OPERATOR_{key}": raw})
    assert f"SR_OPERATOR_{key}={raw!r}" in str(err.value)
    assert expected in str(err.value)


def test_misspelled_setting_is_rejected_with_the_list_of_known_ones() -> None:
    with pytest.raises(SettingsError) as err:
        from_env({"SR_OPERATOR_NAMESPACE": "default"})
    assert "SR_OPERATOR_NAMESPACE" in str(err.value)
    assert "SR_OPERATOR_NAMESPACES" in str(err.value)


def test_retry_backoff_defaults_to_30_seconds_doubling_to_15_minutes() -> None:
    got = from_env({})
    assert (got.retry_backoff, got.retry_backoff_max) == (30.0, 900.0)


def test_a_first_retry_longer_than_the_default_maximum_raises_the_maximum_with_it() -> None:
    got = from_env({"SR_OPERATOR_RETRY_BACKOFF": "1200"})
    assert (got.retry_backoff, got.retry_backoff_max) == (1200.0, 1200.0)


def test_a_retry_maximum_below_the_first_retry_is_refused_naming_both_variables() -> None:
    with pytest.raises(SettingsError) as err:
        from_env({"SR_OPERATOR_RETRY_BACKOFF": "60", "SR_OPERATOR_RETRY_BACKOFF_MAX": "10"})
    message = str(err.value)
    assert "SR_OPERATOR_RETRY_BACKOFF_MAX='10' is invalid" in message
    assert "SR_OPERATOR_RETRY_BACKOFF=60" in message


def test_the_history_default_is_one_value_the_documented_ten_revisions() -> None:
    chart = Path("chart")
    assert Settings().release_history == ReleaseSettings(chart=chart).history_max == 10
    assert Settings().release_settings().history_max == 10


def test_the_release_settings_are_derived_from_the_operator_settings() -> None:
    got = from_env(
        {
            "SR_OPERATOR_HELM_BINARY": "/opt/helm",
            "SR_OPERATOR_CHART_PATH": "/charts/semantic-router",
            "SR_OPERATOR_HELM_TIMEOUT": "120.5",
            "SR_OPERATOR_RELEASE_HISTORY": "3",
            "SR_OPERATOR_HELM_CONCURRENCY": "2",
        }
    ).release_settings()
    assert got == ReleaseSettings(
        helm="/opt/helm",
        chart=Path("/charts/semantic-router"),
        timeout_seconds=120,
        history_max=3,
        max_concurrent=2,
    )


def test_the_release_defaults_are_the_operator_defaults() -> None:
    derived = Settings().release_settings()
    assert derived == ReleaseSettings(chart=settings.default_chart_path())


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("helm_concurrency", 0, "must be at least 1"),
        ("timer_jitter", -1, "must be 0 or more"),
        ("lease_duration", 2, "must be at least 3"),
        ("metrics_port", 70000, "port number"),
        ("namespaces", ("team-*",), "patterns are not supported"),
        ("lease_namespace", "Team", "is not a namespace name"),
        ("leader_election", "yes", "must be true or false"),
    ],
)
def test_settings_built_in_code_meet_the_rules_of_the_environment(
    field: str, value: object, reason: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=reason):
        Settings(**{field: value})


def test_settings_built_in_code_raise_the_retry_maximum_with_the_first_retry() -> None:
    assert Settings(retry_backoff=1200).retry_backoff_max == 1200.0
    with pytest.raises(pydantic.ValidationError, match="below SR_OPERATOR_RETRY_BACKOFF=60"):
        Settings(retry_backoff=60, retry_backoff_max=10)


def test_the_variables_are_the_prefixed_setting_names_in_field_order() -> None:
    assert list(settings.variables()) == [
        f"SR_OPERATOR_{name.upper()}" for name in Settings.model_fields if name != "related_images"
    ]


# Settings for which any text is valid (used as given, or any non-empty text).
_FREE_TEXT = {"helm_binary", "chart_path", "lease_name", "liveness_endpoint", "peering_name"}


@pytest.mark.parametrize(
    ("variable", "field"),
    [(v, f) for v, f in settings.variables().items() if f not in _FREE_TEXT],
)
def test_every_checked_setting_refuses_garbage_asking_for_its_described_form(
    variable: str, field: str
) -> None:
    with pytest.raises(SettingsError) as err:
        from_env({variable: "not a value"})
    message = str(err.value)
    assert message.startswith(f"{variable}='not a value' is invalid (")
    assert message.endswith(f"; set it to {Settings.model_fields[field].description}")
