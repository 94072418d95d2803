"""Gateway mode: the HTTPRoute routes each model on the header the router sets, the router is
attached to the Gateway's Envoy as ext_proc, and only ports the router listens on are published.

The objects of other projects' kinds are checked against those projects' real CRDs by the
scenario tests (`ci/gateway-values.yaml`: Istio, `ci/envoy-gateway-values.yaml`); the routing
itself is run on a real Envoy by tests/dataplane/test_gateway_routing.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.chart.validators import kubernetes_problems, validate_router_config
from tests.support.helm import CHART, HelmError, find, render

CI = CHART / "ci"
NS = "llm"
GATEWAY = {"existingRef": {"name": "eg", "namespace": "gateways"}}
TOKENS = [{"secretKeyRef": {"name": "mgmt", "key": "admin-token"}, "role": "admin"}]
ENDPOINTS = [
    {
        "name": "a",
        "model": "model-a",
        "backend": {"type": "service", "service": {"name": "vllm-a", "port": 8000}},
    },
    {
        "name": "a2",
        "model": "model-a",
        "weight": 3,
        "backend": {
            "type": "service",
            "service": {"name": "vllm-a2", "namespace": "serving", "port": 8001},
        },
    },
    {
        "name": "b",
        "model": "model-b",
        "backend": {"type": "kserve", "inferenceServiceName": "granite"},
    },
]


def values(implementation: str = "envoy-gateway", **extra: Any) -> dict[str, Any]:
    return {
        "gateway": {**GATEWAY, "implementation": implementation},
        "vllmEndpoints": ENDPOINTS,
        **extra,
    }


def one(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = find(objs, kind, name)
    result: dict[str, Any] = found
    return result


def error_of(vals: dict[str, Any]) -> str:
    with pytest.raises(HelmError) as caught:
        render(values=vals, namespace=NS)
    return str(caught.value)


def router_config(objs: list[dict[str, Any]]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        one(objs, "ConfigMap", "test-config")["data"]["config.yaml"]
    )
    return config


def standalone_ext_proc() -> dict[str, Any]:
    """The ext_proc filter of the standalone Envoy config, the router's reference shape."""
    objs = render(values={"vllmEndpoints": ENDPOINTS}, namespace=NS)
    envoy = yaml.safe_load(one(objs, "ConfigMap", "test-envoy")["data"]["envoy.yaml"])
    hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    (ext,) = [f for f in hcm["typed_config"]["http_filters"] if f["name"].endswith("ext_proc")]
    config: dict[str, Any] = ext["typed_config"]
    return config


# --- the HTTPRoute -------------------------------------------------------------------------------


def test_the_httproute_has_one_rule_per_model_on_the_routers_header_and_a_default_rule() -> None:
    route = one(render(values=values(), namespace=NS), "HTTPRoute", "test")["spec"]
    rules = route["rules"]
    headers = [[h for m in r["matches"] for h in m.get("headers", [])] for r in rules]
    assert headers == [
        [{"type": "Exact", "name": "x-selected-model", "value": "model-a"}],
        [{"type": "Exact", "name": "x-selected-model", "value": "model-b"}],
        [],
    ]
    model_a = [
        (b["name"], b.get("namespace"), b["port"], b["weight"]) for b in rules[0]["backendRefs"]
    ]
    assert model_a == [("vllm-a", None, 8000, 1), ("vllm-a2", "serving", 8001, 3)]
    model_b = rules[1]["backendRefs"]
    assert [(b["name"], b["port"]) for b in model_b] == [("granite-predictor", 8443)]
    # The default rule: providers.defaults.model (the first model unless the config says).
    assert rules[2]["backendRefs"] == rules[0]["backendRefs"]
    assert {r["timeouts"]["request"] for r in rules} == {"300s"}
    assert route["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "eg",
            "namespace": "gateways",
        }
    ]


def test_the_default_rule_follows_the_configured_default_model() -> None:
    config = {"providers": {"defaults": {"model": "model-b"}}}
    route = one(render(values=values(config=config), namespace=NS), "HTTPRoute")["spec"]
    default = [r for r in route["rules"] if "headers" not in r["matches"][0]]
    assert [[b["name"] for b in r["backendRefs"]] for r in default] == [["granite-predictor"]]


def test_without_a_default_model_backend_there_is_no_default_rule() -> None:
    config = {"providers": {"defaults": {"model": "elsewhere"}, "models": [{"name": "elsewhere"}]}}
    route = one(render(values=values(config=config), namespace=NS), "HTTPRoute")["spec"]
    assert all("headers" in r["matches"][0] for r in route["rules"])


def test_route_timeouts_take_the_gateway_api_duration_form() -> None:
    objs = render(values=values(envoy={"routeTimeout": "1.5s"}), namespace=NS)
    rules = one(objs, "HTTPRoute")["spec"]["rules"]
    assert {r["timeouts"]["request"] for r in rules} == {"1500ms"}


