"""The Envoy configuration a Gateway runs for the chart's gateway-mode objects.

In gateway mode the chart renders no Envoy config: the Gateway's controller translates the
HTTPRoute and the ext_proc attachment into its Envoy's configuration. These functions do that
translation for the two implementations the chart supports, so that the dataplane tier can run
the result on a real Envoy. They copy the contract of each controller, read from its source,
and add nothing of their own: what they do not translate makes the build fail
(`GatewayTranslationError`), never a lenient guess.

Envoy Gateway (github.com/envoyproxy/gateway v1.9.1, the version tools/apis/go.mod pins):

- HTTPRoute rules become routes of one virtual host, ordered as `internal/gatewayapi/sort.go`
  orders them: by path match, then by number of header matches (more first), then by number
  of exact header matches; a header match is an exact `string_match` on the header;
- a rule's backendRefs become one cluster each (weighted clusters when several), its
  `timeouts.request` the route timeout (`internal/xds/translator/route.go`);
- an EnvoyExtensionPolicy's extProc becomes an ext_proc HTTP filter on the listener,
  *disabled*, and enabled on each route of the targeted HTTPRoute by a per-route
  `FilterConfig` (`internal/xds/translator/extproc.go`); its processingMode: `request`
  present = request headers SEND, `body: Buffered` = BUFFERED, the same for `response`;
  `failOpen` = failure_mode_allow, `messageTimeout` = message_timeout, `allowModeOverride`;
- a ClientTrafficPolicy's `headers.earlyRequestHeaders.remove` becomes the listener's early
  header mutation (`buildEarlyHeaderMutation` in `internal/xds/translator/listener.go`), and
  `connection.bufferLimit` its per-connection buffer limit.

Istio (istio.io/api v1.32.0, EnvoyFilter semantics from its networking/v1alpha3 API): the
gateway's Envoy routes the same HTTPRoute the same way (Gateway API precedence); each
EnvoyFilter patch with `context: GATEWAY` is applied as written: `HTTP_FILTER` +
`INSERT_BEFORE` of the `envoy.filters.http.router` sub-filter inserts the value before the
router filter; `NETWORK_FILTER` + `MERGE` on `envoy.filters.network.http_connection_manager`
merges the value's typed_config into the connection manager's. The ext_proc cluster
`outbound|<port>||<service>.<namespace>.svc.cluster.local` is the one Istio creates for that
Service port.

Services are resolved through `services` ({"<namespace>/<name>:<port>": loopback port}), as the
controller resolves them through EndpointSlices; a Service not in it fails the build.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from tests.dataplane.localize import EXT_PROC_TYPE, HCM_TYPE

ROUTER_FILTER = "envoy.filters.http.router"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
HCM = "envoy.filters.network.http_connection_manager"
EARLY_MUTATION = "envoy.http.early_header_mutation.header_mutation"
EARLY_MUTATION_TYPE = (
    "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3."
    "HeaderMutation"
)
FILTER_CONFIG_TYPE = "type.googleapis.com/envoy.config.route.v3.FilterConfig"
HTTP2 = {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}},
    }
}
# Envoy Gateway's listener default (internal/xds/translator/listener.go).
EG_DEFAULT_BUFFER_LIMIT = 32768


class GatewayTranslationError(AssertionError):
    """A rendered object holds something this translation does not copy."""


def _only(objs: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [o for o in objs if o.get("kind") == kind]


def _one(objs: Iterable[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    found = _only(objs, kind)
    if len(found) != 1:
        raise GatewayTranslationError(f"expected one {kind}, found {len(found)}")
    return found[0]


def _seconds(duration: str) -> str:
    """A Gateway API duration (1h, 300s, 500ms, 1m30s) in Envoy's seconds form."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(duration):
        char = duration[i]
        if char.isdigit():
            number += char
            i += 1
            continue
        unit = "ms" if duration[i : i + 2] == "ms" else char
        if unit not in units or not number:
            raise GatewayTranslationError(f"not a Gateway API duration: {duration!r}")
        total += int(number) * units[unit]
        number, i = "", i + len(unit)
    return f"{total:g}s"


class _Clusters:
    """Clusters by Service reference, created on first use."""

    def __init__(self, services: Mapping[str, int]) -> None:
        self.services = services
        self.clusters: dict[str, dict[str, Any]] = {}

    def name(self, ref: Mapping[str, Any], namespace: str, *, http2: bool = False) -> str:
        if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "":
            raise GatewayTranslationError(f"only core Services are backends here: {ref}")
        key = f"{ref.get('namespace', namespace)}/{ref['name']}:{ref['port']}"
        if key not in self.services:
            raise GatewayTranslationError(f"no endpoints for Service {key}")
        name = key.replace("/", "_").replace(":", "_")
        if name not in self.clusters:
            cluster: dict[str, Any] = {
                "name": name,
                "connect_timeout": "10s",
                "type": "STATIC",
                "load_assignment": {
                    "cluster_name": name,
                    "endpoints": [
                        {
                            "lb_endpoints": [
                                {
                                    "endpoint": {
                                        "address": {
                                            "socket_address": {
                                                "address": "127.0.0.1",
                                                "port_value": self.services[key],
                                            }
                                        }
                                    }
                                }
                            ]
                        }
                    ],
                },
            }
            if http2:
                cluster["typed_extension_protocol_options"] = copy.deepcopy(HTTP2)
            self.clusters[name] = cluster
        return name


