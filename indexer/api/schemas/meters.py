"""Meters, readings and meter-registration requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from indexer.api.deps import checksum_address
from indexer.api.schemas.common import ApiModel, Units


class MeterPublic(ApiModel):
    meter_id: str
    owner: str
    signer: str = Field(description="Current signing key (after rotations).")
    capacity_wh_per_slot: int
    active: bool
    registered_block: int
    registered_time: int
    reading_count: int
    last_seq: int | None
    last_reading_time: int | None


class ReadingPublic(ApiModel):
    meter_id: str
    seq: int
    reading_time: int
    slot: int | None = Field(description="Slot the deltas were attributed to (null: none).")
    import_delta_wh: Units
    export_delta_wh: Units
    archive_cid: str | None = Field(description="Off-chain archive of the reading's batch.")
    block_number: int
    tx_hash: str


Address = Annotated[str, Field(min_length=42, max_length=42), AfterValidator(checksum_address)]


class MeterRequestCreate(BaseModel):
    owner: Address
    signer: Address
    capacity_wh_per_slot: int = Field(gt=0, le=2**63 - 1)
    note: str = Field(default="", max_length=500)


class MeterRequestPublic(ApiModel):
    id: int
    requester: str
    owner: str
    signer: str
    capacity_wh_per_slot: int
    note: str
    status: str
    created_at: float
