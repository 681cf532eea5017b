"""What a live agent may look at for one slot, and the policies that decide on it.

Book policies (``mpc_book`` and residual learned policies) decide in two steps (see
:mod:`agents.live.runtime`): their decision's battery set-point is used, their prices are not
(the runtime prices their orders at gate closure: the best response to the book it can read, or
with ``pricing == "scenarios"`` the least mean cost over several), unless the policy prices as
the halfway rule (``pricing == "halfway"``: the learned planner of a sealed market's book model
file).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agents.actions import action_to_decision, residual_setpoint
from agents.community import TRUTHFUL, BatterySpec, Decision
from agents.data.calendar import SLOTS_PER_HOUR
from agents.errors import PolicyError
from agents.live.forecasts import SlotForecast
from agents.prosumer import RECENT_SLOTS, observation_vector, with_plan
from market.clearing import MarketParams, Order

if TYPE_CHECKING:
    from agents.live.learned_market import BookWindow
    from agents.policies.book_model import BookModel
    from agents.policies.bound import Steps


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
        later_books: for a policy that plans ahead (``books_ahead``, ``mpc_book_ahead``), the
            market expected in each slot after this one (index 0: the next slot): the other
            owners' final book of the same slot a day earlier; ``()`` for the others.
        book_window: for a policy with a learned book model (``mpc_book_learned``), the books
            and PV behind the decision that the model reads
            (:class:`~agents.live.learned_market.BookWindow`); None for the others, and where
            an input is missing (the policy then plans on ``later_books`` as they are).
    """

    slot: int
    slot_start: int
    soc_kwh: float
    battery: BatterySpec | None
    forecast: SlotForecast | None
    market: MarketSnapshot
    recent_book: tuple[Order, ...] = ()
    params_micro: MarketParams | None = None
    later_books: tuple[tuple[Order, ...], ...] = ()
    book_window: BookWindow | None = None


class RuntimePolicy(Protocol):
    """Decides battery set-point and prices for one slot (a :class:`Decision`).

    A policy with a true ``book_policy`` attribute decides in two steps (module docstring):
    its decision's battery set-point is used, its prices are not (the runtime prices its
    orders at the best response to the slot's book just before gate closure, or with a
    ``pricing`` attribute ``"scenarios"`` at the least mean cost over the books it can read),
    unless its ``pricing`` attribute is ``"halfway"``: then its decision's prices are the
    orders'.
    """

    name: str

    def decide(self, context: SlotContext) -> Decision: ...


class TruthfulPolicy:
    """Self-consumption, bid retail, ask feed-in."""

    name = "truthful"

    def decide(self, context: SlotContext) -> Decision:
        return TRUTHFUL


def book_setpoint(
    context: SlotContext, terminal_value: float = 1.0, market_model: BookModel | None = None
) -> float:
    """Step 1 of a book policy: the battery set-point planned by
    :func:`~agents.policies.mpc.plan_with_book` on ``context`` (0 without battery or forecast).

    The forecast's hourly values from the slot's hour on become per-slot values (each hour's
    four quarters, those of the hour already past dropped), the slot's own load and PV are the
    forecast's values for the slot; ``context.recent_book`` is the slot's expected market, and
    ``context.later_books`` those of the slots after it (the grid alone where there are none),
    moved by ``market_model``'s prediction where the context has its inputs
    (``context.book_window``; :func:`~agents.policies.book_model.moved_market`).

    Raises:
        PolicyError: ``context`` carries no market parameters (not filled for a book policy).
    """
    from agents.policies.bound import market_steps
    from agents.policies.mpc import hourly_to_slots, plan_with_book

    fc, battery = context.forecast, context.battery
    if fc is None or battery is None:
        return 0.0
    if context.params_micro is None:
        raise PolicyError("a book policy needs the market's parameters in its context")
    quarter = datetime.fromtimestamp(context.slot_start, UTC).minute * SLOTS_PER_HOUR // 60

    load, pv = hourly_to_slots(fc.load_kw, quarter), hourly_to_slots(fc.pv_kw, quarter)
    load[0], pv[0] = fc.load_now, fc.pv_now
    retail, feed_in = hourly_to_slots(fc.retail, quarter), hourly_to_slots(fc.feed_in, quarter)
    # The chain's price grid is the same every slot: a day-old book's prices stand as they are.
    later = [market_steps(list(b), context.params_micro) for b in context.later_books]
    window = context.book_window
    if market_model is not None and window is not None:
        n = min(len(later), len(retail) - 1)
        if n > 0:
            later[:n] = learned_later(market_model, window, later[:n], feed_in[1:], retail[1:])
    power = plan_with_book(
        load_kw=load,
        pv_kw=pv,
        retail=retail,
        feed_in=feed_in,
        others=context.recent_book,
        params=context.params_micro,
        battery=battery,
        soc_kwh=context.soc_kwh,
        terminal_value=terminal_value,
        later=later,
    )
    return battery.setpoint_for(power, fc.pv_now - fc.load_now, context.soc_kwh)


