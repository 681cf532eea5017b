"""Keys, signers and the transaction pipeline (``wallet.transactions.TransactionSender``).

Import the modules themselves; this package's ``__init__`` imports nothing, so a command that
only needs ``wallet.errors`` does not load web3.
"""
