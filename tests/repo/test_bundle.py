"""The OLM bundle (bundle/, `make bundle`): regenerated in a temporary folder it is identical
to the committed one; its ClusterServiceVersion owns the CRD of crds/, describes every spec
and status field with the CRD's own words, offers the samples of samples/ as alm-examples,
and installs exactly the Deployment and ClusterRole that kustomize deploys.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
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


def rbac_rules(name: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = yaml.safe_load((ROOT / "config" / "rbac" / name).read_text())[
        "rules"
    ]
    return rules


def test_the_csv_grants_the_namespaced_rules_as_permissions() -> None:
    (permission,) = install_spec()["permissions"]
    (account,) = [o for o in kustomized() if o["kind"] == "ServiceAccount"]
    assert permission["rules"] == rbac_rules("role.yaml") + rbac_rules("leader_election_role.yaml")
    assert permission["serviceAccountName"] == account["metadata"]["name"]


def test_the_csv_grants_only_cluster_scoped_reads_cluster_wide() -> None:
    (permission,) = install_spec()["clusterPermissions"]
    assert permission["rules"] == rbac_rules("cluster_role.yaml")
    assert (
        permission["serviceAccountName"] == install_spec()["permissions"][0]["serviceAccountName"]
    )
    resources = {r for rule in permission["rules"] for r in rule["resources"]}
    assert resources == {"customresourcedefinitions", "storageclasses"}
    assert {v for rule in permission["rules"] for v in rule["verbs"]} <= {"get", "list", "watch"}
    assert "secrets" not in resources


def test_the_csv_deploys_the_kustomize_manager_watching_the_operatorgroup_namespaces() -> None:
    (entry,) = install_spec()["deployments"]
    (deployment,) = [o for o in kustomized() if o["kind"] == "Deployment"]
    assert entry["name"] == deployment["metadata"]["name"]
    expected = copy.deepcopy(deployment["spec"])
    container = expected["template"]["spec"]["containers"][0]
    release = bundle.Release.load()
    container["env"] = [
        {
            "name": "SR_OPERATOR_NAMESPACES",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.annotations['olm.targetNamespaces']"}
            },
        },
        {"name": "RELATED_IMAGE_ROUTER", "value": str(release.router_image)},
        {"name": "RELATED_IMAGE_ENVOY", "value": str(release.envoy_image)},
        {"name": "SR_OPERATOR_LEADER_ELECTION", "value": "true"},
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
    roles = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": "csv-rules", "namespace": "operators"},
            "rules": install_spec()[field][0]["rules"],
        }
        for kind, field in (("Role", "permissions"), ("ClusterRole", "clusterPermissions"))
    ]
    validate_kubernetes([deployment, *roles], version)


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
    release = bundle.Release.load()
    assert csv["spec"]["relatedImages"] == [
        {"name": "manager", "image": image},
        {"name": "semantic-router", "image": str(release.router_image)},
        {"name": "envoy", "image": str(release.envoy_image)},
    ]
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


def test_the_bundle_metadata_names_the_openshift_versions_in_both_places() -> None:
    annotations = yaml.safe_load((BUNDLE / bundle.ANNOTATIONS_FILE).read_text())["annotations"]
    assert annotations["com.redhat.openshift.versions"] == "v4.12"
    assert "LABEL com.redhat.openshift.versions=v4.12" in (BUNDLE / bundle.DOCKERFILE).read_text()


# --- release parameters: createdAt and images by digest ----------------------------------------

DIGEST = "sha256:" + "c" * 64


def test_the_csv_carries_the_release_parameters_of_release_yaml() -> None:
    annotations = committed_csv()["metadata"]["annotations"]
    assert annotations["createdAt"] == bundle.Release.load().created_at


def test_the_release_images_are_the_images_the_chart_runs_by_default() -> None:
    release = bundle.Release.load()
    chart = bundle.chart_images()
    assert (release.router_image.name, release.router_image.tag) == (
        chart["router"].name,
        chart["router"].tag,
    )
    assert (release.envoy_image.name, release.envoy_image.tag) == (
        chart["envoy"].name,
        chart["envoy"].tag,
    )


def pinned_options(**changes: Any) -> bundle.Options:
    release = bundle.Release(
        created_at="2027-01-31T12:00:00Z",
        router_image=Image.parse(f"ghcr.io/vllm-project/semantic-router/extproc:v0.4.0@{DIGEST}"),
        envoy_image=Image.parse(f"envoyproxy/envoy:v1.40.0@{DIGEST}"),
    )
    fields: dict[str, Any] = {
        "image": Image.parse(f"quay.io/acme/semantic-router-operator@{DIGEST}"),
        "version": "1.0.0",
        "release": release,
        "pinned": True,
    }
    return bundle.Options(**{**fields, **changes})


def test_a_release_bundle_names_every_image_by_digest_where_olm_reads_it() -> None:
    options = pinned_options()
    csv = yaml.safe_load(bundle.generate(options)[bundle.CSV_FILE])
    (entry,) = csv["spec"]["install"]["spec"]["deployments"]
    (container,) = entry["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    images = [
        container["image"],
        csv["metadata"]["annotations"]["containerImage"],
        env["RELATED_IMAGE_ROUTER"],
        env["RELATED_IMAGE_ENVOY"],
        *[r["image"] for r in csv["spec"]["relatedImages"]],
    ]
    assert all(image.endswith("@" + DIGEST) for image in images), images
    assert csv["metadata"]["annotations"]["createdAt"] == "2027-01-31T12:00:00Z"


@pytest.mark.parametrize(
    ("field", "variable"),
    [("image", "IMG"), ("router_image", "ROUTER_IMAGE"), ("envoy_image", "ENVOY_IMAGE")],
)
def test_a_release_bundle_refuses_an_image_by_tag_naming_the_variable(
    field: str, variable: str
) -> None:
    tagged = Image.parse("quay.io/acme/some-image:1.0.0")
    release = pinned_options().release
    with pytest.raises(ValueError, match=rf"by digest; pin {variable}=quay.io/acme/some-image"):
        if field == "image":
            pinned_options(image=tagged)
        else:
            changes: dict[str, Any] = {field: tagged}
            pinned_options(release=dataclasses.replace(release, **changes))


@pytest.mark.parametrize("created_at", ["", "2027-01-31", "2027-01-31 12:00:00", "yesterday"])
def test_a_created_at_that_is_not_a_utc_time_is_refused_naming_the_variable(
    created_at: str,
) -> None:
    release = dataclasses.replace(pinned_options().release, created_at=created_at)
    with pytest.raises(ValueError, match="CREATED_AT="):
        pinned_options(release=release)


def test_the_bundle_command_takes_release_parameters_and_refuses_tags_for_a_release(
    tmp_path: Path,
) -> None:
    script = str(ROOT / "scripts" / "bundle.py")
    ok = subprocess.run(
        [
            sys.executable,
            script,
            "--output",
            str(tmp_path),
            "--release",
            f"--image=quay.io/acme/op@{DIGEST}",
            f"--router-image=quay.io/acme/extproc@{DIGEST}",
            f"--envoy-image=quay.io/acme/envoy@{DIGEST}",
            "--created-at=2027-01-31T12:00:00Z",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"quay.io/acme/extproc@{DIGEST}" in (tmp_path / bundle.CSV_FILE).read_text()
    refused = subprocess.run(
        [sys.executable, script, "--output", str(tmp_path / "b"), "--release"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "error: a release bundle names every image by digest; pin IMG=" in refused.stderr
    assert not (tmp_path / "b").exists()


# --- what OperatorHub and OpenShift show -------------------------------------------------------


def test_the_csv_has_an_icon_maintainers_and_honest_openshift_features() -> None:
    csv = committed_csv()
    (icon,) = csv["spec"]["icon"]
    assert icon["mediatype"] == "image/svg+xml"
    assert base64.b64decode(icon["base64data"]) == bundle.ICON_FILE.read_bytes()
    assert csv["spec"]["maintainers"] == [
        {"name": "vLLM Semantic Router community", "email": "support@vllm.ai"}
    ]
    annotations = csv["metadata"]["annotations"]
    features = {
        k.rpartition("/")[2]: v
        for k, v in annotations.items()
        if k.startswith("features.operators.openshift.io/")
    }
    assert features == {
        "disconnected": "false",
        "fips-compliant": "false",
        "proxy-aware": "false",
        "tls-profiles": "false",
        "token-auth-aws": "false",
        "token-auth-azure": "false",
        "token-auth-gcp": "false",
    }
    assert json.loads(annotations["operators.openshift.io/valid-subscription"]) == []
