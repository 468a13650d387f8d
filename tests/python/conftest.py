"""Fixtures shared by the ingest suites.

Each suite works on scratch warehouses only: a DuckDB file under pytest's
temporary folder and, on the Postgres server the ``PG*`` variables name, a
database called ``diamond_pytest_<random>_<suite>``. The packaged release is
ingested once per session into template warehouses; each suite starts from
a copy of them (a file copy, ``create database ... template``), so the slow
part of a load is paid once. Every ``diamond_pytest_<random>*`` database is
dropped when the session ends. An unreachable Postgres fails the tests that
need it; nothing is skipped.

Bad releases are copies of the packaged release with one member rewritten,
so each differs from a release that loads cleanly in exactly one way.
"""

from __future__ import annotations

import abc
import dataclasses
import http.server
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from psycopg2 import sql

from diamond.ingest import IngestResult, ingest
from diamond.lahman import TABLES, TABLES_BY_NAME, TableSpec
from diamond.settings import RAW_SCHEMA, PostgresSettings
from diamond.source import packaged_release

TARGETS = ("duckdb", "postgres")

#: Columns of ``raw.load_log`` the suites compare; timestamps are left out
#: only because they are not needed to tell two rows apart.
LOG_COLUMNS = (
    "load_id",
    "status",
    "source",
    "source_version",
    "source_fingerprint",
    "row_count",
    "validation_success",
    "error",
)


# --------------------------------------------------------------------------
# The packaged release and copies of it with one member changed
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PackagedRelease:
    """The release zip shipped in the ``lahman`` package, held in memory."""

    path: Path
    members: dict[str, bytes]

    def member(self, file: str) -> str:
        """Zip member name of a core CSV file such as ``People.csv``."""
        for name in self.members:
            if name.endswith(f"/core/{file}"):
                return name
        msg = f"the packaged release has no core/{file}"
        raise KeyError(msg)

    def csv(self, file: str) -> bytes:
        """Bytes of one core CSV file."""
        return self.members[self.member(file)]

    def _changed(self, changes: dict[str, bytes | None]) -> dict[str, bytes]:
        members = dict(self.members)
        for file, data in changes.items():
            name = self.member(file)
            if data is None:
                del members[name]
            else:
                members[name] = data
        return members

    def write_zip(self, dest: Path, changes: dict[str, bytes | None]) -> Path:
        """A zip like the packaged one, with core files replaced (bytes) or
        left out (``None``). Members are stored, not compressed: writing is
        then quick, and readers treat both the same."""
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as archive:
            for name, data in self._changed(changes).items():
                archive.writestr(name, data)
        return dest

    def write_folder(self, dest: Path, changes: dict[str, bytes | None]) -> Path:
        """The release unpacked into ``dest``, with the same kind of changes."""
        for name, data in self._changed(changes).items():
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return dest / next(iter(self.members)).split("/", 1)[0]


@pytest.fixture(scope="session")
def packaged() -> PackagedRelease:
    """The packaged release, read once per session."""
    path = packaged_release()
    with zipfile.ZipFile(path) as archive:
        members = {
            info.filename: archive.read(info)
            for info in archive.infolist()
            if not info.is_dir()
        }
    return PackagedRelease(path, members)


# --------------------------------------------------------------------------
# Scratch warehouses
# --------------------------------------------------------------------------


def _double_text(column: str) -> str:
    """A double rendered the same way by every engine: micro-units, or a
    word for the infinities the release holds (an ERA with no outs)."""
    return (
        f"case when abs({column}) < 1e12 then cast(cast(floor({column} * 1000000 "
        f"+ 0.5) as bigint) as varchar) when {column} > 0 then 'inf' "
        "else '-inf' end"
    )


def checksum_sql(spec: TableSpec) -> str:
    """Row count and an order-free md5 of a raw table's content.

    Every value is turned into text the same way on DuckDB and Postgres, so
    equal data give equal checksums on both engines.
    """
    parts = []
    for column in spec.columns:
        text = (
            _double_text(column.name)
            if column.type == "DOUBLE"
            else f"cast({column.name} as varchar)"
        )
        parts.append(f"coalesce({text}, '~')")
    row = " || '|' || ".join(parts)
    return (
        "select count(*), md5(string_agg(row_hash, '' order by row_hash)) "
        f"from (select md5({row}) as row_hash from {RAW_SCHEMA}.{spec.name}) "
        "as hashed"
    )


