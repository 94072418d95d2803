"""The operator's pure pipeline, offline: spec → models → routerconfig → values.build →
real ``helm template``, with the outcome a test can judge.

A spec is either refused (`Refused`: one typed error naming a field, as the operator
reports it in the status) or rendered (`Rendered`: the chart values and the manifests).
Anything else raised from here is a bug of the operator or the chart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from semantic_router_operator import discovery, models, platform, routerconfig, values
from semantic_router_operator.discovery import Address, BackendRef, BackendResult
from semantic_router_operator.platform import Platform
from semantic_router_operator.release import values_payload

from tests.support.helm import CHART, run_helm

# Backends resolve as discovery would find them; a Llama Stack backend to this Service.
LLAMA_STACK = Address("llama-stack.default.svc.cluster.local", 8321, "http")
OPTIONAL_APIS = ("monitoring.coreos.com/v1", "gateway.networking.k8s.io/v1")


@dataclass(frozen=True)
class Refused:
    """The spec is invalid: `fields` are the spec paths the error names."""

    fields: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Rendered:
    values: dict[str, Any]
    objs: list[dict[str, Any]]


def resolved_backends(spec: models.SemanticRouterSpec, namespace: str) -> list[BackendResult]:
    results = []
    for endpoint in spec.vllm_endpoints or []:
        ref = BackendRef.from_endpoint(endpoint.to_dict())
        found = discovery.offline_result(ref, namespace)
        results.append(found or BackendResult(ref.endpoint, ref.type, LLAMA_STACK, "given"))
    return results


def chart_values(
    spec: Mapping[str, Any], target: Platform, namespace: str = "default"
) -> dict[str, Any] | Refused:
    """The chart values the operator computes for `spec`, or why it refuses the spec."""
    try:
        parsed = models.parse_spec(spec)
    except models.SpecError as exc:
        return Refused(tuple(error.path for error in exc.errors), str(exc))
    routes = bool(parsed.openshift and parsed.openshift.routes and parsed.openshift.routes.enabled)
    problem = platform.check_routes(routes, target)
    if problem is not None:
        return Refused(("spec.openshift.routes.enabled",), problem)
    defaults = values.read_chart_defaults(CHART)
    try:
        return values.build(
            parsed, resolved_backends(parsed, namespace), target, chart_defaults=defaults
        )
    except routerconfig.RouterConfigError as exc:
        return Refused((exc.field,), str(exc))


def helm_template(
    chart_values: Mapping[str, Any], target: Platform, release: str = "hostile"
) -> list[dict[str, Any]]:
    """Real ``helm template`` with the values on stdin, exactly as the operator sends them."""
    args = ["template", release, str(CHART), "--namespace", "default", "--values", "-"]
    apis = [*OPTIONAL_APIS, *(["route.openshift.io/v1"] if target is Platform.OPENSHIFT else [])]
    for api in apis:
        args += ["--api-versions", api]
    text = run_helm(args, stdin=values_payload(chart_values).decode())
    return [doc for doc in yaml.safe_load_all(text) if doc]


def outcome(spec: Mapping[str, Any], target: Platform = Platform.KUBERNETES) -> Refused | Rendered:
    built = chart_values(spec, target)
    if isinstance(built, Refused):
        return built
    return Rendered(built, helm_template(built, target))


def nested_documents(objs: list[dict[str, Any]]) -> Iterator[Any]:
    """The manifests, and the config files inside their ConfigMaps (YAML or JSON) parsed."""
    for obj in objs:
        yield obj
        if obj.get("kind") != "ConfigMap":
            continue
        for text in (obj.get("data") or {}).values():
            try:
                parsed = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(parsed, dict | list):
                yield parsed


def strings(node: Any) -> Iterator[str]:
    """Every string value (not key) in a document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def rendered_strings(objs: list[dict[str, Any]]) -> list[str]:
    return [s for doc in nested_documents(objs) for s in strings(doc)]
