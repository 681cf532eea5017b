"""A run's closing report (``enerwise demo``, ``enerwise city``): named figures and the
conservation checks, as plain lines in a log and as a table on a terminal."""

from __future__ import annotations

import pytest

from enerwise.cli.figures import print_conservation, print_figures

ESC = "\x1b["
FIGURES = [("traded P2P", "1.50 kWh"), ("paid by buyers", "0.4200 EUR")]


def test_figures_in_a_log_are_padded_plain_lines_under_the_title(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_figures("The day", FIGURES, plain=True, name_width=16)
    assert capsys.readouterr().out.splitlines() == [
        "The day",
        "  traded P2P       1.50 kWh",
        "  paid by buyers   0.4200 EUR",
    ]


def test_figures_on_a_terminal_are_a_titled_two_column_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_figures("The day", FIGURES, plain=False, name_width=16)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip() == "The day"
    assert any("traded P2P" in line and line.rstrip().endswith("1.50 kWh │") for line in lines)


def test_a_failed_check_in_a_log_says_failed_and_conservation_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_conservation({"money": True, "energy": False}, False, plain=True)
    out = capsys.readouterr().out
    assert out.splitlines() == ["  ok     money", "  FAILED energy", "conservation FAILED"]
    assert ESC not in out
