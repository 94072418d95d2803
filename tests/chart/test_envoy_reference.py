"""The chart's Envoy config beside the router's reference, `vllm-sr config envoy`, run on the very
`config.yaml` the chart renders, for every standalone CI scenario.

Both configs are reduced to what decides where a request goes and how long it may take: the
route per `x-selected-model` value (endpoints, Host header, TLS, SNI), the default route, the
ext_proc filter and the timeouts. A difference fails until `ARGUED_DIFFERENCES` lists it with
its reason; a listed difference that is gone fails too, so the list stays true.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import SCENARIOS, gateway_mode, rendered, values_of
from tests.chart.validators import configmaps_with_key

STANDALONE = [s for s in SCENARIOS if not gateway_mode(s)]

# The same CLI entry point as `vllm-sr config envoy --config <file>`, once per file in one
# process, with PyYAML's libyaml loader (same data, ~5x faster; see validators.py).
_VLLM_SR_ENVOY = """
import contextlib, json, sys, yaml
if getattr(yaml, "CSafeLoader", None):
    yaml.safe_load = lambda stream: yaml.load(stream, Loader=yaml.CSafeLoader)
from cli.main import main
for source, target in json.loads(sys.argv[1]):
    sys.argv = ["vllm-sr", "config", "envoy", "--config", source]
    with open(target, "w") as out, contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as exit:
            if exit.code:
                raise
