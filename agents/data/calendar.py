"""The common time axis of every series in the agents package.

All series are aligned on 15-minute slots of one calendar year in Central European (standard)
Time, a fixed UTC+1 offset (``Etc/GMT-1``): the DWD test reference years are given in MEZ, the
SMARD prices are converted to it, and the BDEW profiles, defined on legal local time, are looked
up at the local wall-clock time of every slot (so the evening peak moves with daylight saving).
A year therefore has exactly ``365 * 96`` slots and no duplicated or missing hour.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pandas as pd

from agents.errors import ConfigError

TZ = "Etc/GMT-1"
"""Fixed UTC+1 (CET without daylight saving); POSIX-style names invert the sign."""

SLOTS_PER_HOUR = 4
SLOT_HOURS = 1.0 / SLOTS_PER_HOUR
SLOTS_PER_DAY = 24 * SLOTS_PER_HOUR


def check_year(year: int) -> None:
    """Reject leap years: the weather files hold exactly 8760 hours.

    Raises:
        ConfigError: ``year`` is a leap year or outside 2000..2100.
    """
    if not 2000 <= year <= 2100 or calendar.isleap(year):
        raise ConfigError(f"year must be a non-leap year in 2000..2100, got {year}")


def slot_index(year: int) -> pd.DatetimeIndex:
    """The 35040 slot starts of ``year`` in fixed UTC+1."""
    check_year(year)
    return pd.date_range(f"{year}-01-01 00:00", periods=365 * 96, freq="15min", tz=TZ)


def hour_index(year: int) -> pd.DatetimeIndex:
    """The 8760 hour starts of ``year`` in fixed UTC+1."""
    check_year(year)
    return pd.date_range(f"{year}-01-01 00:00", periods=365 * 24, freq="h", tz=TZ)


def local_wall_clock(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Naive German legal time (CET/CEST) of each timestamp, as a BDEW profile is indexed."""
    return index.tz_convert("Europe/Berlin").tz_localize(None)


def slot_of_year(timestamp: int) -> int:
    """The slot of the year (0..35039) at the same day of year and UTC+1 time of day as the
    Unix ``timestamp``: how a chain's clock replays the data year (day 366 maps to day 365)."""
    local = datetime.fromtimestamp(timestamp, UTC) + timedelta(hours=1)
    day = min(local.timetuple().tm_yday - 1, 364)
    return day * SLOTS_PER_DAY + (local.hour * 60 + local.minute) // 15
