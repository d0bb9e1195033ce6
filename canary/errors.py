"""The few exception types the project raises; the CLI prints them as one line."""

from __future__ import annotations


class CanaryError(Exception):
    """Base of every error meant for a user: its message says what to do."""


class ConfigError(CanaryError):
    """canary.toml or the environment is wrong."""


class InputError(CanaryError):
    """A file, table, address or number given to a command cannot be used."""


class NotFound(CanaryError):
    """A copy, hit or other record that was asked for does not exist."""


class StoreError(CanaryError):
    """The store cannot be opened, migrated or written."""
