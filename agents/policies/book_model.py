"""A learned model of the others' book in the later slots of a plan (issue 18, item 2).

``mpc_book_ahead`` gives each later slot of its plan the same slot's final book a day earlier
(:class:`~agents.policies.mpc.DayEarlierMarket`). The book a slot will really have differs from
that one in ways the household can partly see when it plans: today's newest final book against
the same slot yesterday, its own PV now and yesterday (the neighbours' PV shares the weather),
the hour and how far ahead the slot lies. This model learns that difference from the books of
the training months: per later slot, four residuals over the day-earlier book (LightGBM,
Ke et al., NeurIPS 2017; L1 loss, one model per target):

* ``buy_kwh`` / ``sell_kwh``: how much a single buy (sell) order could fill;
* ``buy_share`` / ``sell_share``: the fill-weighted mean price of that, as its share of the
  slot's feed-in..retail range.

:class:`LearnedMarket` turns a prediction into the planner's market: the day-earlier steps
scaled to the predicted kWh and shifted by the predicted share, kept inside the range. The
planner with it is the learned method ``mpc_book_learned`` (``agent eval --learned
mpc_book_learned --book-model FILE``, one file per training seed; ``agent train --algo
book_model``). :class:`BookEnsemble` averages several seeds' predictions into one market, the
learned method ``mpc_book_ensemble`` (``--book-ensemble FILE``, repeated: one plan, one run).
What is learned is the model of the other traders; the decisions stay the planner's
(model-based: Sutton's Dyna, 1991, with a forecast model instead of a simulator).

The book's MAE does not choose how far the planner should trust the prediction, so a model
carries one decision parameter per target, its shrinkage ``shrink`` (:data:`SHRINK_RANGE`): the
residual the planner reads is ``shrink`` times the predicted one (0: exactly the day-earlier
book of ``mpc_book_ahead``; 1: the prediction as fitted). It is chosen by the planner's money on
the validation fortnight (``agent eval --book-shrink``), not by the book's error, and saved in
the file (``agent train --algo book_model --shrink``): a small decision-focused step
(Donti et al., NeurIPS 2017, train on the task's loss; here only the shrinkage is).

A model file also says how its planner trades (:class:`PlannerSettings`): how it prices its
orders and how far its battery follows the plan, so that ``agent eval`` and the runtime run the
planner a file was measured with. They default by market mode (:func:`planner_defaults`): in an
open market the best response to the slot's book and the whole plan; in a sealed one the
expected best response to the books a learned model of the others' next ticks expects for the
slot (``predicted``, :mod:`agents.policies.tick_model`) and :data:`~agents.rl.kinds.PLAN_REACH`
of the plan. A file written before they existed reads as
the open market's (``book``, 1); the halfway rule's prices stay a choice (``--pricing halfway``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agents.community import Community, FloatArray, IntArray
from agents.data.calendar import SLOTS_PER_DAY, SLOTS_PER_HOUR
from agents.errors import PolicyError
from agents.json_files import read_json_object, write_atomically
from agents.policies.bound import Steps, market_steps
from agents.policies.mpc import PRICING_BOOK, PRICING_PREDICTED, PRICINGS, DayEarlierMarket
from agents.policies.visible import MARKET_OPEN, MARKET_SEALED, Book, plan_lag_slots
from market.clearing import MarketParams, Order

FORMAT = "enerwise-book-model/1"
"""The ``format`` of a saved model file."""

TARGETS = ("buy_kwh", "buy_share", "sell_kwh", "sell_share")
"""What is predicted per later slot, as residuals over the same slot a day earlier."""

FEATURES = (
    "day_earlier",
    "newest_final",
    "newest_final_day_earlier",
    "hour",
    "lead_slots",
    "range_eur_per_kwh",
    "feed_in_eur_per_kwh",
    "pv_day_earlier_kw",
    "pv_newest_final_kw",
    "pv_newest_final_day_earlier_kw",
    "two_days_earlier",
)
"""The inputs of each target's model (its own summary column for the book features)."""

SHRINK_RANGE = (0.0, 1.0)
"""The allowed shrinkage per target: from the day-earlier book (0) to the full prediction (1)."""

NO_SHRINK = (1.0,) * len(TARGETS)
"""The shrinkage of a model fitted without one (and of files written before it existed)."""


