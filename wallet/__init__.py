"""Keys, signers and the transaction pipeline."""

from wallet.errors import (
    FeeCapExceededError,
    InsufficientFundsError,
    SignerError,
    TransactionError,
    TransactionRevertedError,
    WalletError,
)
from wallet.fees import FeePolicy, Fees
from wallet.nonces import NonceManager
from wallet.signer import LocalKeySigner, Signer
from wallet.transactions import TransactionSender, TxRequest

__all__ = [
    "FeeCapExceededError",
    "FeePolicy",
    "Fees",
    "InsufficientFundsError",
    "LocalKeySigner",
    "NonceManager",
    "Signer",
    "SignerError",
    "TransactionError",
    "TransactionRevertedError",
    "TransactionSender",
    "TxRequest",
    "WalletError",
]
