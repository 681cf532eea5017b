// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyToken} from "./IEnergyToken.sol";

/// @title IMeterRegistry
/// @notice Registry of smart meters whose EIP-712 signed cumulative readings mint {IEnergyToken} slot tokens.
/// @dev Time is cut into slots: `slot = (timestamp - epoch) / slotSeconds`. A reading is a pair of cumulative
/// registers (import, export) in whole Wh, taken at a slot boundary. The export delta between two readings one slot
/// apart is minted to the meter's owner for the slot that ends at the later reading; the import delta is recorded
/// for {IEnergyToken-redeem}.
interface IMeterRegistry {
    /*//////////////////////////////////////////////////////////////
                                 STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A reading as signed by the meter (EIP-712 type
    /// `MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh)`).
    /// @param meterId  the registered meter.
    /// @param seq      strictly increasing per meter (starts at 1).
    /// @param timestamp the slot boundary (unix seconds) at which the registers were read.
    /// @param importWh cumulative import register, Wh.
    /// @param exportWh cumulative export register, Wh.
    struct MeterReading {
        bytes32 meterId;
        uint64 seq;
        uint64 timestamp;
        uint64 importWh;
        uint64 exportWh;
    }

    /// @notice Everything the registry knows about a meter. `lastSeq == 0` means no reading (no baseline) yet.
    struct Meter {
        address owner;
        address signer;
        uint64 capacityWhPerSlot;
        bool active;
        uint64 lastSeq;
        uint64 lastTimestamp;
        uint64 lastImportWh;
        uint64 lastExportWh;
    }

    /// @notice Running totals of accepted energy, for conservation checks. Attributed energy was minted (export) or
    /// recorded for redemption (import); unattributed energy crossed a gap of several slots and was only logged.
    struct EnergyTotals {
        uint128 attributedExportWh;
        uint128 attributedImportWh;
        uint128 unattributedExportWh;
        uint128 unattributedImportWh;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice A constructor argument is out of range (`slotSeconds` zero).
    error RegistryInvalidConfig();

    /// @notice An address argument is the zero address.
    error RegistryZeroAddress();

    /// @notice `timestamp` lies before the registry epoch.
    error RegistryTimestampBeforeEpoch(uint256 timestamp, uint64 epoch);

    /// @notice No meter is registered under `meterId`.
    error MeterUnknown(bytes32 meterId);

    /// @notice `meterId` is already registered (also after deactivation: ids are never reused).
    error MeterAlreadyRegistered(bytes32 meterId);

    /// @notice `meterId` was deactivated.
    error MeterInactive(bytes32 meterId);

    /// @notice `capacityWhPerSlot` is zero or above MAX_CAPACITY_WH_PER_SLOT.
    error MeterInvalidCapacity(bytes32 meterId, uint64 capacityWhPerSlot);

    /// @notice `seq` is not greater than the last accepted sequence number `lastSeq`.
    error ReadingSeqNotIncreasing(bytes32 meterId, uint64 seq, uint64 lastSeq);

    /// @notice `timestamp` is not of the form `epoch + k * slotSeconds` with k >= 0.
    error ReadingNotOnSlotBoundary(bytes32 meterId, uint64 timestamp);

    /// @notice `timestamp` is not after the timestamp of the last accepted reading.
    error ReadingNotAfterPrevious(bytes32 meterId, uint64 timestamp, uint64 lastTimestamp);

    /// @notice `timestamp` is later than `latestAllowed` (block time plus the allowed clock skew).
    error ReadingInFuture(bytes32 meterId, uint64 timestamp, uint256 latestAllowed);

    /// @notice The import or the export register went down.
    error ReadingRegisterDecreased(bytes32 meterId);

    /// @notice A register grew by `deltaWh`, more than `maxDeltaWh` = capacity x slots covered.
    error ReadingImplausible(bytes32 meterId, uint64 deltaWh, uint256 maxDeltaWh);

    /// @notice The signature is malformed, high-s, or not by the meter's current signer for this chain and registry.
    error ReadingSignatureInvalid(bytes32 meterId);

    /// @notice {submitReadings} got `readings` readings but `signatures` signatures.
    error ReadingBatchLengthMismatch(uint256 readings, uint256 signatures);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A meter was registered.
    event MeterRegistered(bytes32 indexed meterId, address indexed owner, address signer, uint64 capacityWhPerSlot);

    /// @notice The signing key of a meter was replaced.
    event MeterSignerRotated(bytes32 indexed meterId, address oldSigner, address newSigner);

    /// @notice A meter was deactivated for good; its readings are rejected from now on.
    event MeterDeactivated(bytes32 indexed meterId);

    /// @notice A reading was accepted. `slot` is the slot the deltas were attributed to, or `type(uint256).max` when
    /// nothing was attributed (the meter's first reading, which sets the baseline, or a reading after a gap). The
    /// deltas are the register increases since the previous reading (zero for the baseline).
    event ReadingAccepted(
        bytes32 indexed meterId, uint64 seq, uint64 timestamp, uint256 slot, uint64 importDeltaWh, uint64 exportDeltaWh
    );

    /// @notice Energy that crossed more than one slot (a gap in the readings) was logged but not attributed to any
    /// slot: nothing was minted or recorded for it.
    event EnergyUnattributed(
        bytes32 indexed meterId, uint64 fromTimestamp, uint64 toTimestamp, uint64 importWh, uint64 exportWh
    );

    /// @notice {submitReadings} skipped a reading; `reason` is the selector of the error {submitReading} would revert
    /// with.
    event ReadingRejected(bytes32 indexed meterId, uint64 seq, bytes4 reason);

    /// @notice A batch was processed; `archiveCid` names the off-chain archive of the batch (may be empty).
    event ReadingBatchArchived(bytes archiveCid, uint256 accepted, uint256 rejected);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Role allowed to register meters, rotate their signers and deactivate them.
    function METER_ADMIN_ROLE() external view returns (bytes32);

    /// @notice Role allowed to pause and unpause reading submission.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Highest capacity a meter may be registered with, Wh per slot (2^40 Wh, about 1.1 TWh).
    function MAX_CAPACITY_WH_PER_SLOT() external view returns (uint64);

    /// @notice The slot token deployed by this registry.
    function token() external view returns (IEnergyToken);

    /// @notice Unix time of the start of slot 0.
    function epoch() external view returns (uint64);

    /// @notice Length of a slot in seconds.
    function slotSeconds() external view returns (uint32);

    /// @notice How far in the future (seconds past `block.timestamp`) a reading's timestamp may lie.
    function maxClockSkewSeconds() external view returns (uint32);

    /// @notice The slot containing `timestamp`: `(timestamp - epoch) / slotSeconds`.
    /// @dev Requirements:
    /// - `timestamp >= epoch`.
    function slotOf(uint256 timestamp) external view returns (uint256);

    /// @notice The meter registered under `meterId` (all fields zero when unknown).
    function meter(bytes32 meterId) external view returns (Meter memory);

    /// @notice The EIP-712 domain separator {name: "EnergyChain", version: "1", chainId, verifyingContract: this}.
    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 digest a meter signs for `reading`.
    function readingDigest(MeterReading calldata reading) external view returns (bytes32);

    /// @notice Running totals of accepted energy, see {EnergyTotals}.
    function energyTotals() external view returns (EnergyTotals memory);

    /*//////////////////////////////////////////////////////////////
                                 ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers a meter. Emits {MeterRegistered}.
    /// @dev Requirements:
    /// - the caller has METER_ADMIN_ROLE;
    /// - `meterId` was never registered;
    /// - `owner` and `signer` are not zero; `0 < capacityWhPerSlot <= MAX_CAPACITY_WH_PER_SLOT`.
    function registerMeter(bytes32 meterId, address owner, address signer, uint64 capacityWhPerSlot) external;

