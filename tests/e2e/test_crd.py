"""The SemanticRouter CRD on a real API server: admitted and Established, every sample accepted,
every invalid resource of the unit tier's table refused naming the same field, the field
descriptions in `kubectl explain` and the printer columns in `kubectl get sr`.

Objects are sent with server-side dry run: the API server runs defaulting, the schema, the CEL
rules and admission, and stores nothing, so the operator never sees them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.kubectl import Kubectl
from tests.support.live import CRD_NAME, new_namespace
from tests.unit.test_models import INVALID, base_router, invalid_router

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.yaml"))


@pytest.fixture(scope="module")
def scratch(kubectl: Kubectl) -> Iterator[str]:
    """A namespace no operator watches."""
    name = new_namespace(kubectl, "sr-e2e-crd")
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def dry_run_create(kubectl: Kubectl, obj: dict[str, Any], namespace: str) -> tuple[int, str]:
    proc = kubectl.run(
        "create", "--dry-run=server", "-n", namespace, "-o", "yaml", "-f", "-",
        stdin=yaml.safe_dump(obj), check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout if proc.returncode == 0 else proc.stderr


def test_the_crd_is_established_and_served_as_its_storage_version(
    kubectl: Kubectl, crd: str
) -> None:
    found = kubectl.get("crd", CRD_NAME)
    assert found is not None
    conditions = {c["type"]: c["status"] for c in found["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    assert found["status"]["acceptedNames"]["shortNames"] == found["spec"]["names"]["shortNames"]
    resources = json.loads(kubectl.run("get", "--raw", "/apis/vllm.ai/v1alpha1").stdout)[
        "resources"
    ]
    assert {r["name"] for r in resources} >= {"semanticrouters", "semanticrouters/status"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.stem for s in SAMPLES])
def test_every_sample_is_admitted(kubectl: Kubectl, crd: str, scratch: str, sample: Path) -> None:
    obj = yaml.safe_load(sample.read_text())
    obj["metadata"].pop("namespace", None)
    code, out = dry_run_create(kubectl, obj, scratch)
    assert code == 0, out
    admitted = yaml.safe_load(out)
    assert admitted["metadata"]["name"] == obj["metadata"]["name"]
    assert set(admitted["spec"]) >= set(obj["spec"])
    assert [e["name"] for e in admitted["spec"]["vllmEndpoints"]] == [
        e["name"] for e in obj["spec"]["vllmEndpoints"]
    ]


def test_the_base_router_of_the_invalid_table_is_admitted(
    kubectl: Kubectl, crd: str, scratch: str
) -> None:
    code, out = dry_run_create(kubectl, base_router(), scratch)
    assert code == 0, out


@pytest.mark.parametrize("name", sorted(INVALID))
def test_the_api_server_refuses_each_invalid_router_naming_the_field(
    kubectl: Kubectl, crd: str, scratch: str, name: str
) -> None:
    case = INVALID[name]
    code, err = dry_run_create(kubectl, invalid_router(case), scratch)
    assert code != 0, f"the API server admitted {name!r}"
    assert f"{case.crd_path}:" in err or f'unknown field "{case.crd_path}"' in err, err
    # A CEL rule's own message, and the API server's words for unknown and missing fields,
    # verbatim; the schema's other messages are jsonschema's wording offline.
    api_words = case.crd_message.startswith("unknown field") or case.crd_message == "Required value"
    if case.crd_message == case.model_message or api_words:
        assert case.crd_message in err, err


def test_the_api_server_fills_the_documented_defaults(
    kubectl: Kubectl, crd: str, scratch: str
) -> None:
    router = copy.deepcopy(base_router())
    code, out = dry_run_create(kubectl, router, scratch)
    assert code == 0, out
    spec = yaml.safe_load(out)["spec"]
    assert spec["replicas"] == 1
    assert set(spec) > set(router["spec"])


def test_kubectl_explain_prints_the_backend_field_descriptions(kubectl: Kubectl, crd: str) -> None:
    out = kubectl.run("explain", "semanticrouter.spec.vllmEndpoints.backend").stdout
    assert "KIND:       SemanticRouter" in out
    assert "inferenceServiceName" in out
    assert "DESCRIPTION:" in out
    crd_obj = kubectl.get("crd", CRD_NAME)
    assert crd_obj is not None
    backend = crd_obj["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]["vllmEndpoints"]["items"]["properties"]["backend"]
    first_words = " ".join(backend["description"].split()[:4])
    assert first_words in " ".join(out.split()), out


def test_kubectl_get_sr_prints_the_printer_columns(
    kubectl: Kubectl, crd: str, scratch: str
) -> None:
    router = base_router()
    router["metadata"]["name"] = "columns"
    kubectl.run("create", "-n", scratch, "-f", "-", stdin=yaml.safe_dump(router))
    try:
        out = kubectl.run("get", "sr", "columns", "-n", scratch).stdout
        wide = kubectl.run("get", "sr", "columns", "-n", scratch, "-o", "wide").stdout
    finally:
        kubectl.run("delete", "sr", "columns", "-n", scratch, "--wait=false", check=False)
    header = out.splitlines()[0].split()
    crd_obj = kubectl.get("crd", CRD_NAME)
    assert crd_obj is not None
    printed = crd_obj["spec"]["versions"][0]["additionalPrinterColumns"]
    columns = [c["name"].upper() for c in printed if not c.get("priority")]
    assert header == ["NAME", *[w for c in columns for w in c.split()]], out
    every = [c["name"].upper() for c in printed]
    assert wide.splitlines()[0].split() == ["NAME", *[w for c in every for w in c.split()]], wide
