"""``enerwise agent eval``: every method on held-out months, as a share of the perfect-foresight
bound, plus community-level savings and self-sufficiency with and without the P2P market.

For each controlled household the methods run one after the other on the same data (the other
members' replayed ZIP orders, the same forecasts, the same initial state of charge); a method's
``pct_of_bound`` is ``100 * sum(savings) / sum(bound savings)`` over those households, savings
being money saved against grid-only (no battery, no market).

Every method carries a ``kind``: ``rule`` (deterministic: one figure), ``learned`` (one model per
training seed: ``pct_of_bound_seeds`` lists each seed's figure, ``pct_of_bound`` is their mean
and ``ci95`` a Student-t 95 % interval of that mean) or ``bound``. The market the methods trade
in is the evaluation's business, not the methods': every method runs through
:func:`run_method` on the same setup, and the mode decides what a method may read of the
others' orders (:mod:`agents.policies.visible`). In an ``open`` market the book-reading methods
(``book_response``, ``mpc_book`` and the residual policies on it) price against their own
slot's visible book; in a ``sealed`` one no method sees its own slot's book, and those methods
run their no-book variant (the newest revealed book stands in for it), so an advantage over
truthful bidding there comes from forecasts and the battery alone. Learned models run in either
mode; a learned method's row names the mode its files were trained in (``trained_for``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.cache import save_entry
from agents.community import Community, Strategy, self_sufficiency, simulate
from agents.data.calendar import slot_index
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import PRETRAINED
from agents.policies.baselines import (
    ZIP,
    BookResponse,
    Halfway,
    ScenarioResponse,
    Threshold,
    Truthful,
)
from agents.policies.book_model import (
    BookEnsemble,
    BookModel,
    LearnedMarket,
    PlannerSettings,
    check_shrink,
)
from agents.policies.bound import Bound, perfect_foresight
from agents.policies.mpc import (
    PRICING_HALFWAY,
    BookMpc,
    MpcBattery,
    MpcConfig,
    MpcStrategy,
    check_pricing,
)
from agents.policies.visible import (
    MARKET_OPEN,
    MARKET_SEALED,
    Book,
    SpoofedBook,
    check_market,
    plan_lag_slots,
)
from agents.prosumer import ProsumerRun, run_prosumer
from agents.rl.algorithms import Algo, PolicyStrategy, is_residual, load_model
from agents.rl.export import OnnxModel
from agents.rl.kinds import BOOK_RULES, LEARNED, PLAN_REACH, RULES
from agents.rl.setup import HELD_OUT, Period, Setup, SetupConfig, build_setup
from market.clearing import Side

Progress = Callable[[str], None]

BOUND_VERSION = 1
"""Bump when the bound's program changes (invalidates cached bounds)."""


SPOOFS = {"buy_at_top": (Side.BUY, 1.0), "sell_at_floor": (Side.SELL, 0.0)}
"""The spoofer's fake orders (:func:`_spoof_report`): side and tick as a fraction of the range."""


BOOK_MODEL_FILES = {
    MARKET_OPEN: "book-model-seed*.onnx",
    MARKET_SEALED: "book-model-sealed-seed*.onnx",
}
"""The shipped book models of each market mode (``mpc_book_learned``), one file per seed."""


def default_models(market: str = MARKET_OPEN) -> dict[str, tuple[Path, ...]]:
    """The shipped models: one file per training seed and learned method; ``mpc_book_learned``'s
    are those of ``market`` (:data:`BOOK_MODEL_FILES`), the open market's where none ship for
    it (a caller then finds them trained for another mode)."""
    seeds = tuple(sorted(PRETRAINED.glob("imitation-seed*.onnx")))
    books = tuple(sorted(PRETRAINED.glob(BOOK_MODEL_FILES[check_market(market)]))) or tuple(
        sorted(PRETRAINED.glob(BOOK_MODEL_FILES[MARKET_OPEN]))
    )
    return {
        "ppo": (PRETRAINED / "ppo.zip",),
        "dqn": (PRETRAINED / "dqn.zip",),
        "imitation": seeds or (PRETRAINED / "imitation-seed0.onnx",),
        "mpc_book_learned": books or (PRETRAINED / "book-model-seed0.onnx",),
    }


