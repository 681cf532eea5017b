"""The community on chain: households drawn from the real-data model, their keys and money.

:func:`plan_day` draws the community (``agents.community``: SMARD prices, DWD weather through
pvlib, BDEW load) and runs its physics over the replayed slots with batteries in
self-consumption: that gives each household's metered net energy per slot, which its meter
then integrates. :func:`enrol` turns every household into a funded account on the sandbox
chain with a registered meter; battery households (the ones the learning agents control) also
get an agent key with an on-chain delegation.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from agents.community import (
    Community,
    CommunityDraw,
    HouseholdSpec,
    build_community,
    draw_households,
    simulate,
)
from agents.data.calendar import SLOTS_PER_DAY
from agents.policies.baselines import Truthful
from agents.tariffs import MICRO_EUR
from devchain.sandbox import ETHER, GAS_ERC20, Meter, Participant, Sandbox
from energychain.delegation import AgentGrant, grant_request
from enerwise.demo.config import DATA_YEAR
from wallet.transactions import TxRequest

#: A meter's plausibility cap on chain (80 kW for a quarter hour: far above any home).
METER_CAPACITY_WH = 20_000


@dataclass(frozen=True)
class DayPlan:
    """The replayed stretch of the data year and the households' metered net energy.

    Attributes:
        community: the drawn community with a year of data.
        data_start: data slot (0..35039) replayed in the first traded chain slot.
        slots: how many slots are replayed.
        net_wh: metered net energy after the battery, shape (households, slots); positive
            imports, negative exports.
    """

    community: Community
    data_start: int
    slots: int
    net_wh: npt.NDArray[np.int64]

    @property
    def households(self) -> tuple[HouseholdSpec, ...]:
        return self.community.households

    def data_slot(self, k: int) -> int:
        """The data slot of the ``k``-th replayed slot (wraps around the year's end)."""
        return (self.data_start + k) % self.community.n_slots

    def retail(self, k: int) -> int:
        """Retail tariff of replayed slot ``k`` in payment base units (micro-euro) per kWh."""
        return round(float(self.community.tariffs.retail[self.data_slot(k)]) * MICRO_EUR)

    def feed_in(self, k: int) -> int:
        """Feed-in tariff of replayed slot ``k`` in micro-euro per kWh."""
        return round(float(self.community.tariffs.feed_in[self.data_slot(k)]) * MICRO_EUR)

    def load_wh(self, household: int, k: int) -> float:
        """What household ``household`` consumed in replayed slot ``k`` (Wh)."""
        return float(self.community.load_kw[household, self.data_slot(k)]) * 250.0

    def price_of_fraction(self, k: int, frac: float) -> int:
        """The price at fraction ``frac`` of slot ``k``'s range ``[feed-in, retail]``."""
        low, high = self.feed_in(k), self.retail(k)
        return round(low + min(max(frac, 0.0), 1.0) * (high - low))

    def fraction_of_price(self, k: int, price: int) -> float:
        """Where ``price`` lies in slot ``k``'s range ``[feed-in, retail]`` (0..1)."""
        low, high = self.feed_in(k), self.retail(k)
        return min(max((price - low) / (high - low), 0.0), 1.0) if high > low else 0.0


def replay_start(day: date, today: date) -> int:
    """Midnight (UTC+1) of ``day``'s month and day in the latest non-leap year not after
    ``today``: the chain's simulated day, whose slots replay ``day`` of the data year."""
    year = today.year
    while calendar.isleap(year) or date(year, day.month, day.day) > today:
        year -= 1
    midnight = datetime(year, day.month, day.day, tzinfo=UTC) - timedelta(hours=1)
    return int(midnight.timestamp())


def plan_day(households: int, seed: int, data_start: int, slots: int) -> DayPlan:
    """Draw the community and compute every household's metered net energy per slot."""
    community = build_community(CommunityDraw(n_households=households, year=DATA_YEAR, seed=seed))
    n_slots = community.n_slots
    net = np.zeros((households, slots), dtype=np.int64)
    k = 0
    while k < slots:  # simulate() needs a range inside the year: wrap in pieces
        start = (data_start + k) % n_slots
        width = min(slots - k, n_slots - start)
        result = simulate(
            community, [Truthful() for _ in range(households)], start, start + width, p2p=False
        )
        net[:, k : k + width] = result.order_side * result.order_wh
        k += width
    return DayPlan(community=community, data_start=data_start, slots=slots, net_wh=net)


@dataclass
class Household:
    """A member of the community as it exists on chain.

    Attributes:
        index: position in the community (row of the plan).
        spec: the drawn household (load, PV, battery).
        account: the owner's funded account (its own key).
        meter: the registered meter (id, signing key).
        agent: the agent key trading for the owner, for households run by an agent.
        source: how its meter is read: ``modbus``, ``mqtt`` or ``simulated``.
    """

    index: int
    spec: HouseholdSpec
    account: Participant
    meter: Meter
    agent: Participant | None = None
    source: str = "simulated"

    @property
    def name(self) -> str:
        return self.spec.id

    @property
    def role(self) -> str:
        """``agent`` (trades through its agent key) or ``baseline`` (truthful, own key)."""
        return "agent" if self.agent is not None else "baseline"


def has_agents(households: int, seed: int) -> bool:
    """Whether the community drawn with these settings has battery (agent) households."""
    config = CommunityDraw(n_households=households, year=DATA_YEAR, seed=seed)
    return any(h.battery is not None for h in draw_households(config))


def agent_households(plan: DayPlan) -> list[int]:
    """The households an agent trades for: the battery owners (what the agents learned on)."""
    return plan.community.battery_households()


def enrol(
    sandbox: Sandbox,
    plan: DayPlan,
    *,
    deposit_eur: int,
    agents: Sequence[int],
    grant_expiry: int,
) -> list[Household]:
    """Accounts, meters, vault deposits and agent delegations for every household."""
    n = len(plan.households)
    accounts = [sandbox.new_participant() for _ in range(n)]
    meters = sandbox.register_meters([a.address for a in accounts], METER_CAPACITY_WH)
    members = [Household(i, plan.households[i], accounts[i], meters[i]) for i in range(n)]
    for i in agents:
        members[i].agent = sandbox.new_participant(ether=ETHER)
    amount = deposit_eur * 1_000_000
    market = sandbox.contracts.market

    top_price = sandbox.params.price(sandbox.params.max_tick)

    def setup(member: Household) -> None:
        requests = _funding_requests(sandbox, member.account, amount)
        if member.agent is not None:
            budget, sell_wh = agent_limits(plan, member.index, top_price)
            grant = AgentGrant(
                agent=member.agent.address,
                budget_per_day=min(budget, amount),
                sell_wh_per_day=sell_wh,
                max_buy_tick=int(sandbox.params.max_tick),
                min_sell_tick=0,
                expiry=grant_expiry,
            )
            requests.append(grant_request(market, grant, gas=150_000))
        member.account.sender.send_batch(requests)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(setup, members))
    return members


