"""What the chart renders, checked on real `helm template` output (Helm 4; Helm 3 where noted)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.helm import CHART, CI_VALUES, HelmError, find, notes, render

CI = CHART / "ci"
# The management API published on the Service (it needs a bearer token).
EXPOSED = {"expose": True, "tokens": [{"secretKeyRef": {"name": "m", "key": "t"}, "role": "admin"}]}
OPENSHIFT_API = "route.openshift.io/v1"
HELM_MAJORS = [4, 3]

KSERVE: dict[str, Any] = {
    "name": "llama3-8b-endpoint",
    "model": "llama3-8b",
    "reasoningFamily": "qwen3",
    "backend": {"type": "kserve", "inferenceServiceName": "llama-3-8b"},
}


def one(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    result: dict[str, Any] = found[0]
    return result


def pod_spec(objs: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objs, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [c for c in pod_spec(objs)["containers"] if c["name"] == name]
    assert len(matches) == 1, f"no container {name}"
    return matches[0]


def router_config(objs: list[dict[str, Any]], release: str = "test") -> dict[str, Any]:
    cm = one(objs, "ConfigMap", f"{release}-config")
    config: dict[str, Any] = yaml.safe_load(cm["data"]["config.yaml"])
    return config


def envoy_config(objs: list[dict[str, Any]], release: str = "test") -> dict[str, Any]:
    cm = one(objs, "ConfigMap", f"{release}-envoy")
    config: dict[str, Any] = yaml.safe_load(cm["data"]["envoy.yaml"])
    return config


def walk_keys(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a nested structure."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key), value
            yield from walk_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_keys(item)


def helm_error(values: dict[str, Any], *, major: int = 4, **kwargs: Any) -> str:
    with pytest.raises(HelmError) as failure:
        render(values=values, major=major, **kwargs)
    return str(failure.value)


def backend_refs(config: dict[str, Any], model: str) -> list[dict[str, Any]]:
    for entry in config["providers"]["models"]:
        if entry["name"] == model:
            refs: list[dict[str, Any]] = entry["backend_refs"]
            return refs
    raise AssertionError(f"model {model} not in providers.models")


# --- every CI scenario ----------------------------------------------------------------------


@pytest.mark.parametrize("major", HELM_MAJORS)
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: Path(p).name)
def test_every_ci_values_file_renders_a_deployment_and_its_config(
    values_file: Path, major: int
) -> None:
    objs = render([values_file], major=major, api_versions=[OPENSHIFT_API])
    assert one(objs, "Deployment", "test")
    assert router_config(objs)["version"] == "v0.3"


def test_the_ci_directory_holds_every_seed_scenario() -> None:
    names = {p.name.removesuffix("-values.yaml") for p in CI_VALUES}
    assert names >= {
        "simple",
        "openshift",
        "gateway",
        "llamastack",
        "redis-cache",
        "milvus-cache",
        "hybrid-cache",
        "route",
        "everything",
    }


def test_everything_values_enable_every_optional_resource() -> None:
    objs = render([CI / "everything-values.yaml"])
    kinds = {o["kind"] for o in objs}
    assert kinds >= {
        "PersistentVolumeClaim",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "Route",
        "ServiceMonitor",
        "ServiceAccount",
    }
    assert {c["name"] for c in pod_spec(objs)["containers"]} == {"router", "envoy"}
    types = {
        e["backend"]["type"]
        for e in yaml.safe_load((CI / "everything-values.yaml").read_text())["vllmEndpoints"]
    }
    assert types == {"kserve", "service", "llamastack"}


# --- names and labels -----------------------------------------------------------------------


def test_objects_are_named_after_the_release_as_the_docs_show() -> None:
    objs = render([CI / "simple-values.yaml"], release="my-router")
    assert one(objs, "Deployment", "my-router")
    assert one(objs, "Service", "my-router")
    assert one(objs, "Service", "my-router-grpc-headless")
    assert one(objs, "PersistentVolumeClaim", "my-router-models")


def test_every_object_carries_the_instance_label_and_selectors_use_only_name_and_instance() -> None:
    objs = render([CI / "everything-values.yaml"], release="my-router")
    for obj in objs:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "my-router", obj["kind"]
    selector = one(objs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert selector == {
        "app.kubernetes.io/name": "semantic-router",
        "app.kubernetes.io/instance": "my-router",
    }


def test_fullname_override_renames_the_objects() -> None:
    objs = render(values={"fullnameOverride": "router-x", "vllmEndpoints": [KSERVE]})
    assert one(objs, "Deployment", "router-x")
    assert one(objs, "ConfigMap", "router-x-config")


# --- platform and security ------------------------------------------------------------------


def test_openshift_render_sets_no_run_as_user_group_or_fs_group_anywhere() -> None:
    objs = render([CI / "openshift-values.yaml"])
    forbidden = {"runAsUser", "runAsGroup", "fsGroup"}
    found = [key for obj in objs for key, _ in walk_keys(obj) if key in forbidden]
    assert found == []
    assert pod_spec(objs)["securityContext"]["runAsNonRoot"] is True


def test_kubernetes_render_runs_as_user_and_fs_group_1000() -> None:
    objs = render([CI / "simple-values.yaml"])
    pod = pod_spec(objs)["securityContext"]
    assert pod["runAsUser"] == 1000
    assert pod["fsGroup"] == 1000
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize(
    ("api_versions", "expects_fixed_ids"), [([], True), ([OPENSHIFT_API], False)]
)
def test_platform_auto_follows_the_openshift_route_api(
    api_versions: list[str], expects_fixed_ids: bool
) -> None:
    objs = render([CI / "simple-values.yaml"], api_versions=api_versions)
    assert ("runAsUser" in pod_spec(objs)["securityContext"]) is expects_fixed_ids


def test_an_explicit_kubernetes_platform_ignores_the_route_api() -> None:
    objs = render(
        values={"platform": "kubernetes", "vllmEndpoints": [KSERVE]},
        api_versions=[OPENSHIFT_API],
    )
    assert pod_spec(objs)["securityContext"]["runAsUser"] == 1000


@pytest.mark.parametrize("name", ["router", "envoy"])
def test_containers_are_hardened_and_have_resource_requests_and_limits(name: str) -> None:
    objs = render([CI / "simple-values.yaml"])
    c = container(objs, name)
    ctx = c["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["runAsNonRoot"] is True
    assert set(c["resources"]) == {"requests", "limits"}


def test_user_security_contexts_override_the_defaults() -> None:
    objs = render(
        values={
            "vllmEndpoints": [KSERVE],
            "securityContext": {"runAsUser": 2000, "readOnlyRootFilesystem": False},
            "podSecurityContext": {"runAsUser": 2000, "fsGroup": 2000},
        }
    )
    router = container(objs, "router")["securityContext"]
    assert router["runAsUser"] == 2000
    assert router["readOnlyRootFilesystem"] is False
    assert router["capabilities"] == {"drop": ["ALL"]}
    pod = pod_spec(objs)["securityContext"]
    assert (pod["runAsUser"], pod["fsGroup"], pod["runAsGroup"]) == (2000, 2000, 1000)
    assert container(objs, "envoy")["securityContext"]["readOnlyRootFilesystem"] is True


def test_security_contexts_merge_key_by_key_as_their_descriptions_say() -> None:
    """spec.securityContext / podSecurityContext (and the chart values) are merged over the
    defaults: a key given wins, false and 0 included; nested objects merge; lists replace."""
    objs = render(
        values={
            "vllmEndpoints": [KSERVE],
            "securityContext": {
                "runAsNonRoot": False,
                "capabilities": {"add": ["NET_BIND_SERVICE"]},
            },
            "podSecurityContext": {"runAsUser": 0, "seccompProfile": {"localhostProfile": "p"}},
            "envoy": {"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
        }
    )
    router = container(objs, "router")["securityContext"]
    assert router["runAsNonRoot"] is False
    assert router["capabilities"] == {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
    assert router["allowPrivilegeEscalation"] is False
    pod = pod_spec(objs)["securityContext"]
    assert pod["runAsUser"] == 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault", "localhostProfile": "p"}
    envoy = container(objs, "envoy")["securityContext"]
    assert envoy["capabilities"] == {"drop": ["NET_RAW"]}


def test_writable_paths_are_empty_dirs_and_no_api_token_is_mounted() -> None:
    objs = render([CI / "simple-values.yaml"])
    spec = pod_spec(objs)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container(objs, "router")["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert spec["automountServiceAccountToken"] is False
    assert one(objs, "ServiceAccount")["automountServiceAccountToken"] is False


# --- modes ------------------------------------------------------------------------------------


def test_gateway_mode_has_an_httproute_and_no_sidecar_and_no_envoy_configmap() -> None:
    objs = render([CI / "gateway-values.yaml"])
    route = one(objs, "HTTPRoute", "test")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"][0]["name"] == "istio-ingressgateway"
    assert route["spec"]["parentRefs"][0]["namespace"] == "istio-system"
    assert route["spec"]["hostnames"] == ["router.example.com"]
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    assert (backend["name"], backend["port"]) == ("llama-3-8b-predictor", 8443)
    assert [c["name"] for c in pod_spec(objs)["containers"]] == ["router"]
    assert find(objs, "ConfigMap", "test-envoy") == []
    ports = {p["name"] for p in one(objs, "Service", "test")["spec"]["ports"]}
    assert "envoy-http" not in ports
    assert router_config(objs)["listeners"] == []


def test_standalone_mode_has_the_envoy_sidecar_on_port_8801() -> None:
    objs = render([CI / "simple-values.yaml"])
    envoy = container(objs, "envoy")
    assert envoy["ports"] == [{"name": "envoy-http", "containerPort": 8801, "protocol": "TCP"}]
    service_ports = {p["name"]: p["port"] for p in one(objs, "Service", "test")["spec"]["ports"]}
    assert service_ports == {"grpc": 50051, "metrics": 9190, "envoy-http": 8801}
    assert find(objs, "HTTPRoute") == []
    listener = router_config(objs)["listeners"][0]
    assert (listener["address"], listener["port"]) == ("0.0.0.0", 8801)


@pytest.mark.parametrize("values_file", ["simple-values.yaml", "gateway-values.yaml"])
def test_the_api_target_port_is_the_router_container_in_both_modes_as_the_crd_says(
    values_file: str,
) -> None:
    values = {"service": {"api": {"targetPort": 9000}}, "managementApi": EXPOSED}
    objs = render([CI / values_file], values=values)
    api = next(p for p in one(objs, "Service", "test")["spec"]["ports"] if p["name"] == "api")
    assert api["targetPort"] == "api"
    router_ports = {p["name"]: p["containerPort"] for p in container(objs, "router")["ports"]}
    assert router_ports["api"] == 9000
    crd = yaml.safe_load((CHART.parents[1] / "crds" / "vllm.ai_semanticrouters.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    described = spec["properties"]["service"]["properties"]["api"]["properties"]["targetPort"]
    assert "router's management API" in described["description"]
    assert "Envoy listener" not in described["description"]


def test_the_headless_service_exposes_grpc_without_a_cluster_ip() -> None:
    objs = render([CI / "gateway-values.yaml"])
    headless = one(objs, "Service", "test-grpc-headless")["spec"]
    assert headless["clusterIP"] == "None"
    assert [p["name"] for p in headless["ports"]] == ["grpc"]


# --- the Envoy config ---------------------------------------------------------------------------


def test_envoy_admin_is_bound_to_loopback_and_ext_proc_fails_closed() -> None:
    envoy = envoy_config(render([CI / "simple-values.yaml"]))
    assert envoy["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    listener = envoy["static_resources"]["listeners"][0]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    ext_proc = hcm["http_filters"][0]
    assert ext_proc["name"] == "envoy.filters.http.ext_proc"
    assert ext_proc["typed_config"]["failure_mode_allow"] is False
    extproc_cluster = next(
        c for c in envoy["static_resources"]["clusters"] if c["name"] == "extproc_service"
    )
    address = extproc_cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert address["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 50051}


def test_envoy_routes_each_model_header_to_its_cluster_and_the_rest_to_the_default() -> None:
    envoy = envoy_config(render([CI / "everything-values.yaml"]))
    hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    routes = hcm["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]
    by_model = {
        r["match"]["headers"][0]["string_match"]["exact"]: r["route"]["cluster"]
        for r in routes
        if "headers" in r["match"]
    }
    assert set(by_model) == {"llama3-8b", "qwen2.5-7b", "llama-3.3-70b-instruct", "deepseek-r1"}
    fallback = routes[-1]
    assert "headers" not in fallback["match"]
    # The first endpoint's model is the default model: the reference's default route.
    assert fallback["route"]["cluster"] == by_model["llama3-8b"]
    assert "direct_response" not in fallback
    clusters = {c["name"]: c for c in envoy["static_resources"]["clusters"]}
    qwen = clusters[by_model["qwen2.5-7b"]]
    assert qwen["type"] == "STRICT_DNS"
    weights = {
        e["endpoint"]["address"]["socket_address"]["address"]: e["load_balancing_weight"]
        for e in qwen["load_assignment"]["endpoints"][0]["lb_endpoints"]
    }
    assert weights == {
        "vllm-qwen-a.default.svc.cluster.local": 3,
        "vllm-qwen-b.vllm-serving.svc.cluster.local": 1,
    }
    assert "transport_socket" not in qwen
    kserve = clusters[by_model["llama3-8b"]]
    tls = kserve["transport_socket"]["typed_config"]
    assert tls["sni"] == "llama-3-8b-predictor.default.svc.cluster.local"


def test_without_a_default_model_that_has_a_backend_unselected_requests_get_a_json_404() -> None:
    values = {
        "vllmEndpoints": [KSERVE],
        "config": {
            "providers": {
                "defaults": {"model": "hosted-elsewhere"},
                "models": [{"name": "hosted-elsewhere"}],
            }
        },
    }
    envoy = envoy_config(render(values=values))
    hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    fallback = hcm["typed_config"]["route_config"]["virtual_hosts"][0]["routes"][-1]
    assert "headers" not in fallback["match"]
    assert fallback["direct_response"]["status"] == 404
    assert "model_not_selected" in fallback["direct_response"]["body"]["inline_string"]


def test_one_model_with_http_and_https_backends_fails_naming_the_model() -> None:
    message = helm_error(
        {
            "vllmEndpoints": [
                KSERVE,
                {
                    "name": "plain",
                    "model": "llama3-8b",
                    "backend": {"type": "service", "service": {"name": "vllm", "port": 8000}},
                },
            ]
        }
    )
    assert 'model "llama3-8b" mixes http backends (plain) and https backends' in message


def test_a_ca_config_map_is_mounted_into_envoy_and_used_for_upstream_tls() -> None:
    objs = render(
        values={
            "vllmEndpoints": [KSERVE],
            "envoy": {
                "upstreamTls": {
                    "caConfigMap": {"name": "openshift-service-ca.crt", "key": "service-ca.crt"}
                }
            },
        }
    )
    clusters = envoy_config(objs)["static_resources"]["clusters"]
    tls = next(c for c in clusters if "transport_socket" in c)["transport_socket"]
    ca = tls["typed_config"]["common_tls_context"]["validation_context"]["trusted_ca"]
    assert ca == {"filename": "/etc/envoy-ca/service-ca.crt"}
    mounts = {m["name"]: m["mountPath"] for m in container(objs, "envoy")["volumeMounts"]}
    assert mounts["upstream-ca"] == "/etc/envoy-ca"
    volumes = {v["name"]: v for v in pod_spec(objs)["volumes"]}
    assert volumes["upstream-ca"]["configMap"]["name"] == "openshift-service-ca.crt"


# --- optional resources ------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", [True, False])
def test_the_openshift_route_exists_only_when_enabled(enabled: bool) -> None:
    objs = render(
        values={"vllmEndpoints": [KSERVE], "openshift": {"routes": {"enabled": enabled}}},
        api_versions=[OPENSHIFT_API],
    )
    assert len(find(objs, "Route")) == (1 if enabled else 0)


@pytest.mark.parametrize(
    ("values_file", "target_port"),
    [("route-values.yaml", "envoy-http"), ("gateway-values.yaml", "api")],
)
def test_the_route_targets_envoy_in_standalone_mode_and_the_api_in_gateway_mode(
    values_file: str, target_port: str
) -> None:
    objs = render(
        [CI / values_file],
        values={"openshift": {"routes": {"enabled": True}}, "managementApi": EXPOSED},
        api_versions=[OPENSHIFT_API],
    )
    route = one(objs, "Route")["spec"]
    assert route["port"]["targetPort"] == target_port
    assert route["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}


ROUTES_NEED_OPENSHIFT = (
    "openshift.routes.enabled needs OpenShift (route.openshift.io/v1 is not served): "
    "use ingress, or set platform: openshift"
)


@pytest.mark.parametrize("major", HELM_MAJORS)
@pytest.mark.parametrize("platform", ["auto", "kubernetes"])
def test_a_route_on_plain_kubernetes_fails_with_the_fix(platform: str, major: int) -> None:
    values = {
        "platform": platform,
        "vllmEndpoints": [KSERVE],
        "openshift": {"routes": {"enabled": True}},
    }
    assert ROUTES_NEED_OPENSHIFT in helm_error(values, major=major)


def test_an_explicit_kubernetes_platform_refuses_a_route_even_with_the_route_api() -> None:
    values = {
        "platform": "kubernetes",
        "vllmEndpoints": [KSERVE],
        "openshift": {"routes": {"enabled": True}},
    }
    assert ROUTES_NEED_OPENSHIFT in helm_error(values, api_versions=[OPENSHIFT_API])


@pytest.mark.parametrize(
    ("platform", "api_versions"), [("auto", [OPENSHIFT_API]), ("openshift", [])]
)
def test_a_route_renders_where_the_platform_is_openshift(
    platform: str, api_versions: list[str]
) -> None:
    values = {
        "platform": platform,
        "vllmEndpoints": [KSERVE],
        "openshift": {"routes": {"enabled": True}},
    }
    assert one(render(values=values, api_versions=api_versions), "Route", "test")


def test_an_existing_claim_renders_no_pvc_and_the_deployment_mounts_it() -> None:
    objs = render([CI / "gateway-values.yaml"])
    assert find(objs, "PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in pod_spec(objs)["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == "semantic-router-models"


def test_the_models_pvc_has_the_requested_size_class_and_no_keep_policy() -> None:
    objs = render([CI / "everything-values.yaml"])
    pvc = one(objs, "PersistentVolumeClaim", "test-models")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "helm.sh/resource-policy" not in pvc["metadata"].get("annotations", {})


@pytest.mark.parametrize(
    "scale",
    [{"replicas": 2}, {"autoscaling": {"enabled": True, "maxReplicas": 3}}],
    ids=["replicas", "autoscaler"],
)
def test_a_claim_one_pod_can_mount_is_refused_when_more_pods_may_run(
    scale: dict[str, Any],
) -> None:
    values = {"vllmEndpoints": [KSERVE], "persistence": {"accessMode": "ReadWriteOncePod"}}
    with pytest.raises(HelmError) as failure:
        render(values={**values, **scale})
    assert "persistence.accessMode ReadWriteOncePod lets one pod mount" in str(failure.value)
    assert "use ReadWriteMany, or run one replica" in str(failure.value)
    [claim] = find(render(values=values), "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOncePod"]


SHARED_CLAIM_WARNING = "share the ReadWriteOnce models claim"


@pytest.mark.parametrize(
    ("scale", "most"),
    [({"replicas": 2}, 2), ({"autoscaling": {"enabled": True, "maxReplicas": 3}}, 3)],
    ids=["replicas", "autoscaler"],
)
def test_the_install_notes_warn_when_replicas_share_a_claim_one_node_can_mount(
    scale: dict[str, Any], most: int
) -> None:
    text = " ".join(notes({"vllmEndpoints": [KSERVE], **scale}, release="r").split())
    warning = text[text.index("WARNING: up to") :]
    assert warning.startswith(f'WARNING: up to {most} replicas {SHARED_CLAIM_WARNING} "r-models"')
    assert "a replica scheduled on another node stays Pending" in warning
    assert "Set persistence.accessMode ReadWriteMany" in warning  # names the fix


@pytest.mark.parametrize(
    "values",
    [
        {"replicas": 1},
        {"replicas": 2, "persistence": {"accessMode": "ReadWriteMany"}},
        {"replicas": 2, "persistence": {"existingClaim": "models"}},
        {"replicas": 2, "persistence": {"enabled": False}},
    ],
    ids=["one-replica", "read-write-many", "existing-claim", "no-claim"],
)
def test_the_install_notes_do_not_warn_when_the_claim_serves_every_replica(
    values: dict[str, Any],
) -> None:
    assert SHARED_CLAIM_WARNING not in notes({"vllmEndpoints": [KSERVE], **values})


def test_disabled_persistence_puts_the_models_on_an_empty_dir() -> None:
    objs = render(values={"vllmEndpoints": [KSERVE], "persistence": {"enabled": False}})
    assert find(objs, "PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in pod_spec(objs)["volumes"]}
    assert volumes["models"] == {"name": "models", "emptyDir": {}}


def test_autoscaling_renders_an_hpa_and_the_deployment_omits_replicas() -> None:
    objs = render([CI / "everything-values.yaml"])
    hpa = one(objs, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]
    }
    assert targets == {"cpu": 70, "memory": 80}
    assert "replicas" not in one(objs, "Deployment")["spec"]


@pytest.mark.parametrize("major", HELM_MAJORS)
def test_hpa_with_min_above_max_fails_naming_both_values(major: int) -> None:
    message = helm_error(
        {
            "vllmEndpoints": [KSERVE],
            "autoscaling": {"enabled": True, "minReplicas": 7, "maxReplicas": 3},
        },
        major=major,
    )
    assert "autoscaling.minReplicas (7)" in message
    assert "autoscaling.maxReplicas (3)" in message


def test_pdb_with_both_min_available_and_max_unavailable_fails() -> None:
    message = helm_error(
        {
            "vllmEndpoints": [KSERVE],
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1, "maxUnavailable": 1},
        }
    )
    assert "either minAvailable or maxUnavailable" in message


@pytest.mark.parametrize(
    ("pdb", "expected"),
    [({"minAvailable": "50%"}, {"minAvailable": "50%"}), ({}, {"maxUnavailable": 1})],
)
def test_pdb_uses_the_given_budget_or_one_unavailable_pod(
    pdb: dict[str, Any], expected: dict[str, Any]
) -> None:
    objs = render(
        values={"vllmEndpoints": [KSERVE], "podDisruptionBudget": {"enabled": True, **pdb}}
    )
    spec = one(objs, "PodDisruptionBudget")["spec"]
    assert {k: v for k, v in spec.items() if k != "selector"} == expected


def test_ingress_defaults_to_the_envoy_port_and_carries_tls() -> None:
    objs = render([CI / "everything-values.yaml"])
    ingress = one(objs, "Ingress")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "test", "port": {"number": 8801}}
    assert ingress["tls"] == [{"secretName": "router-tls", "hosts": ["router.example.com"]}]


def test_the_service_monitor_scrapes_the_metrics_port() -> None:
    objs = render([CI / "everything-values.yaml"])
    monitor = one(objs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint == {
        "port": "metrics",
        "path": "/metrics",
        "interval": "15s",
        "scrapeTimeout": "10s",
    }


# --- values schema ------------------------------------------------------------------------------


@pytest.mark.parametrize("major", HELM_MAJORS)
def test_a_string_replica_count_fails_naming_the_key(major: int) -> None:
    message = helm_error({"replicas": "two", "vllmEndpoints": [KSERVE]}, major=major)
    assert "replicas" in message
    assert "integer" in message


@pytest.mark.parametrize("major", HELM_MAJORS)
def test_an_unknown_top_level_key_fails_naming_the_key(major: int) -> None:
    message = helm_error({"replicaCount": 2, "vllmEndpoints": [KSERVE]}, major=major)
    assert "replicaCount" in message


@pytest.mark.parametrize("major", HELM_MAJORS)
def test_a_misspelled_nested_key_fails_naming_the_key(major: int) -> None:
    message = helm_error({"persistence": {"sise": "5Gi"}, "vllmEndpoints": [KSERVE]}, major=major)
    assert "sise" in message


# --- credentials --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values_file", "env", "secret"),
    [
        ("redis-cache-values.yaml", "SR_CACHE_REDIS_PASSWORD", "redis-credentials"),
    ],
)
def test_a_cache_password_is_bound_from_its_secret_and_only_referenced_in_the_config(
    values_file: str, env: str, secret: str
) -> None:
    objs = render([CI / values_file])
    bound = {e["name"]: e for e in container(objs, "router")["env"]}
    assert bound[env]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": "password"}}
    config = router_config(objs)
    passwords = [v for k, v in walk_keys(config) if k == "password"]
    assert passwords == ["${" + env + "}"]
    assert "password_secret_ref" not in {k for k, _ in walk_keys(config)}


def test_a_secret_value_never_appears_in_any_rendered_configmap() -> None:
    # The chart only ever sees the Secret's name and key; a distinctive name proves where it goes.
    secret = "s3cr3t-redis-secret-name"
    values = yaml.safe_load((CI / "redis-cache-values.yaml").read_text())
    connection = values["config"]["global"]["stores"]["response_cache"]["redis"]["connection"]
    connection["password_secret_ref"] = {"name": secret, "key": "pw"}
    objs = render(values=values)
    for cm in find(objs, "ConfigMap"):
        assert secret not in yaml.safe_dump(cm)
        assert "pw" not in {v for _, v in walk_keys(cm) if isinstance(v, str)}
    env = {e["name"]: e for e in container(objs, "router")["env"]}
    assert env["SR_CACHE_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": secret,
        "key": "pw",
    }


def test_a_literal_cache_password_is_rejected_with_the_fix() -> None:
    values = yaml.safe_load((CI / "redis-cache-values.yaml").read_text())
    connection = values["config"]["global"]["stores"]["response_cache"]["redis"]["connection"]
    del connection["password_secret_ref"]
    connection["password"] = "hunter2"
    message = helm_error(values)
    assert "config.global.stores.response_cache.redis.connection.password" in message
    assert "password_secret_ref" in message
    assert "hunter2" not in message


# --- checksum -----------------------------------------------------------------------------------


def checksum(objs: list[dict[str, Any]]) -> str:
    value: str = one(objs, "Deployment")["spec"]["template"]["metadata"]["annotations"][
        "checksum/config"
    ]
    return value


def test_changing_the_router_config_changes_the_checksum() -> None:
    base = checksum(render(values={"vllmEndpoints": [KSERVE]}))
    changed = checksum(
        render(
            values={
                "vllmEndpoints": [KSERVE],
                "config": {"global": {"stores": {"response_cache": {"ttl_seconds": 60}}}},
            }
        )
    )
    assert base != changed
    assert base == checksum(render(values={"vllmEndpoints": [KSERVE]}))


def test_changing_only_the_envoy_config_changes_the_checksum() -> None:
    base = checksum(render(values={"vllmEndpoints": [KSERVE]}))
    changed = checksum(
        render(values={"vllmEndpoints": [KSERVE], "envoy": {"routeTimeout": "600s"}})
    )
    assert base != changed


# --- backends -----------------------------------------------------------------------------------


def test_a_service_backend_uses_its_cluster_dns_name_over_http() -> None:
    objs = render(
        values={
            "vllmEndpoints": [
                {
                    "name": "qwen",
                    "model": "qwen2.5-7b",
                    "backend": {
                        "type": "service",
                        "service": {"name": "vllm-qwen", "namespace": "serving", "port": 8000},
                    },
                },
                {
                    "name": "local",
                    "model": "phi",
                    "backend": {"type": "service", "service": {"name": "vllm-phi", "port": 8001}},
                },
            ]
        },
        namespace="ai",
    )
    config = router_config(objs)
    assert backend_refs(config, "qwen2.5-7b") == [
        {
            "name": "qwen",
            "provider": "vllm",
            "endpoint": "vllm-qwen.serving.svc.cluster.local:8000",
            "protocol": "http",
            "weight": 1,
        }
    ]
    assert backend_refs(config, "phi")[0]["endpoint"] == "vllm-phi.ai.svc.cluster.local:8001"


def test_a_kserve_backend_uses_the_predictor_over_https_on_8443() -> None:
    config = router_config(render(values={"vllmEndpoints": [KSERVE]}, namespace="models"))
    ref = backend_refs(config, "llama3-8b")[0]
    assert ref["endpoint"] == "llama-3-8b-predictor.models.svc.cluster.local:8443"
    assert ref["protocol"] == "https"


def test_a_resolved_address_wins_over_the_backend_type() -> None:
    endpoint = {
        **KSERVE,
        "backend": {
            **KSERVE["backend"],
            "resolved": {"host": "10-0-0-1.example.internal", "port": 9000, "protocol": "http"},
        },
    }
    config = router_config(render(values={"vllmEndpoints": [endpoint]}))
    ref = backend_refs(config, "llama3-8b")[0]
    assert (ref["endpoint"], ref["protocol"]) == ("10-0-0-1.example.internal:9000", "http")


def test_a_llamastack_backend_without_a_resolved_address_fails_explaining_discovery() -> None:
    message = helm_error(
        {
            "vllmEndpoints": [
                {
                    "name": "stack",
                    "model": "llama-3.3-70b-instruct",
                    "backend": {"type": "llamastack", "discoveryLabels": {"app": "llama-stack"}},
                }
            ]
        }
    )
    assert "vllmEndpoints[0].backend.type llamastack needs backend.resolved" in message
    assert "operator" in message


def test_endpoints_become_provider_models_cards_and_a_catch_all_decision() -> None:
    config = router_config(render([CI / "everything-values.yaml"]))
    names = [m["name"] for m in config["providers"]["models"]]
    assert names == ["llama3-8b", "qwen2.5-7b", "llama-3.3-70b-instruct", "deepseek-r1"]
    assert config["providers"]["defaults"]["model"] == "llama3-8b"
    cards = {c["name"]: c for c in config["routing"]["modelCards"]}
    assert cards["llama3-8b"]["loras"] == [
        {"name": "llama3-8b-sql", "description": "SQL generation adapter"}
    ]
    # the catch-all, and the prompt guard's decision (the chart default enables the guard)
    decision, guard = config["routing"]["decisions"]
    assert [r["model"] for r in decision["modelRefs"]] == names
    assert guard["name"] == "block-jailbreak"
    qwen = next(m for m in config["providers"]["models"] if m["name"] == "qwen2.5-7b")
    assert qwen["reasoning"]["parameter"] == "enable_thinking"


def test_user_decisions_and_provider_models_are_kept() -> None:
    own_decision = {
        "name": "mine",
        "priority": 10,
        "rules": {"operator": "AND", "conditions": []},
        "modelRefs": [{"model": "llama3-8b", "use_reasoning": False}],
    }
    config = router_config(
        render(
            values={
                "vllmEndpoints": [KSERVE],
                "config": {"routing": {"decisions": [own_decision]}},
            }
        )
    )
    # kept first and as written; the enabled prompt guard adds its own decision after them
    assert config["routing"]["decisions"][0] == own_decision
    assert [d["name"] for d in config["routing"]["decisions"][1:]] == ["block-jailbreak"]


def test_duplicate_endpoint_names_fail_naming_the_field() -> None:
    message = helm_error({"vllmEndpoints": [KSERVE, {**KSERVE, "model": "other"}]})
    assert 'vllmEndpoints[1].name "llama3-8b-endpoint" is used twice' in message


def test_the_tools_database_is_written_as_compact_json() -> None:
    objs = render([CI / "simple-values.yaml"])
    text = one(objs, "ConfigMap", "test-config")["data"]["tools_db.json"]
    tools = json.loads(text)
    assert text.strip() == json.dumps(tools, separators=(",", ":"), ensure_ascii=False)
    assert tools[0]["tool"]["function"]["name"] == "get_weather"
    mounts = {m["mountPath"]: m for m in container(objs, "router")["volumeMounts"]}
    assert mounts["/app/config/tools_db.json"]["subPath"] == "tools_db.json"
    assert mounts["/app/models"]["name"] == "models"
