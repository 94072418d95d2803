"""operator-framework's own tools accept the bundle and its catalog: the validators of
`operator-sdk bundle validate --select-optional suite=operatorframework` (operator-framework/api
behind tools/olm/bundle-validate) pass with no error and no warning, and `opm render` +
`opm validate` (operator-registry) accept the file-based catalog `make catalog` builds. Both
tools are built pinned from the Go module proxy by scripts/install-olm-tools.sh. Each check
is also shown failing on a broken bundle or catalog, so that a pass means something.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from scripts import bundle
from scripts.deploy_manifests import Image

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_IMG = "quay.io/acme/semantic-router-operator-bundle:v0.1.0"
DIGEST = "sha256:" + "e" * 64


@functools.cache
def tool(name: str) -> str:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "install-olm-tools.sh"), name],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def validate(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("bundle-validate"), str(directory)], capture_output=True, text=True, timeout=120
    )


def catalog(output: Path, bundle_dir: Path = bundle.BUNDLE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "catalog.py"),
            "--opm",
            tool("opm"),
            "--bundle-image",
            BUNDLE_IMG,
            "--output",
            str(output),
            "--dockerfile",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=bundle_dir.parent,
    )


def copy_bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(bundle.BUNDLE, target)
    return target


# --- the bundle validators ---------------------------------------------------------------------


def test_the_bundle_passes_the_operatorframework_validators_without_a_warning() -> None:
    proc = validate(bundle.BUNDLE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARN" not in proc.stdout
    assert proc.stdout.strip().endswith("valid (0 allowed warnings)")


def test_a_release_bundle_with_every_image_by_digest_passes_them_too(tmp_path: Path) -> None:
    release = bundle.Release(
        created_at="2027-01-31T12:00:00Z",
        router_image=Image.parse(f"ghcr.io/vllm-project/semantic-router/extproc:v0.4.0@{DIGEST}"),
        envoy_image=Image.parse(f"envoyproxy/envoy:v1.40.0@{DIGEST}"),
    )
    options = bundle.Options(
        image=Image.parse(f"quay.io/acme/semantic-router-operator:1.0.0@{DIGEST}"),
        version="1.0.0",
        release=release,
        pinned=True,
    )
    bundle.write(bundle.generate(options), tmp_path)
    proc = validate(tmp_path)
    assert proc.returncode == 0, proc.stdout


def test_a_crd_file_opening_with_an_empty_document_is_invisible_to_the_validators(
    tmp_path: Path,
) -> None:
    target = copy_bundle(tmp_path)
    crd_file = target / bundle.CRD_BUNDLE_FILE
    crd_file.write_text("# generated\n---\n" + crd_file.read_text())
    proc = validate(target)
    assert proc.returncode == 1
    assert 'owned CRD "vllm.ai/v1alpha1, Kind=SemanticRouter" not found in bundle' in proc.stdout


def test_a_csv_without_icon_fails_on_the_operatorhub_warning(tmp_path: Path) -> None:
    target = copy_bundle(tmp_path)
    csv_file = target / bundle.CSV_FILE
    csv = yaml.safe_load(csv_file.read_text())
    del csv["spec"]["icon"]
    csv_file.write_text(yaml.safe_dump(csv))
    proc = validate(target)
    assert proc.returncode == 1
    assert "WARN" in proc.stdout and "csv.Spec.Icon not specified" in proc.stdout


# --- the file-based catalog --------------------------------------------------------------------


def blobs(output: Path) -> list[dict[str, Any]]:
    return [b for b in yaml.safe_load_all((output / bundle.PACKAGE / "catalog.yaml").read_text())]


def test_opm_renders_the_bundle_into_a_catalog_that_opm_validates(tmp_path: Path) -> None:
    output = tmp_path / "catalog"
    proc = catalog(output)
    assert proc.returncode == 0, proc.stderr
    assert "opm validate passed" in proc.stdout
    by_schema: dict[str, list[dict[str, Any]]] = {}
    for blob in blobs(output):
        by_schema.setdefault(blob["schema"], []).append(blob)
    (package,) = by_schema["olm.package"]
    (channel,) = by_schema["olm.channel"]
    (rendered,) = by_schema["olm.bundle"]
    assert package["name"] == bundle.PACKAGE and package["defaultChannel"] == "alpha"
    assert channel["entries"] == [{"name": rendered["name"]}]
    assert rendered["image"] == BUNDLE_IMG
    gvks = [p["value"] for p in rendered["properties"] if p["type"] == "olm.gvk"]
    assert gvks == [{"group": "vllm.ai", "kind": "SemanticRouter", "version": "v1alpha1"}]
    names = {r["name"] for r in rendered["relatedImages"]}
    assert {"manager", "semantic-router", "envoy", "bundle"} <= names


def test_the_catalog_image_is_served_by_the_opm_release_that_built_it(tmp_path: Path) -> None:
    output = tmp_path / "catalog"
    assert catalog(output).returncode == 0
    dockerfile = (tmp_path / "catalog.Dockerfile").read_text()
    version = subprocess.run([tool("opm"), "version"], capture_output=True, text=True).stdout
    assert 'OpmVersion:"v1.55.0"' in version
    assert "FROM quay.io/operator-framework/opm:v1.55.0\n" in dockerfile
    assert "opm:latest" not in dockerfile


def test_opm_validate_refuses_a_channel_naming_a_bundle_the_catalog_lacks(tmp_path: Path) -> None:
    output = tmp_path / "catalog"
    assert catalog(output).returncode == 0
    items = blobs(output)
    for blob in items:
        if blob["schema"] == "olm.channel":
            blob["entries"].append({"name": "semantic-router-operator.v9.9.9"})
    (output / bundle.PACKAGE / "catalog.yaml").write_text(yaml.safe_dump_all(items))
    proc = subprocess.run(
        [tool("opm"), "validate", str(output)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    assert "semantic-router-operator.v9.9.9" in proc.stderr


def test_opm_cannot_render_a_bundle_whose_crd_it_cannot_see(tmp_path: Path) -> None:
    target = copy_bundle(tmp_path)
    crd_file = target / bundle.CRD_BUNDLE_FILE
    crd_file.write_text("# generated\n---\n" + crd_file.read_text())
    proc = subprocess.run(
        [tool("opm"), "render", str(target), "-o", "yaml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "couldn't find vllm.ai/v1alpha1/SemanticRouter" in proc.stderr
