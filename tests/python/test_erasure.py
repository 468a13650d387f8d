"""Right to erasure on a real DuckDB file and a real Postgres database.

Both warehouses are loaded and built once for the module (``dbt run``; the
data tests run in the erasure's own ``dbt build``). Then, sharing one
erasure register as two targets on one machine do:

* a fan is put in the register on its own (``register_erasure``) and a
  player is erased on DuckDB with ``erase``, whose reload leaves both out;
* the fan is erased on Postgres, where the reload finds both subjects in
  the register.

Every relation of both warehouses is captured before and after, so the
tests can prove that the two subjects are gone everywhere (by id and by
pseudonym) and that every other row is as it was. The last test registers
a third subject and shows that a plain ingest reloads for it and keeps all
three out. An unreachable Postgres fails the module; nothing is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import stat
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pyarrow as pa
import pytest
from conftest import drop_database

from diamond import ingest as ingest_module
from diamond.contracts import parse_table
from diamond.dbt import run_dbt
from diamond.ingest import ingest
from diamond.lahman import TABLES, TABLES_BY_NAME
from diamond.settings import RAW_SCHEMA, PostgresSettings
from governance.audit import AuditLog, verify
from governance.privacy import erasure

TARGETS = ("duckdb", "postgres")
#: Columns that name the subject a row is about, in order of preference.
GRAIN_COLUMNS = ("player_id", "player_key", "fan_key", "fan_id")
#: Raw tables every load rewrites whatever the subjects: the load log gains
#: a row and the register is the list of erasures itself.
RAW_BOOKKEEPING = ("load_log", "erasure_register")
#: Derived relations with a player grain whose rows for *other* players
#: legitimately change when a player is erased, because some columns are
#: computed across players of the same league-season: league-relative
#: rates and league ranks (batting, pitching), the rank in an award vote,
#: the rank within a team's payroll, the payroll share and the league's
#: median salary, and the leader boards. For these the other players' rows
#: must still be identical outside the league-seasons the erased player
#: took part in. Relations with no subject column at all (league and team
#: totals, the de-identified injury mart and its row numbers) are
#: aggregates of everybody and are not compared row by row.
CROSS_PLAYER = {
    "marts.fct_batting_seasons",
    "marts.fct_pitching_seasons",
    "marts.fct_award_votes",
    "marts.fct_salaries",
    "marts.fct_season_leaders",
}
#: The next-season model's relations pool every player: the features carry
#: league context, Marcel regresses toward league rates, and the model is
#: retrained without the subject, so every projection, explanation and
#: metric may move. Only which players they hold must stay the same.
POOLED_SCHEMA = "ml."
REFERENCES = {"fan": "REQ-FAN-1", "player": "REQ-PLAYER-1"}


# --------------------------------------------------------------------------
# Reading the warehouses, independently of the module under test
# --------------------------------------------------------------------------


class Reader:
    """One read-only connection to a target's warehouse."""

    def __init__(self, target: str) -> None:
        self.target = target
        if target == "duckdb":
            self.con = duckdb.connect(os.environ["DIAMOND_DUCKDB_PATH"], read_only=True)
            self.text = "varchar"
        else:
            self.con = psycopg2.connect(PostgresSettings.from_env().dsn())
            self.con.set_session(readonly=True)
            self.text = "text"

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def rows(self, statement: str, params: tuple = ()) -> list[tuple]:
        if self.target == "duckdb":
            return self.con.execute(statement, list(params)).fetchall()
        with self.con.cursor() as cur:
            cur.execute(statement.replace("?", "%s"), params or None)
            return cur.fetchall()

    def relations(self) -> dict[str, list[str]]:
        """``schema.name`` -> columns, for every user table and view."""
        found: dict[str, list[str]] = {}
        for schema, name, column in self.rows(
            "select table_schema, table_name, column_name "
            "from information_schema.columns "
            "where table_schema not in ('information_schema', 'pg_catalog') "
            "and table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ):
            found.setdefault(f"{schema}.{name}", []).append(column)
        return found

    def masking_key(self) -> str:
        return self.rows(f"select masking_key from {RAW_SCHEMA}.masking_key")[0][0]


def _normal(row: tuple) -> tuple:
    """Rows compare equal when their values do (NaN included)."""
    return tuple(repr(v) if isinstance(v, float) and math.isnan(v) else v for v in row)


@dataclasses.dataclass
class Relation:
    """The rows of one relation, counted.

    Raw rows are kept whole: (subject, None, None, *values). Derived rows
    are summed up per subject, season and league as (subject, season,
    league, rows, sum of row hashes): the same rows give the same sum, and
    the engine does the hashing instead of shipping millions of rows.
    """

    key: str | None
    rows: Counter


#: Aggregate over the rows ``t`` of a group that changes with any value.
_ROW_HASH_SUM = {
    "duckdb": "sum(hash(t))",
    "postgres": "sum(hashtextextended(cast(t as text), 0))",
}


def snapshot(target: str, *, raw_only: bool = False) -> dict[str, Relation]:
    """Every relation of the warehouse (or of raw only), row by row."""
    out: dict[str, Relation] = {}
    with Reader(target) as db:
        for name, columns in db.relations().items():
            raw = name.startswith(f"{RAW_SCHEMA}.")
            if raw_only and not raw:
                continue
            key = next((c for c in GRAIN_COLUMNS if c in columns), None)
            picks = [
                key or "null",
                "season" if "season" in columns else "null",
                "league_id" if "league_id" in columns else "null",
            ]
            if raw:
                statement = f"select {', '.join(picks)}, t.* from {name} as t"
            else:
                statement = (
                    f"select {', '.join(picks)}, count(*), {_ROW_HASH_SUM[target]} "
                    f"from {name} as t group by 1, 2, 3"
                )
            rows = db.rows(statement)
            out[name] = Relation(key, Counter(_normal(r) for r in rows))
    return out


def _without(rows: Counter, keys: set[str]) -> Counter:
    return Counter({r: n for r, n in rows.items() if r[0] not in keys})


def _pseudonym(value: str, key: str) -> str:
    # Written out here rather than taken from the module under test: the
    # masking macro's rule, sha256 of "key|value" as hex.
    return hashlib.sha256(f"{key}|{value}".encode()).hexdigest()


# --------------------------------------------------------------------------
# The shared warehouses and the erasures
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Scratch:
    folder: Path
    database: str
    register: Path
    audit: Path


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    """Every path and database this module writes, all of them scratch."""
    settings = PostgresSettings.from_env()
    try:
        psycopg2.connect(settings.dsn("postgres")).close()
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"Postgres at {settings.host}:{settings.port} is unreachable: "
            f"{str(exc).strip()}. Start it or set the PG* variables.",
            pytrace=False,
        )
    folder = tmp_path_factory.mktemp("erasure")
    box = Scratch(
        folder,
        f"diamond_erasure_{uuid.uuid4().hex[:10]}",
        folder / "privacy" / "register.json",
        folder / "audit.jsonl",
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "DIAMOND_DUCKDB_PATH": str(folder / "wh" / "diamond.duckdb"),
            "PGDATABASE": box.database,
            "DBT_TARGET_PATH": str(folder / "target"),
            "DBT_LOG_PATH": str(folder / "logs"),
            "DIAMOND_CACHE_DIR": str(folder / "cache"),
            "DIAMOND_AUDIT_LOG": str(box.audit),
            erasure.REGISTER_ENV: str(box.register),
            # run_dbt sets it; setting it here first has it restored after.
            "DIAMOND_TARGET": "duckdb",
        }.items():
            patch.setenv(name, value)
        for name in (
            "DIAMOND_RUN_ID",
            "DIAMOND_MASKING_KEY",
            "DIAMOND_SYNTHETIC_SEED",
            "DIAMOND_SYNTHETIC_FANS",
            "DIAMOND_SYNTHETIC_MEDICAL_STINTS",
        ):
            patch.delenv(name, raising=False)
        try:
            yield box
        finally:
            drop_database(PostgresSettings.from_env(), box.database)


