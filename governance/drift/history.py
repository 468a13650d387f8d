"""Where drift and health results are kept: ``governance.drift_history``
in the warehouse, and files under ``<target>/drift/``.

The table holds one row per check, per column, per run, so a trend can be
plotted with one query. Rows are only appended, in one transaction per
run. On DuckDB the file is opened for writing only for that append, after
every read of the check is done, so the check never holds two connections
to the same file. Athena has no history table: it is not queried (that
needs AWS), and the files under ``<target>/drift/`` are kept everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from diamond.errors import DiamondError
from diamond.settings import PostgresSettings, check_target, duckdb_path

SCHEMA = "governance"
TABLE = "drift_history"
QUALIFIED = f"{SCHEMA}.{TABLE}"
DRIFT_DIR = "drift"
REPORT_FILE = "report.json"
HISTORY_FILE = "history.jsonl"

#: The table's columns and types, spelled so that DuckDB and Postgres both
#: accept them.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "varchar"),
    ("build_id", "varchar"),
    ("checked_at", "timestamp"),
    ("target", "varchar"),
    ("monitor", "varchar"),
    ("monitor_kind", "varchar"),
    ("relation", "varchar"),
    ("column_name", "varchar"),
    ("check_name", "varchar"),
    ("statistic", "double precision"),
    ("threshold", "double precision"),
    ("p_value", "double precision"),
    ("verdict", "varchar"),
    ("is_deciding", "boolean"),
    ("reference_window", "varchar"),
    ("current_window", "varchar"),
    ("reference_rows", "bigint"),
    ("current_rows", "bigint"),
    ("details", "varchar"),
)
NAMES = tuple(name for name, _ in COLUMNS)
CREATE = (
    f"create table if not exists {QUALIFIED} ("
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + ")"
)


@dataclass
class HistoryRow:
    """One check of one column (or of a whole relation) in one run."""

    monitor: str
    monitor_kind: str
    relation: str
    column_name: str | None
    check_name: str
    statistic: float | None
    threshold: float | None
    verdict: str
    p_value: float | None = None
    is_deciding: bool = False
    reference_window: str | None = None
    current_window: str | None = None
    reference_rows: int | None = None
    current_rows: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def record(
        self, run_id: str, build_id: str | None, checked_at: datetime, target: str
    ) -> dict[str, Any]:
        """The row as the table stores it (``details`` as JSON text)."""
        values = asdict(self)
        values["details"] = json.dumps(self.details, sort_keys=True, default=str)
        for key in ("statistic", "threshold", "p_value"):
            number = values[key]
            # Infinite z-scores are real results; JSON and SQL get a large
            # finite stand-in rather than an error.
            if number is not None and abs(number) == float("inf"):
                values[key] = 1e308 if number > 0 else -1e308
        values.update(
            run_id=run_id, build_id=build_id, checked_at=checked_at, target=target
        )
        return {name: values[name] for name in NAMES}


def _insert(marker: str) -> str:
    marks = ", ".join(marker for _ in NAMES)
    return f"insert into {QUALIFIED} ({', '.join(NAMES)}) values ({marks})"


def write_table(target: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (from :meth:`HistoryRow.record`) to the warehouse."""
    target = check_target(target)
    if not rows:
        return
    values = [tuple(row[name] for name in NAMES) for row in rows]
    if target == "duckdb":
        import duckdb

        path = duckdb_path()
        try:
            con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            msg = (
                f"cannot open the DuckDB warehouse {path} to append to "
                f"{QUALIFIED}: {exc}. Close other programs using it and retry."
            )
            raise DiamondError(msg) from exc
        try:
            con.execute("begin transaction")
            con.execute(f"create schema if not exists {SCHEMA}")
            con.execute(CREATE)
            con.executemany(_insert("?"), [list(v) for v in values])
            con.execute("commit")
        except duckdb.Error as exc:
            con.execute("rollback")
            msg = f"DuckDB rejected the append to {QUALIFIED}: {exc}"
            raise DiamondError(msg) from exc
        finally:
            con.close()
        return
    if target == "postgres":
        import psycopg2

        settings = PostgresSettings.from_env()
        try:
            con = psycopg2.connect(settings.dsn())
        except psycopg2.OperationalError as exc:
            msg = f"cannot reach Postgres to write {QUALIFIED}: {str(exc).strip()}"
            raise DiamondError(msg) from exc
        try:
            with con, con.cursor() as cur:
                cur.execute(f"create schema if not exists {SCHEMA}")
                cur.execute(CREATE)
                cur.executemany(_insert("%s"), values)
        except psycopg2.Error as exc:
            msg = f"Postgres rejected the append to {QUALIFIED}: {str(exc).strip()}"
            raise DiamondError(msg) from exc
        finally:
            con.close()
        return
    msg = f"{QUALIFIED} is kept on duckdb and postgres, not on {target}"
    raise DiamondError(msg)


def write_files(
    target_dir: Path, report: dict[str, Any], rows: Iterable[dict[str, Any]]
) -> Path:
    """Write the run's report and append its rows to the history file;
    return the folder."""
    folder = Path(target_dir) / DRIFT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, sort_keys=True, default=str)
    (folder / REPORT_FILE).write_text(text + "\n", encoding="utf-8")
    with (folder / HISTORY_FILE).open("a", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, sort_keys=True, default=str) + "\n")
    return folder
