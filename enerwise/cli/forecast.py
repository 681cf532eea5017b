"""``enerwise forecast``: evaluate the forecasters on held-out months; refit the shipped ones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from enerwise.cli.console import console, err_console, print_json

app = typer.Typer(
    help="Forecast load, PV and prices (naive, LightGBM, LSTM).", no_args_is_help=True
)


@app.command("eval")
def eval_command(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="One held-out month, fewer rounds/epochs.")
    ] = False,
    test_from: Annotated[int, typer.Option(help="First held-out month of 2018.")] = 10,
    test_to: Annotated[int, typer.Option(help="Last held-out month of 2018.")] = 12,
    lgbm_rounds: Annotated[int | None, typer.Option(help="LightGBM boosting rounds.")] = None,
    lstm_epochs: Annotated[int | None, typer.Option(help="LSTM training epochs.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every model.")] = 0,
) -> None:
    """Rolling-origin evaluation: MAE, RMSE and skill vs seasonal naive for load, PV, price."""
    from pydantic import ValidationError
    from rich.table import Table

    from agents.errors import ConfigError
    from agents.forecasting.evaluation import EvalConfig, evaluate
    from enerwise.cli.option_models import ForecastEvalOptions

    try:
        opts = ForecastEvalOptions(
            quick=quick,
            test_from_month=test_from,
            test_to_month=test_to,
            lgbm_rounds=lgbm_rounds,
            lstm_epochs=lstm_epochs,
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
            test_from_month=opts.test_from_month, test_to_month=opts.test_to_month, seed=opts.seed
        )
    )
    if opts.lgbm_rounds is not None or opts.lstm_epochs is not None:
        config = EvalConfig(
            test_from_month=config.test_from_month,
            test_to_month=config.test_to_month,
            lgbm_rounds=opts.lgbm_rounds or config.lgbm_rounds,
            lstm_epochs=opts.lstm_epochs or config.lstm_epochs,
            seed=opts.seed,
        )
    with err_console.status("fitting and scoring forecasters"):
        result = evaluate(config)
    if json_out:
        print_json(result)
        return
    table = Table(title=f"Held-out {result['test']} ({result['origins']} daily origins, 24 h)")
    for column in ("series", "model", "MAE", "RMSE", "skill vs naive"):
        table.add_column(column)
    for name, data in result["series"].items():
        for model, scores in data["models"].items():
            table.add_row(
                f"{name} [{data['unit']}]",
                model,
                f"{scores['mae']:.3f}",
                f"{scores['rmse']:.3f}",
                f"{scores['skill']:+.1%}",
            )
    console.print(table)


@app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="Folder for the LightGBM model files.")] = Path(
        "agents/pretrained"
    ),
    rounds: Annotated[int, typer.Option(min=10, max=5000, help="Boosting rounds.")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Seed.")] = 0,
) -> None:
    """Refit the LightGBM load, PV and price forecasters the agents use (Jan..Sep 2018)."""
    from agents.forecasting.pretrain import train_pretrained

    with err_console.status("fitting LightGBM forecasters"):
        written = train_pretrained(out, rounds=rounds, seed=seed)
    for path in written:
        console.print(f"wrote {path}")