class Warehouse(abc.ABC):
    """Helpers over one scratch warehouse; each call opens and closes its own
    connection, so ingest is never locked out."""

    target: str
    #: Aggregate adding up a hash of every row ``r`` of a table.
    row_hash_sum: str

    @abc.abstractmethod
    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Rows of one query."""

    @abc.abstractmethod
    def execute(self, statement: str) -> None:
        """Run one statement that writes."""

    def row_counts(self) -> dict[str, int]:
        """Rows of every raw table of the contract, in one query."""
        counts = " union all ".join(
            f"select '{spec.name}', count(*) from {RAW_SCHEMA}.{spec.name}"
            for spec in TABLES
        )
        return dict(self.query(counts))

    def checksums(self, names: list[str] | None = None) -> dict[str, tuple]:
        """(row count, md5) per raw table, every table by default; equal
        across engines for equal data, and slow (seconds for all tables)."""
        specs = [TABLES_BY_NAME[n] for n in names] if names else list(TABLES)
        return {spec.name: tuple(self.query(checksum_sql(spec))[0]) for spec in specs}

    def fingerprints(self, names: list[str] | None = None) -> dict[str, tuple]:
        """(row count, sum of row hashes) per raw table, every table by
        default, in one query: quick, but only comparable on one engine."""
        names = names or [spec.name for spec in TABLES]
        rows = self.query(
            " union all ".join(
                f"select '{name}', count(*), {self.row_hash_sum} "
                f"from {RAW_SCHEMA}.{name} as r"
                for name in names
            )
        )
        return {name: (count, total) for name, count, total in rows}

    def load_log(self) -> list[dict[str, Any]]:
        """Rows of ``raw.load_log``, oldest first."""
        rows = self.query(
            f"select {', '.join(LOG_COLUMNS)} from {RAW_SCHEMA}.load_log "
            "order by started_at, finished_at"
        )
        return [dict(zip(LOG_COLUMNS, row, strict=True)) for row in rows]

    def columns(self) -> dict[str, list[str]]:
        """Column names of every table in the raw schema, in order."""
        rows = self.query(
            "select table_name, column_name from information_schema.columns "
            f"where table_schema = '{RAW_SCHEMA}' "
            "order by table_name, ordinal_position"
        )
        found: dict[str, list[str]] = {}
        for table, column in rows:
            found.setdefault(table, []).append(column)
        return found


class DuckDBWarehouse(Warehouse):
    """A DuckDB file, opened read-only per query so that ingest can write."""

    target = "duckdb"
    row_hash_sum = "sum(hash(r))"

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(statement).fetchall()

    def execute(self, statement: str) -> None:
        """Run one statement that writes."""
        with duckdb.connect(str(self.path)) as con:
            con.execute(statement)


class PostgresWarehouse(Warehouse):
    """One database on the test server."""

    target = "postgres"
    row_hash_sum = "sum(hashtext(cast(r as text)))"

    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        con = psycopg2.connect(self.settings.dsn())
        try:
            with con.cursor() as cur:
                cur.execute(statement)
                return cur.fetchall()
        finally:
            con.close()

    def execute(self, statement: str) -> None:
        """Run one statement that writes, committed at once."""
        con = psycopg2.connect(self.settings.dsn())
        try:
            with con, con.cursor() as cur:
                cur.execute(statement)
        finally:
            con.close()


def drop_database(settings: PostgresSettings, name: str) -> None:
    """Drop a scratch database, closing its connections first."""
    admin = psycopg2.connect(settings.dsn("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(name)
                )
            )
    finally:
        admin.close()


@pytest.fixture(scope="session")
def postgres_prefix() -> Iterator[str]:
    """A name prefix for this session's Postgres databases.

    Fails (never skips) when the server is unreachable. At the end of the
    session every database carrying the prefix is dropped.
    """
    settings = PostgresSettings.from_env()
    try:
        psycopg2.connect(settings.dsn("postgres")).close()
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"Postgres at {settings.host}:{settings.port} (user {settings.user}) "
            f"is unreachable: {str(exc).strip()}. The ingest tests need a real "
            "server: start it or set PGHOST, PGPORT, PGUSER and PGPASSWORD.",
            pytrace=False,
        )
    prefix = f"diamond_pytest_{uuid.uuid4().hex[:8]}"
    yield prefix
    admin = psycopg2.connect(settings.dsn("postgres"))
    try:
        with admin.cursor() as cur:
            cur.execute(
                "select datname from pg_database where datname like %s",
                (f"{prefix}%",),
            )
            leftovers = [row[0] for row in cur.fetchall()]
    finally:
        admin.close()
    for name in leftovers:
        drop_database(settings, name)


@pytest.fixture
def scratch_dsn(postgres_prefix: str) -> Iterator[str]:
    """The DSN of an empty scratch database, dropped after the test."""
    settings = PostgresSettings.from_env()
    name = f"{postgres_prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(settings.dsn("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    finally:
        admin.close()
    try:
        yield settings.dsn(name)
    finally:
        drop_database(settings, name)


def _scratch_environment(
    patch: pytest.MonkeyPatch, folder: Path, database: str, cache: Path
) -> None:
    """Point ingest at a scratch DuckDB file and Postgres database, and its
    validation reports and download cache at scratch folders."""
    patch.setenv("DIAMOND_DUCKDB_PATH", str(folder / "diamond.duckdb"))
    patch.setenv("PGDATABASE", database)
    patch.setenv("DBT_TARGET_PATH", str(folder / "target"))
    patch.setenv("DIAMOND_CACHE_DIR", str(cache))
    # One key for the template and its copies: a key of its own per copy
    # would change every pseudonym, and so the load fingerprint.
    patch.setenv("DIAMOND_MASKING_KEY", "pytest-masking-key-" + "0" * 16)


@dataclasses.dataclass(frozen=True)
class LoadedTemplate:
    """Warehouses holding one good load, which suites clone instead of
    loading the release again."""

    duckdb_path: Path
    database: str
    cache: Path
    results: dict[str, IngestResult]
    fingerprints: dict[str, dict[str, tuple]]
    checksums: dict[str, dict[str, tuple]]


@pytest.fixture(scope="session")
def loaded_template(
    tmp_path_factory: pytest.TempPathFactory, postgres_prefix: str
) -> LoadedTemplate:
    """The packaged release ingested once per session into both targets."""
    folder = tmp_path_factory.mktemp("template")
    cache = tmp_path_factory.mktemp("cache")
    database = f"{postgres_prefix}_template"
    settings = dataclasses.replace(PostgresSettings.from_env(), database=database)
    with pytest.MonkeyPatch.context() as patch:
        _scratch_environment(patch, folder, database, cache)
        results = {target: ingest(target) for target in TARGETS}
    for target, result in results.items():
        assert result.status == "loaded", f"{target}: {result}"
    loaded = {
        "duckdb": DuckDBWarehouse(folder / "diamond.duckdb"),
        "postgres": PostgresWarehouse(settings),
    }
    return LoadedTemplate(
        duckdb_path=folder / "diamond.duckdb",
        database=database,
        cache=cache,
        results=results,
        fingerprints={t: w.fingerprints() for t, w in loaded.items()},
        checksums={t: w.checksums() for t, w in loaded.items()},
    )


@pytest.fixture(scope="module")
def warehouses(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    loaded_template: LoadedTemplate,
) -> Iterator[dict[str, Warehouse]]:
    """Scratch warehouses for one test module, by target name, each holding
    the good load: a copy of the template's DuckDB file and a Postgres
    database created from the template's.

    While the module runs, the environment points ingest at them.
    """
    suite = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    folder = tmp_path_factory.mktemp(suite)
    shutil.copyfile(loaded_template.duckdb_path, folder / "diamond.duckdb")
    prefix = loaded_template.database.removesuffix("_template")
    database = f"{prefix}_{suite}"[:63]
    settings = dataclasses.replace(PostgresSettings.from_env(), database=database)
    admin = psycopg2.connect(settings.dsn("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("create database {} template {}").format(
                    sql.Identifier(database), sql.Identifier(loaded_template.database)
                )
            )
    finally:
        admin.close()
    with pytest.MonkeyPatch.context() as patch:
        _scratch_environment(patch, folder, database, loaded_template.cache)
        yield {
            "duckdb": DuckDBWarehouse(folder / "diamond.duckdb"),
            "postgres": PostgresWarehouse(settings),
        }
    drop_database(settings, database)


@pytest.fixture(scope="module")
def good_loads(
    warehouses: dict[str, Warehouse], loaded_template: LoadedTemplate
) -> dict[str, IngestResult]:
    """What the good load of the packaged release reported, by target."""
    return loaded_template.results


@pytest.fixture(scope="module")
def baseline(
    warehouses: dict[str, Warehouse], loaded_template: LoadedTemplate
) -> dict[str, dict[str, tuple]]:
    """Fingerprints of every raw table right after the good load, by
    target (see ``Warehouse.fingerprints``)."""
    return loaded_template.fingerprints


# --------------------------------------------------------------------------
# An https server on localhost with a self-signed certificate
# --------------------------------------------------------------------------


@dataclasses.dataclass
class HttpsServer:
    """Files served over TLS from ``folder``; ``requests`` lists the paths
    asked for, in order."""

    base_url: str
    folder: Path
    cert_file: Path
    requests: list[str]

    def url(self, name: str) -> str:
        """The https URL of a file in ``folder``."""
        return f"{self.base_url}/{name}"


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = folder / "cert.pem"
    key_file = folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="session")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsServer]:
    """A real TLS server on 127.0.0.1 serving a scratch folder.

    The certificate is self-signed; tests trust it through ``trust_https``,
    so diamond's download code runs unchanged, certificate check included.
    """
    folder = tmp_path_factory.mktemp("https")
    served = folder / "www"
    served.mkdir()
    cert_file, key_file = _self_signed_certificate(folder)
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Handler, directory=str(served))
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield HttpsServer(f"https://127.0.0.1:{port}", served, cert_file, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def trust_https(
    https_server: HttpsServer, monkeypatch: pytest.MonkeyPatch
) -> HttpsServer:
    """The https server, with its certificate as the only trusted one.

    OpenSSL reads ``SSL_CERT_FILE`` whenever Python builds its default
    context, which is what ``urllib`` does for every https request.
    """
    monkeypatch.setenv("SSL_CERT_FILE", str(https_server.cert_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return https_server


@pytest.fixture(scope="session")
def duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One `diamond run` + `diamond docs` on a scratch DuckDB per session.

    The lineage suites read its artifacts. ``dbt docs generate`` replaces
    run_results.json with results that describe no executed nodes, so the
    build's own results are put back once the catalog exists.
    """
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("duckdb_build")
    paths = {
        "duckdb": folder / "diamond.duckdb",
        "target": folder / "target",
        "cache": folder / "cache",
        "logs": folder / "logs",
    }
    env = {
        **os.environ,
        "DIAMOND_DUCKDB_PATH": str(paths["duckdb"]),
        "DBT_TARGET_PATH": str(paths["target"]),
        "DBT_LOG_PATH": str(paths["logs"]),
        "DIAMOND_CACHE_DIR": str(paths["cache"]),
    }
    for name in ("DIAMOND_RUN_ID", "DIAMOND_TARGET", "OPENLINEAGE_NAMESPACE"):
        env.pop(name, None)
    diamond = str(Path(sys.executable).parent / "diamond")
    kept = folder / "run_results.build.json"
    for command in ("run", "docs"):
        done = subprocess.run(
            [diamond, command, "--target", "duckdb"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        if command == "run":
            shutil.copy(paths["target"] / "run_results.json", kept)
    shutil.copy(kept, paths["target"] / "run_results.json")
    return paths


# --------------------------------------------------------------------------
# Whole warehouses built by `diamond run`, shared by the end-to-end suites
# --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run_diamond(
    env: dict[str, str], *args: str, timeout: int = 900
) -> subprocess.CompletedProcess:
    """The installed `diamond` command, run as a user runs it."""
    return subprocess.run(
        [str(BIN / "diamond"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment pointing diamond at scratch warehouses, and cleanup."""
    folder = tmp_path_factory.mktemp("warehouses")
    database = f"diamond_e2e_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DIAMOND_DUCKDB_PATH": str(folder / "diamond.duckdb"),
        "PGDATABASE": database,
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
        "DIAMOND_CACHE_DIR": str(folder / "cache"),
    }
    yield env
    admin = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {database} with (force)")
    admin.close()


@pytest.fixture(scope="session")
def duckdb_run(scratch: dict[str, str]) -> subprocess.CompletedProcess:
    return run_diamond(scratch, "run", "--target", "duckdb")


@pytest.fixture(scope="session")
def postgres_run(
    scratch: dict[str, str], duckdb_run: subprocess.CompletedProcess
) -> subprocess.CompletedProcess:
    # After the DuckDB run, so that the shared target folder holds the
    # DuckDB artifacts only while the DuckDB tests read them.
    target = Path(scratch["DBT_TARGET_PATH"])
    if target.exists():
        shutil.copytree(target, target.with_name("target-duckdb"), dirs_exist_ok=True)
    return run_diamond(scratch, "run", "--target", "postgres")


@pytest.fixture(scope="session")
def duckdb_built(
    scratch: dict[str, str],
    duckdb_run: subprocess.CompletedProcess,
    postgres_run: subprocess.CompletedProcess,
) -> dict[str, str]:
    """The scratch environment with its dbt target folder pointing at the
    DuckDB run's artifacts, which `postgres_run` keeps in `target-duckdb`.

    The shared folder holds the Postgres run's artifacts once that has run,
    so suites that read the DuckDB manifest, compiled SQL or lineage events
    wait for both runs and read the copy: the same files whatever order the
    suites run in.
    """
    assert duckdb_run.returncode == 0, duckdb_run.stderr[-4000:]
    copy = Path(scratch["DBT_TARGET_PATH"]).with_name("target-duckdb")
    assert (copy / "manifest.json").is_file(), copy
    return {**scratch, "DBT_TARGET_PATH": str(copy)}


@pytest.fixture(scope="session")
def postgres_built(
    scratch: dict[str, str], postgres_run: subprocess.CompletedProcess
) -> dict[str, str]:
    """The scratch environment aimed at the Postgres run's artifacts.

    They are copied to `target-postgres` at once, so that suites which later
    run dbt against the shared folder cannot change what these suites read.
    """
    assert postgres_run.returncode == 0, (
        postgres_run.stdout[-4000:] + postgres_run.stderr[-4000:]
    )
    shared = Path(scratch["DBT_TARGET_PATH"])
    copy = shared.with_name("target-postgres")
    if not copy.exists():
        shutil.copytree(shared, copy)
    return {**scratch, "DBT_TARGET_PATH": str(copy), "DIAMOND_TARGET": "postgres"}


# --------------------------------------------------------------------------
# Servers the browser and HTTP suites start: the dashboard, dbt docs
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, server: subprocess.Popen, seconds: float) -> None:
    """Wait until ``url`` answers 200, failing early if the server died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read() if server.stdout else ""
            pytest.fail(f"the server exited with {server.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {seconds:.0f}s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@contextmanager
def serving(
    command: list[str], env: dict[str, str], port: int, ready: str, seconds: float
) -> Iterator[str]:
    """Run a server the way a user starts it and yield its base URL once
    ``ready`` (a path on it) answers; stop it on the way out."""
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}{ready}", server, seconds)
        yield base
    finally:
        stop_server(server)


@contextmanager
def serve_docs(env: dict[str, str]) -> Iterator[str]:
    """`diamond docs --serve` on a free loopback port; yields the site's base
    URL once the catalog is served."""
    port = free_port()
    command = [
        *(str(BIN / "diamond"), "docs", "--target", "duckdb"),
        *("--serve", "--port", str(port)),
    ]
    with serving(command, env, port, "/catalog.json", 240) as base:
        yield base
