"""Who trades for whom: pretrained agents for the battery households, truthful baselines
for the rest (see :mod:`enerwise.demo.traders`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.errors import AgentError
from devchain.sandbox import Sandbox
from energychain.sealed_market import SealedMarket
from enerwise.demo.community import DayPlan, Household
from enerwise.demo.sealed_traders import SealedTruthfulTrader
from enerwise.demo.traders import RuntimeTrader, Trader, TruthfulTrader

logger = logging.getLogger(__name__)

#: The pretrained policy the agents run (PPO, exported to ONNX: no torch needed at run time).
POLICY_FILE = Path(__file__).resolve().parents[2] / "agents" / "pretrained" / "ppo.onnx"


def build_traders(
    sandbox: Sandbox,
    plan: DayPlan,
    households: list[Household],
    workdir: Path,
    note: Callable[[str], None],
    *,
    policy: tuple[Any, str] | None = None,
    claims: bool = True,
) -> list[Trader]:
    """A truthful trader for the baseline households and agent runtimes for the others.

    ``policy``: the agents' ``(policy, name)`` (:func:`agent_policy`; default: the pretrained
    one); ``claims``: whether the agents claim cleared slots (``AgentRuntime``'s ``claim``).
    """
    baselines = [h for h in households if h.agent is None]
    agents = [h for h in households if h.agent is not None]
    traders: list[Trader] = []
    if baselines:
        if isinstance(sandbox.contracts.market, SealedMarket):
            journal = workdir / "baseline-commitments.sqlite"
            traders.append(SealedTruthfulTrader(sandbox, plan, baselines, journal))
        else:
            traders.append(TruthfulTrader(sandbox, plan, baselines))
    if agents:
        runs, name = policy if policy is not None else agent_policy(note)
        runtimes = {h.index: _runtime(sandbox, plan, h, runs, workdir, claims) for h in agents}
        traders.append(RuntimeTrader(sandbox, plan, agents, runtimes, name))
        note(
            f"{len(agents)} agents ({name}) trade through delegated agent keys, "
            f"{len(baselines)} households bid truthfully"
        )
    return traders


def agent_policy(note: Callable[[str], None], spec: str | None = None) -> tuple[Any, str]:
    """``(policy, name)`` the agents run: ``spec`` (``agents.live.policies.load_policy``), or
    by default the pretrained PPO, the halfway rule when it cannot be loaded."""
    from agents.live.policies import load_policy

    if spec is not None:
        return load_policy(spec), spec
    try:
        return load_policy(POLICY_FILE), "ppo (pretrained)"
    except (AgentError, ImportError, OSError) as exc:
        note(f"pretrained policy unavailable ({exc}): agents use the halfway rule")
        return load_policy("halfway"), "halfway"


def _runtime(
    sandbox: Sandbox, plan: DayPlan, member: Household, policy: Any, workdir: Path, claims: bool
) -> Any:
    from agents.forecasting.provider import ForecastMethod, household_forecasts
    from agents.live.forecasts import ReplayForecaster
    from agents.live.runtime import AgentRuntime

    community = plan.community
    i = member.index
    forecasts = household_forecasts(
        community.load_kw[i],
        community.pv_kw[i],
        community.spot,
        community.config.year,
        ForecastMethod.NAIVE,
    )
    assert member.agent is not None
    return AgentRuntime(
        sandbox.contracts,
        member.agent.sender,
        member.account.address,
        policy,
        workdir / "agents" / f"{member.name}.json",
        ReplayForecaster(community, i, forecasts),
        battery=member.spec.battery,
        log_path=workdir / "agents" / "decisions.jsonl",
        claim=claims,
        # The demo steps once per slot boundary: a book policy (the residual PPO) plans a slot
        # at the boundary before it and orders at the boundary that opens its settlement
        # window, after the baseline households' orders.
        late_seconds=sandbox.params.settlement_seconds,
        plan_lead_seconds=sandbox.slot_seconds,
    )
