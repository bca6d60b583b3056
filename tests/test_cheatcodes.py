"""surfpool's cheatcodes, under its names and parameters, on a cluster started with
--cheatcodes (and the programs' runtime for accounts): accounts and token accounts set and
reset, time moved forward, the clock paused and resumed; never served otherwise, nor to a page
in a browser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from solders.pubkey import Pubkey

from engine.testing.process import ClusterProcess

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
PROCESSED = {"commitment": "processed"}  # the newest slot, not the root 32 behind it


class Node:
    def __init__(self, url: str) -> None:
        self.url = url

    async def call(self, method: str, *params: Any, origin: str | None = None) -> Any:
        headers = {"Origin": origin} if origin else {}
        async with aiohttp.ClientSession() as session, session.post(self.url, headers=headers, json={
                "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as resp:
            if resp.status != 200:
                return resp.status
            return await resp.json()


def cluster(tmp_path: Path, *flags: str) -> ClusterProcess:
    return ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0.05", "--failure-rate",
                          "0", "--market-flow", "0", "--fund-keypair", str(tmp_path / "w.json"),
                          *flags)


@pytest_asyncio.fixture
async def node(tmp_path: Path, programs: Path) -> AsyncIterator[Node]:
    process = cluster(tmp_path, "--programs", str(programs), "--cheatcodes",
                      "--allow-origin", "http://localhost:3000")
    await process.start()
    yield Node(process.url)
    await process.terminate()


async def test_set_account_writes_lamports_data_and_owner(node: Node) -> None:
    key, owner = str(Pubkey.new_unique()), str(Pubkey.new_unique())
    done = await node.call("surfnet_setAccount", key, {"lamports": 1_234, "data": "0a0b0c",
                                                       "owner": owner})
    assert done["result"]["value"] is None
    found = (await node.call("getAccountInfo", key, {"encoding": "base64"}))["result"]["value"]
    assert (found["lamports"], found["owner"], found["data"]) == (1_234, owner,
                                                                   ["CgsM", "base64"])
    await node.call("surfnet_resetAccount", key)
    assert (await node.call("getAccountInfo", key))["result"]["value"] is None


async def test_set_token_account_makes_or_changes_an_associated_account(node: Node) -> None:
    holder = str(Pubkey.new_unique())
    await node.call("surfnet_setTokenAccount", holder, USDC, {"amount": 5_000_000})
    found = await node.call("getTokenAccountsByOwner", holder, {"mint": USDC},
                            {"encoding": "jsonParsed"})
    info = found["result"]["value"][0]["account"]["data"]["parsed"]["info"]
    assert info["tokenAmount"]["uiAmountString"] == "5" and info["state"] == "initialized"
    await node.call("surfnet_setTokenAccount", holder, USDC, {"state": "frozen"})
    found = await node.call("getTokenAccountsByOwner", holder, {"mint": USDC},
                            {"encoding": "jsonParsed"})
    info = found["result"]["value"][0]["account"]["data"]["parsed"]["info"]
    assert (info["state"], info["tokenAmount"]["amount"]) == ("frozen", "5000000")


async def test_time_travels_forward_only_and_the_clock_pauses(node: Node) -> None:
    epoch = (await node.call("surfnet_timeTravel", {"absoluteSlot": 5_000}))["result"]
    assert epoch["absoluteSlot"] >= 5_000
    assert (await node.call("getSlot", PROCESSED))["result"] >= 5_000
    backwards = await node.call("surfnet_timeTravel", {"absoluteSlot": 10})
    assert backwards["error"]["code"] == -32602
    epoch = (await node.call("surfnet_timeTravel", {"absoluteEpoch": 2}))["result"]
    assert epoch["epoch"] == 2
    paused = (await node.call("surfnet_pauseClock"))["result"]["absoluteSlot"]
    await asyncio.sleep(0.2)  # a real clock: four slots at this latency scale
    assert (await node.call("getSlot", PROCESSED))["result"] == paused
    await node.call("surfnet_resumeClock")
    await asyncio.sleep(0.2)
    assert (await node.call("getSlot", PROCESSED))["result"] > paused


async def test_cheatcodes_are_never_served_to_a_browser(node: Node) -> None:
    status = await node.call("surfnet_setAccount", str(Pubkey.new_unique()), {"lamports": 1},
                             origin="http://localhost:3000")  # an origin the node allows
    assert status == 403
    assert "result" in await node.call("getSlot", origin="http://localhost:3000")


async def test_without_the_flag_there_are_no_cheatcodes(tmp_path: Path) -> None:
    process = cluster(tmp_path)
    await process.start()
    try:
        answer = await Node(process.url).call("surfnet_timeTravel", {"absoluteSlot": 9})
    finally:
        await process.terminate()
    assert answer["error"]["code"] == -32601


async def test_what_a_cheatcode_set_survives_a_restart(tmp_path: Path, programs: Path) -> None:
    key = str(Pubkey.new_unique())
    first = cluster(tmp_path, "--programs", str(programs), "--cheatcodes")
    await first.start()
    await Node(first.url).call("surfnet_setAccount", key, {"lamports": 77})
    await first.terminate()
    again = cluster(tmp_path, "--programs", str(programs))
    await again.start()
    try:
        assert (await Node(again.url).call("getBalance", key))["result"]["value"] == 77
    finally:
        await again.terminate()
