"""The community, books and forecasts every training and evaluation run starts from.

Training uses January..September (from the 9th day: the forecasters need a week of history),
evaluation holds out October..December. The other members are ZIP traders, or truthful
bidders (``SetupConfig(others="truthful")``); their orders are recorded once per controlled
household and replayed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agents.community import Community, CommunityDraw, Strategy, build_community
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import ConfigError
from agents.forecasting.provider import ForecastMethod, HouseholdForecasts, household_forecasts
from agents.policies.baselines import ZIP, Truthful
from agents.prosumer import OthersBook, others_book

DEFAULT_CACHE = Path(os.environ.get("ENERWISE_AGENTS_CACHE", ".run/cache/agents"))
"""Where derived series (forecasts, bounds) are cached (``ENERWISE_AGENTS_CACHE`` overrides);
nothing is ever downloaded."""


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything a run needs.

    Attributes:
        community: the community.
        households: indices of the controlled (battery) households.
        books: the others' orders per controlled household, covering ``[start, end)``.
        forecasts: per controlled household.
        start: first slot.
        end: slot after the last.
    """

    community: Community
    households: tuple[int, ...]
    books: tuple[OthersBook, ...]
    forecasts: tuple[HouseholdForecasts, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Period:
    """Months ``first..last`` (inclusive, 1..12), optionally cut to ``days`` days."""

    first: int
    last: int
    days: int | None = None
    skip_days: int = 0

    def slots(self, community: Community) -> tuple[int, int]:
        """``(start, end)`` slots of the period."""
        start, end = community.day_slots(self.first, self.last)
        start += self.skip_days * SLOTS_PER_DAY
        if self.days is not None:
            end = min(end, start + self.days * SLOTS_PER_DAY)
        if end <= start:
            raise ConfigError(f"empty period {self}")
        return start, end


TRAIN = Period(1, 9, skip_days=8)
"""Training months (the first 8 days give the forecasters their history)."""

HELD_OUT = Period(10, 12)
"""Held-out evaluation months."""


OTHERS = ("zip", "truthful")
"""How the other members can bid (:class:`SetupConfig`)."""


@dataclass(frozen=True, slots=True)
class SetupConfig:
    """How to build a setup.

    Attributes:
        community: the community to draw.
        forecast: forecast method the agents see.
        max_households: at most this many controlled households (the first battery owners).
        cache_dir: forecast cache (None: no caching).
        others: how the other members bid: ``zip`` (adaptive ZIP traders) or ``truthful``
            (their own values: the neighbours who bid by hand).
    """

    community: CommunityDraw = field(default_factory=CommunityDraw)
    forecast: ForecastMethod = ForecastMethod.VALIDATED
    max_households: int = 3
    cache_dir: Path | None = DEFAULT_CACHE
    others: str = "zip"

    def __post_init__(self) -> None:
        if self.others not in OTHERS:
            raise ConfigError(f"unknown others {self.others!r}; known: {', '.join(OTHERS)}")


def build_setup(config: SetupConfig, period: Period) -> Setup:
    """Draw the community and record the others' orders over ``period``.

    Raises:
        ConfigError: the community has no battery household.
    """
    community = build_community(config.community)
    households = tuple(community.battery_households()[: config.max_households])
    if not households:
        raise ConfigError("the community has no household with a battery")
    start, end = period.slots(community)
    n = len(community.households)

    def members() -> list[Strategy]:
        if config.others == "truthful":
            return [Truthful() for _ in range(n)]
        return [ZIP(seed=1000 + k) for k in range(n)]

    books = tuple(others_book(community, h, members(), start, end) for h in households)
    forecasts = tuple(
        household_forecasts(
            community.load_kw[h],
            community.pv_kw[h],
            community.spot,
            community.config.year,
            config.forecast,
            cache_dir=config.cache_dir,
        )
        for h in households
    )
    return Setup(community, households, books, forecasts, start, end)
