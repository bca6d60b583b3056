"""The simulated cluster's server: Solana JSON-RPC over HTTP (POST /, single or batch
requests) and PubSub over WebSocket, as a validator's RPC port serves them, behind its door
and caps. `python -m engine cluster` (`engine/commands/cluster.py`) runs it on its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, hdrs, web
from loguru import logger

from engine.clock import SystemClock
from engine.domain.hosts import host_name, is_loopback
from engine.logs import said_if_failed
from engine.simulator import rpc_params
from engine.simulator.rpc_server import ClusterRpc
from engine.simulator.world import SimWorld
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout

MAX_BODY = 256 * 1024
MAX_BATCH = 100
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # one HTTP answer, a batch's included
MAX_SUBSCRIPTIONS = 10_000  # PubSub subscriptions, every connection together
MAX_SUBSCRIPTIONS_PER_CONNECTION = 256
MAX_BACKLOG = 2_048  # notifications a PubSub client may leave unread before it is dropped


@dataclass(frozen=True, slots=True)
class Door:
    """Who may call the cluster: a loopback Host (or one listed), and no browser Origin unless
    listed, so that a web page open on the same machine can neither fund itself, nor trade,
    nor cancel anyone's subscriptions."""

    hosts: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()

    def refusal(self, request: web.Request) -> str | None:
        host = host_name(request.host)
        if host not in self.hosts and not is_loopback(host):
            return "this cluster does not answer to that Host (start it with --allowed-host)"
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and origin not in self.origins:
            return "browser origins may not call this cluster (start it with --allow-origin)"
        return None


def rpc_app(rpc: ClusterRpc, door: Door | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    door = door or Door()
    live = _Subscriptions()
    connections: set[web.WebSocketResponse] = set()  # PubSub's, open now

    async def handle(request: web.Request) -> web.Response:
        refused = door.refusal(request)
        if refused:
            return web.Response(status=403, text=refused)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _answer(_error(None, RpcError(codes.PARSE_ERROR, "Parse error")))
        if hdrs.ORIGIN in request.headers and _cheats(body):  # even from an allowed origin
            return web.Response(status=403, text="cheatcodes are never served to a browser")
        if isinstance(body, list):  # a batch: one answer per request, in order
            if not body:  # JSON-RPC 2.0: an empty array is one invalid request
                return _answer(_error(None, RpcError(codes.INVALID_REQUEST, "Invalid request")))
            if len(body) > MAX_BATCH:
                return _answer(_error(None, RpcError(codes.INVALID_PARAMS,
                                                     f"a batch holds 1..{MAX_BATCH} requests")))
            answers = [await _one(rpc, item) for item in body]
            return _answer([a for a in answers if not isinstance(a, web.Response)])
        answer = await _one(rpc, body)
        return answer if isinstance(answer, web.Response) else _answer(answer)

    async def pubsub(request: web.Request) -> web.StreamResponse:
        """Solana's PubSub on the same URL (a WebSocket upgrade): accountSubscribe,
        programSubscribe and their unsubscribes; notifications as the node sends them. A
        subscription belongs to the connection that made it; a client that stops reading is
        dropped once its backlog is full."""
        refused = door.refusal(request)
        if refused:
            return web.Response(status=403, text=refused)
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        connections.add(ws)
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_BACKLOG)
        writer = asyncio.create_task(_drain(ws, outbox))
        mine: set[int] = set()
        send = backlog_sender(ws, outbox)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                send(_pubsub_answer(rpc, message.data, send, mine, live))
        finally:
            connections.discard(ws)
            for number in mine:
                rpc.unsubscribe(number)
            live.count -= len(mine)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        return ws

    async def going_away(app: web.Application) -> None:
        """A stop closes each PubSub connection, as a node going down does: left open, each
        held the stop until its client hung up (45 s with an engine subscribed)."""
        for ws in list(connections):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"the cluster is stopping")

    app.router.add_post("/", handle)
    app.router.add_get("/", pubsub)
    app.on_shutdown.append(going_away)
    return app


@dataclass
class _Subscriptions:
    count: int = 0


