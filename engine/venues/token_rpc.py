"""SPL Token queries a node answers from its accounts: a token account's balance and a mint's
supply, in the shapes solana-py and web3.js parse."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.domain import base58
from engine.domain.tokens import lookup
from engine.solana import jsonrpc as codes
from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account
from engine.solana.programs import TOKEN
from engine.venues.encoding import ui_amount

Handler = Callable[..., Awaitable[Any]]


class Reader(Protocol):
    def accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]: ...


class TokenRpc:
    def __init__(self, accounts: Reader, context: Callable[[], dict[str, Any]]) -> None:
        self._accounts, self._context = accounts, context

    def methods(self) -> dict[str, Handler]:
        return {"getTokenAccountBalance": self.get_token_account_balance,
                "getTokenSupply": self.get_token_supply}

    def _read(self, address: Any, size: int, what: str) -> bytes:
        if not isinstance(address, str) or not base58.is_public_key(address):
            raise RpcError(codes.INVALID_PARAMS, "Invalid param: Invalid")
        [found] = self._accounts.accounts([Pubkey.from_string(address)])
        if found is None or found.owner != TOKEN or len(found.data) != size:
            raise RpcError(codes.INVALID_PARAMS, f"Invalid param: not a Token {what}")
        return found.data

    async def get_token_account_balance(self, address: str,
                                        config: dict[str, Any] | None = None) -> dict[str, Any]:
        held = TOKEN_ACCOUNT.decode(self._read(address, 165, "account"))
        mint = self._accounts.accounts([held["mint"]])[0]
        places = (struct.unpack_from("<B", mint.data, 44)[0] if mint is not None
                  else (token.decimals if (token := lookup(str(held["mint"]))) else 0))
        return {"context": self._context(), "value": ui_amount(int(held["amount"]), places)}

    async def get_token_supply(self, mint: str,
                               config: dict[str, Any] | None = None) -> dict[str, Any]:
        supply, decimals = struct.unpack_from("<QB", self._read(mint, 82, "mint"), 36)
        return {"context": self._context(), "value": ui_amount(supply, decimals)}