def end_to_end(test):
    """Mark a test that reads the built warehouses: dbt runs, on Postgres."""
    return pytest.mark.slow(pytest.mark.postgres(test))


def _use_target_folder(target: str) -> None:
    # One dbt target folder per warehouse keeps dbt's partial parsing
    # working when the module switches between them.
    base = Path(os.environ["DIAMOND_DUCKDB_PATH"]).parent.parent
    os.environ["DBT_TARGET_PATH"] = str(base / f"target-{target}")


@dataclasses.dataclass
class Case:
    """The two erasures and what the warehouses held around them."""

    fan: erasure.Subject
    player: erasure.Subject
    other_fan: erasure.Subject
    key: str
    before: dict[str, dict[str, Relation]]
    after: dict[str, dict[str, Relation]]
    reports: dict[str, erasure.ErasureReport]
    timings: dict[str, float]

    def keys(self, subject: erasure.Subject) -> set[str]:
        """Every value a row about ``subject`` is keyed by."""
        return {subject.id, _pseudonym(subject.id, self.key)}

    @property
    def erased(self) -> set[str]:
        """The keys of both erased subjects."""
        return self.keys(self.fan) | self.keys(self.player)


def _pick_subjects(reader: Reader) -> tuple[str, str, str]:
    """A fan, a second fan, and the player with medical stints who appears in
    the most raw tables (managers and awards among them)."""
    fans = [f for (f,) in reader.rows("select fan_id from raw.fan_accounts order by 1")]
    tables = [s.name for s in TABLES if "player_id" in s.column_names]
    tables.append("player_medical_stints")
    union = " union all ".join(
        f"select distinct player_id, '{t}' as t from raw.{t}" for t in tables
    )
    ((player, spread),) = reader.rows(
        f"select player_id, count(*) from ({union}) as u where player_id in "
        "(select player_id from raw.player_medical_stints) "
        "group by player_id "
        "having sum(case when t in ('managers', 'awards_managers', "
        "'awards_players') then 1 else 0 end) = 3 "
        "order by count(*) desc, player_id limit 1"
    )
    assert spread >= 15, f"{player} is in {spread} raw tables only"
    # The whole-row search below looks for the id as a substring, so no
    # other identifier may contain it.
    ((clashes,),) = reader.rows(
        "select count(*) from raw.people where player_id <> ? and "
        "(strpos(player_id, ?) > 0 or strpos(coalesce(bbref_id, ''), ?) > 0 "
        "or strpos(coalesce(retro_id, ''), ?) > 0)",
        (player, player, player, player),
    )
    assert clashes == 0
    return fans[0], fans[1], player


