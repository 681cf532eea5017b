"""Settings: defaults < config file < environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from enerwise.errors import SettingsError
from enerwise.settings import load_settings


def test_defaults_without_file_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENERWISE_RPC_URL", raising=False)
    monkeypatch.delenv("ENERWISE_CONFIG", raising=False)
    assert load_settings().rpc_url is None


def test_environment_overrides_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "enerwise.yaml"
    config.write_text("rpc_url: http://from-file:8545\nconfirmations: 3\n")
    monkeypatch.setenv("ENERWISE_RPC_URL", "http://from-env:8545")
    settings = load_settings(config)
    assert settings.rpc_url == "http://from-env:8545"
    assert settings.confirmations == 3


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERWISE_RPC_URL", "http://from-env:8545")
    assert load_settings(rpc_url="http://from-flag:8545").rpc_url == "http://from-flag:8545"


def test_toml_config_file_is_read(tmp_path: Path) -> None:
    config = tmp_path / "enerwise.toml"
    config.write_text('rpc_url = "http://toml:8545"\n')
    assert load_settings(config).rpc_url == "http://toml:8545"


def test_unknown_setting_in_the_file_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "enerwise.yaml"
    config.write_text("rpc_ulr: http://typo:8545\n")
    with pytest.raises(SettingsError, match="rpc_ulr"):
        load_settings(config)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
