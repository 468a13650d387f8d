"""Right to erasure (GDPR Art. 17): remove a data subject for good.

A data subject is named ``fan:<fan_id>`` (a synthetic fan account, e.g.
``fan:FAN0001234``) or ``player:<player_id>`` (a Lahman person, e.g.
``player:aaronha01``). :func:`erase` does four things, in this order:

1. adds the subject to the **erasure register**;
2. re-loads the raw schema through ingest, which leaves out every row of
   every registered subject (each Lahman table with a ``player_id``, the
   fan accounts and the medical stints) before validating and loading;
3. rebuilds every derived relation with ``dbt build`` (and, on Postgres,
   retrains the next-season model, which dbt trains elsewhere);
4. verifies: every text column of every relation in every schema of the
   warehouse (the register itself excepted) is searched for the subject's
   id and for its keyed-hash pseudonym; any hit is an error naming the
   relation and the column.

The erasure is recorded in the audit log (``privacy.erase``) with the
subject's kind and a keyed digest of it, never the id itself.

The register
------------
The register is the list of erased subjects and holds only what honouring
an erasure needs: the subject, when it was erased and the request's
reference if one was given. It is kept twice:

* a JSON file, ``erasure_register.json`` beside the DuckDB warehouse file
  (``DIAMOND_ERASURE_REGISTER`` overrides the path; a relative path is
  taken from the project folder), readable by its owner only. It lives
  outside every warehouse, so wiping or rebuilding a warehouse cannot
  bring an erased subject back;
* the table ``raw.erasure_register``, loaded by every ingest with the rest
  of raw, so it is only readable where raw is (the privacy officer on
  Postgres).

Ingest reads the file, adds back any subject the target's table holds but
the file lacks (a lost or older file must not undo an erasure), and puts a
digest of the register into its input fingerprint: a new erasure forces a
reload, an unchanged register still skips it. The register is shared by
every target using the same file; an erasure run on one target reaches
another at that target's next ingest (or ``erase`` on it).

What is verified, and what is not
---------------------------------
On DuckDB and Postgres the search covers every table and view the
connection can see. It cannot see copies outside the warehouse: backups,
Postgres WAL and replicas, DuckDB blocks freed but not yet overwritten, or
files written from the warehouse (exports, notebooks, dbt artifacts).

Row counts in the load log, the validation reports and lineage still
show how many rows each table lost; they name nobody, but with the
public release's own counts they tell that someone was erased.

On Athena, ingest writes the reduced raw tables as new Parquet under a new
load prefix and switches the Glue catalog to it, and ``dbt build``
rewrites the derived tables; both are done. Nothing is verified, because
querying Athena needs AWS: the subject is not checked against raw first
(an unknown id is registered all the same), its rows removed are the rows
the reload left out, and the report says it was not verified. The
previous load's Parquet files are kept by design (queries in flight may
read them) until the next load prunes them, so run ``diamond ingest
--target athena --force`` once more after those queries end. Whether
dbt-athena deletes the files of replaced tables depends on its table
settings; S3 object versions and Athena query results in the staging
location are outside this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from diamond import masking_key, synthetic_cache
from diamond.contracts import ValidatedTable
from diamond.errors import DiamondError, IngestError
from diamond.lahman import Column, TableSpec
from diamond.locks import exclusive
from diamond.settings import (
    RAW_SCHEMA,
    PostgresSettings,
    check_target,
    duckdb_path,
    project_dir,
)

log = logging.getLogger(__name__)

REGISTER_ENV = "DIAMOND_ERASURE_REGISTER"
REGISTER_FILE = "erasure_register.json"
REGISTER_FORMAT = "diamond-erasure-register/1"
AUDIT_ACTION = "privacy.erase"
AUDIT_REGISTERED = "privacy.erase.register"
MAX_REFERENCE = 200

REGISTER_TABLE = TableSpec(
    "erasure_register",
    "generated/erasure_register",
    (
        Column("subject", "VARCHAR"),
        Column("erased_at", "VARCHAR"),
        Column("reference", "VARCHAR"),
    ),
    ("subject",),
    notes="Subjects erased under GDPR Art. 17; ingest leaves their rows out.",
)

#: Kind -> (id column in raw, pattern of a valid id, an example id).
SUBJECT_KINDS: dict[str, tuple[str, re.Pattern[str], str]] = {
    "fan": ("fan_id", re.compile(r"FAN[0-9]{7}"), "FAN0001234"),
    "player": ("player_id", re.compile(r"[a-z]{1,12}[0-9]{2}"), "aaronha01"),
}
ACCEPTED_FORMS = " or ".join(
    f"'{kind}:<{column}>' (e.g. {kind}:{example})"
    for kind, (column, _, example) in SUBJECT_KINDS.items()
)

_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")
# Labels keep the digests of one key apart from each other and from the
# pseudonyms the masking macro makes with the same key.
_SUBJECT_LABEL = b"diamond erasure subject\0"
_REGISTER_LABEL = b"diamond erasure register\0"


class ErasureError(DiamondError):
    """An erasure was asked for wrongly or did not complete; the message
    says which subject, what happened and what to do."""


class RegisterError(IngestError):
    """The erasure register file cannot be read or written, so ingest stops
    rather than load data an erasure may cover."""


# --------------------------------------------------------------------------
# Subjects
# --------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Subject:
    """A data subject: ``kind`` is ``fan`` or ``player``, ``id`` its raw id."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def column(self) -> str:
        """The raw column holding the id (``fan_id`` or ``player_id``)."""
        return SUBJECT_KINDS[self.kind][0]