def check_shrink(values: Sequence[float], where: str) -> tuple[float, ...]:
    """``values`` as a shrinkage (one per :data:`TARGETS` entry, or one for all of them).

    Raises:
        PolicyError: another count, or a value outside :data:`SHRINK_RANGE` (naming ``where``).
    """
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where}: a shrinkage is numbers, got {values!r}") from exc
    if len(numbers) == 1:
        numbers *= len(TARGETS)
    lo, hi = SHRINK_RANGE
    if len(numbers) != len(TARGETS) or not all(lo <= v <= hi for v in numbers):
        raise PolicyError(
            f"{where}: the shrinkage is one value or {len(TARGETS)} ({', '.join(TARGETS)}), "
            f"each in [{lo:g}, {hi:g}]; got {values!r}"
        )
    return tuple(numbers)


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """How the planner that reads a book model trades (module docstring).

    Attributes:
        pricing: how it prices its orders (:data:`~agents.policies.mpc.PRICINGS`: ``book``,
            the best response to the book it can read; ``halfway``, the halfway rule's prices;
            ``scenarios``, the expected best response to the newest revealed books;
            ``predicted``, the same over the books the tick model expects).
        reach: the share of the plan's battery set-point it follows (0..1, relative to
            self-consumption: :class:`~agents.policies.mpc.BookMpc`'s ``battery_reach``).

    Raises:
        PolicyError: an unknown pricing or a reach outside 0..1.
    """

    pricing: str = PRICING_BOOK
    reach: float = 1.0

    def __post_init__(self) -> None:
        if self.pricing not in PRICINGS:
            raise PolicyError(f"unknown pricing {self.pricing!r}; known: {', '.join(PRICINGS)}")
        if not 0.0 <= self.reach <= 1.0:
            raise PolicyError(f"the plan's reach must be in 0..1, got {self.reach!r}")

    def overridden(self, pricing: str | None, reach: float | None) -> PlannerSettings:
        """These settings with ``pricing`` and ``reach`` where given (not None).

        Raises:
            PolicyError: an unknown pricing or a reach outside 0..1.
        """
        return PlannerSettings(
            self.pricing if pricing is None else pricing, self.reach if reach is None else reach
        )


OPEN_PLANNER = PlannerSettings()
"""The planner of a file that names none (written before the settings existed)."""


def planner_defaults(market: str) -> PlannerSettings:
    """The planner a book model trained for ``market`` is run with unless told otherwise: the
    open market's best response and whole plan, or in a sealed one the expected best response
    to the books the tick model expects for the slot (``predicted``,
    :mod:`agents.policies.tick_model`) and :data:`~agents.rl.kinds.PLAN_REACH` (both chosen on
    validation, docs/agents.md)."""
    from agents.rl.kinds import PLAN_REACH

    if market == MARKET_SEALED:
        return PlannerSettings(PRICING_PREDICTED, PLAN_REACH)
    return OPEN_PLANNER


def read_planner(pricing: Any, reach: Any, where: str) -> PlannerSettings:
    """The planner a model file names (None for either: :data:`OPEN_PLANNER`'s value).

    Raises:
        PolicyError: a pricing or reach that is not one (naming ``where``).
    """
    try:
        return PlannerSettings(
            OPEN_PLANNER.pricing if pricing is None else str(pricing),
            OPEN_PLANNER.reach if reach is None else float(reach),
        )
    except (TypeError, ValueError, PolicyError) as exc:
        raise PolicyError(f"{where}: the planner's settings do not read: {exc}") from exc


HISTORY_SLOTS = 2 * SLOTS_PER_DAY + 4
"""Slots a decision needs behind it: two days of books and the newest final lag."""


def slot_summary(
    orders: list[Order], params: MarketParams, feed_in: float, retail: float
) -> FloatArray:
    """The four :data:`TARGETS` of one slot's final book ``orders`` on market ``params``, the
    shares of the slot's ``feed_in``..``retail`` range (EUR/kWh); NaN for a share without kWh."""
    out = np.full(len(TARGETS), np.nan)
    span = max(retail - feed_in, 1e-9)
    for side, steps in enumerate(market_steps(orders, params)):
        kwh = float(steps.widths.sum()) if steps.widths.size else 0.0
        out[2 * side] = kwh
        if kwh > 0:
            shares = (np.clip(steps.prices, feed_in, retail) - feed_in) / span
            out[2 * side + 1] = float((steps.widths * shares).sum() / kwh)
    return out


