"""A request for a model nobody serves ends in a clear JSON error, never in a hang; a request
the router passes on without choosing a model goes to the default model, as in the router's
reference Envoy config."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.dataplane.conftest import MODEL_A, MODEL_B, Backends, Dataplane, StartEnvoy, serving
from tests.dataplane.extproc import RouterStub
from tests.dataplane.sources import chart_envoy_config

UNKNOWN = {"model": "no-such-model", "messages": [{"role": "user", "content": "hello?"}]}


@pytest.mark.timeout(120)
async def test_an_unknown_model_gets_the_routers_json_404(dataplane: Dataplane) -> None:
    """The router's immediate answer reaches the client as sent (status, type, body)."""
    async with dataplane.client.post(dataplane.chat_url, json=UNKNOWN) as resp:
        assert resp.status == 404
        assert resp.headers["content-type"].startswith("application/json")
        error = (await resp.json())["error"]

    assert error["code"] == "model_not_found"
    assert "no-such-model" in error["message"]
    assert dataplane.router.exchanges[0].rejected
    assert dataplane.backends[MODEL_A].requests == []
    assert dataplane.backends[MODEL_B].requests == []


@pytest.mark.timeout(120)
async def test_a_request_the_router_passes_through_without_a_selection_reaches_the_default(
    backends: Backends, run_envoy: StartEnvoy, client: aiohttp.ClientSession
) -> None:
    async with serving(RouterStub([MODEL_A, MODEL_B], reject_unknown=False)) as router:
        envoy = await run_envoy(chart_envoy_config(backends.resolved()), router.port)
        async with client.post(f"{envoy.url}/v1/chat/completions", json=UNKNOWN) as resp:
            status = resp.status
            body = await resp.json(content_type=None)

    # The default model's server got it, as sent, and answered for itself (a model server
    # knows only its own model name: the router would have rewritten it).
    assert status == 404, body
    assert "no-such-model" in body["error"]["message"]
    assert json.loads(backends[MODEL_A].requests[0].body)["model"] == "no-such-model"
    assert router.stub.exchanges[0].selected_model is None
    assert len(backends[MODEL_A].requests) == 1
    assert backends[MODEL_B].requests == []


@pytest.mark.timeout(120)
async def test_without_a_default_model_backend_an_unselected_request_gets_a_json_404(
    backends: Backends, run_envoy: StartEnvoy, client: aiohttp.ClientSession
) -> None:
    config = {"providers": {"defaults": {"model": "elsewhere"}, "models": [{"name": "elsewhere"}]}}
    rendered = chart_envoy_config(backends.resolved(), config=config)
    async with serving(RouterStub([MODEL_A, MODEL_B], reject_unknown=False)) as router:
        envoy = await run_envoy(rendered, router.port)
        async with client.post(f"{envoy.url}/v1/chat/completions", json=UNKNOWN) as resp:
            status = resp.status
            content_type = resp.headers.get("content-type", "")
            body = await resp.json(content_type=None)

    assert status == 404
    assert content_type.startswith("application/json")
    assert body["error"]["code"] == "model_not_selected"
    assert backends[MODEL_A].requests == []
    assert backends[MODEL_B].requests == []
