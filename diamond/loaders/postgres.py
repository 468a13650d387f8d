"""Load raw tables into Postgres with COPY, all tables in one transaction.

Existing tables are emptied and refilled inside the transaction rather than
dropped, so the staging views that depend on them survive and readers see
either the old data or the new, never a half-loaded mix.
"""

from __future__ import annotations

import io
import logging

import psycopg2
import pyarrow.csv as pacsv
from psycopg2 import sql

from diamond.contracts import ValidatedTable
from diamond.errors import IngestError
from diamond.lahman import WAREHOUSE_TYPES
from diamond.loaders import LOAD_LOG_COLUMNS, LoadRecord
from diamond.settings import RAW_SCHEMA, PostgresSettings

log = logging.getLogger(__name__)

_LOG_TYPES = {
    **WAREHOUSE_TYPES["postgres"],
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def ensure_database(settings: PostgresSettings) -> None:
    """Create the warehouse database and the raw schema if they are missing."""
    try:
        admin = psycopg2.connect(settings.dsn("postgres"))
    except psycopg2.OperationalError as exc:
        msg = (
            f"cannot reach Postgres at {settings.host}:{settings.port} as "
            f"{settings.user}: {str(exc).strip()}. Start the server or set "
            "PGHOST, PGPORT, PGUSER and PGPASSWORD."
        )
        raise IngestError(msg) from exc
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                "select 1 from pg_database where datname = %s", (settings.database,)
            )
            if cur.fetchone() is None:
                log.info("creating database %s", settings.database)
                cur.execute(
                    sql.SQL("create database {}").format(
                        sql.Identifier(settings.database)
                    )
                )
    finally:
        admin.close()
    with psycopg2.connect(settings.dsn()) as con, con.cursor() as cur:
        cur.execute(
            sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA))
        )
    con.close()


class PostgresLoader:
    """Writes to the database named by the PG* environment variables."""

    target = "postgres"

    def __init__(self, settings: PostgresSettings | None = None) -> None:
        self.settings = settings or PostgresSettings.from_env()

    def connect(self) -> psycopg2.extensions.connection:
        """A connection to the warehouse database, created if missing."""
        ensure_database(self.settings)
        return psycopg2.connect(self.settings.dsn())

    def _ensure_log(self, cur) -> None:
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(_LOG_TYPES[t]))
            for n, t in LOAD_LOG_COLUMNS
        )
        cur.execute(
            sql.SQL("create table if not exists {}.load_log ({})").format(
                sql.Identifier(RAW_SCHEMA), columns
            )
        )

    def _append_log(self, cur, record: LoadRecord) -> None:
        marks = sql.SQL(", ").join(sql.Placeholder() for _ in LOAD_LOG_COLUMNS)
        cur.execute(
            sql.SQL("insert into {}.load_log values ({})").format(
                sql.Identifier(RAW_SCHEMA), marks
            ),
            record.values(),
        )

    def last_loaded_fingerprint(self) -> str | None:
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}.load_log",))
                if cur.fetchone()[0] is None:
                    return None
                cur.execute(
                    sql.SQL(
                        "select source_fingerprint from {}.load_log "
                        "where status = 'loaded' order by finished_at desc limit 1"
                    ).format(sql.Identifier(RAW_SCHEMA))
                )
                row = cur.fetchone()
            return row[0] if row else None
        finally:
            con.close()

    def _existing_columns(self, cur, name: str) -> list[tuple[str, str]]:
        cur.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (RAW_SCHEMA, name),
        )
        return list(cur.fetchall())

    def replace_table(self, cur, table: ValidatedTable) -> None:
        """Empty (or recreate) one raw table and COPY the table into it.

        Runs inside the caller's transaction, which decides when it shows.
        """
        types = WAREHOUSE_TYPES["postgres"]
        wanted = [(c.name, types[c.type]) for c in table.spec.columns]
        ident = sql.Identifier(RAW_SCHEMA, table.spec.name)
        if self._existing_columns(cur, table.spec.name) == wanted:
            cur.execute(sql.SQL("truncate table {}").format(ident))
        else:
            # A new layout: dependent views are rebuilt by the next dbt run.
            cur.execute(sql.SQL("drop table if exists {} cascade").format(ident))
            cur.execute(
                sql.SQL("create table {} ({})").format(
                    ident,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t))
                        for n, t in wanted
                    ),
                )
            )
        buffer = io.BytesIO()
        pacsv.write_csv(table.data, buffer, pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        cur.copy_expert(
            sql.SQL("copy {} from stdin with (format csv)").format(ident), buffer
        )

    def load(self, tables: list[ValidatedTable], record: LoadRecord) -> None:
        con = self.connect()
        try:
            with con, con.cursor() as cur:
                self._ensure_log(cur)
                for table in tables:
                    self.replace_table(cur, table)
                    log.debug("copied %s.%s", RAW_SCHEMA, table.spec.name)
                self._append_log(cur, record)
        except psycopg2.Error as exc:
            msg = f"Postgres rejected the load: {str(exc).strip()}; nothing changed."
            raise IngestError(msg) from exc
        finally:
            con.close()

    def log_failure(self, record: LoadRecord) -> None:
        con = self.connect()
        try:
            with con, con.cursor() as cur:
                self._ensure_log(cur)
                self._append_log(cur, record)
        finally:
            con.close()
