"""Defaults of the wallet that the command line shows without loading the crypto libraries."""

from __future__ import annotations

DEFAULT_DERIVATION_PATH = "m/44'/60'/0'/0/0"
"""BIP-44 path of the first Ethereum account of a mnemonic."""
KEYSTORE_DIR_ENV = "ENERWISE_KEYSTORE_DIR"
"""Environment variable naming the keystore folder (default ``~/.enerwise/keystore``)."""
