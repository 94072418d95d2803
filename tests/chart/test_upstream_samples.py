"""The upstream Go operator's sample SemanticRouters work here unchanged.

Each sample in `data/upstream-samples/` (those upstream's own CRD admits; see the README
there) is admitted by this operator's CRD, then rendered by the operator's `render` command
on its platform (real `helm template`) into manifests that pass every validator of the chart
tier: Kubernetes schemas, the API server's own checks, `vllm-sr config validate`, the
router's config-key contract, `envoy --mode validate` and checkov.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from semantic_router_operator import cli

from tests.chart.conftest import NAMESPACE
from tests.chart.validators import (
    Finding,
    checkov_findings,
    checkov_skips,
    configmaps_with_key,
    security_problems,
    validate_release,
)
from tests.support import crdcheck
from tests.support.helm import find, helm_binary, parse

UPSTREAM = Path(__file__).parent / "data" / "upstream-samples"
FILES = sorted(UPSTREAM.glob("*.yaml"))
NAMES = [path.stem.removeprefix("vllm.ai_v1alpha1_semanticrouter_") for path in FILES]


def sample_path(name: str) -> Path:
    return UPSTREAM / f"vllm.ai_v1alpha1_semanticrouter_{name}.yaml"


def router_object(name: str) -> dict[str, Any]:
    """The SemanticRouter of a sample file (some files also hold the Secret it refers to)."""
    docs = [d for d in yaml.safe_load_all(sample_path(name).read_text()) if d]
    [router] = [d for d in docs if d.get("kind") == "SemanticRouter"]
    return dict(router)


def platform_of(name: str) -> str:
    """The platform a sample is written for: a Route needs OpenShift."""
    spec = router_object(name)["spec"]
    routes = (spec.get("openshift") or {}).get("routes") or {}
    return "openshift" if routes.get("enabled") else "kubernetes"


@functools.cache
def rendered(name: str) -> tuple[dict[str, Any], ...]:
    """`semantic-router-operator render <sample> --platform <its platform>`, in a namespace of
    its own (the samples name `default`, itself a checkov finding)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SR_OPERATOR_HELM_BINARY", helm_binary(4))
        out = io.StringIO()
        argv = ["render", str(sample_path(name)), "--platform", platform_of(name)]
        code = cli.main([*argv, "--namespace", NAMESPACE], out=out)
    assert code == 0, f"render {name} exited {code}"
    return tuple(parse(out.getvalue()))


def router_config(name: str) -> dict[str, Any]:
    [configmap] = configmaps_with_key(rendered(name), "config.yaml")
    config: dict[str, Any] = yaml.safe_load(configmap["data"]["config.yaml"])
    return config


@pytest.fixture(scope="module")
def findings() -> dict[str, list[Finding]]:
    """checkov's failed checks of every sample's render, from one checkov run."""
    return checkov_findings({name: rendered(name) for name in NAMES})


def test_the_upstream_samples_are_all_here() -> None:
    assert NAMES == [
        "complexity",
        "hybrid_cache",
        "milvus_cache",
        "mmbert",
        "qdrant_cache",
        "redis_cache",
        "simple",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_each_upstream_sample_is_admitted_by_this_crd(name: str) -> None:
    problems = crdcheck.admission_problems(crdcheck.load_crd(), router_object(name))
    assert problems == [], [str(p) for p in problems]


@pytest.mark.parametrize("name", NAMES)
def test_each_upstream_sample_renders_into_manifests_every_validator_accepts(
    name: str, findings: dict[str, list[Finding]]
) -> None:
    def scan(_: Any) -> None:
        problems = security_problems(findings[name], checkov_skips())
        assert not problems, problems

    validate_release(rendered(name), scan=scan)


def test_cache_credentials_reach_the_router_from_their_secret_never_the_configmap() -> None:
    objs = rendered("redis_cache")
    [deployment] = find(objs, "Deployment")
    [router] = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] != "envoy"
    ]
    [env] = [e for e in router["env"] if e["name"] == "SR_CACHE_REDIS_PASSWORD"]
    assert env["valueFrom"]["secretKeyRef"] == {"name": "redis-credentials", "key": "password"}
    connection = router_config("redis_cache")["global"]["stores"]["response_cache"]["redis"]
    assert connection["connection"]["password"] == "${SR_CACHE_REDIS_PASSWORD}"
    secret = yaml.safe_load_all(sample_path("redis_cache").read_text())
    [password] = [d["stringData"]["password"] for d in secret if d and d.get("kind") == "Secret"]
    assert all(password not in yaml.safe_dump(o) for o in objs)


def test_milvus_settings_the_router_ignores_are_left_out_of_its_config() -> None:
    milvus = router_config("milvus_cache")["global"]["stores"]["response_cache"]["milvus"]
    assert "auth" not in milvus["connection"] and "database" not in milvus["connection"]
    hybrid = router_config("hybrid_cache")["global"]["stores"]["response_cache"]
    assert hybrid["backend_type"] == "hybrid"
    assert "max_entries" not in hybrid and "eviction_policy" not in hybrid


def test_the_complexity_sample_reaches_the_router_as_typed_signals_and_defaults() -> None:
    config = router_config("complexity")
    rules = config["routing"]["signals"]["complexity"]
    assert [rule["name"] for rule in rules] == [
        "code-complexity",
        "reasoning-complexity",
        "medical-complexity",
    ]
    assert rules[0]["threshold"] == 0.3, "a threshold written as a string reaches it as a number"
    assert config["providers"]["defaults"]["reasoning_effort"] == "medium"
    semantic = config["global"]["model_catalog"]["embeddings"]["semantic"]
    assert semantic["embedding_config"]["min_score_threshold"] == 0.5


def test_the_qdrant_sample_keeps_its_empty_api_key_and_binds_no_secret() -> None:
    qdrant = router_config("qdrant_cache")["global"]["stores"]["response_cache"]["qdrant"]
    assert qdrant["host"] == "qdrant.cache-backends.svc.cluster.local"
    assert qdrant["api_key"] == ""
    [deployment] = find(rendered("qdrant_cache"), "Deployment")
    env = [
        e["name"]
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for e in c.get("env") or []
    ]
    assert "SR_CACHE_QDRANT_API_KEY" not in env
