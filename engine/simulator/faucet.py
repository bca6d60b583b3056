"""`requestAirdrop` as a test validator's faucet answers it: a System transfer from the faucet's
account, landing as any transaction does, its signature answered at once. Capped per request
and per address, so that no client drains it; with the programs' runtime only (the Python model
runs swaps, not transfers).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from engine.simulator import rpc_params
from engine.simulator.cluster import SimChain
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError

LAMPORTS_PER_SOL = 10**9
PER_REQUEST = 1_000 * LAMPORTS_PER_SOL  # the most one request gives
PER_ADDRESS = 10_000 * LAMPORTS_PER_SOL  # the most one address gets over the cluster's life
FAUCET_LAMPORTS = 500_000_000 * LAMPORTS_PER_SOL
Handler = Callable[..., Awaitable[Any]]


def faucet_keypair(genesis_hash: str) -> Keypair:
    """The faucet's key: fixed by the cluster's genesis, so a restarted cluster keeps it."""
    return Keypair.from_seed(hashlib.sha256(f"faucet {genesis_hash}".encode()).digest())


class Faucet:
    def __init__(self, chain: SimChain, given: dict[str, int] | None = None) -> None:
        self._chain = chain
        self.keypair = faucet_keypair(chain.genesis_hash)
        self.given: dict[str, int] = given if given is not None else {}  # address -> lamports

    def methods(self) -> dict[str, Handler]:
        return {"requestAirdrop": self.request_airdrop}

    async def request_airdrop(self, pubkey: str, lamports: int,
                              config: dict[str, Any] | None = None) -> str:
        rpc_params.pubkey(pubkey)
        if not isinstance(lamports, int) or isinstance(lamports, bool) or lamports <= 0:
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: lamports is a positive integer")
        if self._chain.execution != "bytecode":
            raise RpcError(codes.INVALID_PARAMS, "airdrops need the programs' runtime (start the "
                                                 "cluster with --programs); this one funds only "
                                                 "the wallets its configuration names")
        if lamports > PER_REQUEST:
            raise RpcError(codes.INVALID_PARAMS, f"airdrop of {lamports} lamports is over the "
                                                 f"faucet's {PER_REQUEST} a request")
        if self.given.get(pubkey, 0) + lamports > PER_ADDRESS:
            raise RpcError(codes.INVALID_PARAMS, f"{pubkey} has had its {PER_ADDRESS} lamports "
                                                 "from this faucet")
        blockhash = self._chain.latest_blockhash().hash
        instruction = transfer(TransferParams(from_pubkey=self.keypair.pubkey(),
                                              to_pubkey=Pubkey.from_string(pubkey),
                                              lamports=lamports))
        message = Message.new_with_blockhash([instruction], self.keypair.pubkey(),
                                             Hash.from_string(blockhash))
        tx = Transaction([self.keypair], message, Hash.from_string(blockhash))
        signature = await self._chain.send(base64.b64encode(bytes(tx)).decode(), faults=False)
        self.given[pubkey] = self.given.get(pubkey, 0) + lamports
        self._chain.keep({"faucet": dict(self.given)})  # a copy: the record's thread reads it
        return signature