@dataclass(frozen=True, slots=True)
class AgentEvalConfig:
    """What ``agent eval`` measures.

    Attributes:
        setup: community, forecasts and households.
        period: the held-out period.
        models: per learned method (:data:`LEARNED`), its model files, one per training seed
            (``.zip`` stable-baselines3, ``.onnx`` an exported residual policy); a missing file
            is reported in the method's row, not fatal. ``mpc_book_ensemble``'s files are one
            model (the mean of their predictions) and must all load.
        rules: the rule-based methods to run (a subset of :data:`RULES`).
        community_level: also simulate the whole community with and without the market.
        market: the market mode the methods trade in (:data:`~agents.policies.visible.
            MARKET_MODES`: ``open``, every order of the slot is visible before the household's
            own; ``sealed``, none is); the report names it.
        spoof_kwh: also measure a spoofer (:func:`_spoof_report`) showing a fake order of this
            size in every slot to the book-reading rules (None: not measured).
        book_shrink: the shrinkage the book models (``mpc_book_learned``,
            ``mpc_book_ensemble``) are read with instead of their files' (one value or one per
            target, :func:`~agents.policies.book_model.check_shrink`; None: the files').
        book_pricing: how the book models' planner prices its orders instead of as their
            files say (:data:`~agents.policies.mpc.PRICINGS`: ``book``, the best response to the
            book it can read, or ``halfway``, the halfway rule's prices; None: the files',
            :class:`~agents.policies.book_model.PlannerSettings`).
        book_reach: the share of their plan's set-point the book models' planner follows
            instead of their files' (0..1, the rest self-consumption; 1: the plan; None: the
            files').
    """

    setup: SetupConfig = field(default_factory=SetupConfig)
    period: Period = HELD_OUT
    models: dict[str, tuple[Path, ...]] = field(default_factory=default_models)
    rules: tuple[str, ...] = RULES
    community_level: bool = True
    market: str = MARKET_OPEN
    spoof_kwh: float | None = None
    book_shrink: tuple[float, ...] | None = None
    book_pricing: str | None = None
    book_reach: float | None = None

    def __post_init__(self) -> None:
        check_market(self.market)
        if self.book_pricing is not None:
            check_pricing(self.book_pricing)
        if self.book_reach is not None and not 0.0 <= self.book_reach <= 1.0:
            raise ConfigError(f"book_reach must be in 0..1, got {self.book_reach}")
        if self.book_shrink is not None:
            try:
                check_shrink(self.book_shrink, "book_shrink")
            except PolicyError as exc:
                raise ConfigError(str(exc)) from exc
        if self.spoof_kwh is not None and not 0.0 < self.spoof_kwh <= 1000.0:
            raise ConfigError(f"spoof_kwh must be in (0, 1000], got {self.spoof_kwh}")
        unknown = [r for r in self.rules if r not in RULES] + [
            m for m in self.models if m not in LEARNED
        ]
        if unknown:
            raise ConfigError(
                f"unknown method(s) {', '.join(unknown)}; rules: {', '.join(RULES)}; "
                f"learned: {', '.join(LEARNED)}"
            )

    @classmethod
    def quick(cls) -> AgentEvalConfig:
        """One household, one held-out week (seconds, for smoke tests)."""
        return cls(
            setup=SetupConfig(max_households=1),
            period=Period(10, 10, days=7),
            community_level=True,
        )


