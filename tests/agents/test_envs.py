"""The environments pass the gymnasium, stable-baselines3 and PettingZoo checkers."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from pettingzoo.test import parallel_api_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from agents.community import Community, MarketHistory
from agents.envs import EnvConfig, ProsumerEnv, action_to_decision, market_anchors
from agents.envs.community_env import CommunityParallelEnv
from agents.errors import ConfigError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies import ZIP
from agents.prosumer import OBS_DIM, PLANNED_OBS_DIM, others_book, run_prosumer


@pytest.fixture(scope="module")
def env(community: Community, forecasts: dict[int, HouseholdForecasts]) -> ProsumerEnv:
    start, _ = community.day_slots(6, 6)
    end = start + 4 * 96
    households = community.battery_households()
    n = len(community.households)
    books = [
        others_book(community, h, [ZIP(seed=k) for k in range(n)], start, end) for h in households
    ]
    return ProsumerEnv(
        community, books, [forecasts[h] for h in households], start, end, EnvConfig(episode_days=1)
    )


def test_prosumer_env_passes_the_gymnasium_checker(env: ProsumerEnv) -> None:
    gym_check_env(env, skip_render_check=True)


def test_prosumer_env_passes_the_stable_baselines3_checker(env: ProsumerEnv) -> None:
    sb3_check_env(env, warn=False)


def test_prosumer_env_episode_truncates_after_its_days(env: ProsumerEnv) -> None:
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        _, _, terminated, truncated, _ = env.step(np.zeros(3, dtype=np.float32))
        assert not terminated
        steps += 1
    assert steps == 96


def test_prosumer_env_reward_is_scaled_savings_against_grid_only(env: ProsumerEnv) -> None:
    env.reset(seed=1)
    _, reward, _, _, info = env.step(np.zeros(3, dtype=np.float32))
    expected = (info["grid_only_eur"] - info["cost_eur"]) * env.config.reward_scale
    assert reward == pytest.approx(expected)


def test_observations_have_the_documented_length(env: ProsumerEnv) -> None:
    obs, _ = env.reset(seed=2)
    assert obs.shape == (OBS_DIM,)
    assert np.isfinite(obs).all()


def test_zero_action_is_self_consumption_halfway_to_the_anchors() -> None:
    decision = action_to_decision([0.0, 0.0, 0.0], anchors=(0.4, 0.6))
    assert (decision.battery, decision.buy_frac, decision.sell_frac) == pytest.approx(
        (0.0, 0.7, 0.3)
    )


def test_price_actions_reach_back_to_truthful_orders() -> None:
    decision = action_to_decision([0.0, 1.0, -1.0], anchors=(0.4, 0.6))
    assert (decision.buy_frac, decision.sell_frac) == (1.0, 0.0)


def test_env_rejects_a_period_shorter_than_an_episode(
    env: ProsumerEnv, community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    with pytest.raises(ConfigError):
        ProsumerEnv(
            community,
            env.books,
            [forecasts[h] for h in community.battery_households()],
            env.start,
            env.start + 10,
            EnvConfig(episode_days=1),
        )


def test_community_env_passes_the_pettingzoo_parallel_api_test(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    start, _ = community.day_slots(6, 6)
    env = CommunityParallelEnv(community, forecasts, start, start + 2 * 96, episode_days=1)
    parallel_api_test(env, num_cycles=120)


def test_community_env_has_one_agent_per_battery_household(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    start, _ = community.day_slots(6, 6)
    env = CommunityParallelEnv(community, forecasts, start, start + 96)
    assert len(env.possible_agents) == len(community.battery_households())


def test_full_price_reach_goes_to_the_market_anchors() -> None:
    decision = action_to_decision([0.0, -1.0, 1.0], anchors=(0.3, 0.7))
    assert (decision.buy_frac, decision.sell_frac) == pytest.approx((0.3, 0.7))


def test_anchors_follow_the_last_slots_unfilled_quotes(community: Community) -> None:
    history = MarketHistory.empty(community.n_slots)
    history.unfilled_ask[9], history.unfilled_bid[9], history.tick_frac[9] = 0.2, np.nan, 0.4
    assert market_anchors(history, 10) == pytest.approx((0.2, 0.4))


def test_anchors_without_any_history_are_truthful(community: Community) -> None:
    assert market_anchors(MarketHistory.empty(community.n_slots), 10) == (1.0, 0.0)


def test_battery_reach_scales_the_set_point_around_self_consumption() -> None:
    assert action_to_decision([-1.0, 0.0, 0.0], battery_reach=0.25).battery == -0.25
    assert action_to_decision([1.0, 0.0, 0.0], battery_reach=0.0).battery == 0.0
    with pytest.raises(ConfigError):
        EnvConfig(battery_reach=1.5)


def test_a_shaping_discount_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ConfigError, match="shaping_gamma"):
        EnvConfig(shaping_gamma=0.0)


@pytest.fixture(scope="module")
def residual_env(community: Community, forecasts: dict[int, HouseholdForecasts]) -> ProsumerEnv:
    start, _ = community.day_slots(6, 6)
    end = start + 2 * 96
    h = community.battery_households()[0]
    n = len(community.households)
    book = others_book(community, h, [ZIP(seed=k) for k in range(n)], start, end)
    config = EnvConfig(episode_days=1, planner=True, battery_reach=0.5, random_soc=False)
    return ProsumerEnv(community, [book], [forecasts[h]], start, end, config)


def test_residual_env_passes_the_stable_baselines3_checker(residual_env: ProsumerEnv) -> None:
    sb3_check_env(residual_env, warn=False)


def test_residual_env_observes_the_plan_and_acts_with_one_value(
    residual_env: ProsumerEnv,
) -> None:
    obs, _ = residual_env.reset(seed=0)
    assert obs.shape == (PLANNED_OBS_DIM,) and residual_env.action_space.shape == (1,)
    assert obs[-1] == pytest.approx(residual_env.planners[0].setpoint(residual_env._view()))


def test_residual_env_zero_action_is_the_planner(
    residual_env: ProsumerEnv, community: Community
) -> None:
    residual_env.reset(seed=0, options={"household": 0})
    start = residual_env._slot
    planner = residual_env.planners[0]
    run = run_prosumer(community, residual_env.books[0], planner, start, start + 96)
    costs = []
    truncated = False
    while not truncated:
        _, _, _, truncated, info = residual_env.step(np.zeros(1, dtype=np.float32))
        costs.append(info["cost_eur"])
    np.testing.assert_allclose(costs, run.cost_eur, atol=1e-12)


def test_shaping_adds_the_discounted_change_of_the_stored_energys_value(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    start, _ = community.day_slots(6, 6)
    end = start + 96
    h = community.battery_households()[0]
    n = len(community.households)
    book = others_book(community, h, [ZIP(seed=k) for k in range(n)], start, end)
    battery = community.households[h].battery
    assert battery is not None

    def first_reward(shaping: float | None) -> float:
        config = EnvConfig(episode_days=1, random_soc=False, shaping_gamma=shaping)
        env = ProsumerEnv(community, [book], [forecasts[h]], start, end, config)
        env.reset(seed=0)
        return env.step(np.array([1.0, 0.0, 0.0], dtype=np.float32))[1]

    plain, shaped = first_reward(None), first_reward(0.9)
    soc0 = battery.initial_soc * battery.capacity_kwh
    surplus = float(community.pv_kw[h, start] - community.load_kw[h, start])
    soc1 = battery.next_soc(soc0, battery.power(1.0, surplus, soc0))
    tariffs = community.tariffs

    def phi(t: int, soc: float) -> float:
        return soc * float(tariffs.retail[t] + tariffs.feed_in[t]) / 2 * battery.efficiency

    expected = (0.9 * phi(start + 1, soc1) - phi(start, soc0)) * EnvConfig().reward_scale
    assert shaped - plain == pytest.approx(expected)
    assert expected > 0  # a full charge stores value