def backlog_sender(ws: web.WebSocketResponse,
            outbox: asyncio.Queue[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """What a PubSub connection's notifications go through: queued for its writer, until a
    full queue says the client stopped reading, which closes it (once)."""
    closing: list[asyncio.Task[bool]] = []  # the one close, held until it is done

    def send(message: dict[str, Any]) -> None:
        try:
            outbox.put_nowait(message)
        except asyncio.QueueFull:  # it stopped reading: drop it rather than hold its backlog
            if not closing and not ws.closed:
                logger.info("dropping a PubSub client {} notifications behind", MAX_BACKLOG)
                closing.append(asyncio.get_running_loop().create_task(
                    ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too far behind")))
    return send


def _pubsub_answer(rpc: ClusterRpc, text: str, send: Callable[[dict[str, Any]], None],
                   mine: set[int], live: _Subscriptions) -> dict[str, Any]:
    try:
        request = orjson.loads(text)
        method, params, ident = request["method"], _params(request), request.get("id")
        if not isinstance(method, str) or not isinstance(params, list):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return _error(None, RpcError(codes.PARSE_ERROR, "Parse error"))
    try:
        if method.endswith("Unsubscribe"):
            rpc_params.length(params, 1, 1)
            number = rpc_params.u64(params[0])
            if number not in mine:  # another connection's, or none: not this client's to end
                raise RpcError(codes.INVALID_PARAMS, "Invalid subscription id.")
            mine.discard(number)
            live.count -= 1
            return {"jsonrpc": "2.0", "id": ident, "result": rpc.unsubscribe(number)}
        if len(mine) >= MAX_SUBSCRIPTIONS_PER_CONNECTION or live.count >= MAX_SUBSCRIPTIONS:
            raise RpcError(codes.INVALID_PARAMS, "too many subscriptions "
                           f"({MAX_SUBSCRIPTIONS_PER_CONNECTION} a connection, "
                           f"{MAX_SUBSCRIPTIONS} in all)")
        number = rpc.subscribe(method, params, send)
    except (RpcError, ValueError, IndexError, TypeError) as error:
        failure = error if isinstance(error, RpcError) else RpcError(codes.INVALID_PARAMS,
                                                                     f"Invalid params: {error}")
        return _error(ident, failure)
    mine.add(number)
    live.count += 1
    return {"jsonrpc": "2.0", "id": ident, "result": number}


async def _drain(ws: web.WebSocketResponse, outbox: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await ws.send_str(orjson.dumps(await outbox.get()).decode())


def _cheats(body: Any) -> bool:
    requests = body if isinstance(body, list) else [body]
    return any(isinstance(r, dict) and str(r.get("method", "")).startswith("surfnet_")
               for r in requests)


async def _one(rpc: ClusterRpc, request: Any) -> dict[str, Any] | web.Response:
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        return _error(None, RpcError(codes.INVALID_REQUEST, "Invalid request"))
    ident = request.get("id")
    try:
        result = await rpc.dispatch(request["method"], _params(request))
    except RpcTimeout:
        return web.Response(status=504, text="the node did not answer in time")
    except RpcError as error:
        if error.code == codes.RATE_LIMITED_HTTP:
            return web.Response(status=429, text="Too Many Requests",
                                headers={"Retry-After": "1"})
        return _error(ident, error)
    except Exception as error:  # a client's malformed parameters: its answer, no traceback
        logger.debug("{} refused: {}: {}", request["method"], type(error).__name__, error)
        return _error(ident, RpcError(codes.INVALID_PARAMS, f"Invalid params: "
                                      f"{type(error).__name__}: {str(error)[:200]}"))
    return {"jsonrpc": "2.0", "id": ident, "result": result}


def _error(ident: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": error.json()}


def _answer(body: Any) -> web.Response:
    data = orjson.dumps(body)
    if len(data) > MAX_ANSWER_BYTES:
        ident = body.get("id") if isinstance(body, dict) else None
        data = orjson.dumps(_error(ident, RpcError(codes.INVALID_PARAMS, "the answer would "
                                                   f"exceed {MAX_ANSWER_BYTES} bytes: ask for "
                                                   "less (dataSlice, filters, smaller batches)")))
    return web.Response(body=data, content_type="application/json")


def serve_world(world: SimWorld, launch_rate: float, door: Door | None = None) -> web.Application:
    """The cluster's app, its market clock running while it serves."""
    app = rpc_app(world.rpc, door)

    async def market(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(world.run(SystemClock(), launch_rate), name="market")
        task.add_done_callback(said_if_failed)
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await world.chain.close()

    app.cleanup_ctx.append(market)
    return app


def _params(request: dict[str, Any]) -> Any:
    """A request's params: left out or `null`, none (JSON-RPC 2.0's omitted params, which
    jsonrpc-core, a validator's server, reads from null too)."""
    params = request.get("params")
    return [] if params is None else params