def book_summary(community: Community, book: Book, start: int, end: int) -> FloatArray:
    """Per slot of ``[start, end)`` the four :data:`TARGETS` of the others' final book, shape
    ``(community.n_slots, 4)``; NaN outside the range and for a share without any kWh."""
    tariffs = community.tariffs
    out = np.full((community.n_slots, len(TARGETS)), np.nan)
    for s in range(start, end):
        out[s] = slot_summary(
            book.orders(s),
            tariffs.market_params(s),
            float(tariffs.feed_in[s]),
            float(tariffs.retail[s]),
        )
    return out


def features(
    column: FloatArray,
    pv_kw: FloatArray,
    slots: IntArray,
    decided: IntArray,
    lag: int,
    range_eur: FloatArray,
    feed_in_eur: FloatArray,
) -> FloatArray:
    """The :data:`FEATURES` rows of later ``slots`` planned at slots ``decided`` (same length),
    with ``column`` one summary column and the newest final book ``lag`` slots before each
    decision."""
    final = decided - lag
    return np.column_stack(
        [
            column[slots - SLOTS_PER_DAY],
            column[final],
            column[final - SLOTS_PER_DAY],
            (slots % SLOTS_PER_DAY) / SLOTS_PER_HOUR,
            slots - decided,
            range_eur,
            feed_in_eur,
            pv_kw[slots - SLOTS_PER_DAY],
            pv_kw[final],
            pv_kw[final - SLOTS_PER_DAY],
            column[slots - 2 * SLOTS_PER_DAY],
        ]
    )


class BookRecord(Protocol):
    """What a prediction reads behind a decision, indexed by slot (slot % 96: slot of the day).

    Attributes:
        summary: :func:`book_summary` of the others' final books, shape ``(slots, 4)``.
        pv_kw: the household's PV output.
    """

    @property
    def summary(self) -> FloatArray: ...

    @property
    def pv_kw(self) -> FloatArray: ...


@dataclass(frozen=True, slots=True)
class BookHistory:
    """One household's view of the others' books over a stretch of slots.

    Attributes:
        community: the community (tariffs, the household's PV).
        household: the household whose others' books these are.
        summary: :func:`book_summary` of those books.
        start: first slot summarised.
        end: slot after the last.
    """

    community: Community
    household: int
    summary: FloatArray
    start: int
    end: int

    @classmethod
    def of(
        cls, community: Community, household: int, book: Book, start: int, end: int
    ) -> BookHistory:
        """Summarise ``book`` over ``[start, end)``."""
        return cls(community, household, book_summary(community, book, start, end), start, end)

    @property
    def pv_kw(self) -> FloatArray:
        """The household's PV output (kW, every slot of the year)."""
        pv: FloatArray = self.community.pv_kw[self.household]
        return pv


