"""config/ (kustomize): the operator's own deployment builds with `kubectl kustomize`, every
object is one Kubernetes 1.25 and 1.37 accept, the manager passes the chart's security scan,
and the copies of crds/ and samples/ never drift.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from semantic_router_operator import settings

from scripts import deploy_manifests
from scripts.deploy_manifests import Image
from tests.chart.validators import KUBERNETES_VERSIONS, security_scan, validate_kubernetes

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "semantic-router-operator-system"
DEPLOYMENT = "semantic-router-operator-controller-manager"


@functools.cache
def built() -> tuple[dict[str, Any], ...]:
    manifest = deploy_manifests.kustomize(deploy_manifests.DEFAULT_DIR)
    return tuple(deploy_manifests.objects(manifest))


def only(kind: str, objs: tuple[dict[str, Any], ...] | list[dict[str, Any]] = ()) -> dict[str, Any]:
    found = [o for o in (objs or built()) if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def manager() -> dict[str, Any]:
    container: dict[str, Any] = only("Deployment")["spec"]["template"]["spec"]["containers"][0]
    return container


# --- it builds, and the cluster would take it ----------------------------------------------------


def test_config_default_builds_the_crd_rbac_namespace_and_manager() -> None:
    kinds = sorted(o["kind"] for o in built())
    assert kinds == [
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    ]


def test_the_deployment_has_the_name_the_troubleshooting_commands_use() -> None:
    deployment = only("Deployment")
    assert deployment["metadata"]["name"] == DEPLOYMENT
    assert deployment["metadata"]["namespace"] == NAMESPACE
    assert only("Namespace")["metadata"]["name"] == NAMESPACE


def test_every_namespaced_object_lands_in_the_operator_namespace() -> None:
    namespaced = [
        o
        for o in built()
        if o["kind"] in ("Deployment", "ServiceAccount", "NetworkPolicy", "Role", "RoleBinding")
    ]
    assert {o["metadata"]["namespace"] for o in namespaced} == {NAMESPACE}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_on_kubernetes(version: str) -> None:
    validate_kubernetes(built(), version)


def test_two_replicas_run_and_elect_one_leader_on_a_lease_in_the_operator_namespace() -> None:
    deployment = only("Deployment")
    assert deployment["spec"]["replicas"] == 2
    env = {e["name"]: e["value"] for e in manager()["env"] if "value" in e}
    chosen = settings.from_env({k: v for k, v in env.items() if k.startswith("SR_OPERATOR_")})
    assert chosen.leader_election
    role = only("Role")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        }
    ]
    binding = only("RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    ]


# --- the namespaced install (config/namespaced) ------------------------------------------------

NAMESPACED_DIR = ROOT / "config" / "namespaced"


@functools.cache
def namespaced() -> tuple[dict[str, Any], ...]:
    return tuple(deploy_manifests.objects(deploy_manifests.kustomize(NAMESPACED_DIR)))


def bindings(objs: tuple[dict[str, Any], ...], kind: str) -> dict[str, list[dict[str, Any]]]:
    """role name -> the bindings of `kind` that grant it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in objs:
        if obj["kind"] == kind:
            out.setdefault(obj["roleRef"]["name"], []).append(obj)
    return out


def test_the_namespaced_install_binds_the_namespaced_rules_only_in_the_watched_namespaces() -> None:
    objs = namespaced()
    role = "semantic-router-operator-manager-role"
    assert role not in bindings(objs, "ClusterRoleBinding")
    granted_in = sorted(b["metadata"]["namespace"] for b in bindings(objs, "RoleBinding")[role])
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    watched = settings.from_env(env).namespaces
    assert watched and sorted(watched) == granted_in
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    for binding in bindings(objs, "RoleBinding")[role]:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
        ]


def test_the_namespaced_install_keeps_only_the_cluster_scoped_reads_cluster_wide() -> None:
    cluster = bindings(namespaced(), "ClusterRoleBinding")
    assert list(cluster) == ["semantic-router-operator-manager-cluster-role"]
    (role,) = [
        o for o in namespaced() if o["kind"] == "ClusterRole" and o["metadata"]["name"] in cluster
    ]
    assert {r for rule in role["rules"] for r in rule["resources"]} == {
        "customresourcedefinitions",
        "storageclasses",
    }
    assert {v for rule in role["rules"] for v in rule["verbs"]} <= {"get", "list", "watch"}


