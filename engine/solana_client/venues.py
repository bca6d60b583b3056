"""The account venues together: which pool an id or address is across them (what the chain
adapter builds transactions from), and the task that keeps all of them fresh."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from solders.pubkey import Pubkey

from engine.solana.programs import PoolInfo
from engine.solana_client.account_venue import AccountVenue


class AccountDirectory:
    """Which pool an id or address is, across the account venues (for the chain adapter)."""

    def __init__(self, venues: Sequence[AccountVenue]) -> None:
        self._venues = venues

    def pool_info(self, pool_id: str) -> PoolInfo:
        for venue in self._venues:
            if pool_id in venue.pools:
                return venue.pool_info(pool_id)
        raise KeyError(pool_id)

    def pool_at(self, address: Pubkey) -> PoolInfo | None:
        return next((found for v in self._venues if (found := v.pool_at(address))), None)


async def keep_fresh(venues: Sequence[AccountVenue]) -> None:
    """Follow every venue's accounts (until cancelled, at the engine's stop)."""
    await asyncio.gather(*(venue.run() for venue in venues))
