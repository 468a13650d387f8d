"""Ingest into the Athena lake: Parquet on S3, tables in the Glue catalog.

AWS cannot be reached from the test machine, so moto's server mode stands in
for S3 and Glue: a local HTTP server speaking both APIs, which the loader
reaches through ``AWS_ENDPOINT_URL`` exactly as it would reach AWS. Nothing
here checks Athena itself (moto cannot run queries); the tests check what
Athena would read: the objects, their Parquet contents and the catalog.

The full packaged release is loaded once per module (about 2,300 Parquet
files); the swap and rollback details run on a handful of small tables.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import moto.backends
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from pyarrow.fs import S3FileSystem

import diamond.ingest
from diamond import synthetic
from diamond.contracts import ValidatedTable, parse_table, validate_tables
from diamond.errors import IngestError
from diamond.ingest import GENERATED_TABLES, IngestResult, ingest
from diamond.lahman import TABLES, TABLES_BY_NAME, WAREHOUSE_TYPES
from diamond.loaders import LOAD_LOG_COLUMNS, LoadRecord, get_loader
from diamond.loaders.athena import (
    LOAD_ID_PARAMETER,
    AthenaLoader,
    PartialSwapError,
)
from diamond.source import open_release

# The full-release scenario and the small swap tests each get a bucket and
# (Glue catalogs being per region) a catalog of their own.
BUCKET = "diamond-test-lake"
DATA = f"s3://{BUCKET}/warehouse"
FULL_REGION = "us-east-1"
SMALL_BUCKET = "diamond-test-small"
SMALL_REGION = "eu-west-1"
#: Tables whose season column has an empty value in the 2021.2 release
#: (one All-Star row without a year), so they are stored unpartitioned.
UNPARTITIONED_SEASON_TABLES = {"allstar_full"}
GLUE_TYPES = WAREHOUSE_TYPES["athena"]
#: How Arrow names the Parquet column types that Glue calls these.
ARROW_TO_GLUE = {
    pa.string(): "string",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.date32(): "date",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server standing in for S3 and Glue, on a free local port."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto's request router lists its own package folder on every request;
    # the folder does not change, so list it once (a third of each request).
    modules = tuple(moto.backends.list_of_moto_modules())
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(moto.backends, "list_of_moto_modules", lambda: modules)
        server.start()
        yield f"http://127.0.0.1:{port}"
        server.stop()


def _aws_env(
    mp: pytest.MonkeyPatch, endpoint: str, region: str, tmp: Path, bucket: str
) -> None:
    """Dummy credentials and the moto endpoint; no real AWS config is read."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        mp.delenv(name, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_ENDPOINT_URL", endpoint)
    mp.setenv("AWS_REGION", region)
    mp.setenv("DIAMOND_ATHENA_S3_DATA", f"s3://{bucket}/warehouse")
    # Validation reports and caches stay in tmp, away from the project.
    (tmp / "dbt_project.yml").write_text("name: ingest_test\n")
    mp.setenv("DIAMOND_PROJECT_DIR", str(tmp))
    mp.setenv("DBT_TARGET_PATH", str(tmp / "target"))
    mp.setenv("DIAMOND_CACHE_DIR", str(tmp / "cache"))


def _create_bucket(endpoint: str, region: str, bucket: str) -> None:
    """Create the test bucket (the loader itself never creates buckets)."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
    where = {} if region == "us-east-1" else {"LocationConstraint": region}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=where)


def _fail_put(loader: AthenaLoader, *fragments: str) -> list[str]:
    """Make the S3 PutObject whose key contains all ``fragments`` fail the
    way an S3 outage would; return the keys of the puts that succeeded."""
    written: list[str] = []

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if all(f in params.get("Key", "") for f in fragments):
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "simulated outage"}},
                "PutObject",
            )

    def record(params: dict[str, Any], **_: Any) -> None:
        written.append(params["Key"])

    events = loader.s3.meta.events
    events.register("provide-client-params.s3.PutObject", refuse)
    events.register("provide-client-params.s3.PutObject", record)
    return written


def _glue_table(loader: AthenaLoader, name: str) -> dict[str, Any]:
    return loader.glue.get_table(DatabaseName="raw", Name=name)["Table"]


def _read_back(location: str) -> ds.Dataset:
    """The Parquet under an ``s3://`` location as a Hive-partitioned dataset,
    read with Arrow's own S3 client: an independent reader, as Athena is."""
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    scheme, _, host = endpoint.partition("://")
    s3 = S3FileSystem(
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region=os.environ["AWS_REGION"],
        endpoint_override=host,
        scheme=scheme,
    )
    return ds.dataset(
        location.removeprefix("s3://"),
        filesystem=s3,
        format="parquet",
        partitioning="hive",
    )


