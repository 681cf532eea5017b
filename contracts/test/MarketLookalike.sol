// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";

/// @title MarketLookalike
/// @notice TEST ONLY. Answers the views {CityPool-addCommunity} reads of a market: a copy of a real market's answers
/// at construction, each of which a test may change, so that every mismatch the pool checks (also those a real
/// market cannot produce, such as its registry's energy token with another epoch) and a full set of communities
/// can be set up cheaply. It trades nothing.
contract MarketLookalike {
    address public registry;
    address public energyToken;
    address public paymentToken;
    uint64 public epoch;
    uint32 public slotSeconds;
    IEnergyMarket.MarketParams private _params;

    constructor(IEnergyMarket source) {
        registry = address(source.registry());
        energyToken = address(source.energyToken());
        paymentToken = address(source.paymentToken());
        epoch = source.epoch();
        slotSeconds = source.slotSeconds();
        _params = source.params();
    }

    function params() external view returns (IEnergyMarket.MarketParams memory) {
        return _params;
    }

    function setRegistry(address registry_) external {
        registry = registry_;
    }

    function setEnergyToken(address energyToken_) external {
        energyToken = energyToken_;
    }

    function setPaymentToken(address paymentToken_) external {
        paymentToken = paymentToken_;
    }

    function setCalendar(uint64 epoch_, uint32 slotSeconds_, uint32 settlementSeconds) external {
        epoch = epoch_;
        slotSeconds = slotSeconds_;
        _params.settlementSeconds = settlementSeconds;
    }

    function setPriceGrid(uint256 priceFloor, uint256 tickSize, uint16 maxTick) external {
        _params.priceFloor = priceFloor;
        _params.tickSize = tickSize;
        _params.maxTick = maxTick;
    }
}
