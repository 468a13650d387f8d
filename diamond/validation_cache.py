"""Remember releases that already passed validation.

great_expectations takes several seconds over a full release. Its verdict
depends only on the bytes of the files, the contract and the library
version, so a release that passed once under the same contract and version
passes again: ingest reuses the stored report (marked as reused, with the
time of the original validation) and still parses every file, so types and
headers are always checked. ``diamond ingest --revalidate`` ignores the
cache.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from pathlib import Path
from typing import Any

from diamond import contracts, lahman

log = logging.getLogger(__name__)


def cache_key(fingerprint: str) -> str:
    """Hash of everything the verdict depends on."""
    contract = repr(lahman.TABLES) + repr(contracts.REFERENCE_MOSTLY)
    parts = [
        fingerprint,
        hashlib.sha256(contract.encode()).hexdigest(),
        importlib.metadata.version("great_expectations"),
        importlib.metadata.version("diamond"),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def lookup(folder: Path, fingerprint: str) -> dict[str, Any] | None:
    """The stored passing report for this release, if there is one."""
    path = folder / f"{cache_key(fingerprint)}.json"
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        log.warning("ignoring unreadable validation cache entry %s", path)
        return None
    return report if report.get("success") is True else None


def store(folder: Path, fingerprint: str, report: dict[str, Any]) -> None:
    """Keep a passing report for later runs on the same release."""
    if report.get("success") is not True:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{cache_key(fingerprint)}.json"
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(report, default=str))
    partial.replace(path)
