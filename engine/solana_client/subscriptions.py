"""A venue's subscriptions on the node's PubSub: a programSubscribe for each of its programs
(their own accounts: pool states, configs, bin arrays), an accountSubscribe for each vault
(token accounts, which no program subscription sees) and one for the Clock sysvar (the
cluster's time, which a quote is reckoned at). They belong to the connection they were
made on: when it drops they are gone, and the next connection starts with none (a restarted
node knows nothing of the last one's)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from loguru import logger
from solders.pubkey import Pubkey

from engine.ports import SolanaRpc
from engine.solana.programs import CLOCK_SYSVAR
from engine.solana_client.account_cache import AccountCache


class Subscriptions:
    def __init__(self, name: str, rpc: SolanaRpc, programs: Sequence[Pubkey],
                 accounts: AccountCache) -> None:
        self._name, self._rpc, self._programs, self._accounts = name, rpc, programs, accounts
        self._made: list[tuple[str, int]] = []  # each made: its unsubscribe method, number
        self._made_on: int | None = None  # the connection they were made on
        self._complete = False  # every one made, and none taken as gone since
        self._watched: set[Pubkey] = set()  # vaults with an accountSubscribe on it

    @property
    def live(self) -> bool:
        """Whether they are delivering: all made, on the connection open now."""
        return self._complete and self._made_on is not None and (
            self._made_on == self._rpc.connection)

    def drop(self) -> None:
        """Taken as gone (they stopped delivering, or a read failed): made again next time."""
        self._complete = False

    async def make(self, vaults: Iterable[Pubkey]) -> None:
        """Every program's subscription, the Clock's and these vaults', unless they are
        live."""
        if self.live:
            return
        if self._complete:  # the cluster (or the network) dropped the connection
            logger.warning("{}: the cluster dropped our subscriptions; subscribing again",
                           self._name)
        self._complete = False
        await self._forget()
        for program in self._programs:
            number = await self._rpc.program_subscribe(str(program), self._accounts.on_program)
            self._made.append(("programUnsubscribe", number))
            self._made_on = self._rpc.connection  # the one that first call opened (or found)
        number = await self._rpc.account_subscribe(str(CLOCK_SYSVAR), self._accounts.on_clock)
        self._made.append(("accountUnsubscribe", number))
        await self.watch(vaults)
        self._complete = True

    async def _forget(self) -> None:
        """Those made before are gone with their connection; on the one still open (they
        stopped delivering, or not all could be made) they are ended first: made again beside
        them, every notification would come twice."""
        made, self._made = self._made, []
        self._watched.clear()
        if made and self._made_on is not None and self._made_on == self._rpc.connection:
            await asyncio.gather(*(self._rpc.unsubscribe(method, number)
                                   for method, number in made), return_exceptions=True)

    async def watch(self, vaults: Iterable[Pubkey]) -> None:
        """accountSubscribe for these vaults, those not watched yet, asked together: one
        round trip to a remote node, not one a vault, while launches wait to be adopted."""
        new = [a for a in dict.fromkeys(vaults) if a not in self._watched]
        self._watched.update(new)
        made = await asyncio.gather(*(self._rpc.account_subscribe(
            str(a), self._accounts.on_account(a)) for a in new), return_exceptions=True)
        self._made += [("accountUnsubscribe", m) for m in made if isinstance(m, int)]
        failed = next((m for m in made if isinstance(m, BaseException)), None)
        if failed is not None:  # all asked ended first: none is left running unseen; and
            self._complete = False  # all are made again (a vault must not stay unwatched)
            raise failed
