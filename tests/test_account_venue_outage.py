"""A node that stops answering: the venue keeps trying every slot, and says so when the outage
starts, whenever its length doubles, and once when it ends, not a line a slot. A PubSub
connection that drops: the venue subscribes again to everything it watched, on the new one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from conftest import running, world_at

from engine.domain.tokens import WSOL_MINT
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.programs import AMM_V4, CPMM
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.client import RpcClient
from engine.solana_client.transports import InProcess, Notify
from engine.testing import ManualClock

USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


class Unplugged:
    """The in-process node, with a switch that makes it unreachable, as a dead node is."""

    def __init__(self, inner: InProcess) -> None:
        self._inner, self.down = inner, False

    @property
    def connection(self) -> int | None:
        return None if self.down else self._inner.connection

    async def request(self, method: str, params: list[Any]) -> Any:
        if self.down:
            raise RpcError(codes.NODE_UNHEALTHY, f"{method}: Cannot connect to host")
        return await self._inner.request(method, params)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        if self.down:
            raise RpcError(codes.NODE_UNHEALTHY, f"{method}: Cannot connect to host")
        return await self._inner.subscribe(method, params, notify)

    async def unsubscribe(self, method: str, number: int) -> None:
        await self._inner.unsubscribe(method, number)


async def slots(clock: ManualClock, count: int) -> None:
    """Let `count` slots pass, the venue's loop reaching its next wait in each."""
    for _ in range(count):
        for _ in range(10):
            await asyncio.sleep(0)  # a turn of the loop, not time: the round runs to its sleep
        await clock.advance(0.4)


async def told_of(lines: list[str], down_for: int, directory: Path) -> list[str]:
    """What a venue logs when its node is unreachable for `down_for` slots, then back."""
    clock = ManualClock()
    world = world_at(clock, directory)
    node = Unplugged(InProcess(world.rpc))
    venue = AccountVenue("raydium", (CPMM,), RpcClient(node), clock, slot_seconds=0.4)
    await venue.load()
    node.down = True  # before the first round: it reads (and subscribes) once a slot
    async with running(venue.run()):
        await slots(clock, down_for)
        node.down = False
        await slots(clock, 3)
    return [line for line in lines if line.startswith("raydium accounts")]


async def test_an_outage_is_told_when_it_starts_and_when_it_ends(logged: list[str],
                                                                 tmp_path: Path) -> None:
    outage = await told_of(logged, 3, tmp_path)
    assert outage[0].startswith("raydium accounts not read (read again shortly): ")
    assert outage[0].endswith("(1 in a row; said again when that count doubles)")
    tries = int(outage[-1].split("after ")[1].split()[0])
    assert outage[-1] == f"raydium accounts read again, after {tries} failed tries"
    assert tries == 4  # at once, then once a slot
    assert len(outage) == 4, outage  # tries 1, 2 and 4, and the end


async def test_a_long_outage_is_told_again_only_as_its_length_doubles(
        logged: list[str], tmp_path: Path) -> None:
    outage = await told_of(logged, 160, tmp_path)
    counts = [int(line.split(" in a row")[0].rsplit("(", 1)[1]) for line in outage[:-1]]
    assert counts == [1, 2, 4, 8, 16, 32, 64, 128], outage
    assert outage[-1].startswith("raydium accounts read again, after ")


class Reconnecting:
    """The in-process node behind a PubSub connection that can drop: what was subscribed on
    one connection stops being told once it drops, and the next one (a new number) knows none
    of it, as with a node restarted or a network that cut the socket."""

    def __init__(self, inner: InProcess) -> None:
        self._inner, self.connection = inner, 1

    def drop(self) -> None:
        self.connection += 1  # dropped, and a new one open at once

    async def request(self, method: str, params: list[Any]) -> Any:
        return await self._inner.request(method, params)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        made_on = self.connection

        def on_its_connection(message: dict[str, Any]) -> None:
            if self.connection == made_on:
                notify(message)
        return await self._inner.subscribe(method, params, on_its_connection)

    async def unsubscribe(self, method: str, number: int) -> None:
        await self._inner.unsubscribe(method, number)


async def test_after_a_dropped_connection_the_pools_are_followed_again(tmp_path: Path) -> None:
    # Raydium's reserves are in its vaults, token accounts the program subscription does not
    # see: each vault's own subscription must be made again on the new connection (they were
    # remembered as made, and a restarted cluster left the engine quoting a frozen market).
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    world.hold_prices()  # prices move only when the test moves them
    node = Reconnecting(InProcess(world.rpc))
    venue = AccountVenue("raydium", (AMM_V4, CPMM), RpcClient(node), clock, slot_seconds=0.4)
    await venue.load()
    async with running(venue.run()):
        await slots(clock, 2)
        node.drop()
        await venue.subscribe()  # what its round does once it sees the connection gone
        before = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
        world.move_price("ray-sol-usdc", 1.5)
        await slots(clock, 2)
        after = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
    assert before is not None and after is not None
    assert 1.4 < after.amount_out / before.amount_out < 1.6


class ReadsFail(Unplugged):
    """...where only the node's reads fail (HTTP 429s or 503s, say) while its PubSub connection
    stays open, with every subscription made on it."""

    def __init__(self, inner: InProcess) -> None:
        super().__init__(inner)
        self.subscribed = self.refused = 0

    @property
    def connection(self) -> int | None:
        return self._inner.connection

    async def request(self, method: str, params: list[Any]) -> Any:
        self.refused += self.down
        return await super().request(method, params)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        self.subscribed += 1
        return await self._inner.subscribe(method, params, notify)


async def test_failed_reads_keep_the_subscriptions_and_read_again_once_a_second(
        logged: list[str], tmp_path: Path) -> None:
    # A failed read took the subscriptions for gone: made again each slot beside the old ones
    # (every notification then came twice, three times...), each a call more on a node that
    # was refusing calls already.
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    node = ReadsFail(InProcess(world.rpc))
    venue = AccountVenue("raydium", (AMM_V4, CPMM), RpcClient(node), clock, slot_seconds=0.4)
    await venue.load()
    async with running(venue.run()):
        await slots(clock, 2)
        subscribed, made = world.rpc.subscriptions, node.subscribed
        node.down = True
        await slots(clock, 30)  # 12 s: past the look at every pool, which fails
        node.down = False
        await slots(clock, 4)
        assert (world.rpc.subscriptions, node.subscribed) == (subscribed, made)
        # Failed from the look on (10 s in), then tried again once a second: 2 s of the
        # outage left, so a few tries (a read is one call or two), not one every slot.
        assert 1 <= node.refused <= 6, node.refused
        assert "raydium accounts read again, after" in " ".join(logged)
