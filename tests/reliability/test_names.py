"""SemanticRouter names up to Kubernetes' limit (a 253-character DNS subdomain): the helm
release (53 at most) and every object the chart derives from it (63, label values 63)
stay within their limits, unique and stable; short names are unchanged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, partial
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from semantic_router_operator import names
from semantic_router_operator.platform import Platform

from tests.chart.validators import KUBERNETES_VERSIONS, validate_kubernetes
from tests.reliability.harness import Env, measure
from tests.reliability.pipeline import helm_template
from tests.support.helm import CHART, render

pytestmark = pytest.mark.timeout(180)

HELM_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
EVERYTHING = CHART / "ci" / "everything-values.yaml"
OPTIONAL_APIS = ("monitoring.coreos.com/v1",)

LONGEST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
SHARED = "router-" + "x" * 240
TWINS = (SHARED + "-alpha", SHARED + "-omega")  # 253 characters, 247 in common
NAMES = (
    "my-router",
    "r" * 49,
    "r" * 50,
    "r" * 53,
    "0-router",
    "router.team-a",
    "router-team-a",
    "true",
    "on",
    "null",
    LONGEST,
    *TWINS,
)

label = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
dns_subdomain = (
    st.lists(label, min_size=1, max_size=8).map(".".join).filter(lambda n: len(n) <= 253)
)


@cache
def rendered(release: str) -> tuple[dict[str, Any], ...]:
    """Every object of the chart with every feature on, for `release` (real helm)."""
    return tuple(render([EVERYTHING], release=release, api_versions=OPTIONAL_APIS))


def object_names(objs: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objs}


def check_limits(objs: Sequence[dict[str, Any]]) -> None:
    for obj in objs:
        meta = obj["metadata"]
        assert len(meta["name"]) <= 63, f"{obj['kind']} {meta['name']}"
        for key, value in (meta.get("labels") or {}).items():
            assert len(str(value)) <= 63, f"{obj['kind']} label {key}={value}"


@pytest.mark.parametrize("name", NAMES, ids=lambda n: f"{n[:12]}..{len(n)}")
def test_every_name_a_router_derives_stays_within_kubernetes_limits(name: str) -> None:
    release = names.release_name(name)
    assert len(release) <= 53 and HELM_RELEASE.match(release)
    assert names.release_name(name) == release  # stable
    objs = rendered(release)
    check_limits(objs)
    for version in KUBERNETES_VERSIONS:
        validate_kubernetes(objs, version)
    [deployment] = [o for o in objs if o["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == names.fullname(release)
    assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == release


def test_a_short_name_is_used_unchanged() -> None:
    assert names.release_name("my-router") == "my-router"
    objs = rendered("my-router")
    assert ("Deployment", "my-router") in object_names(objs)
    assert ("PersistentVolumeClaim", "my-router-models") in object_names(objs)
    assert ("Service", "my-router-grpc-headless") in object_names(objs)


def test_two_long_names_sharing_a_long_prefix_get_distinct_releases_and_objects() -> None:
    first, second = (names.release_name(n) for n in TWINS)
    assert first != second
    assert object_names(rendered(first)).isdisjoint(object_names(rendered(second)))


@pytest.mark.parametrize("word", sorted(names.YAML_WORDS))
def test_a_name_yaml_reads_as_a_boolean_or_null_still_renders_as_a_string(word: str) -> None:
    # Values as the operator sends them (JSON): PyYAML would write "n" bare, which helm
    # reads as a boolean before any template runs.
    objs = helm_template({"serviceAccount": {"name": word}}, Platform.KUBERNETES, release=word)
    assert all(isinstance(o["metadata"]["name"], str) for o in objs)
    [deployment] = [o for o in objs if o["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == names.fullname(word) != word
    assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == word
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == word


def test_names_differing_only_by_a_dot_or_a_dash_do_not_collide() -> None:
    dotted, dashed = names.release_name("router.team-a"), names.release_name("router-team-a")
    assert object_names(rendered(dotted)).isdisjoint(object_names(rendered(dashed)))


@settings(max_examples=300, deadline=None)
@given(dns_subdomain, dns_subdomain)
def test_any_two_names_give_valid_distinct_releases_and_fullnames(a: str, b: str) -> None:
    for name in (a, b):
        release = names.release_name(name)
        assert len(release) <= 53 and HELM_RELEASE.match(release)
        full = names.fullname(release)
        assert len(full) <= names.FULLNAME_MAX
        assert re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", full), full
    if a != b:
        assert names.release_name(a) != names.release_name(b)
        assert names.fullname(names.release_name(a)) != names.fullname(names.release_name(b))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dns_subdomain)
def test_the_operator_names_the_deployment_as_the_chart_does(name: str) -> None:
    release = names.release_name(name)
    objs = render(release=release)
    [deployment] = [o for o in objs if o["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == names.fullname(release)


async def test_routers_with_the_longest_names_converge_and_are_uninstalled(env: Env) -> None:
    spec = {
        "persistence": {"enabled": False},
        "vllmEndpoints": [
            {
                "name": "qwen",
                "model": "qwen2.5-7b",
                "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
            }
        ],
    }
    await env.service("vllm-qwen")
    routers = (LONGEST, *TWINS)
    for name in routers:
        await env.create_router(name, spec)
    for name in routers:
        await env.wait(partial(env.converged, name, spec), f"{name[:20]}... deployed")
        release = names.release_name(name)
        assert (await env.status(name))["release"]["name"] == release
        # The operator reads back the Deployment the chart named: Running proves it.
        await env.make_ready(names.fullname(release))
        await env.wait(partial(is_running, env, name), f"{name[:20]}... running")
    assert env.store.release_names() == sorted(f"default/{names.release_name(n)}" for n in routers)
    for name in routers:
        await env.delete_router(name)
    for name in routers:
        await env.wait(partial(gone, env, name), f"{name[:20]}... gone")
    assert env.store.release_names() == []
    measure("names", routers=len(routers), helm_runs=[r.command for r in env.store.runs_of()])


async def gone(env: Env, name: str) -> bool:
    return await env.router(name) is None


async def is_running(env: Env, name: str) -> bool:
    return await env.phase(name) == "Running"


def everything_spec() -> dict[str, Any]:
    """The chart values the names come from, read as a spec (values mirror the spec)."""
    data: dict[str, Any] = yaml.safe_load(EVERYTHING.read_text())
    return data


@pytest.mark.parametrize("name", NAMES, ids=lambda n: f"{n[:12]}..{len(n)}")
def test_the_names_the_operator_checks_are_those_the_chart_renders(name: str) -> None:
    """names.objects copies the chart's naming (the contract read from templates/ and
    _helpers.tpl); checked here against real helm's output."""
    listed = {(k, n) for k, n in names.objects(name, everything_spec()) if k != "helm release"}
    kinds = {kind for kind, _ in listed}
    chart = {(k, n) for k, n in object_names(rendered(names.release_name(name))) if k in kinds}
    assert listed == chart


@pytest.mark.parametrize(
    ("first", "second"),
    [("x", "x-grpc-headless"), ("router", "router-grpc-headless"), ("a", "b")],
)
def test_collisions_are_exactly_the_names_two_rendered_releases_share(
    first: str, second: str
) -> None:
    spec = everything_spec()
    shared = object_names(rendered(first)) & object_names(rendered(second))
    found = {(kind, obj) for _, kind, obj in names.collisions(second, spec, [(first, spec)])}
    assert found == shared
