"""Exceptions of the application shell (settings); every package has its own root besides."""

from __future__ import annotations


class SettingsError(ValueError):
    """The configuration file or environment is invalid (one line, naming the field)."""
