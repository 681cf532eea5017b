"""Household electricity demand from the BDEW standard load profiles shipped by ``demandlib``.

Provenance and licence:
    BDEW (German Association of Energy and Water Industries) standard load profiles, as
    implemented and shipped by ``demandlib`` 0.2.x (MIT licence, oemof developers):
    ``H0`` (1999 profile, household, with the BDEW dynamisation polynomial: ``h0_dyn``) from
    ``demandlib/bdew/bdew_data/selp_series.csv`` and ``H25`` (2025 revision, household,
    dynamic) from ``demandlib/bdew/bdew_data/h25.csv``. Nothing is downloaded at run time.

A standard load profile is the average of many households: smooth, without the spikes of one
real meter. No registry package ships real single-household smart-meter data, so every
household gets its own documented, seeded variation of the profile:

* scale: the annual consumption ``annual_kwh`` (German households: ~1500 to ~6000 kWh/a);
* time shift: the whole profile moves by ``shift_slots`` quarter hours (early risers, late
  households), wrapping around the year;
* noise: a multiplicative log-normal AR(1) factor ``exp(x_t)`` with
  ``x_t = phi * x_{t-1} + sigma * sqrt(1 - phi^2) * e_t``, ``e_t ~ N(0, 1)`` from
  ``numpy.random.default_rng(seed)``; the result is rescaled so that the year still sums to
  ``annual_kwh``.

Profiles are looked up at each slot's German legal (wall-clock) time, see
:mod:`agents.data.calendar`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.signal import lfilter

from agents.data.calendar import SLOT_HOURS, check_year, local_wall_clock, slot_index
from agents.errors import ConfigError, DataError


class LoadProfile(StrEnum):
    """Which BDEW household profile a household follows."""

    H0 = "h0"
    """1999 H0 with the dynamisation polynomial (``h0_dyn`` in demandlib)."""
    H25 = "h25"
    """2025 revision H25 (dynamic)."""


@dataclass(frozen=True, slots=True)
class HouseholdLoadSpec:
    """How one household's demand derives from a standard profile.

    Attributes:
        annual_kwh: yearly consumption in kWh (> 0).
        profile: the BDEW profile it follows.
        shift_slots: shift of the profile in 15-minute slots (-8..8; positive = later).
        noise_sigma: standard deviation of the log noise (0..1; 0 = the plain profile).
        noise_phi: lag-1 autocorrelation of the log noise (0..0.99).
        seed: seed of the noise.
    """

    annual_kwh: float
    profile: LoadProfile = LoadProfile.H0
    shift_slots: int = 0
    noise_sigma: float = 0.3
    noise_phi: float = 0.8
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.annual_kwh > 0:
            raise ConfigError(f"annual_kwh must be > 0, got {self.annual_kwh}")
        if not -8 <= self.shift_slots <= 8:
            raise ConfigError(f"shift_slots must be in -8..8, got {self.shift_slots}")
        if not 0.0 <= self.noise_sigma <= 1.0:
            raise ConfigError(f"noise_sigma must be in 0..1, got {self.noise_sigma}")
        if not 0.0 <= self.noise_phi <= 0.99:
            raise ConfigError(f"noise_phi must be in 0..0.99, got {self.noise_phi}")


def _demandlib_frame(year: int, profile: LoadProfile) -> pd.Series:
    """The raw demandlib profile (kW for 1000 kWh/a) on its naive 15-minute wall-clock index."""
    # demandlib.bdew.elec_slp calls warnings.simplefilter("error") at import and while building
    # profiles; keep that switch inside this block.
    with warnings.catch_warnings():
        try:
            from demandlib import bdew
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise DataError("demandlib is not installed (pip install demandlib)") from exc
        if profile is LoadProfile.H0:
            frame = bdew.ElecSlp(year).get_scaled_power_profiles({"h0_dyn": 1000.0})
            series = frame["h0_dyn"]
        else:
            index = pd.date_range(f"{year}-01-01", periods=365 * 96, freq="15min")
            raw = pd.Series(bdew.H25(index), index=index)
            series = raw * (1000.0 / (raw.sum() * SLOT_HOURS))
    return series.astype(np.float64)


@lru_cache(maxsize=8)
def standard_profile(year: int, profile: LoadProfile) -> npt.NDArray[np.float64]:
    """Average power (kW) per slot of a household using 1000 kWh in ``year``.

    Raises:
        DataError: demandlib is missing or returns an unusable profile.
        ConfigError: ``year`` is a leap year.
    """
    check_year(year)
    series = _demandlib_frame(year, profile)
    wall = local_wall_clock(slot_index(year))
    values = series.reindex(wall).to_numpy(dtype=np.float64)
    if np.isnan(values).any() or (values < 0).any():
        raise DataError(f"demandlib {profile.value} profile for {year} has gaps or negatives")
    result: npt.NDArray[np.float64] = values * (1000.0 / (values.sum() * SLOT_HOURS))
    result.setflags(write=False)
    return result


def household_load(spec: HouseholdLoadSpec, year: int) -> npt.NDArray[np.float64]:
    """Average demand in kW for every 15-minute slot of ``year`` (35040 values).

    The yearly energy (sum of ``kW * 0.25 h``) equals ``spec.annual_kwh``.
    """
    base = np.roll(standard_profile(year, spec.profile), spec.shift_slots)
    if spec.noise_sigma > 0:
        rng = np.random.default_rng(spec.seed)
        shocks = rng.standard_normal(base.size) * spec.noise_sigma
        shocks *= np.sqrt(1.0 - spec.noise_phi**2)
        log_noise = lfilter([1.0], [1.0, -spec.noise_phi], shocks)
        base = base * np.exp(np.asarray(log_noise, dtype=np.float64))
    return np.asarray(base * (spec.annual_kwh / (base.sum() * SLOT_HOURS)), dtype=np.float64)
