"""`semantic-router-operator`: run the operator, or see offline what it would deploy.

    semantic-router-operator run                   the operator (settings from SR_OPERATOR_*)
    semantic-router-operator render CR.yaml        the manifests the operator would deploy
    semantic-router-operator values CR.yaml        the chart values it would use
    semantic-router-operator crd                   the SemanticRouter CRD

`render` and `values` go through the operator's own code (models, routerconfig, values)
and, for `render`, real `helm template`. Without a cluster, KServe and Service backends
resolve to the addresses discovery would find; Llama Stack backends need
``--resolve NAME=HOST:PORT``. Exit codes: 0 ok, 1 helm or environment trouble, 2 bad
input (the message names the field and the fix).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from semantic_router_operator import (
    __version__,
    discovery,
    models,
    names,
    platform,
    routerconfig,
    values,
)
from semantic_router_operator.discovery import Address, BackendRef, BackendResult
from semantic_router_operator.platform import Platform
from semantic_router_operator.release import HelmReleases, ReleaseError
from semantic_router_operator.settings import Settings, SettingsError, from_env

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class InputError(Exception):
    """Bad user input: the message says what and how to fix it (exit code 2)."""


# --- reading a CR ----------------------------------------------------------------------


MAX_CR_BYTES = 1_572_864
"""Largest SemanticRouter file read: 1.5 MiB, the most etcd stores as one object by default
(the API server refuses a bigger CR whatever its content)."""

_SURROGATE = re.compile(r"[\ud800-\udfff]")


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without aliases: ``*name`` would let a few hundred bytes expand into
    gigabytes (a "billion laughs" document); a SemanticRouter never needs one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event: Any = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.YAMLError(
                f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                "accepted: write the value out in full"
            )
        return super().compose_node(parent, index)


def read_text(path: str) -> str:
    """The file's text: at most MAX_CR_BYTES, UTF-8 (``-`` reads stdin)."""
    try:
        raw: bytes
        if path == "-":
            buffer = getattr(sys.stdin, "buffer", None)
            if buffer is not None:
                raw = bytes(buffer.read(MAX_CR_BYTES + 1))
            else:  # a text stream without bytes underneath
                raw = sys.stdin.read(MAX_CR_BYTES + 1).encode("utf-8", "surrogateescape")
        else:
            with Path(path).open("rb") as stream:
                raw = stream.read(MAX_CR_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_CR_BYTES:
        raise InputError(
            f"{path}: larger than {MAX_CR_BYTES} bytes, more than the Kubernetes API stores "
            "in one object: move large parts (toolsDb) elsewhere"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}): "
            "save the file as UTF-8"
        ) from None


def _unicode(node: Any, where: str) -> Any:
    """`node` with UTF-16 surrogate pairs (JSON's ``\\ud83d\\ude00`` escapes, which YAML
    leaves as two code points) joined into their character; a lone surrogate, which no
    text can hold, is refused naming where it is."""
    if isinstance(node, str):
        if not _SURROGATE.search(node):
            return node
        try:
            return node.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise InputError(
                f"{where}: holds a lone UTF-16 surrogate escape (\\ud800-\\udfff): write "
                "the character itself"
            ) from None
    if isinstance(node, dict):
        return {
            _unicode(key, where): _unicode(value, f"{where}.{key}".lstrip("."))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_unicode(item, f"{where}[{index}]") for index, item in enumerate(node)]
    return node


