"""``enerwise operator init`` / ``check``: the community config and its price grid."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.bill import month_bounds
from billing.errors import BillingError
from operations.admin import Solvency
from operations.config import _default_tick, load_community, render_config, validate_config
from operations.errors import CommunityConfigError, MeterError, OperatorError
from tests.operations.conftest import ADMIN, METER_ADMIN, Run, init_args


def test_init_writes_a_checked_commented_config(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    result = cli(*init_args(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# EnergyChain community market")
    assert "price floor  0.08 EUR/kWh" in text
    config = load_community(path)
    grid = config.price_grid()
    assert (grid.params.price_floor, grid.params.tick_size, grid.params.max_tick) == (
        80_000,
        120,
        2_000,
    )
    assert grid.eur(grid.params.price_top) == Decimal("0.32")
    assert config.roles.meter_admin == METER_ADMIN
    assert "price top    0.32 EUR/kWh (retail tariff)" in result.stderr
    settings = config.market_settings()
    assert settings.payment_token is None  # deploy-test-token
    assert settings.treasury == ADMIN


def test_default_tick_is_the_finest_that_fits(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    args = init_args(path, **{"--retail-eur-per-kwh": "0.30", "--feed-in-eur-per-kwh": "0.05"})
    args.remove("--tick-eur-per-kwh")
    args.remove("0.00012")
    assert cli(*args).exit_code == 0
    grid = load_community(path).price_grid().params
    assert grid.price_top == 300_000 and grid.price_floor == 50_000
    assert grid.max_tick <= 2047 and (grid.price_top - grid.price_floor) % grid.tick_size == 0
    assert (grid.tick_size, grid.max_tick) == (125, 2000)  # 0.000125 EUR steps


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"--feed-in-eur-per-kwh": "0.40"}, "tariffs.feed_in_eur_per_kwh"),  # floor above ceiling
        ({"--tick-eur-per-kwh": "0.0007"}, "tariffs.tick_eur_per_kwh"),  # does not divide 0.24
        ({"--tick-eur-per-kwh": "0.00001"}, "tariffs.tick_eur_per_kwh"),  # 24000 ticks > 2047
        ({"--tick-eur-per-kwh": "0.0000001"}, "tariffs.tick_eur_per_kwh"),  # finer than 6 decimals
        ({"--admin": "0x1234"}, "roles.admin"),
        ({"--pauser": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bC"}, "roles.pauser"),  # checksum
        ({"--treasury": "not-an-address"}, "treasury"),
        ({"--meter-admin": "0x" + "0" * 40}, "roles.meter_admin"),  # zero address
        (
            {"--retail-eur-per-kwh": "1e40", "--tick-eur-per-kwh": "1e36"},
            "tariffs.retail_eur_per_kwh",
        ),  # > uint128
        ({"--chain-id": "100"}, "payment_token"),  # test token on a non-local chain
        ({"--payment-token": "0xabc"}, "payment_token"),
        ({"--fee-bps": "1001"}, "fee_bps"),
        ({"--retail-eur-per-kwh": "abc"}, "tariffs.retail_eur_per_kwh"),
        ({"--name": "Sunny Street"}, "name"),
    ],
)
def test_init_refuses_bad_input_naming_the_field(
    cli: Run, tmp_path: Path, overrides: dict[str, str], field: str
) -> None:
    path = tmp_path / "community.yaml"
    result = cli(*init_args(path, **overrides))
    assert isinstance(result.exception, CommunityConfigError), result.output
    assert isinstance(result.exception, OperatorError) and isinstance(result.exception, ValueError)
    assert field in str(result.exception)
    assert not path.exists()  # nothing written


def test_max_tick_error_suggests_a_tick(cli: Run, tmp_path: Path) -> None:
    result = cli(*init_args(tmp_path / "c.yaml", **{"--tick-eur-per-kwh": "0.00001"}))
    assert "exceed the limit of 2047" in str(result.exception)
    assert "at least 0.00012 EUR/kWh" in str(result.exception)


def test_init_refuses_to_overwrite(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path)).exit_code == 0
    result = cli(*init_args(path))
    assert isinstance(result.exception, CommunityConfigError)
    assert "--force" in str(result.exception)
    assert cli(*init_args(path), "--force").exit_code == 0


def test_edited_config_is_checked_on_load(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path)).exit_code == 0
    data = yaml.safe_load(path.read_text())
    data["tariffs"]["tick_eur_per_kwh"] = "0.0007"
    path.write_text(yaml.safe_dump(data))
    result = cli("operator", "check", "-c", path)
    assert isinstance(result.exception, CommunityConfigError)
    assert "tariffs.tick_eur_per_kwh" in str(result.exception)
    data["tariffs"]["tick_eur_per_kwh"] = "0.00012"
    data["unknown_field"] = 1
    with pytest.raises(CommunityConfigError, match="unknown_field"):
        validate_config(data)


@given(span=st.integers(min_value=1, max_value=10**30))
@settings(max_examples=200, deadline=None)
def test_default_tick_divides_the_range_within_the_limit(span: int) -> None:
    tick = _default_tick(span)
    assert span % tick == 0 and span // tick <= 2047
    # no finer tick does: every smaller divisor would need more than 2047 ticks
    assert all(span % k or k > 2047 for k in range(span // tick + 1, min(span, 2047) + 1))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"--owner": "0x12"}, "owner"),
        ({"--kind": "wind"}, "kind"),
        ({"--capacity-w": "0"}, "capacity_w"),
        ({"--signer": "0x" + "0" * 40}, "signer"),
    ],
)
def test_meter_add_refuses_bad_input_before_touching_the_chain(
    cli: Run, tmp_path: Path, overrides: dict[str, str], field: str
) -> None:
    options = {
        "--owner": ADMIN,
        "--id": "house-1",
        "--kind": "pv",
        "--capacity-w": "4000",
        "--signer": METER_ADMIN,
        "--keystore": str(tmp_path / "missing.json"),
        "--config": str(tmp_path / "missing.yaml"),  # never read: the row is checked first
    }
    options.update(overrides)
    result = cli("operator", "meter", "add", *[x for kv in options.items() for x in kv])
    assert isinstance(result.exception, MeterError), result.output
    assert str(result.exception).startswith(f"{field}:")


def test_meter_add_needs_exactly_one_key_source(cli: Run, tmp_path: Path) -> None:
    result = cli("operator", "meter", "add", "--owner", ADMIN, "--id", "m", "--kind", "pv",
                 "--capacity-w", "1", "--keystore", tmp_path / "k.json")  # fmt: skip
    assert isinstance(result.exception, OperatorError)
    assert "--signer ADDRESS or --generate-key" in str(result.exception)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "november", "2026-00"])
def test_billing_refuses_a_malformed_month(cli: Run, tmp_path: Path, month: str) -> None:
    result = cli("operator", "billing", "--month", month, "--config", tmp_path / "none.yaml")
    assert isinstance(result.exception, BillingError)
    assert str(result.exception).startswith("month:")


def test_month_bounds_cover_the_calendar_month() -> None:
    start, end = month_bounds("2026-12")
    assert (end - start) == 31 * 86_400
    assert datetime.fromtimestamp(end, UTC) == datetime(2027, 1, 1, tzinfo=UTC)


def test_month_bounds_run_in_the_communitys_time_zone() -> None:
    start, end = month_bounds("2026-12", "Europe/Berlin")  # CET, UTC+1 in winter
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert datetime.fromtimestamp(end, UTC) == datetime(2026, 12, 31, 23, tzinfo=UTC)
    with pytest.raises(BillingError, match="time_zone: 'Mars/Olympus' is not an IANA time zone"):
        month_bounds("2026-12", "Mars/Olympus")


def test_the_explorer_and_the_time_zone_are_optional_and_checked(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path)).exit_code == 0
    data = yaml.safe_load(path.read_text())
    plain = validate_config(data)
    assert plain.chain.explorer_url is None and plain.time_zone == "UTC"
    data["chain"]["explorer_url"] = "https://explorer.example.org/"
    data["time_zone"] = "Europe/Berlin"
    config = validate_config(data)
    assert config.chain.explorer_url == "https://explorer.example.org"
    assert config.time_zone == "Europe/Berlin"
    path.write_text(render_config(config, path.name))
    assert load_community(path) == config  # init's template keeps both
    refused = {
        "time_zone": r"time_zone: 'Europe/Atlantis' is not an IANA time zone",
        "explorer_url": r"chain.explorer_url: 'ftp://x.org' is not an http\(s\) URL",
    }
    for field, message in refused.items():
        bad = yaml.safe_load(path.read_text())
        if field == "time_zone":
            bad["time_zone"] = "Europe/Atlantis"
        else:
            bad["chain"]["explorer_url"] = "ftp://x.org"
        with pytest.raises(CommunityConfigError, match=message):
            validate_config(bad)


def test_solvency_names_every_shortfall() -> None:
    ok = Solvency(payment_vault=100, payment_held=120, energy_vault={3: 50}, energy_held={3: 50})
    assert ok.solvent and ok.problems == []
    short = Solvency(payment_vault=100, payment_held=99, energy_vault={3: 50}, energy_held={})
    assert not short.solvent
    assert short.problems == [
        "payment: the market holds 99, the vault owes 100",
        "energy slot 3: the market holds 0 Wh, owes 50 Wh",
    ]


def _initialised(cli: Run, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "community.yaml"
    assert cli(*init_args(path)).exit_code == 0
    data: dict[str, object] = yaml.safe_load(path.read_text())
    return data


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_clock_skew_seconds", 3_601, "limit of 3600 s"),  # MAX_CLOCK_SKEW_SECONDS
        ("max_clock_skew_seconds", 2**32 - 1, "limit of 3600 s"),
        ("max_clock_skew_seconds", -1, "greater than or equal to 0"),
        ("settlement_seconds", 2**32, "less than or equal to 4294967295"),  # uint32
        ("settlement_seconds", 0, "greater than 0"),
        ("open_ahead_seconds", 2**32, "less than or equal to 4294967295"),
        ("min_order_wh", 2**64, "less than or equal to 18446744073709551615"),  # uint64
        ("min_order_wh", 0, "greater than 0"),
        ("fee_bps", 1_001, "less than or equal to 1000"),
    ],
)
def test_a_parameter_the_contracts_would_refuse_is_refused_naming_the_field(
    cli: Run, tmp_path: Path, field: str, value: int, words: str
) -> None:
    data = _initialised(cli, tmp_path)
    data[field] = value
    with pytest.raises(CommunityConfigError) as refused:
        validate_config(data)
    assert f"community config: {field}: " in str(refused.value)
    assert words in str(refused.value)


def test_the_clock_skew_limit_itself_is_accepted_and_written_back(cli: Run, tmp_path: Path) -> None:
    data = _initialised(cli, tmp_path)
    data["max_clock_skew_seconds"] = 3_600
    config = validate_config(data)
    assert config.market_settings().max_clock_skew_seconds == 3_600
    assert validate_config(yaml.safe_load(render_config(config, "c.yaml"))) == config
