"""The grid agent: power flows on pandapower's benchmark networks, transfer limits per
community and slot, and a check of cleared schedules (docs/grid.md).

Modules: :mod:`grid.catalogue` (networks by name), :mod:`grid.network` (a prepared network and
its feeders), :mod:`grid.layout` (communities and households on buses), :mod:`grid.powerflow`
(engines), :mod:`grid.search` (the boundary search), :mod:`grid.operator` (limits and checks),
:mod:`grid.limits` (what is published, and events), :mod:`grid.check` (schedule reports),
:mod:`grid.households` (net energies of the agents' real-data households), :mod:`grid.benchmark`.

The package imports nothing here: `grid.errors` (which the command line loads at start) must
not pull pandapower, pandas or numpy in.
"""
