"""Child processes that ``diamond run`` starts ahead of the step needing them.

Some work needs only what an earlier step has already written and spends
its time on a core the current step leaves idle: the dbt parse needs no
warehouse, and the assistant's embeddings need only the parsed manifest and
the project's documents. Such work runs here as a *warm-up*: its output is
a cache that the owning step checks and completes, never trusts blindly,
so a warm-up that fails or is cut short costs time, not correctness. Its
output is discarded for the same reason; the owning step reports errors.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence

log = logging.getLogger(__name__)

_children: dict[str, subprocess.Popen] = {}


def enabled() -> bool:
    """``DIAMOND_WARM_UPS=0`` turns warm-ups off: on a machine with one core
    they would only compete with the step they run beside."""
    return os.environ.get("DIAMOND_WARM_UPS", "1").strip() != "0"


def start(name: str, argv: Sequence[str]) -> None:
    """Start the warm-up ``name`` unless one of that name is running, or
    warm-ups are turned off."""
    if name in _children or not enabled():
        return
    log.info("warm-up %s: %s", name, " ".join(argv))
    _children[name] = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait(name: str) -> None:
    """Let the warm-up ``name`` finish, so that it never writes what the
    owning step is about to read."""
    child = _children.pop(name, None)
    if child is not None:
        log.info("warm-up %s exited with %s", name, child.wait())


def stop_all() -> None:
    """End every warm-up still running, as when a step fails: their work
    would only be repeated by the next run's steps anyway."""
    while _children:
        _name, child = _children.popitem()
        if child.poll() is None:
            child.terminate()
        child.wait()