def learned_later(
    model: BookModel,
    window: BookWindow,
    later: list[tuple[Steps, Steps]],
    feed_in: np.ndarray[Any, np.dtype[np.float64]],
    retail: np.ndarray[Any, np.dtype[np.float64]],
) -> list[tuple[Steps, Steps]]:
    """The day-earlier market ``later`` of the slots after the decided one moved by ``model``'s
    prediction from ``window`` (``feed_in``/``retail``: those slots' forecast tariff ranges)."""
    from agents.data.calendar import SLOTS_PER_DAY
    from agents.policies.book_model import moved_market

    n = len(later)
    slots = window.later(n)
    fi, re = np.asarray(feed_in[:n], dtype=np.float64), np.asarray(retail[:n], dtype=np.float64)
    residual = model.residuals(window, window.decided, slots, fi, re)
    before = window.summary[slots - SLOTS_PER_DAY][:, [0, 2]]
    return moved_market(later, before, residual, model.shrink, fi, re)


class BookMpcPolicy:
    """The book planner alone (``mpc_book``): the set-point of :func:`book_setpoint`, orders
    priced at the best response just before gate closure (module docstring). With ``ahead``
    (``mpc_book_ahead``) it plans the slots after the first on the day-earlier books the
    runtime puts in ``later_books``, as the simulator's ``BookMpc`` with
    ``MpcConfig(market=True)``. With a ``market_model`` (``mpc_book_learned``, a book model's
    ONNX file) it plans ahead on those books moved by the model's prediction, as the
    simulator's ``BookMpc`` with a :class:`~agents.policies.book_model.LearnedMarket`, and
    trades as the model's file says (:class:`~agents.policies.book_model.PlannerSettings`):
    the battery follows ``reach`` of the planned set-point (relative to self-consumption), and
    with ``pricing == "halfway"`` the decision carries the halfway rule's prices (those of the
    live ``halfway`` policy, on the chain's last cleared slot) for the orders, as the
    simulator's ``BookMpc(pricing="halfway", battery_reach=...)``."""

    book_policy = True

    def __init__(
        self,
        terminal_value: float = 1.0,
        *,
        ahead: bool = False,
        market_model: BookModel | None = None,
    ) -> None:
        self.terminal_value = terminal_value
        self.market_model = market_model
        self.books_ahead = ahead or market_model is not None
        self.name = (
            "mpc_book_learned"
            if market_model is not None
            else ("mpc_book_ahead" if ahead else "mpc_book")
        )
        from agents.policies.book_model import OPEN_PLANNER

        planner = OPEN_PLANNER if market_model is None else market_model.planner
        self.pricing, self.reach = planner.pricing, planner.reach

    def decide(self, context: SlotContext) -> Decision:
        from agents.policies.mpc import PRICING_HALFWAY

        setpoint = book_setpoint(context, self.terminal_value, self.market_model)
        if self.reach != 1.0:
            setpoint *= self.reach
        if self.pricing != PRICING_HALFWAY:
            return Decision(battery=setpoint)
        # the live halfway policy's prices (its battery, self-consumption, is not used)
        halfway = action_to_decision((0.0, 0.0, 0.0), context.market.anchors(), 0.0)
        return Decision(battery=setpoint, buy_frac=halfway.buy_frac, sell_frac=halfway.sell_frac)


