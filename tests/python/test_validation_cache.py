"""Releases that passed validation are re-parsed, not re-validated."""

from __future__ import annotations

import json

import duckdb
import pytest

from diamond import contracts, validation_cache
from diamond.ingest import ingest


def test_only_passing_reports_are_kept(tmp_path) -> None:
    assert validation_cache.lookup(tmp_path, "f" * 64) is None
    validation_cache.store(tmp_path, "f" * 64, {"success": False, "tables": {}})
    assert validation_cache.lookup(tmp_path, "f" * 64) is None
    validation_cache.store(tmp_path, "f" * 64, {"success": True, "tables": {}})
    assert validation_cache.lookup(tmp_path, "f" * 64) == {
        "success": True,
        "tables": {},
    }
    assert validation_cache.lookup(tmp_path, "e" * 64) is None


def test_unreadable_entry_is_ignored(tmp_path) -> None:
    key = validation_cache.cache_key("a" * 64)
    (tmp_path / f"{key}.json").write_text("{not json")
    assert validation_cache.lookup(tmp_path, "a" * 64) is None


def test_a_changed_contract_invalidates_the_verdict(monkeypatch) -> None:
    before = validation_cache.cache_key("b" * 64)
    monkeypatch.setattr(contracts, "REFERENCE_MOSTLY", 1.0)
    assert validation_cache.cache_key("b" * 64) != before


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAMOND_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    return tmp_path


def _raw_rows(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from raw.batting").fetchone()[0]


def test_second_warehouse_reuses_the_verdict_and_revalidate_ignores_it(
    scratch, monkeypatch
) -> None:
    said: list[str] = []
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(scratch / "first.duckdb"))
    first = ingest("duckdb", progress=said.append)
    assert any(line.startswith("validating") for line in said)

    said.clear()
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(scratch / "second.duckdb"))
    second = ingest("duckdb", progress=said.append)
    assert any("passed validation at" in line for line in said)
    assert not any(line.startswith("validating") for line in said)
    assert second.rows == first.rows
    assert _raw_rows(scratch / "second.duckdb") == _raw_rows(scratch / "first.duckdb")
    reused = json.loads(second.validation_report.read_text())
    assert reused["reused_validation_of"] is not None
    assert reused["tables"]["batting"]["success"] is True

    said.clear()
    ingest("duckdb", force=True, revalidate=True, progress=said.append)
    assert any(line.startswith("validating") for line in said)
