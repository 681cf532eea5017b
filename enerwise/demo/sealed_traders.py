"""Baseline households in a sealed market: the truthful bids of :class:`TruthfulTrader`, sealed.

At the boundary that opens a slot's settlement window each household commits its orders (a
hash and locked collateral, ``commitOrders``); salt and order are first written to a
:class:`~energychain.commitment_journal.CommitmentJournal` (the durable-intent rule: a salt
that reached the chain is never lost). At the next boundary, inside the slot's reveal window,
every commitment is opened in one ``revealOrders`` batch; once cleared, the revealed orders
(they keep their commitment ids) are claimed like open-market orders. A commitment whose
reveal window passed unrevealed is ended with ``reclaimCommitment`` (its bond forfeited).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from devchain.sandbox import GAS_ERC1155_TRANSFER, Sandbox
from energychain.commitment_journal import CommitmentJournal
from energychain.commitments import SealedOrder, minimum_collateral, new_salt
from energychain.sealed_market import SealedMarket
from enerwise.demo.community import DayPlan, Household
from enerwise.demo.meters import Metered
from enerwise.demo.traders import TraderReport, TruthfulTrader
from wallet.errors import TransactionRevertedError
from wallet.transactions import TxRequest

logger = logging.getLogger(__name__)

#: Gas per commitment in ``commitOrders`` and per reveal in ``revealOrders`` (measured about
#: 59k and 45k, gas-snapshot.json), with room.
GAS_PER_COMMIT = 90_000
GAS_PER_REVEAL = 90_000
GAS_PER_RECLAIM = 80_000


@dataclass(frozen=True)
class _Sealed:
    """A commitment on chain: its id, the order it hides, and the journal's key of it."""

    commit_id: int
    order: SealedOrder
    commitment: bytes


class SealedTruthfulTrader(TruthfulTrader):
    """Truthful baseline households in a sealed market (see the module docstring)."""

    def __init__(
        self,
        sandbox: Sandbox,
        plan: DayPlan,
        households: Sequence[Household],
        journal_path: Path,
    ) -> None:
        super().__init__(sandbox, plan, households)
        market = sandbox.contracts.market
        if not isinstance(market, SealedMarket):
            raise TypeError("a sealed trader needs a SealedEnergyMarket deployment")
        self.market = market
        self.journal = CommitmentJournal(journal_path)
        self.chain_id = sandbox.deployment.chain_id
        self.bond = market.bond_amount()
        self._committed: dict[int, list[_Sealed]] = {}

    def close(self) -> None:
        self.journal.close()

    # ------------------------------------------------------------------ commit
    def _trade_job(
        self, member: Household, slot: int, k: int, metered: Metered, report: TraderReport
    ) -> Callable[[], int] | None:
        requests, sealed = self._commit_requests(member, slot, k, metered)
        return self._commit_job(member, slot, requests, sealed, report) if requests else None

    def _commit_requests(
        self, member: Household, slot: int, k: int, metered: Metered
    ) -> tuple[list[TxRequest], list[_Sealed]]:
        buy_tick, sell_tick = self._prices(member, k)
        orders: list[SealedOrder] = []
        requests: list[TxRequest] = []
        owner = member.account.address
        if metered.export_wh >= self.min_wh:
            requests.append(
                self.sandbox.contracts.token.transfer(
                    owner, self.market.address, slot, metered.export_wh, gas=GAS_ERC1155_TRANSFER
                )
            )
            orders.append(SealedOrder(slot, owner, False, sell_tick, metered.export_wh, new_salt()))
        if metered.import_wh >= self.min_wh:
            orders.append(SealedOrder(slot, owner, True, buy_tick, metered.import_wh, new_salt()))
        if not orders:
            return [], []
        specs, sealed = [], []
        for order in orders:
            collateral = minimum_collateral(order, self.sandbox.params, self.bond)
            # Durable before the send: the salt is on disk before its hash can be on chain.
            entry = self.journal.record_intent(
                self.chain_id, self.market.address, order, collateral
            )
            specs.append((slot, entry.commitment, collateral.money, collateral.energy_wh))
            sealed.append(_Sealed(0, order, entry.commitment))
        requests.append(
            self.market.commit_orders(owner, specs, gas=GAS_PER_COMMIT * len(specs) + 100_000)
        )
        return requests, sealed

    def _commit_job(
        self,
        member: Household,
        slot: int,
        requests: list[TxRequest],
        sealed: list[_Sealed],
        report: TraderReport,
    ) -> Callable[[], int]:
        def run() -> int:
            try:
                receipts = member.account.sender.send_batch(requests)
            except Exception as exc:  # one household's failure must not stop the market
                if isinstance(exc, TransactionRevertedError):
                    for s in sealed:
                        self.journal.mark_failed(s.commitment, str(exc))
                # Otherwise the outcome is unknown: the entries stay ``intent`` with their salts.
                report.errors.append(f"{member.name}: {exc}")
                logger.warning("%s: commitments for slot %d failed: %s", member.name, slot, exc)
                return 0
            ids = [
                int(event["args"]["commitId"])
                for receipt in receipts
                for event in self.market.events(receipt, "OrderCommitted")
            ]
            tx = receipts[-1]["transactionHash"].to_0x_hex()
            on_chain = []
            for s, commit_id in zip(sealed, ids, strict=True):
                self.journal.mark_committed(s.commitment, commit_id, tx)
                on_chain.append(_Sealed(commit_id, s.order, s.commitment))
            self._committed.setdefault(slot, []).extend(on_chain)
            return len(on_chain)

        return run

    # ------------------------------------------------------------------ reveal, reclaim
    def _open_due(self, now: int, report: TraderReport) -> None:
        """Reveal every commitment whose window is open; end those whose window passed."""
        for slot in sorted(self._committed):
            opens_after, closes_at = self.market.reveal_window(slot)
            if now <= opens_after:
                continue
            sealed = self._committed.pop(slot)
            if now <= closes_at:
                self._reveal(slot, sealed, report)
            else:
                self._reclaim(slot, sealed, report)

    def _reveal(self, slot: int, sealed: list[_Sealed], report: TraderReport) -> None:
        """One ``revealOrders`` batch: anyone may send it, each commitment binds its owner."""
        try:
            receipt = self._claimer().sender.transact(
                self.market.reveal_orders(
                    [(s.commit_id, s.order) for s in sealed],
                    gas=GAS_PER_REVEAL * len(sealed) + 100_000,
                )
            )
        except Exception as exc:
            report.errors.append(f"reveals of slot {slot}: {exc}")
            logger.warning("reveals of slot %d failed: %s", slot, exc)
            self._committed[slot] = sealed  # still committed: the next boundary ends them
            return
        events = self.market.events(receipt, "OrderRevealed")
        revealed = {int(e["args"]["commitId"]) for e in events}
        tx = receipt["transactionHash"].to_0x_hex()
        for s in sealed:
            if s.commit_id in revealed:
                self.journal.mark_revealed(s.commitment, s.commit_id, tx)
        self._book.add(slot, [s.commit_id for s in sealed if s.commit_id in revealed])

    def _reclaim(self, slot: int, sealed: list[_Sealed], report: TraderReport) -> None:
        for s in sealed:
            try:
                self._claimer().sender.transact(
                    self.market.reclaim_commitment(s.commit_id, gas=GAS_PER_RECLAIM)
                )
            except Exception as exc:
                report.errors.append(f"reclaim of a slot {slot} commitment: {exc}")
                continue
            self.journal.mark_reclaimed(s.commitment, "its reveal window passed")
