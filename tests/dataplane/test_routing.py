"""Standalone mode routes each chat request through ext_proc to the backend of its model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dataplane.conftest import MODEL_A, MODEL_B, Dataplane


def chat(model: str, content: str = "Hello, router") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


@pytest.mark.timeout(120)
async def test_each_model_is_answered_by_its_own_backend(dataplane: Dataplane) -> None:
    answers = {}
    for model in (MODEL_A, MODEL_B):
        async with dataplane.client.post(dataplane.chat_url, json=chat(model)) as resp:
            assert resp.status == 200, await resp.text()
            answers[model] = (await resp.json(), resp.headers.get("x-vsr-selected-model"))

    assert answers[MODEL_A][0]["backend"] == "backend-a"
    assert answers[MODEL_B][0]["backend"] == "backend-b"
    assert [r.path for r in dataplane.backends[MODEL_A].requests] == ["/v1/chat/completions"]
    assert [r.path for r in dataplane.backends[MODEL_B].requests] == ["/v1/chat/completions"]
    # The response went back through the router too (it tags the model it chose).
    assert answers[MODEL_A][1] == MODEL_A
    assert answers[MODEL_B][1] == MODEL_B


@pytest.mark.timeout(120)
async def test_the_router_sees_headers_and_whole_body_of_each_request(
    dataplane: Dataplane,
) -> None:
    bodies = {
        model: json.dumps(chat(model, f"question for {model}")) for model in (MODEL_A, MODEL_B)
    }
    for body in bodies.values():
        headers = {"content-type": "application/json", "x-client-tag": "dataplane"}
        async with dataplane.client.post(dataplane.chat_url, data=body, headers=headers) as resp:
            assert resp.status == 200, await resp.text()

    seen = dataplane.router.exchanges
    assert [e.selected_model for e in seen] == [MODEL_A, MODEL_B]
    for exchange, body in zip(seen, bodies.values(), strict=True):
        assert exchange.request_headers[":method"] == "POST"
        assert exchange.request_headers[":path"] == "/v1/chat/completions"
        assert exchange.request_headers["content-type"] == "application/json"
        assert exchange.request_headers["x-client-tag"] == "dataplane"
        assert exchange.request_body == body.encode()
        # BUFFERED: the router gets the whole body in one message, before Envoy routes.
        assert exchange.request_body_mode == "BUFFERED"
        assert exchange.request_body_messages == 1


@pytest.mark.timeout(120)
async def test_the_backend_receives_the_model_header_the_router_set(dataplane: Dataplane) -> None:
    async with dataplane.client.post(dataplane.chat_url, json=chat(MODEL_B)) as resp:
        assert resp.status == 200, await resp.text()

    (request,) = dataplane.backends[MODEL_B].requests
    assert request.headers["x-selected-model"] == MODEL_B
    assert dataplane.backends[MODEL_A].requests == []


@pytest.mark.timeout(120)
async def test_a_client_cannot_pick_the_backend_by_sending_the_routing_header(
    dataplane: Dataplane,
) -> None:
    """The router's choice wins over an `x-selected-model` header sent by the client."""
    headers = {"x-selected-model": MODEL_B}
    async with dataplane.client.post(
        dataplane.chat_url, json=chat(MODEL_A), headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["backend"] == "backend-a"
    assert dataplane.backends[MODEL_B].requests == []