def load_learned(name: str, path: Path, market: str | None = MARKET_OPEN) -> Any:
    """A learned method's model from ``path`` (``.zip``: stable-baselines3 of the method's
    algorithm, trained in the open market; ``.onnx``: an exported residual policy, refused when
    trained for another mode than ``market``; None accepts any).

    Raises:
        PolicyError: missing, or a file of another kind.
    """
    if name == "mpc_book_learned":
        return BookModel.load(path)
    if path.suffix == ".onnx":
        return OnnxModel(path, market)
    if path.suffix != ".zip":
        raise PolicyError(f"{path}: a learned model is a .zip or an .onnx file")
    return load_model(str(path), Algo.DQN if name == "dqn" else Algo.PPO)


def _strategies(
    setup: Setup,
    k: int,
    rules: tuple[str, ...],
    learned: dict[str, Any],
    market: str = MARKET_OPEN,
    book: Book | None = None,
) -> dict[str, Strategy]:
    """The household's strategies in ``market``: the rules asked for and one per learned model
    (named ``<method>#<seed index>``), reading ``book`` (default: the setup's) of the others'
    orders; a book model's planner prices and moves the battery as the model says
    (:class:`~agents.policies.book_model.PlannerSettings`)."""
    h = setup.households[k]
    seen = setup.books[k] if book is None else book
    book_planner = BookMpc(setup.community, h, setup.forecasts[k], seen, market=market)

    def ahead(name: str, **options: Any) -> Callable[[], Strategy]:
        """A rule of the planner that plans ahead on the day-earlier books."""
        return lambda: BookMpc(
            setup.community,
            h,
            setup.forecasts[k],
            seen,
            MpcConfig(market=True),
            name,
            market,
            **options,
        )

    makers: dict[str, Callable[[], Strategy]] = {
        "truthful": Truthful,
        "zip": lambda: ZIP(seed=7),
        "threshold": Threshold,
        "halfway": Halfway,
        "mpc": lambda: MpcStrategy(
            MpcBattery(setup.community, h, setup.forecasts[k], setup.books[k]), Halfway(), "mpc"
        ),
        "book_response": lambda: BookResponse(seen, market),
        "mpc_book": lambda: book_planner,
        "mpc_book_ahead": ahead("mpc_book_ahead"),
        "mpc_book_ahead_halfway": ahead("mpc_book_ahead_halfway", pricing=PRICING_HALFWAY),
        "halfway_ahead": ahead("halfway_ahead", pricing=PRICING_HALFWAY, battery_reach=PLAN_REACH),
        "scenario_response": lambda: ScenarioResponse(seen, market),
    }
    out = {name: makers[name]() for name in rules}
    for key, model in learned.items():
        if isinstance(model, BookModel | BookEnsemble):
            if model.trained_for != market:
                files = (
                    f" ({', '.join(str(p) for p in model.paths)})"
                    if isinstance(model, BookEnsemble)
                    else ""
                )
                raise PolicyError(
                    f"{key}{files}: a book model trained for the {model.trained_for} market cannot "
                    f"plan in a {market} one (it reads the book {model.lag} slots back, "
                    f"final there only {plan_lag_slots(market)} slots back)"
                )
            later = LearnedMarket(setup.community, seen, h, model)
            out[key] = BookMpc(
                setup.community,
                h,
                setup.forecasts[k],
                seen,
                name=key,
                market=market,
                later_market=later,
                pricing=model.planner.pricing,
                battery_reach=model.planner.reach,
            )
            continue
        algo = Algo.DQN if key.startswith("dqn") else Algo.PPO
        out[key] = PolicyStrategy(model, algo, setup.forecasts[k], book_planner)
    return out


def run_method(setup: Setup, k: int, strategy: Strategy) -> ProsumerRun:
    """One method on the setup's ``k``-th household over its period (the one place a method
    meets the market)."""
    return run_prosumer(setup.community, setup.books[k], strategy, setup.start, setup.end)


