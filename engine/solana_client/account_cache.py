"""The accounts a venue reads its pools from, as it last read them or was told them: a read
asks the node for many at once (getMultipleAccounts, with the Clock sysvar for the cluster's
time); a notification replaces one, and says which pool it moved (or that it is a new pool's).
A read's answer travels apart from the notifications, so an account told while its read was
under way keeps what it was told: the answer may be the older, and the notifications of one
connection come in order, so the last one told is never behind for long."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from solders.pubkey import Pubkey

from engine.ports import SolanaRpc
from engine.solana.accounts import CLOCK
from engine.solana.programs import CLOCK_SYSVAR
from engine.solana_client.cluster_time import ClusterTime

BATCH = 100  # getMultipleAccounts takes at most 100 keys


class AccountCache:
    def __init__(self, rpc: SolanaRpc, time: ClusterTime,
                 pool_sizes: Mapping[Pubkey, int]) -> None:
        """`pool_sizes`: the size of a pool's own account, by the program that owns it (an
        account of that owner and size, told and not known, is a new pool's)."""
        self._rpc, self._time, self._pool_sizes = rpc, time, pool_sizes
        self.data: dict[Pubkey, bytes] = {}
        self.pool_of: dict[Pubkey, str] = {}  # any account a pool is read from -> the pool
        self.dirty: set[str] = set()  # pools whose accounts a notification changed
        self.new: set[Pubkey] = set()  # pool accounts first seen in a notification
        self.wake = asyncio.Event()  # set by a notification that moved a pool, or made one
        self._told = 0  # notifications so far; and the count when each account was last told
        self._told_at: dict[Pubkey, int] = {}

    @property
    def told(self) -> int:
        """How many notifications have been told so far."""
        return self._told

    def on_account(self, address: Pubkey) -> Callable[[dict[str, Any]], None]:
        """What an accountSubscribe on `address` is told through."""
        return lambda params: self._tell(address, params["result"])

    def on_clock(self, params: dict[str, Any]) -> None:
        """What an accountSubscribe on the Clock sysvar is told through: the cluster's unix
        time at each slot, which DLMM's fees and Raydium's opening times are reckoned by (it
        is not counted as a notification of a pool's)."""
        result = params["result"]
        clock = CLOCK.decode(data_of(result["value"]))
        self._time.ticked(int(result["context"]["slot"]), clock["unix_timestamp"])

    def on_program(self, params: dict[str, Any]) -> None:
        """What a programSubscribe is told through."""
        value = params["result"]["value"]
        self._tell(Pubkey.from_string(value["pubkey"]),
                   {"context": params["result"]["context"], "value": value["account"]})

    def _tell(self, address: Pubkey, result: dict[str, Any]) -> None:
        """A notification: the account as it is at its slot."""
        account = result["value"]
        self.data[address] = data_of(account)
        self._told += 1
        self._told_at[address] = self._told
        self._time.saw(int(result["context"]["slot"]))
        pool = self.pool_of.get(address)
        if pool is not None:
            self.dirty.add(pool)
        elif any(len(self.data[address]) == size and str(owner) == account["owner"]
                 for owner, size in self._pool_sizes.items()):
            self.new.add(address)  # a pool's own account we have not seen: a new pool
        else:
            return
        self.wake.set()

    def take_dirty(self) -> list[str]:
        """The pools notifications changed since the last call."""
        dirty, self.dirty = sorted(self.dirty), set()
        return dirty

    def take_new(self) -> set[Pubkey]:
        """The new pools' accounts notifications told since the last call."""
        new, self.new = self.new, set()
        return new

    async def read(self, addresses: Sequence[Pubkey]) -> int:
        """Read these accounts (those that exist) from the node; the slot it answered at."""
        slot = self._time.slot
        wanted = [CLOCK_SYSVAR, *addresses]
        told = self._told
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start:start + BATCH]
            answer = await self._rpc.get_multiple_accounts([str(a) for a in chunk])
            slot = int(answer["context"]["slot"])
            for address, account in zip(chunk, answer["value"], strict=True):
                if account is not None and self._told_at.get(address, 0) <= told:
                    self.data[address] = data_of(account)
        clock = self.data.get(CLOCK_SYSVAR)
        self._time.read(slot, CLOCK.decode(clock)["unix_timestamp"] if clock else None)
        return slot


def data_of(account: dict[str, Any]) -> bytes:
    """An account's data, from its JSON (base64, as the venue asks for it)."""
    return base64.b64decode(account["data"][0])
