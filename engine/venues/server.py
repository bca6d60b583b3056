"""`python -m engine cluster`: the simulated cluster on its own, serving Solana JSON-RPC over
HTTP (POST /, single or batch requests), as a validator's RPC port does."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from loguru import logger

from engine.clock import SystemClock
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout
from engine.venues.rpc import ClusterRpc
from engine.venues.world import SimWorld

MAX_BODY = 256 * 1024
MAX_BATCH = 100


def rpc_app(rpc: ClusterRpc) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def handle(request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _answer(_error(None, RpcError(codes.PARSE_ERROR, "Parse error")))
        if isinstance(body, list):  # a batch: one answer per request, in order
            if not body or len(body) > MAX_BATCH:
                return _answer(_error(None, RpcError(codes.INVALID_PARAMS,
                                                     f"a batch holds 1..{MAX_BATCH} requests")))
            answers = [await _one(rpc, item) for item in body]
            return _answer([a for a in answers if not isinstance(a, web.Response)])
        answer = await _one(rpc, body)
        return answer if isinstance(answer, web.Response) else _answer(answer)

    async def pubsub(request: web.Request) -> web.WebSocketResponse:
        """Solana's PubSub on the same URL (a WebSocket upgrade): accountSubscribe,
        programSubscribe and their unsubscribes; notifications as the node sends them."""
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        writer = asyncio.create_task(_drain(ws, outbox))
        mine: list[int] = []
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                outbox.put_nowait(_pubsub_answer(rpc, message.data, outbox, mine))
        finally:
            for number in mine:
                rpc.unsubscribe(number)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        return ws

    app.router.add_post("/", handle)
    app.router.add_get("/", pubsub)
    return app


def _pubsub_answer(rpc: ClusterRpc, text: str, outbox: asyncio.Queue[dict[str, Any]],
                   mine: list[int]) -> dict[str, Any]:
    try:
        request = orjson.loads(text)
        method, params, ident = request["method"], request.get("params", []), request.get("id")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _error(None, RpcError(codes.PARSE_ERROR, "Parse error"))
    try:
        if method.endswith("Unsubscribe"):
            return {"jsonrpc": "2.0", "id": ident, "result": rpc.unsubscribe(int(params[0]))}
        number = rpc.subscribe(method, params, outbox.put_nowait)
    except (RpcError, ValueError, IndexError) as error:
        failure = error if isinstance(error, RpcError) else RpcError(codes.INVALID_PARAMS,
                                                                     str(error))
        return _error(ident, failure)
    mine.append(number)
    return {"jsonrpc": "2.0", "id": ident, "result": number}


async def _drain(ws: web.WebSocketResponse, outbox: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await ws.send_str(orjson.dumps(await outbox.get()).decode())


async def _one(rpc: ClusterRpc, request: Any) -> dict[str, Any] | web.Response:
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        return _error(None, RpcError(-32600, "Invalid request"))
    ident = request.get("id")
    try:
        result = await rpc.dispatch(request["method"], request.get("params", []))
    except RpcTimeout:
        return web.Response(status=504, text="the node did not answer in time")
    except RpcError as error:
        if error.code == codes.RATE_LIMITED_HTTP:
            return web.Response(status=429, text="Too Many Requests",
                                headers={"Retry-After": "1"})
        return _error(ident, error)
    return {"jsonrpc": "2.0", "id": ident, "result": result}


def _error(ident: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": error.json()}


def _answer(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def serve_world(world: SimWorld, launch_rate: float) -> web.Application:
    """The cluster's app, its market clock running while it serves."""
    app = rpc_app(world.rpc)

    async def market(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(world.run(SystemClock(), launch_rate), name="market")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await world.chain.close()

    app.cleanup_ctx.append(market)
    return app


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m engine cluster",
                                description="The simulated Solana cluster, over JSON-RPC.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8899)
    p.add_argument("--db", default="./cluster.db", help="the cluster's own record (SQLite)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--latency-scale", type=float, default=1.0)
    p.add_argument("--failure-rate", type=float, default=0.08)
    p.add_argument("--launch-rate", type=float, default=0.0)
    args = p.parse_args(list(argv))
    world = SimWorld.build(SystemClock(), seed=args.seed, latency_scale=args.latency_scale,
                           failure_rate=args.failure_rate, chain_db=args.db)
    logger.info("simulated cluster: JSON-RPC on http://{}:{} (record {})", args.host,
                args.port, args.db)
    web.run_app(serve_world(world, args.launch_rate), host=args.host, port=args.port,
                print=None, access_log=None)
    return 0
