"""A run's closing report as people read it: named figures, then the conservation checks.

``enerwise demo`` and ``enerwise city`` end with what they read back from the chain. On a
terminal the figures are a two-column Rich table and the checks are coloured; in a log (stdout
not a terminal) both are plain lines, never cut, without markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from enerwise.cli.console import console

Figure = tuple[str, str]
"""A figure of a report: its name and its value, as shown."""


def print_figures(title: str, figures: Iterable[Figure], *, plain: bool, name_width: int) -> None:
    """``figures`` under ``title``: ``name  value`` lines (names padded to ``name_width``) when
    ``plain``, else a two-column table (names left, values right)."""
    if plain:
        console.out(title, highlight=False)
        for name, value in figures:
            console.out(f"  {name:<{name_width}} {value}", highlight=False)
        return
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    for name, value in figures:
        table.add_row(name, value)
    console.print(table)


def print_conservation(checks: Mapping[str, bool], holds: bool, *, plain: bool) -> None:
    """Each conservation check, ok or FAILED, then whether conservation holds: plain lines when
    ``plain``, else in green and red."""
    if plain:
        for check, ok in checks.items():
            console.out(f"  {'ok' if ok else 'FAILED':<6} {check}", highlight=False)
        console.out("conservation holds" if holds else "conservation FAILED", highlight=False)
        return
    for check, ok in checks.items():
        console.print(f"  {'[green]ok[/]' if ok else '[red]FAILED[/]'}  {check}")
    console.print("[green]conservation holds[/]" if holds else "[red]conservation FAILED[/]")
