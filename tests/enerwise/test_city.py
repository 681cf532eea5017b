"""``enerwise city``: a tiny city (2 communities x 3 households, 2 slots, the smallest network
that has two feeders; one battery owner per community, run by the demo's agent with its
pretrained policy) run once on anvil for the whole module, and the command's refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grid.benchmark import check_schedule
from grid.scenario import Scenario, build_scenario
from tests.in_process import run_main

NETWORK = "kerber-landnetz-kabel-1"
TINY = [
    "city", "--communities", "2", "--households", "3", "--day", "2018-06-21", "--slots", "2",
    "--network", NETWORK, "--agent-policy", "ppo",
]  # fmt: skip

TYPES: dict[str, type | tuple[type, ...]] = {
    "local_share": float,
    "pool_share": float,
    "local_plus_pool_share": float,
    "local_plus_pool_higher": bool,
    "household_import_kwh": float,
    "household_export_kwh": float,
    "grid_import_kwh": float,
    "grid_export_kwh": float,
    "grid_fees_eur": float,
    "prices_eur_per_kwh": dict,
    "violations_with_limits": int,
    "violations_without_limits": int,
    "pool_clear_gas_max": int,
    "pool_settle_gas_max": int,
    "claims_gas_max": int,
    "claims": int,
    "pool_filled_orders": int,
    "conservation_ok": bool,
    "conservation": dict,
    "gas_per_slot_mean": int,
    "gas_per_slot_max": int,
    "gas_per_slot_by_step_mean": dict,
    "l2_blocks_needed_max": float,
    "l2_block_space_share_max": float,
    "l2_blocks_per_slot": int,
    "battery_agents": dict,
    "per_slot": list,
}


@pytest.fixture(scope="module")
def grid_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("grid-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENERWISE_GRID_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def report(grid_cache: Path) -> dict[str, Any]:
    """``enerwise city ... --json`` on the tiny city, through the console entry point."""
    with pytest.MonkeyPatch.context() as patch:
        capture = _Capture()
        code, out = capture.run(patch, [*TINY, "--json"])
    assert code == 0, out
    parsed: dict[str, Any] = json.loads(out)
    return parsed


class _Capture:
    """Runs ``main`` with stdout captured (capsys is function-scoped; the run is per module)."""

    def run(self, patch: pytest.MonkeyPatch, args: list[str]) -> tuple[int, str]:
        import contextlib
        import io
        import sys

        from enerwise.cli import main

        patch.setattr(sys, "argv", ["enerwise", *args])
        buffer = io.StringIO()
        code: object = 0
        with contextlib.redirect_stdout(buffer):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
        return (int(code) if isinstance(code, int) else 1), buffer.getvalue()


def test_the_json_has_every_figure_with_its_type(report: dict[str, Any]) -> None:
    wrong = {k: type(report.get(k)).__name__ for k, t in TYPES.items() if not isinstance(
        report.get(k), t) or isinstance(report.get(k), bool) is not (t is bool)}  # fmt: skip
    assert wrong == {}
    assert len(report["per_slot"]) == 2
    steps = {"limits", "readings", "orders", "clears", "pool", "settle", "claims"}
    assert set(report["gas_per_slot_by_step_mean"]) == steps
    assert all(
        report["gas_per_slot_by_step_mean"][s] > 0
        for s in ("limits", "readings", "clears", "pool", "settle", "claims")
    )


def test_the_pool_clears_on_chain_and_agrees_with_the_reference(report: dict[str, Any]) -> None:
    assert report["conservation"]["pool on chain equals the reference"] is True
    pool_gas = [row["gas"]["pool"] for row in report["per_slot"]]
    assert all(gas > 0 for gas in pool_gas)
    assert report["pool_clear_gas_max"] == max(pool_gas)


def test_conservation_holds_on_every_slot(report: dict[str, Any]) -> None:
    assert report["conservation_ok"] is True
    assert report["conservation"] and all(report["conservation"].values())
    assert all(row["conservation_ok"] for row in report["per_slot"])


def test_local_plus_pool_is_at_least_local(report: dict[str, Any]) -> None:
    assert report["local_plus_pool_share"] >= report["local_share"]
    assert report["local_plus_pool_share"] == pytest.approx(
        report["local_share"] + report["pool_share"], abs=1e-4
    )


def test_energy_adds_up_per_slot(report: dict[str, Any]) -> None:
    for row in report["per_slot"]:
        assert (
            row["grid_import_wh"] == row["household_import_wh"] - row["local_wh"] - row["pool_wh"]
        )
        assert row["grid_import_wh"] >= 0 and row["grid_export_wh"] >= 0
        assert row["gas_total"] == sum(row["gas"].values())


def test_every_order_placed_is_claimed_on_chain(report: dict[str, Any]) -> None:
    """The keeper claims every order of every slot (the agents' buys placed ahead included), each
    claim as the reference settles it."""
    assert report["conservation"]["claims on chain equal the reference"] is True
    assert all(row["claims"] == row["orders"] > 0 for row in report["per_slot"])
    assert report["claims"] == report["orders"]
    claims_gas = [row["gas"]["claims"] for row in report["per_slot"]]
    assert all(gas > 0 for gas in claims_gas) and report["claims_gas_max"] == max(claims_gas)


def _long_and_short(*args: Any, **kwargs: Any) -> Scenario:
    """The scenario with the first community's households exporting 300 Wh and the second's
    importing 300 Wh in every slot, metered and forecast: the communities cannot match locally,
    so the pool crosses energy (at night the drawn day's data have no exporter)."""
    built = build_scenario(*args, **kwargs)
    first = built.operator.communities[0].id
    for j, household in enumerate(built.data.household_ids):
        net = -300.0 if household.startswith(f"{first}/") else 300.0
        built.data.actual_wh[j, :] = net
        built.data.forecast_wh[j, :] = net
    return built


POOLED = {"communities": 2, "households": 6, "day": "2018-06-21", "slots": 2}


@pytest.fixture(scope="module")
def pooled(grid_cache: Path) -> dict[str, Any]:
    """A city of 2 x 6 truthful households where the pool trades every slot."""
    import enerwise.city.run as city_run
    from enerwise.city import CityConfig, run_city

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(city_run, "build_scenario", _long_and_short)
        return run_city(CityConfig(**POOLED, network=NETWORK, battery_policy="truthful"))


def test_the_pools_fills_flow_back_into_the_claims(pooled: dict[str, Any]) -> None:
    """Every slot the pool crosses energy and orders are claimed with a pool fill
    (``OrderPoolFilled``), each claim equal to the reference's outcome."""
    assert all(row["pool_wh"] > 0 for row in pooled["per_slot"])
    assert all(row["pool_filled_orders"] > 0 for row in pooled["per_slot"])
    assert pooled["conservation"]["claims on chain equal the reference"] is True
    assert pooled["conservation_ok"] is True and pooled["order_errors"] == 0


def test_every_market_covers_what_it_owes_after_the_claims(pooled: dict[str, Any]) -> None:
    """After the pool's fills are claimed, each market's payment and slot tokens cover its
    members' and treasury's vault balances and the escrow of the buys still open."""
    assert pooled["conservation"]["markets solvent after claims"] is True


def test_a_market_that_owes_more_than_it_holds_is_not_solvent() -> None:
    """``market_solvent`` on a market whose only money is one member's deposit: solvent for that
    member, not once the same balance is owed twice."""
    from devchain.sandbox import Sandbox
    from enerwise.city.pool_step import market_solvent

    with Sandbox.on_anvil() as box:
        member = box.new_participant()
        box.fund_payment(member, 5_000_000)
        c = box.contracts

        def solvent(accounts: list[str]) -> bool:
            return market_solvent(c.market, c.payment, c.token, accounts, 1, [], box.params)

        assert solvent([member.address]) is True
        assert solvent([member.address, member.address]) is False


def test_a_claim_that_differs_from_the_reference_is_detected(
    grid_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference made wrong on purpose (the first order of each community refunded one base
    unit or Wh more): the claims on chain no longer equal it, and the slot's conservation fails."""
    import dataclasses

    import enerwise.city.pool_step as pool_step
    import enerwise.city.run as city_run
    from enerwise.city import CityConfig, run_city

    settle_city = pool_step.settle_city

    def wrong(*args: Any, **kwargs: Any) -> Any:
        settlement = settle_city(*args, **kwargs)
        for outcomes in settlement.outcomes.values():
            outcomes[0] = dataclasses.replace(outcomes[0], refund=outcomes[0].refund + 1)
        return settlement

    monkeypatch.setattr(city_run, "build_scenario", _long_and_short)
    monkeypatch.setattr(pool_step, "settle_city", wrong)
    report = run_city(
        CityConfig(**{**POOLED, "slots": 1}, network=NETWORK, battery_policy="truthful")
    )
    assert report["conservation"]["claims on chain equal the reference"] is False
    assert report["conservation_ok"] is False


@pytest.fixture(scope="module")
def scenario(grid_cache: Path) -> Scenario:
    """The tiny city's scenario, built again outside the run."""
    return build_scenario(NETWORK, 2, 3, "2018-06-21", slots=2)


def test_violations_are_counted_by_the_benchmarks_code(
    report: dict[str, Any], scenario: Scenario
) -> None:
    """The same day, checked by ``grid.benchmark.check_schedule`` directly, counts the same."""
    without = within = 0
    ids = list(scenario.data.household_ids)
    for j, row in enumerate(report["per_slot"]):
        limits = scenario.operator.limits(row["slot"], scenario.data.forecast_wh[:, j])
        metered = np.array(scenario.data.actual_wh[:, j], dtype=np.float64)
        for household, net in row["battery_agent_net_wh"].items():  # the agents' batteries
            metered[ids.index(household)] = net
        naive, limited, schedule = check_schedule(scenario.operator, row["slot"], metered, limits)
        assert np.isfinite(schedule).all()
        without += len(naive.violations)
        within += len(limited.violations)
    assert (without, within) == (
        report["violations_without_limits"],
        report["violations_with_limits"],
    )


def test_battery_owners_trade_through_the_demos_agents(
    report: dict[str, Any], scenario: Scenario
) -> None:
    """Every battery owner is run by an ``AgentRuntime`` with the pretrained policy: it decided
    the first two slots before the day and one more at every slot's orders step (its decision
    log says so), its agent key placed orders, and its meter signed the agent's battery plan,
    which is not the self-consumption battery the others' data assume."""
    agents = report["battery_agents"]
    owners = {
        f"{cid}/{h.id}"
        for cid, community in scenario.communities.items()
        for h in community.households
        if h.battery is not None
    }
    assert owners and agents["count"] == agents["battery_owners"] == len(owners)
    assert agents["policy"] == "ppo (pretrained)" and agents["claims"] is False
    assert agents["decisions"] == len(owners) * (report["slots"] + 2)
    assert agents["orders"] > 0 and agents["orders"] == sum(
        row["battery_agent_orders"] for row in report["per_slot"]
    )
    ids = list(scenario.data.household_ids)
    planned = {
        (j, household): net
        for j, row in enumerate(report["per_slot"])
        for household, net in row["battery_agent_net_wh"].items()
    }
    assert {household for _, household in planned} == owners
    self_consumption = {
        (j, household): int(scenario.data.actual_wh[ids.index(household), j])
        for j, household in planned
    }
    assert planned != self_consumption
    assert agents["slots_off_self_consumption"] == sum(
        planned[key] != self_consumption[key] for key in planned
    )


def test_by_default_the_battery_owners_agents_run_the_demos_rule(grid_cache: Path) -> None:
    """Without ``battery_policy`` the agents run the halfway rule (docs/pool.md: the learned
    policy's step costs ten times as much); they decide as the learned ones do."""
    from enerwise.city import CityConfig, run_city

    report = run_city(CityConfig(2, 3, "2018-06-21", slots=1, network=NETWORK))
    agents = report["battery_agents"]
    assert (agents["policy"], agents["count"]) == ("halfway", agents["battery_owners"])
    assert agents["count"] > 0 and agents["decisions"] == agents["count"] * 3
    assert report["conservation_ok"] is True and report["order_errors"] == 0


def test_without_agents_every_household_bids_truthfully(grid_cache: Path) -> None:
    """``battery_policy="truthful"``: no agent, the meters sign the self-consumption battery."""
    from enerwise.city import CityConfig, run_city

    report = run_city(CityConfig(2, 3, "2018-06-21", slots=1, network=NETWORK,
                                 battery_policy="truthful"))  # fmt: skip
    agents = report["battery_agents"]
    assert (agents["count"], agents["decisions"], agents["orders"]) == (0, 0, 0)
    assert agents["battery_owners"] > 0 and report["per_slot"][0]["battery_agent_net_wh"] == {}
    assert "no agents" in " ".join(report["notes"]) and report["conservation_ok"] is True


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--network", "atlantis"], "unknown network 'atlantis'"),
        (["--households", "0"], "Invalid value for '--households'"),
        (["--communities", "-1"], "Invalid value for '--communities'"),
        (["--day", "2016-06-21"], "no data for 2016-06-21"),
        (["--agent-policy", "dqn"], "'dqn' is not one of ppo, halfway, truthful"),
    ],
)
def test_bad_input_is_one_line_and_a_usage_error(
    args: list[str],
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(monkeypatch, capsys, *TINY, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], err


def test_a_household_mapped_to_a_bus_the_network_lacks_is_one_line(
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    household = scenario.households.household_ids[0]
    placement = tmp_path / "placement.csv"
    placement.write_text(f"household,bus\n{household},999\n")
    code, out, err = run_main(monkeypatch, capsys, *TINY, "--placement", placement)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert f"household {household} is mapped to bus 999, which network '{NETWORK}'" in lines[0]
    assert "enrolled" not in out  # refused before any chain was started


def test_a_household_the_city_does_not_have_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    placement = tmp_path / "placement.csv"
    placement.write_text("household,bus\nc09/nobody,3\n")
    code, _, err = run_main(monkeypatch, capsys, *TINY, "--placement", placement)
    assert code == 1
    assert err.strip().startswith("error: household 'c09/nobody' is not in the city")


def test_a_diverged_forecast_power_flow_is_reported_and_the_last_limits_kept(
    grid_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forecast no power flow solves (2 MWh per household in 15 minutes) in the second slot:
    the slot is published with the first slot's limits, reported, and still clears."""
    import enerwise.city.run as city_run
    from enerwise.city import CityConfig, run_city

    def diverging(*args: Any, **kwargs: Any) -> Scenario:
        built = build_scenario(*args, **kwargs)
        built.data.forecast_wh[:, 1] = 2_000_000.0
        return built

    monkeypatch.setattr(city_run, "build_scenario", diverging)
    report = run_city(CityConfig(2, 3, "2018-06-21", slots=2, network=NETWORK))
    first, second = report["per_slot"]
    assert not first["limits_kept"] and second["limits_kept"]
    assert {"PowerFlowDiverged", "LimitsKept"} <= set(second["events"])
    assert (second["limits_import_wh"], second["limits_export_wh"]) == (
        first["limits_import_wh"],
        first["limits_export_wh"],
    )
    assert report["slots_limits_kept"] == 1 and report["conservation_ok"] is True


def test_in_a_log_each_slot_is_one_line_naming_its_slowest_steps(
    grid_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout is not a terminal under pytest: one plain line per slot, ending in where the
    slot's time went (the three slowest of its steps), so a long run's log shows the cost."""
    code, out, err = run_main(monkeypatch, capsys, *TINY, "--agent-policy", "truthful")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("slot ")]
    assert len(lines) == 2  # TINY's two slots
    for line in lines:
        steps = line.rsplit(" s (", 1)[1].rstrip(")").split(", ")
        assert len(steps) == 3
        assert {step.rsplit(" ", 2)[0] for step in steps} <= {
            "limits", "signing", "readings", "agents", "orders", "clears", "pool", "claims",
            "conservation", "grid_check",
        }  # fmt: skip
