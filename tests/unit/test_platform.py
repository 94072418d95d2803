"""Platform detection (OpenShift or Kubernetes) and the StorageClass check before the PVC."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from semantic_router_operator import platform
from semantic_router_operator.platform import Platform, PlatformDetector


def groups(*names: str) -> dict[str, Any]:
    return {"kind": "APIGroupList", "groups": [{"name": n} for n in names]}


def storage_class(name: str, default: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {platform.DEFAULT_CLASS_ANNOTATION: "true"}
    return {"metadata": meta}


class GroupsReader:
    def __init__(self, answer: Mapping[str, Any]) -> None:
        self.answer = answer
        self.paths: list[str] = []

    async def get(self, path: str) -> dict[str, Any] | None:
        self.paths.append(path)
        return dict(self.answer)

    async def list_objects(
        self, path: str, labels: Mapping[str, str] | None = None, *, metadata_only: bool = False
    ) -> list[dict[str, Any]]:
        self.paths.append(path)
        return [dict(o) for o in self.answer.get("items", [])]


def test_route_openshift_io_group_means_openshift() -> None:
    assert platform.platform_for_groups(["apps", "route.openshift.io"]) is Platform.OPENSHIFT


def test_without_route_group_the_platform_is_standard_kubernetes() -> None:
    assert platform.platform_for_groups(["apps", "routes.example.com"]) is Platform.KUBERNETES
    assert platform.served_groups(None) == []


@pytest.mark.parametrize("enabled", [True, False])
def test_routes_are_fine_on_openshift_and_when_disabled(enabled: bool) -> None:
    assert platform.check_routes(enabled, Platform.OPENSHIFT) is None
    assert platform.check_routes(False, Platform.KUBERNETES) is None


@pytest.mark.parametrize(
    ("enabled", "detected", "deployed"),
    [
        (True, Platform.OPENSHIFT, True),
        (True, Platform.KUBERNETES, False),
        (False, Platform.OPENSHIFT, False),
    ],
)
def test_the_release_carries_a_route_only_when_asked_for_on_openshift(
    enabled: bool, detected: Platform, deployed: bool
) -> None:
    assert platform.routes_deployed(enabled, detected) is deployed


def test_routes_on_plain_kubernetes_name_the_field_and_both_fixes() -> None:
    message = platform.check_routes(True, Platform.KUBERNETES)
    assert message is not None
    assert message.startswith("spec.openshift.routes.enabled needs OpenShift")
    assert "route.openshift.io/v1 is not served" in message
    assert "the Route is left out" in message
    assert "use spec.ingress" in message
    assert "set spec.openshift.routes.enabled to false" in message


async def test_openshift_detection_logs_the_documented_line_once_and_is_cached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    detector = PlatformDetector()
    reader = GroupsReader(groups("apps", "route.openshift.io"))
    with caplog.at_level(logging.INFO):
        first = await detector.detect(reader)
        second = await detector.detect(GroupsReader(groups("apps")))
    assert first is second is Platform.OPENSHIFT
    assert reader.paths == ["/apis"]
    assert (
        caplog.messages.count(
            "Detected OpenShift platform - will use OpenShift-compatible security contexts"
        )
        == 1
    )


async def test_kubernetes_detection_logs_the_documented_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        got = await PlatformDetector().detect(GroupsReader(groups("apps", "batch")))
    assert got is Platform.KUBERNETES
    assert (
        "Detected standard Kubernetes platform - will use standard security contexts"
        in caplog.messages
    )


@pytest.mark.parametrize(
    "persistence",
    [
        {"enabled": False, "storageClassName": "missing"},
        {"enabled": True, "existingClaim": "models", "storageClassName": "missing"},
        {},
    ],
)
def test_no_class_is_needed_without_a_chart_made_pvc(persistence: dict[str, Any]) -> None:
    assert platform.check_storage(persistence, []) is None


def test_named_storage_class_that_exists_passes() -> None:
    persistence = {"enabled": True, "storageClassName": "standard"}
    assert platform.check_storage(persistence, [storage_class("standard")]) is None


def test_missing_named_storage_class_names_the_field_the_choices_and_the_fix() -> None:
    problem = platform.check_storage(
        {"enabled": True, "storageClassName": "gp3-csi"},
        [storage_class("standard"), storage_class("fast")],
    )
    assert problem is not None
    assert problem.reason == "StorageClassNotFound"
    assert problem.message.startswith("spec.persistence.storageClassName: StorageClass 'gp3-csi'")
    assert "(available: fast, standard)" in problem.message


def test_unnamed_class_uses_the_cluster_default() -> None:
    classes = [storage_class("slow"), storage_class("standard", default=True)]
    assert platform.check_storage({"enabled": True}, classes) is None


def test_beta_default_annotation_also_marks_the_default_class() -> None:
    annotations = {platform.BETA_DEFAULT_CLASS_ANNOTATION: "true"}
    sc = {"metadata": {"name": "old", "annotations": annotations}}
    assert platform.check_storage({"enabled": True, "storageClassName": ""}, [sc]) is None


def test_unnamed_class_without_a_default_explains_the_three_fixes() -> None:
    problem = platform.check_storage({"enabled": True}, [storage_class("slow")])
    assert problem is not None
    assert problem.reason == "NoDefaultStorageClass"
    assert "storageclass.kubernetes.io/is-default-class=true" in problem.message
    assert "spec.persistence.existingClaim" in problem.message
    assert "(available: slow)" in problem.message


async def test_storage_classes_are_read_only_when_the_chart_makes_a_pvc() -> None:
    reader = GroupsReader({"items": [storage_class("standard", default=True)]})
    assert await platform.validate_storage({"enabled": False}, reader) is None
    assert reader.paths == []
    assert await platform.validate_storage({"enabled": True}, reader) is None
    assert reader.paths == ["/apis/storage.k8s.io/v1/storageclasses"]


@pytest.mark.parametrize(
    ("persistence", "most", "warned"),
    [
        ({}, 2, True),
        ({"accessMode": "ReadWriteOnce"}, 10, True),
        ({}, 1, False),
        ({"accessMode": "ReadWriteMany"}, 3, False),
        ({"existingClaim": "models"}, 3, False),
        ({"enabled": False}, 3, False),
    ],
)
def test_replicas_sharing_a_new_read_write_once_claim_are_warned_about(
    persistence: dict[str, Any], most: int, warned: bool
) -> None:
    message = platform.claim_not_shared(persistence, most)
    assert (message is not None) is warned
    if message:
        assert f"up to {most} replicas" in message and "ReadWriteMany" in message
