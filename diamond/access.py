"""Who may read what: the warehouse roles and the restricted raw schema.

Three roles stand for the people who read the warehouse:

* ``diamond_analyst`` reads the masked staging, intermediate and mart
  relations;
* ``diamond_ml_engineer`` reads the marts only;
* ``diamond_privacy_officer`` reads everything, the unmasked raw schema
  included, because erasure requests and audits need the real values.

Which relations each role may select is decided once, by the ``grants``
folder configs in ``dbt_project.yml``; dbt applies them on every build.
What dbt does not manage lives here: the roles themselves, and the raw
schema that ingest (not dbt) creates. Postgres roles belong to the whole
server, so creating them is idempotent and shared by every database.

DuckDB has no roles (whoever can open the file reads everything) and
Athena delegates access to Lake Formation, whose policy is generated
from the same dbt meta (``governance.privacy.lakeformation``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql

from diamond.errors import ConfigError
from diamond.settings import RAW_SCHEMA, PostgresSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Role:
    """A warehouse role and why it exists."""

    name: str
    description: str
    reads_raw: bool


ANALYST = Role(
    "diamond_analyst",
    "Analytics engineers and analysts: masked staging, intermediate, marts.",
    reads_raw=False,
)
ML_ENGINEER = Role(
    "diamond_ml_engineer",
    "Machine-learning engineers: the masked marts only.",
    reads_raw=False,
)
PRIVACY_OFFICER = Role(
    "diamond_privacy_officer",
    "The privacy office: every schema, the unmasked raw data included.",
    reads_raw=True,
)
ROLES = (ANALYST, ML_ENGINEER, PRIVACY_OFFICER)
ROLES_BY_NAME = {role.name: role for role in ROLES}

#: Schemas that may hold unmasked personal data. Nothing outside them may.
RESTRICTED_SCHEMAS = (RAW_SCHEMA,)


def role(name: str) -> Role:
    """The role called ``name``; an unknown name is a clear error."""
    try:
        return ROLES_BY_NAME[name]
    except KeyError:
        msg = f"unknown role {name!r}: choose one of {', '.join(ROLES_BY_NAME)}"
        raise ConfigError(msg) from None


def _ensure_roles(cur) -> list[str]:
    created = []
    for each in ROLES:
        cur.execute("select 1 from pg_roles where rolname = %s", (each.name,))
        if cur.fetchone() is None:
            # LOGIN without a password: the server's authentication rules
            # decide who may connect as the role; nothing secret is stored.
            try:
                cur.execute(
                    sql.SQL("create role {} login").format(sql.Identifier(each.name))
                )
                created.append(each.name)
            except psycopg2.errors.DuplicateObject:
                pass  # another session created it between the check and now
        cur.execute(
            sql.SQL("comment on role {} is {}").format(
                sql.Identifier(each.name), sql.Literal(each.description)
            )
        )
    return created


def _restrict_raw(cur) -> None:
    schema = sql.Identifier(RAW_SCHEMA)
    cur.execute(sql.SQL("revoke all on schema {} from public").format(schema))
    for each in ROLES:
        name = sql.Identifier(each.name)
        if each.reads_raw:
            cur.execute(sql.SQL("grant usage on schema {} to {}").format(schema, name))
            cur.execute(
                sql.SQL("grant select on all tables in schema {} to {}").format(
                    schema, name
                )
            )
            # Tables that later loads create are covered too.
            cur.execute(
                sql.SQL(
                    "alter default privileges in schema {} grant select on tables to {}"
                ).format(schema, name)
            )
        else:
            cur.execute(
                sql.SQL("revoke all on all tables in schema {} from {}").format(
                    schema, name
                )
            )
            cur.execute(
                sql.SQL("revoke usage on schema {} from {}").format(schema, name)
            )


def ensure_postgres_access(settings: PostgresSettings | None = None) -> list[str]:
    """Create the roles if missing and restrict the raw schema to the roles
    that may read it. Returns the names of the roles created now."""
    settings = settings or PostgresSettings.from_env()
    con = psycopg2.connect(settings.dsn())
    try:
        # Roles are server-wide: each statement commits on its own, so a
        # role that another database's build created is simply reused.
        con.autocommit = True
        with con.cursor() as cur:
            created = _ensure_roles(cur)
        con.autocommit = False
        with con, con.cursor() as cur:
            cur.execute(
                sql.SQL("create schema if not exists {}").format(
                    sql.Identifier(RAW_SCHEMA)
                )
            )
            _restrict_raw(cur)
            cur.execute(
                sql.SQL("grant connect on database {} to {}").format(
                    sql.Identifier(settings.database),
                    sql.SQL(", ").join(sql.Identifier(r.name) for r in ROLES),
                )
            )
    finally:
        con.close()
    if created:
        log.info("created roles %s", ", ".join(created))
    return created