@dataclass
class FullLoad:
    """The module's shared scenario: the packaged release loaded once."""

    result: IngestResult
    expected_rows: dict[str, int]
    validated: list[ValidatedTable]
    folder: Path


@pytest.fixture(scope="module")
def full_load(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> FullLoad:
    """Ingest the packaged release into the moto lake, once per module."""
    folder = tmp_path_factory.mktemp("athena_full")
    validated: list[list[ValidatedTable]] = []

    def validate_and_keep(files: Any, checksums: dict[str, str]) -> Any:
        tables, report = validate_tables(files, checksums)
        validated.append(tables)
        return tables, report

    with pytest.MonkeyPatch.context() as mp:
        _aws_env(mp, moto_endpoint, FULL_REGION, folder, BUCKET)
        mp.setattr(diamond.ingest, "validate_tables", validate_and_keep)
        _create_bucket(moto_endpoint, FULL_REGION, BUCKET)
        result = ingest("athena")
    assert result.validation_report is not None
    report = json.loads(result.validation_report.read_text())
    expected = {name: t["rows"] for name, t in report["tables"].items()}
    return FullLoad(result, expected, validated[0], folder)


@pytest.fixture
def full_env(
    full_load: FullLoad, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> FullLoad:
    """The full-release lake's settings, for tests that read or reload it.

    They share the first run's folders, so a reload finds the release in
    ingest's validation cache and only parses it.
    """
    _aws_env(monkeypatch, moto_endpoint, FULL_REGION, full_load.folder, BUCKET)
    return full_load


def test_full_ingest_writes_every_row_as_parquet(full_env: FullLoad) -> None:
    """Read back through S3, every table's Parquet under the location Glue
    names holds exactly the rows validation counted, with the columns and
    types Glue declares; partition folders span the projected season range."""
    result = full_env.result
    assert result.status == "loaded"
    assert result.tables == len(TABLES) + len(GENERATED_TABLES)
    _, fans, stints = synthetic.settings_from_env()
    # What ingest adds beside the release: the synthetic tables, the
    # masking key and the (empty) erasure register.
    expected = full_env.expected_rows | {
        "fan_accounts": fans,
        "player_medical_stints": stints,
        "masking_key": 1,
        "erasure_register": 0,
    }
    assert sum(expected.values()) == result.rows
    loader = AthenaLoader()
    mismatched = {}
    for spec in (*TABLES, *GENERATED_TABLES):
        table = _glue_table(loader, spec.name)
        storage = table["StorageDescriptor"]
        location = storage["Location"]
        assert location == f"{DATA}/raw/{spec.name}/{result.load_id}/"
        data = _read_back(location)
        assert data.files, f"{spec.name}: no Parquet objects under {location}"
        assert all(path.endswith(".parquet") for path in data.files)
        rows = data.count_rows()
        if rows != expected[spec.name]:
            mismatched[spec.name] = (rows, expected[spec.name])
        declared = storage["Columns"] + table["PartitionKeys"]
        found = [{"Name": f.name, "Type": ARROW_TO_GLUE[f.type]} for f in data.schema]
        assert found == declared, spec.name
        if table["PartitionKeys"]:
            key = spec.season_column
            seasons = {int(p.split(f"/{key}=")[1].split("/")[0]) for p in data.files}
            low, high = table["Parameters"][f"projection.{key}.range"].split(",")
            assert min(seasons) == int(low), spec.name
            assert max(seasons) == int(high), spec.name
    assert not mismatched, f"(Parquet rows, validated rows): {mismatched}"


def test_parquet_holds_the_validated_values(full_env: FullLoad) -> None:
    """Cell for cell, tables read back from S3 equal the tables validation
    passed: a partitioned one (season restored from the folder names) and
    an unpartitioned one with dates."""
    validated = {t.spec.name: t.data for t in full_env.validated}
    loader = AthenaLoader()
    for name in ("salaries", "people"):
        expected = validated[name]
        location = _glue_table(loader, name)["StorageDescriptor"]["Location"]
        back = _read_back(location).to_table().select(expected.column_names)
        order = [(c, "ascending") for c in expected.column_names]
        assert back.sort_by(order).equals(expected.sort_by(order)), name


def test_glue_tables_have_contract_columns_types_and_partitions(
    full_env: FullLoad,
) -> None:
    """Glue holds one external Parquet table per raw table, with the raw
    contract's columns in Glue types; the season column is the partition key,
    found by partition projection, except where a season is missing."""
    loader = AthenaLoader()
    for spec in TABLES:
        table = _glue_table(loader, spec.name)
        storage = table["StorageDescriptor"]
        params = table["Parameters"]
        assert table["TableType"] == "EXTERNAL_TABLE"
        assert "ParquetHiveSerDe" in storage["SerdeInfo"]["SerializationLibrary"]
        assert params[LOAD_ID_PARAMETER] == full_env.result.load_id
        key = spec.season_column
        if key and spec.name not in UNPARTITIONED_SEASON_TABLES:
            expected_keys = [{"Name": key, "Type": GLUE_TYPES[spec.column(key).type]}]
            assert params["projection.enabled"] == "true"
            assert params[f"projection.{key}.type"] == "integer"
            assert params["storage.location.template"] == (
                f"{storage['Location']}{key}=${{{key}}}/"
            )
        else:
            expected_keys = []
            assert "projection.enabled" not in params
        assert table.get("PartitionKeys", []) == expected_keys, spec.name
        partition_names = {k["Name"] for k in expected_keys}
        expected_columns = [
            {"Name": c.name, "Type": GLUE_TYPES[c.type]}
            for c in spec.columns
            if c.name not in partition_names
        ]
        assert storage["Columns"] == expected_columns, spec.name


def test_load_log_records_the_load(full_env: FullLoad) -> None:
    """raw.load_log is a Glue table over one Parquet file per load; the
    load's row there names the release, its fingerprint and its row count."""
    loader = AthenaLoader()
    log_table = _glue_table(loader, "load_log")
    assert log_table["StorageDescriptor"]["Location"] == f"{DATA}/raw/load_log/"
    assert [c["Name"] for c in log_table["StorageDescriptor"]["Columns"]] == [
        name for name, _ in LOAD_LOG_COLUMNS
    ]
    result = full_env.result
    key = f"warehouse/raw/load_log/{result.load_id}.parquet"
    loader.s3.head_object(Bucket=BUCKET, Key=key)
    assert _read_back(log_table["StorageDescriptor"]["Location"]).count_rows() >= 1
    rows = [r for r in loader.read_log() if r["load_id"] == result.load_id]
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == "loaded"
    assert row["target"] == "athena"
    assert row["source_fingerprint"] == result.fingerprint
    assert row["source_version"] == result.version
    assert row["row_count"] == result.rows
    assert row["validation_success"] is True
    assert row["error"] is None
    assert isinstance(row["finished_at"], datetime)
    assert loader.last_loaded_fingerprint() == result.fingerprint


def test_second_run_is_unchanged(full_env: FullLoad) -> None:
    """Ingesting the same release again writes nothing and logs nothing."""
    loader = AthenaLoader()
    logged = len(loader.read_log())
    again = ingest("athena")
    assert again.status == "unchanged"
    assert again.fingerprint == full_env.result.fingerprint
    assert len(loader.read_log()) == logged
    batting = _glue_table(loader, "batting")
    assert batting["Parameters"][LOAD_ID_PARAMETER] == full_env.result.load_id


def test_failed_put_leaves_glue_on_previous_load(
    full_env: FullLoad, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forced reload whose S3 write fails midway (the PutObject for the
    1950 teams partition is refused after earlier tables were written)
    changes no Glue table, removes what it wrote and logs the failed
    attempt; the previous load stays current and readable."""
    previous = full_env.result.load_id
    loader = AthenaLoader()
    written = _fail_put(loader, "/teams/", "/year_id=1950/")
    monkeypatch.setattr(diamond.ingest, "get_loader", lambda _target: loader)
    with pytest.raises(IngestError, match="still describe the previous load"):
        ingest("athena", force=True)

    check = AthenaLoader()
    for spec in TABLES:
        table = _glue_table(check, spec.name)
        assert table["Parameters"][LOAD_ID_PARAMETER] == previous, spec.name
        assert previous in table["StorageDescriptor"]["Location"], spec.name
    failed = [r for r in check.read_log() if r["status"] == "failed"]
    assert failed, "the failed attempt is missing from the load log"
    failed_id = failed[-1]["load_id"]
    assert failed_id != previous
    assert "simulated outage" in failed[-1]["error"]
    data_written = [k for k in written if "/load_log/" not in k]
    assert all(f"/{failed_id}/" in k for k in data_written)
    assert any("/people/" in k for k in data_written), "failed before any write"
    for spec in TABLES:
        leftover = list(check._keys(check.table_prefix(spec.name, failed_id)))
        assert not leftover, f"{spec.name}: the failed load left {leftover[:3]}"
    assert check.last_loaded_fingerprint() == full_env.result.fingerprint
    teams = _glue_table(check, "teams")["StorageDescriptor"]["Location"]
    assert _read_back(teams).count_rows() == full_env.expected_rows["teams"]


# -- swaps and rollbacks on a few small tables ---------------------------------

SMALL_TABLES = ("teams_franchises", "managers_half", "teams_half", "parks")


@pytest.fixture(scope="module")
def small_tables() -> list[ValidatedTable]:
    """A few small tables (partitioned and not) parsed from the release."""
    release = open_release(None)
    tables = []
    for name in SMALL_TABLES:
        spec = TABLES_BY_NAME[name]
        data = parse_table(spec, release.files[spec.file])
        tables.append(ValidatedTable(spec, data, release.checksums[spec.file]))
    return tables


@pytest.fixture
def small_lake(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AthenaLoader]:
    """A loader on an empty bucket and Glue catalog of its own region."""
    _aws_env(monkeypatch, moto_endpoint, SMALL_REGION, tmp_path, SMALL_BUCKET)
    _create_bucket(moto_endpoint, SMALL_REGION, SMALL_BUCKET)
    loader = AthenaLoader()
    yield loader
    loader._delete_prefix("")
    for name in loader._catalog():
        loader.glue.delete_table(DatabaseName="raw", Name=name)


def _record(load_id: str, fingerprint: str = "f" * 64) -> LoadRecord:
    now = datetime.now()
    return LoadRecord(
        load_id=load_id,
        target="athena",
        status="loaded",
        source="test",
        source_version="test",
        source_fingerprint=fingerprint,
        files="{}",
        row_count=0,
        validation_success=True,
        validation="{}",
        error=None,
        started_at=now,
        finished_at=now,
    )


def test_reload_swaps_every_table_and_keeps_one_previous_load(
    small_lake: AthenaLoader, small_tables: list[ValidatedTable]
) -> None:
    """Each load lands under its own prefix; after a load the catalog points
    at it, the load before it is kept for running queries, older ones go."""
    for load_id in ("load-1", "load-2", "load-3"):
        small_lake.load(small_tables, _record(load_id))
    for table in small_tables:
        glue = _glue_table(small_lake, table.spec.name)
        assert glue["Parameters"][LOAD_ID_PARAMETER] == "load-3"
        assert glue["StorageDescriptor"]["Location"].endswith("/load-3/")
        folders = small_lake._children(small_lake.table_prefix(table.spec.name))
        assert sorted(folders) == ["load-2", "load-3"], table.spec.name
    assert [r["load_id"] for r in small_lake.read_log()] == [
        "load-1",
        "load-2",
        "load-3",
    ]


def test_glue_failure_midway_puts_switched_tables_back(
    small_lake: AthenaLoader, small_tables: list[ValidatedTable]
) -> None:
    """If the catalog refuses one UpdateTable after others succeeded, the
    tables already switched return to the previous load."""
    small_lake.load(small_tables, _record("good"))
    last = small_tables[-1].spec.name

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params["TableInput"]["Name"] == last:
            raise ClientError(
                {"Error": {"Code": "InternalServiceException", "Message": "no"}},
                "UpdateTable",
            )

    small_lake.glue.meta.events.register(
        "provide-client-params.glue.UpdateTable", refuse
    )
    with pytest.raises(IngestError, match="still describe the previous load"):
        small_lake.load(small_tables, _record("bad"))
    for table in small_tables:
        glue = _glue_table(small_lake, table.spec.name)
        assert glue["Parameters"][LOAD_ID_PARAMETER] == "good", table.spec.name
        assert glue["StorageDescriptor"]["Location"].endswith("/good/")
    assert not [k for k in small_lake._keys("") if "/bad/" in k]


def test_unrestorable_table_keeps_the_files_it_points_at(
    small_lake: AthenaLoader, small_tables: list[ValidatedTable]
) -> None:
    """If a switched table cannot be put back either, the error names it and
    the new load's files stay, so no Glue table points at deleted data."""
    small_lake.load(small_tables, _record("good"))
    first, last = small_tables[0].spec.name, small_tables[-1].spec.name

    def refuse(params: dict[str, Any], **_: Any) -> None:
        table = params["TableInput"]
        restoring = table["Parameters"][LOAD_ID_PARAMETER] == "good"
        if table["Name"] == last or (table["Name"] == first and restoring):
            raise ClientError(
                {"Error": {"Code": "InternalServiceException", "Message": "no"}},
                "UpdateTable",
            )

    small_lake.glue.meta.events.register(
        "provide-client-params.glue.UpdateTable", refuse
    )
    with pytest.raises(PartialSwapError, match=first):
        small_lake.load(small_tables, _record("bad"))
    glue = _glue_table(small_lake, first)
    assert glue["Parameters"][LOAD_ID_PARAMETER] == "bad"
    assert list(small_lake._keys(small_lake.table_prefix(first, "bad")))
    for table in small_tables[1:]:
        glue = _glue_table(small_lake, table.spec.name)
        assert glue["Parameters"][LOAD_ID_PARAMETER] == "good", table.spec.name


def test_fingerprint_needs_the_catalog_to_agree(
    small_lake: AthenaLoader, small_tables: list[ValidatedTable]
) -> None:
    """A load log entry alone is not enough: with raw tables missing from
    Glue, the next ingest loads again instead of reporting 'unchanged'."""
    small_lake.load(small_tables, _record("partial"))
    assert small_lake.read_log()[-1]["status"] == "loaded"
    assert small_lake.last_loaded_fingerprint() is None


def test_log_failure_appends_without_touching_data(
    small_lake: AthenaLoader, small_tables: list[ValidatedTable]
) -> None:
    """A release that fails validation is logged; the tables stay as they
    were and the failure does not count as a load."""
    small_lake.load(small_tables, _record("kept"))
    failed = _record("rejected")
    failed.status, failed.error = "failed", "People.csv line 3: bad value"
    small_lake.log_failure(failed)
    rows = {r["load_id"]: r for r in small_lake.read_log()}
    assert rows["rejected"]["status"] == "failed"
    assert rows["rejected"]["error"] == "People.csv line 3: bad value"
    assert rows["kept"]["status"] == "loaded"
    for table in small_tables:
        glue = _glue_table(small_lake, table.spec.name)
        assert glue["Parameters"][LOAD_ID_PARAMETER] == "kept"
    assert not list(small_lake._keys(small_lake.table_prefix("parks", "rejected")))


def test_get_loader_returns_athena_loader(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The athena target maps to the S3 / Glue loader."""
    _aws_env(monkeypatch, moto_endpoint, SMALL_REGION, tmp_path, SMALL_BUCKET)
    assert isinstance(get_loader("athena"), AthenaLoader)


# -- errors that say what to set -----------------------------------------------


def test_missing_bucket_says_which_setting(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bucket that does not exist is named, with the variable to change."""
    _aws_env(monkeypatch, moto_endpoint, SMALL_REGION, tmp_path, SMALL_BUCKET)
    monkeypatch.setenv("DIAMOND_ATHENA_S3_DATA", "s3://no-such-bucket/warehouse")
    loader = AthenaLoader()
    with pytest.raises(IngestError, match=r"no-such-bucket.*DIAMOND_ATHENA_S3_DATA"):
        loader.last_loaded_fingerprint()
    with pytest.raises(IngestError, match="DIAMOND_ATHENA_S3_DATA"):
        loader.load([], _record("nowhere"))


def test_missing_credentials_say_what_to_set(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any AWS credentials the error names the variables to set."""
    _aws_env(monkeypatch, moto_endpoint, SMALL_REGION, tmp_path, SMALL_BUCKET)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(IngestError, match="AWS_ACCESS_KEY_ID"):
        AthenaLoader().last_loaded_fingerprint()


def test_unreachable_endpoint_says_what_to_check(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint nobody listens on gives an error naming AWS_ENDPOINT_URL."""
    nowhere = f"http://127.0.0.1:{_free_port()}"
    _aws_env(monkeypatch, nowhere, SMALL_REGION, tmp_path, SMALL_BUCKET)
    with pytest.raises(IngestError, match=r"cannot reach .*AWS_ENDPOINT_URL"):
        AthenaLoader().last_loaded_fingerprint()


def test_data_location_must_be_s3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data location that is not an s3:// URI is refused up front."""
    monkeypatch.setenv("DIAMOND_ATHENA_S3_DATA", "/tmp/lake")
    with pytest.raises(IngestError, match=r"DIAMOND_ATHENA_S3_DATA.*s3://"):
        AthenaLoader()
