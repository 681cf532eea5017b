"""``enerwise forecast``: evaluate the forecasters on held-out months; refit the shipped ones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

from enerwise.cli.console import console
from enerwise.cli.options import JsonFlag
from enerwise.cli.output import print_json, print_result, status

app = typer.Typer(
    help="Forecast load, PV and prices (naive, LightGBM, XGBoost, LSTM, PatchTST).",
    no_args_is_help=True,
)


@app.command("eval")
def eval_command(
    json_out: JsonFlag = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="Validate on September, test on October, fewer epochs.")
    ] = False,
    validation_from: Annotated[
        int, typer.Option(help="First validation month of 2018 (the best model is chosen here).")
    ] = 7,
    test_from: Annotated[int, typer.Option(help="First held-out month of 2018.")] = 10,
    test_to: Annotated[int, typer.Option(help="Last held-out month of 2018.")] = 12,
    lgbm_rounds: Annotated[
        int | None, typer.Option(help="LightGBM and XGBoost boosting rounds.")
    ] = None,
    lstm_epochs: Annotated[int | None, typer.Option(help="LSTM training epochs.")] = None,
    patchtst_epochs: Annotated[int | None, typer.Option(help="PatchTST training epochs.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every model.")] = 0,
) -> None:
    """Rolling-origin evaluation: MAE, RMSE and skill vs seasonal naive for load, PV and price,
    next slot and day ahead; the best model per series chosen on validation months."""
    from dataclasses import replace

    from pydantic import ValidationError

    from agents.errors import ConfigError
    from agents.forecasting.evaluation import EvalConfig, evaluate
    from enerwise.cli.option_models import ForecastEvalOptions

    try:
        opts = ForecastEvalOptions(
            quick=quick,
            validation_from_month=validation_from,
            test_from_month=test_from,
            test_to_month=test_to,
            lgbm_rounds=lgbm_rounds,
            lstm_epochs=lstm_epochs,
            patchtst_epochs=patchtst_epochs,
            seed=seed,
        )
    except ValidationError as exc:
        raise ConfigError(
            f"invalid options: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
        ) from exc
    config = (
        EvalConfig.quick()
        if opts.quick
        else EvalConfig(
            validation_from_month=opts.validation_from_month,
            test_from_month=opts.test_from_month,
            test_to_month=opts.test_to_month,
        )
    )
    overrides = {
        "lgbm_rounds": opts.lgbm_rounds,
        "lstm_epochs": opts.lstm_epochs,
        "patchtst_epochs": opts.patchtst_epochs,
    }
    config = replace(
        config, seed=opts.seed, **{k: v for k, v in overrides.items() if v is not None}
    )
    with status("fitting and scoring forecasters") as update:
        result = evaluate(config, update)
    print_result(result, json_out, skill_table)


def skill_table(result: dict[str, Any]) -> Table:
    """The test round as a table: MAE, RMSE and skill per series, model and horizon; the model
    chosen on validation is starred."""
    from rich.table import Table

    test = result["test"]
    table = Table(
        *("series", "model", "horizon", "MAE", "RMSE", "skill vs naive"),
        title=f"Held-out {test['scored']} ({test['origins']} hourly origins); "
        f"* = chosen on validation {result['validation']['scored']}",
    )
    for name, data in result["series"].items():
        for model, rounds in data["models"].items():
            for horizon, scores in rounds["test"].items():
                if horizon not in ("next_slot", "day_ahead"):
                    continue
                star = "*" if data["best_by_validation"][horizon] == model else ""
                table.add_row(
                    f"{name} [{data['unit']}]",
                    model + star,
                    horizon,
                    f"{scores['mae']:.3f}",
                    f"{scores['rmse']:.3f}",
                    f"{scores['skill']:+.1%}",
                )
    return table


@app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="Folder for the model files.")] = Path(
        "agents/pretrained"
    ),
    chosen_by: Annotated[
        Path | None,
        typer.Option(
            help="An `enerwise forecast eval --json` result: fit, per series, the model it "
            "chose on validation (`--forecast validated`) instead of the LightGBM set."
        ),
    ] = None,
    rounds: Annotated[int, typer.Option(min=10, max=5000, help="Boosting rounds.")] = 200,
    epochs: Annotated[
        int, typer.Option(min=1, max=200, help="Epochs of a chosen torch model.")
    ] = 8,
    seed: Annotated[int, typer.Option(min=0, help="Seed.")] = 0,
    json_out: JsonFlag = False,
) -> None:
    """Refit the forecasters the agents use on Jan..Sep 2018: the LightGBM load, PV and price
    models, or with --chosen-by the model validation chose per series."""
    if chosen_by is None:
        from agents.forecasting.pretrain import train_pretrained

        with status("fitting LightGBM forecasters"):
            written = train_pretrained(out, rounds=rounds, seed=seed)
    else:
        from agents.forecasting.chosen import choice_from_evaluation, read_evaluation
        from agents.forecasting.pretrain import train_chosen

        evaluation = read_evaluation(chosen_by)
        choice = choice_from_evaluation(evaluation, str(chosen_by))
        validation = evaluation.get("validation", {}).get("scored", "?")
        with status("fitting the forecasters chosen on validation") as update:
            written = train_chosen(
                out,
                choice,
                f"MAE per horizon on validation {validation} ({chosen_by.name})",
                rounds=rounds,
                epochs=epochs,
                seed=seed,
                progress=update,
            )
    if json_out:
        print_json({"written": [str(path) for path in written]})
        return
    for path in written:
        console.print(f"wrote {path}")
