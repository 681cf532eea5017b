"""The EnergyMarket: typed reads and transaction builders.

Reads decode the contract's structs by field name (:mod:`energychain.records`); builders return
a :class:`wallet.TxRequest` for the caller's ``TransactionSender`` (the owner's key, an agent's
key, or a relayer's), so nothing here holds a key.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Protocol

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3.types import BlockIdentifier

from chain.artifacts import load_artifact
from energychain.access import Governed
from energychain.calendar import SlotCalendar
from energychain.records import ClaimPreview, Delegation, OrderRecord, SlotClearing, market_params
from energychain.units import BaseUnits, Tick, Wh
from market.clearing import MarketParams
from wallet.transactions import TxRequest

#: Levels per ``BookLens`` page (:meth:`Market.levels`): about 5k gas each, so a page stays far
#: below the ``eth_call`` gas caps of nodes (geth's default 50M) however large the book.
LENS_PAGE_LEVELS = 1_024
#: The ``BookLens`` constructor's arguments and its answer (contracts/lens/BookLens.sol).
_LENS_ARGS = ("address", "uint64", "uint16", "uint256")
_LENS_PAGE = ("uint16[]", "uint128[]", "uint128[]", "bool", "uint16")

#: ``(slot, is_buy, tick, qty_wh)``, one order of ``placeOrders``.
OrderSpec = tuple[int, bool, int, int]


class AgentBounds(Protocol):
    """What an owner grants an agent (``energychain.delegation.AgentGrant``)."""

    @property
    def agent(self) -> str: ...
    @property
    def budget_per_day(self) -> int: ...
    @property
    def sell_wh_per_day(self) -> int: ...
    @property
    def max_buy_tick(self) -> int: ...
    @property
    def min_sell_tick(self) -> int: ...
    @property
    def expiry(self) -> int: ...


class Market(Governed):
    """An EnergyMarket deployment (see the module docstring)."""

    # ------------------------------------------------------------------ reads
    def params(self, block: BlockIdentifier = "latest") -> MarketParams:
        """The market's parameters (the fee and treasury as they are at ``block``)."""
        return market_params(self.read("params", block=block))

    def calendar(self, params: MarketParams | None = None) -> SlotCalendar:
        """Slot boundaries and order windows (``params`` spares a read when known)."""
        params = params or self.params()
        return SlotCalendar(
            epoch=int(self.call("epoch")),
            slot_seconds=int(self.call("slotSeconds")),
            settlement_seconds=params.settlement_seconds,
            open_ahead_seconds=params.open_ahead_seconds,
        )

    def clearing(self, slot: int) -> SlotClearing:
        return SlotClearing.from_fields(self.read("clearing", slot))

    def residual_commitment(self, slot: int) -> bytes:
        """The hash of what ``slot`` left unmatched, stored when it was cleared (zero before);
        :func:`energychain.pool.residual_commitment` computes it from a residual."""
        return bytes(self.call("residualCommitment", slot))

    def levels(
        self, slot: int, block: BlockIdentifier = "latest", page_levels: int = LENS_PAGE_LEVELS
    ) -> dict[int, tuple[Wh, Wh]]:
        """Every non-empty level of ``slot``'s book, ``{tick: (buy Wh, sell Wh)}`` in tick order.

        Read through the deployless ``BookLens`` (contracts/lens/BookLens.sol): one ``eth_call``
        per ``page_levels`` levels, where walking ``nextActiveTick`` and ``level`` from here took
        two round trips per level (a city pool's residuals read 64 levels of ten markets).
        """
        if page_levels < 1:
            raise ValueError(f"page_levels must be at least 1, got {page_levels}")
        code = bytes.fromhex(load_artifact("BookLens").bytecode.removeprefix("0x"))

        def page(from_tick: int) -> tuple[Any, ...]:
            args = self.w3.codec.encode(_LENS_ARGS, [self.address, slot, from_tick, page_levels])
            answer = self.w3.eth.call({"data": HexBytes(code + args)}, block)
            return tuple(self.w3.codec.decode(_LENS_PAGE, bytes(answer)))

        out: dict[int, tuple[Wh, Wh]] = {}
        tick = 0
        while True:
            ticks, buys, sells, more, tick = self.guard(
                f"{self.name}.levels via BookLens", partial(page, tick)
            )
            for t, buy_wh, sell_wh in zip(ticks, buys, sells, strict=True):
                out[int(t)] = (Wh(int(buy_wh)), Wh(int(sell_wh)))
            if not more:
                return out

    def gate_closure(self, slot: int) -> int:
        return int(self.call("gateClosure", slot))

    def void_at(self, slot: int) -> int:
        """When ``slot`` becomes void if nobody cleared it: from then anyone may cancel its
        orders and every escrow goes back to its owner."""
        return int(self.call("voidAt", slot))

    def balance_of(self, account: str) -> BaseUnits:
        """Payment base units ``account`` holds in the vault."""
        return BaseUnits(int(self.call("balanceOf", account)))

    def energy_balance_of(self, account: str, slot: int) -> Wh:
        """Wh of ``slot`` tokens ``account`` holds in the vault."""
        return Wh(int(self.call("energyBalanceOf", account, slot)))

    def order(self, order_id: int) -> OrderRecord | None:
        """The open order ``order_id`` (None once claimed or cancelled)."""
        return OrderRecord.from_fields(self.read("order", order_id))

    def preview_claim(self, order_id: int) -> ClaimPreview:
        return ClaimPreview.from_fields(self.read("previewClaim", order_id))

    def delegation(self, owner: str, agent: str, now: int) -> Delegation | None:
        """``owner``'s delegation to ``agent`` (None: never granted or revoked)."""
        return Delegation.from_fields(owner, agent, self.read("delegation", owner, agent), now)

    def payment_token(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self.call("paymentToken"))

    def registry_address(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self.call("registry"))

    def energy_token_address(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self.call("energyToken"))

    # ------------------------------------------------------------------ vault
    def deposit(self, amount: BaseUnits | int, gas: int | None = None) -> TxRequest:
        return self.request("deposit", amount, gas=gas)

    def withdraw(self, amount: BaseUnits | int, gas: int | None = None) -> TxRequest:
        return self.request("withdraw", amount, gas=gas)

    def withdraw_energy(self, slot: int, qty_wh: Wh | int, gas: int | None = None) -> TxRequest:
        return self.request("withdrawEnergy", slot, qty_wh, gas=gas)

    # ------------------------------------------------------------------ orders
    def place_order(
        self,
        owner: str,
        slot: int,
        is_buy: bool,
        tick: Tick | int,
        qty_wh: Wh | int,
        gas: int | None = None,
    ) -> TxRequest:
        """``placeOrder`` for ``owner`` (sent by the owner or an agent it delegated to)."""
        return self.request("placeOrder", owner, slot, is_buy, tick, qty_wh, gas=gas)

    def place_orders(
        self, owner: str, orders: Sequence[OrderSpec], gas: int | None = None
    ) -> TxRequest:
        """``placeOrders`` for ``(slot, is_buy, tick, qty_wh)`` tuples."""
        return self.request("placeOrders", owner, list(orders), gas=gas)

    def cancel_order(self, order_id: int, gas: int | None = None) -> TxRequest:
        return self.request("cancelOrder", order_id, gas=gas)

    def cancel_orders(self, order_ids: Sequence[int], gas: int | None = None) -> TxRequest:
        return self.request("cancelOrders", list(order_ids), gas=gas)

    def clear(self, slot: int, gas: int | None = None) -> TxRequest:
        return self.request("clear", slot, gas=gas)

    def claim(self, order_id: int, gas: int | None = None) -> TxRequest:
        """``claim``: settle one order of a cleared slot (anyone may send it; the owner is paid)."""
        return self.request("claim", order_id, gas=gas)

    def claim_batch(self, order_ids: Sequence[int], gas: int | None = None) -> TxRequest:
        return self.request("claimBatch", list(order_ids), gas=gas)

    # ------------------------------------------------------------------ agents and fee
    def authorize_agent(
        self,
        agent: str,
        budget_per_day: BaseUnits | int,
        sell_wh_per_day: Wh | int,
        max_buy_tick: Tick | int,
        min_sell_tick: Tick | int,
        expiry: int,
        gas: int | None = None,
    ) -> TxRequest:
        """``authorizeAgent``: buy escrow and sold Wh per rolling day, price bounds, expiry."""
        return self.request(
            "authorizeAgent",
            agent,
            budget_per_day,
            sell_wh_per_day,
            max_buy_tick,
            min_sell_tick,
            expiry,
            gas=gas,
        )

    def revoke_agent(self, agent: str) -> TxRequest:
        return self.request("revokeAgent", agent)

    def authorize_agent_grant(self, grant: AgentBounds, gas: int | None = None) -> TxRequest:
        """``authorizeAgent`` from anything carrying the grant's fields."""
        return self.authorize_agent(
            grant.agent,
            grant.budget_per_day,
            grant.sell_wh_per_day,
            grant.max_buy_tick,
            grant.min_sell_tick,
            grant.expiry,
            gas=gas,
        )

    def set_fee(self, fee_bps: int, treasury: str) -> TxRequest:
        return self.request("setFee", fee_bps, treasury)
