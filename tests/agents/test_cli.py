"""The CLI's JSON interfaces, run as a user would: ``agent eval`` as a subprocess (with its own
cache folder, which the evaluation reads when it is imported); the refusals of ``agent run`` in
process through the console entry point (the same exit code and stderr, without a Python start
and the policies' imports per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.forecasting.provider import PRETRAINED
from agents.policies.book_model import BookModel
from enerwise.cli.option_models import EvalOptions
from tests.in_process import run_command

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    # one torch thread, as in the in-process agent tests (tests/agents/conftest.py): on two
    # shared cores a second one spins more than it computes (18.1 -> 15.8 CPU-s an evaluation)
    env = os.environ | {"ENERWISE_AGENTS_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "enerwise", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )


def _quick_eval_json(tmp_path_factory: pytest.TempPathFactory, *options: str) -> dict[str, object]:
    """``agent eval --json`` on two held-out days (every method and the bound still run: 16 s
    instead of 42 s for --quick's week) without the community, naive forecasts, ``options``;
    the figures themselves are the benchmark's, not these tests'."""
    cache = tmp_path_factory.mktemp("cache")
    quick = ("--json", "--quick", "--no-community", "--forecast", "naive", "--days", "2")
    done = _run("agent", "eval", *quick, *options, cache=cache)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def eval_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _quick_eval_json(tmp_path_factory)


def test_agent_eval_json_names_its_period(eval_json: dict[str, object]) -> None:
    assert isinstance(eval_json["period"], str) and ".." in eval_json["period"]


def test_agent_eval_json_names_the_weather_region_its_pv_stands_in(
    eval_json: dict[str, object],
) -> None:
    assert eval_json["regions"] == [4]


def test_agent_eval_json_has_every_method_with_its_share_of_the_bound(
    eval_json: dict[str, object],
) -> None:
    methods = eval_json["methods"]
    assert isinstance(methods, dict)
    rules = (
        *("truthful", "zip", "threshold", "halfway", "mpc"),
        *("book_response", "mpc_book", "mpc_book_ahead", "mpc_book_ahead_halfway"),
        *("halfway_ahead", "scenario_response"),
    )
    for name in ("ppo", "dqn", *rules):
        assert "pct_of_bound" in methods[name], name
    for name in rules:
        assert isinstance(methods[name]["pct_of_bound"], float)
        assert methods[name]["pct_of_bound"] <= 100.0


def test_agent_eval_json_gives_every_method_its_kind(eval_json: dict[str, object]) -> None:
    methods = eval_json["methods"]
    assert isinstance(methods, dict)
    kinds = {name: row["kind"] for name, row in methods.items()}
    assert kinds["mpc_book"] == "rule" and kinds["bound"] == "bound"
    assert kinds["ppo"] == kinds["dqn"] == kinds["imitation"] == "learned"
    assert kinds["mpc_book_learned"] == "learned"


def test_agent_eval_runs_the_shipped_book_models_by_default(
    eval_json: dict[str, object],
) -> None:
    methods = eval_json["methods"]
    assert isinstance(methods, dict)
    row = methods["mpc_book_learned"]
    assert len(row["pct_of_bound_seeds"]) == 3  # one per shipped training seed
    assert row["trained_for"] == ["open"]
    shipped = sorted(PRETRAINED.glob("book-model-seed*.onnx"))
    assert row["shrink_seeds"] == [list(BookModel.load(path).shrink) for path in shipped]


def test_agent_eval_json_lists_a_learned_methods_share_per_training_seed(
    eval_json: dict[str, object],
) -> None:
    methods = eval_json["methods"]
    assert isinstance(methods, dict)
    for name in ("ppo", "dqn", "imitation"):
        seeds = methods[name]["pct_of_bound_seeds"]
        assert seeds, name
        assert methods[name]["pct_of_bound"] == pytest.approx(sum(seeds) / len(seeds), abs=0.01)
    assert len(methods["imitation"]["pct_of_bound_seeds"]) >= 3
    low, high = methods["imitation"]["ci95"]
    assert low <= methods["imitation"]["pct_of_bound"] <= high


@pytest.fixture(scope="module")
def sealed_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _quick_eval_json(
        tmp_path_factory,
        "--market",
        "sealed",
        "--rules",
        "truthful,book_response",
        "--learned",
        "imitation",
        "--spoof-kwh",
        "10",
    )


def test_agent_eval_json_names_its_market_open_by_default(eval_json: dict[str, object]) -> None:
    assert eval_json["market"] == "open"


def test_agent_eval_sealed_json_has_the_open_shape_and_names_its_market(
    eval_json: dict[str, object], sealed_json: dict[str, object]
) -> None:
    assert sealed_json["market"] == "sealed"
    assert set(sealed_json) - {"spoof"} == set(eval_json)  # the spoofer only when asked
    methods = sealed_json["methods"]
    assert isinstance(methods, dict)
    assert set(methods) == {"truthful", "book_response", "imitation", "bound"}
    assert isinstance(methods["book_response"]["pct_of_bound"], float)
    assert methods["imitation"]["trained_for"] == ["open"]  # run, and said so


def test_agent_eval_spoofer_reaches_no_one_in_a_sealed_market(
    sealed_json: dict[str, object],
) -> None:
    spoof = sealed_json["spoof"]
    assert isinstance(spoof, dict) and spoof["kwh"] == 10.0
    for row in spoof["methods"]["book_response"].values():
        assert row["savings_delta_eur"] == 0.0 and row["slots_price_moved_pct"] == 0.0


def test_agent_eval_refuses_an_unknown_market_with_one_red_line(tmp_path: Path) -> None:
    done = _run("agent", "eval", "--json", "--market", "dark", cache=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:") and "market" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_agent_eval_rejects_a_bad_option_with_one_red_line(tmp_path: Path) -> None:
    done = _run("agent", "eval", "--json", "--days", "0", cache=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:")
    assert "Traceback" not in done.stderr


def test_agent_eval_refuses_regions_that_are_not_try_regions(tmp_path: Path) -> None:
    done = _run("agent", "eval", "--json", "--regions", "4,16", cache=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:") and "regions" in done.stderr
    assert "Traceback" not in done.stderr


def test_agent_run_rejects_an_owner_that_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    done = run_command(
        monkeypatch, capsys, "agent", "run", "--keystore", str(tmp_path / "k.json"),
        "--owner", "bob", cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:") and "'bob'" in done.stderr
    assert "Traceback" not in done.stderr


def test_agent_run_names_a_missing_keystore(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    owner = "0x" + "11" * 20
    done = run_command(
        monkeypatch, capsys, "agent", "run", "--keystore", str(tmp_path / "k.json"),
        "--owner", owner, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no keystore at" in done.stderr and "Traceback" not in done.stderr


def _eval_options(market: str) -> EvalOptions:
    return EvalOptions(
        quick=True,
        forecast="naive",
        ppo=[],
        dqn=[],
        imitation=[],
        book_model=[],
        book_ensemble=[],
        rules=[],
        year=2018,
        community=False,
        market=market,
        others="zip",
    )


def test_agent_eval_runs_the_shipped_book_models_of_its_market(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from enerwise.cli.agent import _learned_methods

    open_opts, open_chosen = _learned_methods(_eval_options("open"), None)
    sealed_opts, sealed_chosen = _learned_methods(_eval_options("sealed"), None)
    assert "mpc_book_learned" in open_chosen and "mpc_book_learned" in sealed_chosen
    assert [p.name for p in open_opts.book_model] == [f"book-model-seed{s}.onnx" for s in range(3)]
    assert [p.name for p in sealed_opts.book_model] == [
        f"book-model-sealed-seed{s}.onnx" for s in range(3)
    ]
    assert capsys.readouterr().err == ""


def test_agent_eval_drops_the_shipped_book_models_in_a_market_none_ship_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    import agents.rl.evaluate
    from enerwise.cli.agent import _learned_methods

    for seed in range(3):  # the open market's files alone
        name = f"book-model-seed{seed}.onnx"
        shutil.copyfile(ROOT / "agents" / "pretrained" / name, tmp_path / name)
    monkeypatch.setattr(agents.rl.evaluate, "PRETRAINED", tmp_path)
    _, sealed_chosen = _learned_methods(_eval_options("sealed"), None)
    assert "mpc_book_learned" not in sealed_chosen  # shipped for the open market: refused there
    assert "imitation" in sealed_chosen  # runs in either mode, its row says for which
    assert "not run: the shipped book models are for the open market" in capsys.readouterr().err