def mean_ci95(values: list[float]) -> tuple[float, list[float] | None]:
    """The mean of ``values`` and a Student-t 95 % confidence interval of it (None for fewer
    than two values)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, None
    from scipy.stats import t

    half = float(t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))
    return mean, [round(mean - half, 2), round(mean + half, 2)]


def _bounds(config: AgentEvalConfig, setup: Setup, k: int) -> tuple[Bound, Bound]:
    """The bound with and without the market, cached on disk (solving takes seconds to a
    minute per household and quarter)."""
    community, book = setup.community, setup.books[k]
    path = None
    if config.setup.cache_dir is not None:
        digest = hashlib.sha256()
        digest.update(
            repr((community.config, book.household, setup.start, setup.end, BOUND_VERSION)).encode()
        )
        if config.setup.others != "zip":  # the ZIP members' bounds keep their cached keys
            for part in (book.side, book.tick, book.qty_wh):
                digest.update(np.ascontiguousarray(part).tobytes())
        key = digest.hexdigest()[:20]
        path = config.setup.cache_dir / f"bound-{key}.npz"
        if path.is_file():
            data = np.load(path)
            return (
                Bound(float(data["cost"][0]), float(data["grid"][0]), data["soc"]),
                Bound(float(data["cost"][1]), float(data["grid"][1]), data["soc_no_p2p"]),
            )
    bound = perfect_foresight(community, book, setup.start, setup.end)
    no_p2p = perfect_foresight(community, book, setup.start, setup.end, p2p=False)
    if path is not None:
        save_entry(
            path,
            cost=np.array([bound.cost_eur, no_p2p.cost_eur]),
            grid=np.array([bound.grid_only_eur, no_p2p.grid_only_eur]),
            soc=bound.soc_kwh,
            soc_no_p2p=no_p2p.soc_kwh,
        )
    return bound, no_p2p


def _community_run(
    community: Community, strategies: list[Strategy], start: int, end: int, *, p2p: bool
) -> dict[str, float]:
    result = simulate(community, strategies, start, end, p2p=p2p)
    grid = float(result.grid_only_eur.sum())
    saved = grid - float(result.cost_eur.sum())
    return {
        "cost_eur": round(float(result.cost_eur.sum()), 2),
        "savings_eur": round(saved, 2),
        "savings_pct": round(100.0 * saved / grid, 2) if grid else 0.0,
        "self_sufficiency": round(self_sufficiency(community, result), 4),
        "p2p_kwh": round(float(np.clip(result.p2p_kwh, 0, None).sum()), 1),
    }


def evaluate_agents(
    config: AgentEvalConfig | None = None, progress: Progress | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run every method and the bound; return ``(report, traces)``.

    ``report`` is JSON-ready (the CLI's ``--json`` output); ``traces`` holds per-slot arrays for
    plots.
    """
    config = config or AgentEvalConfig()
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    say("building community, forecasts and the others' orders")
    setup = build_setup(config.setup, config.period)
    community = setup.community
    learned, seeds_of, missing = _load_models(
        config.models, config.book_shrink, config.book_pricing, config.book_reach
    )
    savings: dict[str, list[float]] = {}
    others_gain: dict[str, list[float]] = {}
    spoofs: list[dict[str, Any]] = []
    bounds: list[float] = []
    bounds_no_p2p: list[float] = []
    traces: dict[str, Any] = {"households": {}}
    per_household: list[dict[str, Any]] = []
    for k, h in enumerate(setup.households):
        row: dict[str, Any] = {"household": community.households[h].id}
        runs: dict[str, ProsumerRun] = {}
        strategies = _strategies(setup, k, config.rules, learned, config.market)
        for name, strategy in strategies.items():
            say(f"{community.households[h].id}: {name}")
            runs[name] = run_method(setup, k, strategy)
            savings.setdefault(name, []).append(runs[name].savings_eur)
            others_gain.setdefault(name, []).append(float(runs[name].others_gain_eur.sum()))
            row[name] = round(runs[name].savings_eur, 3)
        if config.spoof_kwh is not None:
            spoofs.append(_spoofed_runs(config, setup, k, runs, say))
        say(f"{community.households[h].id}: perfect-foresight bound")
        bound, no_p2p = _bounds(config, setup, k)
        bounds.append(bound.savings_eur)
        bounds_no_p2p.append(no_p2p.savings_eur)
        row["bound"] = round(bound.savings_eur, 3)
        row["grid_only_eur"] = round(bound.grid_only_eur, 3)
        per_household.append(row)
        traces["households"][community.households[h].id] = {
            "soc": {name: run.soc_kwh for name, run in runs.items()} | {"bound": bound.soc_kwh},
        }
    total_bound = float(sum(bounds))
    methods = _methods_report(config, savings, others_gain, learned, seeds_of, missing, total_bound)
    _average_seeds(per_household, config, seeds_of, missing)
    stamps = slot_index(community.config.year)
    report: dict[str, Any] = {
        "period": f"{stamps[setup.start].date()}..{stamps[setup.end - 1].date()}",
        "households": [community.households[h].id for h in setup.households],
        "regions": list(community.config.regions),
        "forecast": config.setup.forecast.value,
        "others": config.setup.others,
        "market": config.market,
        "market_mode": config.market,
        "methods": methods,
        "bound": {
            "savings_eur": round(total_bound, 2),
            "battery_only_savings_eur": round(float(sum(bounds_no_p2p)), 2),
            "solver": "HiGHS MILP (scipy.optimize.milp); battery-only: HiGHS LP (linprog)",
        },
        "per_household": per_household,
    }
    if config.spoof_kwh is not None:
        report["spoof"] = _spoof_report(config, setup, spoofs)
    if config.community_level:
        say("community with and without the P2P market")
        report["community"] = _community_report(setup, learned.get("ppo#0"))
    traces["start"] = setup.start
    traces["retail"] = community.tariffs.retail[setup.start : setup.end]
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report, traces


