"""A node tells an account's changes only to subscriptions made before them: whatever changed
while the venue was subscribing must still reach its quotes (a venue that read first and
subscribed after kept the price it read until the pool next moved: with the market still, a
waiting order never saw the move that should have fired it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import running, world_at

from engine.domain.tokens import WSOL_MINT
from engine.simulator.world import SimWorld
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.programs import AMM_V4, CLOCK_SYSVAR, CPMM, DLMM
from engine.solana_client import account_venue
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.client import RpcClient
from engine.solana_client.transports import InProcess, Notify
from engine.testing import ManualClock

USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
NEW_MINT = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


class MovesWhileSubscribing:
    """The in-process node, where `change` is made (and told to the subscriptions there were)
    just before the venue's next subscription of the kind `method` (`arm` sets another)."""

    def __init__(self, inner: InProcess, method: str = "",
                 change: Callable[[], None] | None = None) -> None:
        self._inner, self.connection, self.changed = inner, inner.connection, False
        self._method, self._change = method, change

    def arm(self, method: str, change: Callable[[], None]) -> None:
        self._method, self._change = method, change

    async def request(self, method: str, params: list[Any]) -> Any:
        return await self._inner.request(method, params)

    async def unsubscribe(self, method: str, number: int) -> None:
        await self._inner.unsubscribe(method, number)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        if method == self._method and self._change is not None:
            change, self._change = self._change, None
            change()
            self.changed = True
            for _ in range(5):
                await asyncio.sleep(0)  # the cluster tells it, before this subscription
        return await self._inner.subscribe(method, params, notify)


def still(directory: Path) -> tuple[ManualClock, SimWorld]:
    """A world whose clock moves when the test says, and whose prices only when it moves them."""
    clock = ManualClock()
    world = world_at(clock, directory)
    world.hold_prices()
    return clock, world


async def loaded(rpc: RpcClient, clock: ManualClock, programs: tuple[Any, ...]) -> AccountVenue:
    """A venue of these programs on that node, its pools read (a slot is 0.4 s)."""
    venue = AccountVenue("v", programs, rpc, clock, slot_seconds=0.4)
    await venue.load()
    return venue


async def settled(clock: ManualClock) -> None:
    for _ in range(4):
        for _ in range(20):
            await asyncio.sleep(0)
        await clock.advance(0.4)


async def quoted_after(move: str, pool: str, programs: tuple[Any, ...],
                       directory: Path) -> tuple[int, int]:
    """SOL -> USDC out for 1 SOL before the venue runs, and once it has subscribed with the
    pool's price moved up half while it did."""
    clock, world = still(directory)
    node = MovesWhileSubscribing(InProcess(world.rpc), move,
                                 lambda: world.move_price(pool, 1.5))
    venue = await loaded(RpcClient(node), clock, programs)
    before = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
    async with running(venue.run()):
        await settled(clock)
        after = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
    assert before is not None and after is not None
    return before.amount_out, after.amount_out


async def test_a_program_account_changed_while_subscribing_is_quoted(tmp_path: Path) -> None:
    before, after = await quoted_after("programSubscribe", "met-sol-usdc", (DLMM,), tmp_path)
    assert 1.4 < after / before < 1.6


async def test_a_vault_changed_while_subscribing_is_quoted(tmp_path: Path) -> None:
    before, after = await quoted_after("accountSubscribe", "ray-sol-usdc", (AMM_V4, CPMM),
                                       tmp_path)
    assert 1.4 < after / before < 1.6


