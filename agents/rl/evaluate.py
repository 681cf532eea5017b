"""``enerwise agent eval``: every method on held-out months, as a share of the perfect-foresight
bound, plus community-level savings and self-sufficiency with and without the P2P market.

For each controlled household the methods run one after the other on the same data (the other
members' replayed ZIP orders, the same forecasts, the same initial state of charge); a method's
``pct_of_bound`` is ``100 * sum(savings) / sum(bound savings)`` over those households, savings
being money saved against grid-only (no battery, no market).
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

from agents.community import Community, Strategy, self_sufficiency, simulate
from agents.data.calendar import slot_index
from agents.errors import PolicyError
from agents.forecasting.provider import PRETRAINED
from agents.policies.baselines import ZIP, BookResponse, Halfway, Threshold, Truthful
from agents.policies.bound import Bound, perfect_foresight
from agents.policies.mpc import BookMpc, MpcBattery, MpcStrategy
from agents.prosumer import ProsumerRun, run_prosumer
from agents.rl.algorithms import Algo, PolicyStrategy, is_residual, load_model
from agents.rl.setup import HELD_OUT, Period, Setup, SetupConfig, build_setup

Progress = Callable[[str], None]

BOUND_VERSION = 1
"""Bump when the bound's program changes (invalidates cached bounds)."""


@dataclass(frozen=True, slots=True)
class AgentEvalConfig:
    """What ``agent eval`` measures.

    Attributes:
        setup: community, forecasts and households.
        period: the held-out period.
        models: saved model per learned algorithm (missing files are reported, not fatal).
        community_level: also simulate the whole community with and without the market.
    """

    setup: SetupConfig = field(default_factory=SetupConfig)
    period: Period = HELD_OUT
    models: dict[Algo, Path] = field(
        default_factory=lambda: {
            Algo.PPO: PRETRAINED / "ppo.zip",
            Algo.DQN: PRETRAINED / "dqn.zip",
        }
    )
    community_level: bool = True

    @classmethod
    def quick(cls) -> AgentEvalConfig:
        """One household, one held-out week (seconds, for smoke tests)."""
        return cls(
            setup=SetupConfig(max_households=1),
            period=Period(10, 10, days=7),
            community_level=True,
        )


def _strategies(setup: Setup, k: int, models: dict[Algo, Any]) -> dict[str, Strategy]:
    h = setup.households[k]
    planner = MpcBattery(setup.community, h, setup.forecasts[k], setup.books[k])
    book_planner = BookMpc(setup.community, h, setup.forecasts[k], setup.books[k])
    out: dict[str, Strategy] = {
        "truthful": Truthful(),
        "zip": ZIP(seed=7),
        "threshold": Threshold(),
        "halfway": Halfway(),
        "mpc": MpcStrategy(planner, Halfway(), "mpc"),
        "book_response": BookResponse(setup.books[k]),
        "mpc_book": book_planner,
    }
    for algo, model in models.items():
        out[algo.value] = PolicyStrategy(model, algo, setup.forecasts[k], book_planner)
    return out


def _bounds(config: AgentEvalConfig, setup: Setup, k: int) -> tuple[Bound, Bound]:
    """The bound with and without the market, cached on disk (solving takes seconds to a
    minute per household and quarter)."""
    community, book = setup.community, setup.books[k]
    path = None
    if config.setup.cache_dir is not None:
        key = hashlib.sha256(
            repr((community.config, book.household, setup.start, setup.end, BOUND_VERSION)).encode()
        ).hexdigest()[:20]
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
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
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
    models: dict[Algo, Any] = {}
    missing: dict[str, str] = {}
    for algo, path in config.models.items():
        try:
            models[algo] = load_model(str(path), algo)
        except PolicyError as exc:
            missing[algo.value] = str(exc)
    savings: dict[str, list[float]] = {}
    bounds: list[float] = []
    bounds_no_p2p: list[float] = []
    traces: dict[str, Any] = {"households": {}}
    per_household: list[dict[str, Any]] = []
    for k, h in enumerate(setup.households):
        book = setup.books[k]
        row: dict[str, Any] = {"household": community.households[h].id}
        runs: dict[str, ProsumerRun] = {}
        for name, strategy in _strategies(setup, k, models).items():
            say(f"{community.households[h].id}: {name}")
            runs[name] = run_prosumer(community, book, strategy, setup.start, setup.end)
            savings.setdefault(name, []).append(runs[name].savings_eur)
            row[name] = round(runs[name].savings_eur, 3)
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
    methods: dict[str, Any] = {}
    for name, values in savings.items():
        total = float(sum(values))
        methods[name] = {
            "pct_of_bound": round(100.0 * total / total_bound, 1) if total_bound > 0 else 0.0,
            "savings_eur": round(total, 2),
        }
    for name, reason in missing.items():
        methods[name] = {"pct_of_bound": None, "savings_eur": None, "error": reason}
    stamps = slot_index(community.config.year)
    report: dict[str, Any] = {
        "period": f"{stamps[setup.start].date()}..{stamps[setup.end - 1].date()}",
        "households": [community.households[h].id for h in setup.households],
        "forecast": config.setup.forecast.value,
        "methods": methods,
        "bound": {
            "savings_eur": round(total_bound, 2),
            "battery_only_savings_eur": round(float(sum(bounds_no_p2p)), 2),
            "solver": "HiGHS MILP (scipy.optimize.milp); battery-only: HiGHS LP (linprog)",
        },
        "per_household": per_household,
    }
    if config.community_level:
        say("community with and without the P2P market")
        n = len(community.households)
        zips: list[Strategy] = [ZIP(seed=1000 + j) for j in range(n)]
        report["community"] = {
            "members": n,
            "others": "zip",
            "p2p": _community_run(community, zips, setup.start, setup.end, p2p=True),
            "no_p2p": _community_run(
                community, [ZIP(seed=1000 + j) for j in range(n)], setup.start, setup.end, p2p=False
            ),
        }
        if Algo.PPO in models and not is_residual(models[Algo.PPO]):
            # A residual policy needs the others' orders of its slot before it orders, which
            # a simultaneous community run does not give it.
            mixed: list[Strategy] = [ZIP(seed=1000 + j) for j in range(n)]
            for k, h in enumerate(setup.households):
                mixed[h] = PolicyStrategy(models[Algo.PPO], Algo.PPO, setup.forecasts[k])
            report["community"]["p2p_with_ppo"] = _community_run(
                community, mixed, setup.start, setup.end, p2p=True
            )
    traces["start"] = setup.start
    traces["retail"] = community.tariffs.retail[setup.start : setup.end]
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report, traces


def write_report(report: dict[str, Any], traces: dict[str, Any], out: Path) -> list[Path]:
    """Write ``eval.json`` and PNG plots (share of bound per method, one week of charge)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "eval.json"]
    written[0].write_text(json.dumps(report, indent=2))
    names = [n for n, m in report["methods"].items() if m["pct_of_bound"] is not None]
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
