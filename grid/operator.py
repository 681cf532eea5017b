"""The grid agent: transfer limits per community before a slot, a check of the schedule after.

Method (docs/grid.md has the full account):

1. **Forecast power flow.** Every household's forecast net energy is set on its connection
   bus and one power flow runs. If it does not converge, the slot keeps the last good limits
   (:class:`~grid.limits.PowerFlowDiverged`, :class:`~grid.limits.LimitsKept`).
2. **One envelope per community.** A community's exchange ``x`` (kW, positive = export) is
   moved along a fixed path, the others staying at their forecast: more export than forecast
   comes from its members in proportion to their export weights (PV and battery power), more
   import in proportion to their import weights (demand and battery power); each member's own
   forecast stays the starting point. The margin ``g(x)`` is the smallest distance to a bound
   (percentage points of loading, or of nominal voltage for the EN 50160 band) over the
   elements the community can affect, less a small buffer. :func:`grid.search.find_boundary`
   finds the highest and lowest ``x`` with ``g >= 0``, from the forecast (or from the first
   safe point of a scan when the forecast is itself unsafe) up to a ceiling of
   ``connection_kw`` per member; each end is a point where a power flow ran and was safe.
3. **Jointly.** The pool can clear every community at its limit in the same slot. With every
   community at its export end at once (and again at its import end) one power flow checks the
   shared elements; if they break, every community's room beyond a safe common start (the
   clipped forecasts, moved back when they break a bound together) is scaled by one common
   factor, found by the same search (:class:`~grid.limits.JointReduction`).
   In a radial network, line flows are sums of the injections below them and voltages rise
   with every injection, so these two corners bound every mix of exchanges within the limits.
4. **Publish.** ``export = floor(max(high, 0) * 250 Wh)``, ``import = floor(max(-low, 0) *
   250 Wh)`` per 15-minute slot, as :class:`~grid.limits.TransferLimits`.

Elements that the forecast already breaks outside every community's part of the network (a
community's part: its feeders and the path from its transformer up to the external grid) are
reported (:class:`~grid.limits.ForecastViolation`) and left out, since no limit can move them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from grid.check import ExchangeBreach, ScheduleReport, report
from grid.errors import InjectionError
from grid.layout import HouseholdMap
from grid.limits import (
    Direction,
    Envelope,
    ForecastScaled,
    ForecastViolation,
    GridEvent,
    JointReduction,
    LimitsKept,
    NoFeasibleExchange,
    PowerFlowDiverged,
    SlotLimits,
    TransferLimits,
)
from grid.powerflow import (
    EN50160,
    Engine,
    FlowResult,
    OperatingBounds,
    element_of,
    make_engine,
)
from grid.search import Boundary, find_boundary

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SLOT_HOURS = 0.25
"""A market slot is 15 minutes (as in :mod:`agents.data.calendar` and the contracts)."""

WH_PER_KW = SLOT_HOURS * 1000.0
"""Energy in Wh of 1 kW held for one slot."""


WARM_START = 0.97
"""A search's first step is this share of how far the same search reached in the slot before:
limits move slowly from slot to slot, so it usually lands just inside the boundary."""

BREACH_TOLERANCE_WH = 1e-6
"""Floating-point slack when a cleared exchange is compared with its limit."""


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How the limits are searched.

    Attributes:
        connection_kw: ceiling of the search per member (3 x 35 A at 230 V is ~24 kW, a common
            German house connection).
        buffer: percentage points kept from every bound, so that small differences between
            power-flow engines cannot turn a limit into a violation.
        tolerance_kw: stop when the boundary is bracketed this tightly.
        max_evaluations: most power flows per boundary.
        scan_points: points tried when the forecast itself is unsafe.
        joint: check all communities at their limits at once (step 3).
    """

    connection_kw: float = 24.0
    buffer: float = 0.05
    tolerance_kw: float = 1.0
    max_evaluations: int = 16
    scan_points: int = 16
    joint: bool = True


@dataclass(frozen=True, slots=True)
class ExchangeWeights:
    """How a change of a community's exchange spreads over its members (>= 0 per household).

    Attributes:
        export: share of more export (or less import) each household takes.
        import_: share of more import (or less export) each household takes.
    """

    export: FloatArray
    import_: FloatArray

    @classmethod
    def equal(cls, n_households: int) -> ExchangeWeights:
        """Every member takes the same share."""
        return cls(np.ones(n_households), np.ones(n_households))


