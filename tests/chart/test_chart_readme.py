"""The chart README's values table is generated from values.yaml and never drifts."""

from __future__ import annotations

import subprocess
import sys

from scripts import chart_readme
from tests.support.helm import CHART, ROOT


def test_the_committed_readme_matches_what_the_script_generates() -> None:
    values = (CHART / "values.yaml").read_text()
    readme = (CHART / "README.md").read_text()
    expected = chart_readme.update_readme(readme, chart_readme.render_table(values))
    assert readme == expected, "charts/semantic-router/README.md is stale: run `make chart-docs`"


def test_every_values_key_has_a_doc_comment() -> None:
    assert chart_readme.undocumented_keys((CHART / "values.yaml").read_text()) == []


def test_the_check_mode_passes_on_the_committed_readme() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "chart_readme.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_table_documents_nested_keys_with_their_defaults() -> None:
    table = chart_readme.render_table((CHART / "values.yaml").read_text())
    assert "| `envoy.extProc.failureModeAllow` | bool | `false` |" in table
    assert (
        '| `image.repository` | string | `"ghcr.io/vllm-project/semantic-router/extproc"` |'
        in table
    )


def test_an_undocumented_key_is_reported() -> None:
    text = "# -- documented\na: 1\nb: 2\nc:\n  # -- nested\n  d: 3\n  e: 4\n"
    assert chart_readme.undocumented_keys(text) == ["b", "c", "c.e"]


def test_children_of_a_documented_free_form_value_need_no_comments() -> None:
    text = "# -- free-form\nconfig:\n  global:\n    x: 1\n  items:\n    - a: 1\n"
    assert chart_readme.undocumented_keys(text) == []
    assert "| `config` | object | `{" in chart_readme.render_table(text)


def test_a_stale_table_is_replaced_between_the_markers() -> None:
    readme = f"intro\n{chart_readme.START}\nold\n{chart_readme.END}\noutro\n"
    updated = chart_readme.update_readme(readme, "| new |\n")
    assert updated == f"intro\n{chart_readme.START}\n| new |\n{chart_readme.END}\noutro\n"
