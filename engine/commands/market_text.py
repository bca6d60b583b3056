"""`python -m engine quote` and `wallet`: what an order would get now, and what the wallet
holds, in each token's units, before a trader submits anything."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from engine.commands.orders_text import OK, REFUSED
from engine.domain.tokens import format_atoms


class NotUnderstood(Exception):
    """A token or an amount the command cannot turn into the API's atoms."""


def atoms(amount: str, token: dict[str, Any]) -> int:
    """A decimal amount in the token's units as atoms, exactly (no rounding)."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise NotUnderstood(f"{amount!r} is not a number") from None
    scaled = value.scaleb(int(token["decimals"]))
    if not value.is_finite() or value <= 0 or scaled != scaled.to_integral_value():
        raise NotUnderstood(f"{amount} is not a positive amount of {token['symbol']} "
                            f"(at most {token['decimals']} decimals)")
    return int(scaled)


def basis_points(slippage: str) -> int:
    """A slippage fraction ("0.01") in the basis points /api/quotes takes (100)."""
    try:
        value = Decimal(slippage).scaleb(4)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value <= 5_000 or value != value.to_integral_value():
        raise NotUnderstood(f"slippage {slippage!r} must be a fraction in (0, 0.5] with at "
                            "most 4 decimals (0.01 is 1 %)")
    return int(value)


def units(count: str | int, token: dict[str, Any]) -> str:
    """Atoms as a plain decimal string of the token's units."""
    return format_atoms(int(count), int(token["decimals"]))


async def known_tokens(session: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
    """The engine's tokens by symbol (upper case) and by mint."""
    async with session.get("/api/tokens") as resp:
        listed = (await resp.json())["tokens"]
    return {t["symbol"].upper(): t for t in listed} | {t["mint"]: t for t in listed}


async def one_token(session: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    """A token the list leaves out: a mint on the cluster (a launch), as the engine finds it."""
    async with session.get(f"/api/tokens/{name}") as resp:
        if resp.status != 200:
            raise NotUnderstood(f"unknown token {name!r}: neither a listed symbol nor a mint "
                                "on this cluster")
        token: dict[str, Any] = await resp.json()
    return token


async def cmd_quote(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    tokens = await known_tokens(session)
    try:
        named = [tokens.get(name.upper()) or tokens.get(name) or await one_token(session, name)
                 for name in (args.token_in, args.token_out)]
        tokens |= {token["mint"]: token for token in named}  # a launch's, for the legs
        token_in, token_out = named
        exact_out = args.exact_out
        amount = atoms(args.amount, token_out if exact_out else token_in)
        bps = basis_points(args.slippage)
    except NotUnderstood as error:
        print(f"refused: {error}", file=sys.stderr)
        return REFUSED
    async with session.get("/api/quotes", params={
            "inputMint": token_in["mint"], "outputMint": token_out["mint"], "amount": str(amount),
            "swapMode": "ExactOut" if exact_out else "ExactIn", "slippageBps": str(bps)}) as resp:
        quote = await resp.json()
    if resp.status != 200:
        refusal = quote["error"]
        print(f"refused ({resp.status}): {refusal['code']}: {refusal['message']}",
              file=sys.stderr)
        return REFUSED
    for line in quote_lines(quote, tokens, args.slippage):
        print(line)
    return OK


def readable(price: Decimal, decimals: int) -> str:
    """A price to the quote token's decimals, or to six significant digits where that says
    more; never in exponent notation (a BONK is 0.0000199184 USDC, not 0.000020 or 1.99e-05)."""
    return f"{price:.{max(decimals, 6 - price.adjusted() - 1)}f}"


def grouped(amount: str) -> str:
    """A decimal string with its whole part in groups of three: 10000000000 -> 10,000,000,000."""
    whole, dot, fraction = amount.partition(".")
    return f"{int(whole):,}{dot}{fraction}"


def quote_lines(quote: dict[str, Any], tokens: dict[str, dict[str, Any]],
                slippage: str) -> list[str]:
    """A quote as a trader reads it: the amounts, the route and its legs, the venues compared,
    and what the slippage allows. `tokens`: the engine's, by mint (and symbol)."""
    token_in, token_out = tokens[quote["inputMint"]], tokens[quote["outputMint"]]

    def amount(count: str, mint: str) -> str:
        token = tokens.get(mint)  # a two-hop route's middle token is a listed one too
        return f"{units(count, token)} {token['symbol']}" if token else f"{count} atoms of {mint}"

    sold, bought = amount(quote["inAmount"], token_in["mint"]), amount(quote["outAmount"],
                                                                        token_out["mint"])
    price = (Decimal(units(quote["outAmount"], token_out))
             / Decimal(units(quote["inAmount"], token_in)))
    limit = (f"at most {amount(quote['otherAmountThreshold'], token_in['mint'])} in"
             if quote["swapMode"] == "ExactOut"
             else f"at least {amount(quote['otherAmountThreshold'], token_out['mint'])}")
    lines = [f"{sold} -> {bought}: {readable(price, int(token_out['decimals']))} "
             f"{token_out['symbol']} "
             f"per {token_in['symbol']}, impact {quote['priceImpactPct']} % "
             f"(slot {quote['contextSlot']})",
             f"route: {quote['reason']}"]
    for step in quote["routePlan"]:
        leg = step["swapInfo"]
        lines.append(f"  {step['percent']:>3}% {leg['venue']:<8} {leg['ammKey'][:8]}…  "
                     f"{amount(leg['inAmount'], leg['inputMint'])} -> "
                     f"{amount(leg['outAmount'], leg['outputMint'])}, fee "
                     f"{amount(leg['feeAmount'], leg['feeMint'])}")
    lines.append("quotes compared:" if quote["alternatives"] else
                 "quotes compared: none (the one route there is)")
    for other in quote["alternatives"]:
        lines.append(f"       {other['venue']:<8} {other['pool'][:8]}…  "
                     f"{amount(other['inAmount'], other['inputMint'])} -> "
                     f"{amount(other['outAmount'], other['outputMint'])}")
    lines.append(f"with {slippage} slippage: {limit}")
    return lines


async def cmd_wallet(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    async with session.get("/api/wallet") as resp:
        wallet = await resp.json()
    print(f"wallet {wallet['address']}")
    rows = [(b["symbol"] or f"{b['mint'][:4]}…{b['mint'][-4:]}",
             grouped(b["amount"]) if b["amount"] is not None else f"{b['atoms']} atoms")
            for b in wallet["balances"]]
    width = max((len(amount) for _, amount in rows), default=0)
    for name, amount in rows:
        print(f"  {name:<10} {amount:>{width}}")
    return OK