def test_the_namespaced_install_differs_from_the_default_only_in_bindings_and_namespaces() -> None:
    def key(o: dict[str, Any]) -> tuple[str, str, str]:
        return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])

    default = {key(o): o for o in built()}
    confined = {key(o): o for o in namespaced()}
    assert {k[0] for k in set(default) ^ set(confined)} == {"ClusterRoleBinding", "RoleBinding"}
    changed = [k for k in set(default) & set(confined) if default[k] != confined[k]]
    assert changed == [("Deployment", NAMESPACE, DEPLOYMENT)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_of_the_namespaced_install_is_valid_on_kubernetes(version: str) -> None:
    validate_kubernetes(namespaced(), version)


def test_the_olm_manifests_build_and_agree_with_the_bundle_annotations() -> None:
    objs = deploy_manifests.olm()
    assert sorted(o["kind"] for o in objs) == [
        "CatalogSource",
        "Namespace",
        "OperatorGroup",
        "Subscription",
    ]
    annotations = yaml.safe_load((ROOT / "bundle" / "metadata" / "annotations.yaml").read_text())
    labels = annotations["annotations"]
    subscription = only("Subscription", objs)["spec"]
    catalog = only("CatalogSource", objs)
    assert subscription["name"] == labels["operators.operatorframework.io.bundle.package.v1"]
    assert (
        subscription["channel"]
        == labels["operators.operatorframework.io.bundle.channel.default.v1"]
    )
    assert subscription["source"] == catalog["metadata"]["name"]
    assert subscription["sourceNamespace"] == catalog["metadata"]["namespace"] == NAMESPACE
    validate_kubernetes([only("Namespace", objs)], KUBERNETES_VERSIONS[-1])


def test_openshift_deploy_sets_the_catalog_image_and_channel() -> None:
    objs = deploy_manifests.olm(Image.parse("quay.io/acme/sr-catalog:v9.9.9"), "stable")
    assert only("CatalogSource", objs)["spec"]["image"] == "quay.io/acme/sr-catalog:v9.9.9"
    assert only("Subscription", objs)["spec"]["channel"] == "stable"


# --- the manager Deployment --------------------------------------------------------------------


def test_the_manager_passes_the_security_scan_of_the_chart() -> None:
    security_scan(built())


def test_a_rolling_update_never_adds_a_third_replica_and_the_lease_keeps_one_active() -> None:
    spec = only("Deployment")["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    env = {e["name"]: e.get("value") for e in manager()["env"]}
    assert env["SR_OPERATOR_LEADER_ELECTION"] == "true"


def test_the_liveness_probe_asks_the_endpoint_the_operator_serves() -> None:
    endpoint = urlparse(settings.Settings().liveness_endpoint)
    container = manager()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == endpoint.path
        assert ports[get["port"]] == endpoint.port
    assert ports["metrics"] == settings.Settings().metrics_port


def test_the_manager_runs_restricted_without_a_fixed_uid() -> None:
    pod = only("Deployment")["spec"]["template"]["spec"]
    container = manager()
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # OpenShift's restricted SCC assigns the UID; the image's numeric USER serves elsewhere.
    for context in (pod["securityContext"], container["securityContext"]):
        assert not {"runAsUser", "runAsGroup", "fsGroup"} & set(context)
    assert not [k for k in pod if k.startswith("host")]
    assert (
        only("Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )


def test_the_read_only_root_filesystem_leaves_helm_a_writable_tmp() -> None:
    pod = only("Deployment")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in manager()["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_the_api_token_is_mounted_into_the_operator_only() -> None:
    pod = only("Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m for m in manager()["volumeMounts"]}
    token = mounts["/var/run/secrets/kubernetes.io/serviceaccount"]
    assert token["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == token["name"]]
    sources = volume["projected"]["sources"]
    assert sources[0]["serviceAccountToken"] == {"path": "token", "expirationSeconds": 3607}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_the_manager_has_requests_and_limits() -> None:
    resources = manager()["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_the_manager_settings_are_ones_the_operator_accepts() -> None:
    env = {e["name"]: e["value"] for e in manager()["env"] if "value" in e}
    assert settings.from_env(env).clusterwide


# --- the image ----------------------------------------------------------------------------------


def test_the_default_image_is_tagged_with_the_project_version() -> None:
    assert manager()["image"] == (
        f"ghcr.io/vllm-project/semantic-router-operator:{deploy_manifests.project_version()}"
    )
    assert str(deploy_manifests.default_image()) == manager()["image"]


@pytest.mark.parametrize(
    "ref",
    [
        "quay.io/acme/semantic-router-operator:1.2.3",
        "registry.local:5000/sr/operator:dev",
        "quay.io/acme/semantic-router-operator@sha256:" + "a" * 64,
        "quay.io/acme/semantic-router-operator:1.2.3@sha256:" + "b" * 64,
    ],
)
def test_make_deploy_img_sets_the_manager_image(ref: str) -> None:
    objs = deploy_manifests.objects(
        deploy_manifests.kustomize(deploy_manifests.DEFAULT_DIR, Image.parse(ref))
    )
    (deployment,) = [o for o in objs if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == ref


@pytest.mark.parametrize("ref", ["", "quay.io/acme/operator", "quay.io/acme/operator@nodigest"])
def test_an_image_without_tag_or_digest_is_refused_naming_img(ref: str) -> None:
    with pytest.raises(ValueError, match=r"IMG=.*with a tag or digest"):
        Image.parse(ref)


def test_undeploy_leaves_the_crd_and_with_it_every_semanticrouter() -> None:
    kinds = {o["kind"] for o in deploy_manifests.without_crds(list(built()))}
    assert "CustomResourceDefinition" not in kinds
    assert "Deployment" in kinds


# --- the copies of crds/ and samples/ ------------------------------------------------------------


def test_config_holds_current_copies_of_the_crd_and_the_samples() -> None:
    assert deploy_manifests.stale_files() == [], "config/ copies are stale: run `make bundle`"


def test_the_crd_kustomize_builds_is_the_generated_crd() -> None:
    crd = only("CustomResourceDefinition")
    (generated,) = [d for d in yaml.safe_load_all(deploy_manifests.CRD_SOURCE.read_text()) if d]
    assert crd["spec"] == generated["spec"]
    assert crd["metadata"]["name"] == generated["metadata"]["name"]
    assert generated["metadata"]["labels"].items() <= crd["metadata"]["labels"].items()


def test_config_samples_builds_every_sample() -> None:
    objs = deploy_manifests.objects(deploy_manifests.kustomize(deploy_manifests.CONFIG / "samples"))
    expected = [
        yaml.safe_load(p.read_text()) for p in sorted(deploy_manifests.SAMPLES.glob("*.yaml"))
    ]
    assert sorted(objs, key=lambda o: o["metadata"]["name"]) == sorted(
        expected, key=lambda o: o["metadata"]["name"]
    )


def test_the_sample_the_kind_walkthrough_applies_is_the_simple_sample() -> None:
    seed = deploy_manifests.CONFIG / "samples" / deploy_manifests.SEED_SAMPLE
    simple = deploy_manifests.SAMPLES / deploy_manifests.SEED_SAMPLE_SOURCE
    assert seed.read_text() == simple.read_text()


def test_sync_check_reports_a_stale_copy_and_sync_repairs_it(tmp_path: Path) -> None:
    for rel, text in deploy_manifests.synced_files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert deploy_manifests.stale_files(tmp_path) == []
    crd_copy = tmp_path / "config" / "crd" / "bases" / "vllm.ai_semanticrouters.yaml"
    crd_copy.write_text(crd_copy.read_text() + "# edited by hand\n")
    (tmp_path / "config" / "samples" / "old.yaml").write_text("kind: Stale\n")
    stale = deploy_manifests.stale_files(tmp_path)
    assert stale == ["config/crd/bases/vllm.ai_semanticrouters.yaml", "config/samples/old.yaml"]
    deploy_manifests.sync(tmp_path)
    assert deploy_manifests.stale_files(tmp_path) == []


def test_the_sync_check_command_passes_on_the_committed_tree() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "deploy_manifests.py"), "sync", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


# --- the make targets of the deployment paths ---------------------------------------------------


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_make_help_lists_the_build_and_deployment_targets() -> None:
    listed = re.sub(r"\x1b\[[0-9;]*m", "", make("help").stdout)
    for target in (
        "install",
        "uninstall",
        "deploy",
        "undeploy",
        "run",
        "build",
        "docker-build",
        "docker-push",
        "podman-build",
        "podman-push",
        "bundle",
        "openshift-deploy",
        "openshift-undeploy",
        "generate",
        "e2e",
    ):
        assert re.search(rf"^  {re.escape(target)}\s", listed, re.M), f"`make help` lacks {target}"
    assert "Deployment" in listed and "Build" in listed


@pytest.mark.parametrize("target", ["install", "uninstall", "deploy", "undeploy", "run"])
def test_cluster_targets_without_a_cluster_say_so_and_fail(target: str, tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-kubeconfig")}
    proc = make(target, env=env)
    assert proc.returncode != 0
    assert f"make {target}: needs a Kubernetes cluster" in proc.stderr
    assert "kind create cluster" in proc.stderr


def test_podman_targets_without_podman_name_it_and_how_to_get_it() -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    assert not shutil.which("podman", path=env["PATH"])
    proc = make("podman-build", env=env)
    assert proc.returncode != 0
    assert "make podman-build: needs podman, which is not installed" in proc.stderr
    assert "https://podman.io" in proc.stderr


def test_docker_targets_without_docker_name_it_and_how_to_get_it() -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    assert not shutil.which("docker", path=env["PATH"])
    proc = make("docker-build", env=env)
    assert proc.returncode != 0
    assert "make docker-build: needs docker, which is not installed" in proc.stderr


def test_e2e_on_a_kubeconfig_that_reaches_nothing_fails_naming_it(tmp_path: Path) -> None:
    recipe = re.search(r"^e2e:.*\n\t(?P<command>.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe and "tests/e2e" in recipe["command"]
    nowhere = tmp_path / "no-kubeconfig"
    env = {**os.environ, "KUBECONFIG": str(nowhere)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e/test_rbac.py", "-p", "no:cacheprovider", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"KUBECONFIG={nowhere} reaches no API server" in proc.stdout
    assert "skipped" not in proc.stdout.splitlines()[-1]
