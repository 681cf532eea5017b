"""The local anvil node: start, find, stop exactly what was started."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from chain import local_node
from chain.errors import LocalChainError
from chain.local_node import (
    LocalChain,
    _pid_cmdline,
    anvil_binary,
    bounded_history,
    rpc_request,
    start_anvil,
)


def test_up_then_down_leaves_no_process(tmp_path: Path) -> None:
    local = LocalChain(tmp_path)
    info = local.up()
    assert rpc_request(info.rpc_url, "eth_chainId") == hex(info.chain_id)
    assert local.status() == info
    stopped = local.down()
    assert stopped == info
    assert _pid_cmdline(info.pid) is None
    assert local.status() is None
    assert not local.state_file.exists()


def test_second_up_refuses_and_names_the_running_chain(tmp_path: Path) -> None:
    local = LocalChain(tmp_path)
    info = local.up()
    try:
        with pytest.raises(LocalChainError, match=info.rpc_url):
            local.up()
    finally:
        local.down()


def test_down_without_a_chain_does_nothing(tmp_path: Path) -> None:
    assert LocalChain(tmp_path).down() is None


def test_down_never_stops_a_process_that_is_not_the_recorded_anvil(tmp_path: Path) -> None:
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        local = LocalChain(tmp_path)
        local.directory.mkdir(parents=True)
        local.state_file.write_text(
            json.dumps(
                {
                    "pid": stranger.pid,
                    "port": 1,
                    "rpc_url": "http://127.0.0.1:1",
                    "chain_id": 31337,
                    "log_path": "",
                    "started_at": 0.0,
                }
            )
        )
        assert local.status() is None
        assert local.down() is None
        assert stranger.poll() is None, "the stranger must still run"
    finally:
        stranger.kill()
        stranger.wait()


def test_bounded_history_keeps_that_many_states_and_no_disk_history() -> None:
    with start_anvil(history_states=8) as node:
        cmdline = Path(f"/proc/{node.process.pid}/cmdline").read_bytes().split(b"\0")
        assert int(rpc_request(node.rpc_url, "eth_chainId", []), 16) > 0
    assert cmdline[cmdline.index(b"--prune-history") + 1] == b"8"
    assert b"--max-persisted-states" not in cmdline


def test_bounded_history_refuses_to_keep_no_state() -> None:
    with pytest.raises(ValueError, match="at least one state"):
        bounded_history(0)


def test_the_started_node_is_the_platform_binary_not_npms_node_wrapper(tmp_path: Path) -> None:
    local = LocalChain(tmp_path)
    info = local.up()
    try:
        cmdline = _pid_cmdline(info.pid)
        assert cmdline is not None
        assert "/@foundry-rs/anvil-" in cmdline.split()[0]  # npm's wrapper runs as "node ..."
    finally:
        local.down()


def test_without_a_platform_binary_npms_wrapper_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = tmp_path / ".bin" / "anvil"
    wrapper.parent.mkdir()
    wrapper.write_text("#!/usr/bin/env node\n")
    monkeypatch.setattr(local_node, "ANVIL_PLATFORM_BINS", tmp_path / "@foundry-rs")
    monkeypatch.setattr(local_node, "ANVIL_BIN", wrapper)

    assert anvil_binary() == str(wrapper)
