"""`enerwise market commit | reveal | reclaim | commitments | export-secrets` as a trader types
them, against a sealed market on anvil: the salt is in the journal before the commitment is
sent, a reveal in the window puts the order in the book, a reclaim after it returns all but the
bond, and a mistake is one line without a traceback.

The commands run in process through the console entry point (``main``), as a shell runs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devchain.sandbox import Participant, Sandbox, dev_sender
from energychain.commitment_journal import CommitmentJournal
from energychain.deploy import MarketSettings
from energychain.sealed_market import SealedMarket
from tests.in_process import forget_log_handlers, run_main
from wallet.keystore import Keystore
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

BOND = 100_000  # 0.10 EUR of the 6-decimals test euro
REVEAL_SECONDS = 300
FUNDS = 20_000_000  # 20 EUR in each trader's vault


@dataclass(frozen=True)
class Chain:
    sandbox: Sandbox
    rpc_url: str
    deployment: Path

    @property
    def market(self) -> SealedMarket:
        market = self.sandbox.contracts.market
        assert isinstance(market, SealedMarket)
        return market


@dataclass(frozen=True)
class Trader:
    """A funded trader with a keystore, and the options every command of the test passes."""

    participant: Participant
    journal: Path
    options: list[str]

    @property
    def address(self) -> str:
        return self.participant.address


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    settings = MarketSettings(
        min_order_wh=10, mode="sealed", reveal_seconds=REVEAL_SECONDS, bond_amount=BOND
    )
    with Sandbox.on_anvil(settings) as sandbox:
        path = sandbox.deployment.save(tmp_path_factory.mktemp("deployment") / "sealed.json")
        yield Chain(sandbox, str(sandbox.w3.provider.endpoint_uri), path)  # type: ignore[attr-defined]


@pytest.fixture
def trader(chain: Chain, tmp_path: Path) -> Trader:
    """An account of its own (the chain is shared by the module), 20 EUR in the vault."""
    sandbox = chain.sandbox
    private_key = "0x" + sandbox.random_bytes(32).hex()
    signer = LocalKeySigner(private_key)
    sandbox.dev.fund(signer.address, 10**19)
    # a dev sender: anvil can leave a batch's transaction queued for good (foundry-rs/foundry#10122)
    participant = Participant(dev_sender(sandbox.w3, signer, sandbox.decoder))
    sandbox.fund_payment(participant, FUNDS)
    key = Keystore(tmp_path / "keys", scrypt_n=2**10).import_private_key(private_key, "pw")
    (tmp_path / "pw.txt").write_text("pw\n")
    journal = tmp_path / "commitments.sqlite3"
    options = [
        "--keystore", str(key.path), "--password-file", str(tmp_path / "pw.txt"),
        "--journal", str(journal), "--rpc-url", chain.rpc_url,
        "--deployment", str(chain.deployment),
    ]  # fmt: skip
    return Trader(participant, journal, options)


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_lines(self) -> list[str]:
        """The error lines of stderr (the plan a sending command shows before it sends is not
        one), checked to be its last."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error: ")]
        assert not errors or lines[-1] == errors[-1], self.err
        return errors


Enerwise = Callable[..., Ran]
"""``enerwise ARGS`` run in process: ``enerwise("market", "reveal", ...)``."""


