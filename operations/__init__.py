"""Operator tooling of an EnergyChain community market (``enerwise operator ...``).

- :mod:`operations.config`   ``community.yaml``: tariffs -> price grid, roles, checks
- :mod:`operations.deployer` check, deploy, grant roles, verify, record (idempotent)
- :mod:`operations.meters`   register / list / rotate / deactivate meters, provisioning
- :mod:`operations.admin`    pause, unpause, status with solvency check, clear due slots
- :mod:`operations.roles`    grant / revoke / list AccessControl roles, checked before sending
- :mod:`operations.health`   oracle health per meter (ok / late / silent) from index or chain
- :mod:`operations.billing`  monthly per-household bills: one computation, reconciled, fed by
  :mod:`operations.billing_chain` (``eth_getLogs``) or :mod:`operations.billing_indexer`
  (the indexer's database; served at ``GET /v1/operator/billing``)
"""

from operations.errors import (
    BillingError,
    CommunityConfigError,
    DeploymentMismatchError,
    MeterError,
    OperatorError,
    PreflightError,
    RoleMissingError,
)

__all__ = [
    "BillingError",
    "CommunityConfigError",
    "DeploymentMismatchError",
    "MeterError",
    "OperatorError",
    "PreflightError",
    "RoleMissingError",
]
