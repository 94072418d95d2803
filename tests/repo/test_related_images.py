"""RELATED_IMAGE_ROUTER and RELATED_IMAGE_ENVOY (set by the OLM bundle, rewritten by a mirrored
registry) reach the chart: a SemanticRouter that names no image of its own runs them, pinned
by digest as given, in the Deployment real helm renders; one that names its own keeps it.
"""

from __future__ import annotations

from typing import Any

import pytest
from semantic_router_operator import models, settings, values
from semantic_router_operator.platform import Platform
from semantic_router_operator.settings import RelatedImages

from scripts import bundle
from tests.support.helm import CHART, find, render

DIGEST = "sha256:" + "d" * 64
ROUTER = f"mirror.example.com:5000/sr/extproc:v0.4.0@{DIGEST}"
ENVOY = f"mirror.example.com:5000/envoyproxy/envoy:v1.40.0@{DIGEST}"
IMAGES = RelatedImages(router=ROUTER, envoy=ENVOY)
DEFAULTS = values.read_chart_defaults(CHART)
SPEC: dict[str, Any] = {
    "vllmEndpoints": [
        {
            "name": "m",
            "model": "m",
            "backend": {"type": "service", "service": {"name": "vllm", "port": 8000}},
        }
    ]
}


def container_images(spec: dict[str, Any], images: RelatedImages) -> dict[str, str]:
    chart_values = values.build(
        models.parse_spec(spec), (), Platform.KUBERNETES, chart_defaults=DEFAULTS, images=images
    )
    (deployment,) = find(render([], chart_values), "Deployment")
    return {c["name"]: c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]}


def test_a_router_without_an_image_of_its_own_runs_the_related_images_by_digest() -> None:
    images = container_images(SPEC, IMAGES)
    assert sorted(images.values()) == sorted([ROUTER, ENVOY])


def test_without_related_images_the_chart_images_apply() -> None:
    images = container_images(SPEC, RelatedImages())
    release = bundle.Release.load()
    assert sorted(images.values()) == sorted([str(release.router_image), str(release.envoy_image)])


@pytest.mark.parametrize(
    ("field", "own"),
    [
        ({"image": {"tag": "v0.3.0"}}, "ghcr.io/vllm-project/semantic-router/extproc:v0.3.0"),
        ({"image": {"imageRegistry": "quay.io"}}, "quay.io/ghcr.io/vllm-project/semantic-router"),
        ({"envoy": {"image": {"tag": "v1.39.0"}}}, "envoyproxy/envoy:v1.39.0"),
    ],
)
def test_a_router_that_names_its_own_image_keeps_it(field: dict[str, Any], own: str) -> None:
    images = container_images({**SPEC, **field}, IMAGES)
    assert any(image.startswith(own) for image in images.values()), images
    assert len({ROUTER, ENVOY} & set(images.values())) == 1


def test_the_operator_reads_the_related_images_from_olm_s_variables() -> None:
    parsed = settings.from_env({"RELATED_IMAGE_ROUTER": ROUTER, "RELATED_IMAGE_ENVOY": ENVOY})
    assert parsed.related_images == IMAGES
    assert settings.from_env({}).related_images == RelatedImages()


@pytest.mark.parametrize(
    "ref",
    [
        "ghcr.io/x/extproc",
        f"ghcr.io/x/extproc@{DIGEST}",
        "ghcr.io/x/extproc:v1 --evil",
        "ghcr.io/x/extproc:v1@sha256:short",
    ],
)
def test_a_related_image_without_a_tag_is_refused_naming_the_variable(ref: str) -> None:
    with pytest.raises(settings.SettingsError, match=r"^RELATED_IMAGE_ROUTER=.*<repository>:<tag>"):
        settings.from_env({"RELATED_IMAGE_ROUTER": ref})


def test_the_bundle_passes_the_release_images_as_the_variables_the_operator_reads() -> None:
    release = bundle.Release.load()
    options = bundle.default_options()
    csv_env = bundle.olm_deployment_spec(
        {"spec": {"template": {"spec": {"containers": [{"name": "manager"}]}}}}, options.release
    )["template"]["spec"]["containers"][0]["env"]
    env = {e["name"]: e["value"] for e in csv_env if "value" in e}
    assert settings.from_env(env).related_images == RelatedImages(
        router=str(release.router_image), envoy=str(release.envoy_image)
    )