@pytest.fixture
def enerwise(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Enerwise:
    """``enerwise ARGS`` through the console entry point; exit code, stdout, stderr."""

    def run(*args: str) -> Ran:
        forget_log_handlers()
        return Ran(*run_main(monkeypatch, capsys, *args))

    return run


def _next_slot(chain: Chain) -> int:
    return chain.sandbox.current_slot() + 1


def _commit(enerwise: Enerwise, trader: Trader, slot: int, *extra: str) -> Ran:
    return enerwise(
        "market", "commit", "--slot", str(slot), "--side", "buy", "--qty-wh", "500",
        "--price-eur-per-kwh", "0.25", *trader.options, "--yes", "--json", *extra,
    )  # fmt: skip


def _states(enerwise: Enerwise, trader: Trader) -> list[str]:
    listed = enerwise("market", "commitments", *_reading(trader), "--json")
    assert listed.code == 0, listed.err
    return [row["status"] for row in listed.json["commitments"]]


def _reading(trader: Trader) -> list[str]:
    """The trader's options without the key (the reading commands take none)."""
    key_options = {"--keystore", "--password-file"}
    pairs = zip(trader.options[::2], trader.options[1::2], strict=True)
    return [item for name, value in pairs if name not in key_options for item in (name, value)]


# ------------------------------------------------------------------------------- commit
def test_commit_locks_collateral_and_shows_no_order_until_the_reveal(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    slot = _next_slot(chain)
    committed = _commit(enerwise, trader, slot)
    assert committed.code == 0, committed.err
    row = committed.json
    assert (row["status"], row["slot"], row["side"], row["qty_wh"]) == (
        "committed",
        slot,
        "buy",
        500,
    )
    commit_id = int(row["commit_id"], 16)
    stored = chain.market.commitment(commit_id)
    assert stored is not None and stored.owner == trader.address
    assert stored.locked_money == row["locked_money"] >= BOND
    assert chain.market.order(commit_id) is None  # the order is sealed until the reveal
    with CommitmentJournal(trader.journal) as journal:
        (entry,) = journal.entries(chain.sandbox.deployment.chain_id, chain.market.address)
    assert entry.commit_id == commit_id and len(entry.order.salt) == 32
    assert entry.order.commitment(chain.sandbox.deployment.chain_id, chain.market.address) == (
        chain.market.commitment_of(entry.order)
    )


def _commit_losing_the_receipt(
    chain: Chain, trader: Trader, enerwise: Enerwise, monkeypatch: pytest.MonkeyPatch, slot: int
) -> list[str]:
    """Commit, the process losing its connection right after the node took the commitment;
    the journal's states as they were on disk when the commitment was sent."""
    seen_in_journal: list[str] = []
    real_transact = TransactionSender.transact

    def crash_after_send(self: TransactionSender, request: Any) -> Any:
        with CommitmentJournal(trader.journal) as journal:  # what is on disk when it is sent
            seen_in_journal.extend(e.status for e in journal.entries(
                chain.sandbox.deployment.chain_id, chain.market.address))  # fmt: skip
        real_transact(self, request)
        raise ConnectionError("the connection dropped")

    monkeypatch.setattr(TransactionSender, "transact", crash_after_send)
    lost = _commit(enerwise, trader, slot)
    monkeypatch.setattr(TransactionSender, "transact", real_transact)
    assert lost.code == 1 and len(lost.error_lines) == 1, lost.err
    assert "may not have reached the chain" in lost.err and "Traceback" not in lost.err
    return seen_in_journal


def test_the_salt_is_in_the_journal_before_the_commitment_is_sent(
    chain: Chain, trader: Trader, enerwise: Enerwise, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies right after the node took the commitment: the entry is an intent with
    its salt, ``commitments`` finds the commitment on chain, and it reveals like any other."""
    slot = _next_slot(chain)
    assert _commit_losing_the_receipt(chain, trader, enerwise, monkeypatch, slot) == ["intent"]

    assert _states(enerwise, trader) == ["committed"]  # settled from the chain
    chain.sandbox.advance_to(chain.sandbox.gate_closure(slot) + 1)
    revealed = enerwise("market", "reveal", *trader.options, "--yes", "--json")
    assert revealed.code == 0, revealed.err
    assert _states(enerwise, trader) == ["revealed"]


def test_a_lost_commitment_is_found_after_the_fee_changed(
    chain: Chain, trader: Trader, enerwise: Enerwise, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit id carries the fee in force when it was mined: after a fee change the id is
    found from the commitment's event."""
    market, admin = chain.market, chain.sandbox.admin
    params = market.params()
    _commit_losing_the_receipt(chain, trader, enerwise, monkeypatch, _next_slot(chain))
    admin.transact(market.set_fee(params.fee_bps + 10, params.treasury))
    try:
        listed = enerwise("market", "commitments", *_reading(trader), "--json")
    finally:
        admin.transact(market.set_fee(params.fee_bps, params.treasury))
    (row,) = listed.json["commitments"]
    assert row["status"] == "committed"
    commit_id = int(row["commit_id"], 16)
    assert (commit_id >> 64) & 0xFFFF == params.fee_bps  # the fee when it was mined
    assert market.commitment(commit_id) is not None


def test_a_commitment_the_chain_refuses_is_kept_as_failed(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    sandbox = chain.sandbox
    sandbox.admin.transact(chain.market.pause())
    try:
        refused = _commit(enerwise, trader, _next_slot(chain))
    finally:
        sandbox.admin.transact(chain.market.unpause())
    assert refused.code == 1 and len(refused.error_lines) == 1, refused.err
    assert "the market is paused by its operator" in refused.err
    assert _states(enerwise, trader) == ["failed"]


# ------------------------------------------------------------------------------- reveal
def test_a_reveal_before_gate_closure_is_refused_in_one_line(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    slot = _next_slot(chain)
    assert _commit(enerwise, trader, slot).code == 0
    early = enerwise("market", "reveal", "--slot", str(slot), *trader.options, "--yes")
    assert early.code == 1 and len(early.error_lines) == 1, early.err
    assert early.error_lines[0].startswith("error: nothing revealed: slot ")
    assert "its reveal window opens after" in early.err and "Traceback" not in early.err
    assert _states(enerwise, trader) == ["committed"]


def test_a_reveal_in_the_window_puts_the_order_in_the_book(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    slot = _next_slot(chain)
    first = _commit(enerwise, trader, slot).json
    second = _commit(enerwise, trader, slot, "--collateral-eur", "1").json
    chain.sandbox.advance_to(chain.sandbox.gate_closure(slot) + 1)

    revealed = enerwise("market", "reveal", "--slot", str(slot), *trader.options, "--yes", "--json")
    assert revealed.code == 0, revealed.err
    assert [r["commit_id"] for r in revealed.json["revealed"]] == [
        first["commit_id"],
        second["commit_id"],
    ]
    assert revealed.json["not_revealed"] == []
    for row in (first, second):
        order = chain.market.order(int(row["commit_id"], 16))
        assert order is not None and order.owner == trader.address
        assert (order.slot, order.is_buy, order.tick, order.qty_wh) == (
            slot,
            True,
            row["tick"],
            500,
        )
    assert _states(enerwise, trader) == ["revealed", "revealed"]


def test_an_over_collateralised_sell_locks_its_wh_and_gets_the_excess_back_at_the_reveal(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    sandbox, market = chain.sandbox, chain.market
    slot = _next_slot(chain)
    sandbox.mint_energy([(trader.participant, 800)], slot)  # the chain moves to the slot's end
    sandbox.deposit_energy(trader.participant, slot, 800)
    committed = enerwise(
        "market", "commit", "--slot", str(slot), "--side", "sell", "--qty-wh", "500",
        "--price-eur-per-kwh", "0.10", "--collateral-wh", "800", *trader.options, "--yes", "--json",
    )  # fmt: skip
    assert committed.code == 0, committed.err
    stored = market.commitment(int(committed.json["commit_id"], 16))
    assert stored is not None and (stored.locked_money, stored.locked_wh) == (BOND, 800)
    assert market.energy_balance_of(trader.address, slot) == 0

    sandbox.advance_to(sandbox.gate_closure(slot) + 1)
    assert enerwise("market", "reveal", *trader.options, "--yes").code == 0
    order = market.order(int(committed.json["commit_id"], 16))
    assert order is not None and (order.is_buy, order.qty_wh) == (False, 500)
    assert market.energy_balance_of(trader.address, slot) == 300  # the hiding excess is back


# ------------------------------------------------------------------------------- reclaim
def test_reclaim_after_the_window_returns_the_collateral_but_the_bond(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    market, slot = chain.market, _next_slot(chain)
    before = market.balance_of(trader.address)
    committed = _commit(enerwise, trader, slot, "--collateral-eur", "2.5").json
    assert committed["locked_money"] == 2_500_000  # over-collateralised: hides the size
    assert market.balance_of(trader.address) == before - 2_500_000

    early = enerwise("market", "reclaim", *trader.options, "--yes")
    assert early.code == 0 and "can still be revealed until" in early.out
    chain.sandbox.advance_to(chain.sandbox.gate_closure(slot) + REVEAL_SECONDS + 1)
    late = enerwise("market", "reveal", *trader.options, "--yes")
    assert late.code == 1 and "its reveal window ended at" in late.err, late.err

    reclaimed = enerwise("market", "reclaim", *trader.options, "--yes", "--json")
    assert reclaimed.code == 0, reclaimed.err
    (done,) = reclaimed.json["reclaimed"]
    assert (done["refund_money"], done["refund_wh"], done["bond"]) == (2_400_000, 0, BOND)
    assert "2.40 EUR and 0 Wh back to the vault, bond 0.10 EUR forfeited" in done["message"]
    assert market.balance_of(trader.address) == before - BOND
    assert market.commitment(int(committed["commit_id"], 16)) is None
    assert _states(enerwise, trader) == ["reclaimed"]


# ------------------------------------------------------------------------------- reading
def test_commitments_lists_states_and_reveal_windows_and_export_keeps_the_salts(
    chain: Chain, trader: Trader, enerwise: Enerwise, tmp_path: Path
) -> None:
    slot = _next_slot(chain)
    assert _commit(enerwise, trader, slot).code == 0
    listed = enerwise("market", "commitments", *_reading(trader), "--json")
    (row,) = listed.json["commitments"]
    opens_after, closes_at = chain.market.reveal_window(slot)
    assert (row["status"], row["reveal_window"]) == ("committed", "waiting")
    assert (row["reveal_opens_after"], row["reveal_closes_at"]) == (opens_after, closes_at)
    assert "salt" not in row  # a listing never shows the secret
    (line,) = enerwise("market", "commitments", *_reading(trader)).out.splitlines()
    assert line.startswith(f"slot {slot}  buy   500 Wh at 0.24992 EUR/kWh  committed  locked ")
    assert line.endswith("(waiting)")

    backup = tmp_path / "secrets.json"
    exported = enerwise("market", "export-secrets", str(backup), "--journal", str(trader.journal),
                        "--json")  # fmt: skip
    assert exported.code == 0 and exported.json["commitments"] == 1, exported.err
    (secret,) = json.loads(backup.read_text())["commitments"]
    assert secret["commitment"] == row["commitment"] and len(secret["salt"]) == 2 + 64
    assert backup.stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------------------- mistakes
@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--side", "hold", "--qty-wh", "500", "--tick", "10"], 2, "Invalid value for '--side'"),
        (["--side", "buy", "--qty-wh", "0", "--tick", "10"], 2, "Invalid value for '--qty-wh'"),
        (["--side", "buy", "--qty-wh", "5", "--tick", "10"], 1, "below the market's smallest"),
        (["--side", "buy", "--qty-wh", "500", "--tick", "5000"], 1, "above the market's max tick"),
        (["--side", "sell", "--qty-wh", "500", "--price-eur-per-kwh", "0,2"], 1, "with a dot"),
        (
            ["--side", "sell", "--qty-wh", "500", "--price-eur-per-kwh", "9"],
            1,
            "outside the market",
        ),
        (["--side", "buy", "--qty-wh", "500"], 1, "give exactly one of --price-eur-per-kwh"),
        (["--side", "sell", "--qty-wh", "500", "--tick", "10"], 1, "move energy tokens into"),
        (
            ["--side", "buy", "--qty-wh", "500", "--tick", "10", "--collateral-eur", "999"],
            1,
            "deposit more first",
        ),
    ],
)
def test_a_mistake_in_a_commit_is_one_line_and_nothing_is_journaled(
    chain: Chain, trader: Trader, enerwise: Enerwise, args: list[str], code: int, says: str
) -> None:
    ran = enerwise("market", "commit", "--slot", str(_next_slot(chain)), *args, *trader.options,
                   "--yes")  # fmt: skip
    assert ran.code == code, ran.err
    assert len(ran.err.strip().splitlines()) == len(ran.error_lines) == 1, ran.err
    assert says in ran.err and "Traceback" not in ran.err
    assert not trader.journal.exists() or _states(enerwise, trader) == []


def test_a_commit_after_gate_closure_is_refused_in_one_line(
    chain: Chain, trader: Trader, enerwise: Enerwise
) -> None:
    past = chain.sandbox.current_slot() - 2
    ran = _commit(enerwise, trader, past)
    assert ran.code == 1 and len(ran.error_lines) == 1, ran.err
    assert f"the order window of slot {past} closed at" in ran.err


# ------------------------------------------------------------------------------- plain words
TRADER_ERRORS = ("Commitment", "RevealWindow", "Order", "MarketInsufficient", "SealedMarketNo")
"""The refusals a trader meets committing, revealing and reclaiming (the custom errors whose
names start so), each with a text in plain words."""


def test_every_refusal_a_trader_meets_has_plain_words() -> None:
    from chain.artifacts import load_artifact
    from chain.errors import ContractRevertError
    from enerwise.cli.revert_words import plain_words

    sample = {"address": "0x" + "ab" * 20, "bool": True}
    errors = [
        item
        for item in load_artifact("SealedEnergyMarket").abi
        if item.get("type") == "error" and item["name"].startswith(TRADER_ERRORS)
    ]
    assert len(errors) >= 14
    for error in errors:
        args = tuple(sample.get(i["type"], 1_764_961_200) for i in error["inputs"])
        reason = ContractRevertError(error["name"], args)
        words = plain_words(reason, 6)
        assert words != str(reason) and error["name"] not in words, error["name"]