def _methods_report(
    config: AgentEvalConfig,
    savings: dict[str, list[float]],
    others_gain: dict[str, list[float]],
    learned: dict[str, Any],
    seeds_of: dict[str, list[str]],
    missing: dict[str, str],
    total_bound: float,
) -> dict[str, Any]:
    """Each method's savings as % of the perfect-foresight bound (learned methods: the mean and
    95 % interval across their training seeds, or the error of a model that did not load)."""

    def pct(total: float) -> float:
        return round(100.0 * total / total_bound, 2) if total_bound > 0 else 0.0

    methods: dict[str, Any] = {}
    for name in config.rules:
        total = float(sum(savings[name]))
        methods[name] = {
            "kind": "rule",
            "pct_of_bound": pct(total),
            "savings_eur": round(total, 2),
            "others_gain_eur": round(float(sum(others_gain[name])), 2),
        }
    for name in config.models:
        keys = seeds_of.get(name, [])
        if name in missing:
            methods[name] = {
                "kind": "learned",
                "pct_of_bound": None,
                "savings_eur": None,
                "pct_of_bound_seeds": [],
                "error": missing[name],
            }
            continue
        per_seed = [pct(float(sum(savings[key]))) for key in keys]
        mean, interval = mean_ci95(per_seed)
        methods[name] = {
            "kind": "learned",
            "pct_of_bound": round(mean, 2),
            "savings_eur": round(float(np.mean([sum(savings[key]) for key in keys])), 2),
            "others_gain_eur": round(float(np.mean([sum(others_gain[key]) for key in keys])), 2),
            "pct_of_bound_seeds": per_seed,
            "ci95": interval,
            "trained_for": sorted({_trained_for(learned[key]) for key in keys}),
        }
        books = [learned[key] for key in keys if isinstance(learned[key], BookModel | BookEnsemble)]
        if books:
            methods[name]["shrink_seeds"] = [list(model.shrink) for model in books]
            methods[name].update(_planner_report([model.planner for model in books]))
    methods["bound"] = {
        "kind": "bound",
        "pct_of_bound": 100.0,
        "savings_eur": round(total_bound, 2),
    }
    return methods


