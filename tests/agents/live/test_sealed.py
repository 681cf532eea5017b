"""The runtime in a sealed market: it commits (the salt on disk first), reveals in the reveal
window, survives a restart between commit and reveal, and a commitment it could not reveal
forfeits only its bond. The sealed market's learned planner commits late at its decision's
(halfway) prices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.errors import PolicyError
from agents.live.reports import StepReport
from agents.live.runtime import AgentRuntime
from agents.policies.book_model import BookModel
from devchain.sandbox import Sandbox
from energychain.delegation import AgentGrant, grant_agent
from energychain.deploy import MarketSettings
from energychain.sealed_market import SealedMarket
from tests.agents.live.test_runtime import _log, _pair, _runtime, _started

DAY = 86_400
BOND = 100_000
REVEAL_SECONDS = 300


class Crash(Exception):
    """Stands for the process dying at a chosen point."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    settings = MarketSettings(
        min_order_wh=10, mode="sealed", reveal_seconds=REVEAL_SECONDS, bond_amount=BOND
    )
    with Sandbox.on_anvil(settings) as market:
        yield market


def _market(sandbox: Sandbox) -> SealedMarket:
    market = sandbox.contracts.market
    assert isinstance(market, SealedMarket)
    return market


def _orders(runtime: AgentRuntime, slot: int) -> list[dict[str, Any]]:
    state = json.loads(runtime.state.path.read_text())
    return list(state["slots"][str(slot)]["orders"])