@dataclass
class BookModel:
    """The four fitted models (module docstring).

    Attributes:
        boosters: one LightGBM booster per :data:`TARGETS` entry.
        seed: the training seed.
        lag: slots between a decision and the newest final book it reads (2: open market).
        meta: how it was trained (written to the file).
        shrink: the share of each target's predicted residual the planner reads (module
            docstring; :func:`check_shrink`).
        planner: how the planner that reads it trades (:class:`PlannerSettings`).
    """

    boosters: list[Any]
    seed: int
    lag: int
    meta: dict[str, Any] = field(default_factory=dict)
    shrink: tuple[float, ...] = NO_SHRINK
    planner: PlannerSettings = OPEN_PLANNER

    def __post_init__(self) -> None:
        where = f"book model (seed {self.seed})"
        self.shrink = check_shrink(self.shrink, where)
        absent = [
            t
            for t, b, s in zip(TARGETS, self.boosters, self.shrink, strict=True)
            if b is None and s
        ]
        if absent:
            raise PolicyError(
                f"{where}: holds no trees for {', '.join(absent)} (an exported file keeps only "
                "the targets its shrinkage reads), so their shrinkage must stay 0"
            )

    def with_shrink(self, shrink: Sequence[float]) -> BookModel:
        """The same trees read with another shrinkage.

        Raises:
            PolicyError: ``shrink`` reads a target the model holds no trees for.
        """
        return BookModel(self.boosters, self.seed, self.lag, self.meta, tuple(shrink), self.planner)

    def with_planner(self, planner: PlannerSettings) -> BookModel:
        """The same trees and shrinkage, read by a planner that trades as ``planner`` says."""
        return BookModel(self.boosters, self.seed, self.lag, self.meta, self.shrink, planner)

    @property
    def trained_for(self) -> str:
        """The market mode whose newest final book its lag is."""
        return MARKET_OPEN if self.lag == plan_lag_slots(MARKET_OPEN) else MARKET_SEALED

    @classmethod
    def fit(
        cls,
        histories: Sequence[BookHistory],
        *,
        seed: int = 0,
        lag: int = 2,
        leads_per_slot: int = 3,
        rounds: int = 200,
        shrink: Sequence[float] = NO_SHRINK,
        planner: PlannerSettings = OPEN_PLANNER,
    ) -> BookModel:
        """Fit on every slot of ``histories`` with ``leads_per_slot`` decision times drawn
        (seeded) from the day before it; ``shrink`` and ``planner`` are saved with it.

        Raises:
            PolicyError: no history is long enough to give a training row.
        """
        import lightgbm as lgb

        rng = np.random.default_rng(seed)
        rows: list[list[FloatArray]] = [[] for _ in TARGETS]
        labels: list[list[FloatArray]] = [[] for _ in TARGETS]
        for history in histories:
            first = history.start + HISTORY_SLOTS + SLOTS_PER_DAY
            if first >= history.end:
                continue
            slots = np.repeat(np.arange(first, history.end), leads_per_slot)
            leads = rng.integers(1, SLOTS_PER_DAY - lag + 1, size=slots.size)
            decided = slots - leads
            tariffs = history.community.tariffs
            span = tariffs.retail[slots] - tariffs.feed_in[slots]
            pv = history.pv_kw
            for c in range(len(TARGETS)):
                column = history.summary[:, c]
                target = column[slots] - column[slots - SLOTS_PER_DAY]
                ok = np.isfinite(target)
                x = features(column, pv, slots, decided, lag, span, tariffs.feed_in[slots])
                rows[c].append(x[ok])
                labels[c].append(target[ok])
        if not any(len(r) for r in rows):
            raise PolicyError("no training slots: the histories are shorter than three days")
        params = {
            "objective": "l1",
            "learning_rate": 0.05,
            "num_leaves": 31,
            "min_data_in_leaf": 200,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "feature_fraction": 0.9,
            "seed": seed,
            "deterministic": True,
            "num_threads": 2,
            "verbosity": -1,
        }
        boosters = []
        for c in range(len(TARGETS)):
            data = lgb.Dataset(np.vstack(rows[c]), label=np.concatenate(labels[c]))
            boosters.append(lgb.train(params, data, num_boost_round=rounds))
        meta = {
            "rows": [int(sum(len(r) for r in rows[c])) for c in range(len(TARGETS))],
            "leads_per_slot": leads_per_slot,
            "rounds": rounds,
        }
        return cls(boosters, seed, lag, meta, tuple(shrink), planner)

    def residuals(
        self,
        history: BookRecord,
        decided: int,
        slots: IntArray,
        feed_in: FloatArray,
        retail: FloatArray,
    ) -> FloatArray:
        """Predicted residuals over the day-earlier book times :attr:`shrink`, shape
        ``(len(slots), 4)``."""
        pv = history.pv_kw
        decided_all = np.full(slots.size, decided)
        out = np.empty((slots.size, len(TARGETS)))
        for c, booster in enumerate(self.boosters):
            if self.shrink[c] == 0.0:
                out[:, c] = 0.0
                continue
            x = features(
                history.summary[:, c], pv, slots, decided_all, self.lag, retail - feed_in, feed_in
            )
            out[:, c] = self.shrink[c] * booster.predict(x)
        return out

    def save(self, path: Path) -> None:
        """Write the model as one JSON file (LightGBM's text models inside).

        Raises:
            PolicyError: the model was read from an ONNX file (no LightGBM trees to write).
        """
        if not all(hasattr(b, "model_to_string") for b in self.boosters):
            raise PolicyError("a book model read from ONNX cannot be saved as LightGBM trees")
        document = {
            "format": FORMAT,
            "targets": list(TARGETS),
            "features": list(FEATURES),
            "seed": self.seed,
            "lag": self.lag,
            "meta": self.meta,
            "shrink": list(self.shrink),
            "pricing": self.planner.pricing,
            "reach": self.planner.reach,
            "models": [b.model_to_string() for b in self.boosters],
        }
        write_atomically(path, document, indent=None)

    @classmethod
    def load(cls, path: Path) -> BookModel:
        """Read a model written by :meth:`save`, or its ONNX export (a ``.onnx`` file,
        :mod:`agents.policies.book_model_onnx`: the targets it reads, no LightGBM needed).

        Raises:
            PolicyError: the file is missing, not JSON (ONNX), another format, for other
                features, or with a shrinkage or planner settings out of range.
        """
        if path.suffix == ".onnx":
            from agents.policies.book_model_onnx import load_onnx_book_model

            return load_onnx_book_model(path)
        import lightgbm as lgb

        document = read_json_object(path, "a book model", PolicyError)
        if document.get("format") != FORMAT:
            raise PolicyError(f"{path}: not a book model of format {FORMAT}")
        if document.get("targets") != list(TARGETS) or document.get("features") != list(FEATURES):
            raise PolicyError(
                f"{path}: a book model for other targets or features than this code's"
            )
        try:
            boosters = [lgb.Booster(model_str=text) for text in document["models"]]
        except (KeyError, TypeError, lgb.basic.LightGBMError) as exc:
            raise PolicyError(f"{path}: the book model's trees do not load: {exc}") from exc
        widths = {int(b.num_feature()) for b in boosters}
        if len(boosters) != len(TARGETS) or widths != {len(FEATURES)}:
            raise PolicyError(
                f"{path}: {len(boosters)} trees of {sorted(widths)} features, this code's "
                f"book model has {len(TARGETS)} of {len(FEATURES)}"
            )
        shrink = document.get("shrink", list(NO_SHRINK))
        return cls(
            boosters,
            int(document.get("seed", 0)),
            int(document.get("lag", 2)),
            document.get("meta", {}),
            check_shrink(shrink if isinstance(shrink, list) else [shrink], str(path)),
            read_planner(document.get("pricing"), document.get("reach"), str(path)),
        )