class ScenarioResponsePolicy:
    """The rule ``scenario_response`` live: self-consumption, each order placed late at the tick
    with the least mean cost over the books the runtime can read then (a sealed market's newest
    revealed ones; :meth:`~agents.live.link.ChainLink.pricing_scenarios`), as the simulator's
    :class:`~agents.policies.baselines.ScenarioResponse`. Made for a sealed market."""

    book_policy = True
    name = "scenario_response"

    def __init__(self) -> None:
        from agents.policies.mpc import PRICING_SCENARIOS

        self.pricing = PRICING_SCENARIOS

    def decide(self, context: SlotContext) -> Decision:
        return Decision(battery=0.0)  # relative to self-consumption; the prices come late


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
    closure. A plain policy's battery action is scaled by the reach its file names
    (``enerwise.battery_reach``: the shared community policy, :mod:`agents.rl.multi`), else by
    :func:`~agents.rl.kinds.battery_reach` of its algorithm.
    """

    def __init__(self, path: Path) -> None:
        from agents.rl.kinds import Algo, battery_reach

        self.path = path
        self.name = path.stem
        self.algo = Algo.DQN if "dqn" in path.stem.lower() else Algo.PPO
        self.residual = False
        self.reach = battery_reach(self.algo)
        if not path.is_file():
            raise PolicyError(f"no policy file at {path}")
        if path.suffix == ".onnx":
            from agents.rl.onnx_policy import OnnxPolicy

            onnx = OnnxPolicy(path, self.algo)
            self.residual = onnx.residual
            named = onnx.metadata.get("enerwise.battery_reach")
            if named is not None:
                try:
                    self.reach = float(named)
                except ValueError as exc:
                    raise PolicyError(f"{path}: battery reach {named!r} is not a number") from exc
            self._predict: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]] = lambda obs: (
                onnx.predict(obs[None, :])[0]
            )
        elif path.suffix == ".zip":
            from agents.rl.algorithms import is_residual, load_model
            from agents.rl.kinds import DQN_ACTIONS

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
        from agents.rl.kinds import RESIDUAL_REACH

        if self.residual:
            planned = book_setpoint(context)
            action = self._predict(with_plan(self.observation(context), planned))
            return Decision(battery=residual_setpoint(action, planned, RESIDUAL_REACH))
        action = self._predict(self.observation(context))
        return action_to_decision(action, context.market.anchors(), self.reach)


def sealed_market_warning(policy: RuntimePolicy) -> str | None:
    """Why ``policy`` is a poor choice in a sealed market, or None: a book policy plans and
    prices on the others' books, which a sealed market hides until gate closure; on held-out
    data every book policy saved less there than the halfway rule (docs/agents.md), but the
    learned planner of a book model trained for the sealed market (halfway prices, a part of
    its plan: :class:`BookMpcPolicy`) and :class:`ScenarioResponsePolicy`, which were made for
    it."""
    if not getattr(policy, "book_policy", False):
        return None
    from agents.policies.visible import MARKET_SEALED

    if isinstance(policy, ScenarioResponsePolicy):
        return None
    model = getattr(policy, "market_model", None)
    if model is not None and model.trained_for == MARKET_SEALED:
        return None
    return (
        f"policy {policy.name} plans on the others' books, which a sealed market hides until "
        "gate closure; on held-out data book policies saved less there than halfway "
        "(docs/agents.md): consider --policy halfway"
    )


def load_policy(spec: str | Path) -> RuntimePolicy:
    """``truthful``, ``halfway`` (the anchored zero action), ``mpc_book`` or ``mpc_book_ahead``
    (the book planner, :class:`BookMpcPolicy`), ``scenario_response``
    (:class:`ScenarioResponsePolicy`) or a policy file: a book model's ONNX file
    (``mpc_book_learned``, :mod:`agents.policies.book_model_onnx`) or a learned policy's.

    Raises:
        PolicyError: an unknown name or a file that is not a policy.
    """
    text = str(spec)
    if text == "truthful":
        return TruthfulPolicy()
    if text == "halfway":
        return FixedPolicy([0.0, 0.0, 0.0], name="halfway")
    if text in ("mpc_book", "mpc_book_ahead"):
        return BookMpcPolicy(ahead=text == "mpc_book_ahead")
    if text == "scenario_response":
        return ScenarioResponsePolicy()
    path = Path(text)
    if path.suffix not in (".onnx", ".zip"):
        raise PolicyError(
            f"policy {text!r}: use truthful, halfway, mpc_book, mpc_book_ahead, "
            "scenario_response, or an .onnx/.zip file"
        )
    from agents.policies.book_model_onnx import is_book_model_onnx

    if path.suffix == ".onnx" and is_book_model_onnx(path):
        from agents.policies.book_model import BookModel
        from agents.policies.mpc import PRICING_PREDICTED

        model = BookModel.load(path)
        if model.planner.pricing == PRICING_PREDICTED:
            from agents.policies.tick_model import TickModel

            TickModel.load()  # its orders are priced on the shipped tick model: read it now
        return BookMpcPolicy(market_model=model)
    return LearnedPolicy(path)
