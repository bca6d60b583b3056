"""The node is checked, every second, to be the cluster this engine's orders were made on; one
that became another cluster is used for nothing (no call, no notification) until it is ours
again. The process-level story is in test_node_away.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import world_at

from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.programs import TOKEN
from engine.solana_client.client import RpcClient
from engine.solana_client.cluster_identity import ClusterIdentity
from engine.solana_client.transports import InProcess
from engine.testing import ManualClock


async def turns() -> None:
    for _ in range(10):
        await asyncio.sleep(0)  # the cluster tells subscribers once a turn of the loop


async def test_a_node_of_another_cluster_is_used_for_nothing_until_it_is_ours_again(
        logged: list[str], tmp_path: Path) -> None:
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    world.hold_prices()
    rpc = RpcClient(InProcess(world.rpc))
    told: list[Any] = []
    await rpc.program_subscribe(str(TOKEN), told.append)  # the pools' vaults among them
    ours = await rpc.get_genesis_hash()

    await ClusterIdentity(rpc, "the-genesis-our-orders-were-made-on", "the node", clock).check()
    assert rpc.fenced is not None and rpc.fenced.startswith(
        f"the node is now another cluster (genesis hash {ours}; ")
    with pytest.raises(RpcError) as refused:
        await rpc.get_latest_blockhash()
    assert refused.value.code == codes.NODE_UNHEALTHY and "another cluster" in refused.value.message
    with pytest.raises(RpcError):
        await rpc.account_subscribe(str(TOKEN), told.append)
    world.move_price("ray-sol-usdc", 1.1)
    await turns()
    assert told == []  # what it says of its accounts is not passed on

    await ClusterIdentity(rpc, ours, "the node", clock).check()
    assert rpc.fenced is None
    assert (await rpc.get_latest_blockhash())["value"]["blockhash"]
    world.move_price("ray-sol-usdc", 1.1)
    await turns()
    assert told  # and its notifications are again
    assert [line for line in logged if line.startswith("the node")] == [
        refused.value.message,
        "the node is the cluster this engine's orders were made on again"]
