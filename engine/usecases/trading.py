"""The market as a trader asks about it: the trading state and its limits, quotes, the
wallet."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from loguru import logger

from engine.domain.access import LOCAL, Caller
from engine.domain.errors import StorageUnavailable
from engine.domain.request import SwapMode
from engine.domain.risk import TradingState
from engine.domain.routing import RoutePlan
from engine.domain.tokens import SOL_DECIMALS, WSOL_MINT, Token, format_atoms
from engine.domain.transactions import TokenBalance
from engine.orders.risk_controls import RiskControls
from engine.orders.router import Router
from engine.ports import Chain, StorageError
from engine.usecases.tokens import TokenDirectory


@dataclass(frozen=True, slots=True)
class Risk:
    state: TradingState
    max_order_usd: Decimal | None
    max_open_orders: int | None
    open_orders: int


class Trading:
    def __init__(self, risk: RiskControls, router: Router, chain: Chain,
                 tokens: TokenDirectory) -> None:
        self._risk, self._router, self._chain, self._tokens = risk, router, chain, tokens

    def risk(self) -> Risk:
        r = self._risk
        return Risk(r.state, r.max_order_usd, r.max_open_orders, r.open_orders)

    async def set_trading_state(self, state: TradingState, caller: Caller = LOCAL) -> Risk:
        """Halt or resume trading (admin); kept across restarts."""
        try:
            await self._risk.set_state(state)
        except StorageError as error:
            raise StorageUnavailable(f"the trading state could not be stored: {error}") from None
        logger.warning("trading set {} by {}", state.value, caller.name or "local")
        return self.risk()

    @property
    def venues(self) -> list[str]:
        """The venues quotes and orders are routed across, by name."""
        return self._router.venue_names

    async def quote(self, mint_in: str, mint_out: str, amount: int,
                    mode: SwapMode = SwapMode.EXACT_IN, *, venues: Collection[str] | None = None,
                    direct_only: bool = False) -> RoutePlan:
        """The best plan now for this amount (of the input, or of the output for ExactOut),
        on `venues` only if given, and without a route through SOL or USDC if `direct_only`;
        raises NoRoute."""
        return await self._router.within(venues, direct_only=direct_only).plan(
            mint_in, mint_out, amount, mode)

    async def token(self, name: str) -> Token | None:
        """The token a symbol or a mint address names: a listed one, or a mint on the cluster
        (with the decimals it declares); None if neither."""
        return await self._tokens.find(name)

    async def wallet(self) -> tuple[str, Sequence[TokenBalance]]:
        """The wallet's address (its public key) and its balances, from the cluster."""
        return self._chain.address, await self._chain.balances()

    async def announce_wallet(self) -> None:
        """Say at start which wallet trades and what SOL it holds: a wallet the cluster never
        funded (another cluster's, a new keypair) fails every order, so say that at once."""
        try:
            address, held = await self.wallet()
        except Exception as error:  # only an announcement: never a reason not to start
            logger.warning("the wallet's balance could not be read: {}", error)
            return
        lamports = next((b.atoms for b in held if b.mint == WSOL_MINT), 0)
        if lamports == 0:
            logger.warning("wallet {} holds no SOL on this cluster: every order will fail with "
                           "INSUFFICIENT_FUNDS until it is funded (a simulated cluster funds "
                           "the keypair given to its --fund-keypair)", address)
        else:
            logger.info("wallet {}: {} SOL", address, format_atoms(lamports, SOL_DECIMALS))