async def test_a_launch_swapped_on_while_its_vaults_are_subscribed_is_quoted(
        tmp_path: Path) -> None:
    # A launch is seen in a program notification; its vaults are only known once its pool is
    # read, and subscribed after: the first trades often come at that very moment (snipers).
    clock, world = still(tmp_path)
    node = MovesWhileSubscribing(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (AMM_V4, CPMM))
    async with running(venue.run()):
        await settled(clock)  # following the seeded pools
        launch: dict[str, Any] = {}
        node.arm("accountSubscribe", lambda: world.move_price(launch["pool"], 1.5))
        launch.update(world.launch(venue="raydium", mint=NEW_MINT))
        await settled(clock)
        quoted = await venue.quote(WSOL_MINT, NEW_MINT, 10**9)
    fresh = AccountVenue("fresh", (AMM_V4, CPMM), RpcClient(InProcess(world.rpc)), clock,
                         slot_seconds=0.4)
    await fresh.load()  # what the node holds now
    truth = await fresh.quote(WSOL_MINT, NEW_MINT, 10**9)
    assert quoted is not None and truth is not None
    assert node.changed and quoted.amount_out == truth.amount_out


class MovesWhileReading(MovesWhileSubscribing):
    """...and where the change is made, and told, while a read's answer is on its way (it
    travels apart from the notifications: a node's HTTP and its WebSocket)."""

    async def request(self, method: str, params: list[Any]) -> Any:
        answer = await self._inner.request(method, params)
        if method == self._method and self._change is not None:
            change, self._change = self._change, None
            change()
            self.changed = True
            for _ in range(5):
                await asyncio.sleep(0)  # the notification arrives before the answer
        return answer


async def test_a_change_told_while_a_read_is_answered_is_not_undone_by_the_read(
        tmp_path: Path) -> None:
    clock, world = still(tmp_path)
    node = MovesWhileReading(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (DLMM,))
    before = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
    # Its first round subscribes, then reads every pool: the read's answer is the older one.
    node.arm("getMultipleAccounts", lambda: world.move_price("met-sol-usdc", 1.5))
    async with running(venue.run()):
        await settled(clock)
        after = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
    assert before is not None and after is not None and node.changed
    assert 1.4 < after.amount_out / before.amount_out < 1.6


class Remote(MovesWhileSubscribing):
    """...counting the subscriptions asked at once, each answered a turn of the loop later (a
    round trip to a remote node)."""

    def __init__(self, inner: InProcess) -> None:
        super().__init__(inner)
        self.asking = self.most = 0
        self.vaults: list[str] = []

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        if method == "accountSubscribe" and params[0] != str(CLOCK_SYSVAR):
            self.vaults.append(params[0])
        self.asking += 1
        self.most = max(self.most, self.asking)
        await asyncio.sleep(0)
        self.asking -= 1
        return await self._inner.subscribe(method, params, notify)


async def test_the_vaults_are_subscribed_together_not_one_round_trip_each(
        tmp_path: Path) -> None:
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    node = Remote(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (AMM_V4, CPMM))
    await venue.subscribe()
    assert len(venue.pools) >= 3 and len(node.vaults) >= 2 * len(venue.pools)
    assert node.most == len(set(node.vaults)) == len(node.vaults)  # each once, all at once


class GoesDeaf(MovesWhileSubscribing):
    """...whose subscriptions made so far stop being told, with the connection still open (as
    a hosted node's PubSub may drop them without a word); those made after are told."""

    def __init__(self, inner: InProcess) -> None:
        super().__init__(inner)
        self._era = 0

    def deafen(self) -> None:
        self._era += 1

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        era = self._era

        def while_heard(message: dict[str, Any]) -> None:
            if era == self._era:
                notify(message)
        return await self._inner.subscribe(method, params, while_heard)


