"""The live side of ``enerwise agent run``: the agent key's link to the chain, the trading loop
that steps the runtime every interval (waiting through node outages), and the household gateway
of ``--config``. Heavy modules are imported inside the functions (the CLI starts light)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from enerwise.cli.connection import contract_sender, node
from enerwise.cli.console import console, err_console
from enerwise.cli.options import SigningKey
from enerwise.cli.output import log_to_stderr, print_json_line


@dataclass(frozen=True)
class AgentLink:
    """Who trades for whom, where: the agent key's sender, the owner, the policy, the chain."""

    w3: Any
    record: Any
    sender: Any
    owner: str
    policy: Any

    @classmethod
    def connect(
        cls,
        owner: str,
        key: SigningKey,
        policy: str,
        rpc_url: str | None,
        deployment: Path | None,
    ) -> AgentLink:
        """Checked in this order: the owner's address, the key's file, the policy, the chain,
        the key's password."""
        from agents.live.policies import load_policy
        from energychain.delegation import parse_address
        from energychain.deploy import load_deployment

        owner_address = parse_address(owner, "owner")
        keystore_path = _agent_keystore(key.keystore, key.keystore_dir)
        chosen = load_policy(policy)
        w3 = node(rpc_url)
        record = load_deployment(w3, deployment)
        sender = _agent_sender(w3, keystore_path, key.password_file, key.password_env)
        return cls(w3, record, sender, owner_address, chosen)

    def runtime(
        self,
        state_path: Path,
        log: Path | None,
        *,
        household: int,
        forecast: str,
        battery_kwh: float,
        clear: bool,
        late_seconds: int | None,
        interval: float,
    ) -> Any:
        """The agent's runtime: forecasts replayed from ``household``, the owner's battery
        (power 0.5 C), book policies planning a slot ``max(60, 2 x interval)`` s ahead."""
        import math

        from agents.community import BatterySpec
        from agents.live.forecasts import ReplayForecaster
        from agents.live.policies import sealed_market_warning
        from agents.live.runtime import AgentRuntime

        with err_console.status("forecasts"):
            forecaster = ReplayForecaster.build(household, forecast)
        runtime = AgentRuntime(
            self.record.contracts(self.w3),
            self.sender,
            self.owner,
            self.policy,
            state_path,
            forecaster,
            battery=BatterySpec(battery_kwh, battery_kwh / 2) if battery_kwh > 0 else None,
            log_path=log or state_path.with_suffix(".jsonl"),
            clear_slots=clear,
            late_seconds=late_seconds,
            plan_lead_seconds=max(60, math.ceil(2 * interval)),
            book_from_block=self.record.block_number,
        )
        err_console.print(
            f"agent {self.sender.address} trading for {self.owner} with {self.policy.name}; "
            f"state {state_path}"
        )
        warning = sealed_market_warning(self.policy) if runtime.link.sealed else None
        if warning is not None:
            err_console.print(f"[yellow]{warning}", highlight=False)
        return runtime


def _agent_keystore(keystore: str, keystore_dir: Path | None) -> Path:
    """The agent key's file (a path, or an address in the keystore folder)."""
    from agents.errors import ConfigError
    from wallet.keystore import Keystore

    path = Keystore(keystore_dir).locate(keystore)
    if not path.is_file():
        raise ConfigError(f"no keystore at {path}")
    return path


def run_gateway(config: Path, cycles: int, json_out: bool) -> None:
    """``agent run --config``: the household gateway until Ctrl-C (or ``cycles``); one line per
    cycle and per closed slot on stdout (a JSON object each with --json), the summary last."""
    import asyncio

    from devices.household import load_household
    from gateway.service import Gateway

    if cycles < 0:
        from agents.errors import ConfigError

        raise ConfigError("--cycles must be >= 0")
    household = load_household(config)  # a mistake in the file: one line, before any log
    log_to_stderr("INFO")

    def show(line: dict[str, Any]) -> None:
        if json_out:
            print_json_line(line)
        else:
            console.out(_gateway_text(line), highlight=False)

    gateway = Gateway(household, config_path=config, on_line=show)
    try:
        asyncio.run(gateway.run(cycles=cycles or None))
    except KeyboardInterrupt:
        err_console.print("stopped: devices returned to their safe defaults")
        raise typer.Exit(130) from None
    show({"summary": gateway.summary()})