def _match(rule_match: Mapping[str, Any]) -> dict[str, Any]:
    path = rule_match.get("path") or {"type": "PathPrefix", "value": "/"}
    if path.get("type") != "PathPrefix":
        raise GatewayTranslationError(f"only PathPrefix matches are translated: {path}")
    match: dict[str, Any] = {"prefix": path.get("value", "/")}
    headers = []
    for header in rule_match.get("headers") or []:
        if header.get("type", "Exact") != "Exact":
            raise GatewayTranslationError(f"only Exact header matches are translated: {header}")
        headers.append({"name": header["name"], "string_match": {"exact": header["value"]}})
    if headers:
        match["headers"] = headers
    return match


def _precedence(route: Mapping[str, Any]) -> tuple[int, int]:
    """Envoy Gateway's order (sort.go), most specific first: longer path prefix, then more
    header matches (all header matches here are exact)."""
    match = route["match"]
    return (-len(match["prefix"]), -len(match.get("headers", [])))


def http_routes(
    route: Mapping[str, Any], clusters: _Clusters, per_route: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The Envoy routes of one HTTPRoute, in the order the Gateway matches them."""
    namespace = route["metadata"]["namespace"]
    out = []
    for rule in route["spec"].get("rules") or []:
        extra = set(rule) - {"matches", "backendRefs", "timeouts"}
        if extra:
            raise GatewayTranslationError(f"HTTPRoute rule fields not translated: {extra}")
        refs = rule.get("backendRefs") or []
        action: dict[str, Any]
        if not refs:
            # Gateway API: a rule without backendRefs answers 500.
            action = {"direct_response": {"status": 500}}
        else:
            weighted = [
                {"name": clusters.name(ref, namespace), "weight": int(ref.get("weight", 1))}
                for ref in refs
            ]
            timeout = (rule.get("timeouts") or {}).get("request")
            inner: dict[str, Any] = (
                {"cluster": weighted[0]["name"]}
                if len(weighted) == 1
                else {"weighted_clusters": {"clusters": weighted}}
            )
            if timeout:
                inner["timeout"] = _seconds(timeout)
            action = {"route": inner}
        for rule_match in rule.get("matches") or [{}]:
            out.append({"match": _match(rule_match), **action, **per_route})
    return sorted(out, key=_precedence)


def _bootstrap(
    routes: list[dict[str, Any]],
    filters: list[dict[str, Any]],
    clusters: _Clusters,
    hcm_extra: Mapping[str, Any],
    buffer_limit: int,
) -> dict[str, Any]:
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": "gateway",
        "route_config": {
            "name": "gateway",
            "virtual_hosts": [{"name": "gateway", "domains": ["*"], "routes": routes}],
        },
        "http_filters": [*filters, {"name": ROUTER_FILTER, "typed_config": {"@type": ROUTER_TYPE}}],
        **hcm_extra,
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "gateway",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "per_connection_buffer_limit_bytes": buffer_limit,
                    "filter_chains": [{"filters": [{"name": HCM, "typed_config": hcm}]}],
                }
            ],
            "clusters": list(clusters.clusters.values()),
        },
    }


def _body_mode(options: Mapping[str, Any] | None) -> str:
    if options is None:
        return "NONE"
    body = options.get("body")
    modes = {None: "NONE", "Buffered": "BUFFERED", "Streamed": "STREAMED"}
    if body not in modes:
        raise GatewayTranslationError(f"body processing mode not translated: {body}")
    return modes[body]


def _eg_ext_proc(policy: Mapping[str, Any], clusters: _Clusters) -> dict[str, Any]:
    (ext,) = policy["spec"]["extProc"]
    extra = set(ext) - {"backendRefs", "processingMode", "messageTimeout", "failOpen"}
    if extra:
        raise GatewayTranslationError(f"extProc fields not translated: {extra}")
    (ref,) = ext["backendRefs"]
    namespace = policy["metadata"]["namespace"]
    mode = ext.get("processingMode") or {}
    request, response = mode.get("request"), mode.get("response")
    config: dict[str, Any] = {
        "@type": EXT_PROC_TYPE,
        "grpc_service": {"envoy_grpc": {"cluster_name": clusters.name(ref, namespace, http2=True)}},
        "processing_mode": {
            "request_header_mode": "SEND" if request is not None else "SKIP",
            "response_header_mode": "SEND" if response is not None else "SKIP",
            "request_body_mode": _body_mode(request),
            "response_body_mode": _body_mode(response),
            "request_trailer_mode": "SKIP",
            "response_trailer_mode": "SKIP",
        },
        "allow_mode_override": bool(mode.get("allowModeOverride", False)),
        "failure_mode_allow": bool(ext.get("failOpen", False)),
    }
    if "messageTimeout" in ext:
        config["message_timeout"] = _seconds(ext["messageTimeout"])
    return config


def _buffer_limit(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(quantity[: -len(suffix)]) * factor
    return int(quantity)


def envoy_gateway_config(
    objs: Iterable[Mapping[str, Any]], services: Mapping[str, int]
) -> dict[str, Any]:
    """The Envoy config Envoy Gateway runs for the rendered HTTPRoute, EnvoyExtensionPolicy and
    (when rendered) ClientTrafficPolicy."""
    objs = list(objs)
    route, policy = _one(objs, "HTTPRoute"), _one(objs, "EnvoyExtensionPolicy")
    targets = [(t["kind"], t["name"]) for t in policy["spec"]["targetRefs"]]
    if targets != [("HTTPRoute", route["metadata"]["name"])]:
        raise GatewayTranslationError(f"the policy targets {targets}, not the HTTPRoute")
    clusters = _Clusters(services)
    ext_proc = _eg_ext_proc(policy, clusters)
    name = f"envoy.filters.http.ext_proc/envoyextensionpolicy/{policy['metadata']['name']}"
    enable = {"typed_per_filter_config": {name: {"@type": FILTER_CONFIG_TYPE, "config": {}}}}
    routes = http_routes(route, clusters, enable)
    hcm_extra: dict[str, Any] = {}
    buffer_limit = EG_DEFAULT_BUFFER_LIMIT
    for ctp in _only(objs, "ClientTrafficPolicy"):
        spec = ctp["spec"]
        removed = (spec.get("headers") or {}).get("earlyRequestHeaders", {}).get("remove") or []
        if removed:
            hcm_extra["early_header_mutation_extensions"] = [
                {
                    "name": EARLY_MUTATION,
                    "typed_config": {
                        "@type": EARLY_MUTATION_TYPE,
                        "mutations": [{"remove": header} for header in removed],
                    },
                }
            ]
        limit = (spec.get("connection") or {}).get("bufferLimit")
        if limit is not None:
            buffer_limit = _buffer_limit(str(limit))
    filters = [{"name": name, "disabled": True, "typed_config": ext_proc}]
    return _bootstrap(routes, filters, clusters, hcm_extra, buffer_limit)


def _patch_matches(patch: Mapping[str, Any], apply_to: str) -> bool:
    match = patch.get("match") or {}
    return patch.get("applyTo") == apply_to and match.get("context") == "GATEWAY"


def istio_config(
    objs: Iterable[Mapping[str, Any]], services: Mapping[str, int], buffer_limit: int
) -> dict[str, Any]:
    """The Envoy config of an Istio gateway for the rendered HTTPRoute, with the rendered
    EnvoyFilter's patches applied."""
    objs = list(objs)
    route, envoy_filter = _one(objs, "HTTPRoute"), _one(objs, "EnvoyFilter")
    clusters = _Clusters(services)
    routes = http_routes(route, clusters, {})
    filters: list[dict[str, Any]] = []
    hcm_extra: dict[str, Any] = {}
    for patch in envoy_filter["spec"]["configPatches"]:
        operation = patch["patch"]["operation"]
        value = copy.deepcopy(patch["patch"]["value"])
        if _patch_matches(patch, "HTTP_FILTER") and operation == "INSERT_BEFORE":
            sub = patch["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"]
            if sub != ROUTER_FILTER:
                raise GatewayTranslationError(f"inserting before {sub} is not translated")
            grpc = value["typed_config"]["grpc_service"]["envoy_grpc"]
            # outbound|<port>||<service>.<namespace>.svc.cluster.local
            port, host = grpc["cluster_name"].split("|")[1], grpc["cluster_name"].split("|")[3]
            service, namespace = host.split(".")[:2]
            ref = {"name": service, "namespace": namespace, "port": int(port)}
            grpc["cluster_name"] = clusters.name(ref, namespace, http2=True)
            filters.append(value)
        elif _patch_matches(patch, "NETWORK_FILTER") and operation == "MERGE":
            merged = {k: v for k, v in value["typed_config"].items() if k != "@type"}
            hcm_extra.update(merged)
        else:
            raise GatewayTranslationError(f"EnvoyFilter patch not translated: {patch}")
    return _bootstrap(routes, filters, clusters, hcm_extra, buffer_limit)
