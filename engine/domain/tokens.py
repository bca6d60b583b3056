"""A small registry of real Solana SPL tokens, and conversion between UI units and atoms."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WSOL_MINT = "So11111111111111111111111111111111111111112"
SOL_DECIMALS = 9  # a lamport is 10⁻⁹ SOL
ATA_RENT_LAMPORTS = 2_039_280  # 165-byte token account, rent-exempt minimum


@dataclass(frozen=True, slots=True)
class Token:
    symbol: str
    mint: str
    decimals: int

    @property
    def is_native_sol(self) -> bool:
        return self.mint == WSOL_MINT

    def to_atoms(self, amount: Decimal) -> int:
        """Exact conversion; the caller has checked the precision."""
        return int(amount.scaleb(self.decimals))

    def to_ui(self, atoms: int) -> Decimal:
        return Decimal(atoms).scaleb(-self.decimals)

    def format(self, atoms: int) -> str:
        """UI amount as a plain decimal string, without exponent or trailing zeros."""
        return format_atoms(atoms, self.decimals)


def format_atoms(atoms: int, decimals: int) -> str:
    """`atoms` of a mint with `decimals` as a plain decimal string (no exponent, no trailing
    zeros): 1500000 atoms of 6 decimals are "1.5"."""
    text = f"{Decimal(atoms).scaleb(-decimals):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# Mints and decimals from ../shared/market (classic SPL Token program).
TOKENS: tuple[Token, ...] = (
    Token("SOL", WSOL_MINT, SOL_DECIMALS),
    Token("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6),
    Token("USDT", "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", 6),
    Token("BONK", "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", 5),
    Token("JUP", "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN", 6),
    Token("WIF", "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm", 6),
    Token("RAY", "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R", 6),
)

_BY_KEY: dict[str, Token] = {t.symbol: t for t in TOKENS} | {t.mint: t for t in TOKENS}
_BY_KEY["WSOL"] = TOKENS[0]


LAUNCH_DECIMALS = 6  # new tokens (as on pump.fun) have 6 decimals


def net_price(token_in: Token, token_out: Token, amount_in: int, amount_out: int) -> Decimal:
    """tokenOut per tokenIn, in UI units, for what a swap took and gave: the one price every
    trigger, limit and fill compares."""
    return token_out.to_ui(amount_out) / token_in.to_ui(amount_in)


def unlisted(mint: str, decimals: int = LAUNCH_DECIMALS) -> Token:
    """A token we know only by its mint, such as one a sniper waits for."""
    return Token(f"{mint[:4]}…{mint[-4:]}", mint, decimals)


def lookup(symbol_or_mint: str) -> Token | None:
    """Find a token by symbol (case-insensitive, in ASCII only: "ſol" is not SOL) or by exact
    mint address."""
    if not symbol_or_mint.isascii():
        return None
    return _BY_KEY.get(symbol_or_mint) or _BY_KEY.get(symbol_or_mint.upper())
