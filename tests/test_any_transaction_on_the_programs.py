"""With the programs' runtime the cluster runs any transaction, not only the engine's swaps, as a
test validator does: a faucet's airdrop, System transfers in legacy and v0 messages, SPL Token's
own instructions built by solana-py's builders; what they leave survives a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import Transaction, VersionedTransaction
from spl.token import instructions as spl
from spl.token import models as spl_models
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint,
    mint_to,
)
from spl.token.models import InitializeMintParams, MintToParams

from engine.testing.process import ClusterProcess

SOL = 10**9


def start(tmp_path: Path, programs: Path | None) -> ClusterProcess:
    extra = ("--programs", str(programs)) if programs else ()
    return ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0", "--failure-rate", "0",
                          "--market-flow", "0", "--fund-keypair", str(tmp_path / "w.json"),
                          *extra)


# One node for the module's tests that share it (a process start is most of a test's time):
# each works with addresses of its own making.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory,
               programs: Path) -> AsyncIterator[AsyncClient]:
    cluster = start(tmp_path_factory.mktemp("node"), programs)
    await cluster.start()
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        yield client
    await cluster.terminate()


async def send(client: AsyncClient, payer: Keypair, instructions: list[Any],
               *signers: Keypair) -> Signature:
    """A legacy transaction, as solana-py's own helpers build them, sent and confirmed."""
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    signature = (await client.send_raw_transaction(bytes(Transaction(
        [payer, *signers], message, blockhash)))).value
    await client.confirm_transaction(signature, Confirmed, sleep_seconds=0.05)
    return signature


async def new_token(client: AsyncClient, payer: Keypair, decimals: int,
                    minted: int) -> tuple[Pubkey, Pubkey, Signature]:
    """A mint (SPL Token's InitializeMint) and the payer's token account holding `minted`."""
    mint = Keypair()
    rent = (await client.get_minimum_balance_for_rent_exemption(82)).value
    await send(client, payer, [
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(),
                                           lamports=rent, space=82, owner=TOKEN_PROGRAM_ID)),
        initialize_mint(InitializeMintParams(decimals=decimals, program_id=TOKEN_PROGRAM_ID,
                                             mint=mint.pubkey(),
                                             mint_authority=payer.pubkey()))], mint)
    holder = get_associated_token_address(payer.pubkey(), mint.pubkey())
    minting = await send(client, payer, [
        create_associated_token_account(payer.pubkey(), payer.pubkey(), mint.pubkey()),
        mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), dest=holder,
                             mint_authority=payer.pubkey(), amount=minted))])
    return mint.pubkey(), holder, minting


async def funded(client: AsyncClient, sol: int = 10) -> Keypair:
    owner = Keypair()
    signature = (await client.request_airdrop(owner.pubkey(), sol * SOL)).value
    await client.confirm_transaction(signature, Confirmed, sleep_seconds=0.05)
    return owner


async def test_an_airdrop_lands_and_funds_a_new_address(node: AsyncClient) -> None:
    owner = await funded(node, 5)
    assert (await node.get_balance(owner.pubkey())).value == 5 * SOL


async def test_system_transfers_in_legacy_and_v0_messages(node: AsyncClient) -> None:
    sender, receiver = await funded(node), Keypair().pubkey()
    blockhash = (await node.get_latest_blockhash()).value.blockhash
    pay = transfer(TransferParams(from_pubkey=sender.pubkey(), to_pubkey=receiver,
                                  lamports=2 * SOL))
    legacy = Transaction([sender], Message.new_with_blockhash([pay], sender.pubkey(), blockhash),
                         blockhash)
    sent = (await node.send_raw_transaction(bytes(legacy))).value
    await node.confirm_transaction(sent, Confirmed, sleep_seconds=0.05)
    again = transfer(TransferParams(from_pubkey=sender.pubkey(), to_pubkey=receiver,
                                    lamports=SOL))
    v0 = VersionedTransaction(MessageV0.try_compile(sender.pubkey(), [again], [], blockhash),
                              [sender])
    sent = (await node.send_raw_transaction(bytes(v0))).value
    await node.confirm_transaction(sent, Confirmed, sleep_seconds=0.05)
    assert (await node.get_balance(receiver)).value == 3 * SOL
    assert (await node.get_balance(sender.pubkey())).value == 7 * SOL - 2 * 5_000  # two fees
    found = (await node.get_transaction(sent, max_supported_transaction_version=0)).value
    assert found is not None and found.transaction.meta is not None
    assert found.transaction.meta.fee == 5_000


