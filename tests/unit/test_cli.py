"""The command line: render/values/crd offline, through the operator's own code."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from semantic_router_operator import cli, models, values
from semantic_router_operator.discovery import BackendRef, offline_result
from semantic_router_operator.platform import Platform

from tests.support.helm import CHART, ROOT, find, helm_binary, parse, template

SAMPLES = ROOT / "samples"
SIMPLE = SAMPLES / "vllm.ai_v1alpha1_semanticrouter_simple.yaml"
LLAMASTACK = SAMPLES / "vllm.ai_v1alpha1_semanticrouter_llamastack.yaml"


@pytest.fixture(autouse=True)
def helm_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_OPERATOR_HELM_BINARY", helm_binary(4))


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def write_cr(tmp_path: Path, spec: dict[str, Any], **meta: Any) -> str:
    cr = {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": "r", **meta},
        "spec": spec,
    }
    path = tmp_path / "cr.yaml"
    path.write_text(yaml.safe_dump(cr))
    return str(path)


def test_render_prints_the_manifests_of_the_values_the_operator_would_use() -> None:
    code, rendered = run("render", str(SIMPLE))
    assert code == 0
    objs = parse(rendered)
    [deployment] = find(objs, "Deployment", "semantic-router-simple")
    assert deployment["metadata"]["namespace"] == "default"
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000

    code, printed = run("values", str(SIMPLE))
    assert code == 0
    chart_values = yaml.safe_load(printed)
    expected = template(values=chart_values, release="semantic-router-simple")
    assert parse(expected) == objs


def test_values_are_those_of_the_operator_with_offline_discovery() -> None:
    cr = yaml.safe_load(SIMPLE.read_text())
    spec = models.parse_spec(cr["spec"])
    refs = [BackendRef.from_endpoint(e.to_dict()) for e in spec.vllm_endpoints or []]
    results = [offline_result(ref, "default") for ref in refs]
    assert all(r is not None for r in results)
    defaults = values.read_chart_defaults(CHART)
    expected = values.build(
        spec, [r for r in results if r], Platform.KUBERNETES, chart_defaults=defaults
    )
    code, printed = run("values", str(SIMPLE))
    assert code == 0
    assert yaml.safe_load(printed) == expected
    endpoint = expected["vllmEndpoints"][0]
    assert endpoint["backend"]["resolved"] == {
        "host": "llama-3-8b-predictor.default.svc.cluster.local",
        "port": 8443,
        "protocol": "https",
    }


def test_openshift_render_sets_no_run_as_user() -> None:
    code, rendered = run("render", str(SIMPLE), "--platform", "openshift")
    assert code == 0
    [deployment] = find(parse(rendered), "Deployment")
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert not {"runAsUser", "runAsGroup", "fsGroup"} & security.keys()


def test_namespace_comes_from_the_flag_then_the_cr(tmp_path: Path) -> None:
    cr = yaml.safe_load(SIMPLE.read_text())
    cr["metadata"]["namespace"] = "ai"
    path = tmp_path / "cr.yaml"
    path.write_text(yaml.safe_dump(cr))
    _, printed = run("values", str(path))
    host = yaml.safe_load(printed)["vllmEndpoints"][0]["backend"]["resolved"]["host"]
    assert host == "llama-3-8b-predictor.ai.svc.cluster.local"
    _, rendered = run("render", str(path), "-n", "team")
    assert {o["metadata"].get("namespace") for o in parse(rendered)} == {"team"}


def test_llamastack_backend_needs_an_address_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("render", str(LLAMASTACK))
    assert code == 2
    err = capsys.readouterr().err
    assert "spec.vllmEndpoints[0] (llama-405b-endpoint) is a llamastack backend" in err
    assert "--resolve llama-405b-endpoint=HOST:PORT" in err


def test_resolve_gives_an_endpoint_its_address() -> None:
    code, printed = run(
        "values", str(LLAMASTACK), "--resolve", "llama-405b-endpoint=https://ls.ai.svc:8321"
    )
    assert code == 0
    resolved = yaml.safe_load(printed)["vllmEndpoints"][0]["backend"]["resolved"]
    assert resolved == {"host": "ls.ai.svc", "port": 8321, "protocol": "https"}
    code, rendered = run("render", str(LLAMASTACK), "--resolve", "llama-405b-endpoint=ls:8321")
    assert code == 0
    assert find(parse(rendered), "Deployment")


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("llama-405b-endpoint", "use NAME=HOST:PORT"),
        ("llama-405b-endpoint=host:http", "use NAME=HOST:PORT"),
        ("nope=host:80", "--resolve nope: no such endpoint (spec.vllmEndpoints: llama-405b"),
    ],
)
def test_bad_resolve_flags_are_explained(
    flag: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("values", str(LLAMASTACK), "--resolve", flag)
    assert code == 2
    assert message in capsys.readouterr().err


def test_invalid_cr_names_each_field_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cr(
        tmp_path,
        {
            "replicas": "two",
            "vllmEndpoints": [{"name": "a", "model": "m", "backend": {"type": "kserve"}}],
        },
    )
    code, out = run("render", path)
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert "invalid SemanticRouter r:" in err
    assert "spec.replicas:" in err
    assert "spec.vllmEndpoints[0].backend: backend.type kserve needs" in err


def test_untranslatable_config_exits_2_naming_the_config_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cr(tmp_path, {"config": {"vllm_endpoints": []}})
    code, _ = run("values", path)
    assert code == 2
    assert "spec.config.vllm_endpoints" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("kind: Deployment\napiVersion: apps/v1\n", "expected exactly one SemanticRouter"),
        ("apiVersion: vllm.ai/v1\nkind: SemanticRouter\nmetadata: {name: x}\n", "apiVersion is"),
        ("apiVersion: vllm.ai/v1alpha1\nkind: SemanticRouter\nspec: {}\n", "metadata.name"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_files_that_are_not_one_semantic_router_are_refused(
    tmp_path: Path, document: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cr.yaml"
    path.write_text(document)
    code, _ = run("values", str(path))
    assert code == 2
    assert message in capsys.readouterr().err


ROUTE = SAMPLES / "vllm.ai_v1alpha1_semanticrouter_route.yaml"


def test_a_route_sample_for_kubernetes_renders_all_but_the_route_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, printed = run("render", str(ROUTE))
    assert code == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ")
    assert "spec.openshift.routes.enabled needs OpenShift" in err
    assert "the Route is left out" in err
    assert "--platform openshift" in err
    objs = parse(printed)
    assert find(objs, "Route") == []
    _, on_openshift = run("render", str(ROUTE), "--platform", "openshift")
    expected = {o["kind"] for o in parse(on_openshift)} - {"Route"}
    assert {o["kind"] for o in objs} == expected


def test_a_route_sample_renders_its_route_for_openshift() -> None:
    code, printed = run("render", str(ROUTE), "--platform", "openshift")
    assert code == 0
    [route] = find(parse(printed), "Route")
    assert route["spec"]["host"] == "semantic-router.apps.openshift.example.com"


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("values", "/nonexistent/cr.yaml")
    assert code == 2
    assert "/nonexistent/cr.yaml: cannot read" in capsys.readouterr().err


def test_cr_can_come_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SIMPLE.read_text()))
    code, printed = run("values", "-")
    assert code == 0
    assert yaml.safe_load(printed)["replicas"] == 2


def test_helm_failure_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SR_OPERATOR_CHART_PATH", str(tmp_path))
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.0.1\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "x.yaml").write_text('{{ fail "broken chart" }}\n')
    code, _ = run("render", str(SIMPLE))
    assert code == 1
    assert "broken chart" in capsys.readouterr().err


def test_bad_operator_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SR_OPERATOR_HELM_CONCURRENCY", "zero")
    code, _ = run("render", str(SIMPLE))
    assert code == 2
    assert "SR_OPERATOR_HELM_CONCURRENCY='zero' is invalid" in capsys.readouterr().err


def test_crd_prints_the_custom_resource_definition() -> None:
    code, printed = run("crd")
    assert code == 0
    crd = yaml.safe_load(printed)
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "semanticrouters.vllm.ai"
    assert printed == (ROOT / "crds" / "vllm.ai_semanticrouters.yaml").read_text()


def test_module_entry_point_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "semantic_router_operator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "operator"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0
    for command in ("run", "render", "values", "crd"):
        assert command in proc.stdout


# --- bounded input: one line, exit 2, for every malformed file -------------------------

HEADER = "apiVersion: vllm.ai/v1alpha1\nkind: SemanticRouter\n"


def alias_bomb() -> str:
    """A "billion laughs" document: under 600 bytes, 9**9 strings once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    body = "".join(f"      {line}\n" for line in lines)
    return f"{HEADER}metadata: {{name: r}}\nspec:\n  config:\n    laughs:\n{body}"