def parse_subject(subject: str, argument: str = "subject") -> Subject:
    """Read ``fan:<fan_id>`` or ``player:<player_id>``; anything else is an
    :class:`ErasureError` naming ``argument`` and the accepted forms."""
    if not isinstance(subject, str):
        msg = (
            f"{argument} must be a string such as {ACCEPTED_FORMS}, got "
            f"{type(subject).__name__} {subject!r}"
        )
        raise ErasureError(msg)
    kind, sep, ident = subject.strip().partition(":")
    spec = SUBJECT_KINDS.get(kind)
    if not sep or spec is None:
        msg = (
            f"{argument}={subject!r} does not name a data subject: use {ACCEPTED_FORMS}"
        )
        raise ErasureError(msg)
    column, pattern, example = spec
    if not pattern.fullmatch(ident):
        msg = (
            f"{argument}={subject!r}: {ident!r} is not a {column} (expected "
            f"the form of {example}, ids are case-sensitive); use "
            f"{ACCEPTED_FORMS}"
        )
        raise ErasureError(msg)
    return Subject(kind, ident)


def _checked_reference(reference: str | None) -> str | None:
    if reference is None:
        return None
    text = reference.strip() if isinstance(reference, str) else None
    if not text or len(text) > MAX_REFERENCE or not text.isprintable():
        msg = (
            f"reference={reference!r} is not a request reference: give one "
            f"line of printable text up to {MAX_REFERENCE} characters (e.g. a "
            "ticket number), or leave it out"
        )
        raise ErasureError(msg)
    return text


def _keyed(label: bytes, text: str, key: str) -> str:
    return hmac.new(key.encode(), label + text.encode(), hashlib.sha256).hexdigest()


def subject_digest(subject: str | Subject, key: str | None = None) -> str:
    """A keyed digest of a subject for the audit log.

    Fan ids have only ten million values, so a plain hash of one could be
    reversed by trying them all; the digest is an HMAC under the masking
    key, so only a key holder can tell which subject a record is about.
    """
    parsed = subject if isinstance(subject, Subject) else parse_subject(subject)
    return _keyed(_SUBJECT_LABEL, str(parsed), key or masking_key.masking_key())


