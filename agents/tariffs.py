"""Retail and feed-in tariffs derived from the day-ahead price, and each slot's market range.

Retail (a dynamic tariff that passes the day-ahead price through, as German suppliers must offer
since 2025): ``retail = (spot + surcharges) * (1 + vat)`` in EUR/kWh. The default surcharges are
the 2018 German household components net of VAT (BNetzA/BKartA Monitoringbericht 2018, ct/kWh):
grid fee 7.27, EEG levy 6.792, electricity tax 2.05, concession fee 1.66, CHP levy 0.345,
§19 StromNEV levy 0.37, offshore levy 0.037, interruptible-load levy 0.011, metering 0.3 and a
supplier margin of 2.0 -> 20.83 ct/kWh; with the 2018 mean spot price (4.45 ct/kWh) and 19 % VAT
that gives ~30.1 ct/kWh, close to the 2018 average household price (29.4 ct/kWh).

Feed-in: ``feed_in = max(spot, 0) + feed_in_premium`` (direct marketing at the spot price; the
fixed EEG feed-in tariff is a constant and would carry no price signal). Retail always exceeds
feed-in by at least the surcharges, so the P2P market range ``[feed_in, retail]`` is never empty.

Market range of a slot, in micro-euros (1e-6 EUR, the payment token's base unit): the price
floor is the feed-in tariff, the tick is ``tick_size`` micro-euros per kWh and the highest tick
is the largest one priced at or below retail. Nobody buys above retail or sells below feed-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agents.errors import ConfigError
from market.clearing import MAX_TICK, MarketParams

MICRO_EUR = 1_000_000
"""Token base units per euro."""

SURCHARGES_2018 = 0.2083
"""Net (pre-VAT) retail surcharges of a German household in 2018, EUR/kWh."""


@dataclass(frozen=True, slots=True)
class TariffSpec:
    """How tariffs derive from the spot price.

    Attributes:
        surcharges: EUR/kWh added to the spot price before VAT (>= 0.05).
        vat: value-added tax rate (0..0.5).
        feed_in_premium: EUR/kWh added to the (non-negative) spot price for exports (>= 0).
        tick_size: price step of the P2P market in micro-euros per kWh (>= 1).
        fee_bps: market fee on sellers' gross, basis points (0..10000).
    """

    surcharges: float = SURCHARGES_2018
    vat: float = 0.19
    feed_in_premium: float = 0.0
    tick_size: int = 100
    fee_bps: int = 0

    def __post_init__(self) -> None:
        if not self.surcharges >= 0.05:
            raise ConfigError(f"surcharges must be >= 0.05 EUR/kWh, got {self.surcharges}")
        if not 0.0 <= self.vat <= 0.5:
            raise ConfigError(f"vat must be in 0..0.5, got {self.vat}")
        if not 0.0 <= self.feed_in_premium < self.surcharges:
            raise ConfigError(
                f"feed_in_premium must be in [0, surcharges), got {self.feed_in_premium}"
            )
        if self.tick_size < 1:
            raise ConfigError(f"tick_size must be >= 1, got {self.tick_size}")
        if not 0 <= self.fee_bps <= 10_000:
            raise ConfigError(f"fee_bps must be in 0..10000, got {self.fee_bps}")


@dataclass(frozen=True, slots=True)
class Tariffs:
    """Per-slot tariffs in EUR/kWh and the P2P market parameters of every slot.

    Attributes:
        retail: import price per slot.
        feed_in: export price per slot (always below ``retail``).
        spec: the rule they were derived with.
    """

    retail: npt.NDArray[np.float64]
    feed_in: npt.NDArray[np.float64]
    spec: TariffSpec

    def market_params(self, slot: int) -> MarketParams:
        """The P2P market of ``slot``: floor at feed-in, top tick at or below retail."""
        floor = round(float(self.feed_in[slot]) * MICRO_EUR)
        top = round(float(self.retail[slot]) * MICRO_EUR)
        max_tick = min(MAX_TICK, max(1, (top - floor) // self.spec.tick_size))
        return MarketParams(
            price_floor=floor,
            tick_size=self.spec.tick_size,
            max_tick=max_tick,
            fee_bps=self.spec.fee_bps,
        )


def tariffs_from_spot(
    spot_eur_per_mwh: npt.NDArray[np.float64], spec: TariffSpec | None = None
) -> Tariffs:
    """Derive retail and feed-in tariffs (EUR/kWh) from spot prices (EUR/MWh)."""
    spec = spec or TariffSpec()
    spot = np.asarray(spot_eur_per_mwh, dtype=np.float64) / 1000.0
    retail = (spot + spec.surcharges) * (1.0 + spec.vat)
    feed_in = np.maximum(spot, 0.0) + spec.feed_in_premium
    return Tariffs(retail=retail, feed_in=feed_in, spec=spec)
