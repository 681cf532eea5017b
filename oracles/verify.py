"""Audit an archived batch: ``enerwise oracle verify CID``.

Given a CID, an auditor can check, with nothing but the archive and a node:

1. the archived bytes hash to the CID (CIDv1 raw sha2-256, recomputed locally);
2. the batch is for this chain and this registry (the EIP-712 domain of its signatures);
3. the CID is anchored on chain: ``ReadingBatchArchived(archiveCid, ...)`` events name it;
4. every signature recovers to the meter's signer registered on chain at the block the reading
   was accepted (the signer history comes from ``MeterRegistered`` and ``MeterSignerRotated``);
5. the chain's ``ReadingAccepted`` events of the anchoring transactions are exactly the
   readings of the file (same meter, seq and timestamp; deltas match a reading and the one it
   names as its predecessor, when both are in the batch), and the accepted/rejected counts of
   each anchor add up.

A reading the chain had accepted in an earlier transaction (a resend after a crash) is found
by its ``ReadingAccepted`` event elsewhere and checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from chain.artifacts import load_artifact
from chain.reverts import RevertDecoder
from energychain.contracts import revert_decoder
from energychain.events import EventReader
from energychain.meter_reading import Domain
from energychain.registry import Registry
from oracles.archive import Archive, cid_to_bytes, decode_batch, normalize_cid
from oracles.errors import ArchiveError, VerificationError
from oracles.readings import SignedReading, recover_reading_signer
from wallet.errors import TypedDataError


@dataclass
class VerificationReport:
    cid: str
    readings: int = 0
    signatures_valid: int = 0
    accepted: int = 0
    accepted_earlier: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    transactions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "cid": self.cid,
            "ok": self.ok,
            "readings": self.readings,
            "signatures_valid": self.signatures_valid,
            "accepted": self.accepted,
            "accepted_earlier": self.accepted_earlier,
            "rejected": self.rejected,
            "transactions": self.transactions,
            "problems": self.problems,
        }


class _SignerHistory:
    """Who signed for a meter at which block, from the registry's events."""

    def __init__(self, events: EventReader, meter_id: bytes, from_block: int) -> None:
        found: list[tuple[int, int, str]] = []
        only = {"meterId": meter_id}
        for log in events.read("MeterRegistered", from_block, filters=only):
            found.append((log["blockNumber"], log["logIndex"], str(log["args"]["signer"])))
        for log in events.read("MeterSignerRotated", from_block, filters=only):
            found.append((log["blockNumber"], log["logIndex"], str(log["args"]["newSigner"])))
        events_sorted = sorted(found)
        self.events = events_sorted

    def at(self, block: int) -> str | None:
        signer = None
        for number, _, address in self.events:
            if number <= block:
                signer = address
        return signer

    def current(self) -> str | None:
        return self.events[-1][2] if self.events else None


def verify_batch(
    cid: str, *, archive: Archive, w3: Web3, registry: str, from_block: int = 0
) -> VerificationReport:
    """Run every check; the report lists each problem (``report.ok`` when there is none)."""
    cid = normalize_cid(cid)
    report = VerificationReport(cid)
    try:
        data = archive.fetch(cid)  # raises CidMismatchError when the bytes do not match
        batch = decode_batch(data)
    except ArchiveError as exc:
        report.problems.append(str(exc))
        return report
    report.readings = len(batch.readings)
    address = Web3.to_checksum_address(registry)
    domain = Domain(int(w3.eth.chain_id), address)
    if batch.domain.chain_id != domain.chain_id or batch.domain.registry.lower() != address.lower():
        report.problems.append(
            f"batch is for chain {batch.domain.chain_id} registry {batch.domain.registry}, "
            f"not chain {domain.chain_id} registry {address}"
        )
        return report
    artifact = load_artifact("MeterRegistry")
    decoder = revert_decoder()
    handle = Registry(w3, artifact, address, decoder)
    events = EventReader(handle)

    # 3. anchors
    accepted_at, rejected_at = _anchored(cid, handle, decoder, report, from_block)

    # 4 + 5. every reading
    histories: dict[bytes, _SignerHistory] = {}
    in_file = {(r.reading.meter_id, r.reading.seq) for r in batch.readings}
    previous: dict[bytes, SignedReading] = {}
    for signed in batch.readings:
        r = signed.reading
        key = (r.meter_id, r.seq)
        label = f"meter 0x{r.meter_id.hex()[:12]}.. seq {r.seq}"
        if r.meter_id not in histories:
            histories[r.meter_id] = _SignerHistory(events, r.meter_id, from_block)
        history = histories[r.meter_id]
        hit = accepted_at.get(key)
        if hit is None and key in rejected_at and rejected_at[key] == "ReadingSeqNotIncreasing":
            hit = _accepted_elsewhere(events, r.meter_id, r.seq, r.timestamp, from_block)
            if hit is not None:
                report.accepted_earlier += 1
        try:
            recovered = recover_reading_signer(signed, domain)
        except TypedDataError as exc:
            report.problems.append(f"{label}: signature unusable: {exc}")
            continue
        expected = history.at(hit[0]) if hit is not None else history.current()
        if expected is None:
            report.problems.append(f"{label}: meter is not registered on chain")
        elif recovered.lower() != expected.lower():
            report.problems.append(f"{label}: signed by {recovered}, registered signer {expected}")
        else:
            report.signatures_valid += 1
        if hit is None:
            reason = rejected_at.get(key)
            if reason is None:
                report.problems.append(f"{label}: neither accepted nor rejected on chain")
            else:
                report.rejected[reason] = report.rejected.get(reason, 0) + 1
            continue
        report.accepted += 1
        event = hit[1]
        if int(event["timestamp"]) != r.timestamp:
            report.problems.append(
                f"{label}: chain says timestamp {event['timestamp']}, file says {r.timestamp}"
            )
        before = previous.get(r.meter_id)
        if before is not None and (r.prev_seq, r.prev_timestamp) == (
            before.reading.seq,
            before.reading.timestamp,
        ):
            deltas = (
                r.import_wh - before.reading.import_wh,
                r.export_wh - before.reading.export_wh,
            )
            if (int(event["importDeltaWh"]), int(event["exportDeltaWh"])) != deltas:
                report.problems.append(f"{label}: chain deltas differ from the file's registers")
        previous[r.meter_id] = signed
    for key in accepted_at:
        if key not in in_file:
            report.problems.append(
                f"meter 0x{key[0].hex()[:12]}.. seq {key[1]} accepted by an anchoring "
                "transaction but missing from the file"
            )
    return report