async def test_spl_token_instructions_built_by_solana_py_run(
        node: AsyncClient) -> None:
    payer = await funded(node)
    mint, holder, minting = await new_token(node, payer, 6, 1_250_000)
    balance = (await node.get_token_account_balance(holder)).value
    assert (balance.amount, balance.decimals) == ("1250000", 6)
    assert (await node.get_token_supply(mint)).value.amount == "1250000"
    found = (await node.get_transaction(minting, "jsonParsed")).value  # as a node parses it
    assert found is not None
    parsed = {(ix.program, ix.parsed["type"]): ix.parsed["info"]
              for ix in found.transaction.transaction.message.instructions}
    assert parsed[("spl-associated-token-account", "create")]["account"] == str(holder)
    assert parsed[("spl-token", "mintTo")] == {"mint": str(mint), "account": str(holder),
                                               "mintAuthority": str(payer.pubkey()),
                                               "amount": "1250000"}


async def test_a_transfer_the_runtime_refuses_is_a_preflight_error(node: AsyncClient) -> None:
    broke, receiver = Keypair(), Keypair().pubkey()
    blockhash = (await node.get_latest_blockhash()).value.blockhash
    pay = transfer(TransferParams(from_pubkey=broke.pubkey(), to_pubkey=receiver, lamports=SOL))
    tx = Transaction([broke], Message.new_with_blockhash([pay], broke.pubkey(), blockhash),
                     blockhash)
    with pytest.raises(RPCException) as refused:
        await node.send_raw_transaction(bytes(tx))
    assert "AccountNotFound" in str(refused.value)


async def test_the_faucet_has_caps(node: AsyncClient) -> None:
    with pytest.raises((RPCException, SolanaRpcException)):
        await node.request_airdrop(Keypair().pubkey(), 1_001 * SOL)
    greedy = Keypair().pubkey()
    for _ in range(10):
        await node.request_airdrop(greedy, 1_000 * SOL)
    with pytest.raises((RPCException, SolanaRpcException)):
        await node.request_airdrop(greedy, SOL)


async def test_without_programs_an_airdrop_is_refused_with_the_reason(tmp_path: Path) -> None:
    cluster = start(tmp_path, None)
    await cluster.start()
    try:
        async with AsyncClient(cluster.url) as client:
            with pytest.raises((RPCException, SolanaRpcException)) as refused:
                await client.request_airdrop(Keypair().pubkey(), SOL)
    finally:
        await cluster.terminate()
    assert "--programs" in str(refused.value)


async def test_accounts_a_transaction_made_survive_a_restart(tmp_path: Path,
                                                            programs: Path) -> None:
    cluster = start(tmp_path, programs)
    await cluster.start()
    try:
        async with AsyncClient(cluster.url, commitment=Confirmed) as client:
            owner = await funded(client, 3)
            mint, holder, _ = await new_token(client, owner, 0, 42)
            lamports = (await client.get_balance(owner.pubkey())).value
    finally:
        cluster.kill()  # no clean stop: what landed is on disk already
    again = start(tmp_path, programs)
    again.port, again.url = cluster.port, cluster.url
    await again.start()
    try:
        async with AsyncClient(again.url) as client:
            assert (await client.get_balance(owner.pubkey())).value == lamports
            assert (await client.get_token_account_balance(holder)).value.amount == "42"
            assert (await client.get_account_info(mint)).value is not None
    finally:
        await again.terminate()


