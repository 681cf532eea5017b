// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {EnergyToken} from "../../../contracts/EnergyToken.sol";
import {IEnergyToken} from "../../../contracts/interfaces/IEnergyToken.sol";
import {Test} from "../base/Test.sol";

/// @title EnergyTokenLanesTest
/// @notice Fuzz test of the token's packed storage (three slots of a holder per word, docs/contracts.md section 5)
/// against a plain model: random mints, transfers and redemptions on six consecutive slots (two words and more,
/// anywhere in the id space, the last ids included) of two holders. After every step every balance, import,
/// redemption and supply equals the model's, and every refusal is the one the model predicts: the cap of
/// MAX_AMOUNT_WH per holder and slot, too small a balance, too little import.
contract EnergyTokenLanesTest is Test {
    uint256 private constant SLOTS = 6;
    uint256 private constant HOLDERS = 2;
    uint256 private constant STEPS = 24;

    EnergyToken private token;
    uint256 private max;
    address[HOLDERS] private holders;
    uint256 private base;

    uint256[SLOTS][HOLDERS] private balance;
    uint256[SLOTS][HOLDERS] private imported;
    uint256[SLOTS][HOLDERS] private redeemed;
    uint256[SLOTS] private supply;

    function setUp() public {
        token = new EnergyToken("uri"); // this test is its registry
        max = token.MAX_AMOUNT_WH();
        holders[0] = makeAddr("alice");
        holders[1] = makeAddr("bob");
    }

    function testFuzz_packedSlotsBehaveLikeSeparateAccounts(uint256 baseSeed, uint256 seed) public {
        vm.assertEq(max, 2 ** 42 - 1, "the cap is 42 bits");
        // Low ids, any ids, or the last ids of the space.
        uint256 mode = baseSeed % 3;
        base = mode == 0
            ? bound(baseSeed >> 2, 0, 10)
            : mode == 1 ? bound(baseSeed >> 2, 0, type(uint256).max - SLOTS) : type(uint256).max - SLOTS + 1;
        for (uint256 step; step < STEPS; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            uint256 h = r % HOLDERS;
            uint256 k = (r >> 8) % SLOTS;
            uint256 kind = (r >> 16) % 3;
            if (kind == 0) _mint(h, k, r >> 24);
            else if (kind == 1) _transfer(h, (r >> 24) % HOLDERS, k, r >> 32);
            else _redeem(h, k, r >> 24);
            _checkAll();
        }
    }

    /// @dev Small or large amounts, so that both the everyday path and the cap are reached.
    function _amount(uint256 r) private view returns (uint256) {
        return r % 2 == 0 ? bound(r >> 1, 0, 10_000) : bound(r >> 1, 0, max);
    }

    function _mint(uint256 h, uint256 k, uint256 r) private {
        uint256 exportWh = _amount(r);
        uint256 importWh = _amount(r >> 64);
        address holder = holders[h];
        uint256 slot = base + k;
        if (balance[h][k] + exportWh > max) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEnergyToken.EnergyTokenBalanceOverflow.selector, holder, slot, balance[h][k] + exportWh
                )
            );
        } else if (imported[h][k] + importWh > max) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEnergyToken.EnergyTokenImportOverflow.selector, holder, slot, imported[h][k] + importWh
                )
            );
        } else {
            balance[h][k] += exportWh;
            imported[h][k] += importWh;
            supply[k] += exportWh;
        }
        token.mintFromReading(holder, slot, uint64(exportWh), uint64(importWh));
    }

    function _transfer(uint256 from, uint256 to, uint256 k, uint256 r) private {
        // Up to one more than the sender holds, or a large amount.
        uint256 value = r % 2 == 0 ? bound(r >> 1, 0, balance[from][k] + 1) : _amount(r >> 1);
        uint256 slot = base + k;
        if (value > balance[from][k]) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IERC1155Errors.ERC1155InsufficientBalance.selector, holders[from], balance[from][k], value, slot
                )
            );
        } else if (from != to && balance[to][k] + value > max) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEnergyToken.EnergyTokenBalanceOverflow.selector, holders[to], slot, balance[to][k] + value
                )
            );
        } else {
            balance[from][k] -= value;
            balance[to][k] += value;
        }
        vm.prank(holders[from]);
        token.safeTransferFrom(holders[from], holders[to], slot, value, "");
    }

    function _redeem(uint256 h, uint256 k, uint256 r) private {
        uint256 redeemable = imported[h][k] - redeemed[h][k];
        // Often exactly within both limits, sometimes above one of them.
        uint256 amount = r % 2 == 0 ? bound(r >> 1, 0, _min(redeemable, balance[h][k]) + 1) : _amount(r >> 1);
        address holder = holders[h];
        uint256 slot = base + k;
        if (amount == 0) {
            vm.expectRevert(IEnergyToken.EnergyTokenZeroAmount.selector);
        } else if (amount > redeemable) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEnergyToken.EnergyTokenRedeemExceedsImport.selector, holder, slot, amount, redeemable
                )
            );
        } else if (amount > balance[h][k]) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IERC1155Errors.ERC1155InsufficientBalance.selector, holder, balance[h][k], amount, slot
                )
            );
        } else {
            balance[h][k] -= amount;
            redeemed[h][k] += amount;
            supply[k] -= amount;
        }
        vm.prank(holder);
        token.redeem(slot, uint64(amount));
    }

    function _checkAll() private view {
        for (uint256 k; k < SLOTS; ++k) {
            uint256 slot = base + k;
            vm.assertEq(token.totalSupply(slot), supply[k], "totalSupply");
            for (uint256 h; h < HOLDERS; ++h) {
                vm.assertEq(token.balanceOf(holders[h], slot), balance[h][k], "balanceOf");
                vm.assertEq(token.importedWh(holders[h], slot), imported[h][k], "importedWh");
                vm.assertEq(token.redeemedWh(holders[h], slot), redeemed[h][k], "redeemedWh");
            }
        }
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
