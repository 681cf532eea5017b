"""The payment token a community names: an ERC-20 address, or the test token on local chains."""

from __future__ import annotations

DEPLOY_TEST_TOKEN = "deploy-test-token"
"""``payment_token`` value meaning "deploy a TestEuro" (local chains only)."""
LOCAL_CHAIN_IDS = frozenset({31337, 1337})
"""Chain ids of development nodes (anvil, hardhat, ganache), where the test token is allowed."""