@dataclass(frozen=True)
class BookEnsemble:
    """Several :class:`BookModel` files (one per training seed) as one model: the residuals
    are the mean of the members' predictions, so one plan reads the seeds' average book.

    Attributes:
        members: the fitted models, all for one market mode.
        paths: the file each member was read from (for messages and the report).

    Raises:
        PolicyError: no member, or members whose market modes (lags) or planners differ
            (naming the file).
    """

    members: tuple[BookModel, ...]
    paths: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if not self.members:
            raise PolicyError("a book ensemble needs at least one book model")
        names = self.paths or tuple(Path(f"member {j}") for j in range(len(self.members)))
        first = self.members[0]
        for member, path in zip(self.members[1:], names[1:], strict=False):
            if member.lag != first.lag:
                raise PolicyError(
                    f"{path}: a book model for the {member.trained_for} market (lag "
                    f"{member.lag}) cannot join an ensemble for the {first.trained_for} one "
                    f"({names[0]}, lag {first.lag})"
                )
            if member.planner != first.planner:
                raise PolicyError(
                    f"{path}: a book model read by a planner that trades as {member.planner} "
                    f"cannot join an ensemble whose planner trades as {first.planner} "
                    f"({names[0]})"
                )

    @classmethod
    def load(cls, paths: Sequence[Path]) -> BookEnsemble:
        """Read every file of ``paths`` (:meth:`BookModel.load`; its errors name the file)."""
        return cls(tuple(BookModel.load(path) for path in paths), tuple(paths))

    def with_shrink(self, shrink: Sequence[float]) -> BookEnsemble:
        """The same members, each read with ``shrink``."""
        return BookEnsemble(tuple(m.with_shrink(shrink) for m in self.members), self.paths)

    def with_planner(self, planner: PlannerSettings) -> BookEnsemble:
        """The same members, each read by a planner that trades as ``planner`` says."""
        return BookEnsemble(tuple(m.with_planner(planner) for m in self.members), self.paths)

    @property
    def planner(self) -> PlannerSettings:
        """The members' planner (all equal)."""
        return self.members[0].planner

    @property
    def lag(self) -> int:
        """The members' lag (all equal)."""
        return self.members[0].lag

    @property
    def shrink(self) -> tuple[float, ...]:
        """Per target the largest of the members' shrinkages (0 only where every member's is)."""
        return tuple(max(values) for values in zip(*(m.shrink for m in self.members), strict=True))

    @property
    def trained_for(self) -> str:
        """The members' market mode."""
        return self.members[0].trained_for

    @property
    def seeds(self) -> list[int]:
        """The members' training seeds."""
        return [member.seed for member in self.members]

    def residuals(
        self,
        history: BookRecord,
        decided: int,
        slots: IntArray,
        feed_in: FloatArray,
        retail: FloatArray,
    ) -> FloatArray:
        """The mean of the members' :meth:`BookModel.residuals`, shape ``(len(slots), 4)``."""
        each = [m.residuals(history, decided, slots, feed_in, retail) for m in self.members]
        mean: FloatArray = np.mean(each, axis=0)
        return mean


