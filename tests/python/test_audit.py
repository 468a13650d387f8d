"""The audit log: its hash chain, what tampering verify names, concurrent
appends and the warehouse mirrors on a real DuckDB file and a scratch
Postgres database (which must be reachable: the tests fail, not skip)."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import uuid
from pathlib import Path

import duckdb
import psycopg2
import pytest

from diamond.errors import ConfigError, DiamondError
from governance.audit import (
    GENESIS_HASH,
    AuditLog,
    default_path,
    record,
    sync_to_duckdb,
    sync_to_postgres,
    verify,
    verify_against_table,
)
from governance.audit.log import canonical_json

# --------------------------------------------------------------------------
# Helpers: a log of five records and ways to tamper with it
# --------------------------------------------------------------------------


def _write_log(path: Path, count: int = 5) -> AuditLog:
    log = AuditLog(path)
    for n in range(1, count + 1):
        log.append(
            "pii.scan" if n % 2 else "ingest",
            subject=f"table_{n}",
            details={"n": n, "columns": ["a", "b"]},
            target="duckdb",
            run_id=str(uuid.uuid4()),
        )
    return log


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _save(path: Path, records: list[dict]) -> None:
    path.write_text("".join(canonical_json(r) + "\n" for r in records), "utf-8")


def _rehash(data: dict) -> dict:
    """The record with its hash recomputed, as a forger would."""
    content = {k: v for k, v in data.items() if k != "hash"}
    digest = hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
    return {**content, "hash": digest}


def _rechain(records: list[dict]) -> list[dict]:
    """Every prev_hash and hash recomputed from the first record on."""
    out: list[dict] = []
    for data in records:
        prev = out[-1]["hash"] if out else GENESIS_HASH
        out.append(_rehash({**data, "prev_hash": prev}))
    return out


def _kinds(result) -> list[tuple[str, int | None, int | None]]:
    return [(p.kind, p.line, p.seq) for p in result.problems]


# --------------------------------------------------------------------------
# The chain
# --------------------------------------------------------------------------


def test_chain_links_every_record_to_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _write_log(path)
    records = list(log.records())
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    for rec, raw in zip(records, _lines(path), strict=True):
        content = {k: v for k, v in raw.items() if k != "hash"}
        expected = hashlib.sha256(
            json.dumps(
                content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        ).hexdigest()
        assert rec.hash == raw["hash"] == expected
        assert rec.recorded_at.endswith("+00:00")
    result = log.verify()
    assert result.ok, result.report()
    assert (result.records, result.head_seq) == (5, 5)
    assert result.head_hash == records[-1].hash
    assert log.head() == (5, records[-1].hash)
    assert "OK, 5 record(s)" in result.report()


def test_empty_or_missing_log_is_valid(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "none.jsonl")
    assert log.head() == (0, GENESIS_HASH)
    assert list(log.records()) == []
    assert log.verify().ok


def test_append_continues_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = AuditLog(path).append("ingest", target="postgres", actor="alice")
    second = AuditLog(path).append(
        "privacy.erase", subject="player:abc", details={"rows": 3}, actor="bob"
    )
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.hash
    assert [r.actor for r in AuditLog(path).records()] == ["alice", "bob"]
    assert verify(path).ok


def test_details_are_stored_as_their_json_form(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    rec = log.append("alert", details={"pair": (1, 2), "name": "Müller"})
    assert rec.details == {"pair": [1, 2], "name": "Müller"}
    assert "Müller" in log.path.read_text("utf-8")
    assert log.verify().ok


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"action": "Bad Action"}, DiamondError, "lower-case dotted name"),
        ({"action": "grant", "target": "oracle"}, ConfigError, "unknown target"),
        ({"action": "grant", "details": {"at": object()}}, DiamondError, "JSON"),
        ({"action": "grant", "details": {"x": float("nan")}}, DiamondError, "JSON"),
        ({"action": "grant", "details": ["x"]}, DiamondError, "must be a dict"),
    ],
)
def test_append_rejects_bad_input_and_writes_nothing(
    tmp_path: Path, kwargs: dict, error: type, words: str
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    action = kwargs.pop("action")
    with pytest.raises(error, match=words):
        log.append(action, **kwargs)
    assert not log.path.exists() or log.path.read_bytes() == b""


def test_env_vars_choose_path_and_actor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = tmp_path / "elsewhere" / "log.jsonl"
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", str(explicit))
    monkeypatch.setenv("DIAMOND_ACTOR", "ci-bot")
    assert default_path() == explicit
    rec = record("pipeline.run", run_id="r-1")
    assert rec.actor == "ci-bot"
    assert [r.action for r in AuditLog(explicit).records()] == ["pipeline.run"]

    project = tmp_path / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.setenv("DIAMOND_PROJECT_DIR", str(project))
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", "logs/audit.jsonl")
    assert default_path() == project / "logs" / "audit.jsonl"
    monkeypatch.delenv("DIAMOND_AUDIT_LOG")
    monkeypatch.delenv("DIAMOND_DUCKDB_PATH", raising=False)
    assert default_path() == project / "warehouse" / "audit" / "audit.jsonl"
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "wh" / "x.duckdb"))
    assert default_path() == tmp_path / "wh" / "audit" / "audit.jsonl"


# --------------------------------------------------------------------------
# Tampering with the file
# --------------------------------------------------------------------------


def test_edited_field_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    records = _lines(path)
    records[2]["actor"] = "mallory"
    _save(path, records)
    result = verify(path)
    assert not result.ok
    assert _kinds(result) == [("edited", 3, 3)]
    assert "line 3 (seq 3): edited: stored hash" in result.report()
    assert "does not match its content" in result.report()


def test_edit_with_recomputed_hash_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    records = _lines(path)
    records[2] = _rehash({**records[2], "details": {"n": 99}})
    _save(path, records)
    result = verify(path)
    assert _kinds(result) == [("edited", 3, 3)]
    assert "seq 4 (line 4) chains to" in result.report()


def test_deleted_record_names_the_missing_seq(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    records = _lines(path)
    del records[2]
    _save(path, records)
    result = verify(path)
    assert _kinds(result) == [("deleted", None, 3)]
    assert "seq 3: deleted: seq 3 is missing" in result.report()
    assert "after seq 2 (line 2) and before seq 4 (line 3)" in result.report()


def test_deleted_records_are_named_as_a_range(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 6)
    records = _lines(path)
    del records[1:4]
    _save(path, records)
    result = verify(path)
    assert _kinds(result) == [("deleted", None, 2)]
    assert "seqs 2-4 are missing" in result.report()


def test_inserted_forged_record_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    records = _lines(path)
    forged = _rehash(
        {**records[2], "action": "grant", "actor": "mallory", "details": {}}
    )
    assert forged["prev_hash"] == records[1]["hash"]
    records.insert(2, forged)
    _save(path, records)
    result = verify(path)
    assert _kinds(result) == [("inserted", 3, 3)]
    assert "the chain runs through line 4" in result.report()


def test_swapped_records_are_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    records = _lines(path)
    records[1], records[2] = records[2], records[1]
    _save(path, records)
    result = verify(path)
    assert _kinds(result) == [("reordered", 2, 3)]
    assert "seq 3 belongs after seq 2 (line 3)" in result.report()


def test_truncated_last_line_is_named_and_blocks_append(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _write_log(path)
    data = path.read_bytes()
    path.write_bytes(data[:-15])
    result = verify(path)
    assert _kinds(result) == [("truncated", 5, 5)]
    assert "line 5 (seq 5): truncated" in result.report()
    with pytest.raises(DiamondError, match="diamond audit verify") as caught:
        log.append("ingest")
    assert "no line end" in str(caught.value)
    assert path.read_bytes() == data[:-15]


def test_garbled_middle_line_is_not_reported_as_deleted(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    lines = path.read_text("utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace('"action":', '"action"', 1)
    path.write_text("".join(lines), "utf-8")
    result = verify(path)
    assert _kinds(result) == [("garbled", 2, 2)]


@pytest.mark.parametrize("damage", ["edit", "garble"])
def test_append_refuses_on_corrupt_tail(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "audit.jsonl"
    log = _write_log(path, 3)
    records = _lines(path)
    if damage == "edit":
        records[-1]["subject"] = "someone_else"
        _save(path, records)
    else:
        path.write_bytes(path.read_bytes() + b"{not json}\n")
    before = path.read_bytes()
    with pytest.raises(DiamondError, match="run `diamond audit verify`"):
        AuditLog(path).append("ingest")
    with pytest.raises(DiamondError, match="last line"):
        log.head()
    assert path.read_bytes() == before


def test_anchor_catches_cut_tail_and_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _write_log(path)
    anchor = log.head()
    records = _lines(path)
    _save(path, records[:4])
    assert verify(path).ok
    assert _kinds(verify(path, anchor=anchor)) == [("anchor", None, 5)]
    rewritten = _rechain([{**records[0], "actor": "mallory"}, *records[1:]])
    _save(path, rewritten)
    assert verify(path).ok
    assert _kinds(verify(path, anchor=anchor)) == [("anchor", 5, 5)]


# --------------------------------------------------------------------------
# Concurrent appends
# --------------------------------------------------------------------------


def _append_many(path: str, worker: int, count: int) -> None:
    log = AuditLog(Path(path))
    for n in range(count):
        log.append("pipeline.run", details={"worker": worker, "n": n})


def test_concurrent_processes_build_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    workers, count = 4, 30
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_many, args=(str(path), w, count))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    result = verify(path)
    assert result.ok, result.report()
    records = list(AuditLog(path).records())
    assert [r.seq for r in records] == list(range(1, workers * count + 1))
    written = sorted((r.details["worker"], r.details["n"]) for r in records)
    assert written == [(w, n) for w in range(workers) for n in range(count)]


# --------------------------------------------------------------------------
# Warehouse mirrors
# --------------------------------------------------------------------------


def _pg_execute(dsn: str, statement: str, params: tuple = ()) -> list[tuple]:
    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        con.close()


def _reset_pg(dsn: str) -> None:
    _pg_execute(dsn, "drop schema if exists governance cascade")


def test_duckdb_sync_is_idempotent_and_appends_only_new(tmp_path: Path) -> None:
    path, db = tmp_path / "audit.jsonl", tmp_path / "w.duckdb"
    log = _write_log(path, 3)
    assert sync_to_duckdb(path, db) == 3
    assert sync_to_duckdb(path, db) == 0
    log.append("grant", subject="role:analyst", details={"schema": "marts"})
    with duckdb.connect(str(db)) as con:
        assert sync_to_duckdb(path, con) == 1
        rows = con.execute(
            "select seq, action, details, hash from governance.audit_log order by seq"
        ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert json.loads(rows[3][2]) == {"schema": "marts"}
    assert [r[3] for r in rows] == [r.hash for r in log.records()]
    result = verify_against_table(path, con_or_path=db)
    assert result.ok, result.report()


def test_postgres_sync_is_idempotent_and_appends_only_new(
    tmp_path: Path, scratch_dsn: str
) -> None:
    _reset_pg(scratch_dsn)
    path = tmp_path / "audit.jsonl"
    log = _write_log(path, 3)
    assert sync_to_postgres(path, scratch_dsn) == 3
    assert sync_to_postgres(path, scratch_dsn) == 0
    log.append("privacy.erase", subject="player:x", details={"rows": 2})
    assert sync_to_postgres(path, scratch_dsn) == 1
    rows = _pg_execute(
        scratch_dsn, "select seq, hash from governance.audit_log order by seq"
    )
    assert rows == [(r.seq, r.hash) for r in log.records()]
    result = verify_against_table(path, dsn=scratch_dsn)
    assert result.ok, result.report()


def test_rewritten_file_is_caught_by_the_duckdb_mirror(tmp_path: Path) -> None:
    path, db = tmp_path / "audit.jsonl", tmp_path / "w.duckdb"
    _write_log(path)
    sync_to_duckdb(path, db)
    records = _lines(path)
    records[2]["details"] = {"n": 3, "columns": ["a"]}
    _save(path, _rechain(records))
    assert verify(path).ok
    result = verify_against_table(path, con_or_path=db)
    assert _kinds(result) == [
        ("mirror-differs", 3, 3),
        ("mirror-differs", 4, 4),
        ("mirror-differs", 5, 5),
    ]
    assert "disagree on details, hash" in result.report()
    with pytest.raises(DiamondError, match="disagree on seq 3 \\(line 3\\)"):
        sync_to_duckdb(path, db)


def test_rewritten_file_is_caught_by_the_postgres_mirror(
    tmp_path: Path, scratch_dsn: str
) -> None:
    _reset_pg(scratch_dsn)
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    sync_to_postgres(path, scratch_dsn)
    records = _lines(path)
    _save(path, _rechain([{**records[0], "actor": "mallory"}, *records[1:]]))
    assert verify(path).ok
    result = verify_against_table(path, dsn=scratch_dsn)
    assert [p.seq for p in result.problems] == [1, 2, 3, 4, 5]
    assert {p.kind for p in result.problems} == {"mirror-differs"}
    assert "line 1 (seq 1): mirror-differs" in result.report()
    with pytest.raises(DiamondError, match="disagree on seq 1"):
        sync_to_postgres(path, scratch_dsn)


def test_edited_mirror_rows_are_caught(tmp_path: Path, scratch_dsn: str) -> None:
    _reset_pg(scratch_dsn)
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    sync_to_postgres(path, scratch_dsn)
    _pg_execute(
        scratch_dsn, "update governance.audit_log set actor = 'mallory' where seq = 2"
    )
    result = verify_against_table(path, dsn=scratch_dsn)
    assert _kinds(result) == [("mirror-edited", None, 2), ("mirror-differs", 2, 2)]
    assert "the table was edited" in result.report()

    forged = _rehash({**_lines(path)[3], "subject": "other"})
    _pg_execute(
        scratch_dsn,
        "update governance.audit_log set subject = %s, hash = %s where seq = 4",
        (forged["subject"], forged["hash"]),
    )
    result = verify_against_table(path, dsn=scratch_dsn)
    assert ("mirror-differs", 4, 4) in _kinds(result)
    with pytest.raises(DiamondError, match="disagree on seq 4"):
        sync_to_postgres(path, scratch_dsn)


def test_records_only_on_one_side_are_named(tmp_path: Path) -> None:
    path, db = tmp_path / "audit.jsonl", tmp_path / "w.duckdb"
    log = _write_log(path, 4)
    sync_to_duckdb(path, db)
    log.append("alert", details={"rule": "late"})
    result = verify_against_table(path, con_or_path=db)
    assert _kinds(result) == [("unmirrored", 5, 5)]

    _save(path, _lines(path)[:3])
    result = verify_against_table(path, con_or_path=db)
    assert _kinds(result) == [("missing-from-file", None, 4)]
    with pytest.raises(DiamondError, match="ends at seq 3"):
        sync_to_duckdb(path, db)

    with duckdb.connect(str(db)) as con:
        con.execute("delete from governance.audit_log where seq = 2")
    with pytest.raises(DiamondError, match="lacks seq 2 but holds seq 3"):
        sync_to_duckdb(path, db)


def test_sync_refuses_a_file_that_fails_verification(tmp_path: Path) -> None:
    path, db = tmp_path / "audit.jsonl", tmp_path / "w.duckdb"
    _write_log(path)
    records = _lines(path)
    del records[1]
    _save(path, records)
    with pytest.raises(DiamondError, match="seq 2: deleted"):
        sync_to_duckdb(path, db)
    result = verify_against_table(path, con_or_path=db)
    assert ("mirror-missing", None, None) in _kinds(result)


def test_duckdb_held_by_another_writer_gives_a_clear_error(tmp_path: Path) -> None:
    path, db = tmp_path / "audit.jsonl", tmp_path / "w.duckdb"
    _write_log(path, 2)
    holder = multiprocessing.get_context("spawn").Process(
        target=_hold_duckdb, args=(str(db), str(tmp_path / "ready"))
    )
    holder.start()
    try:
        for _ in range(600):
            if (tmp_path / "ready").exists():
                break
            holder.join(timeout=0.05)
        with pytest.raises(DiamondError, match="Close other programs"):
            sync_to_duckdb(path, db)
    finally:
        holder.terminate()
        holder.join()
    assert sync_to_duckdb(path, db) == 2


def _hold_duckdb(db: str, ready: str) -> None:
    import time

    con = duckdb.connect(db)
    Path(ready).touch()
    time.sleep(60)
    con.close()
