"""What a one-validator test cluster answers about itself: version, identity, epochs, rent,
fees, supply, leaders and votes. Wallets, CLIs and SDKs ask several of these before anything
else (solana-py's and web3.js's clients among them), in the shapes `solana-test-validator` uses.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from solders.message import Message, MessageV0
from solders.pubkey import Pubkey

from engine.simulator import commitment
from engine.simulator.cluster import GENESIS_UNIX, SimChain
from engine.simulator.slots import SLOT_SECONDS
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import rent_exempt

VERSION = {"solana-core": "2.2.0", "feature-set": 3_294_202_862}
SLOTS_PER_EPOCH = 432_000
LAMPORTS_PER_SIGNATURE = 5_000
TOTAL_SUPPLY = 500_000_000 * 10**9
SAMPLE_SECONDS = 60
Handler = Callable[..., Awaitable[Any]]


class NodeInfo:
    def __init__(self, chain: SimChain) -> None:
        self._chain = chain
        seed = hashlib.sha256(f"identity {chain.genesis_hash}".encode()).digest()
        self.identity = str(Pubkey.create_with_seed(Pubkey(seed), "validator", Pubkey(seed)))
        self.vote = str(Pubkey.create_with_seed(Pubkey(seed), "vote", Pubkey(seed)))

    def methods(self) -> dict[str, Handler]:
        return {
            "getVersion": self.get_version, "getIdentity": self.get_identity,
            "getEpochInfo": self.get_epoch_info, "getEpochSchedule": self.get_epoch_schedule,
            "getMinimumBalanceForRentExemption": self.get_minimum_balance,
            "getFeeForMessage": self.get_fee_for_message,
            "isBlockhashValid": self.is_blockhash_valid,
            "getFirstAvailableBlock": self.first_slot, "minimumLedgerSlot": self.first_slot,
            "getTransactionCount": self.get_transaction_count,
            "getBlockTime": self.get_block_time, "getClusterNodes": self.get_cluster_nodes,
            "getSlotLeader": self.get_slot_leader, "getSlotLeaders": self.get_slot_leaders,
            "getLeaderSchedule": self.get_leader_schedule,
            "getVoteAccounts": self.get_vote_accounts, "getSupply": self.get_supply,
            "getInflationGovernor": self.get_inflation_governor,
            "getInflationRate": self.get_inflation_rate,
            "getStakeMinimumDelegation": self.get_stake_minimum_delegation,
            "getMaxRetransmitSlot": self.newest_slot,
            "getMaxShredInsertSlot": self.newest_slot,
            "getRecentPerformanceSamples": self.get_recent_performance_samples,
            "getBlockCommitment": self.get_block_commitment,
        }

    def _context(self) -> dict[str, Any]:
        return {"slot": self._chain.block_height, "apiVersion": VERSION["solana-core"]}

    async def get_version(self) -> dict[str, Any]:
        # Beside a validator's fields: what executes transactions here (clients ignore it).
        return {**VERSION, "execution": self._chain.execution}

    async def get_identity(self) -> dict[str, str]:
        return {"identity": self.identity}

    async def newest_slot(self) -> int:
        """What the validator has received and replayed: the newest slot, at no commitment."""
        return self._chain.block_height

    async def get_epoch_info(self, config: dict[str, Any] | None = None) -> dict[str, int]:
        slot = commitment.seen(self._chain.block_height, config)  # finalized unless asked
        return {"absoluteSlot": slot, "blockHeight": slot, "epoch": slot // SLOTS_PER_EPOCH,
                "slotIndex": slot % SLOTS_PER_EPOCH, "slotsInEpoch": SLOTS_PER_EPOCH,
                "transactionCount": await self._landed_by(slot)}

    async def get_epoch_schedule(self) -> dict[str, Any]:
        return {"slotsPerEpoch": SLOTS_PER_EPOCH, "leaderScheduleSlotOffset": SLOTS_PER_EPOCH,
                "warmup": False, "firstNormalEpoch": 0, "firstNormalSlot": 0}

    async def get_minimum_balance(self, size: int,
                                  config: dict[str, Any] | None = None) -> int:
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 10 * 2**20:
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: the data length is an "
                                                 "integer from 0 to 10 MiB")
        return rent_exempt(size)

    async def get_fee_for_message(self, message: str,
                                  config: dict[str, Any] | None = None) -> dict[str, Any]:
        """The base fee: 5,000 lamports a signature (the priority fee is the sender's bid)."""
        raw = base64.b64decode(message, validate=True)
        parsed: Message | MessageV0 = (MessageV0.from_bytes(raw[1:]) if raw[0] & 0x80
                                       else Message.from_bytes(raw))
        fee = LAMPORTS_PER_SIGNATURE * parsed.header.num_required_signatures
        slot = commitment.seen(self._chain.block_height, config)  # as that bank knows it
        valid = self._chain.blockhash_valid(str(parsed.recent_blockhash), slot)
        return {"context": {**self._context(), "slot": slot}, "value": fee if valid else None}

    async def is_blockhash_valid(self, blockhash: str,
                                 config: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(blockhash, str):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: a blockhash is a string")
        slot = commitment.seen(self._chain.block_height, config)  # as that bank knows it
        return {"context": {**self._context(), "slot": slot},
                "value": self._chain.blockhash_valid(blockhash, slot)}

    async def first_slot(self) -> int:
        return 0

    async def get_transaction_count(self, config: dict[str, Any] | None = None) -> int:
        return await self._landed_by(commitment.seen(self._chain.block_height, config))

    async def _landed_by(self, slot: int) -> int:
        """Transactions landed up to `slot` (a commitment's): those of newer slots not yet."""
        height, newer = self._chain.block_height, 0
        if slot < height:
            await self._chain.history.settled()
            newer = len(self._chain.history.in_slots(slot + 1, height))
        return self._chain.transaction_count - newer

    async def get_block_time(self, slot: int) -> int:
        if not isinstance(slot, int) or slot < 0 or slot > self._chain.block_height:
            raise RpcError(-32004, f"Block not available for slot {slot}")
        return GENESIS_UNIX + int(slot * SLOT_SECONDS)

    async def get_cluster_nodes(self) -> list[dict[str, Any]]:
        return [{"pubkey": self.identity, "gossip": "127.0.0.1:1024", "tpu": "127.0.0.1:1027",
                 "rpc": None, "pubsub": None, "version": VERSION["solana-core"],
                 "featureSet": VERSION["feature-set"], "shredVersion": 0}]

    async def get_slot_leader(self, config: dict[str, Any] | None = None) -> str:
        return self.identity

    async def get_slot_leaders(self, start: int, limit: int) -> list[str]:
        if not isinstance(limit, int) or not 0 < limit <= 5_000:
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: limit is 1..5000")
        return [self.identity] * limit

    async def get_leader_schedule(self, *params: Any) -> dict[str, list[int]]:
        return {self.identity: list(range(min(SLOTS_PER_EPOCH, 4_096)))}

    async def get_vote_accounts(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        slot = self._chain.block_height
        return {"current": [{"votePubkey": self.vote, "nodePubkey": self.identity,
                             "activatedStake": TOTAL_SUPPLY // 10, "epochVoteAccount": True,
                             "commission": 0, "lastVote": slot, "rootSlot": commitment.root(slot),
                             "epochCredits": [[slot // SLOTS_PER_EPOCH, slot, 0]]}],
                "delinquent": []}

    async def get_supply(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"context": self._context(), "value": {
            "total": TOTAL_SUPPLY, "circulating": TOTAL_SUPPLY, "nonCirculating": 0,
            "nonCirculatingAccounts": []}}

    async def get_inflation_governor(self, config: dict[str, Any] | None = None
                                     ) -> dict[str, float]:
        return {"initial": 0.08, "terminal": 0.015, "taper": 0.15, "foundation": 0.0,
                "foundationTerm": 0.0}

    async def get_inflation_rate(self) -> dict[str, float]:
        epoch = self._chain.block_height // SLOTS_PER_EPOCH
        return {"total": 0.08, "validator": 0.08, "foundation": 0.0, "epoch": epoch}

    async def get_stake_minimum_delegation(self, config: dict[str, Any] | None = None
                                           ) -> dict[str, Any]:
        return {"context": self._context(), "value": 1_000_000_000}

    async def get_recent_performance_samples(self, limit: int = 720) -> list[dict[str, int]]:
        slots = int(SAMPLE_SECONDS / SLOT_SECONDS)
        return [{"slot": self._chain.block_height, "numSlots": slots,
                 "numTransactions": self._chain.transaction_count,
                 "numNonVoteTransactions": self._chain.transaction_count,
                 "samplePeriodSecs": SAMPLE_SECONDS}][:max(0, int(limit))]

    async def get_block_commitment(self, slot: int) -> dict[str, Any]:
        return {"commitment": None, "totalStake": TOTAL_SUPPLY // 10}
