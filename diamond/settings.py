"""Where diamond finds its project, warehouse and connections.

Connections come from environment variables, each with one documented
default; ``profiles.yml`` reads the same variables, so the ``diamond``
command and a bare ``dbt`` call always talk to the same warehouse.

=============================  ==============================================
Variable                       Default
=============================  ==============================================
``DIAMOND_TARGET``             ``duckdb``
``DIAMOND_DUCKDB_PATH``        ``<project>/warehouse/diamond.duckdb``
``PGHOST`` / ``PGPORT``        ``127.0.0.1`` / ``5432``
``PGUSER`` / ``PGPASSWORD``    ``postgres`` / empty
``PGDATABASE``                 ``diamond``
``AWS_REGION``                 ``us-east-1``
``DIAMOND_ATHENA_S3_DATA``     ``s3://diamond-lake/warehouse``
``DIAMOND_ATHENA_S3_STAGING``  ``s3://diamond-lake/athena-results``
``DIAMOND_CACHE_DIR``          ``<project>/warehouse/cache``
``DIAMOND_MASKING_KEY``        a random key in ``masking.key`` by the DuckDB file
``DIAMOND_AUDIT_LOG``          ``audit/audit.jsonl`` by the DuckDB file
``DIAMOND_ERASURE_REGISTER``   ``erasure_register.json`` by the DuckDB file
=============================  ==============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from diamond.errors import ConfigError

TARGETS = ("duckdb", "postgres", "athena")
RAW_SCHEMA = "raw"


def project_dir() -> Path:
    """The dbt project root: ``DIAMOND_PROJECT_DIR`` or the nearest parent of
    the working directory (then of this package) holding ``dbt_project.yml``."""
    explicit = os.environ.get("DIAMOND_PROJECT_DIR")
    if explicit:
        path = Path(explicit).resolve()
        if not (path / "dbt_project.yml").is_file():
            msg = f"DIAMOND_PROJECT_DIR={explicit} has no dbt_project.yml"
            raise ConfigError(msg)
        return path
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for candidate in (start, *start.parents):
            if (candidate / "dbt_project.yml").is_file():
                return candidate
    msg = (
        "cannot find dbt_project.yml: run diamond inside the project folder "
        "or set DIAMOND_PROJECT_DIR"
    )
    raise ConfigError(msg)


def check_target(target: str | None) -> str:
    """Return the target to use, defaulting to ``DIAMOND_TARGET`` or duckdb."""
    chosen = target or os.environ.get("DIAMOND_TARGET") or "duckdb"
    if chosen not in TARGETS:
        msg = f"unknown target {chosen!r}: choose one of {', '.join(TARGETS)}"
        raise ConfigError(msg)
    return chosen


def duckdb_path() -> Path:
    """Absolute path of the DuckDB warehouse file (its folder is created)."""
    raw = os.environ.get("DIAMOND_DUCKDB_PATH")
    path = Path(raw) if raw else project_dir() / "warehouse" / "diamond.duckdb"
    if not path.is_absolute():
        path = project_dir() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Folder for downloaded source archives."""
    raw = os.environ.get("DIAMOND_CACHE_DIR")
    path = Path(raw) if raw else project_dir() / "warehouse" / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_env(cls) -> PostgresSettings:
        port = os.environ.get("PGPORT", "5432")
        if not port.isdigit():
            msg = f"PGPORT={port!r} is not a port number"
            raise ConfigError(msg)
        return cls(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=int(port),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            database=os.environ.get("PGDATABASE", "diamond"),
        )

    def dsn(self, database: str | None = None) -> str:
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": database or self.database,
        }
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{k}={v}" for k, v in parts.items())


@dataclass(frozen=True)
class AthenaSettings:
    region: str
    data_location: str
    staging_dir: str
    endpoint_url: str | None

    @classmethod
    def from_env(cls) -> AthenaSettings:
        return cls(
            region=os.environ.get("AWS_REGION", "us-east-1"),
            data_location=os.environ.get(
                "DIAMOND_ATHENA_S3_DATA", "s3://diamond-lake/warehouse"
            ).rstrip("/"),
            staging_dir=os.environ.get(
                "DIAMOND_ATHENA_S3_STAGING", "s3://diamond-lake/athena-results"
            ),
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
        )