"""


@functools.cache
def reference_configs() -> dict[str, dict[str, Any]]:
    """`vllm-sr config envoy` on each standalone scenario's rendered config.yaml."""
    with tempfile.TemporaryDirectory(prefix="envoy-reference-") as tmp:
        jobs = []
        for scenario in STANDALONE:
            (holder,) = configmaps_with_key(rendered(scenario), "config.yaml")
            source = Path(tmp) / f"{scenario}.yaml"
            source.write_text(holder["data"]["config.yaml"])
            jobs.append((str(source), str(Path(tmp) / f"{scenario}.envoy.yaml")))
        proc = subprocess.run(
            [sys.executable, "-c", _VLLM_SR_ENVOY, json.dumps(jobs)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert proc.returncode == 0, f"vllm-sr config envoy failed:\n{proc.stdout}\n{proc.stderr}"
        return {
            scenario: yaml.safe_load(Path(target).read_text())
            for scenario, (_, target) in zip(STANDALONE, jobs, strict=True)
        }


def chart_config(scenario: str) -> dict[str, Any]:
    (holder,) = configmaps_with_key(rendered(scenario), "envoy.yaml")
    config: dict[str, Any] = yaml.safe_load(holder["data"]["envoy.yaml"])
    return config


# --- reducing an Envoy config to what matters ----------------------------------------------------


def get(obj: Mapping[str, Any], snake: str, default: Any = None) -> Any:
    """Field `snake` in either proto spelling (the reference mixes snake and camel case)."""
    head, *rest = snake.split("_")
    camel = head + "".join(p.title() for p in rest)
    return obj.get(snake, obj.get(camel, default))


def seconds(duration: Any) -> float | None:
    return None if duration is None else float(str(duration).removesuffix("s"))


def hcm(config: Mapping[str, Any]) -> dict[str, Any]:
    (listener,) = config["static_resources"]["listeners"]
    typed: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return typed


def ext_proc(config: Mapping[str, Any]) -> dict[str, Any]:
    (found,) = [
        f["typed_config"] for f in hcm(config)["http_filters"] if f["name"].endswith("ext_proc")
    ]
    typed: dict[str, Any] = found
    return typed


def clusters(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


def endpoints(cluster: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for locality in cluster["load_assignment"]["endpoints"]:
        yield from locality["lb_endpoints"]


def backend(config: Mapping[str, Any], route: Mapping[str, Any]) -> dict[str, Any]:
    """Where a route sends a request: endpoints with the Host header they get, TLS and SNI."""
    cluster = clusters(config)[route["cluster"]]
    tls = (cluster.get("transport_socket") or {}).get("typed_config") or {}
    hosts = []
    for lb in endpoints(cluster):
        socket = lb["endpoint"]["address"]["socket_address"]
        host = route.get("host_rewrite_literal")
        if host is None and route.get("auto_host_rewrite"):
            host = lb["endpoint"].get("hostname")
        hosts.append(
            (socket["address"], int(socket["port_value"]), host, lb.get("load_balancing_weight"))
        )
    params = get(get(tls, "common_tls_context", {}), "tls_params", {})
    return {
        "endpoints": sorted(hosts),
        "tls": bool(tls),
        "sni": tls.get("sni"),
        "tls_versions": (
            get(params, "tls_minimum_protocol_version"),
            get(params, "tls_maximum_protocol_version"),
        )
        if tls
        else None,
        "timeout": seconds(route.get("timeout")),
        "connect_timeout": seconds(cluster.get("connect_timeout")),
        "cluster_type": cluster.get("type"),
        "dns_lookup_family": cluster.get("dns_lookup_family"),
    }


def view(config: Mapping[str, Any]) -> dict[str, Any]:
    """The facts compared, flattened to `aspect -> value`."""
    (host,) = hcm(config)["route_config"]["virtual_hosts"]
    facts: dict[str, Any] = {}
    for route in host["routes"]:
        headers = route["match"].get("headers")
        if headers:
            name = str(headers[0]["string_match"]["exact"])
            key = f"model[{name}]"
        else:
            key = "default"
        if "route" in route:
            for aspect, value in backend(config, route["route"]).items():
                facts[f"{key}.{aspect}"] = value
        else:
            facts[f"{key}.direct_response"] = route["direct_response"]["status"]
    filter_ = ext_proc(config)
    mode = {k: str(v) for k, v in get(filter_, "processing_mode", {}).items()}
    facts["ext_proc.processing_mode"] = mode
    facts["ext_proc.message_timeout"] = seconds(get(filter_, "message_timeout"))
    facts["ext_proc.failure_mode_allow"] = bool(get(filter_, "failure_mode_allow", False))
    facts["ext_proc.allow_mode_override"] = bool(get(filter_, "allow_mode_override", False))
    target = clusters(config)[filter_["grpc_service"]["envoy_grpc"]["cluster_name"]]
    (lb,) = endpoints(target)
    socket = lb["endpoint"]["address"]["socket_address"]
    facts["ext_proc.target"] = (socket["address"], int(socket["port_value"]))
    facts["ext_proc.connect_timeout"] = seconds(target.get("connect_timeout"))
    facts["stream_idle_timeout"] = seconds(hcm(config).get("stream_idle_timeout"))
    facts["request_headers_to_remove"] = sorted(host.get("request_headers_to_remove", []))
    (listener,) = config["static_resources"]["listeners"]
    facts["listener.port"] = int(listener["address"]["socket_address"]["port_value"])
    facts["listener.buffer_limit"] = get(listener, "per_connection_buffer_limit_bytes")
    facts["admin.address"] = config["admin"]["address"]["socket_address"]["address"]
    facts["access_log"] = [log["name"] for log in hcm(config).get("access_log", [])]
    mutations = hcm(config).get("early_header_mutation_extensions", [])
    facts["client_x_selected_model_dropped"] = any(
        m.get("remove") == "x-selected-model"
        for ext in mutations
        for m in ext["typed_config"].get("mutations", [])
    )
    return facts


# --- the deliberate differences ------------------------------------------------------------------

# Aspect (the part after `model[...]`/`default` for routes) -> why the chart differs.
ARGUED_DIFFERENCES: dict[str, str] = {
    "cluster_type": "STRICT_DNS for every model: Envoy balances over every address a name "
    "resolves to (a headless Service's pods), where the reference uses LOGICAL_DNS (one "
    "connection target) for a single name.",
    "dns_lookup_family": "V4_PREFERRED: IPv6-only and dual-stack clusters still resolve; the "
    "reference's V4_ONLY fails on IPv6-only clusters.",
    "ext_proc.connect_timeout": "5 s: the router is on the pod's loopback; a connect either "
    "succeeds at once or the router is down, and fail open/closed should decide quickly "
    "instead of after the reference's 1200 s.",
    "listener.buffer_limit": "50 MiB (envoy.bufferLimitBytes), not 500 MiB: ext_proc buffers "
    "whole bodies, and the Envoy container's memory limit is 512 MiB.",
    "admin.address": "127.0.0.1: the admin interface can change runtime state and must not be "
    "reachable from the pod network (the reference binds 0.0.0.0).",
    "access_log": "stdout, so `kubectl logs -c envoy` shows requests and nothing is written to "
    "the read-only root filesystem (the reference writes /var/log/envoy_access.log).",
    "client_x_selected_model_dropped": "a client-sent x-selected-model is removed before route "
    "selection, so only the router picks a backend (the reference would route on it when the "
    "router sets nothing).",
}


# Settings the reference has no knob for: where a scenario's values set one, the reference is
# held to the value set (its own default otherwise).
USER_SETTINGS: dict[str, tuple[tuple[str, ...], Any]] = {
    "ext_proc.message_timeout": (("envoy", "extProc", "messageTimeout"), seconds),
    "ext_proc.failure_mode_allow": (("envoy", "extProc", "failureModeAllow"), bool),
}


def with_user_settings(scenario: str, reference: dict[str, Any]) -> dict[str, Any]:
    out = dict(reference)
    for fact, (path, convert) in USER_SETTINGS.items():
        node: Any = values_of(scenario)
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            out[fact] = convert(node)
    return out


def reference_view(scenario: str) -> dict[str, Any]:
    return with_user_settings(scenario, view(reference_configs()[scenario]))


def aspect(key: str) -> str:
    head, _, tail = key.partition("].")
    return tail if head.startswith("model[") else key.removeprefix("default.")


def differences(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (ours.get(key), theirs.get(key))
        for key in sorted(set(ours) | set(theirs))
        if ours.get(key) != theirs.get(key)
    }


@pytest.mark.parametrize("scenario", STANDALONE)
def test_the_chart_envoy_config_matches_the_routers_reference_except_where_argued(
    scenario: str,
) -> None:
    found = differences(view(chart_config(scenario)), reference_view(scenario))
    unargued = {k: v for k, v in found.items() if aspect(k) not in ARGUED_DIFFERENCES}
    assert not unargued, (
        "the chart's Envoy config differs from `vllm-sr config envoy` on the same config.yaml; "
        f"fix it or argue it in ARGUED_DIFFERENCES: {unargued}"
    )


def test_every_argued_difference_still_exists_in_some_scenario() -> None:
    seen = {
        aspect(key)
        for scenario in STANDALONE
        for key in differences(view(chart_config(scenario)), reference_view(scenario))
    }
    stale = set(ARGUED_DIFFERENCES) - seen
    assert not stale, f"no longer different anywhere, drop from ARGUED_DIFFERENCES: {stale}"


@pytest.mark.parametrize("scenario", STANDALONE)
def test_the_same_models_are_routed_and_the_default_target_is_the_same(scenario: str) -> None:
    """The core the issue names, spelled out: routes, default target, processing, timeouts."""
    ours, theirs = view(chart_config(scenario)), reference_view(scenario)
    models = {k.split("]")[0] + "]" for k in theirs if k.startswith("model[")}
    assert models == {k.split("]")[0] + "]" for k in ours if k.startswith("model[")}
    for target in (*sorted(models), "default"):
        for fact in ("endpoints", "tls", "sni", "tls_versions", "timeout", "connect_timeout"):
            key = f"{target}.{fact}"
            assert ours[key] == theirs[key], key
    for key in ("processing_mode", "message_timeout", "failure_mode_allow", "target"):
        assert ours[f"ext_proc.{key}"] == theirs[f"ext_proc.{key}"], key
    assert ours["stream_idle_timeout"] == theirs["stream_idle_timeout"]