class GridOperator:
    """Computes transfer limits per slot and checks cleared schedules on one network.

    Args:
        households: households, communities and their buses.
        engine: the power-flow engine.
        bounds: the operating bounds (EN 50160 and 100 % loading by default).
        settings: how the limits are searched.
        weights: per-household exchange weights (equal by default).
    """

    def __init__(
        self,
        households: HouseholdMap,
        *,
        engine: Engine | str = Engine.LIGHTSIM,
        bounds: OperatingBounds = EN50160,
        settings: SearchSettings | None = None,
        weights: ExchangeWeights | None = None,
    ) -> None:
        self.households = households
        self.network = households.network
        self.flow = make_engine(self.network, engine)
        self.bounds = bounds
        self.settings = settings or SearchSettings()
        self.communities = households.communities
        n = len(households)
        weights = weights or ExchangeWeights.equal(n)
        if weights.export.shape != (n,) or weights.import_.shape != (n,):
            raise InjectionError(f"weights need one value per household ({n})")
        if (weights.export < 0).any() or (weights.import_ < 0).any():
            raise InjectionError("weights must be >= 0")
        self._members = [households.members(k) for k in range(len(self.communities))]
        self._w_export = [_normalised(weights.export[m]) for m in self._members]
        self._w_import = [_normalised(weights.import_[m]) for m in self._members]
        self._zones = np.stack([self._zone(k) for k in range(len(self.communities))])
        self.last_good: dict[str, TransferLimits] = {}
        # warm start: how far each search went in the slot before (limits move slowly)
        self._reach: dict[tuple[int, int], float] = {}

    # -- element axis -----------------------------------------------------------------------

    def _zone(self, community: int) -> BoolArray:
        """Elements the community can affect: its feeders and the path up to the grid."""
        net = self.network.net
        n_lines, n_trafos = len(net.line), len(net.trafo)
        zone = np.zeros(n_lines + n_trafos + len(net.bus), dtype=bool)
        feeders = {f.id: f for f in self.network.feeders}
        trafos: set[int] = set()
        for feeder_id in self.communities[community].feeders:
            feeder = feeders[feeder_id]
            zone[[net.line.index.get_loc(i) for i in feeder.lines]] = True
            zone[[n_lines + n_trafos + b for b in feeder.buses]] = True
            trafos.add(feeder.trafo)
        for trafo in trafos:
            busbar = int(net.trafo.at[trafo, "lv_bus"])
            buses, lines, path_trafos = self.network.path_to_slack(busbar)
            zone[[net.line.index.get_loc(i) for i in lines]] = True
            zone[[n_lines + net.trafo.index.get_loc(t) for t in (*path_trafos, trafo)]] = True
            zone[[n_lines + n_trafos + b for b in buses]] = True
        return zone

    # -- power flows ------------------------------------------------------------------------

    def solve(self, net_kw: FloatArray) -> FlowResult:
        """One power flow for household net power ``net_kw`` (kW, positive = consumption)."""
        return self.flow.solve(self.households.bus_p_mw(net_kw))

    def exchange_kw(self, net_kw: FloatArray) -> FloatArray:
        """Each community's exchange (kW, positive = export) for household net power."""
        return np.array([-float(net_kw[m].sum()) for m in self._members])

    def _moved(self, net_kw: FloatArray, base_kw: FloatArray, community: int, x: float) -> None:
        """Set (in ``net_kw``) the community's members on its path at exchange ``x``."""
        members = self._members[community]
        forecast = -float(base_kw[members].sum())
        weights = self._w_export[community] if x >= forecast else self._w_import[community]
        net_kw[members] = base_kw[members] - weights * (x - forecast)

    def at_exchange(self, base_kw: FloatArray, exchanges: Mapping[int, float]) -> FloatArray:
        """Household net power with the given communities moved to exchange ``x`` (kW)."""
        out = base_kw.copy()
        for community, x in exchanges.items():
            self._moved(out, base_kw, community, x)
        return out

    def _margin(self, result: FlowResult) -> FloatArray:
        return result.margins(self.bounds) - self.settings.buffer

    # -- limits -----------------------------------------------------------------------------

    def limits(
        self, slot: int, forecast_net_wh: Mapping[str, float] | Sequence[float] | FloatArray
    ) -> SlotLimits:
        """Transfer limits of every community for ``slot`` from the households' forecast net
        energy (Wh per slot, positive = import), by the method of the module docstring."""
        base_kw = self.households.vector(forecast_net_wh) / WH_PER_KW
        runs = self.flow.runs
        base = self.solve(base_kw)
        if not base.converged:
            return self._kept(slot, self.flow.runs - runs)
        margin0 = self._margin(base)
        violated = margin0 < 0
        events: list[GridEvent] = list(self._forecast_violations(slot, violated, margin0))
        background_kw = base_kw
        known: FloatArray | None = margin0
        repaired: dict[int, float] = {}
        for repair in (False, True):
            envelopes = [
                self._envelope(k, base_kw, background_kw, known, violated)
                for k in range(len(self.communities))
            ]
            moves = _clipped(envelopes)
            if repair or not moves:
                break
            # the forecast breaks bounds: search again with the others repaired (clipped)
            repaired = moves
            background_kw = self.at_exchange(base_kw, moves)
            background = self.solve(background_kw)
            if not background.converged:
                break
            known = None
            violated = self._margin(background) < 0
        events.extend(
            NoFeasibleExchange(slot, c.id)
            for c, e in zip(self.communities, envelopes, strict=True)
            if e is None
        )
        if self.settings.joint and len(self.communities) > 1:
            envelopes, joint_events = self._joint(slot, base_kw, envelopes, violated, repaired)
            events.extend(joint_events)
        limits = []
        for community, envelope in zip(self.communities, envelopes, strict=True):
            if envelope is None:
                published = TransferLimits(slot, community.id, 0, 0)
            else:
                published = TransferLimits(
                    slot,
                    community.id,
                    import_limit_wh=math.floor(max(-envelope.low_kw, 0.0) * WH_PER_KW),
                    export_limit_wh=math.floor(max(envelope.high_kw, 0.0) * WH_PER_KW),
                )
            self.last_good[community.id] = published
            limits.append(published)
        return SlotLimits(
            slot=slot,
            limits=tuple(limits),
            envelopes=tuple(e for e in envelopes if e is not None),
            events=tuple(events),
            power_flows=self.flow.runs - runs,
        )

    def _kept(self, slot: int, power_flows: int) -> SlotLimits:
        events: list[GridEvent] = [PowerFlowDiverged(slot, "forecast")]
        limits = []
        for community in self.communities:
            last = self.last_good.get(community.id)
            if last is None:
                limits.append(TransferLimits(slot, community.id, 0, 0))
                events.append(LimitsKept(slot, community.id, None))
            else:
                limits.append(
                    TransferLimits(slot, community.id, last.import_limit_wh, last.export_limit_wh)
                )
                events.append(LimitsKept(slot, community.id, last.slot))
        return SlotLimits(slot, tuple(limits), (), tuple(events), power_flows)

    def _forecast_violations(
        self, slot: int, violated: BoolArray, margin0: FloatArray
    ) -> list[ForecastViolation]:
        net = self.network.net
        outside = np.flatnonzero(violated & ~self._zones.any(axis=0))
        events = []
        for position in outside:
            kind, index = element_of(int(position), len(net.line), len(net.trafo))
            events.append(ForecastViolation(slot, kind, index, float(margin0[position])))
        return events

    def _envelope(
        self,
        community: int,
        base_kw: FloatArray,
        background_kw: FloatArray,
        known: FloatArray | None,
        violated: BoolArray,
    ) -> Envelope | None:
        """The community's safe exchange interval, the others at ``background_kw``; ``known``
        is the margin vector at the background when the community is at its forecast there."""
        settings = self.settings
        active = self._zones[community] | ~violated
        members = self._members[community]
        forecast = -float(base_kw[members].sum())
        work = background_kw.copy()

        def margin(x: float) -> FloatArray:
            self._moved(work, base_kw, community, x)
            margins: FloatArray = self._margin(self.solve(work))[active]
            return margins

        ceiling = settings.connection_kw * members.size
        high_end, low_end = max(ceiling, forecast), min(-ceiling, forecast)
        anchor = forecast
        anchor_margin = known[active] if known is not None else margin(forecast)
        if not _safe(anchor_margin):
            found = self._scan(margin, forecast, low_end, high_end)
            if found is None:
                return None
            anchor, anchor_margin = found
        bounds = []
        for side, end in ((1, high_end), (-1, low_end)):
            reach = self._reach.get((community, side))
            step = WARM_START * reach if reach else ceiling / 32.0
            boundary = find_boundary(
                margin,
                anchor,
                anchor_margin,
                end,
                first_step=max(step, settings.tolerance_kw),
                tolerance=settings.tolerance_kw,
                max_evaluations=settings.max_evaluations,
            )
            self._reach[(community, side)] = abs(boundary.point - anchor)
            bounds.append(boundary)
        return Envelope(self.communities[community].id, forecast, bounds[1].point, bounds[0].point)

    def _scan(
        self, margin: Callable[[float], FloatArray], forecast: float, low: float, high: float
    ) -> tuple[float, FloatArray] | None:
        """The first safe point of zero exchange, then a grid nearest the forecast first."""
        grid = np.linspace(low, high, self.settings.scan_points + 1)
        candidates = [0.0, *sorted(grid, key=lambda x: abs(x - forecast))]
        for x in candidates:
            if x == forecast:
                continue
            m = margin(float(x))
            if _safe(m):
                return float(x), m
        return None

    def _joint(
        self,
        slot: int,
        base_kw: FloatArray,
        envelopes: list[Envelope | None],
        violated: BoolArray,
        repaired: dict[int, float],
    ) -> tuple[list[Envelope | None], list[GridEvent]]:
        """Step 3: a safe common start, then both corners (all at export, all at import).

        The start is every community at its forecast clipped into its envelope; when that
        breaks a bound, it moves towards the point of the second pass (the communities at their
        first-pass clipped forecasts, ``repaired``) if that is safe, else towards zero exchange,
        as far as the search finds safe."""
        feasible = [k for k, e in enumerate(envelopes) if e is not None]
        stuck = [k for k, e in enumerate(envelopes) if e is None]
        zones_ok = self._zones[feasible].any(axis=0) if feasible else np.zeros_like(violated)
        active = (~violated | zones_ok) & ~(violated & self._zones[stuck].any(axis=0))
        low = {k: e.low_kw for k, e in enumerate(envelopes) if e is not None}
        high = {k: e.high_kw for k, e in enumerate(envelopes) if e is not None}
        clipped = {
            k: min(max(e.forecast_kw, e.low_kw), e.high_kw)
            for k, e in enumerate(envelopes)
            if e is not None
        }
        work = base_kw.copy()
        events: list[GridEvent] = []

        def margins(moves: dict[int, float]) -> FloatArray:
            moves.update({k: 0.0 for k in stuck})
            work[:] = self.at_exchange(base_kw, moves)
            return self._margin(self.solve(work))[active]

        origins = [{k: 0.0 for k in feasible}]
        if repaired:
            forecast = {k: e.forecast_kw for k, e in enumerate(envelopes) if e is not None}
            origins.insert(0, {k: repaired.get(k, forecast[k]) for k in feasible})
        origin = origins[0]

        def scaled(beta: float) -> FloatArray:
            return margins({k: origin[k] + beta * (clipped[k] - origin[k]) for k in feasible})

        start_margins = scaled(1.0)
        beta = 1.0
        if not _safe(start_margins):
            for origin in origins:  # noqa: B007 - scaled() reads the loop's origin
                start_margins = scaled(0.0)
                if _safe(start_margins):
                    break
            else:
                events.extend(NoFeasibleExchange(slot, self.communities[k].id) for k in feasible)
                return [None] * len(envelopes), events
            found = self._search(scaled, 0.0, start_margins, 1.0, 0.01)
            beta, start_margins = found.point, scaled(found.point)
            events.append(ForecastScaled(slot, beta))
        start = {k: origin[k] + beta * (clipped[k] - origin[k]) for k in feasible}
        for direction in (Direction.EXPORT, Direction.IMPORT):
            target = {
                k: max(high[k], start[k])
                if direction is Direction.EXPORT
                else min(low[k], start[k])
                for k in feasible
            }

            def corner(alpha: float, target: dict[int, float] = target) -> FloatArray:
                return margins({k: start[k] + alpha * (target[k] - start[k]) for k in feasible})

            key = (-1, 1 if direction is Direction.EXPORT else -1)
            factor = 1.0
            if not _safe(corner(1.0)):
                reach = self._reach.get(key)
                factor = self._search(corner, 0.0, start_margins, 1.0, 0.01, reach).point
                events.append(JointReduction(slot, direction, factor))
            self._reach[key] = factor
            for k in feasible:
                moved = start[k] + factor * (target[k] - start[k])
                if direction is Direction.EXPORT:
                    high[k] = moved
                else:
                    low[k] = moved
        out: list[Envelope | None] = [
            Envelope(e.community_id, e.forecast_kw, low[k], high[k]) if e is not None else None
            for k, e in enumerate(envelopes)
        ]
        return out, events

    def _search(
        self,
        margins: Callable[[float], FloatArray],
        start: float,
        start_margins: FloatArray,
        end: float,
        tolerance: float,
        reach: float | None = None,
    ) -> Boundary:
        """A joint search on a scale factor in [0, 1] (first step: just short of ``reach``)."""
        return find_boundary(
            margins,
            start,
            start_margins,
            end,
            first_step=max(WARM_START * reach, tolerance) if reach else 0.5,
            tolerance=tolerance,
            max_evaluations=self.settings.max_evaluations,
        )

    # -- after the slot ---------------------------------------------------------------------

    def check(
        self,
        slot: int,
        schedule_net_wh: Mapping[str, float] | Sequence[float] | FloatArray,
        limits: SlotLimits | None = None,
    ) -> ScheduleReport:
        """Check a cleared schedule (per-household net Wh, positive = import) by a power flow,
        and against the slot's published limits when given."""
        net_kw = self.households.vector(schedule_net_wh) / WH_PER_KW
        result = self.solve(net_kw)
        breaches: list[ExchangeBreach] = []
        if limits is not None:
            for community, x in zip(self.communities, self.exchange_kw(net_kw), strict=True):
                published = limits.of(community.id)
                wh = x * WH_PER_KW
                if wh > published.export_limit_wh + BREACH_TOLERANCE_WH:
                    breaches.append(
                        ExchangeBreach(
                            community.id, Direction.EXPORT, wh, published.export_limit_wh
                        )
                    )
                elif -wh > published.import_limit_wh + BREACH_TOLERANCE_WH:
                    breaches.append(
                        ExchangeBreach(
                            community.id, Direction.IMPORT, wh, published.import_limit_wh
                        )
                    )
        return report(slot, result, self.network, self.bounds, tuple(breaches))

    def schedule_within(
        self,
        net_wh: Mapping[str, float] | Sequence[float] | FloatArray,
        limits: SlotLimits,
    ) -> FloatArray:
        """Household net Wh with each community's exchange clipped into its published limits
        along its path (what a market that honours the limits delivers when the households
        curtail or shift in proportion to their weights)."""
        base_kw = self.households.vector(net_wh) / WH_PER_KW
        moves = {}
        for k, (community, x) in enumerate(
            zip(self.communities, self.exchange_kw(base_kw), strict=True)
        ):
            published = limits.of(community.id)
            high = published.export_limit_wh / WH_PER_KW
            low = -published.import_limit_wh / WH_PER_KW
            if not low <= x <= high:
                moves[k] = min(max(x, low), high)
        return np.asarray(self.at_exchange(base_kw, moves) * WH_PER_KW, dtype=np.float64)


def _safe(margins: FloatArray) -> bool:
    """Every watched element within its bound (a diverged power flow is not safe)."""
    return bool(
        margins.size == 0
        or (np.isfinite(margins.min()) and margins.min() >= 0)
        or (margins.min() == np.inf)
    )


def _clipped(envelopes: Sequence[Envelope | None]) -> dict[int, float]:
    """Exchanges of the communities whose forecast lies outside their envelope, clipped into
    it (zero for a community without an envelope)."""
    moves = {}
    for k, e in enumerate(envelopes):
        if e is None:
            moves[k] = 0.0
        elif not e.low_kw <= e.forecast_kw <= e.high_kw:
            moves[k] = min(max(e.forecast_kw, e.low_kw), e.high_kw)
    return moves


def _normalised(weights: FloatArray) -> FloatArray:
    """Weights summing to 1 (equal when they are all zero)."""
    total = float(weights.sum())
    if total <= 0:
        return np.full(weights.size, 1.0 / max(weights.size, 1))
    return np.asarray(weights / total, dtype=np.float64)
