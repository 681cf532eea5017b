"""The MeterRegistry: typed reads and transaction builders."""

from __future__ import annotations

from collections.abc import Sequence

from eth_typing import ChecksumAddress

from energychain.access import Governed
from energychain.calendar import SlotCalendar
from energychain.records import AdminHandover, EnergyTotals, MeterState
from energychain.units import Wh
from wallet.transactions import TxRequest


class Registry(Governed):
    """A MeterRegistry deployment (it deploys and mints the EnergyToken)."""

    def calendar(self) -> SlotCalendar:
        """The slot boundaries readings are attributed to (no order windows: see the market)."""
        return SlotCalendar(
            epoch=int(self.call("epoch")), slot_seconds=int(self.call("slotSeconds"))
        )

    def max_clock_skew(self) -> int:
        """How far (seconds) a reading's time may lie ahead of the chain's."""
        return int(self.call("maxClockSkewSeconds"))

    def admin_handover(self) -> AdminHandover:
        """The one admin of the registry and the market, and the pending handover if any."""
        answer = self.read("pendingDefaultAdmin")
        pending, schedule = str(answer["newAdmin"]), int(answer["schedule"])
        zero = int(pending, 16) == 0
        return AdminHandover(
            admin=self.w3.to_checksum_address(self.call("defaultAdmin")),
            pending=None if zero else self.w3.to_checksum_address(pending),
            accept_from=None if zero else schedule,
            delay_seconds=int(self.call("ADMIN_TRANSFER_DELAY_SECONDS")),
        )

    def begin_admin_transfer(self, new_admin: str) -> TxRequest:
        """Schedule ``new_admin`` to take over the admin role (it accepts after the delay)."""
        return self.request("beginDefaultAdminTransfer", self.w3.to_checksum_address(new_admin))

    def accept_admin_transfer(self) -> TxRequest:
        """Take over the admin role (sent by the pending admin, after the delay)."""
        return self.request("acceptDefaultAdminTransfer")

    def cancel_admin_transfer(self) -> TxRequest:
        """Cancel the pending handover (sent by the admin)."""
        return self.request("cancelDefaultAdminTransfer")

    def meter(self, meter_id: bytes) -> MeterState:
        """The meter ``meter_id`` (all zeros, :attr:`MeterState.registered` False, if unknown)."""
        return MeterState.from_fields(self.read("meter", meter_id))

    def energy_totals(self) -> EnergyTotals:
        """Energy the registry has seen, attributed to slots (minted exports) or not."""
        return EnergyTotals.from_fields(self.read("energyTotals"))

    def energy_token_address(self) -> ChecksumAddress:
        return self.w3.to_checksum_address(self.call("token"))

    def register_meter(
        self,
        meter_id: bytes,
        owner: str,
        signer: str,
        capacity_wh_per_slot: Wh | int,
        gas: int | None = None,
    ) -> TxRequest:
        return self.request("registerMeter", meter_id, owner, signer, capacity_wh_per_slot, gas=gas)

    def rotate_signer(self, meter_id: bytes, signer: str) -> TxRequest:
        return self.request("rotateSigner", meter_id, signer)

    def deactivate_meter(self, meter_id: bytes) -> TxRequest:
        return self.request("deactivateMeter", meter_id)

    def submit_reading(
        self,
        reading: tuple[bytes, int, int, int, int, int, int],
        signature: bytes,
        gas: int | None = None,
    ) -> TxRequest:
        """``submitReading``: one signed reading (ABI tuple) and its signature."""
        return self.request("submitReading", reading, signature, gas=gas)

    def submit_readings(
        self,
        readings: Sequence[tuple[bytes, int, int, int, int, int, int]],
        signatures: Sequence[bytes],
        archive_cid: bytes = b"",
        gas: int | None = None,
    ) -> TxRequest:
        """``submitReadings``: ABI tuples of signed readings, their signatures, the batch's CID."""
        return self.request(
            "submitReadings", list(readings), list(signatures), archive_cid, gas=gas
        )
