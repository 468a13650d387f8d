"""An exclusive lock between processes, held on a file of its own.

The things diamond guards this way (the erasure register, the synthetic
cache, the incidents in the audit log) are replaced by rename or appended
to under locks of their own, so each gets a lock file beside it that is
never replaced: a lock on a file that a rename swaps out protects nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold ``lock_file`` (created, owner-only, if missing) until the block
    ends. Not re-entrant: taking it again in the same process waits."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(fd)