@pytest.fixture(scope="module")
def case(scratch: Scratch) -> Case:
    """Load and build both warehouses, capture them, erase, capture again."""
    timings: dict[str, float] = {}

    def timed(name: str, action):
        began = time.perf_counter()
        value = action()
        timings[name] = time.perf_counter() - began
        return value

    for target in TARGETS:
        _use_target_folder(target)
        loaded = timed(f"ingest {target}", lambda t=target: ingest(t))
        assert loaded.status == "loaded"
        timed(f"dbt run {target}", lambda t=target: run_dbt(["run"], t))
    with Reader("duckdb") as db:
        fan, other_fan, player = _pick_subjects(db)
        key = db.masking_key()
    before = {t: timed(f"snapshot {t}", lambda t=t: snapshot(t)) for t in TARGETS}

    erasure.register_erasure(f"fan:{fan}", reference=REFERENCES["fan"])
    quiet: list[str] = []
    _use_target_folder("duckdb")
    reports = {
        "duckdb": timed(
            "erase player on duckdb",
            lambda: erasure.erase(
                f"player:{player}",
                "duckdb",
                reference=REFERENCES["player"],
                progress=quiet.append,
            ),
        )
    }
    _use_target_folder("postgres")
    reports["postgres"] = timed(
        "erase fan on postgres",
        lambda: erasure.erase(f"fan:{fan}", "postgres", progress=quiet.append),
    )
    after = {t: timed(f"snapshot {t} after", lambda t=t: snapshot(t)) for t in TARGETS}
    return Case(
        erasure.Subject("fan", fan),
        erasure.Subject("player", player),
        erasure.Subject("fan", other_fan),
        key,
        before,
        after,
        reports,
        timings,
    )


