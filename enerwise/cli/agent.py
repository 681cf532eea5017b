"""``enerwise agent``: train, evaluate and export the trading agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enerwise.cli.agent_run import AgentLink, check_run_options, run_gateway, trade
from enerwise.cli.console import console, err_console
from enerwise.cli.options import (
    HOUSEHOLD_ENV,
    DeploymentFile,
    JsonFlag,
    KeystoreDir,
    PasswordEnv,
    PasswordFile,
    RpcUrl,
    SigningKey,
    config_option,
)
from enerwise.cli.output import print_json, print_result, progress, status

RegionsOption = Annotated[
    str,
    typer.Option(
        help="DWD TRY climate regions (1..15, comma-separated) the members' PV arrays stand in. "
        "The default 4 is the weather every method was chosen on, in 2015 and 2018 alike (a "
        "test reference year is one typical year): another region holds the weather out."
    ),
]

app = typer.Typer(help="Learning prosumer agents in the P2P market.", no_args_is_help=True)

if TYPE_CHECKING:
    from rich.table import Table

    from agents.policies.book_model import PlannerSettings
    from agents.rl.setup import Period, SetupConfig
    from agents.rl.train import TrainResult
    from enerwise.cli.option_models import EvalOptions, TrainOptions

PRETRAINED = Path(__file__).resolve().parents[2] / "agents" / "pretrained"

SHARED_REACH = 0.5
"""``agent train --algo shared``'s battery reach unless ``--reach`` names one."""


