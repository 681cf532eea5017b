"""AC power flows on a prepared network, many times, with the network object reused.

Two engines answer the same question (bus voltages, line and transformer loading for given
household loads):

* :class:`LightsimEngine` (default): the network is handed once to ``lightsim2grid``'s C++
  Newton-Raphson (KLU sparse solver, ``init_from_pandapower``); each power flow only updates
  the load vector and warm-starts from the last converged voltages. About 1 ms per power flow
  on the 1,324-bus ``cigre-mv-kerber`` network.
* :class:`PandapowerEngine`: :func:`pandapower.runpp` (Newton-Raphson with numba, ``init=
  "results"`` and ``recycle`` of the internal matrices, loads set in place). The reference:
  tests check that both engines agree; about 40 ms per power flow on the same network, most of
  it spent writing pandapower's result tables.

Loading follows pandapower's definitions: a line's current over ``max_i_ka * df * parallel``;
a transformer's larger side current times rated voltage, ``sqrt(3) / sn_mva / parallel / df``
(``trafo_loading="current"``). Households are at unity power factor (``q = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from grid.network import GridNetwork, quiet

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class ElementKind(StrEnum):
    """What a constraint watches."""

    LINE = "line"
    TRAFO = "trafo"
    BUS = "bus"


@dataclass(frozen=True, slots=True)
class OperatingBounds:
    """Where a network is safe to run.

    Attributes:
        max_loading_percent: highest line and transformer loading.
        v_min_pu: lowest bus voltage (EN 50160: nominal - 10 %).
        v_max_pu: highest bus voltage (EN 50160: nominal + 10 %).
    """

    max_loading_percent: float = 100.0
    v_min_pu: float = 0.9
    v_max_pu: float = 1.1


EN50160 = OperatingBounds()
"""No line or transformer above 100 %, every bus within +-10 % of its nominal voltage."""


@dataclass(frozen=True, slots=True)
class FlowResult:
    """One power flow.

    Attributes:
        converged: whether Newton-Raphson converged (the arrays are NaN when not).
        vm_pu: voltage magnitude per bus (NaN for a bus not energised).
        line_loading: percent per line (NaN for a line out of service).
        trafo_loading: percent per transformer (NaN when out of service).
    """

    converged: bool
    vm_pu: FloatArray
    line_loading: FloatArray
    trafo_loading: FloatArray

    def margins(self, bounds: OperatingBounds) -> FloatArray:
        """Distance to the bounds per element, in percentage points, on the element axis
        ``[lines, transformers, buses]`` (see :func:`element_of`): ``max_loading - loading``
        for branches, ``100 * min(vm - v_min, v_max - vm)`` for buses; +inf for elements out of
        service, -inf everywhere when the power flow did not converge."""
        size = self.line_loading.size + self.trafo_loading.size + self.vm_pu.size
        if not self.converged:
            return np.full(size, -np.inf)
        bus = 100.0 * np.minimum(self.vm_pu - bounds.v_min_pu, bounds.v_max_pu - self.vm_pu)
        out = np.concatenate(
            [
                bounds.max_loading_percent - self.line_loading,
                bounds.max_loading_percent - self.trafo_loading,
                bus,
            ]
        )
        return np.asarray(np.nan_to_num(out, nan=np.inf), dtype=np.float64)


def element_of(position: int, n_lines: int, n_trafos: int) -> tuple[ElementKind, int]:
    """``(kind, index)`` of a position on the element axis of :meth:`FlowResult.margins`."""
    if position < n_lines:
        return ElementKind.LINE, position
    if position < n_lines + n_trafos:
        return ElementKind.TRAFO, position - n_lines
    return ElementKind.BUS, position - n_lines - n_trafos


class Engine(StrEnum):
    """Which power-flow implementation to use."""

    LIGHTSIM = "lightsim"
    PANDAPOWER = "pandapower"


class PowerFlow(Protocol):
    """Solves the network for household loads, reusing everything it can between calls."""

    network: GridNetwork
    runs: int

    def solve(self, household_p_mw: FloatArray) -> FlowResult:
        """Power flow with ``household_p_mw[k]`` at ``network.load_buses[k]`` (MW, positive =
        consumption); background loads as shipped."""
        ...


def make_engine(network: GridNetwork, engine: Engine | str = Engine.LIGHTSIM) -> PowerFlow:
    """An engine of kind ``engine`` on ``network`` (which it then owns: loads change in place)."""
    if Engine(engine) is Engine.PANDAPOWER:
        return PandapowerEngine(network)
    return LightsimEngine(network)


def _household_positions(network: GridNetwork) -> npt.NDArray[np.int64]:
    index = network.net.load.index
    return np.array(
        [index.get_loc(network.household_loads[b]) for b in network.load_buses], dtype=np.int64
    )


def _runpp(net: Any, **kwargs: Any) -> bool:
    import pandapower as pp

    try:
        with quiet():
            pp.runpp(net, numba=True, **kwargs)
    except pp.LoadflowNotConverged:
        return False
    return bool(net.converged)


class PandapowerEngine:
    """:func:`pandapower.runpp` with warm start and recycled internals (the reference)."""

    def __init__(self, network: GridNetwork) -> None:
        self.network = network
        self.runs = 0
        self._positions = network.net.load.index[_household_positions(network)]
        self._warm = False

    def solve(self, household_p_mw: FloatArray) -> FlowResult:
        net = self.network.net
        net.load.loc[self._positions, "p_mw"] = household_p_mw
        self.runs += 1
        if self._warm:
            ok = _runpp(net, init="results", recycle={"trafo": False, "gen": False, "bus_pq": True})
        else:
            ok = _runpp(net)
        self._warm = ok
        if not ok:
            return _diverged(self.network)
        return FlowResult(
            converged=True,
            vm_pu=net.res_bus.vm_pu.to_numpy(np.float64),
            line_loading=net.res_line.loading_percent.to_numpy(np.float64),
            trafo_loading=net.res_trafo.loading_percent.to_numpy(np.float64),
        )


def _diverged(network: GridNetwork) -> FlowResult:
    net = network.net
    return FlowResult(
        converged=False,
        vm_pu=np.full(len(net.bus), np.nan),
        line_loading=np.full(len(net.line), np.nan),
        trafo_loading=np.full(len(net.trafo), np.nan),
    )


class LightsimEngine:
    """lightsim2grid's Newton-Raphson on a model built once from the pandapower net."""

    MAX_ITERATIONS = 10
    RETRY_ITERATIONS = 30
    TOLERANCE = 1e-8

    def __init__(self, network: GridNetwork) -> None:
        from lightsim2grid.network import init_from_pandapower

        net = network.net
        self.network = network
        self.runs = 0
        if not _runpp(net):
            raise RuntimeError(f"network {network.name!r} does not solve as shipped")
        with quiet():
            self._model = init_from_pandapower(net, pp_orig_file="pandapower_v3")
        res = net.res_bus
        self._v_start = np.asarray(
            res.vm_pu.to_numpy() * np.exp(1j * np.deg2rad(res.va_degree.to_numpy())),
            dtype=np.complex128,
        )
        self._v_start = np.nan_to_num(self._v_start, nan=1.0)
        self._v_last = self._v_start.copy()
        self._energised = res.vm_pu.notna().to_numpy()
        self._positions = _household_positions(network)
        self._p = (net.load.p_mw * net.load.scaling).to_numpy(np.float64).copy()
        self._all = np.ones(self._p.size, dtype=bool)
        line = net.line
        self._line_on = line.in_service.to_numpy(bool)
        self._line_max_ka = (line.max_i_ka * line.df * line.parallel).to_numpy(np.float64)
        trafo = net.trafo
        self._trafo_on = trafo.in_service.to_numpy(bool)
        self._trafo_vn = np.stack([trafo.vn_hv_kv.to_numpy(float), trafo.vn_lv_kv.to_numpy(float)])
        self._trafo_rating = (trafo.sn_mva * trafo.parallel * trafo.df).to_numpy(np.float64)

    def solve(self, household_p_mw: FloatArray) -> FlowResult:
        self._p[self._positions] = household_p_mw
        self._model.update_loads_p(self._all, self._p)
        self.runs += 1
        v = self._model.ac_pf(self._v_last, self.MAX_ITERATIONS, self.TOLERANCE)
        if v.size == 0:
            v = self._model.ac_pf(self._v_start, self.RETRY_ITERATIONS, self.TOLERANCE)
        if v.size == 0:
            return _diverged(self.network)
        self._v_last = v
        vm = np.where(self._energised, np.abs(v), np.nan)
        i_from = self._model.get_line_res1()[3]
        i_to = self._model.get_line_res2()[3]
        line = np.where(self._line_on, np.maximum(i_from, i_to) / self._line_max_ka * 100.0, np.nan)
        i_hv = self._model.get_trafo_res1()[3]
        i_lv = self._model.get_trafo_res2()[3]
        side = np.maximum(i_hv * self._trafo_vn[0], i_lv * self._trafo_vn[1])
        trafo = np.where(self._trafo_on, side * np.sqrt(3.0) / self._trafo_rating * 100.0, np.nan)
        return FlowResult(
            converged=True,
            vm_pu=np.asarray(vm, dtype=np.float64),
            line_loading=np.asarray(line, dtype=np.float64),
            trafo_loading=np.asarray(trafo, dtype=np.float64),
        )
