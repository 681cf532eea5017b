"""``enerwise city``: many community markets and the city pool on one local chain, with the grid
operator's limits and power-flow checks (issue 17; :mod:`enerwise.city.run`)."""

from enerwise.city.config import CityConfig
from enerwise.city.run import run_city

__all__ = ["CityConfig", "run_city"]
