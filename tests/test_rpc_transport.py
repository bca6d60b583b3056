"""The engine's JSON-RPC transport over HTTP and WebSocket: subscribers that start together
(each venue's reader does) share the node's one PubSub connection, rather than each opening
one that the next overwrites and nobody closes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.clock import SystemClock
from engine.simulator.world import SimWorld
from engine.solana_client.client import Http
from engine.testing.cluster import standalone_cluster, wallet_for

PROGRAMS = ("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
            "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C",
            "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo")


async def test_subscribers_starting_together_share_one_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = []
    connect = aiohttp.ClientSession.ws_connect

    def counted(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        opened.append(args[0] if args else kwargs.get("url"))
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "ws_connect", counted)
    world = SimWorld.build(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                           funded=wallet_for(tmp_path / "wallet.json"))
    try:
        async with standalone_cluster(world) as url:
            transport = Http(url)
            numbers = await asyncio.gather(*(
                transport.subscribe("programSubscribe", [program, {"encoding": "base64"}],
                                    lambda params: None) for program in PROGRAMS))
            await transport.close()
        assert len(set(numbers)) == 3 and len(opened) == 1
    finally:
        await world.chain.close()
