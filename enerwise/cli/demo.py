"""``enerwise demo``: the main job (what ``make demo`` runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from enerwise.cli.console import console, err_console, print_json


def demo(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Start a local chain, deploy EnergyChain, run a scripted market round, stop the chain."""
    from enerwise.demo import run_scripted_round  # imports web3 and starts anvil: only when run

    summary = run_scripted_round(progress=None if json_out else err_console.print)
    if json_out:
        print_json(summary)
        return
    console.print("\n[bold]EnergyChain demo: one slot, read back from the chain[/]")
    for key, value in summary.items():
        console.print(f"  {key:<28} {value}")
