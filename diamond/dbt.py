"""Running dbt from diamond with the project's own profile and warehouse.

dbt runs in-process through its programmatic runner, so a whole
``diamond run`` pays for one interpreter start. Before each call the
warehouse is prepared (DuckDB folder, Postgres database and raw schema) and
the environment is pinned to absolute paths, so dbt and the ingest step
always agree on where the data lives, whatever the working directory.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from diamond.errors import ConfigError, DiamondError
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


PARSE_WARM_UP = "dbt parse"


def start_parse(target: str | None = None) -> None:
    """Parse the dbt project in a child process while other work goes on.

    A parse from scratch costs seconds of CPU (hundreds of generic tests
    are rendered one by one) and needs no warehouse, so ``diamond run``
    starts one beside the ingest, on the other core. The next dbt command
    here then reads the saved parse (dbt's partial parsing) instead of
    parsing again; should the parse fail, that command parses anew and
    reports the error itself.
    """
    from diamond import background

    target = check_target(target)
    dbt = Path(sys.executable).parent / "dbt"
    if dbt.is_file():
        prepare_environment(target)
        argv = [str(dbt), "parse", "--project-dir", str(project_dir())]
        background.start(PARSE_WARM_UP, [*argv, "--target", target])


def run_dbt(args: Sequence[str], target: str | None = None) -> object:
    """Run one dbt command (e.g. ``["build"]``) and return dbt's result.

    Raises :class:`DbtError` when dbt reports a failure.
    """
    from dbt.cli.main import dbtRunner

    from diamond import background

    target = check_target(target)
    prepare_environment(target)
    # A parse started by start_parse must not write the target folder
    # while this command runs.
    background.wait(PARSE_WARM_UP)
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


def read_manifest(
    path: str | Path,
    *,
    hint: str = "`diamond run`",
    error: type[DiamondError] = ConfigError,
) -> dict[str, Any]:
    """The parsed dbt ``manifest.json`` at ``path`` (the file or its folder).

    A missing, unreadable or foreign file raises ``error`` saying what to
    run (``hint``) to produce a good one.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        msg = (
            f"no dbt manifest at {path}: run {hint} first, or point "
            "DBT_TARGET_PATH at the target folder that holds manifest.json"
        )
        raise error(msg)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"cannot read the dbt manifest {path}: {exc}; run {hint} again"
        raise error(msg) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("nodes"), dict):
        msg = f"{path} is not a dbt manifest (it has no 'nodes'); run {hint}"
        raise error(msg)
    return manifest