def _planner_report(planners: list[PlannerSettings]) -> dict[str, Any]:
    """How the book models' planners traded: ``pricing`` and ``reach``, one value where every
    seed's is the same, else one per seed."""
    pricing = [p.pricing for p in planners]
    reach = [p.reach for p in planners]
    return {
        "pricing": pricing[0] if len(set(pricing)) == 1 else pricing,
        "reach": reach[0] if len(set(reach)) == 1 else reach,
    }


def _average_seeds(
    per_household: list[dict[str, Any]],
    config: AgentEvalConfig,
    seeds_of: dict[str, list[str]],
    missing: dict[str, str],
) -> None:
    """Replaces the per-seed columns of every household row by the learned method's mean."""
    for row in per_household:
        for name in config.models:
            keys = seeds_of.get(name, [])
            if keys and name not in missing:
                row[name] = round(float(np.mean([row.pop(key) for key in keys])), 3)
            else:
                for key in keys:
                    row.pop(key, None)


def _load_models(
    models: dict[str, tuple[Path, ...]],
    book_shrink: tuple[float, ...] | None = None,
    book_pricing: str | None = None,
    book_reach: float | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, str]]:
    """The learned policies by ``name#seed`` (of any market mode: :func:`_trained_for`), each
    method's seed keys, and the methods whose model did not load (with the reason).

    ``mpc_book_ensemble`` is one policy of all its files (``name#0``); a file of it that does
    not load, or that does not fit the others, stops the evaluation (PolicyError naming the
    file) instead of leaving a smaller ensemble. ``book_shrink``, ``book_pricing`` and
    ``book_reach`` (where not None) replace the book models' own."""

    def read(model: Any) -> Any:
        if not isinstance(model, BookModel | BookEnsemble):
            return model
        if book_shrink is not None:
            model = model.with_shrink(book_shrink)
        if book_pricing is None and book_reach is None:
            return model
        return model.with_planner(model.planner.overridden(book_pricing, book_reach))

    learned: dict[str, Any] = {}
    seeds_of: dict[str, list[str]] = {}
    missing: dict[str, str] = {}
    for name, paths in models.items():
        if name == "mpc_book_ensemble":
            learned[f"{name}#0"] = read(BookEnsemble.load(paths))
            seeds_of[name] = [f"{name}#0"]
            continue
        for j, path in enumerate(paths):
            try:
                learned[f"{name}#{j}"] = read(load_learned(name, path, None))
                seeds_of.setdefault(name, []).append(f"{name}#{j}")
            except PolicyError as exc:
                missing[name] = str(exc)
    return learned, seeds_of, missing


def _spoofed_runs(
    config: AgentEvalConfig,
    setup: Setup,
    k: int,
    runs: dict[str, ProsumerRun],
    say: Progress,
) -> dict[str, Any]:
    """The book-reading rules of household ``k`` rerun with a spoofer in their book
    (:class:`~agents.policies.visible.SpoofedBook`, one per :data:`SPOOFS` entry), against
    their runs without one (``runs``); the market clears the real book both times."""
    assert config.spoof_kwh is not None
    qty = round(config.spoof_kwh * 1000.0)
    out: dict[str, Any] = {}
    for name in (r for r in config.rules if r in BOOK_RULES):
        for spoof, (side, frac) in SPOOFS.items():
            say(f"{setup.community.households[setup.households[k]].id}: {name}, spoofer {spoof}")
            book = SpoofedBook(setup.books[k], setup.community, side, frac, qty)
            strategy = _strategies(setup, k, (name,), {}, config.market, book)[name]
            out[f"{name}/{spoof}"] = (runs[name], run_method(setup, k, strategy))
    return out


