"""The OLM bundle (bundle/, `make bundle`): regenerated in a temporary folder it is identical
to the committed one; its ClusterServiceVersion owns the CRD of crds/, describes every spec
and status field with the CRD's own words, offers the samples of samples/ as alm-examples,
and installs exactly the Deployment and ClusterRole that kustomize deploys.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml
from semantic_router_operator import settings

from scripts import bundle, deploy_manifests
from scripts.deploy_manifests import Image
from tests.chart.validators import KUBERNETES_VERSIONS, validate_kubernetes
from tests.support import crdcheck

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "bundle"


@functools.cache
def committed_csv() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((BUNDLE / bundle.CSV_FILE).read_text())
    return data


def crd() -> dict[str, Any]:
    return bundle.load_crd()


def schema() -> dict[str, Any]:
    result: dict[str, Any] = bundle.storage_version(crd())["schema"]["openAPIV3Schema"]
    return result


def owned() -> dict[str, Any]:
    (entry,) = committed_csv()["spec"]["customresourcedefinitions"]["owned"]
    result: dict[str, Any] = entry
    return result


def at(node: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """The schema of `path` (dot-separated) under `node`, or None when there is none."""
    for part in path.split("."):
        props = node.get("properties") or {}
        if part not in props:
            return None
        node = props[part]
    return node


@functools.cache
def kustomized() -> tuple[dict[str, Any], ...]:
    return tuple(deploy_manifests.objects(deploy_manifests.kustomize(deploy_manifests.DEFAULT_DIR)))


# --- drift -------------------------------------------------------------------------------------


def test_the_committed_bundle_is_what_make_bundle_generates() -> None:
    assert bundle.check(bundle.default_options()) == [], "bundle/ is stale: run `make bundle`"


def test_the_check_mode_reports_an_edited_a_missing_and_a_stray_file(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    shutil.copytree(BUNDLE, target)
    csv_path = target / bundle.CSV_FILE
    csv_path.write_text(csv_path.read_text().replace("Basic Install", "Full Lifecycle"))
    (target / bundle.ANNOTATIONS_FILE).unlink()
    (target / "manifests" / "extra.yaml").write_text("kind: Extra\n")
    assert bundle.check(bundle.default_options(), target) == [
        f"missing: {bundle.ANNOTATIONS_FILE}",
        "unexpected: manifests/extra.yaml",
        f"differs: {bundle.CSV_FILE}",
    ]


def test_the_check_command_passes_on_the_committed_bundle() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bundle.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


# --- the owned CRD -----------------------------------------------------------------------------


def test_the_bundle_ships_the_generated_crd_unchanged() -> None:
    shipped = (BUNDLE / bundle.CRD_BUNDLE_FILE).read_text()
    assert shipped == bundle.CRD_FILE.read_text()


def test_the_csv_owns_the_semanticrouter_crd() -> None:
    names = crd()["spec"]["names"]
    assert (
        owned()["name"]
        == crd()["metadata"]["name"]
        == f"{names['plural']}.{crd()['spec']['group']}"
    )
    assert owned()["kind"] == names["kind"]
    assert owned()["version"] == bundle.storage_version(crd())["name"]
    assert owned()["description"] == " ".join(schema()["description"].split())


def test_the_owned_resources_are_the_kinds_the_chart_renders() -> None:
    kinds = {r["kind"] for r in owned()["resources"]}
    assert kinds == {kind for _, kind in bundle.chart_kinds()}
    assert {"Deployment", "Service", "ConfigMap"} <= kinds


@pytest.mark.parametrize("section", ["spec", "status"])
def test_every_descriptor_path_exists_in_the_crd_schema(section: str) -> None:
    root = schema()["properties"][section]
    descriptors = owned()[f"{section}Descriptors"]
    missing = [d["path"] for d in descriptors if at(root, d["path"]) is None]
    assert missing == []


@pytest.mark.parametrize("section", ["spec", "status"])
def test_every_top_level_field_is_described(section: str) -> None:
    fields = set(schema()["properties"][section]["properties"])
    described = {d["path"].split(".", 1)[0] for d in owned()[f"{section}Descriptors"]}
    assert fields - described == set()


@pytest.mark.parametrize("section", ["spec", "status"])
def test_descriptors_use_the_crd_descriptions(section: str) -> None:
    root = schema()["properties"][section]
    for descriptor in owned()[f"{section}Descriptors"]:
        field = at(root, descriptor["path"])
        assert field is not None
        assert descriptor["description"] == " ".join(str(field.get("description", "")).split())
        assert descriptor["displayName"] and descriptor["x-descriptors"], descriptor


def test_the_spec_descriptors_say_what_the_console_should_show() -> None:
    xs = {d["path"]: d["x-descriptors"] for d in owned()["specDescriptors"]}
    ui = "urn:alm:descriptor:com.tectonic.ui:"
    assert xs["replicas"] == [ui + "podCount"]
    assert xs["resources"] == [ui + "resourceRequirements"]
    assert "urn:alm:descriptor:io.kubernetes:StorageClass" in xs["persistence.storageClassName"]
    assert ui + "booleanSwitch" in xs["persistence.enabled"]
    assert ui + "fieldGroup:persistence" in xs["persistence.enabled"]
    assert [x for x in xs["service.type"] if ":select:" in x] == [
        ui + "select:ClusterIP",
        ui + "select:NodePort",
        ui + "select:LoadBalancer",
    ]
    assert ui + "advanced" in xs["config"]


def test_the_status_descriptors_show_phase_and_conditions() -> None:
    xs = {d["path"]: d["x-descriptors"] for d in owned()["statusDescriptors"]}
    assert xs["phase"] == ["urn:alm:descriptor:io.kubernetes.phase"]
    assert xs["conditions"] == ["urn:alm:descriptor:io.kubernetes.conditions"]
    assert "readyReplicas" in xs


# --- alm-examples ------------------------------------------------------------------------------


def alm_examples() -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = json.loads(
        committed_csv()["metadata"]["annotations"]["alm-examples"]
    )
    return examples


def test_the_alm_examples_are_the_samples_simple_first() -> None:
    samples = [yaml.safe_load(p.read_text()) for p in sorted(bundle.SAMPLES.glob("*.yaml"))]
    examples = alm_examples()
    assert examples[0]["metadata"]["name"] == "semantic-router-simple"
    key = lambda o: o["metadata"]["name"]  # noqa: E731
    assert sorted(examples, key=key) == sorted(samples, key=key)


def test_every_alm_example_is_admitted_by_the_crd() -> None:
    problems = {
        e["metadata"]["name"]: crdcheck.admission_problems(crd(), e) for e in alm_examples()
    }
    assert {name: p for name, p in problems.items() if p} == {}


# --- install -----------------------------------------------------------------------------------


def install_spec() -> dict[str, Any]:
    result: dict[str, Any] = committed_csv()["spec"]["install"]["spec"]
    return result


def test_the_csv_grants_exactly_the_kustomize_manager_role() -> None:
    (permission,) = install_spec()["clusterPermissions"]
    role = yaml.safe_load((ROOT / "config" / "rbac" / "role.yaml").read_text())
    (account,) = [o for o in kustomized() if o["kind"] == "ServiceAccount"]
    assert permission["rules"] == role["rules"]
    assert permission["serviceAccountName"] == account["metadata"]["name"]
    assert "permissions" not in install_spec()


def test_the_csv_deploys_the_kustomize_manager_watching_the_operatorgroup_namespaces() -> None:
    (entry,) = install_spec()["deployments"]
    (deployment,) = [o for o in kustomized() if o["kind"] == "Deployment"]
    assert entry["name"] == deployment["metadata"]["name"]
    expected = copy.deepcopy(deployment["spec"])
    container = expected["template"]["spec"]["containers"][0]
    container["env"] = [
        {
            "name": "SR_OPERATOR_NAMESPACES",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.annotations['olm.targetNamespaces']"}
            },
        }
    ]
    assert entry["spec"] == expected
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == (install_spec()["clusterPermissions"][0]["serviceAccountName"])
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_csv_deployment_and_rules_are_valid_kubernetes_objects(version: str) -> None:
    (entry,) = install_spec()["deployments"]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": entry["name"], "namespace": "operators"},
        "spec": entry["spec"],
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "csv-rules"},
        "rules": install_spec()["clusterPermissions"][0]["rules"],
    }
    validate_kubernetes([deployment, role], version)


@pytest.mark.parametrize(
    ("target_namespaces", "watched"), [("", ()), ("team-a", ("team-a",)), ("a,b", ("a", "b"))]
)
def test_every_install_mode_maps_to_namespaces_the_operator_accepts(
    target_namespaces: str, watched: tuple[str, ...]
) -> None:
    modes = {m["type"]: m["supported"] for m in committed_csv()["spec"]["installModes"]}
    assert modes == {
        "OwnNamespace": True,
        "SingleNamespace": True,
        "MultiNamespace": True,
        "AllNamespaces": True,
    }
    # OLM writes the OperatorGroup's namespaces into olm.targetNamespaces ("" for all).
    parsed = settings.from_env({"SR_OPERATOR_NAMESPACES": target_namespaces})
    assert parsed.namespaces == watched


def test_the_csv_names_the_operator_image_everywhere() -> None:
    (entry,) = install_spec()["deployments"]
    image = entry["spec"]["template"]["spec"]["containers"][0]["image"]
    csv = committed_csv()
    assert image == str(deploy_manifests.default_image())
    assert csv["metadata"]["annotations"]["containerImage"] == image
    assert {"name": "manager", "image": image} in csv["spec"]["relatedImages"]
    assert csv["metadata"]["name"] == f"{bundle.PACKAGE}.v{csv['spec']['version']}"
    assert csv["spec"]["version"] == deploy_manifests.project_version()


def test_make_bundle_img_and_version_reach_the_csv() -> None:
    options = bundle.Options(
        image=Image.parse("quay.io/acme/semantic-router-operator:2.0.0"),
        version="2.0.0",
        channels=("alpha", "stable"),
        default_channel="stable",
    )
    files = bundle.generate(options)
    csv = yaml.safe_load(files[bundle.CSV_FILE])
    (entry,) = csv["spec"]["install"]["spec"]["deployments"]
    assert entry["spec"]["template"]["spec"]["containers"][0]["image"] == str(options.image)
    assert csv["metadata"]["name"] == "semantic-router-operator.v2.0.0"
    labels = yaml.safe_load(files[bundle.ANNOTATIONS_FILE])["annotations"]
    assert labels["operators.operatorframework.io.bundle.channels.v1"] == "alpha,stable"
    assert labels["operators.operatorframework.io.bundle.channel.default.v1"] == "stable"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": "v1"}, "VERSION='v1' is not a semantic version"),
        ({"default_channel": "beta"}, "DEFAULT_CHANNEL='beta' is not one of CHANNELS"),
        ({"channels": ("Alpha Channel",)}, "CHANNELS="),
    ],
)
def test_bad_bundle_settings_are_refused_naming_the_variable(
    changes: dict[str, Any], message: str
) -> None:
    fields: dict[str, Any] = {
        "image": deploy_manifests.default_image(),
        "version": "1.0.0",
        "channels": ("alpha",),
        "default_channel": "alpha",
    }
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        bundle.Options(**{**fields, **changes})


# --- metadata and the bundle image -------------------------------------------------------------


def test_the_bundle_image_labels_are_the_bundle_annotations() -> None:
    annotations = yaml.safe_load((BUNDLE / bundle.ANNOTATIONS_FILE).read_text())["annotations"]
    commands = dockerfile.parse_file(str(BUNDLE / bundle.DOCKERFILE))
    labels: dict[str, str] = {}
    for command in commands:
        if command.cmd.upper() == "LABEL":
            pairs = list(command.value)
            labels.update(zip(pairs[::2], pairs[1::2], strict=True))
    assert labels == annotations
    assert annotations["operators.operatorframework.io.bundle.mediatype.v1"] == "registry+v1"
    assert annotations["operators.operatorframework.io.bundle.package.v1"] == bundle.PACKAGE
    copies = [tuple(c.value) for c in commands if c.cmd.upper() == "COPY"]
    assert copies == [("manifests", "/manifests/"), ("metadata", "/metadata/")]
    for source, _ in copies:
        assert (BUNDLE / source).is_dir()


def test_the_bundle_holds_only_kinds_olm_installs() -> None:
    allowed = {"ClusterServiceVersion", "CustomResourceDefinition", "ClusterRole"}
    for path in sorted((BUNDLE / "manifests").glob("*.yaml")):
        (obj,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert obj["kind"] in allowed, path.name
        assert "namespace" not in obj["metadata"] or obj["kind"] == "ClusterServiceVersion"
