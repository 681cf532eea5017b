"""Power-flow engines: lightsim2grid agrees with pandapower's runpp; divergence is a result."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from grid.network import GridNetwork
from grid.powerflow import EN50160, Engine, FlowResult, make_engine


@pytest.mark.parametrize("name", ["cigre-lv", "kerber-dorfnetz", "cigre-mv-kerber-small"])
def test_lightsim_and_pandapower_agree(network: Callable[[str], GridNetwork], name: str) -> None:
    fast = make_engine(network(name), Engine.LIGHTSIM)
    reference = make_engine(network(name), Engine.PANDAPOWER)
    rng = np.random.default_rng(3)
    for _ in range(3):
        p = rng.uniform(-0.012, 0.008, len(fast.network.load_buses))
        a, b = fast.solve(p), reference.solve(p)
        assert a.converged and b.converged
        np.testing.assert_allclose(a.vm_pu, b.vm_pu, atol=1e-4)
        # lines out of service: NaN here, 0 in pandapower's table
        np.testing.assert_allclose(np.nan_to_num(a.line_loading), b.line_loading, atol=0.01)
        np.testing.assert_allclose(a.trafo_loading, b.trafo_loading, atol=0.01)


@pytest.mark.parametrize("engine", list(Engine))
def test_a_power_flow_that_cannot_converge_is_reported_and_the_next_one_solves(
    network: Callable[[str], GridNetwork], engine: Engine
) -> None:
    flow = make_engine(network("kerber-landnetz-kabel-1"), engine)
    n = len(flow.network.load_buses)
    assert not flow.solve(np.full(n, 2.0)).converged  # 2 MW per house on a 160 kVA network
    assert flow.solve(np.full(n, 0.002)).converged


def test_margins_are_percentage_points_to_each_bound() -> None:
    result = FlowResult(
        converged=True,
        vm_pu=np.array([1.0, 0.93, 1.08, np.nan]),
        line_loading=np.array([40.0, np.nan]),
        trafo_loading=np.array([97.0]),
    )
    margins = result.margins(EN50160)
    np.testing.assert_allclose(margins, [60.0, np.inf, 3.0, 10.0, 3.0, 2.0, np.inf])


def test_a_diverged_power_flow_has_no_safe_element() -> None:
    result = FlowResult(False, np.full(2, np.nan), np.full(1, np.nan), np.full(1, np.nan))
    assert (result.margins(EN50160) == -np.inf).all()
