"""Point a rendered Envoy config at a test's loopback ports, and change nothing else.

A config rendered for a pod listens on fixed ports (listener 8801, admin 9901) and calls
the router at 127.0.0.1:50051. Several test runs share one machine, so each run moves
exactly three things to ports of its own:

- the port of the (single) listener;
- the port of the admin interface;
- the address of the gRPC service the ext_proc filter calls (the endpoints of its
  `envoy_grpc` cluster, or the `google_grpc` target), to 127.0.0.1:<port>.

Everything else (routes, clusters of the models, filters, buffer limits, timeouts) stays
exactly as rendered, which `tests/dataplane/test_localize.py` proves path by path.
Envoy accepts both proto field spellings (`port_value` and `portValue`); both are handled.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

EXT_PROC_FILTER = "envoy.filters.http.ext_proc"
EXT_PROC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"
HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    "HttpConnectionManager"
)


class LocalizeError(ValueError):
    """The config does not have the shape a standalone sidecar config must have."""


def _key(obj: Mapping[str, Any], snake: str) -> str:
    """The spelling of field `snake` present in `obj` (snake_case or camelCase); snake if none."""
    head, *rest = snake.split("_")
    camel = head + "".join(part.title() for part in rest)
    return camel if camel in obj and snake not in obj else snake


def _get(obj: Mapping[str, Any], snake: str, where: str) -> Any:
    key = _key(obj, snake)
    if key not in obj:
        raise LocalizeError(f"{where}: field `{snake}` is missing")
    return obj[key]


def _opt(obj: Mapping[str, Any], snake: str, default: Any) -> Any:
    return obj.get(_key(obj, snake), default)


def _set_port(address: dict[str, Any], port: int, where: str) -> None:
    socket = _get(address, "socket_address", where)
    socket[_key(socket, "port_value")] = port


def http_filters(config: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every HTTP filter of every http_connection_manager of every listener."""
    for listener in _opt(_opt(config, "static_resources", {}), "listeners", []):
        for chain in _get(listener, "filter_chains", "listener"):
            for network_filter in chain.get("filters", []):
                typed = _opt(network_filter, "typed_config", {})
                if typed.get("@type") == HCM_TYPE:
                    yield from _opt(typed, "http_filters", [])


def ext_proc_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The typed config of the (single) ext_proc filter."""
    found = [
        _opt(f, "typed_config", {})
        for f in http_filters(config)
        if f.get("name") == EXT_PROC_FILTER
        or _opt(f, "typed_config", {}).get("@type") == EXT_PROC_TYPE
    ]
    if len(found) != 1:
        raise LocalizeError(f"expected exactly one {EXT_PROC_FILTER} filter, found {len(found)}")
    typed: dict[str, Any] = found[0]
    return typed


def cluster(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The static cluster called `name`."""
    for candidate in _opt(_opt(config, "static_resources", {}), "clusters", []):
        if candidate.get("name") == name:
            found: dict[str, Any] = candidate
            return found
    raise LocalizeError(f"static_resources.clusters: no cluster named {name!r}")


def localize(
    config: Mapping[str, Any], *, listener_port: int, admin_port: int, extproc_port: int
) -> dict[str, Any]:
    """A deep copy of `config` with only the listener, admin and ext_proc ports moved.

    Port 0 is allowed for the listener and the admin interface (the kernel picks one;
    Envoy reports it on /listeners and in --admin-address-path).
    """
    out = copy.deepcopy(dict(config))

    listeners = _opt(_opt(out, "static_resources", {}), "listeners", [])
    if len(listeners) != 1:
        raise LocalizeError(f"expected exactly one listener, found {len(listeners)}")
    _set_port(_get(listeners[0], "address", "listener"), listener_port, "listener.address")

    admin = _get(out, "admin", "config")
    _set_port(_get(admin, "address", "admin"), admin_port, "admin.address")

    grpc_service = _get(ext_proc_config(out), "grpc_service", EXT_PROC_FILTER)
    if _key(grpc_service, "envoy_grpc") in grpc_service:
        envoy_grpc = grpc_service[_key(grpc_service, "envoy_grpc")]
        name = _get(envoy_grpc, "cluster_name", "grpc_service.envoy_grpc")
        assignment = _get(cluster(out, name), "load_assignment", f"cluster {name}")
        for locality in _get(assignment, "endpoints", f"cluster {name}.load_assignment"):
            for lb_endpoint in _get(locality, "lb_endpoints", f"cluster {name}"):
                endpoint = _get(lb_endpoint, "endpoint", f"cluster {name}.lb_endpoints")
                address = _get(endpoint, "address", f"cluster {name} endpoint")
                socket = _get(address, "socket_address", f"cluster {name} endpoint")
                socket[_key(socket, "address")] = "127.0.0.1"
                socket[_key(socket, "port_value")] = extproc_port
    elif _key(grpc_service, "google_grpc") in grpc_service:
        google_grpc = grpc_service[_key(grpc_service, "google_grpc")]
        google_grpc[_key(google_grpc, "target_uri")] = f"127.0.0.1:{extproc_port}"
    else:
        raise LocalizeError(
            f"{EXT_PROC_FILTER}: grpc_service has neither envoy_grpc nor google_grpc"
        )
    return out
