"""The owned kinds: which are watched, and how an object maps back to its router."""

from __future__ import annotations

import pytest
from semantic_router_operator import names, owned
from semantic_router_operator.owned import KINDS, OwnedKind

from tests.support.helm import CHART, render

DEPLOYMENT = owned.BY_KIND["Deployment"]
ROUTE = owned.BY_KIND["Route"]


@pytest.mark.parametrize(
    "scenario", ["everything-values.yaml", "envoy-gateway-values.yaml", "gateway-values.yaml"]
)
def test_every_kind_the_chart_renders_is_an_owned_kind(scenario: str) -> None:
    objects = render([CHART / "ci" / scenario], release="r1")
    rendered = {obj["kind"] for obj in objects}
    assert rendered <= set(owned.BY_KIND), rendered - set(owned.BY_KIND)
    for obj in objects:
        assert owned.BY_KIND[obj["kind"]].api_version == obj["apiVersion"], obj["kind"]


def test_every_rendered_object_carries_the_watch_selector_and_maps_to_its_release() -> None:
    for obj in render([CHART / "ci" / "everything-values.yaml"], release="r1", namespace="t"):
        labels = obj["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in owned.SELECTOR.items()), obj["kind"]
        obj["metadata"]["annotations"] = {
            **(obj["metadata"].get("annotations") or {}),
            owned.RELEASE_NAME_ANNOTATION: "r1",
            owned.RELEASE_NAMESPACE_ANNOTATION: "t",
        }
        assert owned.release_of(obj) == ("t", "r1")


def test_an_object_without_the_charts_labels_belongs_to_no_release() -> None:
    obj = {"metadata": {"namespace": "t", "labels": {"app.kubernetes.io/instance": "r1"}}}
    assert owned.release_of(obj) is None


def test_an_unserved_api_and_a_refused_kind_are_left_out_with_a_reason() -> None:
    served = {"apps/v1": ["deployments"], "route.openshift.io/v1": ["routes"]}
    chosen, skipped = owned.watchable([DEPLOYMENT, ROUTE], served, {DEPLOYMENT: True})
    assert chosen == [DEPLOYMENT]
    assert skipped == [
        "Route (route.openshift.io/v1): the operator may not list and watch routes; "
        "grant it in the operator's role to have them repaired"
    ]
    chosen, skipped = owned.watchable([ROUTE], {}, {})
    assert chosen == [] and skipped == ["Route (route.openshift.io/v1): not served by this cluster"]


def test_a_release_maps_to_the_router_whose_release_name_it_is() -> None:
    long = "a" * 60
    assert owned.router_of(names.release_name(long), ["short", long]) == long
    assert owned.router_of("short", ["short", long]) == "short"
    assert owned.router_of("gone", ["short"]) is None


def test_collections_are_the_api_paths_of_the_kind() -> None:
    assert DEPLOYMENT.collection("t") == "/apis/apps/v1/namespaces/t/deployments"
    assert OwnedKind("Service", "", "v1", "services").collection() == "/api/v1/services"
    assert len({kind.kind for kind in KINDS}) == len(KINDS)