def test_a_backend_that_is_no_service_fails_naming_the_model() -> None:
    external = {
        "name": "ext",
        "model": "external-model",
        "backend": {
            "type": "service",
            "service": {"name": "x", "port": 1},
            "resolved": {"host": "api.example.com", "port": 443, "protocol": "https"},
        },
    }
    message = error_of({"gateway": GATEWAY, "vllmEndpoints": [*ENDPOINTS, external]})
    assert 'model "external-model" has the backend api.example.com:443' in message
    assert "an HTTPRoute can only route to Services" in message


def test_more_models_than_an_httproute_holds_fail_with_the_limit() -> None:
    many = [
        {
            "name": f"m{i}",
            "model": f"m{i}",
            "backend": {"type": "service", "service": {"name": f"s{i}", "port": 80}},
        }
        for i in range(16)
    ]
    message = error_of({"gateway": GATEWAY, "vllmEndpoints": many})
    assert "16 models need 17 HTTPRoute rules, more than the 16 an HTTPRoute holds" in message


def test_https_backends_get_a_backend_tls_policy_with_the_server_name() -> None:
    objs = render(values=values(), namespace=NS)
    (policy,) = find(objs, "BackendTLSPolicy")
    assert policy["metadata"]["namespace"] == NS
    assert policy["spec"]["targetRefs"] == [
        {"group": "", "kind": "Service", "name": "granite-predictor"}
    ]
    assert policy["spec"]["validation"] == {
        "hostname": f"granite-predictor.{NS}.svc.cluster.local",
        "wellKnownCACertificates": "System",
    }
    with_ca = render(
        values=values(envoy={"upstreamTls": {"caConfigMap": {"name": "ca", "key": "ca.crt"}}}),
        namespace=NS,
    )
    refs = one(with_ca, "BackendTLSPolicy")["spec"]["validation"]["caCertificateRefs"]
    assert refs == [{"group": "", "kind": "ConfigMap", "name": "ca"}]


def test_a_ca_config_map_key_other_than_ca_crt_fails_in_gateway_mode() -> None:
    message = error_of(
        values(envoy={"upstreamTls": {"caConfigMap": {"name": "ca", "key": "service-ca.crt"}}})
    )
    assert "envoy.upstreamTls.caConfigMap.key must be ca.crt in gateway mode" in message


# --- the ext_proc attachment ---------------------------------------------------------------------


def test_envoy_gateway_attaches_the_router_to_the_httproute_as_the_reference_config_does() -> None:
    objs = render(values=values(), namespace=NS)
    policy = one(objs, "EnvoyExtensionPolicy", "test")
    assert policy["metadata"]["namespace"] == NS
    spec = policy["spec"]
    assert spec["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "test"}
    ]
    (ext,) = spec["extProc"]
    assert ext["backendRefs"] == [{"group": "", "kind": "Service", "name": "test", "port": 50051}]
    reference = standalone_ext_proc()
    assert reference["processing_mode"] == {
        "request_header_mode": "SEND",
        "response_header_mode": "SEND",
        "request_body_mode": "BUFFERED",
        "response_body_mode": "BUFFERED",
    }
    assert ext["processingMode"] == {
        "allowModeOverride": reference["allow_mode_override"],
        "request": {"body": "Buffered"},
        "response": {"body": "Buffered"},
    }
    assert ext["messageTimeout"] == reference["message_timeout"] == "1200s"
    assert ext["failOpen"] is reference["failure_mode_allow"] is False


def test_envoy_gateway_drops_a_client_sent_selection_header_on_the_gateway() -> None:
    objs = render(values=values(), namespace=NS)
    policy = one(objs, "ClientTrafficPolicy", "test")
    assert policy["metadata"]["namespace"] == "gateways"  # a policy lives with its Gateway
    assert policy["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "eg"}
    ]
    assert policy["spec"]["headers"] == {"earlyRequestHeaders": {"remove": ["x-selected-model"]}}
    assert policy["spec"]["connection"] == {"bufferLimit": "52428800"}
    kept = render(
        values=values(gateway={**GATEWAY, "dropClientSelectedModel": False}), namespace=NS
    )
    assert find(kept, "ClientTrafficPolicy") == []
    assert find(kept, "EnvoyExtensionPolicy")


def test_istio_attaches_the_router_to_the_gateway_workload_with_an_envoy_filter() -> None:
    objs = render(values=values("istio"), namespace=NS)
    envoy_filter = one(objs, "EnvoyFilter", "test")
    assert envoy_filter["metadata"]["namespace"] == "gateways"
    spec = envoy_filter["spec"]
    assert spec["workloadSelector"] == {"labels": {"gateway.networking.k8s.io/gateway-name": "eg"}}
    insert, merge = spec["configPatches"]
    assert (insert["applyTo"], insert["patch"]["operation"]) == ("HTTP_FILTER", "INSERT_BEFORE")
    ext = insert["patch"]["value"]["typed_config"]
    reference = standalone_ext_proc()
    for key in ("processing_mode", "message_timeout", "failure_mode_allow", "allow_mode_override"):
        assert ext[key] == reference[key], key
    cluster = ext["grpc_service"]["envoy_grpc"]["cluster_name"]
    assert cluster == f"outbound|50051||test.{NS}.svc.cluster.local"
    assert (merge["applyTo"], merge["patch"]["operation"]) == ("NETWORK_FILTER", "MERGE")
    mutation = merge["patch"]["value"]["typed_config"]["early_header_mutation_extensions"]
    assert mutation[0]["typed_config"]["mutations"] == [{"remove": "x-selected-model"}]
    assert find(objs, "EnvoyExtensionPolicy") == find(objs, "ClientTrafficPolicy") == []


