"""Running dbt from diamond with the project's own profile and warehouse.

dbt runs in-process through its programmatic runner, so a whole
``diamond run`` pays for one interpreter start. Before each call the
warehouse is prepared (DuckDB folder, Postgres database and raw schema) and
the environment is pinned to absolute paths, so dbt and the ingest step
always agree on where the data lives, whatever the working directory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from diamond.errors import DiamondError
from diamond.settings import (
    PostgresSettings,
    check_target,
    duckdb_path,
    project_dir,
)

log = logging.getLogger(__name__)


class DbtError(DiamondError):
    """A dbt command failed; dbt's own output above says which node and why."""


def prepare_environment(target: str) -> None:
    """Point dbt at this project and create what the target needs."""
    os.environ.setdefault("DBT_PROFILES_DIR", str(project_dir()))
    os.environ["DIAMOND_TARGET"] = target
    if target == "duckdb":
        os.environ["DIAMOND_DUCKDB_PATH"] = str(duckdb_path())
    elif target == "postgres":
        from diamond.access import ensure_postgres_access
        from diamond.loaders.postgres import ensure_database

        settings = PostgresSettings.from_env()
        ensure_database(settings)
        # The models' grants name these roles: they must exist first.
        ensure_postgres_access(settings)


def run_dbt(args: Sequence[str], target: str | None = None) -> object:
    """Run one dbt command (e.g. ``["build"]``) and return dbt's result.

    Raises :class:`DbtError` when dbt reports a failure.
    """
    from dbt.cli.main import dbtRunner

    target = check_target(target)
    prepare_environment(target)
    argv = [*args, "--project-dir", str(project_dir()), "--target", target]
    log.info("dbt %s", " ".join(argv))
    try:
        outcome = dbtRunner().invoke(argv)
    finally:
        if target == "duckdb":
            _release_duckdb()
    if not outcome.success:
        reason = f": {outcome.exception}" if outcome.exception else ""
        msg = (
            f"`dbt {' '.join(args)}` failed on target {target}{reason}. "
            "dbt's log above names the failing model or test."
        )
        raise DbtError(msg)
    return outcome.result


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after a command.

    dbt-duckdb holds one database instance per process for reuse by the
    next command. While it is open, the later steps of ``diamond run`` (the
    PII scan, the leak check, the audit mirror) cannot open the same file
    read-only in this process. dbt opens a fresh one when it next runs.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()
