"""The simulated chain's record writes a batch of landings at a time: the state they left is read
once, as the batch is taken, so that it is the state after the batch's last landing and before
any of the next batch's, however many landings of the batch changed it."""

from __future__ import annotations

from pathlib import Path

from engine.domain.tokens import WSOL_MINT
from engine.domain.transactions import Landed
from engine.simulator.ledger import ChainRecord, known
from engine.simulator.wallet import Wallet


def landed(n: int) -> Landed:
    return Landed(f"sig-{n}", n, 1, 2, 5_000, memo=f"order-{n}")


async def test_a_state_many_landings_of_a_batch_changed_is_read_once_as_they_left_it(
        tmp_path: Path) -> None:
    record = ChainRecord(str(tmp_path / "chain.db"))
    pool = {"reserve": 100}
    reads: list[int] = []

    def read_pool() -> dict[str, int]:
        reads.append(pool["reserve"])
        return dict(pool)

    for n in range(1, 11):  # ten landings on one pool, all before the batch is taken
        pool["reserve"] += 1
        record.record(landed(n), f"sig-{n}", {"pool:A": read_pool, "chain": known({"n": n})})
    await record.durable()

    assert reads == [110]
    assert record.meta("pool:A") == {"reserve": 110}
    assert record.meta("chain") == {"n": 10}
    assert [found.signature for found in record.landed()] == [f"sig-{n}" for n in range(1, 11)]
    await record.close()


async def test_a_state_with_nothing_to_keep_is_not_written(tmp_path: Path) -> None:
    record = ChainRecord(str(tmp_path / "chain.db"))
    record.record(landed(1), "sig-1", {"account:gone": lambda: None})
    await record.durable()

    assert record.meta("account:gone") is None
    assert record.everything() == {}
    await record.close()


async def test_a_state_that_cannot_be_read_is_said_and_the_landings_are_written_all_the_same(
        tmp_path: Path, logged: list[str]) -> None:
    record = ChainRecord(str(tmp_path / "chain.db"))

    def broken() -> object:
        raise RuntimeError("a bug")

    record.record(landed(1), "sig-1", {"pool:A": broken, "chain": known({"n": 1})})
    await record.durable()

    assert [found.signature for found in record.landed()] == ["sig-1"]
    assert record.meta("chain") == {"n": 1} and record.meta("pool:A") is None
    assert "the chain's record could not read pool:A" in logged
    await record.close()


async def test_a_later_batch_writes_the_state_its_own_landings_left(tmp_path: Path) -> None:
    record = ChainRecord(str(tmp_path / "chain.db"))
    wallet = Wallet({WSOL_MINT: 1_000})
    record.record(landed(1), "sig-1", {"wallet": wallet.state})
    await record.durable()
    wallet.charge(400)
    record.record(landed(2), "sig-2", {"wallet": wallet.state})
    await record.durable()

    assert record.meta("wallet")["balances"] == {WSOL_MINT: 600}
    await record.close()


def test_the_wallets_state_for_the_record_is_a_copy_later_swaps_leave_alone() -> None:
    # The record serialises it on its own thread, by when the next batch's landings may have
    # changed the wallet: a live dictionary would write their balances ahead of their records.
    wallet = Wallet({WSOL_MINT: 1_000})
    kept = wallet.state()
    wallet.charge(400)

    assert kept["balances"] == {WSOL_MINT: 1_000}
