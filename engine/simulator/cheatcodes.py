"""Test set-up without transactions, under surfpool's cheatcode names and parameters, so that a
bot author's surfpool-based set-up works here: `surfnet_setAccount`, `surfnet_setTokenAccount`,
`surfnet_resetAccount`, `surfnet_timeTravel` (forward only), `surfnet_pauseClock`,
`surfnet_resumeClock`. Served only when the cluster is started with `--cheatcodes`, and never
to a browser (the server refuses them to any request with an `Origin`). Accounts need the
programs' runtime, where every account lives; the clock cheatcodes work either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from solders.account import Account
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM

from engine.domain import base58
from engine.simulator.bytecode import Bytecode
from engine.simulator.cluster import GENESIS_UNIX, SimChain
from engine.simulator.node_info import SLOTS_PER_EPOCH, NodeInfo
from engine.simulator.slots import SLOT_SECONDS
from engine.solana import jsonrpc as codes
from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.jsonrpc import RpcError
from engine.solana.programs import TOKEN, associated_token_address

Handler = Callable[..., Awaitable[Any]]
STATES = {"uninitialized": 0, "initialized": 1, "frozen": 2}
TOKEN_ACCOUNT_SIZE = 165


class World(Protocol):
    chain: SimChain
    bytecode: Bytecode | None

    def read_back(self, keys: list[Pubkey]) -> None: ...

    def wallet_addresses(self) -> set[Pubkey]: ...

    def notify(self, pairs: set[frozenset[str]] | None) -> None: ...


class Cheatcodes:
    def __init__(self, world: World) -> None:
        self._world, self._chain = world, world.chain

    def methods(self) -> dict[str, Handler]:
        return {"surfnet_setAccount": self.set_account,
                "surfnet_setTokenAccount": self.set_token_account,
                "surfnet_resetAccount": self.reset_account,
                "surfnet_timeTravel": self.time_travel,
                "surfnet_pauseClock": self.pause_clock,
                "surfnet_resumeClock": self.resume_clock}

    # -- accounts ----------------------------------------------------------------------------
    async def set_account(self, pubkey: str, update: dict[str, Any]) -> dict[str, Any]:
        bytecode, key = self._runtime(), _key(pubkey, "pubkey")
        if not isinstance(update, dict):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: an AccountUpdate object")
        found = bytecode.runtime.svm.get_account(key)
        lamports = found.lamports if found else 0
        data = bytes(found.data) if found else b""
        owner = found.owner if found else SYSTEM
        executable = found.executable if found else False
        if "lamports" in update:
            lamports = _u64(update["lamports"], "lamports")
        if "data" in update:
            data = _hex(update["data"])
        if "owner" in update:
            owner = _key(update["owner"], "owner")
        if "executable" in update:
            executable = bool(update["executable"])
        bytecode.runtime.svm.set_account(key, Account(lamports, data, owner, executable, 0))
        self._changed(key)
        return self._done()

    async def set_token_account(self, owner: str, mint: str, update: dict[str, Any],
                                token_program: str | None = None) -> dict[str, Any]:
        bytecode = self._runtime()
        holder, kind = _key(owner, "owner"), _key(mint, "mint")
        if token_program not in (None, str(TOKEN)):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: only the SPL Token program")
        if not isinstance(update, dict):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: a TokenAccountUpdate object")
        address = associated_token_address(holder, kind)
        found = bytecode.runtime.data(address)
        state: dict[str, Any] = (TOKEN_ACCOUNT.decode(found) if found is not None and
                                 len(found) == TOKEN_ACCOUNT_SIZE else {
            "mint": kind, "owner": holder, "amount": 0, "delegate_tag": 0,
            "delegate": Pubkey.default(), "state": 1, "is_native_tag": 0, "is_native": 0,
            "delegated_amount": 0, "close_authority_tag": 0,
            "close_authority": Pubkey.default()})
        if "amount" in update:
            state["amount"] = _u64(update["amount"], "amount")
        if "delegatedAmount" in update or "delegated_amount" in update:
            state["delegated_amount"] = _u64(update.get("delegatedAmount",
                                                        update.get("delegated_amount")),
                                             "delegatedAmount")
        if "state" in update:
            if update["state"] not in STATES:
                raise RpcError(codes.INVALID_PARAMS, "Invalid params: state is one of "
                                                     f"{', '.join(STATES)}")
            state["state"] = STATES[update["state"]]
        for field in ("delegate", "close_authority"):
            wire = "closeAuthority" if field == "close_authority" else field
            if wire in update or field in update:
                value = update.get(wire, update.get(field))
                state[f"{field}_tag"] = 0 if value is None else 1
                state[field] = Pubkey.default() if value is None else _key(value, wire)
        rent = bytecode.runtime.rent(TOKEN_ACCOUNT_SIZE)
        bytecode.runtime.svm.set_account(address, Account(rent, TOKEN_ACCOUNT.encode(state),
                                                          TOKEN, False, 0))
        self._changed(address)
        return self._done()

    async def reset_account(self, pubkey: str, config: dict[str, Any] | None = None
                            ) -> dict[str, Any]:
        """Remove the account (this cluster forks no upstream to restore it from)."""
        bytecode, key = self._runtime(), _key(pubkey, "pubkey")
        found = bytecode.runtime.svm.get_account(key)
        if found is not None and found.executable:
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: a program is not reset")
        bytecode.runtime.svm.set_account(key, Account(0, b"", SYSTEM, False, 0))
        self._changed(key)
        return self._done()

    # -- the clock ---------------------------------------------------------------------------
    async def time_travel(self, config: dict[str, Any] | None = None) -> dict[str, int]:
        config = config if isinstance(config, dict) else {}
        if "absoluteSlot" in config:
            target = _u64(config["absoluteSlot"], "absoluteSlot")
        elif "absoluteEpoch" in config:
            target = _u64(config["absoluteEpoch"], "absoluteEpoch") * SLOTS_PER_EPOCH
        elif "absoluteTimestamp" in config:  # milliseconds, as surfpool takes it
            unix = _u64(config["absoluteTimestamp"], "absoluteTimestamp") / 1000
            target = int((unix - GENESIS_UNIX) / SLOT_SECONDS)
        else:
            target = self._chain.block_height + 1
        try:
            self._chain.travel_to(target)
        except ValueError as error:
            raise RpcError(codes.INVALID_PARAMS, f"Invalid params: {error}") from None
        self._chain.advance()
        self._world.notify(None)
        return await self._epoch()

    async def pause_clock(self) -> dict[str, int]:
        self._chain.pause()
        return await self._epoch()

    async def resume_clock(self) -> dict[str, int]:
        self._chain.resume()
        return await self._epoch()

    # -- helpers -----------------------------------------------------------------------------
    def _runtime(self) -> Bytecode:
        if self._world.bytecode is None:
            raise RpcError(codes.INVALID_PARAMS, "account cheatcodes need the programs' runtime "
                                                 "(start the cluster with --programs)")
        return self._world.bytecode

    def _changed(self, key: Pubkey) -> None:
        """What a cheatcode wrote is what the cluster serves and keeps: a pool or the wallet
        read back, and the account in the record."""
        world, bytecode = self._world, self._runtime()
        world.read_back([key])
        wallet = world.wallet_addresses()
        if self._chain.owner is not None and key in wallet:
            bytecode.read_wallet(self._chain.owner, self._chain.wallet,
                                 set(self._chain.wallet.accounts))
            self._chain.keep({"wallet": self._chain.wallet.state()})
        self._chain.keep(bytecode.kept_accounts([key], wallet))

    def _done(self) -> dict[str, Any]:
        return {"context": {"slot": self._chain.block_height, "apiVersion": "2.2.0"},
                "value": None}

    async def _epoch(self) -> dict[str, int]:
        # Where the clock now stands, not the root behind it (a node's default commitment).
        return await NodeInfo(self._chain).get_epoch_info({"commitment": "processed"})


def _key(value: Any, name: str) -> Pubkey:
    if not isinstance(value, str) or not base58.is_public_key(value):
        raise RpcError(codes.INVALID_PARAMS, f"Invalid params: {name} is a base58 public key")
    return Pubkey.from_string(value)


def _u64(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise RpcError(codes.INVALID_PARAMS, f"Invalid params: {name} is a u64")
    return value


def _hex(value: Any) -> bytes:
    """Account data as surfpool takes it: a hex string."""
    if not isinstance(value, str):
        raise RpcError(codes.INVALID_PARAMS, "Invalid params: data is a hex string")
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise RpcError(codes.INVALID_PARAMS, "Invalid hex data provided") from None