def _anchored(
    cid: str, handle: Registry, decoder: RevertDecoder, report: VerificationReport, from_block: int
) -> tuple[dict[tuple[bytes, int], tuple[int, dict[str, Any]]], dict[tuple[bytes, int], str]]:
    """Readings the transactions anchoring ``cid`` accepted (block, event) and rejected (why);
    anchors whose counts differ from their events are reported."""
    cid_bytes = cid_to_bytes(cid)
    anchors = [
        log
        for log in EventReader(handle).read("ReadingBatchArchived", from_block)
        if bytes(log["args"]["archiveCid"]) == cid_bytes
    ]
    if not anchors:
        report.problems.append(f"{cid} is not anchored on chain (no ReadingBatchArchived event)")
    accepted_at: dict[tuple[bytes, int], tuple[int, dict[str, Any]]] = {}
    rejected_at: dict[tuple[bytes, int], str] = {}
    for anchor in anchors:
        tx_hash = anchor["transactionHash"]
        report.transactions.append(tx_hash.to_0x_hex())
        receipt = handle.w3.eth.get_transaction_receipt(tx_hash)
        accepted = handle.events(receipt, "ReadingAccepted")
        rejected = handle.events(receipt, "ReadingRejected")
        if (
            len(accepted) != anchor["args"]["accepted"]
            or len(rejected) != anchor["args"]["rejected"]
        ):
            report.problems.append(
                f"tx {tx_hash.to_0x_hex()}: anchor counts {anchor['args']['accepted']}/"
                f"{anchor['args']['rejected']} differ from its events "
                f"{len(accepted)}/{len(rejected)}"
            )
        for log in accepted:
            key = (bytes(log["args"]["meterId"]), int(log["args"]["seq"]))
            accepted_at[key] = (int(log["blockNumber"]), dict(log["args"]))
        for log in rejected:
            key = (bytes(log["args"]["meterId"]), int(log["args"]["seq"]))
            rejected_at.setdefault(
                key, decoder.error_name(bytes(log["args"]["reason"])) or "unknown"
            )

    return accepted_at, rejected_at


def _accepted_elsewhere(
    events: EventReader, meter_id: bytes, seq: int, timestamp: int, from_block: int
) -> tuple[int, dict[str, Any]] | None:
    # seq and timestamp: a rotation of the meter's signer restarts its sequence.
    for log in events.read("ReadingAccepted", from_block, filters={"meterId": meter_id}):
        if int(log["args"]["seq"]) == seq and int(log["args"]["timestamp"]) == timestamp:
            return int(log["blockNumber"]), dict(log["args"])
    return None


def require_ok(report: VerificationReport) -> None:
    """Raise :class:`VerificationError` listing the problems, if any."""
    if not report.ok:
        raise VerificationError(
            f"{report.cid}: {len(report.problems)} problem(s): {report.problems[0]}",
            report.problems,
        )