def test_the_agent_commits_with_its_salt_on_disk_and_shows_no_order(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent, runtime, now, slot = _started(sandbox, tmp_path)
    (committed,) = runtime.step(now).placed
    (entry,) = _orders(runtime, slot)
    assert entry["status"] == "committed" and len(bytes.fromhex(entry["salt"])) == 32
    market = _market(sandbox)
    stored = market.commitment(committed.order_id or 0)
    assert stored is not None and stored.owner == owner.address and stored.agent == agent.address
    assert market.order(committed.order_id or 0) is None  # nothing readable before gate closure


def test_the_agent_reveals_in_the_window_and_claims_after_the_clearing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    _, _, runtime, now, slot = _started(sandbox, tmp_path, clear_slots=True)
    (committed,) = runtime.step(now).placed
    sandbox.advance_to(sandbox.gate_closure(slot) + 1)

    report = runtime.step(sandbox.dev.now())
    assert [r.order_id for r in report.revealed] == [committed.order_id]
    order = _market(sandbox).order(committed.order_id or 0)
    assert order is not None and order.qty_wh == committed.qty_wh

    sandbox.advance_to(sandbox.gate_closure(slot) + REVEAL_SECONDS + 1)
    report = runtime.step(sandbox.dev.now())
    assert report.cleared == [slot]
    assert [c[0] for c in report.claimed] == [committed.order_id]


def test_a_restart_between_commit_and_reveal_still_reveals(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    class CrashAfterSend(AgentRuntime):
        def _send(self, request: Any) -> Any:
            super()._send(request)
            raise Crash

    owner, agent = _pair(sandbox)
    now = sandbox.dev.now()
    with pytest.raises(Crash):
        _runtime(sandbox, owner, agent, tmp_path, cls=CrashAfterSend).step(now)
    crashed = _runtime(sandbox, owner, agent, tmp_path)
    slot = crashed.slot_at(now) + 1
    (entry,) = _orders(crashed, slot)
    assert entry["status"] == "intent" and entry["salt"]  # the salt made it to disk

    sandbox.advance_to(sandbox.gate_closure(slot) + 1)
    report = crashed.step(sandbox.dev.now())  # reconciles the intent, then reveals it
    assert [r.order_id for r in report.revealed] == [entry["order_id"]]
    assert _market(sandbox).order(entry["order_id"]) is not None
    assert [o["status"] for o in _orders(crashed, slot)].count("placed") == 1


def test_a_commitment_the_agent_could_not_reveal_forfeits_only_its_bond(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path)
    market = _market(sandbox)
    before = market.balance_of(owner.address)
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (committed,) = runtime.step(now).placed

    # The agent is down for the whole reveal window.
    sandbox.advance_to(sandbox.gate_closure(slot) + REVEAL_SECONDS + 1)
    report = runtime.step(sandbox.dev.now())
    assert [f.order_id for f in report.forfeited] == [committed.order_id]
    assert market.commitment(committed.order_id or 0) is None
    # what the same step committed for the next slot is locked anew
    locks = [market.commitment(p.order_id or 0) for p in report.placed]
    new_locks = sum(c.locked_money for c in locks if c is not None)
    assert market.balance_of(owner.address) == before - BOND - new_locks


def test_one_refused_reveal_does_not_hold_back_the_others(sandbox: Sandbox, tmp_path: Path) -> None:
    """The owner narrows the agent's price bounds after a commit: that reveal is refused
    (``AgentPriceOutOfBounds``), which reverts the batch; the agent reveals one by one instead,
    so its other commitment of the slot still joins the book."""
    owner, agent, runtime, now, slot = _started(sandbox, tmp_path)
    (high,) = runtime.step(now).placed  # truthful: a buy at the agent's max buy tick, 1,250
    narrowed = AgentGrant(agent.address, 5_000_000, 1_000, 200, sandbox.dev.now() + 5 * DAY)
    grant_agent(owner.sender, sandbox.contracts.market, narrowed)
    plan = runtime.state.slot(slot)
    assert plan is not None
    report = StepReport(now=sandbox.dev.now())
    runtime.desk.place(
        slot, plan, True, 900, 100, sandbox.dev.now(), runtime.delegation(now), report
    )
    (low,) = report.placed

    sandbox.advance_to(sandbox.gate_closure(slot) + 1)
    report = runtime.step(sandbox.dev.now())
    assert [r.order_id for r in report.revealed] == [low.order_id]
    assert any(str(high.order_id) in e and "AgentPriceOutOfBounds" in e for e in report.errors)
    market = _market(sandbox)
    assert market.order(low.order_id or 0) is not None
    assert market.commitment(high.order_id or 0) is not None  # still committed: bond at stake


def test_a_book_model_for_the_open_market_is_refused_on_a_sealed_chain(
    sandbox: Sandbox, tmp_path: Path, model: BookModel
) -> None:
    from agents.live.policies import load_policy
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(model, tmp_path / "book-model.onnx")
    owner, agent = _pair(sandbox)
    policy = load_policy(tmp_path / "book-model.onnx")
    with pytest.raises(PolicyError, match="trained for the open market"):
        _runtime(sandbox, owner, agent, tmp_path, policy=policy)


def test_the_sealed_learned_planner_commits_its_buy_late_at_its_decisions_halfway_tick(
    sandbox: Sandbox, tmp_path: Path, sealed_model: BookModel
) -> None:
    from agents.live.policies import load_policy
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(sealed_model, tmp_path / "book-model-sealed-seed0.onnx")
    owner, agent = _pair(sandbox, max_buy_tick=sandbox.contracts.market.params().max_tick)
    policy = load_policy(tmp_path / "book-model-sealed-seed0.onnx")
    runtime = _runtime(
        sandbox, owner, agent, tmp_path, policy=policy, plan_lead_seconds=sandbox.slot_seconds
    )
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    report = runtime.step(now)
    assert report.decided_slot == slot and report.placed == []  # 500 Wh to buy, late
    (decision,) = [e for e in _log(tmp_path) if e["event"] == "decision"]
    assert (decision["policy"], decision["priced_at"]) == ("mpc_book_learned", "decision")

    sandbox.advance_to(sandbox.gate_closure(slot) - runtime.late_seconds)
    (committed,) = runtime.step(sandbox.dev.now()).placed
    assert (committed.side, committed.qty_wh) == ("buy", 500)
    assert committed.tick == decision["buy_tick"]
    assert [e for e in _log(tmp_path) if e["event"] == "priced"] == []  # no best response
    assert _orders(runtime, slot)[0]["status"] == "committed"


def test_scenario_response_commits_late_priced_on_the_newest_revealed_books(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from agents.live.policies import load_policy
    from agents.policies.visible import SCENARIO_BOOKS

    owner, agent = _pair(sandbox, max_buy_tick=sandbox.contracts.market.params().max_tick)
    runtime = _runtime(
        sandbox,
        owner,
        agent,
        tmp_path,
        policy=load_policy("scenario_response"),
        plan_lead_seconds=sandbox.slot_seconds,
    )
    sandbox.advance_to(sandbox.slot_start(sandbox.current_slot() + SCENARIO_BOOKS + 1))
    read: list[int] = []
    books = runtime.link.visible_book
    runtime.link.visible_book = lambda slot: (read.append(slot), books(slot))[1]  # type: ignore[method-assign]
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    report = runtime.step(now)
    assert report.decided_slot == slot and report.placed == []  # 500 Wh to buy, late
    (decision,) = [e for e in _log(tmp_path) if e["event"] == "decision"]
    assert (decision["policy"], decision["priced_at"]) == ("scenario_response", "gate_closure")

    sandbox.advance_to(sandbox.gate_closure(slot) - runtime.late_seconds)
    read.clear()
    (committed,) = runtime.step(sandbox.dev.now()).placed
    assert (committed.side, committed.qty_wh) == ("buy", 500)
    assert max(read) < slot  # never the slot's own book
    newest_first = [slot - 1 - k for k in range(SCENARIO_BOOKS)]
    assert read[-SCENARIO_BOOKS:] == newest_first  # the pricing's books: the revealed ones
    (priced,) = [e for e in _log(tmp_path) if e["event"] == "priced"]
    assert (priced["scenarios"], priced["tick"]) == (SCENARIO_BOOKS, committed.tick)
    assert _orders(runtime, slot)[0]["status"] == "committed"


def test_a_planner_priced_on_the_tick_models_books_reads_only_revealed_member_books(
    sandbox: Sandbox, tmp_path: Path, sealed_model: BookModel
) -> None:
    from agents.live.policies import load_policy
    from agents.policies.book_model import PlannerSettings
    from agents.policies.book_model_onnx import export_book_model
    from agents.policies.tick_model import ERROR_LAGS, HISTORY

    path = tmp_path / "book-model-sealed-seed0.onnx"
    export_book_model(sealed_model.with_planner(PlannerSettings("predicted", 0.25)), path)
    owner, agent = _pair(sandbox, max_buy_tick=sandbox.contracts.market.params().max_tick)
    runtime = _runtime(
        sandbox, owner, agent, tmp_path, policy=load_policy(path),
        plan_lead_seconds=sandbox.slot_seconds,
    )  # fmt: skip
    sandbox.advance_to(sandbox.slot_start(sandbox.current_slot() + HISTORY + 1))
    read: list[int] = []
    books = runtime.link.member_book
    runtime.link.member_book = lambda slot: (read.append(slot), books(slot))[1]  # type: ignore[method-assign]
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    report = runtime.step(now)
    assert report.decided_slot == slot and report.placed == []  # to buy, late
    (decision,) = [e for e in _log(tmp_path) if e["event"] == "decision"]
    assert decision["priced_at"] == "gate_closure"

    sandbox.advance_to(sandbox.gate_closure(slot) - runtime.late_seconds)
    read.clear()
    (committed,) = runtime.step(sandbox.dev.now()).placed
    assert committed.side == "buy"
    assert sorted(read) == list(range(slot - HISTORY, slot))  # revealed ones, each read once
    (priced,) = [e for e in _log(tmp_path) if e["event"] == "priced"]
    assert (priced["scenarios"], priced["tick"]) == (len(ERROR_LAGS), committed.tick)
    assert _orders(runtime, slot)[0]["status"] == "committed"