def load_cr(path: str) -> dict[str, Any]:
    """The single SemanticRouter in a YAML file (``-`` reads stdin), its shape checked
    (metadata and spec objects, a valid name and namespace) so that any malformed input
    ends in one InputError line."""
    text = read_text(path)
    try:
        docs = [doc for doc in yaml.load_all(text, Loader=_NoAliasLoader) if doc is not None]
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a SemanticRouter") from None
    routers = [d for d in docs if isinstance(d, dict) and d.get("kind") == models.KIND]
    if len(routers) != 1:
        kinds = ", ".join(str(d.get("kind")) for d in docs if isinstance(d, dict)) or "nothing"
        raise InputError(
            f"{path}: expected exactly one {models.KIND} ({models.API_VERSION}), found {kinds}"
        )
    try:
        cr: dict[str, Any] = _unicode(routers[0], "")
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a SemanticRouter") from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if cr.get("apiVersion") != models.API_VERSION:
        raise InputError(
            f"{path}: apiVersion is {cr.get('apiVersion')!r}: set it to {models.API_VERSION}"
        )
    _check_metadata(cr, path)
    return cr


def _check_metadata(cr: dict[str, Any], path: str) -> None:
    """metadata and spec are objects, the name and namespace valid (metadata defaults to {})."""
    meta = cr.get("metadata")
    if meta is None:
        meta = cr["metadata"] = {}
    if not isinstance(meta, dict):
        raise InputError(f"{path}: metadata must be an object with a name")
    if cr.get("spec") is not None and not isinstance(cr["spec"], dict):
        raise InputError(f"{path}: spec must be an object (found {type(cr['spec']).__name__})")
    if not meta.get("name"):
        raise InputError(f"{path}: metadata.name is missing: name the SemanticRouter")
    name = meta["name"]
    if not isinstance(name, str) or len(name) > 253 or not names.SUBDOMAIN.match(name):
        raise InputError(
            f"{path}: metadata.name {name!r} is not a valid name: at most 253 lowercase "
            "letters, digits, '-' or '.', starting and ending with a letter or digit"
        )
    namespace = meta.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or len(namespace) > 63 or not names.LABEL.match(namespace)
    ):
        raise InputError(
            f"{path}: metadata.namespace {namespace!r} is not a valid namespace: at most 63 "
            "lowercase letters, digits or '-', starting and ending with a letter or digit"
        )


def parse_resolve(items: Sequence[str]) -> dict[str, Address]:
    """``NAME=HOST:PORT`` or ``NAME=https://HOST:PORT`` → endpoint name → address."""
    resolved: dict[str, Address] = {}
    for item in items:
        name, sep, target = item.partition("=")
        protocol = "http"
        for scheme in ("http", "https"):
            if target.startswith(f"{scheme}://"):
                protocol, target = scheme, target[len(scheme) + 3 :]
        host, colon, port = target.rpartition(":")
        if not (sep and name and colon and host and port.isdigit() and 0 < int(port) < 65536):
            raise InputError(
                f"--resolve {item!r}: use NAME=HOST:PORT (or NAME=https://HOST:PORT), "
                "e.g. llama=llama-stack.ai.svc.cluster.local:8321"
            )
        resolved[name] = Address(host, int(port), protocol)
    return resolved


def offline_backends(
    spec: models.SemanticRouterSpec, namespace: str, given: dict[str, Address]
) -> list[BackendResult]:
    """What discovery would find, without a cluster: given addresses win, then the
    addresses KServe and Service backends always have; Llama Stack needs --resolve."""
    endpoints = [e.to_dict() for e in spec.vllm_endpoints or []]
    unknown = sorted(set(given) - {str(e.get("name")) for e in endpoints})
    if unknown:
        names = ", ".join(str(e.get("name")) for e in endpoints) or "none"
        raise InputError(f"--resolve {unknown[0]}: no such endpoint (spec.vllmEndpoints: {names})")
    results = []
    for index, endpoint in enumerate(endpoints):
        ref = BackendRef.from_endpoint(endpoint)
        if ref.endpoint in given:
            results.append(BackendResult(ref.endpoint, ref.type, given[ref.endpoint], "given"))
            continue
        result = discovery.offline_result(ref, namespace)
        if result is None:
            raise InputError(
                f"spec.vllmEndpoints[{index}] ({ref.endpoint}) is a {ref.type} backend, found "
                f"by listing Services: pass --resolve {ref.endpoint}=HOST:PORT"
            )
        results.append(result)
    return results


