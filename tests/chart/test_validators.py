"""The chart tier: every CI values file renders to valid, secure manifests.

For each `ci/<scenario>-values.yaml`, rendered with Helm 4: the manifests validate against
Kubernetes 1.25 and 1.37 (strict), the router config passes `vllm-sr config validate`, the
Envoy config of a standalone render passes `envoy --mode validate`, and checkov finds nothing
beyond the justified skips. The negative tests prove each validator can fail.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.chart.conftest import (
    NO_CI_FILES,
    SCENARIOS,
    gateway_mode,
    rendered,
    values_file,
)
from tests.chart.validators import (
    CHECKOV_SKIPS,
    KUBERNETES_VERSIONS,
    Finding,
    checkov_skips,
    configmaps_with_key,
    label,
    parse_checkov_skips,
    security_problems,
    security_scan,
    validate_envoy,
    validate_kubernetes,
    validate_router_config,
)
from tests.support.helm import CI_VALUES

# The scenarios of the user documentation, each with a CI values file in the chart.
DOCUMENTED_SCENARIOS = {
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


# --- the CI renders ---------------------------------------------------------------------------


def test_chart_has_a_ci_values_file_for_every_documented_scenario() -> None:
    assert CI_VALUES, "charts/semantic-router/ci has no *-values.yaml: nothing would be checked"
    missing = DOCUMENTED_SCENARIOS - set(SCENARIOS)
    assert not missing, f"no ci/<scenario>-values.yaml for: {sorted(missing)}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ci_render_validates_strictly_against_kubernetes(scenario: str, version: str) -> None:
    validate_kubernetes(rendered(scenario), version)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ci_render_router_config_passes_vllm_sr_validate(scenario: str) -> None:
    routers = configmaps_with_key(rendered(scenario), "config.yaml")
    assert [label(o) for o in routers] and len(routers) == 1, (
        f"{scenario}: expected exactly one ConfigMap with a config.yaml key, got"
        f" {[label(o) for o in routers]}"
    )
    validate_router_config(routers[0]["data"]["config.yaml"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ci_render_envoy_config_passes_envoy_validate_in_standalone_mode(scenario: str) -> None:
    objs = rendered(scenario)
    envoys = configmaps_with_key(objs, "envoy.yaml")
    if gateway_mode(scenario):
        assert not envoys, (
            f"{scenario} is gateway mode (gateway.existingRef.name set in"
            f" {values_file(scenario).name}) but renders an Envoy config:"
            f" {[label(o) for o in envoys]}"
        )
        routes = [o for o in objs if o["kind"] == "HTTPRoute"]
        assert len(routes) == 1, f"{scenario}: gateway mode renders one HTTPRoute, got {routes}"
        return
    assert len(envoys) == 1, (
        f"{scenario}: standalone mode renders exactly one ConfigMap with an envoy.yaml key, got"
        f" {[label(o) for o in envoys]}"
    )
    validate_envoy(envoys[0]["data"]["envoy.yaml"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ci_render_passes_the_security_scan(
    scenario: str, checkov_report: dict[str, list[Finding]]
) -> None:
    rendered(scenario)  # a scenario that does not render fails here, with helm's message
    problems = security_problems(checkov_report[scenario], checkov_skips())
    assert not problems, f"checkov findings in {scenario}:\n" + "\n".join(problems)


def test_every_skipped_checkov_check_is_justified_and_still_needed(
    checkov_report: dict[str, list[Finding]],
) -> None:
    assert SCENARIOS != [NO_CI_FILES], "no CI render to scan"
    skips = checkov_skips()
    failing = {f.check_id for findings in checkov_report.values() for f in findings}
    stale = sorted(set(skips) - failing)
    assert not stale, (
        f"{CHECKOV_SKIPS.name} skips checks that no CI render fails: {stale}; remove them"
    )


# --- hand-written inputs: each validator accepts good input and rejects bad input -----------


def deployment() -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "r"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "demo", "namespace": "apps", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "router",
                            "image": "ghcr.io/example/router:1.0.0",
                            "ports": [{"name": "grpc", "containerPort": 50051}],
                            "volumeMounts": [{"name": "config", "mountPath": "/app/config"}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "demo"}}],
                },
            },
        },
    }


def service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "demo", "namespace": "apps"},
        "spec": {
            "selector": {"app.kubernetes.io/name": "demo"},
            "ports": [
                {"name": "grpc", "port": 50051, "targetPort": "grpc"},
                {"name": "http", "port": 8801, "targetPort": 8801},
            ],
        },
    }


def httproute() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "demo", "namespace": "apps"},
        "spec": {
            "parentRefs": [{"name": "gw", "namespace": "infra"}],
            "hostnames": ["router.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                    "backendRefs": [{"name": "demo", "port": 8080}],
                    "timeouts": {"request": "300s"},
                }
            ],
        },
    }


def openshift_route() -> dict[str, Any]:
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "demo", "namespace": "apps"},
        "spec": {
            "to": {"kind": "Service", "name": "demo", "weight": 100},
            "port": {"targetPort": "http"},
            "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
        },
    }


def service_monitor() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "demo", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "demo"}},
            "endpoints": [{"port": "metrics", "interval": "30s", "path": "/metrics"}],
        },
    }


def valid_objects() -> list[dict[str, Any]]:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "demo", "namespace": "apps"},
        "data": {"config.yaml": "version: v0.3\n"},
    }
    return [deployment(), service(), config, httproute(), openshift_route(), service_monitor()]


def rejection(objs: list[dict[str, Any]], version: str = "1.37") -> str:
    with pytest.raises(AssertionError) as caught:
        validate_kubernetes(objs, version)
    return str(caught.value)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_well_formed_objects_of_every_kind_validate(version: str) -> None:
    validate_kubernetes(valid_objects(), version)


def test_deployment_with_a_string_replica_count_is_rejected_naming_the_field() -> None:
    broken = deployment()
    broken["spec"]["replicas"] = "two"
    message = rejection([broken])
    assert "Deployment/demo (Kubernetes 1.37): spec.replicas: 'two' is not of type" in message


def test_unknown_field_in_a_container_is_rejected_in_both_versions() -> None:
    broken = deployment()
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    for version in KUBERNETES_VERSIONS:
        message = rejection([broken], version)
        assert "spec.template.spec.containers.0" in message
        assert "'imagePullPolicyy' was unexpected" in message


def test_unknown_field_in_metadata_is_rejected() -> None:
    broken = service()
    broken["metadata"]["label"] = {"a": "b"}
    assert "metadata: Additional properties are not allowed ('label'" in rejection([broken])


def test_unknown_kind_is_rejected() -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "Widget/w (Kubernetes 1.37): unknown kind" in rejection([unknown])


def test_api_removed_from_kubernetes_is_rejected() -> None:
    pdb = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "demo"},
        "spec": {"minAvailable": 1},
    }
    assert "unknown kind: Kubernetes 1.25 serves no PodDisruptionBudget in policy/v1beta1" in (
        rejection([pdb], "1.25")
    )


def test_api_not_yet_served_by_the_oldest_version_is_rejected() -> None:
    # flowcontrol.apiserver.k8s.io/v1 is served from Kubernetes 1.29 on.
    schema = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": {"name": "demo"},
        "spec": {"priorityLevelConfiguration": {"name": "global-default"}},
    }
    assert "unknown kind" in rejection([schema], "1.25")
    validate_kubernetes([schema], "1.37")


def test_httproute_with_an_unknown_field_is_rejected() -> None:
    broken = httproute()
    broken["spec"]["rules"][0]["backendRefs"][0]["serviceName"] = "demo"
    message = rejection([broken])
    assert "HTTPRoute/demo" in message
    assert "spec.rules.0.backendRefs.0: Additional properties are not allowed" in message


def test_httproute_with_a_bad_path_type_is_rejected() -> None:
    broken = httproute()
    broken["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    assert "spec.rules.0.matches.0.path.type: 'Prefix' is not one of" in rejection([broken])


def test_route_without_target_service_is_rejected() -> None:
    broken = openshift_route()
    del broken["spec"]["to"]
    assert "Route/demo (Kubernetes 1.37): spec: 'to' is a required property" in rejection([broken])


def test_route_with_a_wrong_apiversion_is_an_unknown_kind() -> None:
    broken = openshift_route()
    broken["apiVersion"] = "route.openshift.io/v2"
    assert "unknown kind" in rejection([broken])


def test_service_monitor_with_a_numeric_port_is_rejected() -> None:
    broken = service_monitor()
    broken["spec"]["endpoints"][0]["port"] = 9190
    assert "spec.endpoints.0.port: 9190 is not of type 'string'" in rejection([broken])


def test_custom_resource_metadata_is_checked_as_object_meta() -> None:
    broken = service_monitor()
    broken["metadata"]["labels"] = {"team": 7}
    assert "ServiceMonitor/demo (Kubernetes 1.37): metadata.labels.team" in rejection([broken])


def test_service_name_must_be_a_dns_label() -> None:
    broken = service()
    broken["metadata"]["name"] = "1-demo"
    assert "Service/1-demo (Kubernetes 1.37): metadata.name '1-demo' is invalid" in rejection(
        [broken]
    )


def test_port_name_longer_than_fifteen_characters_is_rejected() -> None:
    broken = deployment()
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = "ext-proc-grpc-api"
    assert "port name 'ext-proc-grpc-api' is not an IANA service name" in rejection([broken])


def test_selector_must_match_the_pod_template_labels() -> None:
    broken = deployment()
    broken["spec"]["selector"]["matchLabels"] = {"app": "other"}
    assert "spec.selector: {'app': 'other'} does not match" in rejection([broken])


def test_volume_mount_of_a_missing_volume_is_rejected() -> None:
    broken = deployment()
    broken["spec"]["template"]["spec"]["volumes"] = []
    assert "volumeMounts: 'config' is not a volume of the pod" in rejection([broken])


def test_a_container_claim_the_pod_does_not_declare_is_rejected() -> None:
    broken = deployment()
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container.setdefault("resources", {})["claims"] = [{"name": "gpu"}]
    assert "'gpu' must be one of the names in pod.spec.resourceClaims" in rejection([broken])


def test_invalid_label_value_is_rejected() -> None:
    broken = deployment()
    broken["metadata"]["labels"]["helm.sh/chart"] = "semantic-router-0.1.0+build"
    assert "metadata.labels.helm.sh/chart: value 'semantic-router-0.1.0+build'" in rejection(
        [broken]
    )


def test_configmap_over_one_mebibyte_is_rejected() -> None:
    big = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "tools"},
        "data": {"tools_db.json": "x" * (1024 * 1024)},
    }
    assert "over the 1 MiB ConfigMap limit" in rejection([big])


def test_object_rendered_twice_is_rejected() -> None:
    assert "Service/demo: rendered twice" in rejection([service(), service()])


ROUTER_CONFIG = """\
version: v0.3
listeners:
  - name: http-8899
    address: 0.0.0.0
    port: 8899
    timeout: 300s
