"""Read-only SQL access to the DuckDB and Postgres warehouses.

Used by ``diamond status``, the benchmarks and the cross-warehouse tests.
Athena is not queried from here: it needs AWS, which is not assumed.
"""

from __future__ import annotations

from typing import Any

from diamond.errors import DiamondError
from diamond.settings import RAW_SCHEMA, PostgresSettings, check_target, duckdb_path


def query(target: str | None, sql: str, params: tuple = ()) -> list[tuple[Any, ...]]:
    """Run one read-only statement and return every row."""
    target = check_target(target)
    if target == "duckdb":
        import duckdb

        path = duckdb_path()
        if not path.exists():
            msg = f"no DuckDB warehouse at {path}: run `diamond ingest` first"
            raise DiamondError(msg)
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()
    if target == "postgres":
        import psycopg2

        settings = PostgresSettings.from_env()
        try:
            con = psycopg2.connect(settings.dsn())
        except psycopg2.OperationalError as exc:
            msg = f"cannot connect to Postgres ({settings.dsn()}): {exc}".strip()
            raise DiamondError(msg) from exc
        try:
            with con.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return list(cur.fetchall())
        finally:
            con.close()
    msg = "querying Athena needs AWS access; use the Athena console or CLI"
    raise DiamondError(msg)


def load_history(target: str | None, limit: int = 10) -> list[tuple[Any, ...]]:
    """The newest rows of the load log, newest first."""
    return query(
        target,
        "select finished_at, status, source_version, row_count, load_id, error "
        f"from {RAW_SCHEMA}.load_log order by finished_at desc limit {int(limit)}",
    )