def test_implementation_none_renders_the_route_and_no_attachment() -> None:
    objs = render(values=values("none"), namespace=NS)
    assert find(objs, "HTTPRoute")
    for kind in ("EnvoyExtensionPolicy", "ClientTrafficPolicy", "EnvoyFilter"):
        assert find(objs, kind) == [], kind


def test_an_unknown_implementation_is_refused_by_the_values_schema() -> None:
    assert "implementation" in error_of(values("nginx"))


def test_the_validators_check_the_attachment_against_the_real_crd_schemas() -> None:
    """An unknown field in an Envoy Gateway policy is caught: its CRD schema is the project's."""
    objs = render(values=values(), namespace=NS)
    policy = one(objs, "EnvoyExtensionPolicy")
    assert kubernetes_problems(policy, "1.37") == []
    policy["spec"]["extProc"][0]["processingMode"]["request"]["bodyMode"] = "Buffered"
    (problem,) = kubernetes_problems(policy, "1.37")
    assert "'bodyMode' was unexpected" in problem


# --- the management API --------------------------------------------------------------------------


def test_the_management_api_is_not_published_by_default() -> None:
    objs = render(values=values(), namespace=NS)
    assert [p["name"] for p in one(objs, "Service", "test")["spec"]["ports"]] == ["grpc", "metrics"]
    (deployment,) = find(objs, "Deployment")
    router = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "api" not in {p["name"] for p in router["ports"]}
    api = router_config(objs)["global"]["services"]["management_api"]
    assert api == {"bind_address": "127.0.0.1", "port": 8080, "remote_exposure": False}


def test_an_exposed_management_api_binds_all_interfaces_with_bearer_tokens_from_a_secret() -> None:
    tokens = [*TOKENS, {"secretKeyRef": {"name": "mgmt", "key": "viewer-token"}, "role": "viewer"}]
    vals = values(
        managementApi={"expose": True, "tokens": tokens}, service={"api": {"targetPort": 9000}}
    )
    objs = render(values=vals, namespace=NS)
    ports = {p["name"]: p for p in one(objs, "Service", "test")["spec"]["ports"]}
    assert (ports["api"]["port"], ports["api"]["targetPort"]) == (8080, "api")
    (deployment,) = find(objs, "Deployment")
    router = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "api", "containerPort": 9000, "protocol": "TCP"} in router["ports"]
    env = {e["name"]: e for e in router["env"]}
    assert env["SR_MANAGEMENT_TOKEN_0"]["valueFrom"] == {
        "secretKeyRef": {"name": "mgmt", "key": "admin-token"}
    }
    assert env["SR_MANAGEMENT_TOKEN_1"]["valueFrom"] == {
        "secretKeyRef": {"name": "mgmt", "key": "viewer-token"}
    }
    text = one(objs, "ConfigMap", "test-config")["data"]["config.yaml"]
    api = yaml.safe_load(text)["global"]["services"]["management_api"]
    assert api == {
        "bind_address": "0.0.0.0",
        "port": 9000,
        "remote_exposure": True,
        "auth": {
            "mode": "bearer",
            "tokens": [
                {"env": "SR_MANAGEMENT_TOKEN_0", "role": "admin"},
                {"env": "SR_MANAGEMENT_TOKEN_1", "role": "viewer"},
            ],
        },
    }
    assert "admin-token" not in text and "mgmt" not in text
    validate_router_config(text)


def test_exposing_the_management_api_without_a_token_fails_with_the_fix() -> None:
    message = error_of(values(managementApi={"expose": True}))
    assert "managementApi.expose needs at least one managementApi.tokens entry" in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"ingress": {"enabled": True, "hosts": [{"host": "r.example.com"}]}},
            "ingress.enabled in gateway mode",
        ),
        (
            {"platform": "openshift", "openshift": {"routes": {"enabled": True}}},
            "openshift.routes.enabled in gateway mode",
        ),
    ],
)
def test_an_ingress_or_route_in_gateway_mode_needs_the_exposed_management_api(
    extra: dict[str, Any], expected: str
) -> None:
    assert expected in error_of(values(**extra))
    exposed = values(**extra, managementApi={"expose": True, "tokens": TOKENS})
    assert render(values=exposed, namespace=NS)


def test_an_ingress_path_to_an_unpublished_port_fails_naming_the_ports() -> None:
    ingress = {
        "enabled": True,
        "hosts": [{"host": "r.example.com", "paths": [{"path": "/", "servicePort": 8080}]}],
    }
    message = error_of({"vllmEndpoints": ENDPOINTS, "ingress": ingress})
    assert "servicePort 8080 is not a port of the router Service (50051, 9190, 8801)" in message
