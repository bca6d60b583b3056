"""Waiting orders (every type the price decides, see `OrderType.watch`): one watcher per pair,
woken by pool updates. Each pair's orders wait in a `Book`, sorted so that a price update only
looks at those it may fire. Nothing polls per order, and no worker is occupied. The watcher
knows no order type: each says where it waits, when it is met and how it moves.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Protocol

from loguru import logger

from engine.domain.errors import TransientError
from engine.domain.order import Order
from engine.domain.request import SwapMode
from engine.domain.routing import MAX_PRICE_IMPACT_PCT
from engine.logs import Repeats
from engine.orders.book import Book, Pair
from engine.orders.expiries import Expiries
from engine.orders.halt import TradingSwitch
from engine.orders.router import MARGINAL_ATOMS, Router
from engine.ports import Clock, StorageError

UPDATE_SECONDS = 5.0  # at most one price update per waiting order per this, and only on change
TRAIL_STEP = Decimal("0.001")  # a trailing stop's mark is persisted (an event) when it rises 0.1 %
LOOK_AGAIN_SECONDS = 1.0  # after a look that could ask no venue for a price


class WaitingOrders(Protocol):
    """The steps of a waiting order the watcher takes (the order service's)."""

    async def update_waiting(self, order: Order, price: Decimal) -> Order: ...

    async def move(self, order: Order, mark: Decimal) -> Order: ...

    async def expire(self, order_id: str, reason: str) -> None: ...


class Watcher:
    def __init__(self, router: Router, clock: Clock, orders: WaitingOrders,
                 fire: Callable[[Order], None], watched: Callable[[], Iterable[str]],
                 keep_marks: Callable[[list[tuple[str, Decimal]]], Awaitable[None]],
                 trading: TradingSwitch) -> None:
        """`fire` queues an order whose price is met; `watched` names the orders someone
        streams (only they get price updates); `keep_marks` stores trailing marks in bulk;
        while `trading` is halted, triggers are checked but nothing fires."""
        self._router, self._clock, self._steps = router, clock, orders
        self._fire, self._watched, self._keep_marks = fire, watched, keep_marks
        self._trading = trading
        self._books: dict[Pair, Book] = {}
        self._orders: dict[str, Order] = {}
        self._owners: Counter[str | None] = Counter()  # waiting orders per owner, for the caps
        self._updated: dict[str, tuple[float, Decimal]] = {}
        self._expiries = Expiries(clock, self._orders.get, orders.expire, self.disarm)
        # Trailing marks the store refused, in a row (they stay in memory, kept at a later rise).
        self._marks_failing = Repeats("trailing marks not kept, for now")

    @property
    def waiting(self) -> int:
        return len(self._orders)

    def waiting_of(self, owner: str) -> int:
        return self._owners[owner]

    def arm(self, order: Order) -> None:
        r = order.request
        pair = (r.token_in.mint, r.token_out.mint)
        book = self._books.get(pair)
        if book is None:
            book = self._books[pair] = Book(r.token_in, r.token_out)
            book.task = asyncio.create_task(self._watch(pair, book), name=f"watch-{pair}")
        self.disarm(order.id)
        self._orders[order.id] = order
        if not r.exact_out:  # an exact out's input is not known before it is quoted
            book.smallest = min(book.smallest, r.amount)
        self._owners[order.owner] += 1
        book.place(order)
        self._expiries.add(order)
        book.wake.set()  # look once at once: the price may already be there

    def disarm(self, order_id: str) -> Order | None:
        order = self._orders.pop(order_id, None)
        if order is not None:
            self._owners[order.owner] -= 1
            if not self._owners[order.owner]:
                del self._owners[order.owner]
            r = order.request
            book = self._books[(r.token_in.mint, r.token_out.mint)]
            book.unplace(order)
            self._updated.pop(order_id, None)
        return order

    def pools_changed(self, pairs: set[frozenset[str]] | None = None) -> None:
        """Pool state moved (a swap, a launch, a new slot): wake the watchers of the pairs
        whose routes may use those pools (a route through SOL moves with the SOL pools too)."""
        mints = None if pairs is None else frozenset().union(*pairs)
        for pair, book in self._books.items():
            if book.waiting and (mints is None or pair[0] in mints or pair[1] in mints):
                book.wake.set()

    async def stop(self) -> None:
        tasks = [b.task for b in self._books.values() if b.task] + (
            [self._expiries.task] if self._expiries.task else [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, pair: Pair, book: Book) -> None:
        while True:
            await book.wake.wait()
            book.wake.clear()
            if book.waiting:
                book.unpriced = False
                try:
                    await self._check(book)
                except Exception:
                    logger.exception("price check for {} failed", pair)
                if book.unpriced:  # the pools may not move again to wake it: look again
                    await self._clock.sleep(LOOK_AGAIN_SECONDS)
                    book.wake.set()

    async def _check(self, book: Book) -> None:
        # The marginal price for a small amount bounds every order's own price from above, so
        # one quote finds the candidates; each is then checked at its own amount.
        amount = max(1, min(10 ** book.token_in.decimals // 1000, book.smallest))
        price = await self._price(book, amount)
        if book.smallest > amount and (price is None or _atoms_out(book, price, amount)
                                       < MARGINAL_ATOMS):
            # Too small to measure: nothing out (a dear output, or two hops that round it
            # away), or so few atoms that their rounding hides the price (a token worth a
            # millionth of its output): quoted again at the smallest waiting order's amount,
            # where there is one (an exact out has no input amount before its quote).
            finer = await self._price(book, book.smallest)
            if finer is not None:
                price, amount = finer, book.smallest
        if price is None:
            return  # no pool yet (a sniper's token), or not enough liquidity
        # A quote rounds its output down, so the price it stands for may be short of the true
        # one by an atom's worth: orders waiting for a rise are looked for up to that atom
        # above it. A stop sells at or below its price: the marginal price at or below it
        # certainly triggers it; a large order's own price may be lower still (by at most the
        # routable price impact), so stops that close are checked at their own amount.
        high = price * (1 + Decimal(1) / max(_atoms_out(book, price, amount), 1))
        low = price * (1 - MAX_PRICE_IMPACT_PCT / 100)
        ready = [] if self._trading.halted else book.reached(high, low)
        verified = await asyncio.gather(*(self._met(book, oid) for oid in ready))
        fired = [oid for oid, met in zip(ready, verified, strict=True) if met]
        fired += await self._follow_marks(book, price)
        for order_id in fired:
            order = self.disarm(order_id)
            if order is not None:
                self._fire(order)
        await self._send_updates(book, price)

    async def _follow_marks(self, book: Book, price: Decimal) -> list[str]:
        """Raise trailing stops' marks to the marginal net price; those `trail` below their
        mark are ready. A mark that rose 0.1 % or more since it was kept is kept again."""
        low = book.lowest_mark
        if not book.trailing or (low is not None and book.highest_trigger < price <= low):
            return []  # the usual case: one comparison, however many trailing stops wait
        ready: list[str] = []
        marks: list[Decimal] = []
        triggers: list[Decimal] = []
        rises: list[tuple[str, Decimal]] = []
        for order_id, mark in list(book.trailing.items()):
            order = self._orders.get(order_id)
            if order is None:
                continue
            kind = order.request.order_type
            moved = kind.moved(price, mark)
            if moved is not None:
                book.trailing[order_id] = mark = moved
            kept = book.kept.get(order_id)
            if mark is not None and (kept is None or mark >= kept * (1 + TRAIL_STEP)):
                book.kept[order_id] = mark
                rises.append((order_id, mark))
            trigger = kind.watch(mark).falls_to
            if not self._trading.halted and kind.met(price, mark):
                ready.append(order_id)
            elif mark is not None and trigger is not None:
                marks.append(mark)
                triggers.append(trigger)
        book.lowest_mark = min(marks, default=None)
        book.highest_trigger = max(triggers, default=Decimal(0))
        if rises:
            await self._keep(rises)
        return [order_id for order_id in ready if await self._fires_from_its_mark(book, order_id)]

    async def _fires_from_its_mark(self, book: Book, order_id: str) -> bool:
        """A trailing stop about to fire keeps the mark it fires from first (an event), so
        that the worker checking it again judges it by the same mark."""
        order, mark = self._orders.get(order_id), book.trailing.get(order_id)
        if order is None or mark is None or order.mark == mark:
            return order is not None
        try:
            self._orders[order_id] = await self._steps.move(order, mark)
        except Exception:  # cancelled or fired meanwhile: the next check sees it
            return False
        return True

    async def _keep(self, rises: list[tuple[str, Decimal]]) -> None:
        """Keep risen marks in one write (they survive a restart); the orders someone follows
        also get an event saying where their trigger moved."""
        try:
            await self._keep_marks(rises)
        except StorageError as error:  # the marks stay in memory, kept at the next rise
            self._marks_failing.failed(error)
        except Exception:  # not the store's: a bug, said in full
            logger.exception("trailing marks not kept")
        else:
            self._marks_failing.ended()
        watched = set(self._watched())
        for order_id, mark in rises:
            order = self._orders.get(order_id)
            if order is None or order_id not in watched:
                continue
            try:
                self._orders[order_id] = await self._steps.move(order, mark)
            except Exception:  # cancelled or fired meanwhile: the next check sees it
                continue

    async def _met(self, book: Book, order_id: str) -> bool:
        """The order's own amount moves the price too: check it before firing. A price that
        moves the order's mark (a stop-limit's trigger) is kept first, and the order waits
        where its type says it now waits."""
        order = self._orders.get(order_id)
        if order is None:
            return False
        r = order.request
        price = await self._price(book, r.amount, r.swap_mode)
        if price is None:
            return False
        mark = r.order_type.moved(price, order.mark)
        if mark is not None:
            try:
                moved = await self._steps.move(order, mark)
            except Exception:  # cancelled or fired meanwhile: the next check sees it
                return False
            if self._orders.get(order_id) is not order:
                return False
            book.unplace(order)
            self._orders[order_id] = order = moved
            book.place(order)
        return r.order_type.met(price, order.mark)

    async def _price(self, book: Book, amount: int,
                     mode: SwapMode = SwapMode.EXACT_IN) -> Decimal | None:
        """None without a route, or while no venue can be asked (the book then looks again
        shortly: nothing is known of the price, not that it is unmet)."""
        try:
            return await self._router.price(book.token_in, book.token_out, amount, mode)
        except TransientError:
            book.unpriced = True
            return None

    async def _send_updates(self, book: Book, price: Decimal) -> None:
        """Price updates go only to orders someone is watching: far fewer than those waiting."""
        now = self._clock.monotonic()
        for order_id in list(self._watched()):
            order = self._orders.get(order_id)
            if order is None or order.request.token_in != book.token_in or (
                    order.request.token_out != book.token_out):
                continue
            last = self._updated.get(order_id)
            if last and (now - last[0] < UPDATE_SECONDS or last[1] == price):
                continue
            try:
                updated = await self._steps.update_waiting(order, price)
            except Exception:  # cancelled or fired meanwhile: the next check sees it
                continue
            if updated is not None and order_id in self._orders:
                self._orders[order_id] = updated
                self._updated[order_id] = (now, price)


def _atoms_out(book: Book, price: Decimal, amount: int) -> int:
    """The atoms of the book's output that `price` stands for, for `amount` of its input."""
    return book.token_out.to_atoms(book.token_in.to_ui(amount) * price)
