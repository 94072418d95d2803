"""The operator's own chart (charts/semantic-router-operator) installs the operator that
config/ (kustomize) and bundle/ (OLM) install: the same CRD, the same rules, the same pod.

The chart's RBAC rules and CRD are copies of config/rbac and crds/ (`make bundle` writes
them); its Deployment is written out, and compared here with config/manager's object for
object. What the chart adds or leaves out is listed in CHART_ONLY and KUSTOMIZE_ONLY, each
with its reason, so every other difference fails.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import deploy_manifests
from tests.chart.validators import KUBERNETES_VERSIONS, security_scan, validate_kubernetes
from tests.support.crdcheck import admission_problems, load_crd
from tests.support.helm import ROOT, HelmError, parse, run_helm

CHART = ROOT / "charts" / "semantic-router-operator"
RELEASE = "semantic-router-operator"
NAMESPACE = "semantic-router-operator-system"

# Labels each install method sets on every object (helm's and kustomize's own); the rest of
# the labels (the aggregation labels of the user roles) must agree.
INSTALLER_LABELS = re.compile(r"^(app\.kubernetes\.io/|helm\.sh/chart$|control-plane$)")
# The chart renders no Namespace: helm installs into `--namespace ... --create-namespace`.
KUSTOMIZE_ONLY = {("Namespace", NAMESPACE)}
# The metrics Service (and, when enabled, its ServiceMonitor): kustomize users add their own.
CHART_ONLY = {("Service", f"{RELEASE}-metrics")}

Key = tuple[str, str]
Objects = list[dict[str, Any]]


def render(
    values: Mapping[str, Any] | None = None, *, major: int = 4, crds: bool = True
) -> Objects:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += ["--include-crds"] if crds else []
    if values:
        args += ["-f", "-"]
    return parse(
        run_helm(args, major=major, stdin=yaml.safe_dump(dict(values)) if values else None)
    )


@functools.cache
def default_render() -> tuple[dict[str, Any], ...]:
    return tuple(render())


def key(obj: Mapping[str, Any]) -> Key:
    return (obj["kind"], obj["metadata"]["name"])


def normalised(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` without what each installer sets its own way: its labels, and the selector and
    pod labels built from them (the chart's are name + instance, kustomize's control-plane)."""
    out = copy.deepcopy(dict(obj))
    meta = out["metadata"]
    labels = {
        k: v for k, v in (meta.pop("labels", None) or {}).items() if not INSTALLER_LABELS.match(k)
    }
    if labels:
        meta["labels"] = labels
    if obj["kind"] == "Deployment":
        without_pod_selectors(out["spec"])
    if obj["kind"] == "NetworkPolicy":
        out["spec"].pop("podSelector")
    return out


def without_pod_selectors(spec: dict[str, Any]) -> None:
    """Drop from a Deployment's spec what selects its pods by the installer's labels: the
    selector, the pod labels, and the anti-affinity that keeps the replicas apart."""
    spec.pop("selector")
    spec["template"]["metadata"].pop("labels")
    affinity = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    for term in affinity["preferredDuringSchedulingIgnoredDuringExecution"]:
        term["podAffinityTerm"].pop("labelSelector")


def by_key(objs: Iterable[Mapping[str, Any]]) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] = {}
    for obj in objs:
        k = (
            key(obj)
            if obj["kind"] != "RoleBinding"
            else (obj["kind"], obj["metadata"]["namespace"])
        )
        assert k not in found, f"two objects {k}"
        found[k] = normalised(obj)
    return found


def assert_same_install(
    chart: Iterable[Mapping[str, Any]], kustomized: Iterable[Mapping[str, Any]]
) -> None:
    ours, theirs = by_key(chart), by_key(kustomized)
    assert set(ours) - set(theirs) == CHART_ONLY
    assert set(theirs) - set(ours) == KUSTOMIZE_ONLY
    for k in sorted(set(ours) & set(theirs)):
        assert ours[k] == theirs[k], f"{k} differs between the chart and config/"


def kustomized(directory: Path) -> Objects:
    return deploy_manifests.objects(deploy_manifests.kustomize(directory))


