"""The agent runtime: a policy trading for its owner on chain, through a delegated agent key.

Every slot :meth:`AgentRuntime.step` does, in this order:

1. **Reconcile** orders whose intent was written but whose outcome is not known (a crash or an
   RPC error between writing the intent and recording the receipt): the market's
   ``OrderPlaced`` logs for the owner and slot, sent from the agent's address, decide whether
   the order exists; an order still pending in the node's pool is waited for. So a restart
   never places an order twice.
2. **Claim** every placed order of a cleared slot (``claimBatch``; claims pay the owner, anyone
   may send them). With ``clear_slots`` it first clears a slot past gate closure that nobody
   cleared (permissionless on the contract).
3. **Decide** for the next slot (the one that starts after ``now``): forecast load, PV and
   prices, ask the policy for a battery set-point and buy/sell prices, run the battery model,
   and place a buy order for the expected import. An expected export becomes a *sell plan*:
   sell orders need the slot's energy tokens in the owner's vault, which the meter mints after
   the slot, so the plan is placed (up to what the vault holds) during the slot's settlement
   window, before gate closure.

**Book policies** (``mpc_book`` and residual learned policies, :class:`BookMpcPolicy`,
:class:`LearnedPolicy`) decide in two steps, as the simulator's
:class:`~agents.policies.mpc.BookMpc`: in the last ``plan_lead_seconds`` before the slot
starts the battery set-point is planned by
:func:`~agents.policies.mpc.plan_with_book` on the forecasts, with the chain's newest book
(the orders of the slot :data:`~agents.policies.mpc.BOOK_LAG_SLOTS` back, other owners' only,
cancelled ones removed) as the slot's market; the expected import becomes a *buy plan* like
the sell plan. Both plans are placed late, in the last ``late_seconds`` before gate closure,
when the slot's other orders are on chain, at the tick of
:func:`~agents.policies.best_response.best_response_frac` against that visible book. Only
book policies cost the extra log reads.

Before sending anything it checks what the contract would reject, with one clear reason: the
delegation (present, not expired), the owner's price bounds (a buy above ``maxBuyTick`` is
lowered to it, a sell below ``minSellTick`` raised to it: a stricter price is still the
owner's rule), the day's budget (a buy that does not fit is cut to what does, or refused), the
owner's vault balance and the order window. Reads are retried with exponential backoff on
connection errors; a send is never retried blindly (the node may have taken it): the intent
stays open and step 1 settles it on the next call.

State lives in one JSON file (written atomically: temp file, fsync, rename): per slot the
decision and each order's status ``intent`` -> ``placed`` -> ``claimed`` (or ``refused`` /
``failed``), plus the simulated state of charge. Decisions and actions go to an optional JSON
lines log. The runtime holds only the agent key; the owner's key is never needed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import requests
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import ProviderConnectionError, TimeExhausted

from agents.actions import action_to_decision, residual_setpoint
from agents.community import TRUTHFUL, BatterySpec, Decision, metered_wh, to_tick
from agents.data.calendar import SLOTS_PER_HOUR, slot_of_year
from agents.errors import AgentError, ConfigError, PolicyError
from agents.forecasting.base import HORIZON
from agents.prosumer import RECENT_SLOTS, observation_vector, with_plan
from agents.tariffs import MICRO_EUR
from chain.errors import RpcError
from chain.retry import Backoff
from energychain.deploy import EnergyChain
from energychain.events import EventReader
from energychain.records import Delegation, SlotClearing
from energychain.units import base_units_per_eur
from market.clearing import WH_PER_KWH, MarketParams, Order, Side, buy_escrow
from wallet.errors import TransactionError, TransactionRevertedError
from wallet.transactions import TransactionSender

logger = logging.getLogger(__name__)

STATE_VERSION = 1
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
"""Event reads try once: :meth:`AgentRuntime._read` retries the whole read."""

_T = TypeVar("_T")


class AgentRuntimeError(AgentError, RuntimeError):
    """The runtime cannot act: no delegation, expired, wrong chain, unusable state file."""


# ---------------------------------------------------------------------------- forecasts
@dataclass(frozen=True, slots=True)
class SlotForecast:
    """What the forecaster expects from the slot's hour on, hourly, ``HORIZON`` values each.

    Attributes:
        load_kw: household demand.
        pv_kw: PV output.
        retail: import tariff, EUR/kWh.
        feed_in: export tariff, EUR/kWh.
        slot_load_kw: expected demand during the slot itself (default: the first hour's).
        slot_pv_kw: expected PV output during the slot itself.
    """

    load_kw: np.ndarray[Any, np.dtype[np.float64]]
    pv_kw: np.ndarray[Any, np.dtype[np.float64]]
    retail: np.ndarray[Any, np.dtype[np.float64]]
    feed_in: np.ndarray[Any, np.dtype[np.float64]]
    slot_load_kw: float | None = None
    slot_pv_kw: float | None = None

    def __post_init__(self) -> None:
        for name in ("load_kw", "pv_kw", "retail", "feed_in"):
            if np.asarray(getattr(self, name)).shape != (HORIZON,):
                raise ConfigError(f"forecast {name} must hold {HORIZON} hourly values")

    @property
    def load_now(self) -> float:
        return float(self.load_kw[0] if self.slot_load_kw is None else self.slot_load_kw)

    @property
    def pv_now(self) -> float:
        return float(self.pv_kw[0] if self.slot_pv_kw is None else self.slot_pv_kw)


class Forecaster(Protocol):
    """Forecasts for the slot starting at ``slot_start`` (unix seconds)."""

    def forecast(self, slot_start: int) -> SlotForecast: ...


class ReplayForecaster:
    """Forecasts of one community household, replayed on the chain's clock.

    A chain timestamp is mapped onto the simulated year by its day of year and time of day in
    the package's fixed UTC+1 axis (:mod:`agents.data.calendar`); the forecasts are those the
    simulator gives its agents (known day-ahead prices, forecast load and PV), so a policy sees
    on chain what it saw in training.

    Args:
        community: the community (see :func:`agents.community.build_community`).
        household: index of the household whose series are replayed.
        forecasts: its forecasts (:func:`agents.forecasting.provider.household_forecasts`).
    """

    def __init__(self, community: Any, household: int, forecasts: Any) -> None:
        self.community = community
        self.household = household
        self.forecasts = forecasts
        self.year_start = datetime(community.config.year, 1, 1, tzinfo=UTC) - timedelta(hours=1)

    @classmethod
    def build(cls, household: int = 0, method: str = "naive") -> ReplayForecaster:
        """Draw the default community and forecast ``household`` (seconds; cached on disk)."""
        from agents.community import CommunityConfig, build_community
        from agents.forecasting.provider import ForecastMethod, household_forecasts
        from agents.rl.setup import DEFAULT_CACHE

        community = build_community(CommunityConfig())
        if not 0 <= household < len(community.households):
            raise ConfigError(f"household {household} is not in the community")
        forecasts = household_forecasts(
            community.load_kw[household],
            community.pv_kw[household],
            community.spot,
            community.config.year,
            ForecastMethod(method),
            cache_dir=DEFAULT_CACHE,
        )
        return cls(community, household, forecasts)

    def forecast(self, slot_start: int) -> SlotForecast:
        slot = slot_of_year(slot_start)
        origin = max(slot // 4 - 1, 0)
        fc, tariffs = self.forecasts, self.community.tariffs
        spec = tariffs.spec
        spot = fc.spot[origin] / 1000.0
        return SlotForecast(
            load_kw=np.asarray(fc.load_kw[origin], dtype=np.float64),
            pv_kw=np.asarray(fc.pv_kw[origin], dtype=np.float64),
            retail=(spot + spec.surcharges) * (1.0 + spec.vat),
            feed_in=np.maximum(spot, 0.0) + spec.feed_in_premium,
            slot_load_kw=float(self.community.load_kw[self.household, slot]),
            slot_pv_kw=float(self.community.pv_kw[self.household, slot]),
        )


# ---------------------------------------------------------------------------- policies
@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """The public book of recent slots, as tick fractions of the *decided* slot's price range.

    Attributes:
        recent: clearing fractions of the last :data:`RECENT_SLOTS` slots (-1: nothing cleared).
        unfilled_bid: highest buy tick left (partly) unfilled in the last cleared slot (-1: none).
        unfilled_ask: lowest sell tick left (partly) unfilled (-1: none).
        imbalance_kwh: unfilled demand minus unfilled supply of that slot.
    """

    recent: tuple[float, ...] = (-1.0,) * RECENT_SLOTS
    unfilled_bid: float = -1.0
    unfilled_ask: float = -1.0
    imbalance_kwh: float = 0.0

    def anchors(self) -> tuple[float, float]:
        """``(buy, sell)`` anchors as :func:`agents.actions.market_anchors` defines."""
        cleared = self.recent[-1]
        buy = self.unfilled_ask if self.unfilled_ask >= 0 else (cleared if cleared >= 0 else 1.0)
        sell = self.unfilled_bid if self.unfilled_bid >= 0 else (cleared if cleared >= 0 else 0.0)
        return float(buy), float(sell)


@dataclass(frozen=True, slots=True)
class SlotContext:
    """Everything a policy may look at for one slot.

    Attributes:
        slot: the chain's slot number.
        slot_start: its start, unix seconds.
        soc_kwh: the battery's state of charge (0 without a battery).
        battery: the battery, if any.
        forecast: the forecast, if a forecaster is configured.
        market: recent public results.
        recent_book: for book policies, the newest book: the other owners' orders of the slot
            :data:`~agents.policies.mpc.BOOK_LAG_SLOTS` back, as on chain (others get ``()``).
        params_micro: for book policies, the chain's market with prices in micro-EUR per kWh
            (:data:`agents.tariffs.MICRO_EUR`); None for the others.
    """

    slot: int
    slot_start: int
    soc_kwh: float
    battery: BatterySpec | None
    forecast: SlotForecast | None
    market: MarketSnapshot
    recent_book: tuple[Order, ...] = ()
    params_micro: MarketParams | None = None


class RuntimePolicy(Protocol):
    """Decides battery set-point and prices for one slot (a :class:`Decision`).

    A policy with a true ``book_policy`` attribute decides in two steps (module docstring):
    its decision's battery set-point is used, its prices are not (the runtime prices its
    orders at the best response to the slot's book just before gate closure).
    """

    name: str

    def decide(self, context: SlotContext) -> Decision: ...


class TruthfulPolicy:
    """Self-consumption, bid retail, ask feed-in."""

    name = "truthful"

    def decide(self, context: SlotContext) -> Decision:
        return TRUTHFUL


def book_setpoint(context: SlotContext, terminal_value: float = 1.0) -> float:
    """Step 1 of a book policy: the battery set-point planned by
    :func:`~agents.policies.mpc.plan_with_book` on ``context`` (0 without battery or forecast).

    The forecast's hourly values from the slot's hour on become per-slot values (each hour's
    four quarters, those of the hour already past dropped), the slot's own load and PV are the
    forecast's values for the slot; ``context.recent_book`` is the slot's expected market.

    Raises:
        PolicyError: ``context`` carries no market parameters (not filled for a book policy).
    """
    from agents.policies.mpc import hourly_to_slots, plan_with_book

    fc, battery = context.forecast, context.battery
    if fc is None or battery is None:
        return 0.0
    if context.params_micro is None:
        raise PolicyError("a book policy needs the market's parameters in its context")
    quarter = datetime.fromtimestamp(context.slot_start, UTC).minute * SLOTS_PER_HOUR // 60

    load, pv = hourly_to_slots(fc.load_kw, quarter), hourly_to_slots(fc.pv_kw, quarter)
    load[0], pv[0] = fc.load_now, fc.pv_now
    power = plan_with_book(
        load_kw=load,
        pv_kw=pv,
        retail=hourly_to_slots(fc.retail, quarter),
        feed_in=hourly_to_slots(fc.feed_in, quarter),
        others=context.recent_book,
        params=context.params_micro,
        battery=battery,
        soc_kwh=context.soc_kwh,
        terminal_value=terminal_value,
    )
    return battery.setpoint_for(power, fc.pv_now - fc.load_now, context.soc_kwh)


class BookMpcPolicy:
    """The book planner alone (``mpc_book``): the set-point of :func:`book_setpoint`, orders
    priced at the best response just before gate closure (module docstring)."""

    name = "mpc_book"
    book_policy = True

    def __init__(self, terminal_value: float = 1.0) -> None:
        self.terminal_value = terminal_value

    def decide(self, context: SlotContext) -> Decision:
        return Decision(battery=book_setpoint(context, self.terminal_value))


class FixedPolicy:
    """One constant action of the learned agents' action space (``[-1, 1]^3``), anchored on the
    market like theirs."""

    def __init__(self, action: Sequence[float], name: str = "fixed") -> None:
        self.action = np.asarray(action, dtype=np.float64)
        if self.action.shape != (3,):
            raise PolicyError("a fixed action has three values: battery, buy, sell")
        self.name = name

    def decide(self, context: SlotContext) -> Decision:
        return action_to_decision(self.action, context.market.anchors())


class LearnedPolicy:
    """A trained policy (ONNX export or stable-baselines3 ``.zip``) on runtime observations.

    The observation is built with :func:`agents.prosumer.observation_vector` from the
    forecast, the state of charge and the chain's recent clearing results, exactly the layout
    the policy was trained on. Needs a forecaster and a battery.

    A *residual* policy (a ``.zip`` whose action space has one value,
    :func:`agents.rl.algorithms.is_residual`, or an ``.onnx`` whose input is
    :data:`~agents.prosumer.PLANNED_OBS_DIM` wide) is a book policy: it corrects the set-point
    of :func:`book_setpoint` (its observation ends with it, :func:`agents.prosumer.with_plan`)
    by up to :data:`~agents.rl.algorithms.RESIDUAL_REACH`; its orders are priced at gate
    closure.
    """

    def __init__(self, path: Path) -> None:
        from agents.rl.algorithms import Algo

        self.path = path
        self.name = path.stem
        self.algo = Algo.DQN if "dqn" in path.stem.lower() else Algo.PPO
        self.residual = False
        if not path.is_file():
            raise PolicyError(f"no policy file at {path}")
        if path.suffix == ".onnx":
            from agents.rl.export import OnnxPolicy

            onnx = OnnxPolicy(path, self.algo)
            self.residual = onnx.residual
            self._predict: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]] = lambda obs: (
                onnx.predict(obs[None, :])[0]
            )
        elif path.suffix == ".zip":
            from agents.rl.algorithms import DQN_ACTIONS, is_residual, load_model

            model = load_model(str(path), self.algo)
            self.residual = is_residual(model)

            def predict(obs: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
                action, _ = model.predict(obs, deterministic=True)
                if self.algo is Algo.DQN:
                    return np.asarray(DQN_ACTIONS[int(np.asarray(action).reshape(-1)[0])])
                return np.asarray(action)

            self._predict = predict
        else:
            raise PolicyError(f"{path}: a policy is an .onnx or .zip file")
        self.book_policy = self.residual

    def observation(self, context: SlotContext) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The policy's observation for ``context``."""
        fc, battery = context.forecast, context.battery
        if fc is None or battery is None:
            raise PolicyError(f"policy {self.name} needs a forecaster and a battery")
        local = datetime.fromtimestamp(context.slot_start, UTC) + timedelta(hours=1)
        day = (local.hour * 60 + local.minute) / 1440.0
        time_features = [
            math.sin(2 * math.pi * day),
            math.cos(2 * math.pi * day),
            1.0 if local.weekday() >= 5 else 0.0,
        ]
        return observation_vector(
            soc_kwh=context.soc_kwh,
            capacity_kwh=battery.capacity_kwh,
            power_kw=battery.power_kw,
            time_features=time_features,
            retail=float(fc.retail[0]),
            feed_in=float(fc.feed_in[0]),
            retail_24h=fc.retail,
            load_kw=fc.load_kw,
            pv_kw=fc.pv_kw,
            recent=np.asarray(context.market.recent, dtype=np.float64),
            unfilled_bid=context.market.unfilled_bid,
            unfilled_ask=context.market.unfilled_ask,
            imbalance_kwh=context.market.imbalance_kwh,
        )

    def decide(self, context: SlotContext) -> Decision:
        from agents.rl.algorithms import RESIDUAL_REACH, battery_reach

        if self.residual:
            planned = book_setpoint(context)
            action = self._predict(with_plan(self.observation(context), planned))
            return Decision(battery=residual_setpoint(action, planned, RESIDUAL_REACH))
        action = self._predict(self.observation(context))
        return action_to_decision(action, context.market.anchors(), battery_reach(self.algo))


def load_policy(spec: str | Path) -> RuntimePolicy:
    """``truthful``, ``halfway`` (the anchored zero action), ``mpc_book`` (the book planner,
    :class:`BookMpcPolicy`) or a policy file.

    Raises:
        PolicyError: an unknown name or a file that is not a policy.
    """
    text = str(spec)
    if text == "truthful":
        return TruthfulPolicy()
    if text == "halfway":
        return FixedPolicy([0.0, 0.0, 0.0], name="halfway")
    if text == "mpc_book":
        return BookMpcPolicy()
    path = Path(text)
    if path.suffix not in (".onnx", ".zip"):
        raise PolicyError(
            f"policy {text!r}: use truthful, halfway, mpc_book, or an .onnx/.zip file"
        )
    return LearnedPolicy(path)


# ---------------------------------------------------------------------------- reports
@dataclass(frozen=True, slots=True)
class OrderAction:
    """An order the runtime placed, refused, reconciled or claimed."""

    slot: int
    side: str
    tick: int
    qty_wh: int
    order_id: int | None = None
    reason: str | None = None


@dataclass(slots=True)
class StepReport:
    """What one :meth:`AgentRuntime.step` did.

    Attributes:
        now: the time the step acted at.
        decided_slot: the slot decided in this step (None: already decided or not open).
        decision: the policy's decision for it.
        placed: orders placed (or found on chain by reconciliation).
        refused: orders not sent, with the reason (bounds, budget, balance, window).
        claimed: claimed orders with ``(order_id, filled_wh, amount, refund)``.
        cleared: slots this runtime cleared.
        errors: RPC or transaction failures (the step carried on; state stays consistent).
    """

    now: int
    decided_slot: int | None = None
    decision: Decision | None = None
    placed: list[OrderAction] = field(default_factory=list)
    refused: list[OrderAction] = field(default_factory=list)
    claimed: list[tuple[int, int, int, int]] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- state
class _State:
    """The durable state file (JSON, atomic writes)."""

    def __init__(self, path: Path, identity: dict[str, Any], soc_kwh: float) -> None:
        self.path = path
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except ValueError as exc:
                raise AgentRuntimeError(f"state file {path} is not JSON: {exc}") from None
            if data.get("version") != STATE_VERSION:
                raise AgentRuntimeError(f"state file {path} has an unknown version")
            for key, value in identity.items():
                if data.get(key) != value:
                    raise AgentRuntimeError(
                        f"state file {path} belongs to {key} {data.get(key)}, not {value}"
                    )
            self.data: dict[str, Any] = data
        else:
            self.data = {"version": STATE_VERSION, **identity, "soc_kwh": soc_kwh, "slots": {}}
            self.save()

    @property
    def slots(self) -> dict[str, dict[str, Any]]:
        slots: dict[str, dict[str, Any]] = self.data["slots"]
        return slots

    def slot(self, slot: int) -> dict[str, Any] | None:
        return self.slots.get(str(slot))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)