@app.command("train")
def train_command(
    algo: Annotated[
        str,
        typer.Option(
            help="ppo (continuous), dqn (discrete menu), imitation (a residual cloned from "
            "the perfect-foresight program's set-points, one ONNX file per seed), shared "
            "(one policy every battery household of the community learns at once, PettingZoo) "
            "book_model (the planner's learned model of the others' book, one file per "
            "seed: the method mpc_book_learned) or community_residual (a linear correction of "
            "the community plan every battery household shares, learned by random search on "
            "the community's welfare in January..March of 2015 and 2018 under eight other "
            "regions' weather; one file per seed: agent eval-community --community-residual) "
            "or tick_model (a learned model of the others' next ticks for pricing in a sealed "
            "market, one file tick-model-sealed.json: agent eval --book-pricing predicted)."
        ),
    ] = "ppo",
    steps: Annotated[
        int, typer.Option(help="Environment steps (15-minute slots; shared: per seed).")
    ] = 400_000,
    seed: Annotated[int, typer.Option(help="Seed of model and environment.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path(".run/agents"),
    forecast: Annotated[
        str, typer.Option(help="Forecasts the agent sees: naive, lightgbm, validated or oracle.")
    ] = "validated",
    households: Annotated[int, typer.Option(help="Battery households to train on.")] = 3,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 100_000,
    tensorboard: Annotated[bool, typer.Option(help="Write TensorBoard logs to OUT/tb.")] = False,
    months: Annotated[
        str, typer.Option(help="Training months FIRST-LAST of 2018 (never Oct..Dec).")
    ] = "1-9",
    planner: Annotated[
        bool | None,
        typer.Option(
            help="PPO: learn a correction of the visible-book planner's battery (the default) "
            "or, with --no-planner, battery and prices alone. DQN: never."
        ),
    ] = None,
    year: Annotated[
        int, typer.Option(help="Data year: 2018, or 2015 (prices of both are shipped).")
    ] = 2018,
    samples: Annotated[int, typer.Option(help="imitation: labelled states per household.")] = 4000,
    seeds: Annotated[
        str,
        typer.Option(
            help="imitation, shared, book_model, community_residual: comma-separated seeds, "
            "one model each."
        ),
    ] = "0,1,2",
    gain: Annotated[float, typer.Option(help="imitation: scale of the exported correction.")] = 1.0,
    demos: Annotated[
        Path | None, typer.Option(help="imitation: reuse a demos.npz instead of collecting.")
    ] = None,
    reach: Annotated[
        float | None,
        typer.Option(
            help="shared: battery reach of the action (0..1, default 0.5); book_model: the share "
            "of its plan's battery set-point the planner follows, saved in the files (0..1, "
            "default by --market: open 1, sealed 0.25 as the rule halfway_ahead)."
        ),
    ] = None,
    pricing: Annotated[
        str | None,
        typer.Option(
            help="book_model: how the planner prices its orders, saved in the files: book (the "
            "best response to the book it can read), scenarios (the cheapest tick on average "
            "over the newest revealed books), predicted (the same over the books the tick "
            "model expects) or halfway (the halfway rule's prices); "
            "default by --market: open book, sealed predicted."
        ),
    ] = None,
    others: Annotated[
        str | None,
        typer.Option(
            help="shared: how members without a battery trade: truthful (default) or zip; "
            "book_model: how the other members bid in the books it learns: zip (default, as "
            "agent eval's members) or truthful."
        ),
    ] = None,
    reward: Annotated[
        str,
        typer.Option(help="shared: each agent's own money (own) or the community's (community)."),
    ] = "own",
    shrink: Annotated[
        str,
        typer.Option(
            help="book_model: the share of each predicted residual the planner reads, saved in "
            "the files: one value or four (buy_kwh,buy_share,sell_kwh,sell_share), each 0..1 "
            "(0: the day-earlier book; choose it with agent eval --book-shrink on --year 2015)."
        ),
    ] = "1",
    market: Annotated[
        str,
        typer.Option(
            help="book_model: the market mode the models plan in, open (the newest final book "
            "is 2 slots back) or sealed (3 slots back); agent eval --market runs each file only "
            "in its own mode."
        ),
    ] = "open",
    iterations: Annotated[
        int | None,
        typer.Option(help="community_residual: random-search steps per seed (default 40)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="community_residual: processes running the training windows (default 2)."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Train an agent on months before October (progress on stderr: a bar on a terminal, a
    line every 10 s in a log)."""
    from enerwise.cli.option_models import TrainOptions, validated

    first, _, last = months.partition("-")
    opts = validated(
        TrainOptions,
        algo=algo,
        steps=steps,
        seed=seed,
        out=out,
        forecast=forecast,
        households=households,
        checkpoint_every=checkpoint_every,
        first_month=first,
        last_month=last or first,
        year=year,
        samples=samples,
        seeds=[part for part in seeds.split(",") if part.strip()],
        gain=gain,
        reach=reach,
        pricing=pricing,
        # the members a model meets: the shared policy trains among truthful ones, a book
        # model learns the books of the members agent eval puts around it (ZIP traders)
        others=others or ("zip" if algo in ("book_model", "tick_model") else "truthful"),
        reward=reward,
        shrink=_comma_separated(shrink),
        market=market,
        iterations=iterations,
        workers=workers,
    )
    if opts.market != "open" and opts.algo != "book_model":
        from agents.errors import ConfigError

        raise ConfigError(f"--market {opts.market} is read only with --algo book_model")
    if opts.algo not in ("book_model", "shared") and opts.reach is not None:
        from agents.errors import ConfigError

        raise ConfigError("--reach is read only with --algo shared or book_model")
    if opts.algo != "community_residual" and (
        opts.iterations is not None or opts.workers is not None
    ):
        from agents.errors import ConfigError

        raise ConfigError("--iterations and --workers are read only with --algo community_residual")
    if opts.algo != "book_model" and opts.pricing is not None:
        from agents.errors import ConfigError

        raise ConfigError("--pricing is read only with --algo book_model")
    _train(opts, planner=planner, tensorboard=tensorboard, demos=demos, json_out=json_out)


def _train(
    opts: TrainOptions,
    *,
    planner: bool | None,
    tensorboard: bool,
    demos: Path | None,
    json_out: bool,
) -> None:
    """Train what ``opts`` name (imitation and shared by their own paths) and report it."""
    from agents.community import CommunityDraw
    from agents.forecasting.provider import ForecastMethod
    from agents.rl.algorithms import Algo
    from agents.rl.setup import Period, SetupConfig
    from agents.rl.train import TrainConfig, train

    setup = SetupConfig(
        community=CommunityDraw(year=opts.year),
        forecast=ForecastMethod(opts.forecast),
        max_households=opts.households,
    )
    period = Period(opts.first_month, opts.last_month, skip_days=8 if opts.first_month == 1 else 0)
    if opts.algo == "imitation":
        _train_imitation(opts, setup, period, demos, json_out)
        return
    if opts.algo == "shared":
        _train_shared(opts, setup, period, json_out)
        return
    if opts.algo == "book_model":
        _train_book_model(opts, setup, period, json_out)
        return
    if opts.algo == "community_residual":
        _train_community_residual(opts, json_out)
        return
    if opts.algo == "tick_model":
        _train_tick_model(opts, setup, period, json_out)
        return
    config = TrainConfig(
        algo=Algo(opts.algo),
        steps=opts.steps,
        seed=opts.seed,
        out=opts.out,
        setup=setup,
        checkpoint_every=opts.checkpoint_every,
        tensorboard=tensorboard,
        residual=planner,
        period=period,
    )
    with progress(f"training {opts.algo}", opts.steps, "steps") as update:
        result = train(config, lambda done, _total: update(done))
    _report_trained(result, json_out)


def _report_trained(result: TrainResult, json_out: bool) -> None:
    """Where ``agent train`` saved the model and how long learning and data took."""
    if json_out:
        print_json(
            {
                "model": str(result.model),
                "seconds": round(result.seconds, 1),
                "setup_seconds": round(result.setup_seconds, 1),
            }
        )
        return
    console.print(
        f"saved {result.model} (learning {result.seconds:.0f} s, data {result.setup_seconds:.0f} s)"
    )


def _train_imitation(
    opts: TrainOptions, setup: SetupConfig, period: Period, demos: Path | None, json_out: bool
) -> None:
    """``agent train --algo imitation``: collect labelled states, fit one network per seed."""
    from agents.rl.imitation import ImitationConfig, train_imitation
    from agents.rl.setup import build_setup

    config = ImitationConfig(
        out=opts.out,
        samples=opts.samples,
        seeds=tuple(opts.seeds),
        gain=opts.gain,
        demos=demos,
    )
    with status("imitation") as update:
        built = None if demos is not None else build_setup(setup, period)
        meta = train_imitation(built, config, update)
    if json_out:
        print_json(meta)
        return
    for model in meta["models"]:
        console.print(f"wrote {model}")
    console.print(
        f"{meta['rows']} labelled states, collected in {meta['collect_seconds']:.0f} s, "
        f"total {meta['seconds']:.0f} s"
    )


def _train_shared(opts: TrainOptions, setup: SetupConfig, period: Period, json_out: bool) -> None:
    """``agent train --algo shared``: one policy for every battery household, per seed."""
    from agents.rl.multi import SharedConfig, train_shared

    config = SharedConfig(
        out=opts.out,
        steps=opts.steps,
        seeds=tuple(opts.seeds),
        community=setup.community,
        forecast=setup.forecast,
        period=period,
        others=opts.others,
        battery_reach=SHARED_REACH if opts.reach is None else opts.reach,
        reward=opts.reward,
    )
    with status("shared policy") as update:
        meta = train_shared(config, update)
    if json_out:
        print_json(meta)
        return
    for run in meta["runs"]:
        console.print(f"wrote {run['model']} ({run['seconds']:.0f} s)")


def _train_community_residual(opts: TrainOptions, json_out: bool) -> None:
    """``agent train --algo community_residual``: random search of the community plan's
    correction, one policy per seed (agents.rl.community_search)."""
    from dataclasses import replace

    from agents.forecasting.provider import ForecastMethod
    from agents.rl.community_search import SearchConfig, train_community_residual

    config = SearchConfig(
        out=opts.out, seeds=tuple(opts.seeds), forecast=ForecastMethod(opts.forecast)
    )
    if opts.iterations is not None:
        config = replace(config, iterations=opts.iterations)
    if opts.workers is not None:
        config = replace(config, workers=opts.workers)
    with status("community residual") as update:
        meta = train_community_residual(config, update)
    if json_out:
        print_json(meta)
        return
    for run in meta["runs"]:
        console.print(
            f"wrote {run['model']} ({run['seconds']:.0f} s; last 10 windows: "
            f"{run['last_10_mean_gain_eur']:+.2f} EUR over the plan)"
        )


def _train_book_model(
    opts: TrainOptions, setup: SetupConfig, period: Period, json_out: bool
) -> None:
    """``agent train --algo book_model``: the learned model of the others' book, per seed."""
    from dataclasses import replace

    from agents.policies.book_model import check_shrink
    from agents.rl.market_model import train_book_models
    from agents.rl.setup import build_setup

    check_shrink(opts.shrink, "--shrink")  # before the books are built
    planner = _planner(opts.market, opts.pricing, opts.reach)
    with status("book model") as update:
        built = build_setup(replace(setup, others=opts.others), period)
        meta = train_book_models(
            built,
            tuple(opts.seeds),
            opts.out,
            market=opts.market,
            shrink=tuple(opts.shrink),
            planner=planner,
            progress=update,
        )
    if json_out:
        print_json(meta)
        return
    for run in meta["runs"]:
        console.print(f"wrote {run['model']} ({run['seconds']:.0f} s)")


def _train_tick_model(
    opts: TrainOptions, setup: SetupConfig, period: Period, json_out: bool
) -> None:
    """``agent train --algo tick_model``: the others' next ticks, fitted on every controlled
    household's book of others."""
    import time
    from dataclasses import asdict, replace

    from agents.policies.tick_model import TickModel
    from agents.rl.setup import build_setup

    started = time.perf_counter()
    with status("tick model") as update:
        update("building the others' books")
        built = build_setup(replace(setup, others=opts.others), period)
        update("fitting")
        model = TickModel.fit([(built.community, book, built.end) for book in built.books])
    path = opts.out / "tick-model-sealed.json"
    model.save(path)
    seconds = round(time.perf_counter() - started, 1)
    if json_out:
        print_json({"algo": "tick_model", "model": str(path), "seconds": seconds, **asdict(model)})
        return
    console.print(
        f"wrote {path} ({seconds:.0f} s): next-tick RMSE {model.rmse:.4f} of the range "
        f"(last tick {model.naive_rmse:.4f}) over {model.rows} orders"
    )


def _planner(market: str, pricing: str | None, reach: float | None) -> PlannerSettings:
    """The planner settings a book model file is written with: ``pricing`` and ``reach``
    where given, else ``market``'s defaults."""
    from agents.policies.book_model import planner_defaults

    return planner_defaults(market).overridden(pricing, reach)


@app.command("eval-community")
def eval_community_command(
    shared: Annotated[
        list[Path] | None,
        typer.Option(help="Shared policy (.onnx from agent train --algo shared), once per seed."),
    ] = None,
    community_residual: Annotated[
        list[Path] | None,
        typer.Option(
            help="Community residual (.json from agent train --algo community_residual), once "
            "per seed: every battery household on the community plan moved by it."
        ),
    ] = None,
    rules: Annotated[
        str,
        typer.Option(
            help="Rule communities, comma-separated: truthful and halfway (every member), mpc and "
            "community_plan (every battery household, the others truthful); '' for none."
        ),
    ] = "truthful,halfway",
    json_out: JsonFlag = False,
    forecast: Annotated[
        str,
        typer.Option(
            help="naive, lightgbm, validated (per series the model chosen on validation) or oracle."
        ),
    ] = "validated",
    year: Annotated[
        int, typer.Option(help="2018 (held out) or 2015 (the validation year: choose here).")
    ] = 2018,
    days: Annotated[int | None, typer.Option(help="Cut Oct..Dec to N days.")] = None,
    bounds: Annotated[
        bool,
        typer.Option(help="Solve each household's bound (minutes); --no-bounds: money only."),
    ] = True,
    regions: RegionsOption = "4",
) -> None:
    """The shared policy in a community of truthful members and with every battery household
    on it, and the rule communities: each household's % of its perfect-foresight bound and the
    community's welfare as % of the social optimum (with a 95 % interval across training
    seeds). ``community_plan`` coordinates: the members pool their forecasts and every battery
    follows its part of the community's plan (agents.policies.community_plan)."""
    from agents.community import CommunityDraw
    from agents.forecasting.provider import ForecastMethod
    from agents.rl.multi import CommunityEvalConfig, evaluate_community
    from agents.rl.setup import Period
    from enerwise.cli.option_models import CommunityEvalOptions, validated

    shared, residuals = shared or [], community_residual or []
    for flag, paths in (("--shared", shared), ("--community-residual", residuals)):
        missing = [path for path in paths if not path.is_file()]
        if missing:
            from agents.errors import ConfigError

            raise ConfigError(f"{flag}: no model file at {missing[0]}")
    from agents.policies.community_residual import LinearResidual

    for path in residuals:  # refused before the community is built
        LinearResidual.load(path)
    opts = validated(
        CommunityEvalOptions,
        shared=shared,
        community_residual=residuals,
        rules=[r.strip() for r in rules.split(",") if r.strip()],
        forecast=forecast,
        year=year,
        days=days,
        regions=_comma_separated(regions),
    )
    config = CommunityEvalConfig(
        models=tuple(opts.shared),
        residuals=tuple(opts.community_residual),
        rules=tuple(opts.rules),
        community=CommunityDraw(year=opts.year, regions=tuple(opts.regions)),
        forecast=ForecastMethod(opts.forecast),
        period=Period(10, 12, days=opts.days),
        household_bounds=bounds,
    )
    with status("evaluating the community") as update:
        result = evaluate_community(config, update)
    print_result(result, json_out, community_table)


def community_table(result: dict[str, Any]) -> Table:
    """Welfare as % of the social optimum and each agent's % of its bound (EUR saved where no
    bound was solved), per community."""
    from rich.table import Table

    optimum = result["social_optimum"]["savings_eur"]
    regions = ",".join(str(r) for r in result.get("regions", [4]))  # files from before the key
    table = Table(
        *("community", "kind", "welfare % of optimum (95 % CI)", "per household"),
        title=f"{result['period']}, weather of TRY region {regions} (social optimum {optimum} EUR)",
    )

    def cell(pct: float | None, eur: float | None) -> str:
        return f"{pct:.1f} %" if pct is not None else f"{eur:.2f} EUR"

    for name, row in result["rules"].items():
        per = ", ".join(
            f"{h} {cell(row['pct_of_bound'][h], row['savings_eur'][h])}" for h in result["agents"]
        )
        welfare = row["pct_of_social_optimum"]
        members = row.get("members", "every member").split(" (")[0]
        table.add_row(f"{members} {name}", row["kind"], f"{welfare:.1f}", per)
    shared = result["shared"]
    modes = (("truthful", "one agent, others truthful"), ("all_agents", "all agents"))
    for mode, label in modes if shared is not None else ():
        row = shared[mode]
        per = ", ".join(
            f"{h} {cell(row['pct_of_bound'][h]['mean'], row['savings_eur'][h]['mean'])}"
            for h in result["agents"]
        )
        table.add_row(label, "learned", _mean_ci(row.get("pct_of_social_optimum")), per)
    residual = result.get("community_residual")  # files from before the key have none
    if residual is not None:
        per = ", ".join(
            f"{h} {cell(residual['pct_of_bound'][h]['mean'], residual['savings_eur'][h]['mean'])}"
            for h in result["agents"]
        )
        welfare = _mean_ci(residual["pct_of_social_optimum"])
        table.add_row("battery households community_residual", "learned", welfare, per)
    return table


def _mean_ci(summary: dict[str, Any] | None) -> str:
    """``mean (low..high)`` of a summary across seeds ('' where nothing was measured)."""
    if summary is None or summary["mean"] is None:
        return ""
    ci = summary["ci95"]
    return f"{summary['mean']:.1f}" + (f" ({ci[0]:.1f}..{ci[1]:.1f})" if ci else "")


@app.command("eval")
def eval_command(
    json_out: JsonFlag = False,
    quick: Annotated[bool, typer.Option("--quick", help="One household, one week.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write eval.json and PNG plots here.")
    ] = None,
    households: Annotated[int | None, typer.Option(help="Battery households evaluated.")] = None,
    days: Annotated[int | None, typer.Option(help="Cut the held-out period to N days.")] = None,
    forecast: Annotated[
        str,
        typer.Option(
            help="naive, lightgbm, validated (per series the model chosen on validation) or oracle."
        ),
    ] = "validated",
    ppo: Annotated[
        list[Path] | None,
        typer.Option(help="PPO model (.zip), once per training seed (default: the shipped)."),
    ] = None,
    dqn: Annotated[
        list[Path] | None,
        typer.Option(help="DQN model (.zip), once per training seed (default: the shipped)."),
    ] = None,
    imitation: Annotated[
        list[Path] | None,
        typer.Option(
            help="Imitation residual (.onnx), once per training seed (default: the shipped)."
        ),
    ] = None,
    book_model: Annotated[
        list[Path] | None,
        typer.Option(
            help="mpc_book_learned's model of the others' book (.json from `agent train --algo "
            "book_model`, or its .onnx), once per training seed (default: the shipped .onnx of "
            "--market)."
        ),
    ] = None,
    book_ensemble: Annotated[
        list[Path] | None,
        typer.Option(
            help="mpc_book_ensemble's book models (.json, as --book-model), repeated: all of "
            "them make one model whose prediction is their mean (one run, not one per file)."
        ),
    ] = None,
    book_shrink: Annotated[
        str | None,
        typer.Option(
            help="Read the book models (--book-model, --book-ensemble) with this shrinkage "
            "instead of their files': one value or four (buy_kwh,buy_share,sell_kwh,sell_share), "
            "each 0..1 (0: the day-earlier book, 1: the full prediction)."
        ),
    ] = None,
    book_pricing: Annotated[
        str | None,
        typer.Option(
            help="How the book models' planner (--book-model, --book-ensemble) prices its "
            "orders instead of as their files say: book (the best response to the book it can "
            "read), scenarios (the cheapest tick on average over the newest revealed books, as "
            "the rule scenario_response), predicted (sealed: the same over the books "
            "agents/pretrained/tick-model-sealed.json expects for the slot) or halfway (the "
            "halfway rule's prices, as the rule mpc_book_ahead_halfway)."
        ),
    ] = None,
    book_reach: Annotated[
        float | None,
        typer.Option(
            help="The share of their plan's battery set-point the book models' planner follows "
            "instead of their files' (0..1, the rest self-consumption; 1: the plan; "
            "halfway_ahead's is 0.25)."
        ),
    ] = None,
    rules: Annotated[
        str | None,
        typer.Option(help="Comma-separated rule methods to run (default: all of them)."),
    ] = None,
    learned: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated learned methods to run "
            "(default: ppo,dqn,imitation,mpc_book_learned; mpc_book_ensemble needs "
            "--book-ensemble)."
        ),
    ] = None,
    year: Annotated[
        int, typer.Option(help="2018 (held out) or 2015 (the validation year: choose here).")
    ] = 2018,
    community: Annotated[
        bool, typer.Option(help="Also simulate the whole community with/without P2P.")
    ] = True,
    market: Annotated[
        str,
        typer.Option(
            help="open (every order of a slot is visible before gate closure) or sealed "
            "(none is: book-reading methods price against the newest revealed book)."
        ),
    ] = "open",
    others: Annotated[
        str,
        typer.Option(help="How the other members bid: zip (adaptive) or truthful (by hand)."),
    ] = "zip",
    spoof_kwh: Annotated[
        float | None,
        typer.Option(
            help="Also measure a spoofer who shows a fake order of this size in every slot "
            "and cancels it before gate closure (audit L-3): what it moves for the "
            "book-reading rules."
        ),
    ] = None,
    regions: RegionsOption = "4",
) -> None:
    """Every method on held-out Oct..Dec 2018 as % of the perfect-foresight bound, learned ones
    with a 95 % interval across their training seeds, in an open or a sealed market."""
    from agents.rl.kinds import RULES
    from enerwise.cli.option_models import EvalOptions, validated

    # A mistake is answered before the evaluation's libraries (torch, stable-baselines3) load.
    _check_model_files(
        {
            "--ppo": ppo,
            "--dqn": dqn,
            "--imitation": imitation,
            "--book-model": book_model,
            "--book-ensemble": book_ensemble,
        }
    )
    opts = validated(
        EvalOptions,
        quick=quick,
        households=households,
        days=days,
        forecast=forecast,
        ppo=ppo or [],
        dqn=dqn or [],
        imitation=imitation or [],
        book_model=book_model or [],
        book_ensemble=book_ensemble or [],
        book_shrink=None if book_shrink is None else _comma_separated(book_shrink),
        book_pricing=book_pricing,
        book_reach=book_reach,
        rules=_names(rules, RULES),
        year=year,
        community=community,
        market=market,
        others=others,
        spoof_kwh=spoof_kwh,
        regions=_comma_separated(regions),
    )
    opts, chosen = _learned_methods(opts, learned)
    _evaluate(opts, chosen, report, json_out)


def _learned_methods(opts: EvalOptions, learned: str | None) -> tuple[EvalOptions, list[str]]:
    """The learned methods ``--learned`` names (default: the shipped ones), and ``opts`` with
    the shipped model files of each method given none."""
    from agents.errors import ConfigError
    from agents.rl.kinds import LEARNED, SHIPPED_LEARNED

    chosen = _names(learned, LEARNED) if learned is not None else list(SHIPPED_LEARNED)
    shipped_books = learned is None and not opts.book_model  # the default files, not the user's
    for method, option, files in (
        ("mpc_book_learned", "--book-model", opts.book_model),
        ("mpc_book_ensemble", "--book-ensemble", opts.book_ensemble),
    ):
        if method in chosen and not files and method not in SHIPPED_LEARNED:
            raise ConfigError(f"--learned {method} needs its model files: {option} FILE")
        if files and method not in chosen:
            raise ConfigError(f"{option} is read only with --learned {method}")
    for option, value in (
        ("--book-shrink", opts.book_shrink),
        ("--book-pricing", opts.book_pricing),
        ("--book-reach", opts.book_reach),
    ):
        if value is not None and not {"mpc_book_learned", "mpc_book_ensemble"} & set(chosen):
            raise ConfigError(
                f"{option} is read only with --learned mpc_book_learned or mpc_book_ensemble"
            )
    from agents.rl.evaluate import default_models

    shipped = default_models(opts.market)
    option_of = {"mpc_book_learned": "book_model"}  # the others' options are their names
    opts = opts.model_copy(
        update={
            option_of.get(name, name): getattr(opts, option_of.get(name, name)) or list(files)
            for name, files in shipped.items()
        }
    )
    if shipped_books:
        chosen = _without_book_models_of_another_market(opts, chosen)
    return opts, chosen


def _without_book_models_of_another_market(opts: EvalOptions, chosen: list[str]) -> list[str]:
    """``chosen`` without ``mpc_book_learned`` when its shipped files were trained for another
    market mode than ``opts.market`` (a book model plans on the newest final book of its own
    mode: run in another it is refused), said on stderr."""
    from agents.policies.book_model import BookModel

    modes = {BookModel.load(path).trained_for for path in opts.book_model}
    if modes == {opts.market}:
        return chosen
    err_console.print(
        f"mpc_book_learned not run: the shipped book models are for the {', '.join(sorted(modes))} "
        f"market, not the {opts.market} one"
    )
    return [name for name in chosen if name != "mpc_book_learned"]


def _evaluate(opts: EvalOptions, chosen: list[str], report: Path | None, json_out: bool) -> None:
    """Evaluate the rule methods of ``opts`` and the ``chosen`` learned ones; write the report
    (with --report) and print the table (or the JSON)."""
    from agents.community import CommunityDraw
    from agents.forecasting.provider import ForecastMethod
    from agents.rl.evaluate import AgentEvalConfig, evaluate_agents, write_report
    from agents.rl.setup import HELD_OUT, Period, SetupConfig

    files = {
        "ppo": opts.ppo,
        "dqn": opts.dqn,
        "imitation": opts.imitation,
        "mpc_book_learned": opts.book_model,
        "mpc_book_ensemble": opts.book_ensemble,
    }

    base = AgentEvalConfig.quick() if opts.quick else AgentEvalConfig()
    period = base.period
    if opts.days is not None:
        period = Period(HELD_OUT.first, HELD_OUT.last, days=opts.days)
    config = AgentEvalConfig(
        setup=SetupConfig(
            community=CommunityDraw(year=opts.year, regions=tuple(opts.regions)),
            forecast=ForecastMethod(opts.forecast),
            max_households=opts.households or base.setup.max_households,
            others=opts.others,
        ),
        period=period,
        models={name: tuple(files[name]) for name in chosen},
        rules=tuple(opts.rules),
        community_level=opts.community,
        market=opts.market,
        spoof_kwh=opts.spoof_kwh,
        book_shrink=None if opts.book_shrink is None else tuple(opts.book_shrink),
        book_pricing=opts.book_pricing,
        book_reach=opts.book_reach,
    )
    with status(f"evaluating ({opts.market} market)") as update:
        result, traces = evaluate_agents(config, update)
    if report is not None:
        for path in write_report(result, traces, report):
            err_console.print(f"wrote {path}")
    if json_out:
        print_json(result)
        return
    console.print(eval_table(result))
    for key in ("spoof", "community"):
        if key in result:
            console.print(json.dumps(result[key], indent=2))


def _check_model_files(given: dict[str, list[Path] | None]) -> None:
    """Every model file named by an option exists (ConfigError naming the first that does not)."""
    for option, paths in given.items():
        missing = [path for path in paths or [] if not path.is_file()]
        if missing:
            from agents.errors import ConfigError

            raise ConfigError(f"{option}: no model file at {missing[0]}")


def _comma_separated(text: str) -> list[str]:
    """The non-empty comma-separated parts of ``text`` (an option model reads them as numbers)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _names(text: str | None, allowed: tuple[str, ...]) -> list[str]:
    """A comma-separated subset of ``allowed`` (all of them for None)."""
    from agents.errors import ConfigError

    if text is None:
        return list(allowed)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ConfigError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(allowed)}")
    return names


def eval_table(result: dict[str, Any]) -> Table:
    """The methods of an ``agent eval`` report: kind, share of the bound with the 95 % interval
    across training seeds (learned methods), the seeds' own figures, money saved."""
    from rich.table import Table

    table = Table(
        *("method", "kind", "% of bound", "95 % CI (seeds)", "per seed", "saved EUR"),
        title=f"{result['period']}, {result['market']} market "
        f"(bound {result['bound']['savings_eur']} EUR)",
    )
    for name, row in result["methods"].items():
        pct = "n/a" if row["pct_of_bound"] is None else f"{row['pct_of_bound']:.1f}"
        seeds = row.get("pct_of_bound_seeds")
        interval = row.get("ci95")
        table.add_row(
            name,
            row.get("kind", ""),
            pct,
            f"{interval[0]:.1f}..{interval[1]:.1f}" if interval else "",
            ", ".join(f"{v:.1f}" for v in seeds) if seeds else "",
            str(row["savings_eur"]),
        )
    return table


@app.command("export-onnx")
def export_command(
    algo: Annotated[
        str, typer.Option(help="ppo, dqn or book_model (a book model's .json from agent train).")
    ] = "ppo",
    model: Annotated[
        Path | None,
        typer.Option(help="Model .zip (default: the shipped one); book_model: its .json."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output .onnx.")] = None,
    pricing: Annotated[
        str | None,
        typer.Option(
            help="book_model: write this planner pricing (book, scenarios, predicted or halfway) "
            "into the file instead of the model file's."
        ),
    ] = None,
    reach: Annotated[
        float | None,
        typer.Option(
            help="book_model: write this plan reach (0..1) into the file instead of the model "
            "file's."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Export a policy to ONNX and check it against torch on random observations (a book model:
    the targets its shrinkage reads, checked against LightGBM, with its planner's settings)."""
    from agents.errors import ConfigError

    if algo == "book_model":
        _export_book_model(model, out, pricing, reach, json_out)
        return
    if pricing is not None or reach is not None:
        raise ConfigError("--pricing and --reach are read only with --algo book_model")
    if algo not in ("ppo", "dqn"):
        raise ConfigError(f"algo must be ppo, dqn or book_model, got {algo!r}")
    import numpy as np
    import torch

    from agents.rl.algorithms import Algo, load_model
    from agents.rl.export import OnnxPolicy, export_onnx, obs_width, torch_module

    kind = Algo(algo)
    source = model or PRETRAINED / f"{algo}.zip"
    target = out or source.with_suffix(".onnx")
    export_onnx(source, kind, target)
    loaded = load_model(str(source), kind)
    obs = np.random.default_rng(0).uniform(-2, 2, (64, obs_width(loaded))).astype(np.float32)
    with torch.no_grad():
        expected = torch_module(loaded, kind)(torch.as_tensor(obs)).numpy()
    diff = float(np.max(np.abs(OnnxPolicy(target, kind).raw(obs) - expected)))
    if json_out:
        print_json({"onnx": str(target), "source": str(source), "max_abs_diff": diff})
        return
    console.print(f"wrote {target}; max |onnx - torch| over 64 observations = {diff:.2e}")


def _export_book_model(
    model: Path | None,
    out: Path | None,
    pricing: str | None,
    reach: float | None,
    json_out: bool,
) -> None:
    """``agent export-onnx --algo book_model``: a book model's file to ONNX, with its parity
    and its planner's settings (the file's, or ``pricing``/``reach`` where given)."""
    from agents.errors import ConfigError
    from agents.policies.book_model import TARGETS, BookModel
    from agents.policies.book_model_onnx import export_book_model, parity, restamp_planner

    if model is None or model.suffix not in (".json", ".onnx"):
        raise ConfigError(
            "--algo book_model: name the book model's .json (agent train) with --model, or its "
            ".onnx to write other planner settings into"
        )
    trees = BookModel.load(model)
    if pricing is not None or reach is not None:
        trees = trees.with_planner(trees.planner.overridden(pricing, reach))
    if model.suffix == ".onnx":
        if pricing is None and reach is None:
            raise ConfigError(f"{model} is ONNX already: give --pricing and/or --reach to restamp")
        target = out or model
        restamp_planner(model, target, trees.planner)
        diff = 0.0  # the same graph, byte for byte (restamp_planner)
    else:
        target = out or model.with_suffix(".onnx")
        export_book_model(trees, target)
        diff = parity(trees, BookModel.load(target))
    planner = trees.planner
    if json_out:
        print_json(
            {
                "onnx": str(target),
                "source": str(model),
                "max_abs_diff": diff,
                "pricing": planner.pricing,
                "reach": planner.reach,
            }
        )
        return
    read = [t for t, v in zip(TARGETS, trees.shrink, strict=True) if v]
    console.print(
        f"wrote {target} (reads {', '.join(read)}; planner: {planner.pricing} prices, "
        f"reach {planner.reach:g}); max |onnx - lightgbm| over 2,000 feature rows per target = "
        f"{diff:.2e}"
    )


@app.command("run")
def run_command(
    config: Annotated[
        Path | None,
        config_option(
            HOUSEHOLD_ENV,
            "household.yaml: run the household gateway (oracle, agent, devices) from it; "
            "the other options are then taken from the file.",
        ),
    ] = None,
    cycles: Annotated[
        int, typer.Option(help="--config: stop after N control cycles (0: until Ctrl-C).")
    ] = 0,
    keystore: Annotated[
        str | None,
        typer.Option(
            "--keystore", metavar="PATH|ADDRESS", help="The agent key: a keystore file or address."
        ),
    ] = None,
    keystore_dir: KeystoreDir = None,
    owner: Annotated[
        str | None, typer.Option(help="The owner who delegated to the agent key.")
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            metavar="FILE|NAME",
            help="ppo.onnx / a .zip model, or truthful / halfway / mpc_book / mpc_book_ahead / "
            "scenario_response.",
        ),
    ] = str(PRETRAINED / "ppo.onnx"),
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    state: Annotated[
        Path | None, typer.Option(help="State file (default: .run/agents/<agent>.state.json).")
    ] = None,
    log: Annotated[
        Path | None, typer.Option(help="JSON lines decision log (default: next to the state).")
    ] = None,
    household: Annotated[
        int, typer.Option(help="Community household whose data is replayed as forecasts.")
    ] = 0,
    forecast: Annotated[str, typer.Option(help="naive, lightgbm or validated.")] = "naive",
    battery_kwh: Annotated[
        float, typer.Option(help="The owner's battery capacity (0: none; power = 0.5 C).")
    ] = 6.0,
    interval: Annotated[
        float,
        typer.Option(
            help="Seconds between steps (book policies plan a slot in its last "
            "max(60, 2 x interval) seconds before it starts)."
        ),
    ] = 30.0,
    steps: Annotated[int, typer.Option(help="Stop after N steps (0: run until Ctrl-C).")] = 0,
    clear: Annotated[
        bool, typer.Option(help="Clear slots past gate closure that nobody cleared.")
    ] = True,
    late_seconds: Annotated[
        int | None,
        typer.Option(
            help="Book policies (mpc_book, the residual PPO) order in the last N seconds before "
            "gate closure (default: half the settlement window; keep --interval below it)."
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Trade for OWNER every slot through the agent key's delegation (never the owner's key).

    Each step reconciles unfinished orders with the chain, claims cleared slots, forecasts the
    next slot, asks the policy and places orders within the delegated budget and price bounds.
    Decisions are logged as JSON lines; restarting with the same state file never doubles an
    order. With --config the household gateway runs instead (docs/gateway.md): meters,
    devices, the agent on their real state, a watchdog; one JSON line per cycle and slot.
    """
    if config is not None:
        run_gateway(config, cycles, json_out)
        return
    from agents.errors import ConfigError

    check_run_options(forecast, battery_kwh, interval, steps)
    if keystore is None or owner is None:
        raise ConfigError("agent run needs --config household.yaml, or --keystore and --owner")
    key = SigningKey(keystore, keystore_dir, password_file, password_env)
    link = AgentLink.connect(owner, key, policy, rpc_url, deployment)
    runtime = link.runtime(
        state or Path(".run/agents") / f"{link.sender.address}.state.json",
        log,
        household=household,
        forecast=forecast,
        battery_kwh=battery_kwh,
        clear=clear,
        late_seconds=late_seconds,
        interval=interval,
    )
    trade(runtime, link.w3, steps, interval, json_out)
