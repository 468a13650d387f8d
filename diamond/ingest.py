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
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from diamond import validation_cache
from diamond.contracts import ContractError, parse_release, validate_tables
from diamond.errors import IngestError
from diamond.loaders import Loader, LoadRecord, get_loader
from diamond.settings import cache_dir, check_target, project_dir
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


def _report_folder() -> Path:
    """``ingest/`` inside dbt's target folder.

    dbt writes its artifacts to ``DBT_TARGET_PATH`` when it is set; the
    validation reports follow it, so a scratch run leaves the project's own
    ``target/`` untouched.
    """
    raw = os.environ.get("DBT_TARGET_PATH")
    folder = Path(raw) if raw else Path("target")
    if not folder.is_absolute():
        folder = project_dir() / folder
    return folder / "ingest"


def _write_report(load_id: str, report: dict) -> Path:
    folder = _report_folder()
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


def _unopened_record(
    source: str | None, target: str, load_id: str, started: datetime, error: str
) -> LoadRecord:
    """A failed attempt whose release could not even be opened.

    Version and fingerprint are unknown, so they stay null.
    """
    return LoadRecord(
        load_id=load_id,
        target=target,
        status="failed",
        source=source or "lahman package",
        source_version=None,
        source_fingerprint=None,
        files=json.dumps({}),
        row_count=0,
        validation_success=False,
        validation=json.dumps({}),
        error=error,
        started_at=started,
        finished_at=_now(),
    )


def _log_failure(loader: Loader, record: LoadRecord) -> None:
    """Append a failed attempt to the load log, without masking the error."""
    try:
        loader.log_failure(record)
    except IngestError as exc:
        log.warning("could not record the failed load: %s", exc)


def _table_of(file_name: str) -> str:
    from diamond.lahman import TABLES_BY_FILE

    return TABLES_BY_FILE[file_name].name


def ingest(
    target: str | None = None,
    source: str | None = None,
    *,
    force: bool = False,
    revalidate: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> IngestResult:
    """Validate a release and load it into ``target``'s raw schema."""
    target = check_target(target)
    began = time.perf_counter()
    started = _now()
    load_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    progress(f"opening {source or 'the packaged Lahman release'}")
    loader = get_loader(target)
    try:
        release = open_release(source)
    except IngestError as exc:
        _log_failure(
            loader, _unopened_record(source, target, load_id, started, str(exc))
        )
        raise
    if not force and loader.last_loaded_fingerprint() == release.fingerprint:
        progress(f"{target}: raw data already match this release; nothing to do")
        return IngestResult(
            load_id,
            target,
            "unchanged",
            release.location,
            release.version,
            release.fingerprint,
            len(release.files),
            0,
            time.perf_counter() - began,
            None,
        )
    cache = cache_dir() / "validations"
    known = None if revalidate else validation_cache.lookup(cache, release.fingerprint)
    try:
        if known is not None:
            progress(
                f"parsing {len(release.files)} tables ({release.version}); this "
                f"release passed validation at {known.get('validated_at')}"
            )
            tables = parse_release(release.files, release.checksums)
            report = {**known, "reused_validation_of": known.get("validated_at")}
        else:
            progress(f"validating {len(release.files)} tables ({release.version})")
            tables, report = validate_tables(release.files, release.checksums)
            report["validated_at"] = _now().isoformat()
            validation_cache.store(cache, release.fingerprint, report)
    except IngestError as exc:
        report = exc.report if isinstance(exc, ContractError) else {"tables": {}}
        report["success"] = False
        report["error"] = str(exc)
        _write_report(load_id, report)
        _log_failure(
            loader,
            _record(release, target, load_id, started, report, "failed", str(exc)),
        )
        raise
    report_path = _write_report(load_id, report)
    rows = sum(t.rows for t in tables)
    progress(f"loading {len(tables)} tables, {rows:,} rows into {target}")
    try:
        loader.load(
            tables, _record(release, target, load_id, started, report, "loaded")
        )
    except IngestError as exc:
        _log_failure(
            loader,
            _record(release, target, load_id, started, report, "failed", str(exc)),
        )
        raise
    seconds = time.perf_counter() - began
    progress(f"{target}: loaded in {seconds:.1f}s (load id {load_id})")
    return IngestResult(
        load_id,
        target,
        "loaded",
        release.location,
        release.version,
        release.fingerprint,
        len(tables),
        rows,
        seconds,
        report_path,
    )
