// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Clearing} from "../../../contracts/libraries/Clearing.sol";
import {Test} from "../base/Test.sol";

/// @title ClearingArithmeticSymbolic
/// @notice halmos `check_*` functions: the {Clearing} roundings proved for every input within the stated bounds
/// (not sampled). halmos explores every path with symbolic arguments and fails a check when some input violates an
/// `assert`; `vm.assume` restricts the inputs. forge ignores `check_*` functions.
contract ClearingArithmeticSymbolic is Test {
    function check_costIsTheExactValueRoundedUp(uint16 qtyWh, uint16 price) public pure {
        uint256 paid = Clearing.cost(qtyWh, price);
        uint256 exact = uint256(qtyWh) * price;
        assert(paid * 1000 >= exact);
        assert(paid == 0 || (paid - 1) * 1000 < exact);
    }

    function check_proceedsAreTheExactValueRoundedDown(uint32 qtyWh, uint32 price) public pure {
        uint256 gross = Clearing.proceeds(qtyWh, price);
        uint256 exact = uint256(qtyWh) * price;
        assert(gross * 1000 <= exact);
        assert((gross + 1) * 1000 > exact);
    }

    function check_feeNeverExceedsTheGross(uint64 gross, uint16 feeBps) public pure {
        vm.assume(feeBps <= 10_000);
        uint256 fee = Clearing.fee(gross, feeBps);
        assert(fee <= gross);
        assert(fee * 10_000 >= uint256(gross) * feeBps);
    }

    function check_marginalBuyIsProRataWithinOneWh(uint8 qtyWh, uint8 filled, uint8 total) public pure {
        vm.assume(0 < filled && filled < total && qtyWh <= total && qtyWh != 0);
        (uint256 received, uint256 paidFor) = Clearing.buyFill(qtyWh, 5, 5, filled, total);
        uint256 exact = uint256(qtyWh) * filled;
        assert(received * total <= exact && exact < (received + 1) * total);
        assert(paidFor * total >= exact && (paidFor - 1) * total < exact);
    }

    function check_marginalSellIsProRataWithinOneWh(uint16 qtyWh, uint16 filled, uint16 total) public pure {
        vm.assume(0 < filled && filled < total && qtyWh <= total && qtyWh != 0);
        (uint256 given, uint256 paidFor) = Clearing.sellFill(qtyWh, 5, 5, filled, total);
        uint256 exact = uint256(qtyWh) * filled;
        assert(given * total >= exact && (given - 1) * total < exact);
        assert(paidFor * total <= exact && exact < (paidFor + 1) * total);
    }
}