AGENT_HEADROOM = 1.5
"""Margin of an agent's daily limits over what its household's own data says it needs."""


def agent_limits(plan: DayPlan, household: int, top_price: int) -> tuple[int, int]:
    """A household agent's daily limits sized from the household's own replayed data.

    The budget (payment base units) covers a day's consumption plus one full battery charge
    bought at the market's top price; the sell limit (Wh) a day's PV production plus one full
    battery. Both scale the replayed stretch to 24 hours and keep ``AGENT_HEADROOM``. So a
    stolen agent key can spend about what the household itself would in a day, not its vault.
    """
    spec = plan.households[household]
    slots = [plan.data_slot(k) for k in range(plan.slots)]
    per_day = SLOTS_PER_DAY / max(len(slots), 1)
    load_wh = float(plan.community.load_kw[household, slots].sum()) * 250.0 * per_day
    pv_wh = float(plan.community.pv_kw[household, slots].sum()) * 250.0 * per_day
    battery_wh = spec.battery.capacity_kwh * 1000.0 if spec.battery is not None else 0.0
    buy_wh = (load_wh + battery_wh) * AGENT_HEADROOM
    sell_wh = (pv_wh + battery_wh) * AGENT_HEADROOM
    return math.ceil(buy_wh * top_price / 1000.0), max(math.ceil(sell_wh), 1)


def _funding_requests(sandbox: Sandbox, who: Participant, amount: int) -> list[TxRequest]:
    payment, market = sandbox.contracts.payment, sandbox.contracts.market
    return [
        payment.mint(who.address, amount, gas=GAS_ERC20),
        payment.approve(market.address, amount, gas=GAS_ERC20),
        market.deposit(amount, gas=150_000),
    ]


def chain_tick(sandbox: Sandbox, price: int, *, round_up: bool) -> int:
    """The on-chain tick for ``price`` (micro-euro per kWh), clipped to the market's grid.

    A buyer rounds down (never pays more than its limit), a seller rounds up.
    """
    params = sandbox.params
    steps = (price - params.price_floor) / params.tick_size
    tick = math.ceil(steps) if round_up else math.floor(steps)
    return min(max(tick, 0), params.max_tick)
