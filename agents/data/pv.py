"""Rooftop PV output from DWD Test Reference Year weather, modelled with ``pvlib``.

Provenance and licence:
    Weather: Deutscher Wetterdienst (DWD) / BBR Test Reference Years 2010 ("TRY 2010", mean
    year, reference period 1988-2007) for the 15 German climate regions, shipped by
    ``demandlib`` 0.2.x (MIT licence) as ``demandlib/vdi/resources_weather/TRY2010_NN_Jahr.dat``.
    Hourly values in MEZ (UTC+1), the hour ``HH`` (1..24) ending at ``HH:00``; we use air
    temperature ``t`` (°C), wind speed ``WG`` (m/s), direct ``B`` and diffuse ``D`` horizontal
    irradiance (W/m²). The station coordinates come from each file's header. Nothing is
    downloaded at run time.

Model (pvlib >= 0.16, BSD-3-Clause): solar position at mid-hour, ``GHI = B + D``, DNI from
:func:`pvlib.irradiance.dni`, a :class:`pvlib.modelchain.ModelChain` with PVWatts DC
(``gamma_pdc = -0.4 %/K``), the SAPM open-rack cell temperature model, physical AOI losses,
PVWatts system losses (14 %) and a PVWatts inverter sized at ``kWp / 1.1``. A test reference
year is a typical year stitched from real months; it is mapped onto the calendar of the
simulated year hour by hour (TRY hour ``k`` -> hour ``k`` of the year). Hourly mean power holds
for the hour's four 15-minute slots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from agents.data._files import package_file
from agents.data.calendar import SLOTS_PER_HOUR, TZ, check_year
from agents.errors import ConfigError, DataError

REGIONS = tuple(range(1, 16))
"""DWD TRY climate regions shipped by demandlib."""

_COLUMNS = ("RG", "IS", "MM", "DD", "HH", "N", "WR", "WG", "t", "p", "x", "RF", "W", "B", "D")
_LAT_LON = re.compile(r"Lage:\s*(\d+)°(\d+)'N.*?(\d+)°(\d+)'O.*?(\d+)\s*Meter")


@dataclass(frozen=True, slots=True)
class TryWeather:
    """One DWD test reference year (8760 hours, MEZ).

    Attributes:
        region: climate region 1..15.
        name: the region's name from the file header.
        latitude: station latitude in degrees north.
        longitude: station longitude in degrees east.
        altitude_m: station altitude in metres.
        temp_air: air temperature, °C.
        wind_speed: wind speed at 10 m, m/s.
        direct_horizontal: direct irradiance on the horizontal plane, W/m².
        diffuse_horizontal: diffuse irradiance on the horizontal plane, W/m².
    """

    region: int
    name: str
    latitude: float
    longitude: float
    altitude_m: float
    temp_air: npt.NDArray[np.float64]
    wind_speed: npt.NDArray[np.float64]
    direct_horizontal: npt.NDArray[np.float64]
    diffuse_horizontal: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PVSystemSpec:
    """One household's PV array.

    Attributes:
        kwp: peak DC power in kWp (0 < kwp <= 30).
        tilt: surface tilt in degrees from horizontal (0..90).
        azimuth: surface azimuth in degrees clockwise from north (90 east, 180 south).
        region: DWD TRY climate region of the weather (1..15).
    """

    kwp: float
    tilt: float = 30.0
    azimuth: float = 180.0
    region: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.kwp <= 30:
            raise ConfigError(f"kwp must be in (0, 30], got {self.kwp}")
        if not 0 <= self.tilt <= 90:
            raise ConfigError(f"tilt must be in 0..90, got {self.tilt}")
        if not 0 <= self.azimuth < 360:
            raise ConfigError(f"azimuth must be in [0, 360), got {self.azimuth}")
        if self.region not in REGIONS:
            raise ConfigError(f"region must be in 1..15, got {self.region}")


@lru_cache(maxsize=16)
def read_try(region: int) -> TryWeather:
    """Parse the TRY 2010 file of ``region`` shipped by demandlib.

    Raises:
        ConfigError: ``region`` is not in 1..15.
        DataError: the file is missing or malformed.
    """
    if region not in REGIONS:
        raise ConfigError(f"region must be in 1..15, got {region}")
    path = package_file("demandlib", "vdi", "resources_weather", f"TRY2010_{region:02d}_Jahr.dat")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    match = _LAT_LON.search("\n".join(lines[:5]))
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("***")) + 1
    except StopIteration:
        raise DataError(f"{path}: no '***' line before the data") from None
    if match is None:
        raise DataError(f"{path}: no station position in the header")
    try:
        table = np.array([line.split()[:15] for line in lines[start:] if line.strip()], float)
    except ValueError as exc:
        raise DataError(f"{path}: malformed data row: {exc}") from exc
    if table.shape != (8760, 15):
        raise DataError(f"{path}: expected 8760 rows of 15+ values, got {table.shape}")
    col = {name: i for i, name in enumerate(_COLUMNS)}
    lat = float(match.group(1)) + float(match.group(2)) / 60
    lon = float(match.group(3)) + float(match.group(4)) / 60
    return TryWeather(
        region=region,
        name=lines[0][5:].split("(")[0].strip(),
        latitude=lat,
        longitude=lon,
        altitude_m=float(match.group(5)),
        temp_air=table[:, col["t"]].copy(),
        wind_speed=table[:, col["WG"]].copy(),
        direct_horizontal=table[:, col["B"]].copy(),
        diffuse_horizontal=table[:, col["D"]].copy(),
    )


@lru_cache(maxsize=64)
def _pv_per_kwp(region: int, tilt: float, azimuth: float, year: int) -> npt.NDArray[np.float64]:
    """Hourly AC output in kW per kWp (cached per orientation)."""
    from pvlib import irradiance
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

    weather = read_try(region)
    mid_hours = pd.date_range(f"{year}-01-01 00:30", periods=8760, freq="h", tz=TZ)
    site = Location(weather.latitude, weather.longitude, tz=TZ, altitude=weather.altitude_m)
    solar = site.get_solarposition(mid_hours)
    ghi = weather.direct_horizontal + weather.diffuse_horizontal
    dni = irradiance.dni(ghi, weather.diffuse_horizontal, solar["zenith"]).fillna(0.0)
    frame = pd.DataFrame(
        {
            "ghi": ghi,
            "dhi": weather.diffuse_horizontal,
            "dni": dni.to_numpy(),
            "temp_air": weather.temp_air,
            "wind_speed": weather.wind_speed,
        },
        index=mid_hours,
    )
    system = PVSystem(
        surface_tilt=tilt,
        surface_azimuth=azimuth,
        module_parameters={"pdc0": 1000.0, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": 1000.0 / 1.1},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"][
            "open_rack_glass_polymer"
        ],
    )
    chain = ModelChain(
        system, site, aoi_model="physical", spectral_model="no_loss", losses_model="pvwatts"
    )
    chain.run_model(frame)
    ac = np.asarray(chain.results.ac, dtype=np.float64) / 1000.0
    ac = np.clip(np.nan_to_num(ac, nan=0.0), 0.0, None)
    ac.setflags(write=False)
    return ac


def pv_power(spec: PVSystemSpec, year: int) -> npt.NDArray[np.float64]:
    """Average AC output in kW for every 15-minute slot of ``year`` (35040 values, >= 0)."""
    check_year(year)
    hourly = _pv_per_kwp(spec.region, float(spec.tilt), float(spec.azimuth), year) * spec.kwp
    return np.repeat(hourly, SLOTS_PER_HOUR)