def warn_dropped_settings(spec: models.SemanticRouterSpec) -> None:
    """Say on stderr which accepted settings the router config leaves out, and why (e.g. Milvus
    auth, which the router connects without)."""
    if spec.config is not None:
        for notice in routerconfig.to_canonical(spec.config.to_dict()).notices:
            print(f"warning: {notice}", file=sys.stderr)


def chart_values(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    """(release name, namespace, values) for the CR in ``args.cr``."""
    cr = load_cr(args.cr)
    meta = cr["metadata"]
    name = str(meta["name"])
    namespace = str(args.namespace or meta.get("namespace") or "default")
    if args.namespace and (len(namespace) > 63 or not names.LABEL.match(namespace)):
        raise InputError(
            f"--namespace {namespace!r} is not a valid namespace: at most 63 lowercase "
            "letters, digits or '-', starting and ending with a letter or digit"
        )
    try:
        spec = models.parse_spec(cr.get("spec") or {})
        resolved = offline_backends(spec, namespace, parse_resolve(args.resolve))
        defaults = values.read_chart_defaults(from_env().chart_path)
        built = values.build(spec, resolved, Platform(args.platform), chart_defaults=defaults)
    except models.SpecError as exc:
        lines = "\n".join(f"  {error}" for error in exc.errors)
        raise InputError(f"{args.cr}: invalid {models.KIND} {name}:\n{lines}") from None
    except routerconfig.RouterConfigError as exc:
        raise InputError(f"{args.cr}: invalid {models.KIND} {name}:\n  {exc}") from None
    warn_dropped_settings(spec)
    routes = bool(spec.openshift and spec.openshift.routes and spec.openshift.routes.enabled)
    problem = platform.check_routes(routes, Platform(args.platform))
    if problem is not None:
        print(
            f"warning: {args.cr}: {models.KIND} {name} on {args.platform}: {problem} "
            "(to render it as on OpenShift: --platform openshift)",
            file=sys.stderr,
        )
    return names.release_name(name), namespace, built


# --- commands --------------------------------------------------------------------------


def cmd_values(args: argparse.Namespace, out: TextIO) -> int:
    _, _, built = chart_values(args)
    out.write(yaml.safe_dump(built, sort_keys=False, allow_unicode=True))
    return EXIT_OK


def cmd_render(args: argparse.Namespace, out: TextIO) -> int:
    # helm's failure is printed once, as the command's error: not also as a log line.
    logging.getLogger("semantic_router_operator").addHandler(logging.NullHandler())
    name, namespace, built = chart_values(args)
    releases = HelmReleases(from_env().release_settings())
    api_versions = ["route.openshift.io/v1"] if args.platform == Platform.OPENSHIFT else []
    manifests = asyncio.run(releases.template(name, namespace, built, api_versions=api_versions))
    out.write(manifests)
    return EXIT_OK


def cmd_crd(args: argparse.Namespace, out: TextIO) -> int:
    from semantic_router_operator import crd

    out.write(crd.render_yaml())
    return EXIT_OK


class QuietDriftChecks(logging.Filter):
    """Drops kopf's "Timer 'drift' succeeded." line: one per SemanticRouter per interval,
    it says nothing (what the check did is logged, when it did something)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno <= logging.INFO
            and record.getMessage().startswith("Timer 'drift' succeeded")
        )


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    import kopf

    from semantic_router_operator import handlers
    from semantic_router_operator.metrics import Metrics

    settings = from_env()
    log_format = kopf.LogFormat[args.log_format.upper()]
    kopf.configure(debug=args.debug, verbose=args.verbose, log_format=log_format)
    if not (args.debug or args.verbose):
        logging.getLogger("kopf.objects").addFilter(QuietDriftChecks())
    releases = HelmReleases(settings.release_settings())
    metrics = Metrics()
    operator = handlers.Operator(
        settings=settings,
        releases=releases,
        metrics=metrics,
        backoff_base=settings.retry_backoff,
        backoff_max=settings.retry_backoff_max,
    )
    registry = kopf.OperatorRegistry()
    handlers.register(registry, operator)
    metrics.serve(settings.metrics_port)
    logging.getLogger(__name__).info(
        "semantic-router-operator %s watching %s; chart %s (version %s); helm %s",
        __version__,
        "all namespaces" if settings.clusterwide else ", ".join(settings.namespaces),
        settings.chart_path,
        releases.chart_version(),
        settings.helm_binary,
    )
    if settings.leader_election:
        return run_elected(settings, registry)
    kopf.run(
        registry=registry,
        clusterwide=settings.clusterwide,
        namespaces=settings.namespaces,
        liveness_endpoint=settings.liveness_endpoint or None,
        standalone=not settings.peering_name,
        peering_name=settings.peering_name or None,
    )
    return EXIT_OK


def run_elected(settings: Settings, registry: Any) -> int:
    """The operator behind leader election: it reconciles only while it holds the Lease."""
    import kopf

    from semantic_router_operator import leader

    kopf_settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=kopf_settings) or kopf.login_with_kubeconfig(
        settings=kopf_settings
    )
    if info is None:
        raise SettingsError("leader election needs Kubernetes credentials; none were found")
    terms = leader.LeaseTerms(
        name=settings.lease_name,
        namespace=settings.lease_namespace or leader.default_namespace(),
        duration=settings.lease_duration,
        renew_every=settings.lease_duration / 5,
        renew_deadline=settings.lease_duration * 0.7,
        retry_every=min(2.0, settings.lease_duration / 5),
    )

    async def operate(stop: asyncio.Event) -> None:
        await kopf.operator(
            registry=registry,
            clusterwide=settings.clusterwide,
            namespaces=settings.namespaces,
            liveness_endpoint=settings.liveness_endpoint or None,
            standalone=True,
            stop_flag=stop,
        )

    credentials: Any = info  # kopf's ConnectionInfo: a ConnectionLike with a read-only server
    code = asyncio.run(leader.run_elected(credentials, terms, operate, settings.liveness_endpoint))
    return EXIT_OK if code == 0 else EXIT_FAILURE


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="semantic-router-operator",
        description="Kubernetes operator for vLLM Semantic Router (SemanticRouter → helm release).",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the operator (settings from SR_OPERATOR_* variables)")
    run.add_argument("--verbose", action="store_true", help="log more")
    run.add_argument("--debug", action="store_true", help="log everything")
    run.add_argument(
        "--log-format",
        choices=["plain", "full", "json"],
        default="full",
        type=str.lower,
        help="log line format (default: full)",
    )
    run.set_defaults(func=cmd_run)

    for name, func, text in (
        ("render", cmd_render, "print the manifests the operator would deploy for a CR"),
        ("values", cmd_values, "print the chart values the operator would use for a CR"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("cr", help="SemanticRouter YAML file (- for stdin)")
        cmd.add_argument(
            "--platform",
            choices=[p.value for p in Platform],
            default=Platform.KUBERNETES.value,
            help="target platform (default: kubernetes)",
        )
        cmd.add_argument(
            "--resolve",
            action="append",
            default=[],
            metavar="NAME=HOST:PORT",
            help="address of an endpoint's backend (needed for llamastack); repeatable",
        )
        cmd.add_argument("--namespace", "-n", help="namespace (default: the CR's, else default)")
        cmd.set_defaults(func=func)

    crd = sub.add_parser("crd", help="print the SemanticRouter CustomResourceDefinition")
    crd.set_defaults(func=cmd_crd)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    out = out or sys.stdout
    try:
        code: int = args.func(args, out)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except FileNotFoundError as exc:
        print(
            f"error: {exc.filename or exc}: not found (check SR_OPERATOR_HELM_BINARY and "
            "SR_OPERATOR_CHART_PATH)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return code
