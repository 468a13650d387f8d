"""Load raw tables into an S3 data lake catalogued in AWS Glue, for Athena.

Layout. Every load gets its own prefix under ``DIAMOND_ATHENA_S3_DATA``::

    <data>/raw/<table>/<load_id>/<season_column>=1871/part-00000.parquet
    <data>/raw/<table>/<load_id>/part-00000.parquet        (no season column)
    <data>/raw/load_log/<load_id>.parquet                  (one file per load)

Tables with a season column are partitioned by it, Hive style. The partition
column lives in the folder name only, so the Glue table lists it under
``PartitionKeys`` and not among its columns. A table whose season column has
empty values (``allstar_full`` in the 2021.2 release has one such row) is
written unpartitioned instead, since a missing season cannot be a partition
folder that Athena's partition projection reaches; it keeps the season as an
ordinary column.

Swap. Glue has no transaction spanning tables, so a load runs in phases that
keep the previous load readable until the new one is complete:

1. Parquet for every table is written under the new load's prefix. Nothing
   the catalog points at is touched; if any write fails, the new prefix is
   deleted and the Glue tables still describe the previous load.
2. Only then is each Glue table in database ``raw`` pointed at its new prefix,
   one ``UpdateTable`` call per table. Partitioned tables use partition
   projection (the season range and a location template are table
   parameters), so there are no partitions to register and that single call
   switches a whole table. If a catalog call fails part way, the tables
   already switched are put back to their previous definitions and the new
   prefix is deleted. Should putting a table back fail too, the error
   (:class:`PartialSwapError`) names it and the new files are kept, so no
   table ever points at deleted data.
3. The load is appended to ``raw.load_log``, then prefixes older than the
   previous load are deleted. The previous load's files are kept, so queries
   that started before the swap can finish.

Each Glue table carries the id of the load it describes (table parameter
``diamond.load_id``). A load counts as current only when the load log and
every raw table in the catalog agree on that id.

Settings come from :class:`diamond.settings.AthenaSettings`; credentials from
the usual AWS chain. boto3 honours ``AWS_ENDPOINT_URL``, which is how tests
point the loader at a local stand-in for S3 and Glue.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from diamond.contracts import ValidatedTable
from diamond.errors import IngestError
from diamond.lahman import TABLES, WAREHOUSE_TYPES, TableSpec
from diamond.loaders import LOAD_LOG_COLUMNS, LoadRecord
from diamond.settings import RAW_SCHEMA, AthenaSettings

log = logging.getLogger(__name__)

LOAD_LOG_TABLE = "load_log"
#: Glue table parameter naming the load a table currently describes.
LOAD_ID_PARAMETER = "diamond.load_id"
#: Parallel S3 uploads; partitioned tables are many small files.
UPLOAD_WORKERS = 16

_GLUE_TYPES = {
    **WAREHOUSE_TYPES["athena"],
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}
_LOG_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("ms"),
}
_PARQUET_FORMAT = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": (
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        ),
        "Parameters": {"serialization.format": "1"},
    },
}
# Keys of a GetTable answer that UpdateTable / CreateTable accept back.
_TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
)
_MISSING_BUCKET_CODES = {"NoSuchBucket", "404", "NotFound"}
_REFUSED_CODES = {
    "403",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
}


def _load_id(table: dict[str, Any] | None) -> str | None:
    """The load a Glue table (a GetTable answer or a TableInput) describes."""
    return (table or {}).get("Parameters", {}).get(LOAD_ID_PARAMETER)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/prefix`` into bucket and key prefix (no
    slashes at either end), or stop with what to set."""
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        msg = (
            f"DIAMOND_ATHENA_S3_DATA={uri!r} is not an S3 location: set it to "
            "s3://<bucket>/<prefix>, for example s3://diamond-lake/warehouse"
        )
        raise IngestError(msg)
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


class PartialSwapError(IngestError):
    """Some Glue tables point at the new load and could not be put back."""