providers:
  defaults:
    model: llama3-8b
  models:
    - name: llama3-8b
      backend_refs:
        - name: primary
          provider: vllm
          endpoint: llama-3-8b-predictor.apps.svc.cluster.local:8443
          protocol: https
          weight: 100
routing:
  modelCards:
    - name: llama3-8b
  decisions:
    - name: default-route
      description: Catch-all route.
      priority: 100
      rules:
        operator: AND
        conditions: []
      modelRefs:
        - model: llama3-8b
          use_reasoning: false
"""


def test_valid_router_config_passes_vllm_sr_validate() -> None:
    validate_router_config(ROUTER_CONFIG)


def test_router_config_with_an_unknown_key_is_rejected_with_the_tool_message() -> None:
    with pytest.raises(AssertionError) as caught:
        validate_router_config(ROUTER_CONFIG + "bert_model:\n  model_id: x\n")
    assert "vllm-sr config validate rejected the router config" in str(caught.value)
    assert "bert_model" in str(caught.value)


def test_router_config_routing_to_an_undeclared_model_is_rejected() -> None:
    broken = ROUTER_CONFIG.replace("        - model: llama3-8b\n", "        - model: gpt-x\n")
    with pytest.raises(AssertionError, match="vllm-sr config validate rejected"):
        validate_router_config(broken)


ENVOY_CONFIG = """\
static_resources:
  listeners:
    - name: listener_0
      address:
        socket_address: {address: 0.0.0.0, port_value: 8801}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/HCM
                stat_prefix: ingress_http
                route_config:
                  name: local_route
                  virtual_hosts:
                    - name: backend
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/"}
                          route: {cluster: llama3_8b}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: llama3_8b
      type: STRICT_DNS
      connect_timeout: 5s
      load_assignment:
        cluster_name: llama3_8b
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {address: llama.apps.svc.cluster.local, port_value: 8000}
""".replace(
    "HCM", "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)


def test_valid_envoy_config_passes_envoy_validate() -> None:
    validate_envoy(ENVOY_CONFIG)


def test_envoy_config_with_an_unknown_field_is_rejected() -> None:
    broken = ENVOY_CONFIG.replace("connect_timeout: 5s", "connect_timeout: 5s\n      retries: 3")
    with pytest.raises(AssertionError) as caught:
        validate_envoy(broken)
    assert "envoy --mode validate rejected the config" in str(caught.value)
    assert "retries" in str(caught.value)


def test_envoy_route_to_an_undefined_cluster_is_rejected() -> None:
    broken = ENVOY_CONFIG.replace("route: {cluster: llama3_8b}", "route: {cluster: nowhere}")
    with pytest.raises(AssertionError, match="nowhere"):
        validate_envoy(broken)


def test_privileged_container_is_flagged_by_the_security_scan() -> None:
    insecure = copy.deepcopy(deployment())
    container = insecure["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {"privileged": True, "allowPrivilegeEscalation": True}
    with pytest.raises(AssertionError) as caught:
        security_scan([insecure])
    message = str(caught.value)
    assert "CKV_K8S_16 Container should not be privileged: Deployment.apps.demo" in message
    assert "CKV_K8S_20" in message  # allowPrivilegeEscalation


def test_security_scan_applies_only_the_listed_skips() -> None:
    findings = [
        Finding("CKV_K8S_16", "Container should not be privileged", "Deployment.a.b"),
        Finding("CKV_K8S_43", "Image should use digest", "Deployment.a.b"),
    ]
    problems = security_problems(findings, {"CKV_K8S_43": "digest pinning is the user's choice"})
    assert problems == ["CKV_K8S_16 Container should not be privileged: Deployment.a.b"]


def test_checkov_skip_without_a_reason_is_rejected() -> None:
    text = "skip-check:\n  - CKV_K8S_43  # digests are the user's choice\n  - CKV_K8S_21\n"
    with pytest.raises(AssertionError, match="CKV_K8S_21 skipped without a reason"):
        parse_checkov_skips(text)


def test_checkov_skip_file_reasons_are_read_per_entry() -> None:
    text = "skip-check:\n  - CKV_K8S_43  # digests are the user's choice\n"
    assert parse_checkov_skips(text) == {"CKV_K8S_43": "digests are the user's choice"}


def test_chart_checkov_skip_file_gives_a_reason_for_every_skip() -> None:
    assert CHECKOV_SKIPS.is_file(), f"{CHECKOV_SKIPS} is missing"
    skips = checkov_skips()
    assert all(len(reason) >= 20 for reason in skips.values()), skips
