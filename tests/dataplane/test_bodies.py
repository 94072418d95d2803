"""Bodies cross the sidecar intact, large ones included, and streams stay streams."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest

from tests.dataplane.backends import CONTENT_CHUNKS
from tests.dataplane.conftest import MODEL_A, MODEL_B, Dataplane

MIB = 1024 * 1024
FIRST_EVENT_TIMEOUT = 30.0


async def round_trip(dataplane: Dataplane, body: bytes) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    async with dataplane.client.post(dataplane.chat_url, data=body, headers=headers) as resp:
        text = await resp.text()
        assert resp.status == 200, text[:2000]
        answer: dict[str, Any] = json.loads(text)
    return answer


@pytest.mark.timeout(120)
async def test_request_and_response_bodies_round_trip_intact(dataplane: Dataplane) -> None:
    prompt = 'Grüße, 世界! "quotes", \\backslashes\\, emoji 🚀 and\nnew lines\t'
    body = json.dumps(
        {"model": MODEL_B, "echo": True, "messages": [{"role": "user", "content": prompt}]},
        ensure_ascii=False,
    ).encode()

    answer = await round_trip(dataplane, body)

    assert answer["backend"] == "backend-b"
    assert answer["request_sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["prompt_chars"] == len(prompt)
    assert (
        answer["choices"][0]["message"]["content"]
        == f"{prompt}backend-b read {len(prompt)} prompt characters"
    )
    assert dataplane.router.exchanges[0].request_body == body


@pytest.mark.timeout(180)
async def test_a_one_mebibyte_prompt_round_trips_intact(dataplane: Dataplane) -> None:
    """A 1 MiB prompt fits the chart's buffer limits, both ways (the answer echoes it)."""
    prompt = ("0123456789abcdef" * (MIB // 16))[:MIB]
    body = json.dumps(
        {"model": MODEL_A, "echo": True, "messages": [{"role": "user", "content": prompt}]}
    ).encode()
    assert len(body) > MIB

    answer = await round_trip(dataplane, body)

    assert answer["backend"] == "backend-a"
    assert answer["request_bytes"] == len(body)
    assert answer["request_sha256"] == hashlib.sha256(body).hexdigest()
    content = answer["choices"][0]["message"]["content"]
    assert content == f"{prompt}backend-a read {MIB} prompt characters"
    (exchange,) = dataplane.router.exchanges
    assert exchange.request_body == body
    assert exchange.response_body_bytes > MIB


@pytest.mark.timeout(120)
async def test_streaming_reaches_the_client_event_by_event(dataplane: Dataplane) -> None:
    """The client reads the first event while the backend still holds back the rest.

    The backend pauses after its first event until the client has read it (an event,
    not a clock): if any hop buffered the stream, the first event could not arrive
    before the backend finished, and the backend records that the gate was still shut.
    """
    backend = dataplane.backends[MODEL_A]
    gate = asyncio.Event()
    backend.stream_gate = gate
    request = {
        "model": MODEL_A,
        "stream": True,
        "messages": [{"role": "user", "content": "stream please"}],
    }
    async with dataplane.client.post(dataplane.chat_url, json=request) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["content-type"].startswith("text/event-stream")
        first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), FIRST_EVENT_TIMEOUT)
        events_sent_when_first_read = backend.streams[0].events_sent
        gate.set()
        rest = await resp.content.read()

    (record,) = backend.streams
    assert record.gate_opened_before_last_event is True, "the stream was held back on the way"
    assert events_sent_when_first_read == 1
    assert json.loads(first.removeprefix(b"data: "))["choices"][0]["delta"] == {"role": "assistant"}
    events = [e for e in rest.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    chunks = [json.loads(e.removeprefix(b"data: ")) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "".join(f"backend-a-part-{i} " for i in range(CONTENT_CHUNKS))
    assert {c["backend"] for c in chunks} == {"backend-a"}
    # The router was asked to stream the response body: it saw it in several messages.
    assert dataplane.router.exchanges[0].response_body_messages > 1


@pytest.mark.timeout(120)
async def test_a_non_streaming_answer_is_not_split_for_the_router(dataplane: Dataplane) -> None:
    """Without streaming, the router gets the whole response body at once (BUFFERED)."""
    request = {"model": MODEL_B, "messages": [{"role": "user", "content": "hi"}]}
    async with dataplane.client.post(dataplane.chat_url, json=request) as resp:
        assert resp.status == 200, await resp.text()
    (exchange,) = dataplane.router.exchanges
    assert exchange.response_body_mode == "BUFFERED"
    assert exchange.response_body_messages == 1
