"""Load raw tables into the DuckDB warehouse file in one transaction."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from diamond.contracts import ValidatedTable
from diamond.errors import IngestError
from diamond.loaders import LOAD_LOG_COLUMNS, LoadRecord
from diamond.settings import RAW_SCHEMA, duckdb_path

log = logging.getLogger(__name__)


class DuckDBLoader:
    """Writes to the file named by ``DIAMOND_DUCKDB_PATH``."""

    target = "duckdb"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or duckdb_path()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            msg = (
                f"cannot open the DuckDB warehouse {self.path}: {exc}. Close "
                "other programs using it (a dbt run, a notebook) and retry."
            )
            raise IngestError(msg) from exc

    def _ensure_log(self, con: duckdb.DuckDBPyConnection) -> None:
        columns = ", ".join(f"{n} {t}" for n, t in LOAD_LOG_COLUMNS)
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(f"create table if not exists {RAW_SCHEMA}.load_log ({columns})")

    def _append_log(self, con: duckdb.DuckDBPyConnection, record: LoadRecord) -> None:
        marks = ", ".join("?" for _ in LOAD_LOG_COLUMNS)
        con.execute(
            f"insert into {RAW_SCHEMA}.load_log values ({marks})", record.values()
        )

    def last_loaded_fingerprint(self) -> str | None:
        if not self.path.exists():
            return None
        with self._connect() as con:
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = 'load_log'",
                [RAW_SCHEMA],
            ).fetchone()[0]
            if not exists:
                return None
            row = con.execute(
                f"select source_fingerprint from {RAW_SCHEMA}.load_log "
                "where status = 'loaded' order by finished_at desc limit 1"
            ).fetchone()
        return row[0] if row else None

    def load(self, tables: list[ValidatedTable], record: LoadRecord) -> None:
        with self._connect() as con:
            con.execute("begin transaction")
            try:
                self._ensure_log(con)
                for table in tables:
                    con.register("incoming", table.data)
                    con.execute(
                        f"create or replace table {RAW_SCHEMA}.{table.spec.name} "
                        "as select * from incoming"
                    )
                    con.unregister("incoming")
                    log.debug("loaded %s.%s", RAW_SCHEMA, table.spec.name)
                self._append_log(con, record)
                con.execute("commit")
            except duckdb.Error as exc:
                con.execute("rollback")
                msg = (
                    f"DuckDB rejected the load into {self.path}: {exc}; "
                    "nothing changed."
                )
                raise IngestError(msg) from exc
            except BaseException:
                con.execute("rollback")
                raise

    def log_failure(self, record: LoadRecord) -> None:
        with self._connect() as con:
            self._ensure_log(con)
            self._append_log(con, record)
