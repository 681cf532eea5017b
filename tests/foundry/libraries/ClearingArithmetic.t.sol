// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Clearing} from "../../../contracts/libraries/Clearing.sol";
import {Test} from "../base/Test.sol";

/// @title ClearingArithmeticTest
/// @notice Fuzz tests of the {Clearing} roundings (docs/contracts.md sections 1 and 7): every rounding is against the
/// trader and in favour of the market, by less than one unit, within the bounds the library states
/// (qty < 2^64, R <= Q < 2^96, price < 2^128, feeBps <= 10,000).
contract ClearingArithmeticTest is Test {
    uint256 private constant MAX_QTY = type(uint64).max;
    uint256 private constant MAX_TOTAL = type(uint96).max;
    uint256 private constant MAX_PRICE = type(uint128).max;

    function testFuzz_costIsTheExactValueRoundedUp(uint256 qtyWh, uint256 price) public pure {
        qtyWh = bound(qtyWh, 0, MAX_QTY);
        price = bound(price, 0, MAX_PRICE);
        uint256 paid = Clearing.cost(qtyWh, price);
        vm.assertGe(paid * 1000, qtyWh * price, "a buyer pays at least the exact value");
        if (paid != 0) vm.assertLt((paid - 1) * 1000, qtyWh * price, "and less than one unit more");
    }

    function testFuzz_proceedsAreTheExactValueRoundedDown(uint256 qtyWh, uint256 price) public pure {
        qtyWh = bound(qtyWh, 0, MAX_QTY);
        price = bound(price, 0, MAX_PRICE);
        uint256 gross = Clearing.proceeds(qtyWh, price);
        vm.assertLe(gross * 1000, qtyWh * price, "a seller is paid at most the exact value");
        vm.assertGt((gross + 1) * 1000, qtyWh * price, "and less than one unit less");
    }

    function testFuzz_whatABuyerPaysCoversWhatASellerIsPaidForTheSameEnergy(uint256 qtyWh, uint256 price) public pure {
        qtyWh = bound(qtyWh, 0, MAX_QTY);
        price = bound(price, 0, MAX_PRICE);
        uint256 paid = Clearing.cost(qtyWh, price);
        uint256 gross = Clearing.proceeds(qtyWh, price);
        vm.assertGe(paid, gross, "cost >= proceeds");
        vm.assertLe(paid - gross, 1, "the difference is at most one base unit");
    }

    function testFuzz_feeRoundsUpAndNeverExceedsTheGross(uint256 gross, uint256 feeBps) public pure {
        gross = bound(gross, 0, MAX_QTY * MAX_PRICE / 1000);
        feeBps = bound(feeBps, 0, 10_000);
        uint256 fee = Clearing.fee(gross, feeBps);
        vm.assertGe(fee * 10_000, gross * feeBps, "the fee is at least the exact share");
        if (fee != 0) vm.assertLt((fee - 1) * 10_000, gross * feeBps, "by less than one unit");
        vm.assertLe(fee, gross, "the fee never exceeds the gross");
    }

    function testFuzz_costIsMonotoneInQuantityAndPrice(uint256 qtyWh, uint256 price, uint256 moreWh, uint256 morePrice)
        public
        pure
    {
        qtyWh = bound(qtyWh, 0, MAX_QTY - 1);
        moreWh = bound(moreWh, qtyWh, MAX_QTY);
        price = bound(price, 0, MAX_PRICE - 1);
        morePrice = bound(morePrice, price, MAX_PRICE);
        vm.assertLe(Clearing.cost(qtyWh, price), Clearing.cost(moreWh, price), "more energy never costs less");
        vm.assertLe(Clearing.cost(qtyWh, price), Clearing.cost(qtyWh, morePrice), "a higher price never costs less");
    }

    /// @dev A buy at the marginal tick of a rationed side: it receives floor(q*R/Q) and pays for ceil(q*R/Q).
    function testFuzz_marginalBuyIsProRataWithinOneWhRoundedAgainstTheBuyer(
        uint256 qtyWh,
        uint256 filled,
        uint256 total
    ) public pure {
        total = bound(total, 2, MAX_TOTAL);
        filled = bound(filled, 1, total - 1);
        qtyWh = bound(qtyWh, 1, total < MAX_QTY ? total : MAX_QTY);
        (uint256 received, uint256 paidFor) = Clearing.buyFill(qtyWh, 7, 7, filled, total);
        uint256 exact = qtyWh * filled; // the share times Q
        vm.assertLe(received * total, exact, "receives at most its exact share");
        vm.assertGt((received + 1) * total, exact, "and less than one Wh less");
        vm.assertGe(paidFor * total, exact, "pays for at least its exact share");
        vm.assertLt((paidFor - 1) * total, exact, "and less than one Wh more (q * R >= 1, so it pays for >= 1)");
        vm.assertLe(paidFor - received, 1, "pays for at most one Wh it does not receive");
        vm.assertLe(paidFor, qtyWh, "never pays for more than it ordered");
    }

    /// @dev A sell at the marginal tick of a rationed side: it gives ceil(q*R/Q) and is paid for floor(q*R/Q).
    function testFuzz_marginalSellIsProRataWithinOneWhRoundedAgainstTheSeller(
        uint256 qtyWh,
        uint256 filled,
        uint256 total
    ) public pure {
        total = bound(total, 2, MAX_TOTAL);
        filled = bound(filled, 1, total - 1);
        qtyWh = bound(qtyWh, 1, total < MAX_QTY ? total : MAX_QTY);
        (uint256 given, uint256 paidFor) = Clearing.sellFill(qtyWh, 7, 7, filled, total);
        uint256 exact = qtyWh * filled;
        vm.assertGe(given * total, exact, "gives at least its exact share");
        if (given != 0) vm.assertLt((given - 1) * total, exact, "and less than one Wh more");
        vm.assertLe(paidFor * total, exact, "is paid for at most its exact share");
        vm.assertGt((paidFor + 1) * total, exact, "and less than one Wh less");
        vm.assertLe(given - paidFor, 1, "gives at most one Wh it is not paid for");
        vm.assertLe(given, qtyWh, "never gives more than it offered");
    }

    function testFuzz_ordersBetterThanTheMarginFillFullyWorseOnesNotAtAll(
        uint256 qtyWh,
        uint16 tick,
        uint16 marginal,
        uint256 filled,
        uint256 total
    ) public pure {
        qtyWh = bound(qtyWh, 1, MAX_QTY);
        total = bound(total, 1, MAX_TOTAL);
        filled = bound(filled, 1, total);
        vm.assume(tick != marginal);
        (uint256 received, uint256 buyPaidFor) = Clearing.buyFill(qtyWh, tick, marginal, filled, total);
        (uint256 given, uint256 sellPaidFor) = Clearing.sellFill(qtyWh, tick, marginal, filled, total);
        if (tick > marginal) {
            vm.assertEq(received, qtyWh, "a buy above the margin receives all");
            vm.assertEq(buyPaidFor, qtyWh, "and pays for all");
            vm.assertEq(given, 0, "a sell above the margin gives nothing");
            vm.assertEq(sellPaidFor, 0, "and is paid nothing");
        } else {
            vm.assertEq(received, 0, "a buy below the margin receives nothing");
            vm.assertEq(buyPaidFor, 0, "and pays nothing");
            vm.assertEq(given, qtyWh, "a sell below the margin gives all");
            vm.assertEq(sellPaidFor, qtyWh, "and is paid for all");
        }
    }

    function testFuzz_aMarginWithoutRationingFillsFully(uint256 qtyWh, uint256 total) public pure {
        total = bound(total, 1, MAX_TOTAL);
        qtyWh = bound(qtyWh, 1, total < MAX_QTY ? total : MAX_QTY);
        (uint256 received, uint256 buyPaidFor) = Clearing.buyFill(qtyWh, 3, 3, total, total);
        (uint256 given, uint256 sellPaidFor) = Clearing.sellFill(qtyWh, 3, 3, total, total);
        vm.assertEq(received, qtyWh, "R == Q: the buy receives all");
        vm.assertEq(buyPaidFor, qtyWh, "and pays for all");
        vm.assertEq(given, qtyWh, "R == Q: the sell gives all");
        vm.assertEq(sellPaidFor, qtyWh, "and is paid for all");
    }

    function testFuzz_noClearingFillsNothing(uint256 qtyWh, uint16 tick, uint16 marginal, uint256 total) public pure {
        qtyWh = bound(qtyWh, 1, MAX_QTY);
        total = bound(total, 0, MAX_TOTAL);
        (uint256 received, uint256 buyPaidFor) = Clearing.buyFill(qtyWh, tick, marginal, 0, total);
        (uint256 given, uint256 sellPaidFor) = Clearing.sellFill(qtyWh, tick, marginal, 0, total);
        vm.assertEq(received + buyPaidFor + given + sellPaidFor, 0, "R == 0 means no trade");
    }

    /// @dev The orders resting at one marginal tick share R: split Q into up to 16 orders and add their fills up.
    /// Buyers receive R minus less than one Wh per order and pay for R plus less than one Wh per order; sellers
    /// the other way round.
    function testFuzz_theMarginalOrdersShareRWithinOneWhPerOrder(uint256 seed, uint256 n, uint256 filled) public pure {
        n = bound(n, 1, 16);
        uint256 total;
        uint256[] memory qty = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            qty[i] = bound(uint256(keccak256(abi.encode(seed, i))), 1, 1 + ((seed >> (i * 8)) & 0xffff) * 1e9);
            total += qty[i];
        }
        filled = bound(filled, 1, total);
        uint256 received;
        uint256 buyPaidFor;
        uint256 given;
        uint256 sellPaidFor;
        for (uint256 i; i < n; ++i) {
            (uint256 r, uint256 bp) = Clearing.buyFill(qty[i], 1, 1, filled, total);
            (uint256 g, uint256 sp) = Clearing.sellFill(qty[i], 1, 1, filled, total);
            received += r;
            buyPaidFor += bp;
            given += g;
            sellPaidFor += sp;
        }
        vm.assertLe(received, filled, "buyers receive at most R");
        vm.assertGt(received + n, filled, "and less than one Wh per order less");
        vm.assertGe(buyPaidFor, filled, "buyers pay for at least R");
        vm.assertLt(buyPaidFor, filled + n, "and less than one Wh per order more");
        vm.assertGe(given, filled, "sellers give at least R");
        vm.assertLt(given, filled + n, "and less than one Wh per order more");
        vm.assertLe(sellPaidFor, filled, "sellers are paid for at most R");
        vm.assertGt(sellPaidFor + n, filled, "and less than one Wh per order less");
    }
}
