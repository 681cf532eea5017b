"""Exceptions raised by the agents package.

Every exception derives from :class:`AgentError`, so callers can catch the whole package at
once; each concrete error also inherits the builtin it refines, so ``except ValueError`` works
too::

    AgentError(Exception)
    ├── DataError(AgentError, ValueError)            a shipped data file is missing or malformed
    ├── ConfigError(AgentError, ValueError)          a parameter outside its documented range
    ├── ForecastError(AgentError, ValueError)        a forecaster used before fit, bad horizon
    ├── PolicyError(AgentError, ValueError)          a policy or checkpoint that cannot be used
    ├── AgentRuntimeError(AgentError, RuntimeError)  the live agent cannot act (no delegation,
    │   │                                            expired, node away, unusable state file)
    │   └── NodeUnreachableError(AgentRuntimeError, ConnectionError)  the node stayed away
    │                                                through every retry (`agent run` waits)
    └── SolverError(AgentError, RuntimeError)        the perfect-foresight program did not solve
"""


class AgentError(Exception):
    """Root of every exception raised by the agents package."""


class DataError(AgentError, ValueError):
    """A data file shipped by a registry package is missing, unreadable or malformed."""


class ConfigError(AgentError, ValueError):
    """A configuration value outside its documented range."""


class ForecastError(AgentError, ValueError):
    """A forecaster that cannot produce the forecast asked for (not fitted, bad horizon)."""


class PolicyError(AgentError, ValueError):
    """A policy, checkpoint or exported model that is missing or does not fit the environment."""


class SolverError(AgentError, RuntimeError):
    """The perfect-foresight (mixed-integer) linear program did not reach an optimum."""


class AgentRuntimeError(AgentError, RuntimeError):
    """The live agent cannot act: no delegation, expired, wrong chain, unusable state file."""


class NodeUnreachableError(AgentRuntimeError, ConnectionError):
    """The node did not answer through every retry of a read (``agent run`` waits for it)."""