# ---------------------------------------------------------------------------- runtime
class AgentRuntime:
    """One owner's trading agent on an EnergyChain market (see the module docstring).

    Args:
        chain: handles of the deployed contracts (``energychain.contracts.EnergyChain``).
        sender: a ``TransactionSender`` for the *agent* key.
        owner: the owner who delegated to the agent.
        policy: decides battery and prices per slot.
        state_path: the durable state file (created if missing).
        forecaster: forecasts per slot; without one no buy/sell plan is made from forecasts
            and only the sell of energy already in the vault is offered.
        battery: the owner's battery (simulated from the decisions; None: no battery).
        log_path: JSON lines decision log (None: the ``agents.runtime`` logger only).
        clear_slots: clear slots past gate closure that nobody cleared, before claiming.
        late_seconds: book policies place their orders from ``late_seconds`` before gate
            closure on (default: half the settlement window).
        plan_lead_seconds: book policies decide the next slot only in its last
            ``plan_lead_seconds`` before it starts (default 60), so the book two slots back is
            final or nearly so; other policies decide as soon as the slot is next.
        book_from_block: first block whose logs are read for the visible books (the market's
            deployment block spares a long chain's early history).
        retries: attempts of a read on connection errors.
        backoff: first wait between attempts, seconds (doubles each time).
        sleep: the wait function (tests pass a no-op).

    Raises:
        ConfigError: a bad owner address, the owner's own key as agent key, or
            ``late_seconds`` not in ``1..slot_seconds + settlement_seconds``, or
            ``plan_lead_seconds`` not in ``1..slot_seconds``.
    """

    def __init__(
        self,
        chain: EnergyChain,
        sender: TransactionSender,
        owner: str,
        policy: RuntimePolicy,
        state_path: Path,
        forecaster: Forecaster | None = None,
        *,
        battery: BatterySpec | None = None,
        log_path: Path | None = None,
        clear_slots: bool = False,
        late_seconds: int | None = None,
        plan_lead_seconds: int = 60,
        book_from_block: int = 0,
        retries: int = 5,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not Web3.is_address(owner):
            raise ConfigError(f"owner {owner!r} is not an Ethereum address")
        self.chain = chain
        self.market = chain.market
        self.sender = sender
        self.w3 = sender.w3
        self.owner: ChecksumAddress = Web3.to_checksum_address(owner)
        self.agent: ChecksumAddress = sender.address
        if self.agent == self.owner:
            raise ConfigError("the agent key is the owner's key: delegate to a separate agent key")
        self.policy = policy
        self.forecaster = forecaster
        self.battery = battery
        self.log_path = log_path
        self.clear_slots = clear_slots
        self.backoff = Backoff(base=backoff, cap=60.0, attempts=max(1, retries), jitter=0.0)
        self._sleep = sleep
        self.params = self._read(self.market.params)
        self.calendar = self._read(lambda: self.market.calendar(self.params))
        self.price_floor, self.tick_size = self.params.price_floor, self.params.tick_size
        self.max_tick = self.params.max_tick
        self.settlement_seconds = self.params.settlement_seconds
        self.open_ahead_seconds = self.params.open_ahead_seconds
        self.min_order_wh = self.params.min_order_wh
        self.epoch, self.slot_seconds = self.calendar.epoch, self.calendar.slot_seconds
        self.late_seconds = (
            max(self.settlement_seconds // 2, 1) if late_seconds is None else int(late_seconds)
        )
        if not 0 < self.late_seconds <= self.slot_seconds + self.settlement_seconds:
            raise ConfigError(
                f"late_seconds must be in 1..{self.slot_seconds + self.settlement_seconds}, "
                f"got {late_seconds}"
            )
        if not 0 < plan_lead_seconds <= self.slot_seconds:
            raise ConfigError(
                f"plan_lead_seconds must be in 1..{self.slot_seconds}, got {plan_lead_seconds}"
            )
        self.plan_lead_seconds = int(plan_lead_seconds)
        self.book_from_block = int(book_from_block)
        self.book_policy = bool(getattr(policy, "book_policy", False))
        soc = battery.initial_soc * battery.capacity_kwh if battery else 0.0
        self.state = _State(
            state_path,
            {
                "chain_id": sender.chain_id,
                "market": self.market.address,
                "owner": self.owner,
                "agent": self.agent,
            },
            soc,
        )

    # ------------------------------------------------------------------ time
    def slot_at(self, timestamp: int) -> int:
        """The slot running at ``timestamp``."""
        return self.calendar.slot_of(timestamp)

    def slot_start(self, slot: int) -> int:
        return self.calendar.start(slot)

    def gate_closure(self, slot: int) -> int:
        return self.calendar.gate_closure(slot)

    # ------------------------------------------------------------------ prices
    def tick_for(self, price_per_kwh: float) -> int:
        """The nearest tick of ``price_per_kwh`` (payment base units per kWh), in range."""
        tick = round((price_per_kwh - self.price_floor) / self.tick_size)
        return min(max(tick, 0), self.max_tick)

    def price_of(self, tick: int) -> int:
        return self.params.price(tick)

    def _unit(self) -> float:
        """Payment base units per EUR (the token's decimals, read once)."""
        if not hasattr(self, "_unit_cache"):
            decimals = self._read(self.chain.payment.decimals)
            self._unit_cache = float(base_units_per_eur(decimals))
        return self._unit_cache

    def _range(self, forecast: SlotForecast | None) -> tuple[float, float]:
        """``(feed-in, retail)`` of the decided slot in base units per kWh (the market's range
        without a forecast)."""
        top = float(self.price_of(self.max_tick))
        if forecast is None:
            return float(self.price_floor), top
        unit = self._unit()
        return float(forecast.feed_in[0]) * unit, float(forecast.retail[0]) * unit

    def params_micro(self) -> MarketParams:
        """The chain's market with prices in micro-EUR per kWh (the simulator's unit), with the
        fee in force now."""
        scale = MICRO_EUR / self._unit()
        now = self._read(self.market.params)
        return MarketParams(
            price_floor=round(self.price_floor * scale),
            tick_size=max(1, round(self.tick_size * scale)),
            max_tick=self.max_tick,
            fee_bps=now.fee_bps,
        )

    def _frac(self, tick: int, low: float, high: float) -> float:
        if high <= low:
            return 0.0
        return min(max((self.price_of(tick) - low) / (high - low), 0.0), 1.0)

    # ------------------------------------------------------------------ reads
    def _read(self, fn: Callable[[], _T]) -> _T:
        """``fn()`` with retries and exponential backoff on connection errors."""

        def retrying(attempt: int, exc: BaseException, _delay: float) -> None:
            self._log("rpc_retry", attempt=attempt, error=f"{type(exc).__name__}: {exc}")

        try:
            return self.backoff.call(fn, RPC_ERRORS, sleep=self._sleep, on_retry=retrying)
        except RPC_ERRORS as exc:
            raise AgentRuntimeError(
                f"the node did not answer after {self.backoff.attempts} attempts: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    def delegation(self, now: int) -> Delegation:
        """The agent's delegation (raises :class:`AgentRuntimeError` if absent or expired)."""
        found = self._read(lambda: self.market.delegation(self.owner, self.agent, now))
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

    def _clearing(self, slot: int) -> SlotClearing:
        return self._read(lambda: self.market.clearing(slot))

    def market_snapshot(self, slot: int, low: float, high: float) -> MarketSnapshot:
        """Recent public results before ``slot``, as fractions of ``low..high``."""
        recent: list[float] = []
        last: SlotClearing | None = None
        for s in range(slot - RECENT_SLOTS, slot):
            record = self._clearing(s) if s >= 0 else None
            if record is None or not record.traded:
                recent.append(-1.0)
            else:
                recent.append(self._frac(record.clearing_tick, low, high))
            if record is not None and record.cleared:
                last = record
        if last is None:
            return MarketSnapshot(recent=tuple(recent))
        buy, sell = last.buy_marginal, last.sell_marginal
        bid = self._frac(buy.tick, low, high) if buy.level_wh > buy.allocated_wh else -1.0
        ask = self._frac(sell.tick, low, high) if sell.level_wh > sell.allocated_wh else -1.0
        unfilled_buy = buy.level_wh - buy.allocated_wh
        imbalance = (unfilled_buy - (sell.level_wh - sell.allocated_wh)) / 1000.0
        return MarketSnapshot(tuple(recent), bid, ask, imbalance)

    def visible_book(self, slot: int) -> tuple[Order, ...]:
        """The other owners' orders of ``slot`` on chain now: its ``OrderPlaced`` logs minus
        the cancelled ids, without the owner's own orders (ids as decimal strings)."""
        if slot < 0:
            return ()
        events = EventReader(self.market, backoff=ONE_TRY)
        logs = self._read(
            lambda: events.read("OrderPlaced", self.book_from_block, filters={"slot": slot})
        )
        placed: dict[int, Any] = {}
        for log in logs:
            args = log["args"]
            if Web3.to_checksum_address(args["owner"]) != self.owner:
                placed[int(args["orderId"])] = args
        ids = sorted(placed)
        for i in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[i : i + _IDS_PER_QUERY]
            cancelled = self._read(
                lambda c=chunk: events.read(  # type: ignore[misc]
                    "OrderCancelled", self.book_from_block, filters={"orderId": c}
                )
            )
            for log in cancelled:
                placed.pop(int(log["args"]["orderId"]), None)
        return tuple(
            Order(
                str(order_id),
                Side.BUY if bool(args["isBuy"]) else Side.SELL,
                int(args["tick"]),
                int(args["qtyWh"]),
            )
            for order_id, args in sorted(placed.items())
        )

    # ------------------------------------------------------------------ logging
    def _log(self, event: str, **fields: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(), "event": event, "owner": self.owner}
        record.update(fields)
        logger.info("%s %s", event, fields)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as handle:
                handle.write(json.dumps(record, default=str) + "\n")

    # ------------------------------------------------------------------ the step
    def step(self, now_ts: int) -> StepReport:
        """Reconcile open intents, claim cleared slots, decide and order for the next slot.

        Raises:
            AgentRuntimeError: the delegation is missing or expired, or the node stays
                unreachable for every retry.
        """
        report = StepReport(now=now_ts)
        self.reconcile(report)
        self._claim(now_ts, report)
        delegation = self.delegation(now_ts)
        self._decide(now_ts, delegation, report)
        self._place_late_buys(now_ts, delegation, report)
        self._place_sells(now_ts, report)
        return report

    def reconcile(self, report: StepReport | None = None) -> None:
        """Settle every order intent whose outcome is not recorded (see the module docstring)."""
        report = report or StepReport(now=0)
        for key, entry in self.state.slots.items():
            for order in entry["orders"]:
                if order["status"] != "intent":
                    continue
                found = self._find_order(int(key), order)
                if found is not None:
                    order.update(status="placed", order_id=found)
                    self._log("reconciled", slot=int(key), order_id=found, found=True)
                    report.placed.append(_action(int(key), order))
                elif self._pending_txs():
                    report.errors.append(f"slot {key}: a transaction is still pending; waiting")
                    continue
                else:
                    order["status"] = "unsent"
                    self._log("reconciled", slot=int(key), found=False, **_fields(order))
                self.state.save()

    def _pending_txs(self) -> bool:
        pending = self._read(lambda: self.w3.eth.get_transaction_count(self.agent, "pending"))
        latest = self._read(lambda: self.w3.eth.get_transaction_count(self.agent, "latest"))
        return int(pending) > int(latest)

    def _find_order(self, slot: int, order: dict[str, Any]) -> int | None:
        """The id of the agent's order matching ``order`` on chain, if it exists."""
        events = EventReader(self.market, backoff=ONE_TRY)
        logs = self._read(
            lambda: events.read(
                "OrderPlaced", int(order["block"]), filters={"owner": self.owner, "slot": slot}
            )
        )
        known = {
            int(o["order_id"])
            for e in self.state.slots.values()
            for o in e["orders"]
            if o.get("order_id") is not None
        }
        for log in logs:
            args = log["args"]
            if (
                bool(args["isBuy"]) != (order["side"] == "buy")
                or int(args["tick"]) != order["tick"]
                or int(args["qtyWh"]) != order["qty_wh"]
                or int(args["orderId"]) in known
            ):
                continue
            tx_hash = log["transactionHash"]
            tx = self._read(lambda h=tx_hash: self.w3.eth.get_transaction(h))  # type: ignore[misc]
            if Web3.to_checksum_address(tx["from"]) == self.agent:
                return int(args["orderId"])
        return None

    # ------------------------------------------------------------------ deciding
    def _decide(self, now: int, delegation: Delegation, report: StepReport) -> None:
        slot = self.slot_at(now) + 1
        existing = self.state.slot(slot)
        if existing is not None:
            if not existing.get("book"):  # a book policy's orders are placed late
                self._retry_unsent(slot, existing, now, delegation, report)
            return
        start = self.slot_start(slot)
        if now + self.open_ahead_seconds < start:
            return
        if self.book_policy and now < start - self.plan_lead_seconds:
            return  # plan as late as possible: the book two slots back is still filling
        forecast = self.forecaster.forecast(start) if self.forecaster is not None else None
        low, high = self._range(forecast)
        soc = float(self.state.data["soc_kwh"])
        recent_book: tuple[Order, ...] = ()
        params_micro: MarketParams | None = None
        if self.book_policy:
            from agents.policies.mpc import BOOK_LAG_SLOTS

            recent_book = self.visible_book(slot - BOOK_LAG_SLOTS)
            params_micro = self.params_micro()
        context = SlotContext(
            slot=slot,
            slot_start=start,
            soc_kwh=soc,
            battery=self.battery,
            forecast=forecast,
            market=self.market_snapshot(slot, low, high),
            recent_book=recent_book,
            params_micro=params_micro,
        )
        decision = self.policy.decide(context)
        net_wh, power, soc_next = self._plan(decision, forecast, soc)
        buy_tick = self.tick_for(low + decision.buy_frac * (high - low))
        sell_tick = self.tick_for(low + decision.sell_frac * (high - low))
        entry: dict[str, Any] = {
            "decision": asdict(decision),
            "net_wh": net_wh,
            "battery_kw": power,
            "sell_plan_wh": max(-net_wh, 0),
            "sell_tick": sell_tick,
            "orders": [],
        }
        book: dict[str, Any] = {}
        if self.book_policy:
            unit = self._unit()
            entry.update(
                book=True, buy_plan_wh=max(net_wh, 0), retail=high / unit, feed_in=low / unit
            )
            book = {"recent_book": len(recent_book), "priced_at": "gate_closure"}
        self.state.slots[str(slot)] = entry
        self.state.data["soc_kwh"] = soc_next
        self.state.save()
        report.decided_slot, report.decision = slot, decision
        self._log(
            "decision",
            slot=slot,
            policy=self.policy.name,
            battery=decision.battery,
            buy_frac=decision.buy_frac,
            sell_frac=decision.sell_frac,
            net_wh=net_wh,
            soc_kwh=soc_next,
            buy_tick=buy_tick,
            sell_tick=sell_tick,
            **book,
        )
        if net_wh > 0 and not self.book_policy:
            self._place(slot, entry, True, buy_tick, net_wh, now, delegation, report)

    def _plan(
        self, decision: Decision, forecast: SlotForecast | None, soc: float
    ) -> tuple[int, float, float]:
        """``(net import Wh, battery kW, next state of charge)`` the decision implies."""
        if forecast is None:
            return 0, 0.0, soc
        surplus = forecast.pv_now - forecast.load_now
        power = 0.0
        if self.battery is not None:
            power = self.battery.power(decision.battery, surplus, soc)
            soc = self.battery.next_soc(soc, power)
        return metered_wh(power, surplus), float(power), float(soc)

    def _retry_unsent(
        self, slot: int, entry: dict[str, Any], now: int, d: Delegation, report: StepReport
    ) -> None:
        for order in entry["orders"]:
            if order["status"] == "unsent":
                order["status"] = "retried"
                self._place(
                    slot,
                    entry,
                    order["side"] == "buy",
                    order["tick"],
                    order["qty_wh"],
                    now,
                    d,
                    report,
                )

    # ------------------------------------------------------------------ placing
    def _check(
        self, slot: int, is_buy: bool, tick: int, qty: int, now: int, d: Delegation
    ) -> tuple[int, int, str | None, list[str]]:
        """``(tick, qty, refusal reason, adjustments)`` under the contract's rules."""
        notes: list[str] = []
        if now >= self.gate_closure(slot):
            return tick, qty, f"slot {slot} closed at {self.gate_closure(slot)}", notes
        if is_buy and tick > d.max_buy_tick:
            notes.append(f"buy tick {tick} lowered to the owner's max buy tick {d.max_buy_tick}")
            tick = d.max_buy_tick
        if not is_buy and tick < d.min_sell_tick:
            notes.append(f"sell tick {tick} raised to the owner's min sell tick {d.min_sell_tick}")
            tick = d.min_sell_tick
        if tick > self.max_tick:
            return tick, qty, f"tick {tick} above the market's max tick {self.max_tick}", notes
        if is_buy:
            price = self.price_of(tick)
            remaining = d.remaining()
            balance = self._read(lambda: self.market.balance_of(self.owner))
            affordable = min(remaining, balance)
            if buy_escrow(qty, price) > affordable:
                fit = affordable * WH_PER_KWH // price if price else qty
                while fit > 0 and buy_escrow(fit, price) > affordable:
                    fit -= 1
                if fit < self.min_order_wh:
                    why = (
                        f"budget: {buy_escrow(qty, price)} needed, {remaining} of "
                        f"{d.budget_per_day} left today"
                        if remaining <= balance
                        else f"owner's vault holds {balance}, {buy_escrow(qty, price)} needed"
                    )
                    return tick, qty, why, notes
                notes.append(f"quantity cut from {qty} to {fit} Wh to fit the budget/balance")
                qty = int(fit)
        if qty < self.min_order_wh:
            return tick, qty, f"{qty} Wh is below the market's minimum {self.min_order_wh}", notes
        return tick, qty, None, notes

    def _place(
        self,
        slot: int,
        entry: dict[str, Any],
        is_buy: bool,
        tick: int,
        qty: int,
        now: int,
        d: Delegation,
        report: StepReport,
    ) -> None:
        side = "buy" if is_buy else "sell"
        tick, qty, refusal, notes = self._check(slot, is_buy, tick, qty, now, d)
        for note in notes:
            self._log("adjusted", slot=slot, side=side, note=note)
        if refusal is not None:
            action = OrderAction(slot, side, tick, qty, reason=refusal)
            entry["orders"].append({**_order_fields(action), "status": "refused"})
            self.state.save()
            report.refused.append(action)
            self._log("refused", slot=slot, side=side, tick=tick, qty_wh=qty, reason=refusal)
            return
        block = int(self._read(lambda: self.w3.eth.block_number))
        order: dict[str, Any] = {
            "side": side,
            "tick": tick,
            "qty_wh": qty,
            "status": "intent",
            "block": block,
            "order_id": None,
        }
        entry["orders"].append(order)
        self.state.save()  # the intent is durable before anything is sent
        self._log("intent", slot=slot, **_fields(order))
        request = self.market.place_order(self.owner, slot, is_buy, tick, qty)
        try:
            receipt = self._send(request)
        except TransactionRevertedError as exc:
            order["status"] = "failed"
            order["reason"] = str(exc)
            self.state.save()
            report.errors.append(f"slot {slot} {side}: {exc}")
            self._log("failed", slot=slot, side=side, error=str(exc))
            return
        except SEND_ERRORS as exc:
            # The node may or may not have the transaction: leave the intent for reconcile().
            report.errors.append(f"slot {slot} {side}: {type(exc).__name__}: {exc}")
            self._log("send_error", slot=slot, side=side, error=f"{type(exc).__name__}: {exc}")
            return
        events = self.market.events(receipt, "OrderPlaced")
        order_id = int(events[0]["args"]["orderId"])
        order.update(status="placed", order_id=order_id, tx=receipt["transactionHash"].to_0x_hex())
        self.state.save()
        action = OrderAction(slot, side, tick, qty, order_id=order_id)
        report.placed.append(action)
        self._log("placed", slot=slot, order_id=order_id, tx=order["tx"], **_fields(order))

    def _send(self, request: Any) -> Any:
        """Hook for sending (tests interpose a crash here)."""
        return self.sender.transact(request)

    def _late(self, slot: int, now: int) -> bool:
        """Whether ``now`` is in ``slot``'s late window (book policies' orders)."""
        closure = self.gate_closure(slot)
        return closure - self.late_seconds <= now < closure

    def _best_response_tick(self, slot: int, entry: dict[str, Any], net_wh: int, now: int) -> int:
        """The tick of the best response for ``net_wh`` (positive: buy) to ``slot``'s visible
        book, on the slot's tariffs as decided."""
        from agents.policies.best_response import best_response_frac

        book = self.visible_book(slot)
        params = self.params_micro()
        retail, feed_in = float(entry["retail"]), float(entry["feed_in"])
        frac = best_response_frac(book, "own", net_wh, params, retail, feed_in)
        tick = to_tick(frac, params)
        self._log(
            "priced",
            slot=slot,
            side="buy" if net_wh > 0 else "sell",
            qty_wh=abs(net_wh),
            book_orders=len(book),
            frac=frac,
            tick=tick,
            seconds_to_gate_closure=self.gate_closure(slot) - now,
        )
        return tick

    def _place_late_buys(self, now: int, delegation: Delegation, report: StepReport) -> None:
        """Place book policies' buy plans in the late window, at the best response."""
        for key, entry in list(self.state.slots.items()):
            slot = int(key)
            plan = int(entry.get("buy_plan_wh", 0))
            if not entry.get("book") or plan <= 0 or not self._late(slot, now):
                continue
            if any(
                o["side"] == "buy" and o["status"] in ("refused", "failed") for o in entry["orders"]
            ):
                continue  # decided once: not retried every step
            offered = _offered_wh(entry, "buy")
            qty = plan - offered
            if qty <= 0 or (offered and qty < self.min_order_wh):
                continue
            tick = self._best_response_tick(slot, entry, qty, now)
            self._place(slot, entry, True, tick, qty, now, delegation, report)

    def _place_sells(self, now: int, report: StepReport) -> None:
        """Offer planned exports of ended slots whose tokens the vault now holds (book
        policies: in the late window, at the best response)."""
        current = self.slot_at(now)
        delegation: Delegation | None = None
        for key, entry in list(self.state.slots.items()):
            slot = int(key)
            plan = int(entry.get("sell_plan_wh", 0))
            if plan <= 0 or slot >= current or now >= self.gate_closure(slot):
                continue
            if entry.get("book") and not self._late(slot, now):
                continue
            offered = _offered_wh(entry, "sell")
            if offered >= plan:
                continue
            held = self._read(
                lambda s=slot: self.market.energy_balance_of(self.owner, s)  # type: ignore[misc]
            )
            qty = min(plan - offered, held)
            if qty < self.min_order_wh:
                continue
            delegation = delegation or self.delegation(now)
            tick = (
                self._best_response_tick(slot, entry, -qty, now)
                if entry.get("book")
                else int(entry["sell_tick"])
            )
            self._place(slot, entry, False, tick, qty, now, delegation, report)

    # ------------------------------------------------------------------ claims
    def _claim(self, now: int, report: StepReport) -> None:
        by_slot: dict[int, list[dict[str, Any]]] = {}
        for key, entry in self.state.slots.items():
            placed = [o for o in entry["orders"] if o["status"] == "placed"]
            if placed and now >= self.gate_closure(int(key)):
                by_slot[int(key)] = placed
        ids: list[int] = []
        orders: dict[int, dict[str, Any]] = {}
        for slot, placed in sorted(by_slot.items()):
            if not self._clearing(slot).cleared:
                if not self.clear_slots:
                    continue
                try:
                    self._send(self.market.clear(slot))
                    report.cleared.append(slot)
                    self._log("cleared", slot=slot)
                except TransactionRevertedError as exc:
                    if "AlreadyCleared" not in str(exc):
                        report.errors.append(f"clear {slot}: {exc}")
                        continue
                except SEND_ERRORS as exc:
                    report.errors.append(f"clear {slot}: {type(exc).__name__}: {exc}")
                    continue
            for order in placed:
                ids.append(int(order["order_id"]))
                orders[int(order["order_id"])] = order
        if not ids:
            return
        try:
            receipt = self._send(self.market.claim_batch(ids))
        except SEND_ERRORS as exc:
            report.errors.append(f"claim {ids}: {type(exc).__name__}: {exc}")
            self._log("claim_error", order_ids=ids, error=str(exc))
            self._mark_claimed_elsewhere(orders)
            return
        for event in self.market.events(receipt, "OrderClaimed"):
            args = event["args"]
            order_id = int(args["orderId"])
            order = orders[order_id]
            order.update(
                status="claimed",
                filled_wh=int(args["filledWh"]),
                amount=int(args["amount"]),
                refund=int(args["refund"]),
            )
            report.claimed.append(
                (order_id, int(args["filledWh"]), int(args["amount"]), int(args["refund"]))
            )
            self._log(
                "claimed",
                order_id=order_id,
                filled_wh=int(args["filledWh"]),
                amount=int(args["amount"]),
                refund=int(args["refund"]),
            )
        self.state.save()

    def _mark_claimed_elsewhere(self, orders: dict[int, dict[str, Any]]) -> None:
        """Orders someone else claimed (the contract deleted them) are done, not retried."""
        changed = False
        for order_id, order in orders.items():
            stored = self._read(lambda i=order_id: self.market.order(i))  # type: ignore[misc]
            if stored is None:
                order["status"] = "claimed"
                changed = True
        if changed:
            self.state.save()


_IDS_PER_QUERY = 200
"""Order ids per ``OrderCancelled`` log query (one topic list each)."""


def _offered_wh(entry: dict[str, Any], side: str) -> int:
    """Energy of a slot's orders on ``side`` that are on chain or may be (an open intent)."""
    return sum(
        o["qty_wh"]
        for o in entry["orders"]
        if o["side"] == side and o["status"] in ("intent", "placed", "claimed")
    )


def _fields(order: dict[str, Any]) -> dict[str, Any]:
    return {k: order[k] for k in ("side", "tick", "qty_wh") if k in order}


def _order_fields(action: OrderAction) -> dict[str, Any]:
    return {
        "side": action.side,
        "tick": action.tick,
        "qty_wh": action.qty_wh,
        "order_id": action.order_id,
        "reason": action.reason,
    }


def _action(slot: int, order: dict[str, Any]) -> OrderAction:
    return OrderAction(slot, order["side"], order["tick"], order["qty_wh"], order.get("order_id"))
