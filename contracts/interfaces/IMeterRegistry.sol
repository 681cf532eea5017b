// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

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

    /// @notice A reading as signed by the meter (EIP-712 type, version 2 of the reading:
    /// `MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,uint64 prevSeq,
    /// uint64 prevTimestamp)`). The last two fields bind the reading to its predecessor, so readings are accepted
    /// only in the order the meter signed them: reordering can delay a reading, never destroy its energy.
    /// @param meterId       the registered meter.
    /// @param seq           strictly increasing per meter (starts at 1).
    /// @param timestamp     the slot boundary (unix seconds) at which the registers were read.
    /// @param importWh      cumulative import register, Wh.
    /// @param exportWh      cumulative export register, Wh.
    /// @param prevSeq       `seq` of the reading this one follows: the meter's `lastSeq` (0 for the meter's first
    ///                      reading and for the first reading after {rotateSigner}).
    /// @param prevTimestamp `timestamp` of the reading this one follows: the meter's `lastTimestamp` (0 for the
    ///                      meter's first reading; after {rotateSigner}, the last timestamp accepted before it).
    struct MeterReading {
        bytes32 meterId;
        uint64 seq;
        uint64 timestamp;
        uint64 importWh;
        uint64 exportWh;
        uint64 prevSeq;
        uint64 prevTimestamp;
    }

    /// @notice Everything the registry knows about a meter. `lastSeq == 0` means no baseline: no reading yet, or
    /// none since {rotateSigner} (then `lastTimestamp` is kept: the next reading must be later, and names it as its
    /// `prevTimestamp`).
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

    /// @notice `maxClockSkewSeconds` is above `limit` = MAX_CLOCK_SKEW_SECONDS.
    error RegistryClockSkewTooLarge(uint32 maxClockSkewSeconds, uint32 limit);

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

    /// @notice The reading follows `prevSeq` at `prevTimestamp`, but the meter's last accepted reading is `lastSeq`
    /// at `lastTimestamp`: its predecessor was not accepted yet (resubmit in order), or the meter signed two
    /// different successors of one reading.
    error ReadingPredecessorMismatch(
        bytes32 meterId, uint64 prevSeq, uint64 prevTimestamp, uint64 lastSeq, uint64 lastTimestamp
    );

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

    /// @notice The signing key of a meter was replaced; the meter's sequence and baseline restart (see {rotateSigner}).
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
    /// @return the role identifier, `keccak256("METER_ADMIN_ROLE")`.
    function METER_ADMIN_ROLE() external view returns (bytes32);

    /// @notice Role allowed to pause and unpause reading submission.
    /// @return the role identifier, `keccak256("PAUSER_ROLE")`.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Highest capacity a meter may be registered with, Wh per slot (2^40 Wh, about 1.1 TWh).
    /// @return the capacity limit, Wh per slot.
    function MAX_CAPACITY_WH_PER_SLOT() external view returns (uint64);

    /// @notice Highest `maxClockSkewSeconds` the registry may be deployed with (1 hour): a key that signs readings
    /// ahead of time can hold a meter's last timestamp at most this far in the future.
    /// @return the skew limit, seconds.
    function MAX_CLOCK_SKEW_SECONDS() external view returns (uint32);

    /// @notice The slot token deployed by this registry.
    /// @return the {IEnergyToken} this registry mints.
    function token() external view returns (IEnergyToken);

    /// @notice Unix time of the start of slot 0.
    /// @return the epoch, unix seconds.
    function epoch() external view returns (uint64);

    /// @notice Length of a slot in seconds.
    /// @return the slot length, seconds.
    function slotSeconds() external view returns (uint32);

    /// @notice How far in the future (seconds past `block.timestamp`) a reading's timestamp may lie.
    /// @return the allowed skew, seconds (at most MAX_CLOCK_SKEW_SECONDS).
    function maxClockSkewSeconds() external view returns (uint32);

    /// @notice The slot containing `timestamp`: `(timestamp - epoch) / slotSeconds`.
    /// @dev Requirements:
    /// - `timestamp >= epoch`.
    /// @return the slot number.
    function slotOf(uint256 timestamp) external view returns (uint256);

    /// @notice The meter registered under `meterId` (all fields zero when unknown).
    /// @return the meter's record, see {Meter}.
    function meter(bytes32 meterId) external view returns (Meter memory);

    /// @notice The EIP-712 domain separator {name: "EnergyChain", version: "1", chainId, verifyingContract: this}.
    /// @return the domain separator.
    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 digest a meter signs for `reading`.
    /// @return the EIP-712 digest of `reading` under this registry's domain.
    function readingDigest(MeterReading calldata reading) external view returns (bytes32);

    /// @notice Running totals of accepted energy, see {EnergyTotals}.
    /// @return the running totals.
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
    /// The meter's sequence and baseline restart: `lastSeq`, `lastImportWh` and `lastExportWh` become 0, so a stolen
    /// key that signed seq 2^64-1 or inflated registers cannot disable the meter; `lastTimestamp` is kept, so no
    /// reading at or before it is accepted again (not even the old ones, if the key is rotated back). The first
    /// reading after the rotation names `prevSeq` 0 and `prevTimestamp` = that kept timestamp, and sets the new
    /// baseline: like a meter's first reading, it attributes nothing. Emits {MeterSignerRotated}.
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
    /// - `prevSeq` and `prevTimestamp` are the meter's last accepted seq and timestamp (0 and 0 before the first);
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
