"""Meter oracles: read meters (Modbus TCP, MQTT, simulated), sign readings (EIP-712), keep them
in a durable outbox, submit them in archived batches, and audit what landed on chain.

See docs/oracles.md. Import the modules themselves (``oracles.runner.build_runner``,
``oracles.outbox.Outbox``, ...): this package's ``__init__`` imports nothing, so a command that
only needs ``oracles.errors`` does not load web3 or pymodbus.
"""
