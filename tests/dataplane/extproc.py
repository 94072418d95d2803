"""A minimal router standing in for vLLM Semantic Router on Envoy's ext_proc protocol.

It does, on the wire, what the router does for routing and nothing more:

- request headers: remembered, answered with CONTINUE;
- request body (the chart asks for BUFFERED, so the whole body in one message; chunks
  are accumulated if a config streams them): reads the JSON `model`, and for a model it
  serves sets `x-selected-model: <model>` with `clear_route_cache` so Envoy re-picks the
  route on that header; for a model it does not serve it answers with an immediate
  OpenAI-style 404 JSON error; `"model": "auto"` picks the default model;
- response headers: tags the response with `x-vsr-selected-model`, and for a streaming
  response (`text/event-stream`) asks Envoy to stream the response body to it
  (`mode_override`, honoured only when the filter sets `allow_mode_override`), as the
  router does so that server-sent events are not held back;
- response body and trailers: passed through unchanged.

Everything it saw is recorded per HTTP request in `RouterStub.exchanges`.

It is served as strictly as the router serves (`tests/support/router_contract.py`, read from the
router's source): the gRPC server registers the ExternalProcessor service and nothing else (no
grpc.health.v1, no reflection) and listens on all interfaces; `StandInRouter` adds the metrics
listener (all interfaces) and the management API (127.0.0.1 only), on free ports.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.http.ext_proc.v3 import processing_mode_pb2
from envoy.service.ext_proc.v3 import external_processor_pb2 as pb
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as pb_grpc
from envoy.type.v3 import http_status_pb2

from tests.support import router_contract

SELECTED_MODEL_HEADER = "x-selected-model"
RESPONSE_MODEL_HEADER = "x-vsr-selected-model"


@dataclass
class Exchange:
    """What the stub saw of one HTTP request, and what it decided."""

    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes = b""
    request_body_messages: int = 0
    requested_model: str | None = None
    selected_model: str | None = None
    rejected: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body_messages: int = 0
    response_body_bytes: int = 0
    request_body_mode: str | None = None
    response_body_mode: str | None = None


def _headers(message: Any) -> dict[str, str]:
    return {
        h.key: (h.raw_value.decode("utf-8", "replace") if h.raw_value else h.value)
        for h in message.headers.headers
    }


def _set_header(key: str, value: str) -> Any:
    return base_pb2.HeaderValueOption(
        header=base_pb2.HeaderValue(key=key, raw_value=value.encode()),
        append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def not_found(model: object, served: Iterable[str]) -> Any:
    """The immediate 404 a router answers for a model it does not serve."""
    error = {
        "error": {
            "message": f"model {model!r} is not served here; available: {', '.join(served)}",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    return pb.ProcessingResponse(
        immediate_response=pb.ImmediateResponse(
            status=http_status_pb2.HttpStatus(code=http_status_pb2.NotFound),
            headers=pb.HeaderMutation(
                set_headers=[_set_header("content-type", "application/json")]
            ),
            body=json.dumps(error).encode(),
            details="model_not_found",
        )
    )


class RouterStub(pb_grpc.ExternalProcessorServicer):  # type: ignore[misc]
    """The ext_proc service; `models` are the model names it routes, the first is the default.

    `reject_unknown=False` makes it pass a request for an unknown model on without choosing
    a model (no `x-selected-model`), to see what the Envoy config does with it.
    """

    def __init__(self, models: Iterable[str], *, reject_unknown: bool = True) -> None:
        self.models = list(models)
        self.reject_unknown = reject_unknown
        self.exchanges: list[Exchange] = []

    def _select(self, exchange: Exchange, body: bytes, phase: str) -> Any:
        """The answer to the last request message: route on the model, or reject it."""
        try:
            requested = json.loads(body).get("model") if body else None
        except (ValueError, AttributeError):
            requested = None
        exchange.requested_model = requested
        model = self.models[0] if requested in (None, "auto") else requested
        if model in self.models:
            exchange.selected_model = model
            common = pb.CommonResponse(
                header_mutation=pb.HeaderMutation(
                    set_headers=[_set_header(SELECTED_MODEL_HEADER, model)]
                ),
                clear_route_cache=True,
            )
        elif self.reject_unknown:
            exchange.rejected = True
            return not_found(requested, self.models)
        else:
            common = pb.CommonResponse()
        if phase == "request_headers":
            return pb.ProcessingResponse(request_headers=pb.HeadersResponse(response=common))
        return pb.ProcessingResponse(request_body=pb.BodyResponse(response=common))

    def _response_headers(self, exchange: Exchange) -> Any:
        tag = [_set_header(RESPONSE_MODEL_HEADER, exchange.selected_model or "")]
        streaming = exchange.response_headers.get("content-type", "").startswith(
            "text/event-stream"
        )
        override = (
            processing_mode_pb2.ProcessingMode(
                response_body_mode=processing_mode_pb2.ProcessingMode.STREAMED
            )
            if streaming
            else None
        )
        return pb.ProcessingResponse(
            response_headers=pb.HeadersResponse(
                response=pb.CommonResponse(header_mutation=pb.HeaderMutation(set_headers=tag))
            ),
            mode_override=override,
        )

    async def Process(  # the gRPC method name
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        exchange = Exchange()
        self.exchanges.append(exchange)
        async for request in request_iterator:
            if request.HasField("protocol_config"):
                modes = processing_mode_pb2.ProcessingMode.BodySendMode
                exchange.request_body_mode = modes.Name(request.protocol_config.request_body_mode)
                exchange.response_body_mode = modes.Name(request.protocol_config.response_body_mode)
            kind = request.WhichOneof("request")
            if kind == "request_headers":
                exchange.request_headers = _headers(request.request_headers)
                if request.request_headers.end_of_stream:
                    yield self._select(exchange, b"", kind)
                else:
                    yield pb.ProcessingResponse(request_headers=pb.HeadersResponse())
            elif kind == "request_body":
                exchange.request_body += request.request_body.body
                exchange.request_body_messages += 1
                if request.request_body.end_of_stream:
                    yield self._select(exchange, exchange.request_body, kind)
                else:
                    yield pb.ProcessingResponse(request_body=pb.BodyResponse())
            elif kind == "response_headers":
                exchange.response_headers = _headers(request.response_headers)
                yield self._response_headers(exchange)
            elif kind == "response_body":
                exchange.response_body_messages += 1
                exchange.response_body_bytes += len(request.response_body.body)
                yield pb.ProcessingResponse(response_body=pb.BodyResponse())
            elif kind == "request_trailers":
                yield pb.ProcessingResponse(request_trailers=pb.TrailersResponse())
            elif kind == "response_trailers":
                yield pb.ProcessingResponse(response_trailers=pb.TrailersResponse())


async def serve(
    stub: RouterStub, host: str = router_contract.LISTENERS["grpc"].bind
) -> tuple[grpc.aio.Server, int]:
    """Start `stub` on a free port of `host` (the router's bind by default); returns the server
    and its port. Only the ExternalProcessor service is registered, as in the router."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
    )
    pb_grpc.add_ExternalProcessorServicer_to_server(stub, server)
    port = server.add_insecure_port(f"{host}:0")
    await server.start()
    return server, port