# --- the same install as config/ and bundle/ -----------------------------------------------------


def test_the_chart_installs_what_config_default_installs_object_for_object() -> None:
    assert_same_install(default_render(), kustomized(deploy_manifests.DEFAULT_DIR))


def test_watch_namespaces_installs_what_config_namespaced_installs() -> None:
    objs = render({"watchNamespaces": ["semantic-router"]})
    assert_same_install(objs, kustomized(ROOT / "config" / "namespaced"))


def test_the_pod_is_the_one_the_olm_bundle_deploys_but_for_how_it_learns_its_namespaces() -> None:
    csv = yaml.safe_load(
        (
            ROOT / "bundle" / "manifests" / "semantic-router-operator.clusterserviceversion.yaml"
        ).read_text()
    )
    (olm,) = csv["spec"]["install"]["spec"]["deployments"]
    (deployment,) = [o for o in default_render() if o["kind"] == "Deployment"]
    ours, theirs = copy.deepcopy(deployment["spec"]), copy.deepcopy(olm["spec"])
    for spec in (ours, theirs):
        without_pod_selectors(spec)
        (container,) = spec["template"]["spec"]["containers"]
        # OLM fills SR_OPERATOR_NAMESPACES from its OperatorGroup and sets RELATED_IMAGE_*
        # from the bundle's release file; the chart from watchNamespaces and relatedImages.
        container.pop("env")
        container["image"] = container["image"].partition("@")[0]
    assert ours == theirs
    (role,) = [o for o in default_render() if key(o) == ("ClusterRole", f"{RELEASE}-manager-role")]
    (cluster_role,) = [
        o for o in default_render() if key(o) == ("ClusterRole", f"{RELEASE}-manager-cluster-role")
    ]
    (lease,) = [
        o for o in default_render() if key(o) == ("Role", f"{RELEASE}-leader-election-role")
    ]
    (permissions,) = csv["spec"]["install"]["spec"]["permissions"]
    (cluster_permissions,) = csv["spec"]["install"]["spec"]["clusterPermissions"]
    # OLM grants namespaced permissions in the operator's namespace: the Lease rules too.
    assert role["rules"] + lease["rules"] == permissions["rules"]
    assert cluster_role["rules"] == cluster_permissions["rules"]


def test_the_copies_the_templates_read_are_those_of_config_rbac_and_crds() -> None:
    stale = [p for p in deploy_manifests.stale_files() if p.startswith("charts/")]
    assert stale == [], "the operator chart's copies are stale: run `make bundle`"
    copies = {p for p in deploy_manifests.synced_files() if p.startswith("charts/")}
    assert f"charts/{CHART.name}/crds/vllm.ai_semanticrouters.yaml" in copies
    assert {Path(p).name for p in copies if "/files/rbac/" in p} == set(
        deploy_manifests.CHART_RBAC_FILES
    )


def test_a_stray_file_among_the_copies_is_reported(tmp_path: Path) -> None:
    for rel, text in deploy_manifests.synced_files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / f"charts/{CHART.name}/files/rbac/old_role.yaml").write_text("{}\n")
    assert deploy_manifests.stale_files(tmp_path) == [
        f"charts/{CHART.name}/files/rbac/old_role.yaml"
    ]


# --- valid and secure --------------------------------------------------------------------------


@pytest.mark.parametrize("major", [3, 4])
def test_helm_lint_strict_passes_on_both_helm_majors(major: int) -> None:
    run_helm(["lint", "--strict", str(CHART)], major=major)
    run_helm(["lint", "--strict", str(CHART), "--set", "watchNamespaces={a,b}"], major=major)


def test_helm_3_and_helm_4_render_the_same_objects() -> None:
    assert render(major=3) == list(default_render())


EVERYTHING = {
    "watchNamespaces": ["team-a", "team-b"],
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
    "relatedImages": {
        "router": "quay.io/mirror/extproc:v0.4.0",
        "envoy": "quay.io/mirror/envoy:v1.40.0",
    },
    "image": {"digest": "sha256:" + "a" * 64},
}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_on_kubernetes(version: str) -> None:
    validate_kubernetes(default_render(), version)
    validate_kubernetes(render(EVERYTHING, crds=False), version)


