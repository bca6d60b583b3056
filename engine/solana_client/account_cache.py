"""The accounts a venue reads its pools from, as it last read them or was told them: a read
asks the node for many at once (getMultipleAccounts, with the Clock sysvar for the cluster's
time); a notification replaces one. A read's answer travels apart from the notifications, so
an account told while its read was under way keeps what it was told: the answer may be the
older, and the notifications of one connection come in order, so the last one told is never
behind for long."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from solders.pubkey import Pubkey

from engine.ports import SolanaRpc
from engine.solana.accounts import CLOCK
from engine.solana.programs import CLOCK_SYSVAR
from engine.solana_client.cluster_time import ClusterTime

BATCH = 100  # getMultipleAccounts takes at most 100 keys


class AccountCache:
    def __init__(self, rpc: SolanaRpc, time: ClusterTime) -> None:
        self._rpc, self._time = rpc, time
        self.data: dict[Pubkey, bytes] = {}
        self._told = 0  # notifications so far; and the count when each account was last told
        self._told_at: dict[Pubkey, int] = {}

    def tell(self, address: Pubkey, account: dict[str, Any], slot: int) -> None:
        """A notification: the account as it is at `slot`."""
        self.data[address] = data_of(account)
        self._told += 1
        self._told_at[address] = self._told
        self._time.saw(slot)

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
