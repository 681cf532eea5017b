"""The household gateway: one service for a household's oracle, trading agent and devices.

- :mod:`gateway.execution` the agent's plan carried out on the devices, plan against actual
- :mod:`gateway.observations` what the meters and devices saw per slot (the agent's history)
- :mod:`gateway.service` the service ``enerwise agent run --config household.yaml`` runs
"""
