// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AdminHandover} from "./access/AdminHandover.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {EnergyToken} from "./EnergyToken.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";

/// @title MeterRegistry
/// @notice Registers smart meters and turns their EIP-712 signed cumulative readings into slot tokens.
/// @dev Readings are validated in a fixed order, cheapest first (known, active, seq, predecessor, boundary, skew,
/// previous, registers, plausibility, signature), so a resent reading costs no `ecrecover`. A meter without a baseline
/// (`lastSeq == 0`: never read, or rotated) takes any registers; a rotated one keeps its last timestamp as a floor. Validation returns the
/// ABI-encoded error instead of reverting: {submitReading} reverts with it, {submitReadings} logs its selector and skips.
contract MeterRegistry is AdminHandover, Pausable, EIP712, IMeterRegistry {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeterRegistry
    bytes32 public constant METER_ADMIN_ROLE = keccak256("METER_ADMIN_ROLE");

    /// @inheritdoc IMeterRegistry
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IMeterRegistry
    uint64 public constant MAX_CAPACITY_WH_PER_SLOT = 1 << 40;

    /// @inheritdoc IMeterRegistry
    uint32 public constant MAX_CLOCK_SKEW_SECONDS = 1 hours;

    /// @dev EIP-712 type hash of {IMeterRegistry-MeterReading}.
    bytes32 private constant _READING_TYPEHASH =
        keccak256(
        "MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,uint64 prevSeq,uint64 prevTimestamp)"
    );

    /// @dev `slot` of {ReadingAccepted} when nothing was attributed.
    uint256 private constant _NO_SLOT = type(uint256).max;

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The state of the last accepted reading: one storage slot.
    struct MeterState {
        uint64 lastSeq;
        uint64 lastTimestamp;
        uint64 lastImportWh;
        uint64 lastExportWh;
    }

    /// @dev What every reading needs first: one storage slot.
    struct MeterHead {
        address signer;
        uint64 capacityWhPerSlot;
        bool active;
    }

    /// @dev Three storage slots: what every reading needs (signer, capacity, active), the owner (read only when
    /// something is minted or recorded), and the last reading.
    struct MeterRecord {
        MeterHead head;
        address owner;
        MeterState state;
    }

    /// @dev One side of {IMeterRegistry-EnergyTotals}: one storage slot.
    struct Totals {
        uint128 exportWh;
        uint128 importWh;
    }

    /// @inheritdoc IMeterRegistry
    IEnergyToken public immutable token;

    /// @inheritdoc IMeterRegistry
    uint64 public immutable epoch;

    /// @inheritdoc IMeterRegistry
    uint32 public immutable slotSeconds;

    /// @inheritdoc IMeterRegistry
    uint32 public immutable maxClockSkewSeconds;

    mapping(bytes32 meterId => MeterRecord) private _meters;
    Totals private _attributed;
    Totals private _unattributed;

    /// @param admin               receives DEFAULT_ADMIN_ROLE, METER_ADMIN_ROLE and PAUSER_ROLE.
    /// @param epoch_              unix time of the start of slot 0.
    /// @param slotSeconds_        slot length in seconds (> 0), e.g. 900.
    /// @param maxClockSkewSeconds_ how far a reading's timestamp may lie ahead of the block time (at most
    ///                            MAX_CLOCK_SKEW_SECONDS).
    /// @param tokenUri            ERC-1155 metadata URI of the slot token deployed here.
    constructor(
        address admin,
        uint64 epoch_,
        uint32 slotSeconds_,
        uint32 maxClockSkewSeconds_,
        string memory tokenUri
    ) EIP712("EnergyChain", "1") {
        if (admin == address(0)) revert RegistryZeroAddress();
        if (slotSeconds_ == 0) revert RegistryInvalidConfig();
        if (maxClockSkewSeconds_ > MAX_CLOCK_SKEW_SECONDS) {
            revert RegistryClockSkewTooLarge(maxClockSkewSeconds_, MAX_CLOCK_SKEW_SECONDS);
        }
        epoch = epoch_;
        slotSeconds = slotSeconds_;
        maxClockSkewSeconds = maxClockSkewSeconds_;
        token = new EnergyToken(tokenUri);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(METER_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////
                              METER ADMIN
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeterRegistry
    function registerMeter(bytes32 meterId, address owner, address signer, uint64 capacityWhPerSlot)
        external
        onlyRole(METER_ADMIN_ROLE)
    {
        MeterRecord storage m = _meters[meterId];
        if (m.head.signer != address(0)) revert MeterAlreadyRegistered(meterId);
        if (owner == address(0) || signer == address(0)) revert RegistryZeroAddress();
        if (capacityWhPerSlot == 0 || capacityWhPerSlot > MAX_CAPACITY_WH_PER_SLOT) {
            revert MeterInvalidCapacity(meterId, capacityWhPerSlot);
        }
        m.head.signer = signer;
        m.head.capacityWhPerSlot = capacityWhPerSlot;
        m.head.active = true;
        m.owner = owner;
        emit MeterRegistered(meterId, owner, signer, capacityWhPerSlot);
    }

    /// @inheritdoc IMeterRegistry
    function rotateSigner(bytes32 meterId, address newSigner) external onlyRole(METER_ADMIN_ROLE) {
        MeterRecord storage m = _requireActive(meterId);
        if (newSigner == address(0)) revert RegistryZeroAddress();
        address oldSigner = m.head.signer;
        m.head.signer = newSigner;
        // The sequence and the baseline restart; the last timestamp stays as the floor of the next reading.
        m.state = MeterState({lastSeq: 0, lastTimestamp: m.state.lastTimestamp, lastImportWh: 0, lastExportWh: 0});
        emit MeterSignerRotated(meterId, oldSigner, newSigner);
    }

    /// @inheritdoc IMeterRegistry
    function deactivateMeter(bytes32 meterId) external onlyRole(METER_ADMIN_ROLE) {
        MeterRecord storage m = _requireActive(meterId);
        m.head.active = false;
        emit MeterDeactivated(meterId);
    }

    /// @inheritdoc IMeterRegistry
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IMeterRegistry
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////
                                READINGS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeterRegistry
    function submitReading(MeterReading calldata reading, bytes calldata signature) external whenNotPaused {
        bytes memory err = _processReading(reading, signature);
        if (err.length != 0) {
            // Bubble the ABI-encoded custom error built by _processReading.
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
    }

    /// @inheritdoc IMeterRegistry
    function submitReadings(
        MeterReading[] calldata readings,
        bytes[] calldata signatures,
        bytes calldata archiveCid
    ) external whenNotPaused returns (uint256 accepted) {
        uint256 n = readings.length;
        if (signatures.length != n) revert ReadingBatchLengthMismatch(n, signatures.length);
        for (uint256 i; i < n; ++i) {
            MeterReading calldata reading = readings[i];
            bytes memory err = _processReading(reading, signatures[i]);
            if (err.length == 0) {
                // Cannot overflow: accepted <= n.
                unchecked {
                    ++accepted;
                }
            } else {
                emit ReadingRejected(reading.meterId, reading.seq, bytes4(err));
            }
        }
        // Cannot underflow: accepted <= n.
        unchecked {
            emit ReadingBatchArchived(archiveCid, accepted, n - accepted);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeterRegistry
    function slotOf(uint256 timestamp) external view returns (uint256) {
        if (timestamp < epoch) revert RegistryTimestampBeforeEpoch(timestamp, epoch);
        // Cannot underflow: checked above.
        unchecked {
            return (timestamp - epoch) / slotSeconds;
        }
    }

    /// @inheritdoc IMeterRegistry
    function meter(bytes32 meterId) external view returns (Meter memory) {
        MeterRecord storage m = _meters[meterId];
        MeterState memory s = m.state;
        return Meter({
            owner: m.owner,
            signer: m.head.signer,
            capacityWhPerSlot: m.head.capacityWhPerSlot,
            active: m.head.active,
            lastSeq: s.lastSeq,
            lastTimestamp: s.lastTimestamp,
            lastImportWh: s.lastImportWh,
            lastExportWh: s.lastExportWh
        });
    }

    /// @inheritdoc IMeterRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IMeterRegistry
    function readingDigest(MeterReading calldata reading) external view returns (bytes32) {
        return _digest(_load(reading));
    }

    /// @inheritdoc IMeterRegistry
    function energyTotals() external view returns (EnergyTotals memory) {
        return EnergyTotals({
            attributedExportWh: _attributed.exportWh,
            attributedImportWh: _attributed.importWh,
            unattributedExportWh: _unattributed.exportWh,
            unattributedImportWh: _unattributed.importWh
        });
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    /// @dev The record of `meterId`; reverts unless the meter is registered and active.
    /// @return m the meter's storage record.
    function _requireActive(bytes32 meterId) private view returns (MeterRecord storage m) {
        m = _meters[meterId];
        if (m.head.signer == address(0)) revert MeterUnknown(meterId);
        if (!m.head.active) revert MeterInactive(meterId);
    }

    /// @dev `reading` copied to memory in one step: a calldata `MeterReading` is seven 32-byte words in field order,
    /// the layout of a memory struct. Solidity checks a calldata uint64 field each time it is read; here the six
    /// uint64 words are checked once, and a word with bits above 64 (malformed ABI encoding) reverts the call with no
    /// data, as Solidity's own check does.
    /// @return r the reading, in memory.
    function _load(MeterReading calldata reading) private pure returns (MeterReading memory r) {
        assembly ("memory-safe") {
            r := mload(0x40)
            mstore(0x40, add(r, 0xe0))
            calldatacopy(r, reading, 0xe0)
            // The six uint64 words: seq, timestamp, importWh, exportWh, prevSeq, prevTimestamp.
            let high := or(mload(add(r, 0x20)), mload(add(r, 0x40)))
            high := or(high, or(mload(add(r, 0x60)), mload(add(r, 0x80))))
            high := or(high, or(mload(add(r, 0xa0)), mload(add(r, 0xc0))))
            if shr(64, high) { revert(0, 0) }
        }
    }

    /// @dev The EIP-712 digest of `r` (type {IMeterRegistry-MeterReading}, version 2), the same bytes as
    /// `_hashTypedDataV4(keccak256(abi.encode(_READING_TYPEHASH, r.meterId, ..., r.prevTimestamp)))`: a memory
    /// `MeterReading` is already the ABI encoding of its seven fields.
    /// @return digest the digest a meter signs.
    function _digest(MeterReading memory r) private view returns (bytes32 digest) {
        bytes32 domain = _domainSeparatorV4();
        bytes32 typeHash = _READING_TYPEHASH;
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer, not kept: typeHash and the seven words, then
            // "\x19\x01" ++ domain ++ structHash (as MessageHashUtils.toTypedDataHash).
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mcopy(add(ptr, 0x20), r, 0xe0)
            let structHash := keccak256(ptr, 0x100)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domain)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    /// @dev Whether `signature` is a 65-byte, low-s signature of `digest` by `signer` (`signer` is never zero): the
    /// checks of {ECDSA-tryRecoverCalldata} without its error reporting.
    function _signedBy(bytes32 digest, bytes calldata signature, address signer) private pure returns (bool) {
        if (signature.length != 65) return false;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 0x20))
            v := byte(0, calldataload(add(signature.offset, 0x40)))
        }
        // EIP-2: s in the lower half order only, so a signature has no malleable twin.
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return false;
        // ecrecover returns 0 for a wrong v or an invalid signature, never equal to `signer`.
        return ecrecover(digest, v, r, s) == signer;
    }

    /// @dev Writes `r` as the last reading into `state` with one SSTORE. Solidity packs the four uint64 fields of
    /// {MeterState} from the low-order end of the slot in declaration order: lastSeq at bit 0, lastTimestamp at 64,
    /// lastImportWh at 128, lastExportWh at 192 (the fields of `r` are clean uint64, see {_load}). Assigning the
    /// struct field by field costs about 900 gas more (a read-modify-write per field).
    function _storeState(MeterState storage state, MeterReading memory r) private {
        uint256 word =
            uint256(r.seq) | uint256(r.timestamp) << 64 | uint256(r.importWh) << 128 | uint256(r.exportWh) << 192;
        assembly ("memory-safe") {
            sstore(state.slot, word)
        }
    }

    /// @dev Validates `reading` and, when valid, applies it. The checks run in the order of the contract's doc
    /// (cheapest first, the signature last) and each returns the error {submitReading} reverts with. Each storage
    /// word is read once: the head (signer, capacity, active), the last reading, and the owner only when minting.
    /// @return err the ABI-encoded error when `reading` is invalid, empty otherwise.
    function _processReading(MeterReading calldata reading, bytes calldata signature)
        private
        returns (bytes memory err)
    {
        MeterReading memory r = _load(reading);
        bytes32 meterId = r.meterId;
        MeterRecord storage m = _meters[meterId];
        MeterHead memory head = m.head;
        if (head.signer == address(0)) return abi.encodeWithSelector(MeterUnknown.selector, meterId);
        if (!head.active) return abi.encodeWithSelector(MeterInactive.selector, meterId);
        MeterState memory prev = m.state;
        if (r.seq <= prev.lastSeq) {
            return abi.encodeWithSelector(ReadingSeqNotIncreasing.selector, meterId, r.seq, prev.lastSeq);
        }
        if (r.prevSeq != prev.lastSeq || r.prevTimestamp != prev.lastTimestamp) {
            return abi.encodeWithSelector(
                ReadingPredecessorMismatch.selector,
                meterId,
                r.prevSeq,
                r.prevTimestamp,
                prev.lastSeq,
                prev.lastTimestamp
            );
        }
        uint64 timestamp = r.timestamp;
        if (timestamp < epoch || (timestamp - epoch) % slotSeconds != 0) {
            return abi.encodeWithSelector(ReadingNotOnSlotBoundary.selector, meterId, timestamp);
        }
        uint256 latestAllowed = block.timestamp + maxClockSkewSeconds;
        if (timestamp > latestAllowed) {
            return abi.encodeWithSelector(ReadingInFuture.selector, meterId, timestamp, latestAllowed);
        }
        // Never read: lastTimestamp is 0 and timestamp >= epoch; rotated: the kept lastTimestamp is the floor.
        if (timestamp <= prev.lastTimestamp && (prev.lastSeq != 0 || prev.lastTimestamp != 0)) {
            return abi.encodeWithSelector(ReadingNotAfterPrevious.selector, meterId, timestamp, prev.lastTimestamp);
        }
        uint64 importDelta;
        uint64 exportDelta;
        if (prev.lastSeq != 0) {
            if (r.importWh < prev.lastImportWh || r.exportWh < prev.lastExportWh) {
                return abi.encodeWithSelector(ReadingRegisterDecreased.selector, meterId);
            }
            // Cannot overflow: a uint64 times a uint64 fits in a uint256; the subtractions were checked above.
            unchecked {
                uint256 maxDelta = uint256(head.capacityWhPerSlot) * ((timestamp - prev.lastTimestamp) / slotSeconds);
                importDelta = r.importWh - prev.lastImportWh;
                exportDelta = r.exportWh - prev.lastExportWh;
                if (importDelta > maxDelta) {
                    return abi.encodeWithSelector(ReadingImplausible.selector, meterId, importDelta, maxDelta);
                }
                if (exportDelta > maxDelta) {
                    return abi.encodeWithSelector(ReadingImplausible.selector, meterId, exportDelta, maxDelta);
                }
            }
        }
        if (!_signedBy(_digest(r), signature, head.signer)) {
            return abi.encodeWithSelector(ReadingSignatureInvalid.selector, meterId);
        }

        _storeState(m.state, r);
        if (prev.lastSeq == 0) {
            // First reading: sets the baseline, attributes nothing.
            emit ReadingAccepted(meterId, r.seq, timestamp, _NO_SLOT, 0, 0);
            return err;
        }
        // Cannot underflow: timestamp > lastTimestamp >= epoch (checked above), both on slot boundaries. The totals are
        // sums of uint64 deltas in uint128 words.
        unchecked {
            if (timestamp - prev.lastTimestamp == slotSeconds) {
                // The slot that ends at `timestamp`.
                uint256 slot = (timestamp - epoch) / slotSeconds - 1;
                Totals storage attributed = _attributed;
                attributed.exportWh += exportDelta;
                attributed.importWh += importDelta;
                emit ReadingAccepted(meterId, r.seq, timestamp, slot, importDelta, exportDelta);
                if ((importDelta | exportDelta) != 0) {
                    token.mintFromReading(m.owner, slot, exportDelta, importDelta);
                }
            } else {
                Totals storage unattributed = _unattributed;
                unattributed.exportWh += exportDelta;
                unattributed.importWh += importDelta;
                emit ReadingAccepted(meterId, r.seq, timestamp, _NO_SLOT, importDelta, exportDelta);
                emit EnergyUnattributed(meterId, prev.lastTimestamp, timestamp, importDelta, exportDelta);
            }
        }
    }
}