async def test_subscriptions_that_stop_delivering_are_noticed_and_made_again(
        logged: list[str], tmp_path: Path) -> None:
    clock, world = still(tmp_path)
    node = GoesDeaf(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (DLMM,))
    start = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
    async with running(venue.run()):
        await settled(clock)
        subscribed = world.rpc.subscriptions
        node.deafen()
        world.move_price("met-sol-usdc", 1.5)
        await settled(clock)
        unheard = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
        for _ in range(7):  # 11 s in all: past the venue's next look at every pool
            await settled(clock)
        read = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
        for _ in range(6):  # the next look: still no notification of that change
            await settled(clock)
        world.move_price("met-sol-usdc", 1.5)  # heard again: no need to wait for a look
        await settled(clock)
        heard = await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
        # The deaf ones were ended: made again beside them, every notification comes twice.
        assert world.rpc.subscriptions == subscribed
    assert start and unheard and read and heard
    assert unheard.amount_out == start.amount_out  # a notification lost costs a while...
    assert 1.4 < read.amount_out / start.amount_out < 1.6  # ...but not for ever
    assert 1.4 < heard.amount_out / read.amount_out < 1.6
    assert "v: pools changed and no notification came in 20 s; subscribing again" in logged


async def test_a_launch_whose_notification_was_lost_is_found_within_the_next_look(
        tmp_path: Path) -> None:
    clock, world = still(tmp_path)
    node = GoesDeaf(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (AMM_V4, CPMM))
    async with running(venue.run()):
        await settled(clock)
        node.deafen()  # the launch's notification is lost
        launch = world.launch(venue="raydium", mint=NEW_MINT)
        await settled(clock)
        unseen = await venue.quote(WSOL_MINT, NEW_MINT, 10**9)
        for _ in range(7):
            await settled(clock)
        found = await venue.quote(WSOL_MINT, NEW_MINT, 10**9)
        world.move_price(launch["pool"], 1.5)  # the token dearer: followed from then on
        await settled(clock)
        moved = await venue.quote(WSOL_MINT, NEW_MINT, 10**9)
    assert unseen is None and found is not None and moved is not None
    assert 0.6 < moved.amount_out / found.amount_out < 0.7  # a SOL buys two thirds as much


async def test_a_quiet_pool_is_quoted_at_the_clusters_time_of_each_slot(tmp_path: Path) -> None:
    # DLMM's fee depends on the time since the pool's last swap (its volatility filter and
    # decay): quoted at a clock read seconds ago, a pool that fell quiet is quoted at a fee
    # the program no longer charges. The Clock sysvar is followed, as a validator tells it.
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    node = InProcess(world.rpc)
    venue = await loaded(RpcClient(node), clock, (DLMM,))
    differences, pool = [], world.pool("met-sol-usdc")
    world.hold_prices()
    async with running(venue.run(), world.run(clock)):  # the market's slots, as the engine's
        await settled(clock)
        # A large swap across bins makes the pool volatile; then it falls quiet.
        world.traders.swap(pool, WSOL_MINT, 500 * 10**9, world.chain.now())
        world.notify({frozenset(pool.mints)})
        assert pool.volatility_accumulator > 0  # type: ignore[attr-defined]
        for _ in range(120):  # 48 s: past the 30 s filter, one slot at a time
            for _ in range(20):
                await asyncio.sleep(0)
            await clock.advance(0.4)
            quoted = await venue.quote(WSOL_MINT, USDC_MINT, 10**11)
            fresh = AccountVenue("fresh", (DLMM,), RpcClient(node), clock, slot_seconds=0.4)
            await fresh.load()  # the accounts, and the Clock, as they are now
            truth = await fresh.quote(WSOL_MINT, USDC_MINT, 10**11)
            assert quoted is not None and truth is not None
            if (quoted.amount_out, quoted.fee) != (truth.amount_out, truth.fee):
                differences.append((world.chain.block_height, quoted.fee, truth.fee))
    assert differences == []


class Late(MovesWhileSubscribing):
    """...whose notifications arrive a moment after a read made at the same time has answered
    (they travel apart, over the WebSocket); `arm`ed for a request, the change is made just
    before the node answers it."""

    async def request(self, method: str, params: list[Any]) -> Any:
        if method == self._method and self._change is not None:
            change, self._change = self._change, None
            change()
            self.changed = True
        return await self._inner.request(method, params)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        def later(message: dict[str, Any]) -> None:
            asyncio.get_running_loop().call_later(0.001, notify, message)
        return await self._inner.subscribe(method, params, later)


