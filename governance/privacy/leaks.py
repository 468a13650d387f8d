"""The leak check: no raw personal value may appear outside the raw schema.

Masking is decided column by column in YAML, and a new model can still
select a raw value around it. This check does not trust the YAML: it takes
the identifying values themselves from the restricted raw tables (fan
emails, phone numbers, SSNs, card numbers, IP addresses and dates of
birth; medical record numbers and health-plan ids; players' full birth
dates) and looks for every one of them in every column of every relation
the warehouse's readers can see. One hit is a leak.

Values are compared whole, after a cast to text, and again with every
non-digit removed in text columns, so a card number re-formatted with
spaces or an SSN without dashes is still found. Names and street
addresses are left out on purpose: a synthetic fan may share a name with
a real player, and such a hit would say nothing.

Dates of birth are searched for only in date columns about births: a
date by itself identifies nobody, and parks open, players debut and fans
sign up on the same days. Someone born on the first of a month keeps the
exact date after the ``month_only`` policy, which reveals nothing the
month does not; those birth dates are not searched for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from diamond.access import RESTRICTED_SCHEMAS
from diamond.errors import DiamondError
from diamond.settings import RAW_SCHEMA, check_target
from diamond.warehouse import connect

log = logging.getLogger(__name__)

#: (raw table, column) pairs whose values identify a person on their own.
NEEDLE_COLUMNS = (
    ("fan_accounts", "email"),
    ("fan_accounts", "phone"),
    ("fan_accounts", "national_id"),
    ("fan_accounts", "card_number"),
    ("fan_accounts", "ip_address"),
    ("fan_accounts", "date_of_birth"),
    ("player_medical_stints", "medical_record_number"),
    ("player_medical_stints", "health_plan_id"),
)
# Shorter digit strings (years, counts, salaries) occur everywhere.
_MIN_DIGITS = 9
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")
_TEXT_TYPES = ("varchar", "text", "character varying", "string")
_INTEGER_TYPES = ("integer", "bigint", "hugeint", "numeric", "decimal")
#: Kinds of needle that are dates of birth. A date by itself identifies
#: nobody (parks open, players debut and fans sign up on the same days),
#: so these are searched only in date columns about births.
_BIRTH_KINDS = ("fan_accounts.date_of_birth", "people.birth_date")


@dataclass(frozen=True)
class Leak:
    """A raw personal value found in a readable relation."""

    relation: str
    column: str
    kind: str
    hits: int

    def __str__(self) -> str:
        return (
            f"{self.relation}.{self.column}: {self.hits} value(s) equal to raw "
            f"{self.kind or 'personal values'}"
        )


@dataclass(frozen=True)
class LeakReport:
    """What was searched, and what was found."""

    target: str
    needles: int
    relations: int
    columns: int
    leaks: list[Leak]

    @property
    def ok(self) -> bool:
        """True when no raw value was found anywhere."""
        return not self.leaks


class _Connection:
    """The few calls the check needs, on DuckDB or Postgres.

    DuckDB's ``cursor()`` opens a second connection, which would not see
    the first one's temporary tables, so statements run on the connection
    itself there.
    """

    def __init__(self, con: Any, *, duckdb: bool) -> None:
        self.con = con
        self.duckdb = duckdb
        self.mark = "?" if duckdb else "%s"

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.duckdb:
            yield self.con
            return
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._cursor() as cur:
            cur.execute(statement, list(params))
            return list(cur.fetchall())

    def run(self, statement: str, params: Sequence[Any] = ()) -> None:
        with self._cursor() as cur:
            cur.execute(statement, list(params))

    def fill(self, table: str, pairs: list[tuple[str, str]]) -> None:
        """Insert (value, kind) pairs in one statement: row-by-row
        ``executemany`` of tens of thousands of needles costs seconds."""
        values = [value for value, _ in pairs]
        kinds = [kind for _, kind in pairs]
        array = f"cast({self.mark} as varchar[])"
        self.run(
            f"insert into {table} select unnest({array}), unnest({array})",
            [values, kinds],
        )


@contextmanager
def _connect(target: str) -> Iterator[_Connection]:
    if target not in ("duckdb", "postgres"):
        msg = (
            f"the leak check reads the warehouse directly and supports duckdb "
            f"and postgres, not {target}"
        )
        raise DiamondError(msg)
    with connect(target) as con:
        yield _Connection(con, duckdb=target == "duckdb")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _needles(db: _Connection) -> list[tuple[str, str]]:
    """(value, kind) pairs read from the raw tables."""
    found: list[tuple[str, str]] = []
    for table, column in NEEDLE_COLUMNS:
        values = db.rows(
            f"select distinct cast({_quote(column)} as varchar) "
            f"from {RAW_SCHEMA}.{table} where {_quote(column)} is not null"
        )
        found += [(value, f"{table}.{column}") for (value,) in values]
    births = db.rows(
        "select distinct birth_year, birth_month, birth_day "
        f"from {RAW_SCHEMA}.people where birth_year is not null "
        "and birth_month is not null and birth_day is not null and birth_day > 1"
    )
    found += [
        (f"{int(y):04d}-{int(m):02d}-{int(d):02d}", "people.birth_date")
        for y, m, d in births
    ]
    return found


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _relations(db: _Connection, schemas: Sequence[str]) -> dict[str, list]:
    marks = ", ".join(db.mark for _ in schemas)
    rows = db.rows(
        "select table_schema, table_name, column_name, data_type "
        "from information_schema.columns "
        # The check's own temporary tables sit in DuckDB's temp catalog under
        # a schema name ("main") the warehouse may use too.
        f"where table_catalog = current_database() and table_schema in ({marks}) "
        "order by table_schema, table_name, ordinal_position",
        list(schemas),
    )
    relations: dict[str, list] = {}
    for schema, table, column, data_type in rows:
        key = f"{_quote(schema)}.{_quote(table)}"
        relations.setdefault(key, []).append((column, data_type.lower()))
    return relations


def readable_schemas(db: _Connection) -> list[str]:
    """Every schema of the warehouse except the restricted and system ones."""
    rows = db.rows(
        "select distinct table_schema from information_schema.tables "
        "where table_catalog = current_database()"
    )
    skip = set(RESTRICTED_SCHEMAS) | set(_SYSTEM_SCHEMAS)
    return sorted(s for (s,) in rows if s not in skip and not s.startswith("pg_"))


def _is_birth_column(column: str) -> bool:
    name = column.lower()
    return "birth" in name or "dob" in name.split("_") or "born" in name


def _search(
    db: _Connection, relation: str, columns: list[tuple[str, str]]
) -> list[tuple[str, int, int]]:
    """(column, whole-value hits, digit hits) for one relation, one query."""
    parts = []
    for column, data_type in columns:
        ref = _quote(column)
        whole = "0"
        digits = "0"
        if data_type in _TEXT_TYPES:
            whole = _hits(f"{ref}", "_leak_needles")
            # Identifiers re-typed with other separators still match; only
            # values long enough to hold one are rewritten.
            digits = _hits(
                f"regexp_replace({ref}, '[^0-9]', '', 'g')",
                "_leak_digits",
                guard=f"length({ref}) >= {_MIN_DIGITS}",
            )
        elif data_type in _INTEGER_TYPES:
            # A number cast to text has no leading zeros, so only one of at
            # least _MIN_DIGITS digits can equal a needle; the guard spares
            # the cast and the look-up for the small counts most columns hold.
            digits = _hits(
                f"cast({ref} as varchar)",
                "_leak_digits",
                guard=f"{ref} >= {10 ** (_MIN_DIGITS - 1)}",
            )
        elif data_type == "date" and _is_birth_column(column):
            whole = _hits(f"cast({ref} as varchar)", "_leak_births")
        parts += [whole, digits]
    (row,) = db.rows(f"select {', '.join(parts)} from {relation}")
    return [
        (column, int(row[2 * i] or 0), int(row[2 * i + 1] or 0))
        for i, (column, _) in enumerate(columns)
    ]


def _hits(value: str, table: str, guard: str = "true") -> str:
    return (
        f"sum(case when {guard} and {value} in (select value from {table}) "
        "then 1 else 0 end)"
    )


def _matched_kinds(db: _Connection, relation: str, column: str, whole: bool) -> str:
    """Which raw columns the hits equal, for the message."""
    ref = f"r.{_quote(column)}"
    if whole:
        table = "_leak_births" if _is_birth_column(column) else "_leak_needles"
        value = f"cast({ref} as varchar)"
    else:
        # Numbers hold digits too: cast them, as the search does.
        value = f"regexp_replace(cast({ref} as varchar), '[^0-9]', '', 'g')"
        table = "_leak_digits"
    rows = db.rows(
        f"select distinct n.kind from {relation} as r "
        f"join {table} as n on n.value = {value} order by 1 limit 5"
    )
    return ", ".join(kind for (kind,) in rows)


def find_leaks(target: str | None = None) -> LeakReport:
    """Search every readable relation of ``target`` for raw personal values."""
    target = check_target(target)
    with _connect(target) as db:
        needles = _needles(db)
        kinds = {v: k for v, k in needles if k not in _BIRTH_KINDS}
        # The month policy keeps a date on the 1st as it is (see above).
        births = {
            v: k for v, k in needles if k in _BIRTH_KINDS and not v.endswith("-01")
        }
        digit_kinds = {
            _digits(v): k for v, k in kinds.items() if len(_digits(v)) >= _MIN_DIGITS
        }
        # Temporary tables live outside the warehouse (in memory on DuckDB,
        # whose file is open read-only), so the check writes nothing.
        for name, pairs in (
            ("_leak_needles", kinds.items()),
            ("_leak_digits", digit_kinds.items()),
            ("_leak_births", births.items()),
        ):
            db.run(f"create temporary table {name} (value varchar, kind varchar)")
            db.fill(name, list(pairs))
        schemas = readable_schemas(db)
        relations = _relations(db, schemas)
        leaks: list[Leak] = []
        columns = 0
        for relation, cols in relations.items():
            columns += len(cols)
            for column, whole, digits in _search(db, relation, cols):
                if whole or digits:
                    kind = _matched_kinds(db, relation, column, bool(whole))
                    leaks.append(Leak(relation, column, kind, whole or digits))
    log.info(
        "leak check on %s: %d needles, %d relations, %d leaks",
        target,
        len(needles),
        len(relations),
        len(leaks),
    )
    return LeakReport(target, len(needles), len(relations), columns, leaks)