async def _http_listener(host: str, paths: dict[str, str]) -> tuple[web.AppRunner, int]:
    app = web.Application()
    for path, body in paths.items():

        async def answer(_: web.Request, body: str = body) -> web.Response:
            return web.Response(text=body)

        app.router.add_get(path, answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    return runner, int(runner.addresses[0][1])


class StandInRouter:
    """The router's three listeners, bound as the router binds them, on free ports.

    `ports` maps the router's own port numbers (50051, 9190, 8080) to the ports listened on,
    so a rendered Deployment's probes can be run against it (`tests/dataplane/kubelet.py`).
    """

    def __init__(self, stub: RouterStub) -> None:
        self.stub = stub
        self.ports: dict[int, int] = {}
        self._grpc: grpc.aio.Server | None = None
        self._http: list[web.AppRunner] = []

    async def start(self) -> None:
        listeners = router_contract.LISTENERS
        self._grpc, grpc_port = await serve(self.stub, listeners["grpc"].bind)
        self.ports[listeners["grpc"].port] = grpc_port
        metrics, metrics_port = await _http_listener(
            listeners["metrics"].bind, {"/metrics": "# router stand-in\n"}
        )
        api, api_port = await _http_listener(
            listeners["api"].bind, {"/health": '{"status":"healthy"}'}
        )
        self._http = [metrics, api]
        self.ports[listeners["metrics"].port] = metrics_port
        self.ports[listeners["api"].port] = api_port

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(grace=None)
            self._grpc = None
        for runner in self._http:
            await runner.cleanup()
        self._http = []
