"""The live agent's link to its market: reads with retries, prices and the decision log.

Every read goes through :meth:`ChainLink.read`: retried with exponential backoff
(:class:`chain.retry.Backoff`, no jitter) on connection errors, one
:class:`~agents.live.state.AgentRuntimeError` when the node stays away. Reverts and malformed
answers are never retried. Decisions and actions go to the ``agents.live`` logger and, when a
path is given, to a JSON lines log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TimeExhausted

from agents.errors import AgentRuntimeError, ConfigError, NodeUnreachableError
from agents.live.forecasts import SlotForecast
from agents.live.policies import MarketSnapshot
from agents.live.state import OrderEntry
from agents.prosumer import RECENT_SLOTS
from agents.tariffs import MICRO_EUR
from chain.errors import RpcError
from chain.retry import Backoff
from energychain.deploy import EnergyChain
from energychain.events import EventReader
from energychain.records import Delegation, SlotClearing
from energychain.sealed_market import SealedMarket
from energychain.units import base_units_per_eur
from market.clearing import MarketParams, Order, Side
from wallet.errors import TransactionError
from wallet.transactions import TransactionSender

if TYPE_CHECKING:
    from agents.policies.tick_model import TickModel

logger = logging.getLogger("agents.live")

RPC_ERRORS: tuple[type[Exception], ...] = (
    RpcError,
    requests.RequestException,
    ProviderConnectionError,
    ConnectionError,
    TimeoutError,
    TimeExhausted,
)
"""Failures of the node connection (retried); contract reverts are not among them."""

SEND_ERRORS: tuple[type[Exception], ...] = (TransactionError, *RPC_ERRORS)
"""Failures of a send after which the node may or may not hold the transaction."""

ONE_TRY = Backoff(attempts=1)
"""Event reads try once: :meth:`ChainLink.read` retries the whole read."""
IDS_PER_QUERY = 200
"""Order ids per ``OrderCancelled`` log query (one topic list each)."""

_T = TypeVar("_T")


class ChainLink:
    """One owner's market as its agent key sees it (see the module docstring)."""

    def __init__(
        self,
        chain: EnergyChain,
        sender: TransactionSender,
        owner: str,
        *,
        log_path: Path | None = None,
        book_from_block: int = 0,
        retries: int = 5,
        backoff: float = 0.5,
        sleep: Callable[[float], None],
    ) -> None:
        if not Web3.is_address(owner):
            raise ConfigError(f"owner {owner!r} is not an Ethereum address")
        self.chain = chain
        self.market = chain.market
        self.sealed = isinstance(self.market, SealedMarket)
        """A sealed market: orders are committed, then revealed after gate closure."""
        self._bond: int | None = None
        self._reveal_seconds: int | None = None
        self.sender = sender
        self.w3 = sender.w3
        self.owner: ChecksumAddress = Web3.to_checksum_address(owner)
        self.agent: ChecksumAddress = sender.address
        if self.agent == self.owner:
            raise ConfigError("the agent key is the owner's key: delegate to a separate agent key")
        self.log_path = log_path
        self.book_from_block = int(book_from_block)
        self.backoff = Backoff(base=backoff, cap=60.0, attempts=max(1, retries), jitter=0.0)
        self._sleep = sleep
        self.params = self.read(self.market.params)
        self.calendar = self.read(lambda: self.market.calendar(self.params))
        self._unit_cache: float | None = None

    # ------------------------------------------------------------------ reads
    def read(self, fn: Callable[[], _T]) -> _T:
        """``fn()`` with retries and exponential backoff on connection errors."""

        def retrying(attempt: int, exc: BaseException, _delay: float) -> None:
            self.log("rpc_retry", attempt=attempt, error=f"{type(exc).__name__}: {exc}")

        try:
            return self.backoff.call(fn, RPC_ERRORS, sleep=self._sleep, on_retry=retrying)
        except RPC_ERRORS as exc:
            raise NodeUnreachableError(
                f"the node did not answer after {self.backoff.attempts} attempts: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    def delegation(self, now: int) -> Delegation:
        """The agent's delegation (raises :class:`AgentRuntimeError` if absent or expired)."""
        found = self.read(lambda: self.market.delegation(self.owner, self.agent, now))
        if found is None:
            raise AgentRuntimeError(
                f"{self.owner} has not authorized agent {self.agent} on market "
                f"{self.market.address} (or revoked it): `enerwise wallet agent grant` first"
            )
        if found.expiry <= now:
            raise AgentRuntimeError(
                f"the delegation of agent {self.agent} expired at "
                f"{datetime.fromtimestamp(found.expiry, UTC).isoformat()}"
            )
        return found

    def clearing(self, slot: int) -> SlotClearing:
        return self.read(lambda: self.market.clearing(slot))

    def pending_txs(self) -> bool:
        """Whether the agent has a transaction in the node's pool (not mined yet)."""
        pending = self.read(lambda: self.w3.eth.get_transaction_count(self.agent, "pending"))
        latest = self.read(lambda: self.w3.eth.get_transaction_count(self.agent, "latest"))
        return int(pending) > int(latest)

    def find_order(self, slot: int, order: OrderEntry, known: set[int]) -> int | None:
        """The id of the agent's order matching ``order`` on chain (not in ``known``), if any."""
        events = EventReader(self.market, backoff=ONE_TRY)
        logs = self.read(
            lambda: events.read(
                "OrderPlaced", int(order.block or 0), filters={"owner": self.owner, "slot": slot}
            )
        )
        for log in logs:
            args = log["args"]
            if (
                bool(args["isBuy"]) != order.is_buy
                or int(args["tick"]) != order.tick
                or int(args["qtyWh"]) != order.qty_wh
                or int(args["orderId"]) in known
            ):
                continue
            tx_hash = log["transactionHash"]
            tx = self.read(lambda h=tx_hash: self.w3.eth.get_transaction(h))  # type: ignore[misc]
            if Web3.to_checksum_address(tx["from"]) == self.agent:
                return int(args["orderId"])
        return None

    # ------------------------------------------------------------------ prices
    def tick_for(self, price_per_kwh: float) -> int:
        """The nearest tick of ``price_per_kwh`` (payment base units per kWh), in range."""
        tick = round((price_per_kwh - self.params.price_floor) / self.params.tick_size)
        return min(max(tick, 0), self.params.max_tick)

    def unit(self) -> float:
        """Payment base units per EUR (the token's decimals, read once)."""
        if self._unit_cache is None:
            decimals = self.read(self.chain.payment.decimals)
            self._unit_cache = float(base_units_per_eur(decimals))
        return self._unit_cache

    def price_range(self, forecast: SlotForecast | None) -> tuple[float, float]:
        """``(feed-in, retail)`` of the decided slot in base units per kWh (the market's range
        without a forecast)."""
        if forecast is None:
            return float(self.params.price_floor), float(self.params.price_top)
        unit = self.unit()
        return float(forecast.feed_in[0]) * unit, float(forecast.retail[0]) * unit

    def params_micro(self) -> MarketParams:
        """The chain's market with prices in micro-EUR per kWh (the simulator's unit), with the
        fee in force now."""
        scale = MICRO_EUR / self.unit()
        now = self.read(self.market.params)
        return MarketParams(
            price_floor=round(self.params.price_floor * scale),
            tick_size=max(1, round(self.params.tick_size * scale)),
            max_tick=self.params.max_tick,
            fee_bps=now.fee_bps,
        )

    def frac(self, tick: int, low: float, high: float) -> float:
        if high <= low:
            return 0.0
        return min(max((self.params.price(tick) - low) / (high - low), 0.0), 1.0)

    # ------------------------------------------------------------------ the public book
    def market_snapshot(self, slot: int, low: float, high: float) -> MarketSnapshot:
        """Recent public results before ``slot``, as fractions of ``low..high``."""
        recent: list[float] = []
        last: SlotClearing | None = None
        for s in range(slot - RECENT_SLOTS, slot):
            record = self.clearing(s) if s >= 0 else None
            if record is None or not record.traded:
                recent.append(-1.0)
            else:
                recent.append(self.frac(record.clearing_tick, low, high))
            if record is not None and record.cleared:
                last = record
        if last is None:
            return MarketSnapshot(recent=tuple(recent))
        buy, sell = last.buy_marginal, last.sell_marginal
        bid = self.frac(buy.tick, low, high) if buy.level_wh > buy.allocated_wh else -1.0
        ask = self.frac(sell.tick, low, high) if sell.level_wh > sell.allocated_wh else -1.0
        unfilled_buy = buy.level_wh - buy.allocated_wh
        imbalance = (unfilled_buy - (sell.level_wh - sell.allocated_wh)) / 1000.0
        return MarketSnapshot(tuple(recent), bid, ask, imbalance)

    def bond(self) -> int:
        """Sealed market: the bond every commitment locks (read once: a constructor value)."""
        if self._bond is None:
            market = self.market
            assert isinstance(market, SealedMarket)
            self._bond = int(self.read(market.bond_amount))
        return self._bond

    def reveal_window(self, slot: int) -> tuple[int, int]:
        """Sealed market: ``(opens_after, closes_at)`` of ``slot``'s reveals."""
        if self._reveal_seconds is None:
            market = self.market
            assert isinstance(market, SealedMarket)
            self._reveal_seconds = int(self.read(market.reveal_seconds))
        closure = self.calendar.gate_closure(slot)
        return closure, closure + self._reveal_seconds

    def clears_from(self, slot: int) -> int:
        """The first moment ``slot`` can be cleared: gate closure, or after the reveal window."""
        if not self.sealed:
            return self.calendar.gate_closure(slot)
        return self.reveal_window(slot)[1] + 1

    def pricing_book(self, slot: int) -> tuple[Order, ...]:
        """The others' orders an order of ``slot`` is priced against: the slot's visible book in
        an open market; in a sealed one the newest book revealed before the slot's gate closure
        (:data:`~agents.policies.visible.SEALED_PRICE_LAG_SLOTS` back; one tick range on chain,
        so nothing to move)."""
        from agents.policies.visible import SEALED_PRICE_LAG_SLOTS

        return self.visible_book(slot - SEALED_PRICE_LAG_SLOTS if self.sealed else slot)

    def pricing_scenarios(
        self, slot: int, tick_model: TickModel | None = None
    ) -> list[Sequence[Order]]:
        """The books a scenario-priced order of ``slot`` averages over
        (:func:`~agents.policies.visible.pricing_scenarios`): the slot's visible book in an open
        market; in a sealed one the :data:`~agents.policies.visible.SCENARIO_BOOKS` newest books
        revealed before the slot's gate closure (from
        :data:`~agents.policies.visible.SEALED_PRICE_LAG_SLOTS` back), or with ``tick_model``
        the books it expects for the slot from the revealed ones (:meth:`member_book`; one tick
        range on chain), as the simulator's ``BookMpc(pricing="predicted")``."""
        from agents.policies.tick_model import HISTORY
        from agents.policies.visible import SCENARIO_BOOKS, SEALED_PRICE_LAG_SLOTS

        if not self.sealed:
            return [self.visible_book(slot)]
        if tick_model is not None and slot - HISTORY >= 0:
            params = self.params_micro()
            return list(tick_model.expected_books(self.member_book, lambda _slot: params, slot))
        newest = slot - SEALED_PRICE_LAG_SLOTS
        return [self.visible_book(s) for s in range(newest, newest - SCENARIO_BOOKS, -1) if s >= 0]

    def plan_lag_slots(self) -> int:
        """How far back the newest final book lies when a slot starts (open or sealed)."""
        from agents.policies.visible import MARKET_OPEN, MARKET_SEALED, plan_lag_slots

        return plan_lag_slots(MARKET_SEALED if self.sealed else MARKET_OPEN)

    def visible_book(self, slot: int) -> tuple[Order, ...]:
        """The other owners' orders of ``slot`` on chain now: its ``OrderPlaced`` logs minus
        the cancelled ids, without the owner's own orders (ids as decimal strings)."""
        return tuple(
            Order(
                str(order_id),
                Side.BUY if bool(args["isBuy"]) else Side.SELL,
                int(args["tick"]),
                int(args["qtyWh"]),
            )
            for order_id, args in sorted(self._others_orders(slot).items())
        )

    def member_book(self, slot: int) -> tuple[Order, ...]:
        """:meth:`visible_book` with each order named by its owner and side (``0xab..:buy``,
        ``:buy:1`` and on for an owner's further orders on that side), so that a member can be
        followed from slot to slot (the tick model's books:
        :meth:`~agents.policies.tick_model.TickModel.expected_books`)."""
        seen: dict[str, int] = {}
        orders = []
        for _, args in sorted(self._others_orders(slot).items()):
            is_buy = bool(args["isBuy"])
            member = f"{Web3.to_checksum_address(args['owner'])}:{'buy' if is_buy else 'sell'}"
            count = seen.get(member, 0)
            seen[member] = count + 1
            orders.append(
                Order(
                    member if count == 0 else f"{member}:{count}",
                    Side.BUY if is_buy else Side.SELL,
                    int(args["tick"]),
                    int(args["qtyWh"]),
                )
            )
        return tuple(orders)

    def _others_orders(self, slot: int) -> dict[int, Any]:
        """The ``OrderPlaced`` arguments of ``slot``'s live orders of other owners, by id."""
        if slot < 0:
            return {}
        events = EventReader(self.market, backoff=ONE_TRY)
        start = self.book_from_block
        logs = self.read(lambda: events.read("OrderPlaced", start, filters={"slot": slot}))
        placed: dict[int, Any] = {}
        for log in logs:
            args = log["args"]
            if Web3.to_checksum_address(args["owner"]) != self.owner:
                placed[int(args["orderId"])] = args
        ids = sorted(placed)
        for i in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[i : i + IDS_PER_QUERY]
            cancelled = self.read(
                lambda c=chunk: events.read(  # type: ignore[misc]
                    "OrderCancelled", start, filters={"orderId": c}
                )
            )
            for log in cancelled:
                placed.pop(int(log["args"]["orderId"]), None)
        return placed

    # ------------------------------------------------------------------ logging
    def log(self, event: str, **fields: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(), "event": event, "owner": self.owner}
        record.update(fields)
        logger.info("%s %s", event, fields)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as handle:
                handle.write(json.dumps(record, default=str) + "\n")
