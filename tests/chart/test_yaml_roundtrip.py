"""The rendered config.yaml reads back as exactly the data written, and the chart never swallows
a YAML error: a key YAML treats specially (`<<`, the merge key) is refused by its path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import SCENARIOS, rendered
from tests.chart.validators import configmaps_with_key
from tests.support.helm import CHART, HelmError, render

ENDPOINT = {
    "name": "a",
    "model": "model-a",
    "backend": {"type": "service", "service": {"name": "vllm-a", "port": 8000}},
}


class NoMergeLoader(yaml.SafeLoader):
    """SafeLoader that keeps `<<` as an ordinary key instead of merging it."""

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        return None


NoMergeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:merge"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def config_yaml(objs: Any) -> str:
    (holder,) = configmaps_with_key(objs, "config.yaml")
    text: str = holder["data"]["config.yaml"]
    return text


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_config_yaml_reads_the_same_with_or_without_yaml_merge_keys(
    scenario: str,
) -> None:
    text = config_yaml(rendered(scenario))
    assert yaml.safe_load(text) == yaml.load(text, Loader=NoMergeLoader)


def test_the_no_merge_loader_sees_a_merge_key_the_safe_loader_folds_away() -> None:
    text = "a:\n  <<: {x: 1}\n"
    assert yaml.safe_load(text) == {"a": {"x": 1}}
    assert yaml.load(text, Loader=NoMergeLoader) == {"a": {"<<": {"x": 1}}}


@pytest.mark.parametrize(
    ("config", "path"),
    [
        (
            {"global": {"stores": {"response_cache": {"<<": {"enabled": False}}}}},
            "config.global.stores.response_cache.<<",
        ),
        ({"routing": {"decisions": [{"name": "x", "<<": 5}]}}, "config.routing.decisions[0].<<"),
    ],
)
def test_a_merge_key_in_the_config_is_refused_naming_its_path(
    config: dict[str, Any], path: str
) -> None:
    # Before this check, a non-mapping `<<` made the chart's fromYaml fail silently and render
    # an Envoy config without a single model route; a mapping one was merged away.
    with pytest.raises(HelmError) as failure:
        render(values={"vllmEndpoints": [ENDPOINT], "config": config})
    assert f"{path}: a key named `<<` (a YAML merge key)" in str(failure.value)


def test_a_key_that_is_just_an_equals_sign_is_refused_naming_its_path() -> None:
    config = {"global": {"stores": {"response_cache": {"=": 1}}}}
    with pytest.raises(HelmError) as failure:
        render(values={"vllmEndpoints": [ENDPOINT], "config": config})
    assert "config.global.stores.response_cache.=:" in str(failure.value)


def test_a_merge_key_in_a_reasoning_family_is_refused_naming_its_path() -> None:
    values = {
        "vllmEndpoints": [ENDPOINT],
        "reasoningFamilies": {"qwen3": {"type": "chat_template_kwargs", "<<": {"a": 1}}},
    }
    with pytest.raises(HelmError) as failure:
        render(values=values)
    assert "reasoningFamilies.qwen3.<<" in str(failure.value)


# Keys YAML 1.1 reads as something other than a string when unquoted.
AWKWARD_KEYS = ["on", "off", "y", "n", "yes", "null", "~", "true", "1", "0x1F", "1e3", "<<x", "=x"]


def test_a_value_that_is_just_an_equals_sign_is_refused_naming_its_path() -> None:
    # PyYAML (vllm-sr) reads an unquoted `=` as YAML 1.1's value type and cannot load it.
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("a: =")
    config = {"routing": {"decisions": [{"name": "x", "description": "="}]}}
    with pytest.raises(HelmError) as failure:
        render(values={"vllmEndpoints": [ENDPOINT], "config": config})
    assert 'config.routing.decisions[0].description = "="' in str(failure.value)


@pytest.mark.parametrize("major", [4, 3])
def test_awkward_keys_and_values_read_back_as_written(major: int, tmp_path: Path) -> None:
    headers = {key: f"{key}!" for key in AWKWARD_KEYS}
    config = {
        "providers": {
            "models": [
                {
                    "name": "model-a",
                    "backend_refs": [
                        {
                            "name": "a",
                            "endpoint": "vllm-a.default.svc.cluster.local:8000",
                            "protocol": "http",
                            "extra_headers": headers,
                        }
                    ],
                }
            ]
        }
    }
    # A JSON values file: every key reaches helm quoted, exactly as written.
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"vllmEndpoints": [ENDPOINT], "config": config}))
    objs = render([values], major=major)
    text = config_yaml(objs)
    parsed = yaml.safe_load(text)
    assert parsed == yaml.load(text, Loader=NoMergeLoader)
    (model,) = parsed["providers"]["models"]
    assert model["backend_refs"][0]["extra_headers"] == headers
    (envoy,) = configmaps_with_key(objs, "envoy.yaml")
    assert "x-selected-model" in envoy["data"]["envoy.yaml"]


def test_the_chart_has_no_bare_from_yaml_outside_its_checked_parser() -> None:
    bare = [
        f"{path.name}:{number}"
        for path in sorted((CHART / "templates").glob("*"))
        if path.name != "_parse.tpl"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "fromYaml" in line and "semantic-router.parse" not in line and "{{" in line
    ]
    assert not bare, f"use semantic-router.parse, which fails on a YAML error: {bare}"
