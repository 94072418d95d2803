"""Drift: a live object differs from what helm set only where a field the chart rendered
changed; what the API server and controllers add, and the replicas an HPA owns, are not
drift. Judged on objects the real chart renders."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Any

import pytest
from semantic_router_operator import drift

from tests.support.helm import CHART, find, render, template

SIMPLE = CHART / "ci" / "simple-values.yaml"


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render([SIMPLE], release="r1", namespace="team-a")


@pytest.fixture(scope="module")
def autoscaled() -> list[dict[str, Any]]:
    values = {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}}
    return render([SIMPLE], values, release="r1", namespace="team-a")


def as_served(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server hands it back: defaults and bookkeeping added."""
    live = copy.deepcopy(obj)
    meta = live.setdefault("metadata", {})
    meta.update(namespace="team-a", uid="u-1", resourceVersion="42", generation=3)
    meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "3"
    meta["managedFields"] = [{"manager": "helm", "operation": "Apply"}]
    live["status"] = {"readyReplicas": 1}
    if live["kind"] == "Deployment":
        spec = live["spec"]
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        for container in spec["template"]["spec"]["containers"]:
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("imagePullPolicy", "IfNotPresent")
            # Zero-valued int32 fields are `omitempty`: the server does not store them.
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if (container.get(probe) or {}).get("initialDelaySeconds") == 0:
                    del container[probe]["initialDelaySeconds"]
    if live["kind"] == "Service":
        live["spec"].setdefault("clusterIP", "10.0.0.7")
        for port in live["spec"]["ports"]:
            port.setdefault("protocol", "TCP")
    return live


def test_every_rendered_object_as_served_back_shows_no_drift(rendered: list[Any]) -> None:
    for obj in rendered:
        assert drift.assess(obj, as_served(obj), "team-a") is None, obj["kind"]


def test_a_deleted_object_is_drift_named_by_kind_and_name(rendered: list[Any]) -> None:
    service = find(rendered, "Service", "r1")[0]
    found = drift.assess(service, None, "team-a")
    assert found is not None and found.deleted
    assert found.describe() == "Service team-a/r1 deleted"


def test_a_hand_scaled_deployment_is_drift_on_its_replicas(rendered: list[Any]) -> None:
    deployment = find(rendered, "Deployment", "r1")[0]
    live = as_served(deployment)
    live["spec"]["replicas"] = deployment["spec"]["replicas"] + 2
    found = drift.assess(deployment, live, "team-a")
    assert found is not None and found.fields == ("spec.replicas",)


def test_replicas_an_hpa_changed_are_not_drift(autoscaled: list[Any]) -> None:
    deployment = find(autoscaled, "Deployment", "r1")[0]
    assert "replicas" not in deployment["spec"]  # the chart leaves them to the HPA
    assert find(autoscaled, "HorizontalPodAutoscaler")
    live = as_served(deployment)
    live["spec"]["replicas"] = 5
    assert drift.assess(deployment, live, "team-a") is None


def test_a_changed_container_image_is_drift_with_its_path(rendered: list[Any]) -> None:
    deployment = find(rendered, "Deployment", "r1")[0]
    live = as_served(deployment)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "evil/router:latest"
    found = drift.assess(deployment, live, "team-a")
    assert found is not None
    assert found.fields == ("spec.template.spec.containers[0].image",)


def test_an_annotation_someone_added_is_not_drift_but_a_removed_label_is(
    rendered: list[Any],
) -> None:
    config = find(rendered, "ConfigMap")[0]
    live = as_served(config)
    live["metadata"]["annotations"]["team/owner"] = "alice"
    assert drift.assess(config, live, "team-a") is None
    del live["metadata"]["labels"]["app.kubernetes.io/instance"]
    found = drift.assess(config, live, "team-a")
    assert found is not None
    assert found.fields == ("metadata.labels.app.kubernetes.io/instance",)


def test_an_edited_configmap_is_drift(rendered: list[Any]) -> None:
    config = find(rendered, "ConfigMap")[0]
    live = as_served(config)
    key = sorted(live["data"])[0]
    live["data"][key] = "edited by hand"
    found = drift.assess(config, live, "team-a")
    assert found is not None and found.fields == (f"data.{key}",)


@pytest.mark.parametrize(
    ("want", "have"),
    [("1024Mi", "1Gi"), ("0.5", "500m"), (8080, "8080"), ("1000m", "1")],
)
def test_quantities_the_api_server_writes_canonically_are_the_same(want: Any, have: Any) -> None:
    assert drift.differences({"q": want}, {"q": have}) == []


@pytest.mark.parametrize(("want", "have"), [("1Gi", "2Gi"), ("http", "grpc"), (True, "true")])
def test_different_values_are_differences(want: Any, have: Any) -> None:
    assert drift.differences({"q": want}, {"q": have}) == ["q"]


def test_a_list_of_another_length_is_one_difference() -> None:
    assert drift.differences({"ports": [{"port": 1}]}, {"ports": []}) == ["ports"]


def test_a_status_only_change_keeps_the_content_digest(rendered: list[Any]) -> None:
    deployment = as_served(find(rendered, "Deployment", "r1")[0])
    changed = copy.deepcopy(deployment)
    changed["status"] = {"readyReplicas": 0}
    changed["metadata"]["resourceVersion"] = "43"
    changed["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "4"
    assert drift.content_digest(changed) == drift.content_digest(deployment)
    changed["spec"]["replicas"] = 7
    assert drift.content_digest(changed) != drift.content_digest(deployment)


def test_the_manifest_is_read_back_from_helms_release_record() -> None:
    manifest = template([SIMPLE], release="r1", namespace="team-a")
    record = {"name": "r1", "version": 2, "manifest": manifest}
    helm_encoded = base64.b64encode(gzip.compress(json.dumps(record).encode()))
    secret_data = base64.b64encode(helm_encoded).decode()
    decoded = drift.decode_release(secret_data)
    objects = drift.manifest_objects(str(decoded["manifest"]))
    assert ("Deployment", "r1") in objects
    assert ("Service", "r1") in objects


def test_a_zero_value_the_api_server_does_not_store_is_not_a_difference() -> None:
    probe = {"initialDelaySeconds": 0, "tcpSocket": {"port": "grpc"}, "host": "", "x": False}
    assert drift.differences(probe, {"tcpSocket": {"port": "grpc"}}) == []
    assert drift.differences({"initialDelaySeconds": 5}, {}) == ["initialDelaySeconds"]
