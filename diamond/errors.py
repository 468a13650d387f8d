"""Errors diamond reports to people: each message names what was wrong,
where (file, row, column or setting) and what to do about it."""

from __future__ import annotations


class DiamondError(RuntimeError):
    """Base class for errors that end a command with a clear message."""


class IngestError(DiamondError):
    """The source release cannot be loaded; nothing stored was changed."""


class ConfigError(DiamondError):
    """A setting is missing or wrong; the message says which and how to fix it."""