    /// @notice Replaces the signing key of a meter; readings signed by the old key are rejected from now on.
    /// Emits {MeterSignerRotated}.
    /// @dev Requirements:
    /// - the caller has METER_ADMIN_ROLE;
    /// - the meter is registered and active; `newSigner` is not zero.
    function rotateSigner(bytes32 meterId, address newSigner) external;

    /// @notice Deactivates a meter for good. Emits {MeterDeactivated}.
    /// @dev Requirements:
    /// - the caller has METER_ADMIN_ROLE;
    /// - the meter is registered and active.
    function deactivateMeter(bytes32 meterId) external;

    /// @notice Pauses reading submission. Emits {Pausable-Paused}.
    /// @dev Requirements:
    /// - the caller has PAUSER_ROLE; not paused.
    function pause() external;

    /// @notice Resumes reading submission. Emits {Pausable-Unpaused}.
    /// @dev Requirements:
    /// - the caller has PAUSER_ROLE; paused.
    function unpause() external;

    /// @notice Submits one signed reading; anyone may relay. Emits {ReadingAccepted} and, after a gap,
    /// {EnergyUnattributed}.
    /// @dev Requirements:
    /// - not paused;
    /// - the meter is registered and active; `seq` > last seq;
    /// - `timestamp` is on a slot boundary, after the previous reading and at most `maxClockSkewSeconds` ahead of the
    ///   block time;
    /// - neither register decreases, and neither grows by more than capacity x slots covered;
    /// - `signature` is a 65-byte low-s ECDSA signature of {readingDigest} by the meter's current signer.
    function submitReading(MeterReading calldata reading, bytes calldata signature) external;

    /// @notice Submits a batch of signed readings. A reading that {submitReading} would reject is skipped with
    /// {ReadingRejected} instead, so one bad reading never blocks the others and resending accepted readings is
    /// harmless. Emits {ReadingBatchArchived} once, at the end.
    /// @dev Requirements:
    /// - not paused;
    /// - `readings.length == signatures.length`.
    /// @return accepted the number of readings accepted.
    function submitReadings(
        MeterReading[] calldata readings,
        bytes[] calldata signatures,
        bytes calldata archiveCid
    ) external returns (uint256 accepted);
}
