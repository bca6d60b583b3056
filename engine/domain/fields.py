"""The fields of each order type's request body, and which types take a given field."""

from __future__ import annotations

COMMON = {"orderType", "tokenIn", "tokenOut", "amount", "slippage", "priorityFee"}
WAITING = COMMON | {"expiresAt", "ttlSeconds"}
FIELDS = {  # each type's fields in the request body
    "market": COMMON | {"swapMode"},
    "limit": WAITING | {"limitPrice", "swapMode"},
    "sniper": WAITING | {"maxPrice"},
    "stop": WAITING | {"triggerPrice", "swapMode"},
    "trailing_stop": WAITING | {"trail"},
    "bracket": WAITING | {"takeProfitPrice", "stopPrice"},
    "twap": WAITING | {"slices", "intervalSeconds", "limitPrice"},
    "stop_limit": WAITING | {"triggerPrice", "limitPrice", "swapMode"},
}


def taken_by(field: str) -> str:
    """Which order types take a field, as a refusal of it says: " (limit and twap orders take
    it)", or "" for a field no type takes."""
    takers = [t for t in FIELDS if field in FIELDS[t]]
    others = [t for t in FIELDS if t not in takers]
    if not takers:
        return ""
    if len(others) < len(takers):
        return f" (every order type but {_listed(others)} takes it)"
    return f" ({_listed(takers)} orders take it)"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