def test_the_operator_pod_passes_the_security_scan_of_the_router_chart() -> None:
    security_scan(render(EVERYTHING, crds=False))


def test_everything_on_renders_the_service_monitor_related_images_and_a_pinned_image() -> None:
    objs = render(EVERYTHING, crds=False)
    (monitor,) = [o for o in objs if o["kind"] == "ServiceMonitor"]
    (service,) = [o for o in objs if o["kind"] == "Service"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert (
        container["image"]
        == f"ghcr.io/vllm-project/semantic-router-operator:0.1.0@sha256:{'a' * 64}"
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "SR_OPERATOR_NAMESPACES": "team-a,team-b",
        "SR_OPERATOR_LEADER_ELECTION": "true",
        "RELATED_IMAGE_ROUTER": "quay.io/mirror/extproc:v0.4.0",
        "RELATED_IMAGE_ENVOY": "quay.io/mirror/envoy:v1.40.0",
    }


def test_the_metrics_service_selects_the_operator_pod_on_its_metrics_port() -> None:
    (service,) = [o for o in default_render() if o["kind"] == "Service"]
    (deployment,) = [o for o in default_render() if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    (port,) = service["spec"]["ports"]
    (container,) = pod["spec"]["containers"]
    assert port["targetPort"] == "metrics"
    assert {"name": "metrics", "containerPort": 8080, "protocol": "TCP"} in container["ports"]


def test_two_releases_share_no_cluster_scoped_name() -> None:
    def cluster_scoped(release: str) -> set[str]:
        objs = parse(run_helm(["template", release, str(CHART), "--namespace", "ops"]))
        return {o["metadata"]["name"] for o in objs if "namespace" not in o["metadata"]}

    assert cluster_scoped("semantic-router-operator").isdisjoint(cluster_scoped("staging"))


def test_a_long_release_name_keeps_every_name_within_63_characters() -> None:
    objs = parse(run_helm(["template", "a" * 53, str(CHART), "--namespace", "ops"]))
    assert max(len(o["metadata"]["name"]) for o in objs) <= 63


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"watchNamespace": ["a"]}, "watchNamespace"),
        ({"watchNamespaces": ["Team_A"]}, "watchNamespaces"),
        ({"image": {"digest": "latest"}}, "digest"),
        ({"relatedImages": {"router": "extproc"}}, "router"),
        (
            {"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}},
            "metrics.service.enabled",
        ),
        ({"serviceAccount": {"create": False}}, "serviceAccount.name"),
    ],
)
def test_a_mistake_in_the_values_fails_the_install_naming_the_key(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelmError, match=re.escape(message)):
        render(values, crds=False)


def test_without_rbac_and_user_roles_the_chart_grants_nothing() -> None:
    objs = render(
        {
            "rbac": {"create": False, "userRoles": False},
            "serviceAccount": {"create": False, "name": "ops"},
        },
        crds=False,
    )
    assert {o["kind"] for o in objs} == {"Deployment", "Service", "NetworkPolicy"}
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "ops"


# --- published the way users consume charts ----------------------------------------------------


