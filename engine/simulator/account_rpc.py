"""What a node answers from its accounts: an account's lamports and contents, several at
once, and a program's accounts through filters, in the encoding asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.simulator import rpc_params
from engine.simulator.encoding import MAX_ACCOUNTS, encode_account, encoding_of, passes_filter
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account

Handler = Callable[..., Awaitable[Any]]


class Accounts(Protocol):
    """Where the cluster's accounts come from (the pools, in their programs' layouts; the
    wallet, its token accounts and the mints)."""

    def accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]: ...

    def program_accounts(self, program: Pubkey) -> list[tuple[Pubkey, Account]]: ...

    def known(self) -> list[tuple[Pubkey, Account]]: ...


class AccountRpc:
    def __init__(self, accounts: Accounts, context: Callable[[], dict[str, Any]]) -> None:
        self._accounts, self._context = accounts, context

    def methods(self) -> dict[str, Handler]:
        return {"getBalance": self.get_balance, "getAccountInfo": self.get_account_info,
                "getMultipleAccounts": self.get_multiple_accounts,
                "getProgramAccounts": self.get_program_accounts}

    async def get_balance(self, pubkey: str,
                          config: dict[str, Any] | None = None) -> dict[str, Any]:
        [found] = self._accounts.accounts([rpc_params.pubkey(pubkey)])
        return {"context": self._context(), "value": found.lamports if found else 0}

    async def get_account_info(self, pubkey: str,
                               config: dict[str, Any] | None = None) -> dict[str, Any]:
        encoding_of(config)
        [found] = self._accounts.accounts([rpc_params.pubkey(pubkey)])
        return {"context": self._context(), "value": encode_account(found, config)}

    async def get_multiple_accounts(self, pubkeys: list[str],
                                    config: dict[str, Any] | None = None) -> dict[str, Any]:
        encoding_of(config)
        if len(pubkeys) > MAX_ACCOUNTS:
            raise RpcError(codes.INVALID_PARAMS, f"Too many inputs provided; max {MAX_ACCOUNTS}")
        found = self._accounts.accounts([rpc_params.pubkey(k) for k in pubkeys])
        return {"context": self._context(), "value": [encode_account(a, config) for a in found]}

    async def get_program_accounts(self, program: str,
                                   config: dict[str, Any] | None = None) -> Any:
        """The program's accounts that pass every filter (dataSize, memcmp with base58 bytes)."""
        config = config or {}
        encoding_of(config)
        filters = config.get("filters") or []
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: filters are objects")
        found = []
        for address, account in self._accounts.program_accounts(rpc_params.pubkey(program)):
            if all(passes_filter(account.data, f) for f in filters):
                found.append({"pubkey": str(address),
                              "account": encode_account(account, config)})
        return {"context": self._context(), "value": found} if config.get("withContext") \
            else found
