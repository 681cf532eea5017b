"""Development chains driven from Python (anvil or the in-process chain), never real networks.

- :mod:`devchain.control`        move time, mine, snapshot, fund accounts
- :mod:`devchain.sandbox`        a throwaway EnergyChain deployment acting for many accounts
- :mod:`devchain.chain_engine`   an order book cleared by the contracts (``auction clear``)
- :mod:`devchain.meter_registry` a bare MeterRegistry and meter registration (oracle tests, bench)
"""
