"""SPL Token queries a node answers from its accounts: an owner's or a delegate's token
accounts, a token account's balance and a mint's supply, in the shapes solana-py and web3.js
parse."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.domain.tokens import lookup
from engine.simulator import rpc_params
from engine.simulator.encoding import encode_account, encoding_of
from engine.simulator.parsed_token import ui_amount
from engine.solana import jsonrpc as codes
from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account
from engine.solana.programs import TOKEN

Handler = Callable[..., Awaitable[Any]]


class Reader(Protocol):
    def accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]: ...

    def program_accounts(self, program: Pubkey) -> list[tuple[Pubkey, Account]]: ...


class TokenRpc:
    def __init__(self, accounts: Reader, context: Callable[[], dict[str, Any]]) -> None:
        self._accounts, self._context = accounts, context

    def methods(self) -> dict[str, Handler]:
        return {"getTokenAccountsByOwner": self.get_token_accounts_by_owner,
                "getTokenAccountBalance": self.get_token_account_balance,
                "getTokenSupply": self.get_token_supply,
                "getTokenLargestAccounts": self.get_token_largest_accounts,
                "getTokenAccountsByDelegate": self.get_token_accounts_by_delegate}

    def _read(self, address: Any, size: int, what: str) -> bytes:
        [found] = self._accounts.accounts([rpc_params.pubkey(address)])
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

    async def get_token_largest_accounts(self, mint: str, config: dict[str, Any] | None = None
                                         ) -> dict[str, Any]:
        """The mint's 20 largest token accounts, as a node answers."""
        _, decimals = struct.unpack_from("<QB", self._read(mint, 82, "mint"), 36)
        held = sorted(((address, int(state["amount"])) for address, state in self._holders()
                       if str(state["mint"]) == mint), key=lambda pair: pair[1], reverse=True)
        return {"context": self._context(), "value": [
            {"address": str(address), **ui_amount(amount, decimals)}
            for address, amount in held[:20]]}

    async def get_token_accounts_by_owner(self, owner: str, selector: dict[str, str],
                                          config: dict[str, Any] | None = None
                                          ) -> dict[str, Any]:
        """The owner's token accounts, of one mint or of the Token program, in the encoding
        asked for (jsonParsed as a node parses them)."""
        return self._accounts_of("owner", owner, selector, config)

    async def get_token_accounts_by_delegate(self, delegate: str, selector: dict[str, str],
                                             config: dict[str, Any] | None = None
                                             ) -> dict[str, Any]:
        """The token accounts that name `delegate` as theirs (approve), of a mint or of the
        Token program."""
        return self._accounts_of("delegate", delegate, selector, config)

    def _accounts_of(self, role: str, holder: Any, selector: Any,
                     config: dict[str, Any] | None) -> dict[str, Any]:
        rpc_params.pubkey(holder)
        if not isinstance(selector, dict) or not ({"mint", "programId"} & set(selector)):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: select a mint or a programId")
        encoding_of(config)
        if selector.get("programId", str(TOKEN)) != str(TOKEN):
            return {"context": self._context(), "value": []}
        mint, found = selector.get("mint"), []
        for address, account in self._accounts.program_accounts(TOKEN):
            if account.owner != TOKEN or len(account.data) != 165:
                continue
            state = TOKEN_ACCOUNT.decode(account.data)
            if role == "delegate" and not state["delegate_tag"]:
                continue  # no delegate: the field's bytes are zeros
            if str(state[role]) != holder or mint not in (None, str(state["mint"])):
                continue
            found.append({"pubkey": str(address), "account": encode_account(account, config)})
        return {"context": self._context(), "value": found}

    def _holders(self) -> list[tuple[Pubkey, dict[str, Any]]]:
        return [(address, TOKEN_ACCOUNT.decode(account.data))
                for address, account in self._accounts.program_accounts(TOKEN)
                if len(account.data) == 165]