async def test_a_notification_on_its_way_at_a_look_is_no_reason_to_subscribe_again(
        logged: list[str], tmp_path: Path) -> None:
    clock, world = still(tmp_path)
    node = Late(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (DLMM,))
    async with running(venue.run()):
        await settled(clock)
        # The next read is the look at every pool: the change is made as it is answered.
        node.arm("getMultipleAccounts", lambda: world.move_price("met-sol-usdc", 1.5))
        for _ in range(20):  # 32 s: three looks
            await settled(clock)
            await asyncio.sleep(0.005)  # the late notifications come in
    assert node.changed and not [line for line in logged if "subscribing again" in line]


class RefusesOnce(MovesWhileSubscribing):
    """...refusing the next accountSubscribe once `arm`ed (its PubSub had a moment)."""

    def __init__(self, inner: InProcess) -> None:
        super().__init__(inner)
        self.refused: str | None = None
        self.made: list[str] = []  # accounts subscribed to since

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        if method == self._method and self._change is not None:
            self._change, self.refused = None, params[0]
            raise RpcError(codes.NODE_UNHEALTHY, f"{method}: not now")
        self.made.append(params[0])
        return await self._inner.subscribe(method, params, notify)


async def test_a_vault_whose_subscription_failed_is_subscribed_again(tmp_path: Path) -> None:
    clock, world = still(tmp_path)
    node = RefusesOnce(InProcess(world.rpc))
    venue = await loaded(RpcClient(node), clock, (AMM_V4, CPMM))
    async with running(venue.run()):
        await settled(clock)
        node.arm("accountSubscribe", lambda: None)  # a launch's vault: refused once
        node.made.clear()
        launch = world.launch(venue="raydium", mint=NEW_MINT)
        await settled(clock)
        world.move_price(launch["pool"], 1.5)  # told at once: no need to wait for a look
        await settled(clock)
        quoted = await venue.quote(WSOL_MINT, NEW_MINT, 10**9)
    fresh = AccountVenue("fresh", (AMM_V4, CPMM), RpcClient(InProcess(world.rpc)), clock,
                         slot_seconds=0.4)
    await fresh.load()
    truth = await fresh.quote(WSOL_MINT, NEW_MINT, 10**9)
    assert node.refused is not None and node.refused in node.made  # asked again
    assert quoted is not None and truth is not None and quoted.amount_out == truth.amount_out


async def test_a_pool_whose_math_failed_stays_left_out_through_the_looks_while_unchanged(
        logged: list[str], tmp_path: Path, monkeypatch: Any) -> None:
    """The look every 10 s reads every pool again; one whose accounts it finds as they were
    when its math failed is not tried (and logged) again until they change."""
    clock, world = still(tmp_path)
    venue = await loaded(RpcClient(InProcess(world.rpc)), clock, (DLMM,))
    real = account_venue.quote_pool
    failing = next(iter(venue.pools))

    def quote_pool(pool: Any, *args: Any, **kwargs: Any) -> Any:
        if pool.id == failing and pool == venue.pools[failing]:
            raise ArithmeticError("reserves went negative")
        return real(pool, *args, **kwargs)

    monkeypatch.setattr(account_venue, "quote_pool", quote_pool)
    said = f"v pool {failing} left out of quotes until its accounts change"
    async with running(venue.run()):
        await settled(clock)
        await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
        for _ in range(15):  # 24 s: two looks at every pool, which find it unchanged
            await settled(clock)
            await venue.quote(WSOL_MINT, USDC_MINT, 10**9)
        assert failing in venue.left_out
        assert sum(line.startswith(said) for line in logged) == 1
        world.move_price(failing, 1.01)  # its accounts change: tried again
        await settled(clock)
        assert failing not in venue.left_out
