"""Read-only SQL access to the DuckDB and Postgres warehouses.

Used by ``diamond status``, the governance report and rollback, the
benchmarks and the cross-warehouse tests.
Athena is not queried from here: it needs AWS, which is not assumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from diamond.errors import DiamondError
from diamond.settings import RAW_SCHEMA, PostgresSettings, check_target, duckdb_path

if TYPE_CHECKING:
    import pandas as pd


@contextmanager
def connect(target: str | None) -> Iterator[Any]:
    """A connection to the DuckDB (opened read-only) or Postgres warehouse."""
    target = check_target(target)
    if target == "duckdb":
        import duckdb

        path = duckdb_path()
        if not path.exists():
            msg = f"no DuckDB warehouse at {path}: run `diamond ingest` first"
            raise DiamondError(msg)
        con = duckdb.connect(str(path), read_only=True)
        con.execute("set enable_progress_bar = false")
        try:
            yield con
        finally:
            con.close()
        return
    if target == "postgres":
        import psycopg2

        settings = PostgresSettings.from_env()
        try:
            con = psycopg2.connect(settings.dsn())
        except psycopg2.OperationalError as exc:
            msg = f"cannot connect to Postgres ({settings.dsn()}): {exc}".strip()
            raise DiamondError(msg) from exc
        # Rolled back on the way out, so whatever the caller did (temporary
        # tables included) leaves the warehouse as it was.
        try:
            yield con
            con.rollback()
        finally:
            con.close()
        return
    msg = "querying Athena needs AWS access; use the Athena console or CLI"
    raise DiamondError(msg)


def query(target: str | None, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
    """Run one read-only statement and return every row."""
    target = check_target(target)
    with connect(target) as con:
        if target == "duckdb":
            return con.execute(sql, list(params)).fetchall()
        with con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall())


def frame(target: str | None, sql: str) -> pd.DataFrame:
    """Run one read-only statement and return its rows as a frame.

    Errors from the warehouse (a missing relation, say) pass through as
    they are, for the caller to word in its own terms.
    """
    import pandas as pd

    target = check_target(target)
    with connect(target) as con:
        if target == "duckdb":
            return con.execute(sql).df()
        with con.cursor() as cur:
            cur.execute(sql)
            columns = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)


def load_history(target: str | None, limit: int = 10) -> list[tuple[Any, ...]]:
    """The newest rows of the load log, newest first."""
    return query(
        target,
        "select finished_at, status, source_version, row_count, load_id, error "
        f"from {RAW_SCHEMA}.load_log order by finished_at desc limit {int(limit)}",
    )