MALFORMED: dict[str, tuple[bytes, str]] = {
    "not UTF-8": (
        (HEADER + "metadata: {name: r}\nspec: {}\n# caf\xe9\n").encode("latin-1"),
        "not UTF-8 text (byte",
    ),
    "metadata a list": (
        (HEADER + "metadata: [r]\nspec: {}\n").encode(),
        "metadata must be an object",
    ),
    "spec a number": ((HEADER + "metadata: {name: r}\nspec: 5\n").encode(), "spec must be"),
    "spec a string": (
        (HEADER + "metadata: {name: r}\nspec: replicas\n").encode(),
        "spec must be an object (found str)",
    ),
    "lone surrogate in JSON": (
        b'{"apiVersion": "vllm.ai/v1alpha1", "kind": "SemanticRouter", "metadata": '
        b'{"name": "r"}, "spec": {"podAnnotations": {"a": "\\ud800"}}}',
        "spec.podAnnotations.a: holds a lone UTF-16 surrogate",
    ),
    "name with a space": (
        (HEADER + 'metadata: {name: "my router"}\nspec: {}\n').encode(),
        "metadata.name 'my router' is not a valid name",
    ),
    "name a number": (
        (HEADER + "metadata: {name: 42}\nspec: {}\n").encode(),
        "metadata.name 42 is not a valid name",
    ),
    "namespace with a newline": (
        (HEADER + 'metadata: {name: r, namespace: "a\\nb"}\nspec: {}\n').encode(),
        "metadata.namespace 'a\\nb' is not a valid namespace",
    ),
    "alias bomb": (alias_bomb().encode(), "YAML aliases (*a0) are not accepted"),
    "too deep": (
        (HEADER + "metadata: {name: r}\nspec: " + "[" * 5000).encode(),
        "nested too deeply",
    ),
    "too large": (
        (HEADER + "metadata: {name: r}\nspec: {}\n#" + "x" * cli.MAX_CR_BYTES).encode(),
        f"larger than {cli.MAX_CR_BYTES} bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["values", "render"])
def test_malformed_input_is_one_line_naming_the_problem_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: str
) -> None:
    content, message = MALFORMED[case]
    path = tmp_path / "cr.yaml"
    path.write_bytes(content)
    code, out = run(command, str(path))
    err = capsys.readouterr().err
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert len(alias_bomb()) < 600
    started = time.perf_counter()
    code, _ = run("values", str(path))
    assert code == 2
    assert time.perf_counter() - started < 0.5


def test_a_json_surrogate_pair_is_read_as_its_character(tmp_path: Path) -> None:
    path = tmp_path / "cr.json"
    path.write_bytes(
        b'{"apiVersion": "vllm.ai/v1alpha1", "kind": "SemanticRouter", "metadata": '
        b'{"name": "r"}, "spec": {"podAnnotations": {"a": "\\ud83d\\ude00"}}}'
    )
    code, printed = run("values", str(path))
    assert code == 0
    assert yaml.safe_load(printed)["podAnnotations"] == {"a": "\U0001f600"}


def test_an_invalid_namespace_flag_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _ = run("values", str(SIMPLE), "--namespace", "Team A")
    assert code == 2
    assert "--namespace 'Team A' is not a valid namespace" in capsys.readouterr().err


def test_one_model_over_http_and_https_exits_2_naming_the_endpoint_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = {"type": "service", "service": {"name": "vllm", "port": 8000}}
    kserve = {"type": "kserve", "inferenceServiceName": "isvc"}
    path = write_cr(
        tmp_path,
        {
            "vllmEndpoints": [
                {"name": "plain", "model": "m", "backend": service},
                {"name": "tls", "model": "m", "backend": kserve},
            ]
        },
    )
    code, _ = run("render", path)
    err = capsys.readouterr().err
    assert code == 2
    assert "spec.vllmEndpoints[1]: endpoint 'tls' serves model 'm' over https" in err
    assert "spec.vllmEndpoints[0] ('plain') over http" in err
    assert err.count("serves model") == 1


def test_settings_the_router_config_leaves_out_are_named_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    milvus = {
        "connection": {
            "host": "milvus.cache.svc",
            "database": "cache",
            "auth": {"enabled": True, "username": "root"},
        }
    }
    cache = {"backend_type": "hybrid", "max_entries": 10, "milvus": milvus}
    endpoint = {
        "name": "a",
        "model": "m",
        "backend": {"type": "kserve", "inferenceServiceName": "m"},
    }
    path = write_cr(tmp_path, {"vllmEndpoints": [endpoint], "config": {"response_cache": cache}})
    code, printed = run("values", path)
    assert code == 0
    stored = yaml.safe_load(printed)["config"]["global"]["stores"]["response_cache"]
    assert stored.get("max_entries") is None, "a null removes the chart's default too"
    assert stored["milvus"]["connection"] == {"host": "milvus.cache.svc"}
    assert capsys.readouterr().err.splitlines() == [
        "warning: spec.config.response_cache.max_entries dropped: backend_type hybrid caps its "
        "in-memory index itself",
        "warning: spec.config.response_cache.milvus.connection.auth dropped: the router (v0.4.0) "
        "connects to Milvus without credentials",
        "warning: spec.config.response_cache.milvus.connection.database dropped: the router "
        "(v0.4.0) always uses the Milvus database named default",
    ]
