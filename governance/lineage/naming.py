"""How diamond names its OpenLineage jobs and datasets.

Every lineage module takes names from here, so an ingest event and a dbt
event that mention the same table agree on it to the character.

Jobs live in one namespace, ``$OPENLINEAGE_NAMESPACE`` (default
``diamond``): ``diamond.run`` is a whole pipeline run, ``diamond.ingest``
the load of a release, ``diamond.dbt.<command>`` one dbt invocation and
``<project>.<resource_type>.<name>`` one dbt node (for example
``diamond.model.fct_team_seasons``).

Datasets follow the OpenLineage naming conventions (namespace, then name):

- Postgres: ``postgres://{host}:{port}``, ``{database}.{schema}.{table}``;
- DuckDB: ``duckdb://{absolute file path}``, ``{catalog}.{schema}.{table}``
  (the catalog is the file's stem, as dbt-duckdb reports it);
- Athena: ``awsathena://athena.{region}.amazonaws.com``,
  ``{catalog}.{schema}.{table}``;
- a local file or folder: ``file``, its absolute path;
- an https URL: ``https://{host}``, the URL's path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from diamond.errors import ConfigError
from diamond.settings import (
    AthenaSettings,
    PostgresSettings,
    check_target,
    duckdb_path,
)

#: Default job namespace when ``OPENLINEAGE_NAMESPACE`` is not set.
DEFAULT_NAMESPACE = "diamond"
#: The whole ``diamond run`` pipeline.
PIPELINE_JOB = "diamond.run"
#: The ingest step (release to the ``raw`` schema).
INGEST_JOB = "diamond.ingest"
#: Catalog name Athena gives the AWS Glue data catalog.
ATHENA_CATALOG = "awsdatacatalog"
#: Namespace of datasets that are local files or folders.
FILE_NAMESPACE = "file"


@dataclass(frozen=True, order=True)
class DatasetRef:
    """A dataset's OpenLineage identity: its namespace and its name."""

    namespace: str
    name: str


def job_namespace() -> str:
    """The namespace of every diamond job: ``$OPENLINEAGE_NAMESPACE`` or
    ``diamond``."""
    return os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE


def dbt_invocation_job(command: str) -> str:
    """Job name of one dbt invocation, e.g. ``diamond.dbt.build``."""
    return f"diamond.dbt.{command}"


def dbt_node_job(project: str, resource_type: str, name: str) -> str:
    """Job name of one dbt node, e.g. ``diamond.model.fct_team_seasons``."""
    return f"{project}.{resource_type}.{name}"


def dataset_name(database: str | None, schema: str | None, table: str) -> str:
    """``database.schema.table``, leaving out parts a warehouse lacks."""
    return ".".join(part for part in (database, schema, table) if part)


def duckdb_catalog(path: Path) -> str:
    """The catalog name DuckDB gives a database file: its stem."""
    return Path(path).stem


def warehouse_namespace(target: str | None = None) -> str:
    """Dataset namespace of a warehouse, from the same settings dbt uses.

    ``target`` is ``duckdb``, ``postgres`` or ``athena`` (default:
    ``$DIAMOND_TARGET``, else duckdb).
    """
    target = check_target(target)
    if target == "duckdb":
        return f"duckdb://{duckdb_path().resolve()}"
    if target == "postgres":
        settings = PostgresSettings.from_env()
        return f"postgres://{settings.host}:{settings.port}"
    region = AthenaSettings.from_env().region
    return f"awsathena://athena.{region}.amazonaws.com"


def warehouse_database(target: str | None = None) -> str:
    """The database (catalog) part of dataset names on a warehouse."""
    target = check_target(target)
    if target == "duckdb":
        return duckdb_catalog(duckdb_path())
    if target == "postgres":
        return PostgresSettings.from_env().database
    return ATHENA_CATALOG


def table_dataset(
    table: str, schema: str, target: str | None = None, database: str | None = None
) -> DatasetRef:
    """A warehouse table or view; ``database`` defaults to the target's."""
    return DatasetRef(
        warehouse_namespace(target),
        dataset_name(database or warehouse_database(target), schema, table),
    )


def file_dataset(path: str | Path) -> DatasetRef:
    """A local file or folder: namespace ``file``, the absolute path as name."""
    return DatasetRef(FILE_NAMESPACE, str(Path(path).expanduser().resolve()))


def url_dataset(url: str) -> DatasetRef:
    """An https resource: namespace ``https://{host}``, its path as name."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        msg = f"{url!r} is not an https URL; give https://host/path or a local path"
        raise ConfigError(msg)
    return DatasetRef(f"https://{parts.netloc}", parts.path or "/")


def location_dataset(location: str | Path) -> DatasetRef:
    """A release location: an https URL or a local path."""
    text = str(location)
    if "://" in text:
        return url_dataset(text)
    return file_dataset(text)
