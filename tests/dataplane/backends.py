"""Fake OpenAI-compatible model servers (aiohttp) that answer with their own identity.

`POST /v1/chat/completions` answers a `chat.completion` whose `backend` names the server,
whose `prompt_chars` and `request_sha256` describe the request body exactly as received,
and whose message repeats the last message when the request sets `"echo": true` (as
vLLM's `echo` does). With `"stream": true` it answers server-sent events: a role chunk,
several content chunks with small pauses, a finish chunk, then `data: [DONE]`.

A streaming answer can be held after its first event until the client says it has
received that event (`stream_gate`, an asyncio.Event set by the test): this proves the
events travel one by one, without any assertion on time. The wait is bounded, and
`streams` records whether the gate opened before the last event was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GATE_TIMEOUT = 10.0
CONTENT_CHUNKS = 5


@dataclass
class SeenRequest:
    """One request as the backend received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StreamRecord:
    """How one streaming answer went: events sent, and whether the gate opened in time."""

    events_sent: int = 0
    gate_opened_before_last_event: bool | None = None


@dataclass
class FakeBackend:
    """One model server; `start()` binds a free loopback port."""

    name: str
    models: list[str]
    requests: list[SeenRequest] = field(default_factory=list)
    streams: list[StreamRecord] = field(default_factory=list)
    stream_gate: asyncio.Event | None = None
    port: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _record(self, request: web.Request) -> bytes:
        body = await request.read()
        self.requests.append(
            SeenRequest(request.method, request.path_qs, dict(request.headers), body)
        )
        return body

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request)
        data = [{"id": m, "object": "model", "owned_by": self.name} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await self._record(request)
        try:
            body: dict[str, Any] = json.loads(raw)
            messages = body["messages"]
            prompt = "".join(str(m.get("content", "")) for m in messages)
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response(
                {"error": {"message": "body must be JSON with messages", "type": "invalid"}},
                status=400,
            )
        model = body.get("model")
        if model not in self.models:
            return web.json_response(
                {"error": {"message": f"The model `{model}` does not exist.", "code": 404}},
                status=404,
            )
        reply = f"{self.name} read {len(prompt)} prompt characters"
        if body.get("echo"):
            reply = str(messages[-1].get("content", "")) + reply
        if body.get("stream"):
            return await self._stream(request, str(model))
        return web.json_response(
            {
                "id": f"chatcmpl-{self.name}-{len(self.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "backend": self.name,
                "prompt_chars": len(prompt),
                "request_bytes": len(raw),
                "request_sha256": hashlib.sha256(raw).hexdigest(),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 1},
            }
        )

    async def _stream(self, request: web.Request, model: str) -> web.StreamResponse:
        record = StreamRecord()
        self.streams.append(record)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)

        def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
            event = {
                "id": f"chatcmpl-{self.name}",
                "object": "chat.completion.chunk",
                "model": model,
                "backend": self.name,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(event)}\n\n".encode()

        events = [chunk({"role": "assistant"})]
        events += [chunk({"content": f"{self.name}-part-{i} "}) for i in range(CONTENT_CHUNKS)]
        events += [chunk({}, "stop"), b"data: [DONE]\n\n"]
        for index, event in enumerate(events):
            if index == len(events) - 1 and self.stream_gate is not None:
                record.gate_opened_before_last_event = self.stream_gate.is_set()
            await response.write(event)
            record.events_sent += 1
            if index == 0 and self.stream_gate is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stream_gate.wait(), GATE_TIMEOUT)
            else:
                await asyncio.sleep(0.01)
        await response.write_eof()
        return response
