"""The trader's simulated wallet: native SOL in lamports, SPL tokens in atoms, token accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.domain.tokens import ATA_RENT_LAMPORTS, WSOL_MINT, lookup

GENEROUS = {"SOL": 10_000, "USDC": 1_000_000, "USDT": 1_000_000, "BONK": 10_000_000_000,
            "JUP": 1_000_000, "WIF": 100_000, "RAY": 100_000}


@dataclass
class Wallet:
    balances: dict[str, int] = field(default_factory=dict)  # mint -> atoms (WSOL_MINT: lamports)
    accounts: set[str] = field(default_factory=set)  # mints with an associated token account

    @classmethod
    def generous(cls) -> Wallet:
        wallet = cls()
        for symbol, amount in GENEROUS.items():
            token = lookup(symbol)
            assert token is not None
            wallet.balances[token.mint] = token.to_atoms(Decimal(amount))
            if token.mint != WSOL_MINT:
                wallet.accounts.add(token.mint)
        return wallet

    def shortfall(self, mint_in: str, amount_in: int, mint_out: str, fee: int) -> str | None:
        """Why this swap cannot be paid for, or None. wSOL rent is refunded in the same tx."""
        lamports_needed = fee + self.rent_for(mint_out) + ATA_RENT_LAMPORTS * (
            WSOL_MINT in (mint_in, mint_out))
        if mint_in == WSOL_MINT:
            lamports_needed += amount_in
        elif self.balances.get(mint_in, 0) < amount_in:
            return f"token balance {self.balances.get(mint_in, 0)} < {amount_in} of {mint_in}"
        if self.balances.get(WSOL_MINT, 0) < lamports_needed:
            return f"{self.balances.get(WSOL_MINT, 0)} lamports < {lamports_needed} needed"
        return None

    def rent_for(self, mint_out: str) -> int:
        """Rent for opening the output token account, if this wallet has none yet."""
        return 0 if mint_out == WSOL_MINT or mint_out in self.accounts else ATA_RENT_LAMPORTS

    def settle(self, mint_in: str, amount_in: int, mint_out: str, amount_out: int, fee: int) -> int:
        """Apply a landed swap; returns the rent paid for new token accounts."""
        rent = self.rent_for(mint_out)
        if mint_out != WSOL_MINT:
            self.accounts.add(mint_out)
        self.balances[WSOL_MINT] = self.balances.get(WSOL_MINT, 0) - fee - rent
        self.balances[mint_in] = self.balances.get(mint_in, 0) - amount_in
        self.balances[mint_out] = self.balances.get(mint_out, 0) + amount_out
        return rent

    def charge(self, lamports: int) -> None:
        self.balances[WSOL_MINT] = self.balances.get(WSOL_MINT, 0) - lamports

    def state(self) -> dict[str, Any]:
        """A copy: the record serialises it on its own thread, after later landings changed
        the wallet (it would then write a balance ahead of the landings it has written)."""
        return {"balances": dict(self.balances), "accounts": sorted(self.accounts)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Wallet:
        return cls(dict(state["balances"]), set(state["accounts"]))
