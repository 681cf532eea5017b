"""Agents that learn together: the shared policy's vector environment, its files, the social
optimum and the community evaluation (tiny models only: training runs are commands)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.community import Community, CommunityDraw, build_community, simulate
from agents.envs.community_env import CommunityParallelEnv
from agents.errors import ConfigError, PolicyError
from agents.forecasting.provider import ForecastMethod, HouseholdForecasts
from agents.policies.baselines import ZIP, Halfway, Truthful
from agents.policies.social import grid_only_eur, social_optimum, welfare_eur
from agents.prosumer import OBS_DIM
from agents.rl.multi import (
    CommunityEvalConfig,
    SharedConfig,
    SharedVecEnv,
    evaluate_community,
    load_shared,
    train_shared,
)
from agents.rl.setup import Period

SMALL = CommunityDraw(n_households=6, share_pv=0.5, share_battery=0.34, seed=1)


def test_the_social_optimum_saves_at_least_what_any_strategy_profile_saves(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    optimum = social_optimum(community, start, end)
    n = len(community.households)
    for strategies in (
        [Truthful() for _ in range(n)],
        [Halfway() for _ in range(n)],
        [ZIP(seed=j) for j in range(n)],
    ):
        assert welfare_eur(simulate(community, strategies, start, end)) <= optimum.savings_eur


def test_without_batteries_the_social_optimum_is_the_community_on_one_meter() -> None:
    community = build_community(CommunityDraw(n_households=4, share_pv=0.5, share_battery=0.0))
    start, end = community.day_slots(6, 6)
    end = start + 96
    optimum = social_optimum(community, start, end)
    net = (community.load_kw - community.pv_kw)[:, start:end].sum(axis=0) / 4.0
    retail, feed_in = community.tariffs.retail[start:end], community.tariffs.feed_in[start:end]
    one_meter = float(np.sum(np.where(net > 0, net * retail, net * feed_in)))
    assert optimum.cost_eur == pytest.approx(one_meter, rel=1e-6)
    assert optimum.grid_only_eur == pytest.approx(grid_only_eur(community, start, end))


def test_truthful_members_trade_every_crossing_order_so_only_the_batteries_miss_the_optimum(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    n = len(community.households)
    truthful = welfare_eur(simulate(community, [Truthful() for _ in range(n)], start, end))
    no_market = welfare_eur(
        simulate(community, [Truthful() for _ in range(n)], start, end, p2p=False)
    )
    assert truthful > no_market


@pytest.fixture(scope="module")
def parallel_env(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> CommunityParallelEnv:
    start, _ = june_week
    return CommunityParallelEnv(
        community, forecasts, start, start + 3 * 96, others="truthful", battery_reach=0.5
    )


def test_the_vector_env_has_one_sub_environment_per_agent(
    parallel_env: CommunityParallelEnv,
) -> None:
    vec = SharedVecEnv(parallel_env)
    obs = vec.reset()
    assert obs.shape == (len(parallel_env.possible_agents), OBS_DIM)


def test_the_vector_env_restarts_every_agent_together_after_an_episode(
    parallel_env: CommunityParallelEnv,
) -> None:
    vec = SharedVecEnv(parallel_env)
    vec.reset()
    actions = np.zeros((vec.num_envs, 3), dtype=np.float32)
    for _ in range(95):
        _, _, dones, _ = vec.step(actions)
        assert not dones.any()
    _, rewards, dones, infos = vec.step(actions)
    assert dones.all()
    assert rewards.shape == (vec.num_envs,)
    assert all(info["terminal_observation"].shape == (OBS_DIM,) for info in infos)


def test_a_community_reward_gives_every_agent_an_equal_share_of_the_community_savings(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> None:
    start, _ = june_week
    env = CommunityParallelEnv(
        community, forecasts, start, start + 96, others="truthful", reward="community"
    )
    env.reset(seed=3)
    slot = env._slot
    _, rewards, _, _, _ = env.step({a: np.zeros(3, dtype=np.float32) for a in env.agents})
    n = len(community.households)
    truthful = simulate(community, [Truthful() for _ in range(n)], slot, slot + 1)
    assert len(set(rewards.values())) == 1
    assert sum(rewards.values()) == pytest.approx(
        welfare_eur(truthful) * env.reward_scale, abs=1e-3
    )


def test_the_community_env_refuses_unknown_other_members(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> None:
    start, end = june_week
    with pytest.raises(ConfigError, match="others must be one of"):
        CommunityParallelEnv(community, forecasts, start, end, others="random")


@pytest.fixture(scope="module")
def shared_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("shared")
    meta = train_shared(
        SharedConfig(
            out=out,
            steps=128,
            seeds=(0, 1),
            community=SMALL,
            forecast=ForecastMethod.NAIVE,
            period=Period(6, 6),
            episode_days=1,
            overrides={"n_steps": 64, "batch_size": 64, "n_epochs": 1},
            cache_dir=None,
        )
    )
    return [Path(run["model"]) for run in meta["runs"]]


def test_a_shared_policy_file_names_its_reach_and_market(shared_files: list[Path]) -> None:
    model, reach = load_shared(shared_files[0])
    assert reach == 0.5
    assert model.policy.metadata["enerwise.market"] == "open"
    assert model.policy.obs_width == OBS_DIM


def test_a_shared_policy_for_another_market_mode_is_refused_with_its_file_named(
    shared_files: list[Path],
) -> None:
    with pytest.raises(PolicyError, match=rf"{shared_files[0]}.*'open' market.*'sealed'"):
        load_shared(shared_files[0], market="sealed")


def test_a_residual_policy_is_refused_as_a_shared_one(tmp_path: Path) -> None:
    residual = Path(__file__).resolve().parents[2] / "agents" / "pretrained" / "imitation.onnx"
    with pytest.raises(PolicyError, match="shared policy"):
        load_shared(residual)


def test_the_community_evaluation_reports_every_seed_below_its_bounds(
    shared_files: list[Path],
) -> None:
    report = evaluate_community(
        CommunityEvalConfig(
            models=tuple(shared_files),
            community=SMALL,
            forecast=ForecastMethod.NAIVE,
            period=Period(6, 6, days=1),
            cache_dir=None,
        )
    )
    together = report["shared"]["all_agents"]
    assert len(together["pct_of_social_optimum"]["seeds"]) == 2
    assert max(together["pct_of_social_optimum"]["seeds"]) <= 100.0
    for mode in ("truthful", "all_agents"):
        for household in report["shared"][mode]["pct_of_bound"].values():
            assert max(household["seeds"]) <= 100.0
    assert report["rules"]["truthful"]["pct_of_social_optimum"] <= 100.0


def test_the_community_evaluation_without_bounds_reports_money_only(
    shared_files: list[Path],
) -> None:
    report = evaluate_community(
        CommunityEvalConfig(
            models=tuple(shared_files[:1]),
            community=SMALL,
            forecast=ForecastMethod.NAIVE,
            period=Period(6, 6, days=1),
            cache_dir=None,
            household_bounds=False,
        )
    )
    alone = report["shared"]["truthful"]
    assert all(v["mean"] is None for v in alone["pct_of_bound"].values())
    assert all(v["mean"] is not None for v in alone["savings_eur"].values())


def test_the_runtime_runs_a_shared_policy_with_the_reach_its_file_names(
    shared_files: list[Path],
) -> None:
    from agents.live.policies import LearnedPolicy, load_policy

    policy = load_policy(shared_files[0])
    assert isinstance(policy, LearnedPolicy)
    assert not policy.book_policy
    assert policy.reach == 0.5
