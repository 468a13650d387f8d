"""The warehouse mirror of the audit log: table ``governance.audit_log``.

The mirror holds the same columns as the file (``details`` as canonical
JSON text) on DuckDB or Postgres. It anchors the hash chain: whoever
rewrites the whole file and recomputes every hash still disagrees with the
rows already mirrored, and whoever rewrites the table disagrees with the
file. :func:`verify_against_table` reports both.

A sync only appends. It refuses, changing nothing, when the file fails
verification (mirroring a tampered file would launder it) or when the
table disagrees with the file: a different hash for a seq, a seq the file
lacks, or a gap left by deleted rows. New rows go in one transaction, so a
failed sync leaves the table as it was. The DuckDB file is opened only for
the sync or the check, since dbt or a notebook may need it the rest of the
time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from diamond.errors import ConfigError, DiamondError
from diamond.settings import PostgresSettings, check_target, duckdb_path
from governance.audit.log import (
    FIELDS,
    AuditRecord,
    ChainScan,
    Problem,
    VerifyResult,
    canonical_json,
    default_path,
    result_from,
    scan,
)

SCHEMA = "governance"
TABLE = "audit_log"
QUALIFIED = f"{SCHEMA}.{TABLE}"
_TEXT_COLUMNS = ", ".join(f"{name} text" for name in FIELDS if name != "seq")
_CREATE_TABLE = (
    f"create table if not exists {QUALIFIED} (seq bigint primary key, {_TEXT_COLUMNS})"
)
_SELECT = f"select {', '.join(FIELDS)} from {QUALIFIED} order by seq"

DuckDBTarget = duckdb.DuckDBPyConnection | Path | str | None


def _row(record: AuditRecord) -> tuple[Any, ...]:
    values = record.to_dict()
    values["details"] = canonical_json(record.details)
    return tuple(values[name] for name in FIELDS)


def _from_row(row: tuple[Any, ...]) -> AuditRecord | str:
    """The record a table row holds, or why it cannot be read as one."""
    values = dict(zip(FIELDS, row, strict=True))
    try:
        values["details"] = json.loads(values["details"])
        return AuditRecord.from_dict(values)
    except (TypeError, ValueError) as exc:
        return f"the row {exc}"


def _scanned(log_path: Path | None) -> tuple[Path, ChainScan]:
    path = Path(log_path) if log_path is not None else default_path()
    return path, scan(path)


def _refuse_unverified(path: Path, found: ChainScan, mirror: str) -> None:
    if not found.problems:
        return
    first = found.problems[0]
    msg = (
        f"will not sync the audit log {path} to {mirror}: the file fails "
        f"verification with {len(found.problems)} problem(s), the first being "
        f"'{first}'. Run `diamond audit verify` and repair the file first; "
        "the mirror was not changed."
    )
    raise DiamondError(msg)


def _plan(
    path: Path, found: ChainScan, stored: list[tuple[int, str]], mirror: str
) -> list[AuditRecord]:
    """Records to append, after checking the table agrees with the file."""
    for expected, (seq, digest) in enumerate(stored, start=1):
        if seq != expected:
            msg = (
                f"{mirror} lacks seq {expected} but holds seq {seq}: rows were "
                f"deleted from the mirror. Not syncing {path}; compare them with "
                "`verify_against_table` and restore the mirror from a backup."
            )
            raise DiamondError(msg)
        entry = found.chain.get(seq)
        if entry is None:
            msg = (
                f"{mirror} holds seq {seq} but the audit log {path} ends at seq "
                f"{max(found.chain, default=0)}: the file was cut short or "
                "replaced. Not syncing; restore the file from a backup."
            )
            raise DiamondError(msg)
        if entry.record.hash != digest:
            msg = (
                f"{mirror} and the audit log {path} disagree on seq {seq} "
                f"(line {entry.line}): hash {digest[:12]}.. in the table, "
                f"{entry.record.hash[:12]}.. in the file. One of them was "
                "rewritten; not syncing. Inspect both with `verify_against_table`."
            )
            raise DiamondError(msg)
    mirrored = len(stored)
    return [e.record for s, e in sorted(found.chain.items()) if s > mirrored]


# --------------------------------------------------------------------------
# DuckDB
# --------------------------------------------------------------------------


@contextmanager
def _duckdb(con_or_path: DuckDBTarget) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(con_or_path, duckdb.DuckDBPyConnection):
        yield con_or_path
        return
    path = Path(con_or_path) if con_or_path is not None else duckdb_path()
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        msg = (
            f"cannot open the DuckDB warehouse {path} for the audit mirror: "
            f"{exc}. Close other programs using it (a dbt run, a notebook) "
            "and retry."
        )
        raise DiamondError(msg) from exc
    try:
        yield con
    finally:
        con.close()


def _duckdb_name(con_or_path: DuckDBTarget) -> str:
    if isinstance(con_or_path, duckdb.DuckDBPyConnection):
        return f"{QUALIFIED} (DuckDB)"
    path = con_or_path if con_or_path is not None else duckdb_path()
    return f"{QUALIFIED} in {path}"


def sync_to_duckdb(
    log_path: Path | None = None, con_or_path: DuckDBTarget = None
) -> int:
    """Append the records the DuckDB mirror lacks; return how many."""
    path, found = _scanned(log_path)
    mirror = _duckdb_name(con_or_path)
    _refuse_unverified(path, found, mirror)
    with _duckdb(con_or_path) as con:
        con.execute("begin transaction")
        try:
            con.execute(f"create schema if not exists {SCHEMA}")
            con.execute(_CREATE_TABLE)
            stored = con.execute(
                f"select seq, hash from {QUALIFIED} order by seq"
            ).fetchall()
            todo = _plan(path, found, stored, mirror)
            if todo:
                marks = ", ".join("?" for _ in FIELDS)
                con.executemany(
                    f"insert into {QUALIFIED} values ({marks})",
                    [list(_row(r)) for r in todo],
                )
            con.execute("commit")
        except duckdb.Error as exc:
            con.execute("rollback")
            msg = (
                f"DuckDB rejected the audit sync into {mirror}: {exc}; nothing changed."
            )
            raise DiamondError(msg) from exc
        except BaseException:
            con.execute("rollback")
            raise
    return len(todo)


def _duckdb_rows(con_or_path: DuckDBTarget) -> list[tuple[Any, ...]] | None:
    with _duckdb(con_or_path) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [SCHEMA, TABLE],
        ).fetchone()[0]
        return con.execute(_SELECT).fetchall() if exists else None


# --------------------------------------------------------------------------
# Postgres
# --------------------------------------------------------------------------


def _pg_connect(dsn: str | None) -> psycopg2.extensions.connection:
    settings = PostgresSettings.from_env()
    try:
        return psycopg2.connect(dsn or settings.dsn())
    except psycopg2.OperationalError as exc:
        msg = (
            f"cannot reach Postgres for the audit mirror {QUALIFIED}: "
            f"{str(exc).strip()}. Start the server or set PGHOST, PGPORT, "
            "PGUSER, PGPASSWORD and PGDATABASE."
        )
        raise DiamondError(msg) from exc


def sync_to_postgres(log_path: Path | None = None, dsn: str | None = None) -> int:
    """Append the records the Postgres mirror lacks; return how many.

    ``dsn`` defaults to the database the ``PG*`` variables name.
    """
    path, found = _scanned(log_path)
    mirror = f"{QUALIFIED} on Postgres"
    _refuse_unverified(path, found, mirror)
    con = _pg_connect(dsn)
    try:
        with con, con.cursor() as cur:
            cur.execute(f"create schema if not exists {SCHEMA}")
            cur.execute(_CREATE_TABLE)
            # Two syncs at once would both read the same last seq; the lock
            # makes the second wait and then see the first one's rows.
            cur.execute(f"lock table {QUALIFIED} in exclusive mode")
            cur.execute(f"select seq, hash from {QUALIFIED} order by seq")
            todo = _plan(path, found, cur.fetchall(), mirror)
            marks = ", ".join("%s" for _ in FIELDS)
            cur.executemany(
                f"insert into {QUALIFIED} values ({marks})", [_row(r) for r in todo]
            )
    except psycopg2.Error as exc:
        msg = (
            f"Postgres rejected the audit sync into {mirror}: {str(exc).strip()}; "
            "nothing changed."
        )
        raise DiamondError(msg) from exc
    finally:
        con.close()
    return len(todo)


def _postgres_rows(dsn: str | None) -> list[tuple[Any, ...]] | None:
    con = _pg_connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute("select to_regclass(%s)", (QUALIFIED,))
            if cur.fetchone()[0] is None:
                return None
            cur.execute(_SELECT)
            return cur.fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------
# Choosing a mirror, and comparing it with the file
# --------------------------------------------------------------------------


def _mirror(
    con_or_path: DuckDBTarget, dsn: str | None, target: str | None
) -> tuple[str, Callable[[], list[tuple[Any, ...]] | None]]:
    if con_or_path is not None and dsn is not None:
        msg = "compare the audit log with one mirror at a time: pass con_or_path or dsn"
        raise ConfigError(msg)
    if dsn is not None:
        return f"{QUALIFIED} on Postgres", lambda: _postgres_rows(dsn)
    if con_or_path is None:
        chosen = check_target(target)
        if chosen == "postgres":
            return f"{QUALIFIED} on Postgres", lambda: _postgres_rows(None)
        if chosen != "duckdb":
            msg = (
                f"the audit log has no mirror on target {chosen}: use duckdb or "
                "postgres (DIAMOND_TARGET or --target)"
            )
            raise ConfigError(msg)
    return _duckdb_name(con_or_path), lambda: _duckdb_rows(con_or_path)


def sync(log_path: Path | None = None, *, target: str | None = None) -> int:
    """Sync the log to the mirror on ``target`` (default ``DIAMOND_TARGET``)."""
    chosen = check_target(target)
    if chosen == "postgres":
        return sync_to_postgres(log_path)
    if chosen == "duckdb":
        return sync_to_duckdb(log_path)
    msg = f"the audit log has no mirror on target {chosen}: use duckdb or postgres"
    raise ConfigError(msg)


def verify_against_table(
    log_path: Path | None = None,
    *,
    con_or_path: DuckDBTarget = None,
    dsn: str | None = None,
    target: str | None = None,
) -> VerifyResult:
    """Verify the file, then compare it record by record with the mirror.

    The mirror is the DuckDB connection or file ``con_or_path``, the
    Postgres ``dsn``, or else the warehouse of ``target``. Besides the
    file's own problems, names every seq held by only one side, every seq
    whose fields differ, and every table row whose hash does not match its
    content. Records appended since the last sync show as ``unmirrored``.
    """
    path, found = _scanned(log_path)
    mirror, fetch = _mirror(con_or_path, dsn, target)
    rows = fetch()
    problems = list(found.problems)
    if rows is None:
        problems.append(
            Problem(
                None,
                None,
                "mirror-missing",
                f"{mirror} does not exist; run the audit sync to create it",
            )
        )
        return result_from(path, found, problems)
    table: dict[int, AuditRecord] = {}
    for row in rows:
        parsed = _from_row(row)
        if isinstance(parsed, str):
            problems.append(Problem(None, row[0], "mirror-edited", f"{parsed}"))
            continue
        table[parsed.seq] = parsed
        if not parsed.hash_ok():
            problems.append(
                Problem(
                    None,
                    parsed.seq,
                    "mirror-edited",
                    f"the row in {mirror} has stored hash {parsed.hash[:12]}.. "
                    "which does not match its content: the table was edited",
                )
            )
    for seq in sorted(set(table) | set(found.chain)):
        entry = found.chain.get(seq)
        row_record = table.get(seq)
        if entry is None:
            problems.append(
                Problem(
                    None,
                    seq,
                    "missing-from-file",
                    f"{mirror} holds seq {seq} ({row_record.action}, "
                    f"{row_record.recorded_at}) but the file does not: the file "
                    "was cut short or rewritten",
                )
            )
        elif row_record is None:
            problems.append(
                Problem(
                    entry.line,
                    seq,
                    "unmirrored",
                    f"the record is not in {mirror}: run the audit sync if it "
                    "was appended since the last one, otherwise the mirror "
                    "lost it",
                )
            )
        elif row_record != entry.record:
            fields = [
                name
                for name in FIELDS
                if getattr(row_record, name) != getattr(entry.record, name)
            ]
            problems.append(
                Problem(
                    entry.line,
                    seq,
                    "mirror-differs",
                    f"the file and {mirror} disagree on {', '.join(fields)} "
                    f"(hash {entry.record.hash[:12]}.. in the file, "
                    f"{row_record.hash[:12]}.. in the table): one of them was "
                    "rewritten; restore it from the other or a backup",
                )
            )
    result = result_from(path, found, problems)
    result.source = f"audit log {path} against {mirror}"
    return result
