"""The key-management tests' known secrets: distinctive passwords (a leak is found by a plain
substring search), the fast scrypt cost of the keystores written through the API, and
anvil/hardhat's well-known dev mnemonic and its first accounts (local chains only)."""

from __future__ import annotations

FAST_SCRYPT_N = 2**10
PASSWORD = "Corr3ct-horse-battery-staple-pw"
OTHER_PASSWORD = "An0ther-different-secret-pw"
TEST_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ANVIL_ADDRESS_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
