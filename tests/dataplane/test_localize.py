"""`localize` moves the listener, admin and ext_proc ports, and touches nothing else."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dataplane.localize import HCM_TYPE, LocalizeError, localize
from tests.dataplane.sources import (
    Backend,
    chart_envoy_config,
    router_cli_envoy_config,
    router_config,
)

BACKENDS = [Backend("backend-a", "model-a", 18001), Backend("backend-b", "model-b", 18002)]
Path_ = tuple[str | int, ...]


def changed_paths(before: Any, after: Any, at: Path_ = ()) -> Iterator[Path_]:
    """Every path where `after` differs from `before` (values, added or removed keys)."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before.keys() | after.keys():
            if key not in before or key not in after:
                yield (*at, key)
            else:
                yield from changed_paths(before[key], after[key], (*at, key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(b, a, (*at, index))
    elif before != after or type(before) is not type(after):
        yield at


def expected_paths(config: dict[str, Any]) -> set[Path_]:
    """The three places a sidecar config must be moved at, in the snake_case spelling."""
    listener = ("static_resources", "listeners", 0, "address", "socket_address", "port_value")
    admin = ("admin", "address", "socket_address", "port_value")
    clusters = config["static_resources"]["clusters"]
    index = next(i for i, c in enumerate(clusters) if c["name"] == "extproc_service")
    endpoint = (
        "static_resources", "clusters", index, "load_assignment", "endpoints", 0,
        "lb_endpoints", 0, "endpoint", "address", "socket_address",
    )  # fmt: skip
    return {listener, admin, (*endpoint, "port_value")}


@pytest.fixture(scope="module")
def chart_config() -> dict[str, Any]:
    return chart_envoy_config(BACKENDS)


@pytest.fixture(scope="module")
def router_cli_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return router_cli_envoy_config(router_config(BACKENDS), tmp_path_factory.mktemp("router"))


@pytest.mark.timeout(120)
def test_localize_moves_only_the_three_ports_of_the_chart_config(
    chart_config: dict[str, Any],
) -> None:
    local = localize(chart_config, listener_port=1111, admin_port=2222, extproc_port=3333)
    assert set(changed_paths(chart_config, local)) == expected_paths(chart_config)
    assert local["static_resources"]["listeners"][0]["address"]["socket_address"] == {
        "address": "0.0.0.0",
        "port_value": 1111,
    }
    assert local["admin"]["address"]["socket_address"]["port_value"] == 2222


@pytest.mark.timeout(120)
def test_localize_moves_only_the_three_ports_of_the_router_cli_config(
    router_cli_config: dict[str, Any],
) -> None:
    """The same holds for the shape `vllm-sr config envoy` generates (the chart's model)."""
    local = localize(router_cli_config, listener_port=1111, admin_port=2222, extproc_port=3333)
    assert set(changed_paths(router_cli_config, local)) == expected_paths(router_cli_config)


@pytest.mark.timeout(60)
def test_localize_points_ext_proc_at_loopback(chart_config: dict[str, Any]) -> None:
    local = localize(chart_config, listener_port=0, admin_port=0, extproc_port=3333)
    (cluster,) = [
        c for c in local["static_resources"]["clusters"] if c["name"] == "extproc_service"
    ]
    socket = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert socket["socket_address"] == {"address": "127.0.0.1", "port_value": 3333}


@pytest.mark.timeout(60)
def test_localize_leaves_its_input_untouched(chart_config: dict[str, Any]) -> None:
    before = copy.deepcopy(chart_config)
    localize(chart_config, listener_port=1, admin_port=2, extproc_port=3)
    assert chart_config == before


@pytest.mark.timeout(60)
def test_localize_keeps_the_camel_case_spelling_envoy_also_accepts() -> None:
    def socket(address: str, port: int) -> dict[str, Any]:
        return {"socketAddress": {"address": address, "portValue": port}}

    ext_proc = {
        "name": "envoy.filters.http.ext_proc",
        "typedConfig": {"grpcService": {"envoyGrpc": {"clusterName": "router"}}},
    }
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typedConfig": {"@type": HCM_TYPE, "httpFilters": [ext_proc]},
    }
    config = {
        "admin": {"address": socket("127.0.0.1", 9901)},
        "staticResources": {
            "listeners": [
                {"address": socket("0.0.0.0", 8801), "filterChains": [{"filters": [hcm]}]}
            ],
            "clusters": [
                {
                    "name": "router",
                    "loadAssignment": {
                        "endpoints": [
                            {"lbEndpoints": [{"endpoint": {"address": socket("::1", 50051)}}]}
                        ]
                    },
                }
            ],
        },
    }
    local = localize(config, listener_port=1, admin_port=2, extproc_port=3)
    prefix = ("staticResources", "clusters", 0, "loadAssignment", "endpoints", 0, "lbEndpoints", 0)
    endpoint = (*prefix, "endpoint", "address", "socketAddress")
    assert set(changed_paths(config, local)) == {
        ("admin", "address", "socketAddress", "portValue"),
        ("staticResources", "listeners", 0, "address", "socketAddress", "portValue"),
        (*endpoint, "address"),
        (*endpoint, "portValue"),
    }


@pytest.mark.timeout(60)
def test_localize_rejects_a_config_without_an_ext_proc_filter(
    chart_config: dict[str, Any],
) -> None:
    broken = copy.deepcopy(chart_config)
    hcm = broken["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    hcm["typed_config"]["http_filters"] = [
        f for f in hcm["typed_config"]["http_filters"] if f["name"] != "envoy.filters.http.ext_proc"
    ]
    with pytest.raises(LocalizeError, match=r"exactly one envoy\.filters\.http\.ext_proc filter"):
        localize(broken, listener_port=1, admin_port=2, extproc_port=3)


@pytest.mark.timeout(60)
def test_localize_rejects_a_config_with_two_listeners(chart_config: dict[str, Any]) -> None:
    doubled = copy.deepcopy(chart_config)
    listeners = doubled["static_resources"]["listeners"]
    listeners.append(copy.deepcopy(listeners[0]))
    with pytest.raises(LocalizeError, match="exactly one listener, found 2"):
        localize(doubled, listener_port=1, admin_port=2, extproc_port=3)


@pytest.mark.timeout(60)
def test_localize_rejects_an_ext_proc_cluster_that_does_not_exist(
    chart_config: dict[str, Any],
) -> None:
    broken = copy.deepcopy(chart_config)
    broken["static_resources"]["clusters"] = [
        c for c in broken["static_resources"]["clusters"] if c["name"] != "extproc_service"
    ]
    with pytest.raises(LocalizeError, match="no cluster named 'extproc_service'"):
        localize(broken, listener_port=1, admin_port=2, extproc_port=3)


@pytest.mark.timeout(60)
def test_changed_paths_reports_values_and_keys_that_differ() -> None:
    before = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    after = {"a": {"b": 2, "c": [1, 3]}, "e": 1}
    assert set(changed_paths(before, after)) == {("a", "b"), ("a", "c", 1), ("d",), ("e",)}
