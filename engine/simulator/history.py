"""What the cluster has landed: each landing and getTransaction's details of it. In memory while
its blockhash could still be sent (a rebroadcast must be found), and, when the cluster keeps a
durable record, read from the record beyond that."""

from __future__ import annotations

from typing import Any

from engine.domain.transactions import Landed, Memo
from engine.simulator.ledger import ChainRecord
from engine.simulator.message import Message

Details = tuple[str, dict[str, Any]]  # the transaction (base64) and its meta


class History:
    def __init__(self, record: ChainRecord | None) -> None:
        self._record = record
        # signature -> what happened, in landing order. With a durable record, only landings
        # whose blockhash could still be valid stay in memory; older ones are read from disk.
        self.ledger: dict[str, Landed] = {}
        self.details: dict[str, Details] = {}
        self._named: dict[str, list[tuple[str, int]]] = {}  # address -> landings, no record

    def load(self, since_slot: int) -> None:
        """The landings since `since_slot` from the record (at a restart)."""
        if self._record is not None:
            recent = self._record.landed(since_slot=since_slot)
            self.ledger = {landed.signature: landed for landed in recent}

    def add(self, message: Message, landed: Landed, meta: dict[str, Any]) -> None:
        self.ledger[message.signature] = landed
        self.details[message.signature] = (message.payload, meta)
        if self._record is None:  # else the record keeps who each transaction named
            for key in message.account_keys:
                self._named.setdefault(str(key), []).append((message.signature, landed.slot))

    def landing(self, signature: str) -> tuple[int, Any] | None:
        """(slot, `err` as a node reports it) of a landing still in memory."""
        landed = self.ledger.get(signature)
        if landed is None:
            return None
        details = self.details.get(signature)
        return landed.slot, (details[1].get("err") if details else None)

    def __contains__(self, signature: str) -> bool:
        """Whether it landed with a blockhash still in memory's horizon."""
        return signature in self.ledger

    async def status(self, signature: str) -> Landed | None:
        if self._record is None:
            return self.ledger.get(signature)
        # What the cluster tells us must survive a crash of ours, or we could act on a landing
        # that the restarted cluster never saw.
        await self._record.durable()
        return self.ledger.get(signature) or self._record.lookup(signature)

    def found(self, signature: str) -> Details | None:
        """getTransaction's details of a landing this history holds (memory, then record)."""
        return self.details.get(signature) or (
            self._record.details(signature) if self._record is not None else None)

    async def settled(self) -> None:
        """Until what has landed is readable from the record (when there is one)."""
        if self._record is not None:
            await self._record.durable()

    def forget_expired(self, height: int, validity: int) -> None:
        """Drop from memory the landings whose blockhash has expired by `height`: they can
        never be sent again (an expired blockhash is refused), and the record keeps them."""
        if self._record is None:
            return
        horizon = height - validity - 1
        while self.ledger:
            oldest = next(iter(self.ledger.values()))
            if oldest.slot >= horizon:
                return
            del self.ledger[oldest.signature]
            self.details.pop(oldest.signature, None)

    def landed_for(self, order_id: str) -> list[Landed]:
        """Every transaction the chain executed for an order, found by its memo."""
        prefix = f"{Memo.PREFIX}{order_id}:"
        if self._record is not None:
            return self._record.landed_for(prefix)
        return [landed for landed in self.ledger.values() if landed.memo.startswith(prefix)]

    def in_slots(self, first: int, last: int) -> list[tuple[Landed, str, dict[str, Any]]]:
        """The transactions that landed in these slots (getBlock), in landing order."""
        if self._record is not None:
            return self._record.in_slots(first, last)
        return [(landed, *self.details[landed.signature]) for landed in self.ledger.values()
                if first <= landed.slot <= last and landed.signature in self.details]

    def naming(self, address: str, limit: int) -> list[tuple[str, int]]:
        """(signature, slot) of the newest landed transactions that named `address`."""
        if self._record is not None:
            return self._record.naming(address, limit)
        return list(reversed(self._named.get(address, [])))[:limit]
