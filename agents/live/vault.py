"""Moving freshly minted slot tokens into the market's vault, from the household's gateway.

The registry mints a slot's export to the owner's wallet after the slot; orders can only sell
what the owner's vault holds. Without a contract change, the owner lets one key of the gateway
move its energy tokens (ERC-1155 ``setApprovalForAll(gateway key, true)``, once); the gateway
then sends each slot's minted tokens to the market with ``safeTransferFrom(owner, market, ...)``
and the market credits the *owner* (``onERC1155Received`` credits ``from``). That key can move
the owner's energy tokens, never its money; :class:`VaultMover` only ever sends them to the
market. ``setApprovalForAll(key, false)`` ends it: that is the household's auto-sell switch (the
dApp's Agents page). The mover reads the approval before every pass; while it is off nothing is
moved (the tokens stay in the owner's wallet), the gateway goes on, and the change is logged
once (``auto_sell`` with ``on``), so switching off and on again needs no restart.

Durable intents as for orders (:mod:`agents.live.placing`): the move is written to the state
file (``intent``, with the block) before it is sent and ``moved`` once the receipt is in. An
``intent`` left by a crash is settled by :meth:`VaultMover.reconcile`: while the key has a
transaction pending it waits; then the move counts as done when the owner's wallet no longer
holds the tokens, else as ``unsent`` (and the next step moves what the wallet holds).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.errors import AgentRuntimeError
from agents.live.link import SEND_ERRORS, ChainLink
from agents.live.placing import Send
from agents.live.reports import StepReport
from agents.live.state import AgentState, MoveEntry
from wallet.errors import TransactionRevertedError

#: Slots before the current one whose minted tokens are looked for (a reading can land late).
LOOKBACK_SLOTS = 2


@dataclass
class VaultMover:
    """Moves minted tokens of the owner into the vault (see the module docstring)."""

    link: ChainLink
    state: AgentState
    send: Send
    switched_on: bool | None = None
    """The auto-sell switch as last read (None: not read yet)."""

    def approved(self) -> bool:
        """Whether the owner lets this key move its energy tokens (the auto-sell switch)."""
        token = self.link.chain.token
        return bool(
            self.link.read(lambda: token.is_approved_for_all(self.link.owner, self.link.agent))
        )

    def check_approval(self) -> None:
        """Raise :class:`AgentRuntimeError` unless the owner approved this key as operator."""
        if not self.approved():
            raise AgentRuntimeError(
                f"{self.link.owner} has not let {self.link.agent} move its energy tokens: the "
                f"owner sends EnergyToken.setApprovalForAll({self.link.agent}, true) once "
                "(`enerwise agent approve-vault`)"
            )

    def _wallet(self, slot: int) -> int:
        token = self.link.chain.token
        return int(self.link.read(lambda: token.balance_of(self.link.owner, slot)))

    def reconcile(self) -> None:
        for slot, move in self.state.moves.items():
            if move.status != "intent" or self.link.pending_txs():
                continue
            move.status = "moved" if self._wallet(slot) < move.qty_wh else "unsent"
            self.state.save()
            self.link.log("reconciled_move", slot=slot, qty_wh=move.qty_wh, status=move.status)

    def move(self, now: int, report: StepReport) -> None:
        """Move what the owner's wallet holds of the last slots whose window is still open
        (nothing while the owner's auto-sell switch is off)."""
        self.reconcile()
        on = self.approved()
        if on != self.switched_on:
            self.switched_on = on
            self.link.log("auto_sell", on=on)
        if not on:
            return
        calendar = self.link.calendar
        current = calendar.slot_of(now)
        for slot in range(current - LOOKBACK_SLOTS, current):
            if slot < 0 or now >= calendar.gate_closure(slot):
                continue
            earlier = self.state.moves.get(slot)
            if earlier is not None and earlier.status == "intent":
                continue  # still in doubt: never sent twice
            held = self._wallet(slot)
            if held <= 0:
                continue
            self._send(slot, held, report)

    def _send(self, slot: int, qty: int, report: StepReport) -> None:
        block = int(self.link.read(lambda: self.link.w3.eth.block_number))
        move = MoveEntry(qty, "intent", block=block)
        self.state.moves[slot] = move
        self.state.save()  # the intent is durable before anything is sent
        self.link.log("move_intent", slot=slot, qty_wh=qty)
        token, market = self.link.chain.token, self.link.market
        request = token.transfer(self.link.owner, market.address, slot, qty, gas=120_000)
        try:
            receipt = self.send(request)
        except TransactionRevertedError as exc:
            move.status = "failed"
            self.state.save()
            report.errors.append(f"move of slot {slot}: {exc}")
            self.link.log("move_failed", slot=slot, error=str(exc))
            return
        except SEND_ERRORS as exc:
            report.errors.append(f"move of slot {slot}: {type(exc).__name__}: {exc}")
            return  # reconcile() settles it
        move.status, move.tx = "moved", receipt["transactionHash"].to_0x_hex()
        self.state.save()
        report.moved.append((slot, qty))
        self.link.log("moved", slot=slot, qty_wh=qty, tx=move.tx)
