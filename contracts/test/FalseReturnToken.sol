// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FalseReturnToken
/// @notice TEST ONLY. An ERC-20 that returns `false` instead of reverting when a transfer cannot be made
/// (insufficient balance or allowance), and moves nothing then. With `failAlways` set, every transfer returns false.
/// Anyone may mint.
contract FalseReturnToken {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    string public constant name = "False Return Token";
    string public constant symbol = "FRT";
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    bool public failAlways;
    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function setFailAlways(bool fail) external {
        failAlways = fail;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        return _move(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (failAlways || allowed < amount) return false;
        if (!_move(from, to, amount)) return false;
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        return true;
    }

    function _move(address from, address to, uint256 amount) private returns (bool) {
        if (failAlways || balanceOf[from] < amount) return false;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        return true;
    }
}
