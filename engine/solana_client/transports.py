"""How the engine reaches a Solana node: in process (the embedded cluster's own dispatch, no
socket and no JSON encoding) or over the network (JSON-RPC over HTTP POST, PubSub over one
WebSocket). Both carry the JSON's shapes, so the client above them takes one code path."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import orjson

from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout, node_name

Notify = Callable[[dict[str, Any]], None]  # one PubSub notification's `params`


class Transport(Protocol):
    # The PubSub connection open now, by number (None: none is): subscriptions live and die
    # with one, and a new one, a new number, starts with none.
    connection: int | None

    async def request(self, method: str, params: list[Any]) -> Any:
        """The call's result; raises RpcError (RpcTimeout when no answer came)."""

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        """A PubSub subscription; `notify` gets each notification's params."""

    async def unsubscribe(self, method: str, number: int) -> None:
        """End a subscription (`method`: its kind's unsubscribe): nothing more of it is
        told, and the node is asked to forget it."""


class Node(Protocol):
    """The embedded cluster, as the in-process transport calls it."""

    async def dispatch(self, method: str, params: list[Any]) -> Any: ...

    def subscribe(self, method: str, params: list[Any],
                  send: Callable[[dict[str, Any]], None]) -> int: ...

    def unsubscribe(self, number: int) -> bool: ...


class InProcess:
    """The embedded cluster's `dispatch`, called directly: no socket, no JSON encoding. The
    params and results are the JSON's shapes all the same, so the code path is the one a
    remote node gets; subscriptions get the notifications a WebSocket would carry."""

    connection: int | None = 1  # the one there is: nothing between us to lose

    def __init__(self, node: Node) -> None:
        self._node = node

    async def request(self, method: str, params: list[Any]) -> Any:
        return await self._node.dispatch(method, params)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        return self._node.subscribe(method, params, lambda message: notify(message["params"]))

    async def unsubscribe(self, method: str, number: int) -> None:
        self._node.unsubscribe(number)


class Http:
    """JSON-RPC over HTTP POST, as every Solana node serves it."""

    def __init__(self, url: str, timeout: float = 10.0, *, ws_url: str = "") -> None:
        """`ws_url`: the node's PubSub, where it is not `url`'s own (ws://, or wss:// for
        https://, on the same host and port, as hosted nodes and our cluster serve it)."""
        self.url, self._timeout = url, aiohttp.ClientTimeout(total=timeout)
        self.ws_url = ws_url or url.replace("http", "ws", 1)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._answers: dict[int, asyncio.Future[Any]] = {}
        self._notify: dict[int, Notify] = {}
        # Whom a subscription's notifications go to, by the id of the request making it: the
        # reader files them as it reads the answer, since the first notification may be the
        # very next message, read before the subscriber is back.
        self._subscribers: dict[int, Notify] = {}
        self.connection: int | None = None  # see Transport
        self._connections = itertools.count(1)
        self._connecting = asyncio.Lock()

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        """Over the node's WebSocket (`ws_url`): one connection for them all.
        Subscribers that start together (each venue's reader) wait for the one connection
        rather than each opening its own, which would be left open, unread."""
        try:
            async with self._connecting:
                if self._socket is None or self._socket.closed:
                    if self._session is None:
                        self._session = aiohttp.ClientSession(timeout=self._timeout)
                    self._socket = await self._session.ws_connect(self.ws_url, heartbeat=30)
                    self._notify.clear()
                    self._reader = asyncio.create_task(self._read(self._socket))
                    self.connection = next(self._connections)
                socket = self._socket
            return int(await self._ask(socket, method, params, notify))
        except (aiohttp.ClientError, ConnectionError) as error:
            # The node's PubSub cannot be reached (or dropped us as we asked): a node away,
            # as for a request; its subscribers read the accounts instead and ask again.
            raise RpcError(codes.NODE_UNHEALTHY,
                           f"{method}: PubSub at {node_name(self.ws_url)}: {error}") from None

    async def unsubscribe(self, method: str, number: int) -> None:
        """Best effort beyond forgetting it here: on a connection that is gone, the node has
        forgotten it already, and one that does not answer forgets it when it closes."""
        self._notify.pop(number, None)
        socket = self._socket
        if socket is not None and not socket.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError, TimeoutError,
                                     RpcError):
                await self._ask(socket, method, [number])

    async def _ask(self, socket: aiohttp.ClientWebSocketResponse, method: str,
                   params: list[Any], notify: Notify | None = None) -> Any:
        """One request over the PubSub socket, and its answer; `notify`: a subscription's,
        filed by the reader with the answer."""
        ident = next(self._ids)
        answer = self._answers[ident] = asyncio.get_running_loop().create_future()
        if notify is not None:
            self._subscribers[ident] = notify
        try:
            await socket.send_str(orjson.dumps({"jsonrpc": "2.0", "id": ident, "method": method,
                                                "params": params}).decode())
            return await asyncio.wait_for(answer, self._timeout.total)
        finally:
            self._answers.pop(ident, None)  # answered, or given up on: not kept
            self._subscribers.pop(ident, None)

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = orjson.loads(message.data)
                if "id" in data and data["id"] in self._answers:
                    future = self._answers.pop(data["id"])
                    if "error" in data:
                        failure = data["error"]
                        future.set_exception(RpcError(int(failure["code"]),
                                                      str(failure["message"])))
                    else:
                        future.set_result(data["result"])
                        notify = self._subscribers.pop(data["id"], None)
                        if notify is not None and isinstance(data["result"], int):
                            self._notify[data["result"]] = notify
                elif "params" in data:
                    notify = self._notify.get(data["params"].get("subscription"))
                    if notify is not None:
                        notify(data["params"])
        finally:
            if socket is self._socket:  # (not a newer one's): subscribers read instead,
                self.connection = None  # and subscribe again; those still waiting for an
                for future in self._answers.values():  # answer hear of it now, not at
                    if not future.done():  # their timeout
                        future.set_exception(RpcError(
                            codes.NODE_UNHEALTHY, f"PubSub at {node_name(self.ws_url)}: "
                                                  "the connection closed"))

    async def request(self, method: str, params: list[Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = orjson.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                             "params": params})
        try:
            async with self._session.post(self.url, data=body, headers={
                    "Content-Type": "application/json"}) as resp:
                if resp.status == codes.RATE_LIMITED_HTTP:
                    raise RpcError(codes.RATE_LIMITED_HTTP, "Too Many Requests")
                if resp.status == 503:  # not served: the request did not run
                    raise RpcError(codes.NODE_UNHEALTHY, f"{method}: HTTP 503")
                if resp.status >= 500:  # a gateway's timeout or error: the request may have run
                    raise RpcTimeout(method, f"{method}: HTTP {resp.status}, no answer from the node")
                answer = orjson.loads(await resp.read())
        except TimeoutError:
            raise RpcTimeout(method, f"{method}: no answer within {self._timeout.total} s") from None
        except aiohttp.ClientConnectorError as error:  # never connected: nothing was sent
            raise RpcError(codes.NODE_UNHEALTHY, f"{method}: {error}") from None
        except (aiohttp.ClientError, orjson.JSONDecodeError) as error:
            # Connected, and the answer was lost (the node dropped the connection, or sent
            # what does not parse): as with a timeout, a send may have been carried out.
            raise RpcTimeout(method, f"{method}: the answer was lost: {error!r}") from None
        if "error" in answer:
            failure = answer["error"]
            raise RpcError(int(failure["code"]), str(failure["message"]), failure.get("data"))
        return answer["result"]

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
