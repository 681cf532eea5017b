"""One grammar for every command of ``enerwise`` (docs/cli.md), checked on the Typer app itself:
a command added without ``--json``, with a positional config, a ``--config`` without ``-c``,
a signing command without ``--yes`` or an amount without its unit fails here by name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from enerwise.cli import app
from enerwise.cli.groups import GROUPS, LazyGroup

ROOT = Path(__file__).resolve().parents[2]

SERVICES = {
    "indexer serve": "serves the API until Ctrl-C",
    "oracle simulate": "serves simulated meters until Ctrl-C",
    "devices simulate": "serves simulated devices until Ctrl-C",
}
"""Commands that report nothing: they serve until Ctrl-C and say where they listen."""

SIGNS_WITHOUT_ASKING = {
    "wallet sign-typed-data": "signs a document locally; nothing is sent",
    "wallet export-public": "reads the key; nothing is sent",
    "agent run": "a service trading through a bounded agent key (the owner's grant asked)",
}
"""Commands with ``--keystore`` that change nothing on chain, so ask nothing."""

UNITS = ("-eur-per-kwh", "-eur-per-day", "-base-units-per-day", "-tick", "-bps", "-w", "-kwh")
AMOUNT_WORDS = ("price", "budget", "retail", "feed-in", "tariff", "capacity", "fee", "battery")


def commands() -> Iterator[tuple[str, Any]]:
    """``(path, click command)`` of every leaf command, every group loaded."""
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        subs = getattr(command, "commands", None)
        if subs is None:
            yield path, command
            return
        for name in list(subs):
            yield from walk(command.get_command(None, name), f"{path} {name}".strip())

    yield from walk(root, "")


def options(command: Any) -> dict[str, Any]:
    """Every visible option of ``command`` by each of its names."""
    return {
        name: p
        for p in command.params
        if p.param_type_name == "option" and not p.hidden
        for name in (*p.opts, *p.secondary_opts)
    }


ALL = dict(commands())


def test_every_group_is_listed_and_loads() -> None:
    assert [g.name for g in GROUPS] == list(dict.fromkeys(path.split()[0] for path in ALL))
    assert len(ALL) >= 60


def test_every_command_that_reports_has_json() -> None:
    missing = [path for path, cmd in ALL.items() if "--json" not in options(cmd)]
    assert sorted(missing) == sorted(SERVICES)


def test_json_means_the_same_everywhere() -> None:
    helps = {
        options(cmd)["--json"].help
        for path, cmd in ALL.items()
        if "--json" in options(cmd) and path != "operator billing"  # "the same as --format json"
    }
    assert helps == {"Print the result as JSON (a stream: one object per line)."}


def test_config_is_always_the_option_c_with_an_environment_variable() -> None:
    problems = []
    for path, cmd in ALL.items():
        visible_args = [p.name for p in cmd.params if p.param_type_name == "argument"]
        if any("config" in (name or "") for name in visible_args if not _hidden(cmd, name)):
            problems.append(f"{path}: a positional config")
        found = options(cmd).get("--config")
        if found is None:
            continue
        if "-c" not in found.opts:
            problems.append(f"{path}: --config without -c")
        if not found.envvar:
            problems.append(f"{path}: --config without an environment variable")
    assert problems == []


def _hidden(cmd: Any, name: str | None) -> bool:
    return any(p.name == name and p.hidden for p in cmd.params)


def test_every_command_that_sends_asks_and_takes_yes() -> None:
    problems = []
    for path, cmd in ALL.items():
        found = options(cmd)
        if "--keystore" in found and path not in SIGNS_WITHOUT_ASKING and "--yes" not in found:
            problems.append(f"{path}: signs and sends but has no --yes")
        if "--yes" in found and "-y" not in found["--yes"].opts:
            problems.append(f"{path}: --yes without -y")
    assert problems == []
    assert "--yes" in options(ALL["wallet delete"])


def test_amounts_carry_their_unit_in_the_option_name() -> None:
    problems = []
    for path, cmd in ALL.items():
        for name in options(cmd):
            if any(word in name for word in AMOUNT_WORDS) and not name.endswith(UNITS):
                problems.append(f"{path} {name}")
    assert problems == []


def test_an_old_spelling_still_works_and_says_what_replaced_it(tmp_path: Path) -> None:
    old = CliRunner().invoke(
        app,
        [
            "operator", "init", str(tmp_path / "c.yaml"),
            "--name", "old-street",
            "--admin", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            "--retail", "0.32",
            "--feed-in", "0.08",
        ],
    )  # fmt: skip
    assert old.exit_code == 0, old.output
    assert "--retail is deprecated: use --retail-eur-per-kwh" in old.stderr
    assert "a positional CONFIG is deprecated: use -c/--config FILE" in old.stderr
    assert (tmp_path / "c.yaml").is_file()


def _enerwise(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "enerwise", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=120,
        check=False,
    )


def test_version_names_the_package() -> None:
    done = _enerwise("--version")
    assert done.returncode == 0
    assert re.fullmatch(r"enerwise \d+\.\d+\.\d+\S* \(Python 3\.\d+\.\d+\)\n", done.stdout)


def test_shell_completion_completes_groups_and_commands() -> None:
    # the shell named, not detected from the test's parent processes (which vary: xdist, CI)
    shown = _enerwise("--show-completion", "bash", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert shown.returncode == 0 and "_ENERWISE_COMPLETE" in shown.stdout
    groups = _enerwise(_ENERWISE_COMPLETE="complete_bash", COMP_WORDS="enerwise op", COMP_CWORD="1")
    assert groups.stdout.split() == ["operator"]
    words = "enerwise operator meter "
    sub = _enerwise(_ENERWISE_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD="3")
    assert sub.stdout.split() == ["add", "import", "list", "rotate-key", "deactivate"]


def test_a_usage_mistake_is_one_line_naming_the_help() -> None:
    done = _enerwise("bench", "tx", "--count", "0")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: Invalid value for '--count': Input should be greater than or equal to 1 "
        "(see `enerwise bench tx --help`)"
    ]
    typo = _enerwise("opertor")
    assert "Did you mean 'operator'?" in typo.stderr and len(typo.stderr.splitlines()) == 1


HELP_PROBE = """
import json, sys
from typer.testing import CliRunner
from enerwise.cli import app
paths = json.loads(sys.argv[1])
for path in paths:
    result = CliRunner().invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, (path, result.output)
print(json.dumps(sorted(sys.modules)))
"""

HEAVY_AT_HELP = ("web3", "eth_account", "torch", "py_ecc", "numpy", "pandas", "sqlalchemy")


def test_the_help_of_every_command_loads_no_chain_or_learning_library() -> None:
    paths = ["", *ALL]
    done = subprocess.run(
        [sys.executable, "-c", HELP_PROBE, json.dumps(paths)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=True,
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert sorted(loaded & set(HEAVY_AT_HELP)) == []


@pytest.mark.parametrize(("args", "loaded", "not_loaded"), [
    (["--help"], [], ["enerwise.cli.operator", "enerwise.cli.agent"]),
    (["operator", "--help"], ["enerwise.cli.operator"], ["enerwise.cli.agent"]),
])  # fmt: skip
def test_help_imports_only_the_group_asked_for(
    args: list[str], loaded: list[str], not_loaded: list[str]
) -> None:
    probe = (
        "import json, sys\nfrom typer.testing import CliRunner\nfrom enerwise.cli import app\n"
        f"assert CliRunner().invoke(app, {args!r}).exit_code == 0\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    modules = set(json.loads(done.stdout))
    assert set(loaded) <= modules
    assert not set(not_loaded) & modules
