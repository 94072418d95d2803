"""A sentinel password in every Secret a `password_secret_ref` points to: it appears
nowhere the operator writes or says (manifests, helm values, logs, Events, status), and
the operator never reads those Secrets: the pods get the password through secretKeyRef."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.reliability.harness import Env, measure

pytestmark = pytest.mark.timeout(120)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# The Milvus samples hold no Secret: the router (v0.4.0) connects to Milvus without credentials.
WITH_SECRETS = ("redis_cache", "full")


def sample_spec(name: str) -> dict[str, Any]:
    """The sample's spec, its backends replaced by one Service this test creates."""
    cr = yaml.safe_load((SAMPLES / f"vllm.ai_v1alpha1_semanticrouter_{name}.yaml").read_text())
    spec: dict[str, Any] = cr["spec"]
    spec["vllmEndpoints"] = [
        {
            "name": "qwen",
            "model": "qwen2.5-7b",
            "backend": {"type": "service", "service": {"name": "vllm-qwen", "port": 8000}},
        }
    ]
    spec["persistence"] = {"enabled": False}
    return spec


def secret_refs(node: Any) -> Iterator[dict[str, str]]:
    """Every Secret key a spec points to: `password_secret_ref`s, and `secretKeyRef`s of
    the user's own env entries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("password_secret_ref", "secretKeyRef"):
                yield value
            else:
                yield from secret_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from secret_refs(item)


def forms(secret: str) -> list[str]:
    """The sentinel as it could leak: plain, base64 (a Secret's data), JSON-escaped."""
    return [secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]]


def leaks(where: str, text: str, sentinel: str) -> list[str]:
    return [f"{where}: {form!r}" for form in forms(sentinel) if form in text]


async def test_a_secret_password_appears_nowhere_the_operator_writes_and_is_never_read(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sentinel = f"S3ntinel-{uuid.uuid4().hex}"
    specs = {name.replace("_", "-"): sample_spec(name) for name in WITH_SECRETS}
    refs = {(r["name"], r["key"]) for spec in specs.values() for r in secret_refs(spec)}
    assert {"redis-credentials", "hf-token-secret"} <= {name for name, _ in refs}
    for secret in sorted({name for name, _ in refs}):
        keys = sorted(key for name, key in refs if name == secret)
        await env.client.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": secret, "namespace": "default"},
                "data": {key: base64.b64encode(sentinel.encode()).decode() for key in keys},
            }
        )
    await env.service("vllm-qwen")
    for name, spec in specs.items():
        await env.create_router(name, spec)
    for name, spec in specs.items():
        await env.wait(partial(env.converged, name, spec), f"{name} deployed")
    # A change and a drift check more, so that every code path has spoken.
    await env.patch_spec("full", {**specs["full"], "replicas": 2})
    await env.wait(lambda: env.converged("full", {**specs["full"], "replicas": 2}), "full edited")
    await env.wait_timer(2, routers=len(specs))

    found: list[str] = []
    for name in specs:
        manifests = env.store.manifests("default", name)
        found += leaks(f"{name} manifests", json.dumps(manifests), sentinel)
        found += leaks(f"{name} status", json.dumps(await env.router(name)), sentinel)
        env_vars = [
            var
            for doc in manifests
            if doc["kind"] == "Deployment"
            for container in doc["spec"]["template"]["spec"]["containers"]
            for var in container.get("env") or []
        ]
        wired = {
            (v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
            for v in env_vars
            if "secretKeyRef" in (v.get("valueFrom") or {})
        }
        assert wired == {(r["name"], r["key"]) for r in secret_refs(specs[name])}, name
    for row_key, rows in env.store.state["releases"].items():
        found += leaks(f"helm values of {row_key}", json.dumps(rows), sentinel)
    found += leaks("Events", json.dumps(env.events()), sentinel)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    found += leaks("operator logs", logged, sentinel)
    assert found == []

    # The operator's only Secret reads are its lists of helm's release Secrets.
    assert env.cluster.secret_reads
    assert all(
        "labelSelector=" in path and "owner%3Dhelm" in path for path in env.cluster.secret_reads
    )
    measure(
        "secrets",
        routers=len(specs),
        secret_refs=len(refs),
        log_records=len(caplog.records),
        secret_reads=len(env.cluster.secret_reads),
        helm_upgrades=len(env.store.runs_of("upgrade")),
    )
