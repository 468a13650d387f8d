"""Read the append-only JSON-lines files diamond keeps (traces, alerts,
incidents beside the audit log).

They are written one line at a time and may end in a line cut short by a
crash, or be edited by hand, so a line that is not JSON is skipped with a
warning naming it rather than losing every other record, and so is one
that is JSON but not an object. The audit log is not read this way: there
a damaged line is evidence and raises.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every JSON line of ``path`` in order; none when it does not exist."""
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            log.warning("%s line %d is not JSON; skipped", path, number)
            continue
        if not isinstance(value, dict):
            log.warning("%s line %d is not a JSON object; skipped", path, number)
            continue
        records.append(value)
    return records
