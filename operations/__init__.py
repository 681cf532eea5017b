"""Operator tooling of an EnergyChain community market (``enerwise operator ...``).

- :mod:`operations.config`   ``community.yaml``: tariffs -> price grid, roles, checks
- :mod:`operations.deployer` check, deploy, grant roles, verify, record (idempotent)
- :mod:`operations.meters`   register / list / rotate / deactivate meters, provisioning
- :mod:`operations.admin`    pause, unpause, status with solvency check, clear due slots
- :mod:`operations.roles`    grant / revoke / list AccessControl roles, checked before sending
- :mod:`operations.health`   oracle health per meter (ok / late / silent) from index or chain
- :mod:`operations.billing`  the community's monthly bill from the chain (the computation is
  the shared :mod:`billing` package, which the indexer's API also serves)

Errors: :mod:`operations.errors` (root ``OperatorError``).
"""
