// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title RejectingERC1155Receiver
/// @notice TEST ONLY. A contract account that refuses every ERC-1155 transfer to it (its hooks revert). Use
/// {execute} to act as a market user, e.g. to see `withdrawEnergy` fail with nothing lost.
contract RejectingERC1155Receiver is IERC1155Receiver {
    error RejectingERC1155ReceiverRejected();

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

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        revert RejectingERC1155ReceiverRejected();
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        revert RejectingERC1155ReceiverRejected();
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }
}