def pseudonym(value: str, key: str) -> str:
    """The keyed-hash pseudonym the masking macro makes of ``value``:
    sha256 of ``key|value`` as lowercase hex."""
    return hashlib.sha256(f"{key}|{value}".encode()).hexdigest()


# --------------------------------------------------------------------------
# The register
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """One entry of the register."""

    subject: Subject
    erased_at: str
    reference: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": str(self.subject),
            "erased_at": self.erased_at,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Register:
    """The erased subjects, as read from ``path``."""

    path: Path
    entries: tuple[Erasure, ...] = ()

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, subject: Subject) -> Erasure | None:
        """The entry of ``subject``, if it was erased."""
        return next((e for e in self.entries if e.subject == subject), None)

    def ids(self, kind: str) -> frozenset[str]:
        """Ids of the erased subjects of one kind."""
        return frozenset(e.subject.id for e in self.entries if e.subject.kind == kind)

    def digest(self, key: str) -> str:
        """Changes with any entry; keyed, since it is stored in the load log
        and a plain hash of a short register could be guessed."""
        text = json.dumps([e.to_json() for e in self.entries], sort_keys=True)
        return _keyed(_REGISTER_LABEL, text, key)

    def table(self, key: str) -> ValidatedTable:
        """The register as the raw table ``erasure_register``."""
        rows = [e.to_json() for e in self.entries]
        data = pa.table(
            {c.name: [r[c.name] for r in rows] for c in REGISTER_TABLE.columns},
            schema=pa.schema([(c.name, pa.string()) for c in REGISTER_TABLE.columns]),
        )
        return ValidatedTable(REGISTER_TABLE, data, self.digest(key))


def register_path() -> Path:
    """``DIAMOND_ERASURE_REGISTER``, else ``erasure_register.json`` beside the
    DuckDB warehouse file (the masking key's folder)."""
    raw = os.environ.get(REGISTER_ENV)
    if raw:
        path = Path(raw).expanduser()
        return path if path.is_absolute() else project_dir() / path
    return duckdb_path().parent / REGISTER_FILE


def _damaged(path: Path, problem: str) -> RegisterError:
    return RegisterError(
        f"the erasure register {path} {problem}. Nothing was loaded: restore "
        "the file from a backup (or fix the entry). Do not delete it: the "
        "subjects it lists would be loaded again."
    )