def _spoof_report(
    config: AgentEvalConfig, setup: Setup, spoofs: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the spoofer moved, per book-reading rule and fake order, summed over households:
    the household's savings and the other members' market gain (EUR, spoofed minus clean), the
    mean change of the clearing price (ct/kWh, over slots that cleared both times) and the
    share of slots whose price moved."""
    tariffs = setup.community.tariffs
    span = (tariffs.retail - tariffs.feed_in)[setup.start : setup.end]
    result: dict[str, Any] = {}
    for key in spoofs[0] if spoofs else {}:
        name, spoof = key.split("/")
        saved = others = 0.0
        moves: list[float] = []
        slots = 0
        for household in spoofs:
            clean, spoofed = household[key]
            saved += spoofed.savings_eur - clean.savings_eur
            others += float(spoofed.others_gain_eur.sum() - clean.others_gain_eur.sum())
            both = ~np.isnan(clean.tick_frac) & ~np.isnan(spoofed.tick_frac)
            moves.extend((100.0 * (spoofed.tick_frac - clean.tick_frac) * span)[both].tolist())
            slots += int(both.sum())
        moved = np.asarray(moves)
        result.setdefault(name, {})[spoof] = {
            "savings_delta_eur": round(saved, 2),
            "others_gain_delta_eur": round(others, 2),
            "price_delta_ct_per_kwh": round(float(moved.mean()), 3) if slots else None,
            "slots_price_moved_pct": (
                round(100.0 * float(np.mean(np.abs(moved) > 1e-9)), 1) if slots else None
            ),
        }
    return {"kwh": config.spoof_kwh, "market": config.market, "methods": result}


def _trained_for(model: Any) -> str:
    """The market mode a loaded model was trained in (stable-baselines3 files: the training
    environment's, ``open``)."""
    if isinstance(model, BookModel | BookEnsemble):
        return model.trained_for
    policy = getattr(model, "policy", None)
    return str(getattr(policy, "trained_for", MARKET_OPEN))


def _community_report(setup: Setup, ppo: Any | None) -> dict[str, Any]:
    """The whole community (ZIP traders) with and without the P2P market, and with the
    evaluated households trading by a non-residual ``ppo`` when there is one."""
    community = setup.community
    n = len(community.households)
    zips: list[Strategy] = [ZIP(seed=1000 + j) for j in range(n)]
    result: dict[str, Any] = {
        "members": n,
        "others": "zip",
        "p2p": _community_run(community, zips, setup.start, setup.end, p2p=True),
        "no_p2p": _community_run(
            community, [ZIP(seed=1000 + j) for j in range(n)], setup.start, setup.end, p2p=False
        ),
    }
    if ppo is not None and not is_residual(ppo):
        # A residual policy needs the others' orders of its slot before it orders, which
        # a simultaneous community run does not give it.
        mixed: list[Strategy] = [ZIP(seed=1000 + j) for j in range(n)]
        for k, h in enumerate(setup.households):
            mixed[h] = PolicyStrategy(ppo, Algo.PPO, setup.forecasts[k])
        result["p2p_with_ppo"] = _community_run(community, mixed, setup.start, setup.end, p2p=True)
    return result


def write_report(report: dict[str, Any], traces: dict[str, Any], out: Path) -> list[Path]:
    """Write ``eval.json`` and PNG plots (share of bound per method, one week of charge)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "eval.json"]
    written[0].write_text(json.dumps(report, indent=2))
    names = [
        n
        for n, m in report["methods"].items()
        if m["pct_of_bound"] is not None and m.get("kind") != "bound"
    ]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(names, [report["methods"][n]["pct_of_bound"] for n in names], color="tab:blue")
    ax.axhline(100, color="black", lw=0.8)
    ax.set_ylabel("% of perfect-foresight savings")
    ax.set_title(f"Held-out {report['period']}")
    fig.tight_layout()
    path = out / "pct_of_bound.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    for hid, data in traces["households"].items():
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
        week = slice(0, min(7 * 96, len(traces["retail"])))
        top.plot(traces["retail"][week], color="tab:red")
        top.set_ylabel("retail EUR/kWh")
        for name, soc in data["soc"].items():
            bottom.plot(np.asarray(soc)[week], label=name, lw=1)
        bottom.set_ylabel("state of charge kWh")
        bottom.set_xlabel("slot (15 min) of the first held-out week")
        bottom.legend(ncol=3, fontsize=7)
        fig.tight_layout()
        path = out / f"soc_{hid}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
