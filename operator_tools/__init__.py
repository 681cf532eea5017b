"""Operator tooling of an EnergyChain community market (``enerwise operator ...``).

- :mod:`operator_tools.config`   ``community.yaml``: tariffs -> price grid, roles, checks
- :mod:`operator_tools.deployer` check, deploy, grant roles, verify, record (idempotent)
- :mod:`operator_tools.meters`   register / list / rotate / deactivate meters, provisioning
- :mod:`operator_tools.admin`    pause, unpause, status with solvency check, clear due slots
- :mod:`operator_tools.roles`    grant / revoke / list AccessControl roles, checked before sending
- :mod:`operator_tools.health`   oracle health per meter (ok / late / silent) from index or chain
- :mod:`operator_tools.billing`  monthly per-household bills: one computation, reconciled, fed by
  :mod:`operator_tools.billing_chain` (``eth_getLogs``) or :mod:`operator_tools.billing_indexer`
  (the indexer's database; served at ``GET /v1/operator/billing``)
"""

from operator_tools.errors import (
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