def _entries_from(path: Path, text: str) -> tuple[Erasure, ...]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _damaged(path, f"is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != REGISTER_FORMAT:
        raise _damaged(path, f"is not a register of format {REGISTER_FORMAT!r}")
    items = data.get("erasures")
    if not isinstance(items, list):
        raise _damaged(path, "has no list of erasures")
    entries: dict[Subject, Erasure] = {}
    for number, item in enumerate(items, start=1):
        where = f"entry {number}"
        if not isinstance(item, dict) or not isinstance(item.get("erased_at"), str):
            raise _damaged(path, f"{where} lacks a subject or an erased_at time")
        try:
            subject = parse_subject(item.get("subject"), f"{where}: subject")
        except ErasureError as exc:
            raise _damaged(path, f"has a bad {exc}") from exc
        reference = item.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise _damaged(path, f"{where}: reference is not text")
        entries.setdefault(subject, Erasure(subject, item["erased_at"], reference))
    return tuple(entries.values())


def read_register(path: Path | None = None) -> Register:
    """The register file (empty when there is none yet).

    A file others may read is narrowed to its owner: it names people.
    """
    path = path or register_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return Register(path)
    except OSError as exc:
        raise _damaged(path, f"cannot be read ({exc.strerror or exc})") from exc
    if mode & 0o077:
        log.warning("erasure register %s was readable by others; now 0600", path)
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"cannot be read ({exc})") from exc
    return Register(path, _entries_from(path, text))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the register between processes.

    The lock is on a sibling file: the register is replaced on every
    write, and a lock on a replaced file would protect nothing.
    """
    with exclusive(path.with_name(f"{path.name}.lock")):
        yield


def _write_register(path: Path, entries: Sequence[Erasure]) -> None:
    """Replace the file atomically: readers see the old list or the new one."""
    text = json.dumps(
        {"format": REGISTER_FORMAT, "erasures": [e.to_json() for e in entries]},
        indent=2,
    )
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        msg = (
            f"cannot write the erasure register {path}: {exc.strerror or exc}. "
            f"Check the folder is writable, or set {REGISTER_ENV} to a path "
            "that is."
        )
        raise RegisterError(msg) from exc


def _add(path: Path, new: Sequence[Erasure]) -> Register:
    with _locked(path):
        current = read_register(path)
        missing = [e for e in new if current.find(e.subject) is None]
        if not missing:
            return current
        entries = (*current.entries, *missing)
        _write_register(path, entries)
    # The synthetic tables ingest keeps between loads still hold whoever was
    # just registered; the next load generates them afresh.
    synthetic_cache.clear(synthetic_cache.default_folder())
    return Register(path, entries)


def register_erasure(
    subject: str, *, reference: str | None = None, path: Path | None = None
) -> Erasure:
    """Add ``subject`` to the register file without re-loading anything.

    The next ingest of any target leaves the subject out. A subject already
    registered keeps its first entry. :func:`erase` calls this, then
    re-loads, rebuilds and verifies.
    """
    parsed = parse_subject(subject)
    reference = _checked_reference(reference)
    path = path or register_path()
    entry = Erasure(parsed, datetime.now(UTC).isoformat(timespec="seconds"), reference)
    stored = _add(path, [entry]).find(parsed) or entry
    if stored is entry:
        from governance.audit import record

        digest = subject_digest(parsed)
        record(
            AUDIT_REGISTERED,
            subject=f"{parsed.kind}:{digest}",
            details={
                "subject_kind": parsed.kind,
                "subject_digest": digest,
                "reference": reference,
            },
        )
        log.info("registered an erasure of a %s", parsed.kind)
    return stored


def _stored_entries(target: str) -> list[Erasure] | None:
    """The target's ``raw.erasure_register``, or None where it cannot be
    read without AWS (Athena) or does not exist yet."""
    if target == "athena" or (target == "duckdb" and not duckdb_path().is_file()):
        return None
    try:
        with _connect(target, create=True) as db:
            exists = db.rows(
                "select count(*) from information_schema.tables "
                f"where table_schema = {db.mark} and table_name = {db.mark}",
                [RAW_SCHEMA, REGISTER_TABLE.name],
            )[0][0]
            if not exists:
                return None
            rows = db.rows(
                "select subject, erased_at, reference "
                f"from {RAW_SCHEMA}.{REGISTER_TABLE.name} order by erased_at, subject"
            )
        return [Erasure(parse_subject(s), str(at), ref) for s, at, ref in rows]
    except IngestError:
        raise  # the server is unreachable: that message says it best
    except DiamondError as exc:
        msg = (
            f"cannot read {RAW_SCHEMA}.{REGISTER_TABLE.name} on {target} to check "
            f"the erasure register against it: {exc}"
        )
        raise RegisterError(msg) from exc


def register_for_ingest(target: str) -> Register:
    """The register ingest must honour on ``target``.

    That is the file, plus any subject the target's own copy holds and the
    file lacks (a file restored from an old backup, or deleted): those are
    written back to the file, since an erasure is never undone.
    """
    path = register_path()
    on_file = read_register(path)
    stored = _stored_entries(check_target(target)) or []
    lost = [e for e in stored if on_file.find(e.subject) is None]
    if not lost:
        return on_file
    log.warning(
        "the erasure register %s lacked %d subject(s) that %s.%s on %s holds; "
        "they were added back to it",
        path,
        len(lost),
        RAW_SCHEMA,
        REGISTER_TABLE.name,
        target,
    )
    return _add(path, lost)


# --------------------------------------------------------------------------
# Reading the warehouse
# --------------------------------------------------------------------------


class _Connection:
    """The few calls erasure needs on DuckDB or Postgres."""

    def __init__(self, con: Any, target: str) -> None:
        self.con = con
        self.target = target
        self.mark = "?" if target == "duckdb" else "%s"

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.target == "duckdb":
            return self.con.execute(statement, list(params)).fetchall()
        with self.con.cursor() as cur:
            # Without parameters psycopg2 must not treat % as a placeholder.
            cur.execute(statement, list(params) if params else None)
            return list(cur.fetchall())


@contextlib.contextmanager
def _connect(target: str, *, create: bool = False) -> Iterator[_Connection]:
    """A read-only connection; ``create`` first makes a missing Postgres
    database (as ingest would) instead of failing on it."""
    if target == "duckdb":
        import duckdb

        path = duckdb_path()
        if not path.is_file():
            msg = f"no DuckDB warehouse at {path}: run `diamond run` first"
            raise DiamondError(msg)
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            msg = (
                f"cannot open the DuckDB warehouse {path}: {exc}. Close other "
                "programs using it and retry."
            )
            raise DiamondError(msg) from exc
        try:
            yield _Connection(con, target)
        finally:
            con.close()
        return
    if target != "postgres":
        msg = (
            f"reading the warehouse directly supports duckdb and postgres, not {target}"
        )
        raise DiamondError(msg)
    import psycopg2

    settings = PostgresSettings.from_env()
    if create:
        from diamond.loaders.postgres import ensure_database

        ensure_database(settings)
    try:
        con = psycopg2.connect(settings.dsn())
    except psycopg2.OperationalError as exc:
        msg = f"cannot connect to Postgres ({settings.dsn()}): {str(exc).strip()}"
        raise DiamondError(msg) from exc
    try:
        con.set_session(readonly=True)
        yield _Connection(con, target)
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows_holding(subject: Subject, target: str | None = None) -> dict[str, int]:
    """Rows per raw table whose id column holds the subject (tables with
    none are left out); the register itself is not counted."""
    target = check_target(target)
    with _connect(target) as db:
        tables = db.rows(
            "select table_name from information_schema.columns "
            f"where table_schema = {db.mark} and column_name = {db.mark} "
            "order by table_name",
            [RAW_SCHEMA, subject.column],
        )
        names = [t for (t,) in tables if t != REGISTER_TABLE.name]
        if not names:
            return {}
        counts = db.rows(
            " union all ".join(
                f"select {db.mark}, count(*) from {RAW_SCHEMA}.{_quote(name)} "
                f"where {_quote(subject.column)} = {db.mark}"
                for name in names
            ),
            [value for name in names for value in (name, subject.id)],
        )
    return {name: int(n) for name, n in counts if n}


def _warehouse_key(db: _Connection) -> str:
    try:
        rows = db.rows(f"select masking_key from {RAW_SCHEMA}.masking_key")
    except Exception as exc:  # the driver's own error type differs per engine
        msg = (
            f"cannot read {RAW_SCHEMA}.masking_key on {db.target} ({exc}): the "
            "pseudonyms cannot be searched for. Run `diamond ingest` first."
        )
        raise ErasureError(msg) from exc
    if len(rows) != 1 or not rows[0][0]:
        msg = (
            f"{RAW_SCHEMA}.masking_key on {db.target} holds {len(rows)} keys, "
            "not one: run `diamond ingest --force` to reload it"
        )
        raise ErasureError(msg)
    return rows[0][0]


@dataclass(frozen=True)
class Hit:
    """A column where an erased subject is still found."""

    relation: str
    column: str
    what: str  # "id" or "pseudonym"
    rows: int

    def __str__(self) -> str:
        return f"{self.relation}.{self.column}: {self.rows} row(s) hold its {self.what}"


@dataclass(frozen=True)
class SearchResult:
    """Where a subject was searched for, and where it was found."""

    target: str
    relations: int
    columns: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the subject was found nowhere."""
        return not self.hits


