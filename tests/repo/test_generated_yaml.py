"""Every YAML file the project generates or ships as a manifest starts with a document that
holds its object: Kubernetes' YAML decoder, as OLM's bundle loader uses it, reads only the
first document of a file, and a file that opens with comments and `---` has an empty one.

PyYAML folds leading comments into the next document, so `first_document` splits the file
the way Kubernetes does (k8s.io/apimachinery/pkg/util/yaml, `YAMLReader.Read`): a document
ends at a line that starts with `---` followed by nothing but spaces or a comment; the bytes
before it are a document when there are any (comments included), and are skipped only when
there are none (a file that starts with `---`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from semantic_router_operator import crd

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("crds", "config", "bundle", "samples")
FILES = sorted(
    p.relative_to(ROOT).as_posix()
    for folder in FOLDERS
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".yaml", ".yml")
)


def first_document(text: str) -> object:
    """The first document as Kubernetes' YAML reader cuts it, parsed (None when empty)."""
    chunk: list[str] = []
    for line in text.splitlines(keepends=True):
        rest = line[3:].strip() if line.startswith("---") else None
        if rest is not None and (not rest or rest.startswith("#")):
            if chunk:
                break
            continue
        chunk.append(line)
    return yaml.safe_load("".join(chunk))


def test_the_folders_hold_yaml_files_to_check() -> None:
    assert {f.split("/", 1)[0] for f in FILES} == set(FOLDERS)


@pytest.mark.parametrize("path", FILES)
def test_the_first_document_of_every_manifest_holds_its_object(path: str) -> None:
    first = first_document((ROOT / path).read_text())
    assert isinstance(first, dict) and first, f"{path}: the first YAML document is empty"
    if "apiVersion" in first or "kind" in first:
        assert first.get("apiVersion") and first.get("kind"), path


def test_the_crd_generator_writes_comments_then_the_crd_in_the_first_document() -> None:
    text = crd.render_yaml()
    assert text.startswith("# ")
    first = first_document(text)
    assert isinstance(first, dict)
    assert first["kind"] == "CustomResourceDefinition"
    assert len([d for d in yaml.safe_load_all(text)]) == 1


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("# generated\n---\napiVersion: v1\nkind: ConfigMap\n", None),
        ("---\n# generated\nkind: A\n---\nkind: B\n", {"kind": "A"}),
        ("# generated\nkind: A\n--- # next\nkind: B\n", {"kind": "A"}),
        ("kind: A\ndata: |\n  ---x\n", {"kind": "A", "data": "---x\n"}),
    ],
)
def test_the_first_document_is_cut_the_way_kubernetes_cuts_it(text: str, first: object) -> None:
    assert first_document(text) == first
