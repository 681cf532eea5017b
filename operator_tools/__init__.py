"""Operator tooling of an EnergyChain community market (``enerwise operator ...``).

- :mod:`operator_tools.config`   ``community.yaml``: tariffs -> price grid, roles, checks
- :mod:`operator_tools.deployer` check, deploy, grant roles, verify, record (idempotent)
- :mod:`operator_tools.meters`   register / list / rotate / deactivate meters, provisioning
- :mod:`operator_tools.admin`    pause, unpause, status with solvency check, clear due slots
- :mod:`operator_tools.billing`  monthly per-household bills from chain events, reconciled
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
