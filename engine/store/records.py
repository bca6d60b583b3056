"""The store's own records of what an order learned (route, transaction, fill, error, TWAP
progress): exact values (atoms, lamports, decimals as text) in the store's shapes, versioned,
and independent of the API, which renders orders as it likes.

Version 2 is written by this module. Rows written before it (no "v") hold the API's shapes
of the time: they are read here, and only here, so that renaming an API field never needs a
data migration.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.domain.events import Failure, Fill
from engine.domain.routing import Quote, RoutePlan
from engine.domain.schedule import Progress
from engine.domain.tokens import Token
from engine.domain.transactions import SignedTransaction

Record = dict[str, Any]
VERSION = 2


def iso(at: datetime) -> str:
    """Times as the store keeps them: ISO-8601 UTC with milliseconds and a Z (they sort)."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- route -----------------------------------------------------------------------------------
def _quote(q: Quote) -> list[Any]:
    return [q.venue, q.pool, q.mint_in, q.mint_out, q.amount_in, q.amount_out, q.fee,
            str(q.price_impact), q.label, q.slot, q.opened_slot]


def _quote_of(v: list[Any]) -> Quote:
    return Quote(v[0], v[1], v[2], v[3], int(v[4]), int(v[5]), int(v[6]), Decimal(v[7]), v[8],
                 int(v[9]), v[10])


def plan_record(plan: RoutePlan) -> Record:
    return {"v": VERSION, "legs": [_quote(q) for q in plan.legs],
            "quotes": [_quote(q) for q in plan.quotes], "reason": plan.reason,
            "exactOut": plan.exact_out}


def plan_of(d: Record, mint_in: str, mint_out: str) -> RoutePlan:
    if d.get("v") != VERSION:
        return _legacy_plan(d, mint_in, mint_out)
    return RoutePlan(tuple(map(_quote_of, d["legs"])), tuple(map(_quote_of, d["quotes"])),
                     d["reason"], bool(d["exactOut"]))


def _legacy_plan(d: Record, mint_in: str, mint_out: str) -> RoutePlan:
    """A route stored in the API's shape; one stored before routes had hops names no mints."""
    def quote(q: Record) -> Quote:
        return Quote(q["venue"], q["pool"], q.get("inputMint", mint_in),
                     q.get("outputMint", mint_out), int(q["inAmount"]), int(q["outAmount"]),
                     int(q["feeAmount"]), Decimal(q["priceImpactPct"]), q.get("label", ""),
                     int(q.get("slot", 0)), q.get("poolOpenedSlot"))

    return RoutePlan(tuple(map(quote, d["legs"])), tuple(map(quote, d["quotes"])), d["reason"],
                     d.get("swapMode") == "ExactOut")


# -- transaction, error, progress (their shapes have not changed) ----------------------------
def tx_record(tx: SignedTransaction) -> Record:
    return {"signature": tx.signature, "lastValidBlockHeight": tx.last_valid_height,
            "payload": tx.payload}


def tx_of(d: Record) -> SignedTransaction:
    return SignedTransaction(d["signature"], int(d["lastValidBlockHeight"]), d["payload"])


def failure_record(failure: Failure) -> Record:
    return {"code": failure.code, "message": failure.message}


def failure_of(d: Record) -> Failure:
    return Failure(d["code"], d["message"])


def progress_record(p: Progress) -> Record:
    return {"next": p.next_slice, "carried": p.carried, "in": p.filled_in, "out": p.filled_out,
            "open": p.open, "openAmount": p.open_amount, "children": list(p.children)}


def progress_of(d: Record) -> Progress:
    return Progress(int(d["next"]), int(d["carried"]), int(d["in"]), int(d["out"]), d["open"],
                    int(d["openAmount"]), tuple(d["children"]))


# -- fill ------------------------------------------------------------------------------------
def fill_record(fill: Fill) -> Record:
    return {"v": VERSION, "signature": fill.signature, "slot": fill.slot, "venue": fill.venue,
            "in": fill.amount_in, "out": fill.amount_out, "fee": fill.fee_lamports,
            "rent": fill.rent_lamports, "commitment": fill.commitment,
            "poolOpenedSlot": fill.pool_opened_slot}


def fill_of(d: Record, token_in: Token, token_out: Token) -> Fill:
    if d.get("v") != VERSION:  # the API's shape: amounts in UI units, as decimal text
        return Fill(d["txHash"], int(d["slot"]), d["venue"],
                    token_in.to_atoms(Decimal(d["amountIn"])),
                    token_out.to_atoms(Decimal(d["amountOut"])), int(d["networkFeeLamports"]),
                    int(d.get("ataRentLamports", 0)), d["commitment"], d.get("poolOpenedSlot"))
    return Fill(d["signature"], int(d["slot"]), d["venue"], int(d["in"]), int(d["out"]),
                int(d["fee"]), int(d["rent"]), d["commitment"], d["poolOpenedSlot"])