def _text_columns(db: _Connection) -> dict[tuple[str, str], list[str]]:
    """(schema, relation) -> its text columns, for every user relation."""
    if db.target == "duckdb":
        rows = db.rows(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns "
            "where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        )
        text = [
            (s, t, c) for s, t, c, kind in rows if "VARCHAR" in kind or kind == "JSON"
        ]
    else:
        # pg_catalog rather than information_schema: the latter leaves out
        # materialized views.
        text = db.rows(
            "select n.nspname, c.relname, a.attname "
            "from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "join pg_attribute a on a.attrelid = c.oid "
            "join pg_type t on t.oid = a.atttypid "
            "left join pg_type e on e.oid = t.typelem "
            "where c.relkind in ('r', 'v', 'm', 'p') "
            "and a.attnum > 0 and not a.attisdropped "
            "and n.nspname not like 'pg\\_%' "
            "and (t.typcategory = 'S' or t.typname in ('json', 'jsonb') "
            "or (t.typcategory = 'A' and e.typcategory = 'S')) "
            "order by n.nspname, c.relname, a.attnum"
        )
    found: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in text:
        if schema in _SYSTEM_SCHEMAS or (schema, table) == (
            RAW_SCHEMA,
            REGISTER_TABLE.name,
        ):
            continue
        found.setdefault((schema, table), []).append(column)
    return found


def _search_relation(
    db: _Connection,
    relation: str,
    columns: list[str],
    needles: tuple[str, str, str],
) -> list[tuple[str, int, int]]:
    """(column, id hits, pseudonym hits) for one relation, in one scan.

    An id counts only as a whole token: ``akerja01`` is inside another
    player's ``bakerja01``. A 64-digit pseudonym inside longer text can
    only be itself, so any occurrence counts.
    """
    kind = "varchar" if db.target == "duckdb" else "text"
    parts = []
    for column in columns:
        value = f"cast(r.{_quote(column)} as {kind})"
        token = (
            f"regexp_matches({value}, n.pattern)"
            if db.target == "duckdb"
            else f"{value} ~ n.pattern"
        )
        parts.append(
            f"sum(case when strpos({value}, n.id) > 0 then "
            f"case when {token} then 1 else 0 end else 0 end)"
        )
        parts.append(
            f"sum(case when strpos({value}, n.pseudonym) > 0 then 1 else 0 end)"
        )
    mark = db.mark
    (row,) = db.rows(
        f"with n as (select cast({mark} as {kind}) as id, cast({mark} as {kind}) "
        f"as pattern, cast({mark} as {kind}) as pseudonym) "
        f"select {', '.join(parts)} from {relation} as r cross join n",
        list(needles),
    )
    return [
        (column, int(row[2 * i] or 0), int(row[2 * i + 1] or 0))
        for i, column in enumerate(columns)
    ]


def find_subject(subject: str | Subject, target: str | None = None) -> SearchResult:
    """Search every text column of every relation of ``target`` (the register
    excepted) for the subject's id and its keyed-hash pseudonym.

    The pseudonym is made with the key in ``raw.masking_key``, the one the
    build used. Works on duckdb and postgres.
    """
    parsed = subject if isinstance(subject, Subject) else parse_subject(subject)
    target = check_target(target)
    # Ids are letters and digits only (parse_subject), so the pattern needs
    # no escaping in either engine's regular expressions.
    pattern = f"(^|[^A-Za-z0-9]){parsed.id}([^A-Za-z0-9]|$)"
    hits: list[Hit] = []
    with _connect(target) as db:
        needles = (parsed.id, pattern, pseudonym(parsed.id, _warehouse_key(db)))
        relations = _text_columns(db)
        for (schema, table), columns in relations.items():
            name = f"{_quote(schema)}.{_quote(table)}"
            for column, by_id, by_pseudonym in _search_relation(
                db, name, columns, needles
            ):
                for what, rows in (("id", by_id), ("pseudonym", by_pseudonym)):
                    if rows:
                        hits.append(Hit(f"{schema}.{table}", column, what, rows))
    columns = sum(len(c) for c in relations.values())
    log.info(
        "searched %d relations, %d text columns on %s: %d hit(s)",
        len(relations),
        columns,
        target,
        len(hits),
    )
    return SearchResult(target, len(relations), columns, hits)


# --------------------------------------------------------------------------
# Erasing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureReport:
    """What one :func:`erase` did."""

    subject: str
    kind: str
    digest: str
    target: str
    reference: str | None
    erased_at: str
    newly_registered: bool
    #: Raw table -> rows of the subject removed. Counted in the warehouse
    #: before the reload; on Athena, the rows the reload left out.
    rows_removed: dict[str, int]
    relations_rebuilt: list[str]
    load_id: str
    verified: bool
    relations_searched: int
    columns_searched: int
    audit_seq: int
    seconds: float
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        rows = sum(self.rows_removed.values())
        lines = [
            f"erased {self.subject} on {self.target}"
            + (f" (reference {self.reference})" if self.reference else "")
            + f": {rows:,} row(s) removed from {len(self.rows_removed)} raw "
            f"table(s), {len(self.relations_rebuilt)} relation(s) rebuilt "
            f"(load {self.load_id}), in {self.seconds:.0f}s",
        ]
        if self.verified:
            lines.append(
                f"verified: neither its id nor its pseudonym is in any of "
                f"{self.columns_searched:,} text columns of "
                f"{self.relations_searched} relations"
            )
        lines.extend(self.notes)
        lines.append(f"audit log: {AUDIT_ACTION} seq {self.audit_seq}")
        return "\n".join(lines)


def _models_built(result: Any) -> list[str]:
    """``schema.name`` of every model relation a dbt build (re)created."""
    built = []
    for outcome in getattr(result, "results", None) or []:
        node = getattr(outcome, "node", None)
        if node is None or str(getattr(node, "resource_type", "")) != "model":
            continue
        if getattr(node.config, "materialized", None) == "ephemeral":
            continue
        if str(getattr(outcome, "status", "")).lower() != "success":
            continue
        built.append(f"{node.schema}.{node.alias or node.name}")
    return sorted(built)


def _audit(
    subject: Subject,
    target: str,
    status: str,
    details: dict[str, Any],
) -> int:
    from governance.audit import record

    digest = subject_digest(subject)
    entry = record(
        AUDIT_ACTION,
        subject=f"{subject.kind}:{digest}",
        target=target,
        run_id=os.environ.get("DIAMOND_RUN_ID"),
        details={
            "status": status,
            "subject_kind": subject.kind,
            "subject_digest": digest,
            **details,
        },
    )
    return entry.seq


def erase(
    subject: str,
    target: str | None = None,
    *,
    reference: str | None = None,
    source: str | None = None,
    progress: Callable[[str], None] = print,
) -> ErasureReport:
    """Erase a data subject from ``target`` and keep it out of later loads.

    ``subject`` is ``fan:<fan_id>`` or ``player:<player_id>``; ``reference``
    is the request's reference (a ticket number, not personal data), kept
    in the register and the audit log; ``source`` is the release to reload,
    as for ``diamond ingest`` (default: the packaged release).

    Adds the subject to the register, re-loads raw (forced), runs ``dbt
    build`` and searches the whole warehouse for the subject's id and
    pseudonym. On Athena the search is not possible without AWS and is
    skipped; the report says so (see the module documentation).

    A subject neither in the target's raw tables nor in the register is an
    :class:`ErasureError` and nothing is changed. One already registered is
    applied again (useful on a second target). Every attempt that got as
    far as re-loading is recorded in the audit log, failed ones too; a
    subject still found after the rebuild raises :class:`ErasureError`
    naming each relation and column.
    """
    from diamond.dbt import run_dbt
    from diamond.ingest import ingest

    began = time.perf_counter()
    parsed = parse_subject(subject)
    target = check_target(target)
    reference = _checked_reference(reference)
    path = register_path()
    existing = read_register(path).find(parsed)
    present: dict[str, int] | None = None
    if target != "athena":
        present = rows_holding(parsed, target)
        if existing is None and not present:
            msg = (
                f"subject={subject!r} is not in the raw tables of {target} "
                f"(no {parsed.column} {parsed.id!r}) and was never erased: "
                "nothing was changed. Check the id (ids are case-sensitive) and "
                "the target."
            )
            raise ErasureError(msg)
    entry = register_erasure(str(parsed), reference=reference, path=path)
    notes: list[str] = []
    if existing is not None:
        notes.append(
            f"already in the erasure register since {existing.erased_at}; applied again"
        )
    progress(
        f"erasing a {parsed.kind} on {target}: reloading raw without the "
        f"{len(read_register(path))} registered subject(s)"
    )
    stage = "re-loading raw"
    try:
        loaded = ingest(target, source, force=True, progress=progress)
        stage = "dbt build"
        progress(f"rebuilding the derived relations on {target} (dbt build)")
        rebuilt = _models_built(run_dbt(["build"], target))
        if target == "postgres":
            # dbt-postgres runs no Python models, so the next-season model is
            # retrained here: nothing it learned from or predicted for the
            # subject may outlive the erasure.
            from diamond.training import train
            from ml.relations import RELATIONS

            stage = "retraining the model"
            progress("retraining the next-season model on postgres")
            train(target)
            rebuilt = sorted({*rebuilt, *(f"ml.{r}" for r in RELATIONS)})
        found = None
        if target != "athena":
            stage = "verifying"
            progress(f"searching every relation on {target} for the subject")
            found = find_subject(parsed, target)
    except DiamondError as exc:
        _audit(
            parsed,
            target,
            "failed",
            {"reference": entry.reference, "stage": stage, "error": str(exc)},
        )
        raise
    if present is None:
        present = loaded.erased_rows.get(str(parsed), {})
        notes.append(
            "not verified: searching Athena needs AWS. The previous load's "
            "Parquet files keep the subject until the next load prunes them: "
            "run `diamond ingest --target athena --force` once queries that "
            "started before this erasure have ended."
        )
    details = {
        "reference": entry.reference,
        "register": str(path),
        "load_id": loaded.load_id,
        "rows_removed": dict(sorted(present.items())),
        "relations_rebuilt": rebuilt,
        "verified": found is not None and found.ok,
        "relations_searched": found.relations if found else 0,
        "columns_searched": found.columns if found else 0,
    }
    if found is not None and not found.ok:
        details["still_found"] = [
            {"relation": h.relation, "column": h.column, "what": h.what}
            for h in found.hits
        ]
        _audit(parsed, target, "incomplete", details)
        where = "\n  ".join(str(h) for h in found.hits)
        msg = (
            f"erasure of {parsed} on {target} is incomplete: after the reload "
            f"and rebuild it is still found in:\n  {where}\nThe subject stays "
            "in the register. Remove or rebuild what holds it (a relation dbt "
            f"does not manage?), then run the erasure again to verify."
        )
        raise ErasureError(msg)
    seq = _audit(parsed, target, "erased", details)
    report = ErasureReport(
        subject=str(parsed),
        kind=parsed.kind,
        digest=subject_digest(parsed),
        target=target,
        reference=entry.reference,
        erased_at=entry.erased_at,
        newly_registered=existing is None,
        rows_removed=dict(sorted(present.items())),
        relations_rebuilt=rebuilt,
        load_id=loaded.load_id,
        verified=found is not None,
        relations_searched=found.relations if found else 0,
        columns_searched=found.columns if found else 0,
        audit_seq=seq,
        seconds=time.perf_counter() - began,
        notes=tuple(notes),
    )
    log.info("erased a %s on %s (audit seq %d)", parsed.kind, target, seq)
    return report
