"""Solana JSON-RPC, our own small client: the methods the engine calls, over a transport.

Why not `solana` (solana-py)'s AsyncClient: it wraps httpx and typed response objects for every
method, and cannot take an in-process transport; the engine needs eleven methods, their error
codes, and the same code path whether the cluster is in this process or behind HTTP. aiohttp
is already here, and `solders` supplies the types that matter (keys, messages, signatures)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana_client.transports import Http, Notify, Transport

Json = Any


class RpcClient:
    """The JSON-RPC methods the engine needs (the `SolanaRpc` port), by their real names and
    shapes: each returns the result as the node's JSON has it."""

    def __init__(self, transport: Transport, commitment: str = "confirmed") -> None:
        self.transport, self._commitment = transport, commitment
        # Why the node is not to be used at all (it is another cluster now: see
        # cluster_identity): every call then fails as a node that is down would, but the
        # question of which cluster it is, and nothing it notifies is passed on.
        self.fenced: str | None = None

    async def close(self) -> None:
        if isinstance(self.transport, Http):
            await self.transport.close()

    async def _call(self, method: str, *params: Any) -> Any:
        if self.fenced is not None and method != "getGenesisHash":
            raise RpcError(codes.NODE_UNHEALTHY, self.fenced)
        return await self.transport.request(method, list(params))

    async def _subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        if self.fenced is not None:
            raise RpcError(codes.NODE_UNHEALTHY, self.fenced)
        return await self.transport.subscribe(
            method, params, lambda message: None if self.fenced else notify(message))

    async def get_health(self) -> str:
        return str(await self._call("getHealth"))

    async def get_latest_blockhash(self) -> Json:
        return await self._call("getLatestBlockhash", {"commitment": self._commitment})

    async def get_block_height(self) -> int:
        return int(await self._call("getBlockHeight", {"commitment": self._commitment}))

    async def get_slot(self, commitment: str | None = None) -> int:
        return int(await self._call("getSlot", {"commitment": commitment or self._commitment}))

    async def get_version(self) -> dict[str, Any]:
        return dict(await self._call("getVersion"))

    async def get_genesis_hash(self) -> str:
        return str(await self._call("getGenesisHash"))

    async def send_transaction(self, tx: str, *, skip_preflight: bool = False) -> str:
        return str(await self._call("sendTransaction", tx, {
            "encoding": "base64", "skipPreflight": skip_preflight,
            "preflightCommitment": self._commitment, "maxRetries": 0}))

    async def simulate_transaction(self, tx: str) -> Json:
        return await self._call("simulateTransaction", tx, {
            "encoding": "base64", "sigVerify": False, "commitment": self._commitment})

    async def get_signature_statuses(self, signatures: Sequence[str]) -> Json:
        return await self._call("getSignatureStatuses", list(signatures),
                                {"searchTransactionHistory": True})

    async def get_transaction(self, signature: str) -> Json:
        return await self._call("getTransaction", signature, {
            "encoding": "base64", "maxSupportedTransactionVersion": 0,
            "commitment": self._commitment})

    async def get_recent_prioritization_fees(self, accounts: Sequence[str]) -> Json:
        return await self._call("getRecentPrioritizationFees", list(accounts))

    async def get_balance(self, pubkey: str) -> int:
        answer = await self._call("getBalance", pubkey, {"commitment": self._commitment})
        return int(answer["value"])

    async def get_multiple_accounts(self, pubkeys: Sequence[str]) -> Json:
        return await self._call("getMultipleAccounts", list(pubkeys), {
            "encoding": "base64", "commitment": self._commitment})

    async def get_program_accounts(self, program: str, data_size: int) -> Json:
        return await self._call("getProgramAccounts", program, {
            "encoding": "base64", "commitment": self._commitment,
            "filters": [{"dataSize": data_size}]})

    @property
    def connection(self) -> int | None:
        """The PubSub connection open now, by number; None: read instead, and subscribe."""
        return self.transport.connection

    async def account_subscribe(self, pubkey: str, notify: Notify) -> int:
        return await self._subscribe("accountSubscribe", [pubkey, {
            "encoding": "base64", "commitment": self._commitment}], notify)

    async def unsubscribe(self, method: str, number: int) -> None:
        await self.transport.unsubscribe(method, number)

    async def program_subscribe(self, program: str, notify: Notify) -> int:
        return await self._subscribe("programSubscribe", [program, {
            "encoding": "base64", "commitment": self._commitment}], notify)

    async def get_token_accounts_by_owner(self, owner: str, program: str) -> Json:
        return await self._call("getTokenAccountsByOwner", owner, {"programId": program},
                                {"encoding": "jsonParsed", "commitment": self._commitment})
