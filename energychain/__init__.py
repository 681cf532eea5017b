"""EnergyChain, the protocol, in Python: one typed client that every package uses.

- :mod:`energychain.units`         ``NewType`` units (Wh, Tick, BaseUnits, MicroEur), conversions
- :mod:`energychain.calendar`      the slot calendar (epoch, slot length, order windows)
- :mod:`energychain.abi`           answers and constructor arguments by ABI name
- :mod:`energychain.records`       what the contracts store, as typed records
- :mod:`energychain.contracts`     ``ContractHandle``: calls with typed errors, tx requests
- :mod:`energychain.market`, :mod:`energychain.registry`, :mod:`energychain.tokens`
                                   the façades: typed reads and transaction builders
- :mod:`energychain.events`        ``EventReader``: chunked log reads with one retry policy
- :mod:`energychain.meter_reading` the signed ``MeterReading`` and its EIP-712 schema
- :mod:`energychain.delegation`    agent keys (grant, revoke, list)
- :mod:`energychain.deploy`        deploying and finding a deployment (``EnergyChain``)

The market parameters are :class:`market.clearing.MarketParams`, the clearing rule's own type.
This ``__init__`` imports nothing: ``energychain.units`` and ``energychain.calendar`` load
without web3.
"""
