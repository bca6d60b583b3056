"""Pre-trade risk controls, checked before anything is stored: the trading state (active or
halted, kept across restarts), the most one order may be worth, the most orders open at once."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from loguru import logger

from engine.domain.request import OrderRequest
from engine.domain.risk import NotionalTooLarge, TooManyOpenOrders, TradingHalted, TradingState
from engine.domain.tokens import Token, lookup
from engine.orders.halt import TradingSwitch
from engine.orders.router import Router
from engine.orders.watcher import Watcher
from engine.ports import Clock, OrderStore

STABLES = ("USDC", "USDT")  # valued at one dollar
PRICE_LIFETIME = 0.4  # seconds (a slot): how long a marginal price serves notional checks
PIVOT = "SOL"  # a token with no USDC pool is valued through its SOL pool


def _token(symbol: str) -> Token:
    token = lookup(symbol)
    assert token is not None
    return token


class RiskControls:
    def __init__(self, store: OrderStore, router: Router, watcher: Watcher, clock: Clock,
                 trading: TradingSwitch, *, max_order_usd: float, max_open_orders: int,
                 open_orders: Callable[[], int]) -> None:
        """`trading` is the switch the watcher and the TWAP schedules read; `open_orders`
        counts the orders queued, executing and waiting."""
        self._store, self._router, self._watcher, self._clock = store, router, watcher, clock
        self._trading = trading
        self._prices: dict[tuple[str, str], tuple[float, Decimal | None]] = {}
        self.max_order_usd = Decimal(str(max_order_usd)) if max_order_usd else None
        self.max_open_orders = max_open_orders or None
        self._open_orders = open_orders
        self.state = TradingState.ACTIVE

    @property
    def open_orders(self) -> int:
        return self._open_orders()

    async def load(self) -> None:
        await self.set_state(await self._store.trading_state(), persist=False)

    async def set_state(self, state: TradingState, *, persist: bool = True) -> None:
        """Halting refuses new orders and holds every waiting trigger; activating lets the
        next price update fire them. Orders already executing finish either way."""
        if persist:
            await self._store.set_trading_state(state)
        changed, self.state = self.state is not state, state
        self._trading.halted = state is TradingState.HALTED
        if changed:
            logger.warning("trading {}", state.value)
        if state is TradingState.ACTIVE:
            self._watcher.pools_changed(None)  # look at every waiting order again

    async def check(self, request: OrderRequest) -> None:
        if self.state is TradingState.HALTED:
            raise TradingHalted("trading is halted: new orders are refused until it resumes")
        if self.max_open_orders is not None and self.open_orders >= self.max_open_orders:
            raise TooManyOpenOrders(f"{self.max_open_orders} orders are open (waiting or "
                                    "executing); wait for some to finish")
        if self.max_order_usd is not None:
            value = await self.usd_value(request.amount_token, request.amount)
            if value is None or value > self.max_order_usd:
                worth = "cannot be priced" if value is None else f"is worth ${value:,.2f}"
                raise NotionalTooLarge(f"this order {worth}; the limit is "
                                       f"${self.max_order_usd:,}", field="amount")

    async def usd_value(self, token: Token, atoms: int) -> Decimal | None:
        """What `atoms` of `token` are worth at the pools' marginal prices; None if no pool
        leads to USDC directly or through SOL."""
        if token.symbol in STABLES:
            return token.to_ui(atoms)
        usdc = _token("USDC")
        price = await self._price(token, usdc)
        if price is None and token.symbol != PIVOT:
            sol = _token(PIVOT)
            to_sol, sol_usd = await self._price(token, sol), await self._price(sol, usdc)
            price = to_sol * sol_usd if to_sol is not None and sol_usd is not None else None
        return None if price is None else token.to_ui(atoms) * price

    async def _price(self, base: Token, quote: Token) -> Decimal | None:
        """The marginal price of `base` in `quote` (a small amount, so no price impact), as
        seen within the last slot: a stream of orders in one pair asks the router once a
        slot, not once (or three times) an order."""
        now = self._clock.monotonic()
        seen = self._prices.get((base.mint, quote.mint))
        if seen is not None and now - seen[0] < PRICE_LIFETIME:
            return seen[1]
        price = await self._router.marginal_price(base, quote)
        self._prices[(base.mint, quote.mint)] = (now, price)
        return price
