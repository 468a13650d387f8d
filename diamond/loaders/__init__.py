"""Warehouse loaders: each writes validated raw tables into one engine
atomically (all tables or none) and appends a row to the load log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from diamond.contracts import ValidatedTable

#: Columns of ``raw.load_log``, shared by every engine.
LOAD_LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR"),
    ("target", "VARCHAR"),
    ("status", "VARCHAR"),
    ("source", "VARCHAR"),
    ("source_version", "VARCHAR"),
    ("source_fingerprint", "VARCHAR"),
    ("files", "VARCHAR"),
    ("row_count", "BIGINT"),
    ("validation_success", "BOOLEAN"),
    ("validation", "VARCHAR"),
    ("error", "VARCHAR"),
    ("started_at", "TIMESTAMP"),
    ("finished_at", "TIMESTAMP"),
)


@dataclass
class LoadRecord:
    """One row of the load log."""

    load_id: str
    target: str
    status: str
    source: str
    source_version: str | None
    source_fingerprint: str | None
    files: str
    row_count: int
    validation_success: bool
    validation: str
    error: str | None
    started_at: datetime
    finished_at: datetime

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name, _ in LOAD_LOG_COLUMNS)


class Loader(Protocol):
    """What ingest needs from a warehouse."""

    target: str

    def last_loaded_fingerprint(self) -> str | None:
        """Fingerprint of the newest successful load, if any."""

    def load(self, tables: list[ValidatedTable], record: LoadRecord) -> None:
        """Replace every raw table and log the load, all or nothing."""

    def log_failure(self, record: LoadRecord) -> None:
        """Append a failed attempt to the load log without touching data."""


def get_loader(target: str) -> Loader:
    """The loader for a dbt target name."""
    if target == "duckdb":
        from diamond.loaders.duckdb import DuckDBLoader

        return DuckDBLoader()
    if target == "postgres":
        from diamond.loaders.postgres import PostgresLoader

        return PostgresLoader()
    from diamond.loaders.athena import AthenaLoader

    return AthenaLoader()
