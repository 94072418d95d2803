"""What the operator renders for a CR routes like the chart alone: the same harness runs it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.dataplane.conftest import MODEL_A, MODEL_B, Backends, Router, StartEnvoy
from tests.dataplane.sources import operator_envoy_config


def two_backend_cr() -> dict[str, Any]:
    """A SemanticRouter as a user writes it: two Service backends, a seed-shaped config."""
    return {
        "apiVersion": "vllm.ai/v1alpha1",
        "kind": "SemanticRouter",
        "metadata": {"name": "dataplane", "namespace": "default"},
        "spec": {
            "vllmEndpoints": [
                {
                    "name": "backend-a",
                    "model": MODEL_A,
                    "reasoningFamily": "qwen3",
                    "backend": {"type": "service", "service": {"name": "vllm-a", "port": 8000}},
                    "weight": 1,
                },
                {
                    "name": "backend-b",
                    "model": MODEL_B,
                    "backend": {"type": "service", "service": {"name": "vllm-b", "port": 8000}},
                    "weight": 1,
                },
            ],
            "config": {
                "semantic_cache": {"enabled": True, "backend_type": "memory"},
                "reasoning_families": {
                    "qwen3": {"type": "chat_template_kwargs", "parameter": "enable_thinking"}
                },
            },
        },
    }


@pytest.mark.timeout(180)
async def test_the_operator_render_of_a_two_backend_cr_routes_each_model_to_its_backend(
    backends: Backends,
    router: Router,
    run_envoy: StartEnvoy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    cr = tmp_path / "semanticrouter.yaml"
    cr.write_text(yaml.safe_dump(two_backend_cr()))
    resolve = {
        "backend-a": ("127.0.0.1", backends[MODEL_A].port),
        "backend-b": ("127.0.0.1", backends[MODEL_B].port),
    }
    rendered = await asyncio.to_thread(operator_envoy_config, cr, resolve)

    envoy = await run_envoy(rendered, router.port)
    answered_by = {}
    for model in (MODEL_A, MODEL_B):
        request = {"model": model, "messages": [{"role": "user", "content": f"hi {model}"}]}
        async with client.post(f"{envoy.url}/v1/chat/completions", json=request) as resp:
            assert resp.status == 200, await resp.text()
            answered_by[model] = (await resp.json())["backend"]

    assert answered_by == {MODEL_A: "backend-a", MODEL_B: "backend-b"}
    assert [e.selected_model for e in router.stub.exchanges] == [MODEL_A, MODEL_B]
    assert [len(backends[m].requests) for m in (MODEL_A, MODEL_B)] == [1, 1]
