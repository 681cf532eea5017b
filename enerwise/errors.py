"""Exceptions of the application shell; every package has its own root besides.

    EnerwiseError
    ├── SettingsError (ValueError)      the config file or environment is invalid
    ├── OptionError (ValueError)        a command-line value is malformed (an amount, a unit)
    └── ConfirmationError               a command that asks before sending had nobody to ask

The command line prints each as one line (``enerwise/cli/user_errors.py``).
"""

from __future__ import annotations


class EnerwiseError(Exception):
    """Root of the application shell's errors: a user's mistake, told in one line."""


class SettingsError(EnerwiseError, ValueError):
    """The configuration file or environment is invalid (one line, naming the field)."""


class OptionError(EnerwiseError, ValueError):
    """A command-line value is malformed: an amount, a unit, two options that exclude each
    other (one line, naming the option)."""


class ConfirmationError(EnerwiseError):
    """A state-changing command asks before it sends; without a terminal only ``--yes`` can
    answer."""
