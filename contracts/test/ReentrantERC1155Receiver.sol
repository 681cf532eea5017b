// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title ReentrantERC1155Receiver
/// @notice TEST ONLY. A contract account that, when it receives ERC-1155 tokens, calls `target` with `reentryData`
/// once (e.g. `market.withdrawEnergy(...)` again) and records the outcome instead of failing, so a test can assert
/// that the re-entry was refused. Use {execute} to act as a market user.
contract ReentrantERC1155Receiver is IERC1155Receiver {
    address public target;
    bytes public reentryData;
    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryResult;

    /// @notice Arms the hook: on the next receipt, call `target_` with `data`.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        reentryData = data;
        reentryAttempted = false;
        reentrySucceeded = false;
        delete reentryResult;
    }

    /// @notice Calls `to` with `data` as this contract, bubbling any revert.
    function execute(address to, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        (ok, result) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _reenter();
        return IERC1155Receiver.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        _reenter();
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _reenter() private {
        address to = target;
        if (to == address(0) || reentryAttempted) return;
        reentryAttempted = true;
        (bool ok, bytes memory result) = to.call(reentryData);
        reentrySucceeded = ok;
        reentryResult = result;
    }
}
