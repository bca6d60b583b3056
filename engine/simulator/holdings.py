"""The accounts that are not pools: the funded wallet (a System account holding its SOL), its
associated token accounts, and the mints of every listed and launched token, as a node serves
them (`getAccountInfo`, `getMultipleAccounts`, `getProgramAccounts` on the Token program)."""

from __future__ import annotations

from solders.pubkey import Pubkey

from engine.domain.tokens import LAUNCH_DECIMALS, TOKENS, WSOL_MINT
from engine.simulator.wallet import Wallet
from engine.solana.accounts import TOKEN_ACCOUNT, mint
from engine.solana.pool_accounts import Account
from engine.solana.programs import SYSTEM, TOKEN, associated_token_address

LISTED_SUPPLY = 10**18  # the simulation does not know a listed token's real supply


def holdings(owner: str | None, wallet: Wallet, launched: list[str]) -> dict[Pubkey, Account]:
    found: dict[Pubkey, Account] = {}
    for token in TOKENS:
        if token.mint != WSOL_MINT:
            found[Pubkey.from_string(token.mint)] = Account(
                TOKEN, mint(None, LISTED_SUPPLY, token.decimals))
    for address in launched:
        found[Pubkey.from_string(address)] = Account(TOKEN, mint(None, 10**15, LAUNCH_DECIMALS))
    if owner is None:
        return found
    key = Pubkey.from_string(owner)
    found[key] = Account(SYSTEM, b"", wallet.balances.get(WSOL_MINT, 0))
    for held in sorted(wallet.accounts):
        data = TOKEN_ACCOUNT.encode({"mint": Pubkey.from_string(held), "owner": key,
                                     "amount": wallet.balances.get(held, 0), "state": 1})
        found[associated_token_address(key, Pubkey.from_string(held))] = Account(TOKEN, data)
    return found