# --------------------------------------------------------------------------
# Subjects and references that are wrong
# --------------------------------------------------------------------------


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch register path (and audit log) for tests that need no
    warehouse; the register must never come into existence."""
    register = tmp_path / "register.json"
    monkeypatch.setenv(erasure.REGISTER_ENV, str(register))
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "diamond.duckdb"))
    return register


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "FAN0001234",
        "fan",
        "fan:",
        "fan:FAN12",
        "fan:fan0001234",
        "fan:FAN0001234;drop",
        "player:",
        "player:Molitpa01",
        "player:molit pa01",
        "user:bob",
        None,
    ],
)
def test_bad_subjects_name_the_argument_and_the_accepted_forms(
    isolated: Path, subject: Any
) -> None:
    with pytest.raises(erasure.ErasureError) as caught:
        erasure.erase(subject, "duckdb", progress=lambda _: None)
    message = str(caught.value)
    assert "subject" in message
    assert "fan:<fan_id>" in message and "player:<player_id>" in message
    assert not isolated.exists()


@pytest.mark.parametrize("reference", ["", "two\nlines", "x" * 201, 7])
def test_bad_references_are_refused(isolated: Path, reference: Any) -> None:
    with pytest.raises(erasure.ErasureError, match="reference="):
        erasure.register_erasure("fan:FAN0001234", reference=reference)
    assert not isolated.exists()


# --------------------------------------------------------------------------
# Cutting rows out of a release file
# --------------------------------------------------------------------------

_SCHOOLS = TABLES_BY_NAME["schools"]


def _csv(*rows: str) -> bytes:
    return ("schoolID,name_full,city,state,country\r\n" + "".join(rows)).encode()


def test_rows_are_cut_from_the_file_leaving_other_lines_as_they_were() -> None:
    raw = _csv(
        "a,Alpha U,Aville,AA,USA\r\n",
        "\r\n",
        'b,"Beta, College",Bville,BB,USA\r\n',
        "c,Gamma,Cville,CC,USA\r\n",
    )
    table = parse_table(_SCHOOLS, raw)
    hit = pa.chunked_array([[False, True, False]])

    cut = ingest_module._drop_rows(_SCHOOLS, raw, table, hit)

    assert cut == _csv(
        "a,Alpha U,Aville,AA,USA\r\n", "\r\n", "c,Gamma,Cville,CC,USA\r\n"
    )
    assert parse_table(_SCHOOLS, cut).equals(
        table.filter(pa.array([True, False, True]))
    )


def test_rows_are_cut_when_a_quoted_value_spans_lines() -> None:
    raw = _csv(
        'a,"Alpha\nUniversity",Aville,AA,USA\n',
        "b,Beta,Bville,BB,USA\n",
        "c,Gamma,,CC,USA\n",
    )
    table = parse_table(_SCHOOLS, raw)
    hit = pa.chunked_array([[False, True, False]])

    cut = ingest_module._drop_rows(_SCHOOLS, raw, table, hit)

    assert parse_table(_SCHOOLS, cut).equals(
        table.filter(pa.array([True, False, True]))
    )


# --------------------------------------------------------------------------
# The erasures
# --------------------------------------------------------------------------


@end_to_end
def test_reports_say_what_was_removed_and_rebuilt(case: Case) -> None:
    player_rows = {
        name.removeprefix(f"{RAW_SCHEMA}."): sum(
            n for r, n in rel.rows.items() if r[0] == case.player.id
        )
        for name, rel in case.before["duckdb"].items()
        if name.startswith(f"{RAW_SCHEMA}.")
    }
    expected = {t: n for t, n in player_rows.items() if n}
    # Managers and awards tables key a person by player_id too.
    assert {"managers", "awards_managers", "people", "player_medical_stints"} <= set(
        expected
    )

    on_duckdb = case.reports["duckdb"]
    assert on_duckdb.subject == str(case.player)
    assert on_duckdb.rows_removed == expected
    assert on_duckdb.newly_registered is True
    assert on_duckdb.reference == REFERENCES["player"]
    on_postgres = case.reports["postgres"]
    assert on_postgres.rows_removed == {"fan_accounts": 1}
    # Registered beforehand, so erase applied an existing entry, whose
    # reference it keeps.
    assert on_postgres.newly_registered is False
    assert on_postgres.reference == REFERENCES["fan"]
    for report in case.reports.values():
        assert report.verified
        assert report.relations_searched > 80
        assert {"marts.dim_players", "staging.stg_synthetic__fan_accounts"} <= set(
            report.relations_rebuilt
        )
        assert report.digest == erasure.subject_digest(report.subject)
        assert report.subject in str(report)
    print("timings:", json.dumps({k: round(v) for k, v in case.timings.items()}))


@end_to_end
@pytest.mark.parametrize("target", TARGETS)
def test_subjects_are_in_the_warehouse_before(case: Case, target: str) -> None:
    """The subjects were there to erase, under their ids and pseudonyms."""
    before = case.before[target]
    assert any(r[0] == case.fan.id for r in before["raw.fan_accounts"].rows)
    holding = {
        name
        for name, rel in before.items()
        if any(r[0] in case.keys(case.player) for r in rel.rows)
    }
    assert len(holding) > 40
    assert "staging.stg_synthetic__player_medical_stints" in holding
    fan_rows = before["staging.stg_synthetic__fan_accounts"].rows
    assert any(r[0] == _pseudonym(case.fan.id, case.key) for r in fan_rows)


@end_to_end
@pytest.mark.parametrize("target", TARGETS)
def test_subjects_are_gone_from_every_relation(case: Case, target: str) -> None:
    """Every row of every relation, as text, holds neither subject's id nor
    pseudonym; the register is the one place the ids are kept."""
    with Reader(target) as db:
        key = db.masking_key()
        assert key == case.key
        needles = [
            value
            for subject in (case.fan, case.player)
            for value in (subject.id, _pseudonym(subject.id, key))
        ]
        found = {}
        relations = db.relations()
        for name in relations:
            if name == f"{RAW_SCHEMA}.erasure_register":
                continue
            counts = db.rows(
                "select "
                + ", ".join(
                    f"sum(case when strpos(cast(t as {db.text}), ?) > 0 "
                    "then 1 else 0 end)"
                    for _ in needles
                )
                + f" from {name} as t",
                tuple(needles),
            )[0]
            if any(counts):
                found[name] = counts
    assert len(relations) > 80
    assert found == {}
    for subject in (case.fan, case.player):
        assert erasure.find_subject(subject, target).ok


@end_to_end
@pytest.mark.parametrize("target", TARGETS)
def test_raw_rows_of_everyone_else_are_unchanged(case: Case, target: str) -> None:
    before, after = case.before[target], case.after[target]
    raw = [n for n in before if n.startswith(f"{RAW_SCHEMA}.")]
    assert set(raw) == {n for n in after if n.startswith(f"{RAW_SCHEMA}.")}
    compared = 0
    for name in raw:
        if name.removeprefix(f"{RAW_SCHEMA}.") in RAW_BOOKKEEPING:
            continue
        expected = _without(before[name].rows, case.erased)
        assert after[name].rows == expected, name
        compared += 1
    assert compared == len(TABLES) + 3  # synthetic tables and the masking key


@end_to_end
@pytest.mark.parametrize("target", TARGETS)
def test_derived_rows_of_everyone_else_are_unchanged(case: Case, target: str) -> None:
    before, after = case.before[target], case.after[target]
    derived = {
        name: rel
        for name, rel in before.items()
        if rel.key is not None and not name.startswith(f"{RAW_SCHEMA}.")
    }
    assert set(derived) >= CROSS_PLAYER
    seasons = {
        (r[1], r[2])
        for rel in derived.values()
        for r in rel.rows
        if r[0] in case.keys(case.player) and r[1] is not None
    }
    assert seasons
    for name, rel in derived.items():
        expected = _without(rel.rows, case.erased)
        actual = after[name].rows
        assert not any(r[0] in case.erased for r in actual), name
        if name.startswith(POOLED_SCHEMA):
            assert {r[0] for r in actual} == {r[0] for r in expected}, name
            continue
        if name in CROSS_PLAYER:
            expected = Counter(
                {r: n for r, n in expected.items() if (r[1], r[2]) not in seasons}
            )
            actual = Counter(
                {r: n for r, n in actual.items() if (r[1], r[2]) not in seasons}
            )
            assert expected, f"{name}: nothing left to compare"
        assert actual == expected, name
    assert len(derived) > 40
    # The model was trained again, on data without the subject.
    registry = f"{POOLED_SCHEMA}ml_training_runs"
    assert registry in after
    if registry in before:  # Postgres builds train only through `diamond ml`
        assert after[registry].rows != before[registry].rows


@end_to_end
def test_register_is_a_private_file_and_a_raw_table(
    case: Case, scratch: Scratch
) -> None:
    assert erasure.register_path() == scratch.register
    assert stat.S_IMODE(scratch.register.stat().st_mode) == 0o600
    stored = json.loads(scratch.register.read_text())
    entries = {e["subject"]: e for e in stored["erasures"]}
    assert set(entries) == {str(case.fan), str(case.player)}
    assert entries[str(case.fan)]["reference"] == REFERENCES["fan"]
    assert entries[str(case.player)]["reference"] == REFERENCES["player"]
    for entry in entries.values():
        # Only what honouring the erasure needs.
        assert set(entry) == {"subject", "erased_at", "reference"}
    for target in TARGETS:
        with Reader(target) as db:
            rows = db.rows(
                f"select subject, erased_at, reference from {RAW_SCHEMA}."
                "erasure_register order by subject"
            )
        assert rows == [
            (e["subject"], e["erased_at"], e["reference"])
            for e in sorted(entries.values(), key=lambda e: e["subject"])
        ]


@end_to_end
def test_audit_records_the_erasures_without_the_ids(
    case: Case, scratch: Scratch
) -> None:
    records = list(AuditLog(scratch.audit).records())
    erased = [r for r in records if r.action == erasure.AUDIT_ACTION]
    assert [(r.target, r.details["subject_kind"]) for r in erased] == [
        ("duckdb", "player"),
        ("postgres", "fan"),
    ]
    for record, subject in zip(erased, (case.player, case.fan), strict=True):
        report = case.reports[record.target]
        assert record.seq == report.audit_seq
        assert record.details["status"] == "erased"
        assert record.details["subject_digest"] == erasure.subject_digest(subject)
        assert record.details["rows_removed"] == report.rows_removed
        assert record.details["relations_rebuilt"] == report.relations_rebuilt
        assert record.details["verified"] is True
    registered = [r for r in records if r.action == erasure.AUDIT_REGISTERED]
    assert [r.details["subject_kind"] for r in registered] == ["fan", "player"]
    text = scratch.audit.read_text()
    for value in case.erased:
        assert value not in text
    assert verify(scratch.audit).ok


@end_to_end
def test_unknown_subject_is_refused_and_nothing_changes(
    case: Case, scratch: Scratch
) -> None:
    register = scratch.register.read_bytes()
    audit = scratch.audit.read_bytes()
    with Reader("duckdb") as db:
        log_rows = db.rows(f"select count(*) from {RAW_SCHEMA}.load_log")
        taken = {f for (f,) in db.rows("select fan_id from raw.fan_accounts")}
    unknown = next(f"FAN{n:07d}" for n in range(10**7) if f"FAN{n:07d}" not in taken)
    for subject in (f"fan:{unknown}", "player:nobodyzz99"):
        with pytest.raises(erasure.ErasureError, match="not in the raw tables"):
            erasure.erase(subject, "duckdb", progress=lambda _: None)
    assert scratch.register.read_bytes() == register
    assert scratch.audit.read_bytes() == audit
    with Reader("duckdb") as db:
        assert db.rows(f"select count(*) from {RAW_SCHEMA}.load_log") == log_rows


@end_to_end
@pytest.mark.parametrize("target", TARGETS)
def test_ingest_with_an_unchanged_register_is_a_no_op(case: Case, target: str) -> None:
    with Reader(target) as db:
        log_before = db.rows(f"select load_id from {RAW_SCHEMA}.load_log")
    result = ingest(target)
    assert result.status == "unchanged"
    with Reader(target) as db:
        assert db.rows(f"select load_id from {RAW_SCHEMA}.load_log") == log_before


@end_to_end
def test_a_lost_register_file_is_restored_from_the_warehouse(
    case: Case, scratch: Scratch
) -> None:
    original = scratch.register.read_text()
    scratch.register.unlink()

    restored = erasure.register_for_ingest("duckdb")

    def entries(text: str) -> list[dict]:
        return sorted(json.loads(text)["erasures"], key=lambda e: e["subject"])

    assert {str(e.subject) for e in restored.entries} == {
        str(case.fan),
        str(case.player),
    }
    assert entries(scratch.register.read_text()) == entries(original)
    assert stat.S_IMODE(scratch.register.stat().st_mode) == 0o600


@end_to_end
def test_a_damaged_register_stops_ingest(
    case: Case, scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = scratch.folder / "damaged.json"
    damaged.write_text('{"format": "diamond-erasure-register/1", "erasures": [{')
    monkeypatch.setenv(erasure.REGISTER_ENV, str(damaged))
    with pytest.raises(erasure.RegisterError, match=r"damaged\.json is not valid JSON"):
        ingest("duckdb")


@end_to_end
@pytest.mark.parametrize("target", TARGETS)
def test_a_new_erasure_reloads_and_keeps_every_erased_subject_out(
    case: Case, target: str
) -> None:
    """A plain ingest (no erase) sees the register changed, reloads, and
    leaves out the new subject and the earlier ones alike."""
    erasure.register_erasure(str(case.other_fan))
    _use_target_folder(target)

    result = ingest(target)

    assert result.status == "loaded"
    assert set(result.erased_rows) == {
        str(case.fan),
        str(case.player),
        str(case.other_fan),
    }
    assert ingest(target).status == "unchanged"
    now = snapshot(target, raw_only=True)
    gone = case.erased | case.keys(case.other_fan)
    for name, rel in case.after[target].items():
        if not name.startswith(f"{RAW_SCHEMA}.") or name.endswith(RAW_BOOKKEEPING):
            continue
        assert now[name].rows == _without(rel.rows, gone), name
    assert not any(r[0] in gone for r in now["raw.fan_accounts"].rows)
