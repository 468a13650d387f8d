"""Errors the assistant reports to people."""

from __future__ import annotations

from diamond.errors import DiamondError


class RagError(DiamondError):
    """The assistant cannot run as asked; the message says what to do."""