def chart_yaml(chart: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((chart / "Chart.yaml").read_text())
    return data


def test_chart_and_operator_are_released_together() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    meta = chart_yaml(CHART)
    assert meta["version"] == meta["appVersion"] == version
    images = yaml.safe_load(meta["annotations"]["artifacthub.io/images"])
    assert [i["image"] for i in images] == [str(deploy_manifests.default_image())]


@pytest.mark.parametrize("chart", ["semantic-router", "semantic-router-operator"])
def test_chart_yaml_carries_the_metadata_chart_registries_show(chart: str) -> None:
    meta = chart_yaml(ROOT / "charts" / chart)
    assert meta["home"].startswith("https://")
    assert meta["sources"] == ["https://github.com/vllm-project/semantic-router"]
    assert meta["maintainers"] and all(m["name"] and m["email"] for m in meta["maintainers"])
    assert meta["kubeVersion"] == ">=1.25.0-0"
    annotations = meta["annotations"]
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    for link in yaml.safe_load(annotations["artifacthub.io/links"]):
        assert link["url"].startswith("https://"), link
    assert yaml.safe_load(annotations["artifacthub.io/images"])


def test_the_operator_chart_metadata_agrees_with_the_olm_bundle() -> None:
    csv = yaml.safe_load(
        (
            ROOT / "bundle" / "manifests" / "semantic-router-operator.clusterserviceversion.yaml"
        ).read_text()
    )
    meta = chart_yaml(CHART)
    assert [(m["name"], m["email"]) for m in meta["maintainers"]] == [
        (m["name"], m["email"]) for m in csv["spec"]["maintainers"]
    ]
    assert meta["kubeVersion"] == f">={csv['spec']['minKubeVersion']}-0"
    annotations = meta["annotations"]
    assert (
        annotations["artifacthub.io/operatorCapabilities"]
        == csv["metadata"]["annotations"]["capabilities"]
    )
    assert yaml.safe_load(annotations["artifacthub.io/links"]) == csv["spec"]["links"]


def test_the_example_artifact_hub_shows_is_admitted_by_the_crd() -> None:
    crd = load_crd()
    meta = chart_yaml(CHART)
    examples = yaml.safe_load(meta["annotations"]["artifacthub.io/crdsExamples"])
    (listed,) = yaml.safe_load(meta["annotations"]["artifacthub.io/crds"])
    assert listed["name"] == crd["metadata"]["name"]
    assert listed["kind"] == crd["spec"]["names"]["kind"]
    assert examples
    for example in examples:
        assert admission_problems(crd, example) == []


def test_make_chart_package_lints_and_writes_one_versioned_archive_per_chart(
    tmp_path: Path,
) -> None:
    proc = subprocess.run(
        ["make", "--no-print-directory", "chart-package", f"DIST={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in tmp_path.glob("*.tgz"))
    expected = sorted(
        f"{chart_yaml(c)['name']}-{chart_yaml(c)['version']}.tgz"
        for c in (ROOT / "charts" / "semantic-router", CHART)
    )
    assert names == expected
    shown = run_helm(["show", "chart", str(tmp_path / expected[1])])
    assert yaml.safe_load(shown)["annotations"] == chart_yaml(CHART)["annotations"]
    crd = run_helm(
        [
            "show",
            "crds",
            str(tmp_path / f"semantic-router-operator-{chart_yaml(CHART)['version']}.tgz"),
        ]
    )
    assert yaml.safe_load(crd) == load_crd()


def test_make_chart_package_refuses_a_chart_that_fails_strict_lint(tmp_path: Path) -> None:
    broken = tmp_path / "charts"
    (broken / "bad" / "templates").mkdir(parents=True)
    (broken / "bad" / "Chart.yaml").write_text("apiVersion: v2\nname: bad\nversion: 0.1.0\n")
    (broken / "bad" / "values.yaml").write_text("a: 1\n")
    (broken / "bad" / "templates" / "cm.yaml").write_text("{{ .Values.missing.key }}\n")
    proc = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "chart-package",
            f"DIST={tmp_path / 'dist'}",
            f"CHARTS={broken / 'bad'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "nil pointer" in proc.stdout + proc.stderr
    assert list((tmp_path / "dist").glob("*.tgz")) == []


def test_the_chart_readme_documents_every_value() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "chart_readme.py"),
            "--chart",
            str(CHART),
            "--check",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_router_chart_lists_the_images_it_runs_by_default() -> None:
    chart = ROOT / "charts" / "semantic-router"
    meta = chart_yaml(chart)
    values = yaml.safe_load((chart / "values.yaml").read_text())
    listed = {
        i["name"]: i["image"] for i in yaml.safe_load(meta["annotations"]["artifacthub.io/images"])
    }
    envoy = values["envoy"]["image"]
    assert listed == {
        "router": f"{values['image']['repository']}:{meta['appVersion']}",
        "envoy": f"{envoy['repository']}:{envoy['tag']}",
    }