@dataclass(frozen=True)
class TableLayout:
    """Where one table of one load was written and how it is partitioned."""

    spec: TableSpec
    location: str  # s3:// URI of the load's folder, ending in "/"
    partition_key: str | None
    season_range: tuple[int, int] | None
    files: int


class AthenaLoader:
    """Writes Parquet under ``DIAMOND_ATHENA_S3_DATA`` and registers it in Glue."""

    target = "athena"

    def __init__(
        self,
        settings: AthenaSettings | None = None,
        session: boto3.session.Session | None = None,
    ) -> None:
        self.settings = settings or AthenaSettings.from_env()
        self.bucket, self.root = split_s3_uri(self.settings.data_location)
        session = session or boto3.session.Session(region_name=self.settings.region)
        config = Config(
            region_name=self.settings.region,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=UPLOAD_WORKERS,
            # A custom endpoint (a local stand-in, a VPC endpoint) may not
            # resolve bucket subdomains; path-style requests always work.
            s3={"addressing_style": "path"} if self.settings.endpoint_url else None,
        )
        endpoint = self.settings.endpoint_url
        self.s3 = session.client("s3", endpoint_url=endpoint, config=config)
        self.glue = session.client("glue", endpoint_url=endpoint, config=config)

    # -- locations -----------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.root, RAW_SCHEMA, *parts) if p)

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def table_prefix(self, table: str, load_id: str | None = None) -> str:
        """Key prefix (ending in ``/``) of a table, or of one load of it."""
        return self._key(table, load_id or "") + "/"

    def log_prefix(self) -> str:
        """Key prefix (ending in ``/``) holding the load log files."""
        return self._key(LOAD_LOG_TABLE) + "/"

    # -- errors --------------------------------------------------------------

    @contextmanager
    def _aws(self, action: str) -> Iterator[None]:
        """Turn AWS client errors raised while doing ``action`` into
        :class:`IngestError` messages that say what to set or fix."""
        where = self.settings.endpoint_url or f"AWS in {self.settings.region}"
        try:
            yield
        except (NoCredentialsError, PartialCredentialsError) as exc:
            msg = (
                f"no usable AWS credentials while {action}: set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) "
                f"for an identity that may write to s3://{self.bucket} and "
                "manage the Glue database 'raw'"
            )
            raise IngestError(msg) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            msg = (
                f"cannot reach {where} while {action}: {exc}. Check the "
                "network, AWS_REGION, and AWS_ENDPOINT_URL (unset it to use "
                "AWS itself)"
            )
            raise IngestError(msg) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "unknown"))
            operation = exc.operation_name
            if code in _MISSING_BUCKET_CODES and operation in (
                "HeadBucket",
                "ListObjectsV2",
                "PutObject",
                "GetObject",
            ):
                msg = (
                    f"the S3 bucket {self.bucket!r} (from DIAMOND_ATHENA_S3_DATA="
                    f"{self.settings.data_location}) does not exist at {where}: "
                    "create it, or set DIAMOND_ATHENA_S3_DATA to a bucket "
                    "that exists"
                )
            elif code in _REFUSED_CODES:
                msg = (
                    f"AWS refused {operation} ({code}) while {action}: check "
                    "that AWS_ACCESS_KEY_ID / AWS_PROFILE name an identity "
                    f"allowed to read and write s3://{self.bucket} and to "
                    "manage the Glue database 'raw'"
                )
            else:
                msg = (
                    f"AWS {operation} failed while {action}: {code}: "
                    f"{error.get('Message', exc)}"
                )
            raise IngestError(msg) from exc
        except BotoCoreError as exc:
            msg = f"the AWS client failed while {action}: {exc}"
            raise IngestError(msg) from exc

    # -- S3 ------------------------------------------------------------------

    def _check_bucket(self) -> None:
        self.s3.head_bucket(Bucket=self.bucket)

    def _keys(self, prefix: str) -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def _children(self, prefix: str) -> list[str]:
        """Names of the folders directly under ``prefix``."""
        pages = self.s3.get_paginator("list_objects_v2")
        names = []
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            for item in page.get("CommonPrefixes", []):
                names.append(item["Prefix"][len(prefix) :].rstrip("/"))
        return names

    def _delete_prefix(self, prefix: str) -> int:
        keys = list(self._keys(prefix))
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
        return len(keys)

    def _put_parquet(self, key: str, data: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(data, buffer, compression="snappy")
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=buffer.getvalue())

    def _plan(
        self, table: ValidatedTable, load_id: str
    ) -> tuple[TableLayout, list[tuple[str, pa.Table]]]:
        """Decide a table's layout and the files (key, rows) that make it."""
        spec, data = table.spec, table.data
        prefix = self.table_prefix(spec.name, load_id)
        season = spec.season_column
        if season and data.num_rows and data[season].null_count:
            log.warning(
                "%s: %d rows have no %s, so the table is written unpartitioned",
                spec.name,
                data[season].null_count,
                season,
            )
            season = None
        if not season or not data.num_rows:
            layout = TableLayout(spec, self._uri(prefix), None, None, 1)
            return layout, [(f"{prefix}part-00000.parquet", data)]
        ordered = data.sort_by(season)
        values = ordered[season].to_pylist()
        rest = ordered.drop_columns([season])
        files, start = [], 0
        for end in range(1, len(values) + 1):
            if end == len(values) or values[end] != values[start]:
                key = f"{prefix}{season}={values[start]}/part-00000.parquet"
                files.append((key, rest.slice(start, end - start)))
                start = end
        bounds = pc.min_max(data[season])
        season_range = (bounds["min"].as_py(), bounds["max"].as_py())
        layout = TableLayout(spec, self._uri(prefix), season, season_range, len(files))
        return layout, files

    def _write_tables(
        self, tables: list[ValidatedTable], load_id: str
    ) -> list[TableLayout]:
        layouts, jobs = [], []
        for table in tables:
            layout, files = self._plan(table, load_id)
            layouts.append(layout)
            jobs.extend(files)
        with ThreadPoolExecutor(max_workers=UPLOAD_WORKERS) as pool:
            futures = [pool.submit(self._put_parquet, k, d) for k, d in jobs]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        log.debug("wrote %d Parquet files for load %s", len(jobs), load_id)
        return layouts

    def _discard(self, tables: list[ValidatedTable], load_id: str) -> None:
        """Delete what a failed load wrote; the catalog never pointed at it."""
        for table in tables:
            prefix = self.table_prefix(table.spec.name, load_id)
            try:
                self._delete_prefix(prefix)
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not delete s3://%s/%s: %s", self.bucket, prefix, exc)

    def _prune(self, layouts: list[TableLayout], keep: dict[str, set[str]]) -> None:
        """Delete load folders of each table other than the ones in ``keep``."""
        for layout in layouts:
            name = layout.spec.name
            prefix = self.table_prefix(name)
            try:
                for child in self._children(prefix):
                    if child not in keep[name]:
                        removed = self._delete_prefix(f"{prefix}{child}/")
                        log.debug("pruned %s load %s (%d files)", name, child, removed)
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not prune old loads of %s: %s", name, exc)

    # -- Glue ----------------------------------------------------------------

    def _ensure_database(self) -> None:
        try:
            self.glue.get_database(Name=RAW_SCHEMA)
        except self.glue.exceptions.EntityNotFoundException:
            log.info("creating Glue database %s", RAW_SCHEMA)
            with suppress(self.glue.exceptions.AlreadyExistsException):
                self.glue.create_database(
                    DatabaseInput={
                        "Name": RAW_SCHEMA,
                        "Description": (
                            "Lahman baseball release as loaded by diamond ingest"
                        ),
                        "LocationUri": self._uri(self._key()) + "/",
                    }
                )

    def _catalog(self) -> dict[str, dict[str, Any]]:
        """The tables of database ``raw`` by name (empty if it is missing)."""
        found: dict[str, dict[str, Any]] = {}
        try:
            pages = self.glue.get_paginator("get_tables")
            for page in pages.paginate(DatabaseName=RAW_SCHEMA):
                for table in page["TableList"]:
                    found[table["Name"]] = table
        except self.glue.exceptions.EntityNotFoundException:
            return {}
        return found

    def table_input(self, layout: TableLayout, load_id: str) -> dict[str, Any]:
        """The Glue ``TableInput`` describing one table of one load."""
        spec = layout.spec
        key = layout.partition_key
        columns = [
            {"Name": c.name, "Type": _GLUE_TYPES[c.type]}
            for c in spec.columns
            if c.name != key
        ]
        parameters = {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "parquet.compression": "SNAPPY",
            "diamond.source_file": spec.file,
            LOAD_ID_PARAMETER: load_id,
        }
        partition_keys = []
        if key is not None and layout.season_range is not None:
            low, high = layout.season_range
            partition_keys = [{"Name": key, "Type": _GLUE_TYPES[spec.column(key).type]}]
            parameters |= {
                "projection.enabled": "true",
                f"projection.{key}.type": "integer",
                f"projection.{key}.range": f"{low},{high}",
                "storage.location.template": f"{layout.location}{key}=${{{key}}}/",
            }
        description = f"Lahman release file {spec.file}, load {load_id}."
        if spec.notes:
            description = f"{description} {spec.notes}"
        return {
            "Name": spec.name,
            "Description": description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": partition_keys,
            "StorageDescriptor": {
                "Columns": columns,
                "Location": layout.location,
                **_PARQUET_FORMAT,
            },
        }

    def _put_table(
        self, table_input: dict[str, Any], current: dict[str, Any] | None
    ) -> None:
        """Create a Glue table or replace its definition in one call; a
        change of partition keys needs a drop and a create."""
        if current is None:
            self.glue.create_table(DatabaseName=RAW_SCHEMA, TableInput=table_input)
        elif current.get("PartitionKeys", []) == table_input["PartitionKeys"]:
            self.glue.update_table(DatabaseName=RAW_SCHEMA, TableInput=table_input)
        else:
            self.glue.delete_table(DatabaseName=RAW_SCHEMA, Name=table_input["Name"])
            self.glue.create_table(DatabaseName=RAW_SCHEMA, TableInput=table_input)

    def _swap(self, layouts: list[TableLayout], load_id: str) -> dict[str, str]:
        """Point every Glue table at ``load_id``; return the load ids they
        pointed at before. On failure, put every touched table back."""
        before = self._catalog()
        touched: list[tuple[str, dict[str, Any] | None]] = []
        try:
            for layout in layouts:
                old = before.get(layout.spec.name)
                touched.append((layout.spec.name, old))
                self._put_table(self.table_input(layout, load_id), old)
        except Exception as exc:
            stuck = self._restore(touched)
            if stuck:
                msg = (
                    f"the Glue update for load {load_id} failed ({exc}) and "
                    f"tables {', '.join(stuck)} could not be put back; they "
                    "still point at the new load, whose files are kept. Run "
                    "the ingest again to finish the switch."
                )
                raise PartialSwapError(msg) from exc
            raise
        return {name: _load_id(table) or "" for name, table in before.items()}

    def _restore(self, touched: list[tuple[str, dict[str, Any] | None]]) -> list[str]:
        """Give each table back the definition it had before the swap began;
        return the names of those that could not be restored."""
        stuck = []
        for name, old in reversed(touched):
            try:
                try:
                    now = self.glue.get_table(DatabaseName=RAW_SCHEMA, Name=name)
                    current = now["Table"]
                except self.glue.exceptions.EntityNotFoundException:
                    current = None
                if old is None:
                    if current is not None:
                        self.glue.delete_table(DatabaseName=RAW_SCHEMA, Name=name)
                elif _load_id(current) == _load_id(old):
                    continue  # the failed call never changed this table
                else:
                    previous = {k: old[k] for k in _TABLE_INPUT_KEYS if k in old}
                    self._put_table(previous, current)
                log.info("restored Glue table %s.%s", RAW_SCHEMA, name)
            except (BotoCoreError, ClientError) as exc:
                log.error(
                    "could not restore Glue table %s.%s after a failed load: %s",
                    RAW_SCHEMA,
                    name,
                    exc,
                )
                stuck.append(name)
        return stuck

    # -- load log ------------------------------------------------------------

    def _ensure_log_table(self) -> None:
        try:
            self.glue.get_table(DatabaseName=RAW_SCHEMA, Name=LOAD_LOG_TABLE)
        except self.glue.exceptions.EntityNotFoundException:
            self.glue.create_table(
                DatabaseName=RAW_SCHEMA,
                TableInput={
                    "Name": LOAD_LOG_TABLE,
                    "Description": "One row per diamond ingest attempt.",
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
                    "PartitionKeys": [],
                    "StorageDescriptor": {
                        "Columns": [
                            {"Name": n, "Type": _GLUE_TYPES[t]}
                            for n, t in LOAD_LOG_COLUMNS
                        ],
                        "Location": self._uri(self.log_prefix()),
                        **_PARQUET_FORMAT,
                    },
                },
            )

    def _write_log(self, record: LoadRecord) -> None:
        self._ensure_database()
        self._ensure_log_table()
        schema = pa.schema([(n, _LOG_ARROW_TYPES[t]) for n, t in LOAD_LOG_COLUMNS])
        row = pa.Table.from_pylist(
            [dict(zip(schema.names, record.values(), strict=True))], schema=schema
        )
        self._put_parquet(f"{self.log_prefix()}{record.load_id}.parquet", row)

    def read_log(self) -> list[dict[str, Any]]:
        """Every row of the load log, oldest first."""
        rows: list[dict[str, Any]] = []
        for key in self._keys(self.log_prefix()):
            if not key.endswith(".parquet"):
                continue
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            rows.extend(pq.read_table(io.BytesIO(body)).to_pylist())
        return sorted(rows, key=lambda r: r["finished_at"])

    # -- Loader protocol -----------------------------------------------------

    def last_loaded_fingerprint(self) -> str | None:
        """Fingerprint of the newest successful load, if the catalog still
        points every raw table at it."""
        with self._aws(f"reading the load log in s3://{self.bucket}"):
            self._check_bucket()
            loaded = [r for r in self.read_log() if r["status"] == "loaded"]
            if not loaded:
                return None
            newest = loaded[-1]
            catalog = self._catalog()
        stale = [
            spec.name
            for spec in TABLES
            if _load_id(catalog.get(spec.name)) != newest["load_id"]
        ]
        if stale:
            log.info(
                "Glue tables %s do not describe load %s; a reload is needed",
                ", ".join(stale),
                newest["load_id"],
            )
            return None
        return newest["source_fingerprint"]

    def load(self, tables: list[ValidatedTable], record: LoadRecord) -> None:
        """Write every table under a new prefix, then switch the catalog."""
        location = self._uri(self._key())
        with self._aws(f"checking the bucket of {location}"):
            self._check_bucket()
        try:
            with self._aws(f"writing Parquet for load {record.load_id} to {location}"):
                layouts = self._write_tables(tables, record.load_id)
            with self._aws(f"pointing the Glue database {RAW_SCHEMA} at the new load"):
                self._ensure_database()
                previous = self._swap(layouts, record.load_id)
        except PartialSwapError:
            raise
        except Exception as exc:
            self._discard(tables, record.load_id)
            if isinstance(exc, IngestError):
                msg = (
                    f"{exc}. Nothing was switched in Glue: the raw tables "
                    "still describe the previous load, if there was one."
                )
                raise IngestError(msg) from exc
            raise
        with self._aws(f"recording load {record.load_id} in {RAW_SCHEMA}.load_log"):
            self._write_log(record)
        files = sum(layout.files for layout in layouts)
        log.info("load %s: %d tables, %d files", record.load_id, len(layouts), files)
        keep = {
            layout.spec.name: {record.load_id, previous.get(layout.spec.name, "")}
            for layout in layouts
        }
        self._prune(layouts, keep)

    def log_failure(self, record: LoadRecord) -> None:
        """Append a failed attempt to the load log without touching data."""
        with self._aws(f"recording failed load {record.load_id}"):
            self._check_bucket()
            self._write_log(record)
