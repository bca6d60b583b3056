"""The simulated cluster's transaction content: what `sign` encodes and `send` decodes once."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from engine.domain.transactions import Memo, SwapInstruction

BASE_FEE_LAMPORTS = 5_000  # per signature


@dataclass(frozen=True, slots=True)
class Message:
    """A transaction's content, decoded once from its wire payload when the cluster gets it."""

    recent_blockhash: str
    last_valid_height: int
    memo: Memo
    compute_unit_price: int
    compute_unit_limit: int
    instructions: tuple[SwapInstruction, ...]

    def payload(self) -> bytes:
        return orjson.dumps({
            "recentBlockhash": self.recent_blockhash,
            "lastValidBlockHeight": self.last_valid_height, "memo": self.memo.text,
            "computeUnitPrice": self.compute_unit_price,
            "computeUnitLimit": self.compute_unit_limit,
            "instructions": [{"venue": ix.venue, "pool": ix.pool, "mintIn": ix.mint_in,
                              "mintOut": ix.mint_out, "amountIn": ix.amount_in,
                              "minOut": ix.min_out, **({"hop": ix.hop} if ix.hop else {}),
                              **({"exactOut": True} if ix.exact_out else {})}
                             for ix in self.instructions]})

    @classmethod
    def decode(cls, payload: str) -> Message:
        data = orjson.loads(payload)
        memo = Memo.parse(data["memo"])
        if memo is None:
            raise ValueError(f"not an order's transaction: {data['memo']!r}")
        return cls(data["recentBlockhash"], int(data["lastValidBlockHeight"]), memo,
                   int(data["computeUnitPrice"]), int(data["computeUnitLimit"]),
                   tuple(SwapInstruction(ix["venue"], ix["pool"], ix["mintIn"], ix["mintOut"],
                                         int(ix["amountIn"]), int(ix["minOut"]),
                                         int(ix.get("hop", 0)), bool(ix.get("exactOut")))
                         for ix in data["instructions"]))

    @property
    def fee(self) -> int:
        priority = -(-self.compute_unit_price * self.compute_unit_limit // 10**6)
        return BASE_FEE_LAMPORTS + priority

    @property
    def hops(self) -> list[list[SwapInstruction]]:
        hops: list[list[SwapInstruction]] = []
        for ix in self.instructions:
            if len(hops) <= ix.hop:
                hops.append([])
            hops[ix.hop].append(ix)
        return hops

    @property
    def exact_out(self) -> bool:
        return any(ix.exact_out for ix in self.instructions)

    @property
    def amount_in(self) -> int:
        """What the wallet pays in at most: the first hop's input (an exact out's maximum)."""
        return sum(ix.amount_in for ix in self.hops[0])

    @property
    def mint_in(self) -> str:
        return self.instructions[0].mint_in

    @property
    def mint_out(self) -> str:
        return self.instructions[-1].mint_out