class LearnedMarket(DayEarlierMarket):
    """The planner's market for later slots: the day-earlier book moved by a :class:`BookModel`
    (module docstring).

    Args:
        community: the community.
        book: the other members' orders.
        household: the planning household (its PV is a feature).
        model: the fitted model, or an ensemble of several (their mean prediction).
    """

    def __init__(
        self, community: Community, book: Book, household: int, model: BookModel | BookEnsemble
    ) -> None:
        super().__init__(community, book)
        self.model = model
        self.household = household
        start = max(getattr(book, "start", 0), 0)
        end = min(getattr(book, "end", community.n_slots), community.n_slots)
        self._history = BookHistory.of(community, household, book, start, end)

    def later(
        self, decided: int, feed_in: FloatArray, retail: FloatArray
    ) -> list[tuple[Steps, Steps]]:
        """The market of slots ``decided + 1 ..`` (one per ``feed_in``/``retail`` entry)."""
        base = super().later(decided, feed_in, retail)
        if not base or decided - self.model.lag - 2 * SLOTS_PER_DAY < self._history.start:
            return base  # not two days of books behind the decision yet: the day-earlier book
        slots = decided + 1 + np.arange(len(base))
        residual = self.model.residuals(self._history, decided, slots, feed_in, retail)
        before = self._history.summary[slots - SLOTS_PER_DAY][:, [0, 2]]
        return moved_market(base, before, residual, self.model.shrink, feed_in, retail)


def moved_market(
    base: list[tuple[Steps, Steps]],
    kwh_before: FloatArray,
    residual: FloatArray,
    shrink: Sequence[float],
    feed_in: FloatArray,
    retail: FloatArray,
) -> list[tuple[Steps, Steps]]:
    """The day-earlier market ``base`` of later slots moved by a prediction: on each side a
    target of ``shrink`` reads, the steps scaled to the predicted kWh (the day-earlier kWh
    ``kwh_before``, shape ``(len(base), 2)`` buy/sell, plus ``residual``'s) and their prices
    shifted by the predicted share of the slot's ``feed_in``..``retail`` range, kept inside it.
    A side without steps or day-earlier kWh stays as it is."""
    moves = [shrink[2 * side] > 0.0 or shrink[2 * side + 1] > 0.0 for side in (0, 1)]
    out = []
    for k, steps_pair in enumerate(base):
        span = float(retail[k] - feed_in[k])
        moved = []
        for side, steps in enumerate(steps_pair):
            before = kwh_before[k, side]
            if steps.widths.size == 0 or not before > 0 or not moves[side]:
                moved.append(steps)
                continue
            kwh = max(before + residual[k, 2 * side], 0.0)
            shift = residual[k, 2 * side + 1]
            shares = (steps.prices - feed_in[k]) / max(span, 1e-9) + shift
            moved.append(
                Steps(
                    steps.widths * (kwh / before),
                    feed_in[k] + np.clip(shares, 0.0, 1.0) * span,
                )
            )
        out.append((moved[0], moved[1]))
    return out