def _gateway_text(line: dict[str, Any]) -> str:
    """A line of the gateway's output in words (a cycle, a slot's plan against actual, the
    summary)."""
    if "plan_vs_actual" in line:
        slot = line["plan_vs_actual"]
        devices = "; ".join(
            f"{kind} planned {d['planned_wh']} Wh, actual {d['actual_wh']} Wh"
            + (" (refused)" if d.get("refused") else "")
            for kind, d in slot.items()
            if isinstance(d, dict)
        )
        return f"slot {slot['slot']}: {devices or 'no device'}"
    if "summary" in line:
        return "summary: " + ", ".join(
            f"{k} {v}" for k, v in line["summary"].items() if not isinstance(v, dict)
        )
    events = "; ".join(str(e) for e in line.get("events", []))
    return f"cycle {line['ms']} ms, surplus {line['surplus_w']} W" + (
        f"; {events}" if events else ""
    )


def check_run_options(forecast: str, battery_kwh: float, interval: float, steps: int) -> None:
    from agents.errors import ConfigError

    if forecast not in ("naive", "lightgbm", "validated"):
        raise ConfigError(f"--forecast must be naive, lightgbm or validated, got {forecast!r}")
    if battery_kwh < 0 or interval <= 0 or steps < 0:
        raise ConfigError("--battery-kwh and --steps must be >= 0, --interval > 0")


def trade(runtime: Any, w3: Any, steps: int, interval: float, json_out: bool = False) -> None:
    """Step ``runtime`` every ``interval`` seconds (``steps`` times, or until Ctrl-C); one
    line per step on stdout (a JSON object with --json)."""
    import time

    from agents.errors import NodeUnreachableError
    from agents.live.link import RPC_ERRORS

    waits: tuple[type[BaseException], ...] = (NodeUnreachableError, *RPC_ERRORS)
    done = 0
    away = False
    try:
        while steps == 0 or done < steps:
            try:
                now = int(w3.eth.get_block("latest")["timestamp"])
                report = runtime.step(now)
            except waits as exc:
                # a node outage (restart, network): the state file keeps every intent, so
                # the agent waits for the node and reconciles when it is back
                if not away:
                    err_console.print(f"[yellow]node unreachable, waiting: {exc}", highlight=False)
                away = True
                time.sleep(interval)
                continue
            if away:
                err_console.print("node back: trading again")
                away = False
            if json_out:
                print_json_line(
                    {
                        "slot": report.decided_slot,
                        "placed": len(report.placed),
                        "refused": [f"{a.side} slot {a.slot}: {a.reason}" for a in report.refused],
                        "claimed": len(report.claimed),
                        "errors": [str(e) for e in report.errors],
                    }
                )
            else:
                _step_text(report)
            done += 1
            if steps == 0 or done < steps:
                time.sleep(interval)
    except KeyboardInterrupt:
        err_console.print("stopped; the state file keeps every open order")


def _step_text(report: Any) -> None:
    console.print(
        f"slot {report.decided_slot}: placed {len(report.placed)}, refused "
        f"{len(report.refused)}, claimed {len(report.claimed)}, errors {len(report.errors)}"
    )
    for action in report.refused:
        err_console.print(f"[yellow]refused {action.side} slot {action.slot}: {action.reason}")
    for error in report.errors:
        err_console.print(f"[red]{error}")


def _agent_sender(
    w3: Any, keystore: Path, password_file: Path | None, password_env: str | None
) -> Any:
    """A transaction sender for the agent key (its keystore unlocked)."""
    from wallet.keystore import KeystoreSigner
    from wallet.passwords import PasswordSource

    password = PasswordSource(password_file, password_env, f"Password for {keystore}: ").read()
    return contract_sender(w3, KeystoreSigner.unlocked(keystore, password))