async def test_every_spl_token_instruction_is_parsed_as_a_node_parses_it(
        node: AsyncClient) -> None:
    """Built by solana-py's SPL builders, run by SPL Token's bytecode, read back in jsonParsed:
    each instruction's type and fields as a node's parser names them, the values as
    solana-py's own decoders read the same instruction."""
    payer, other, freezer = await funded(node), Keypair(), Keypair().pubkey()
    mint, multisig, vault, held = Keypair(), Keypair(), Keypair(), Keypair()
    me = payer.pubkey()
    rent = (await node.get_minimum_balance_for_rent_exemption(355)).value

    def space(account: Keypair, size: int) -> Any:
        return create_account(CreateAccountParams(from_pubkey=me, to_pubkey=account.pubkey(),
                                                  lamports=rent, space=size,
                                                  owner=TOKEN_PROGRAM_ID))
    t, m = spl, spl_models
    setup = [
        space(mint, 82), t.initialize_mint2(m.InitializeMint2Params(
            program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), decimals=3, mint_authority=me,
            freeze_authority=freezer)),
        space(multisig, 355), t.initialize_multisig(m.InitializeMultisigParams(
            program_id=TOKEN_PROGRAM_ID, multisig=multisig.pubkey(), m=1,
            signers=[me, other.pubkey()])),
        space(vault, 165), t.initialize_immutable_owner(m.InitializeImmutableOwnerParams(
            program_id=TOKEN_PROGRAM_ID, account=vault.pubkey())),
        t.initialize_account3(m.InitializeAccount3Params(
            program_id=TOKEN_PROGRAM_ID, account=vault.pubkey(), mint=mint.pubkey(),
            owner=multisig.pubkey())),
        space(held, 165), t.initialize_account2(m.InitializeAccount2Params(
            program_id=TOKEN_PROGRAM_ID, account=held.pubkey(), mint=mint.pubkey(), owner=me))]
    use = [
        t.mint_to_checked(m.MintToCheckedParams(
            program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), dest=vault.pubkey(),
            mint_authority=me, amount=5_000, decimals=3)),
        t.transfer(m.TransferParams(program_id=TOKEN_PROGRAM_ID, source=vault.pubkey(),
                                    dest=held.pubkey(), owner=multisig.pubkey(), amount=1_000,
                                    signers=[me])),
        t.approve_checked(m.ApproveCheckedParams(
            program_id=TOKEN_PROGRAM_ID, source=held.pubkey(), mint=mint.pubkey(),
            delegate=other.pubkey(), owner=me, amount=250, decimals=3)),
        t.revoke(m.RevokeParams(program_id=TOKEN_PROGRAM_ID, account=held.pubkey(), owner=me)),
        t.burn_checked(m.BurnCheckedParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                           account=held.pubkey(), owner=me, amount=100,
                                           decimals=3)),
        t.set_authority(m.SetAuthorityParams(
            program_id=TOKEN_PROGRAM_ID, account=mint.pubkey(),
            authority=m.AuthorityType.MINT_TOKENS, current_authority=me,
            new_authority=other.pubkey()))]
    parsed = {}
    for instructions, signers in ((setup[:4], (mint, multisig)), (setup[4:], (vault, held)),
                                  (use, ())):
        signature = await send(node, payer, instructions, *signers)
        found = (await node.get_transaction(signature, "jsonParsed")).value
        assert found is not None
        for ix in found.transaction.transaction.message.instructions:
            if getattr(ix, "program", None) == "spl-token":
                parsed[ix.parsed["type"]] = ix.parsed["info"]
    assert parsed["initializeMint2"] == {"mint": str(mint.pubkey()), "decimals": 3,
                                         "mintAuthority": str(me),
                                         "freezeAuthority": str(freezer)}
    assert parsed["initializeMultisig"] == {
        "multisig": str(multisig.pubkey()), "rentSysvar": "SysvarRent111111111111111111111111111111111",
        "signers": [str(me), str(other.pubkey())], "m": 1}
    assert parsed["initializeImmutableOwner"] == {"account": str(vault.pubkey())}
    assert parsed["initializeAccount3"]["owner"] == str(multisig.pubkey())
    assert parsed["initializeAccount2"]["owner"] == str(me)
    assert parsed["mintToChecked"]["tokenAmount"]["uiAmountString"] == "5"
    assert parsed["transfer"] == {"source": str(vault.pubkey()), "destination": str(held.pubkey()),
                                  "multisigAuthority": str(multisig.pubkey()),
                                  "signers": [str(me)], "amount": "1000"}
    assert parsed["approveChecked"]["delegate"] == str(other.pubkey())
    assert parsed["revoke"] == {"source": str(held.pubkey()), "owner": str(me)}
    assert parsed["burnChecked"]["tokenAmount"]["amount"] == "100"
    assert parsed["setAuthority"] == {"mint": str(mint.pubkey()), "authority": str(me),
                                      "authorityType": "mintTokens",
                                      "newAuthority": str(other.pubkey())}
    # solana-py's decoders read the same instructions the same way.
    assert spl.decode_transfer(use[1]).amount == int(parsed["transfer"]["amount"])
    assert spl.decode_set_authority(use[5]).new_authority == other.pubkey()
    assert (await node.get_token_account_balance(held.pubkey())).value.amount == "900"
