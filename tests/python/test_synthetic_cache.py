"""Generated synthetic tables are kept and reused, never trusted blindly."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from diamond import synthetic_cache
from diamond.errors import DiamondError
from diamond.ingest import ingest

NAMES = ("fan_accounts", "player_medical_stints")


def _tables() -> dict[str, pa.Table]:
    return {
        "fan_accounts": pa.table({"fan_id": ["FAN0000001", "FAN0000002"]}),
        "player_medical_stints": pa.table({"days_missed": [3, None]}),
    }


def _entries(folder) -> list[str]:
    """The cache's files, its lock left out."""
    return sorted(p.name for p in folder.iterdir() if p.name != ".lock")


def test_stored_tables_come_back_equal(tmp_path) -> None:
    key = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2)
    assert synthetic_cache.lookup(tmp_path, key, NAMES) is None
    synthetic_cache.store(tmp_path, key, _tables())
    found = synthetic_cache.lookup(tmp_path, key, NAMES)
    assert found is not None
    assert {n: t.equals(_tables()[n]) for n, t in found.items()} == {
        "fan_accounts": True,
        "player_medical_stints": True,
    }


@pytest.mark.parametrize(
    "changed",
    [
        ("g2", "r" * 64, 7, 2, 2),
        ("g1", "s" * 64, 7, 2, 2),
        ("g1", "r" * 64, 8, 2, 2),
        ("g1", "r" * 64, 7, 3, 2),
        ("g1", "r" * 64, 7, 2, 3),
    ],
)
def test_every_input_is_part_of_the_key(changed) -> None:
    assert synthetic_cache.cache_key(*changed) != synthetic_cache.cache_key(
        "g1", "r" * 64, 7, 2, 2
    )


def test_the_tables_layout_is_part_of_the_key() -> None:
    before = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2, [["t", ["a"]]])
    after = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2, [["t", ["a", "b"]]])
    assert before != after


def test_an_entry_with_other_tables_is_ignored(tmp_path) -> None:
    key = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2)
    synthetic_cache.store(tmp_path, key, _tables())
    assert synthetic_cache.lookup(tmp_path, key, (*NAMES, "fan_visits")) is None
    assert synthetic_cache.lookup(tmp_path, key, NAMES[:1]) is None
    assert synthetic_cache.lookup(tmp_path, key, NAMES) is not None


def test_nothing_is_stored_once_the_check_under_the_lock_says_no(tmp_path) -> None:
    key = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2)
    assert not synthetic_cache.store(tmp_path, key, _tables(), allowed=lambda: False)
    assert _entries(tmp_path) == []
    assert synthetic_cache.store(tmp_path, key, _tables(), allowed=lambda: True)
    assert synthetic_cache.lookup(tmp_path, key, NAMES) is not None


def test_a_damaged_or_partial_entry_is_ignored(tmp_path) -> None:
    key = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2)
    synthetic_cache.store(tmp_path, key, _tables())
    arrow = tmp_path / f"{key}.fan_accounts.arrow"
    data = bytearray(arrow.read_bytes())
    data[-9] ^= 0xFF
    arrow.write_bytes(bytes(data))
    assert synthetic_cache.lookup(tmp_path, key, NAMES) is None

    synthetic_cache.store(tmp_path, key, _tables())
    (tmp_path / f"{key}.player_medical_stints.arrow").unlink()
    assert synthetic_cache.lookup(tmp_path, key, NAMES) is None

    (tmp_path / f"{key}.json").write_text("{not json")
    assert synthetic_cache.lookup(tmp_path, key, NAMES) is None


def _synthetic_rows(path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            name: con.execute(f"select * from raw.{name} order by 1").fetchall()
            for name in ("fan_accounts", "player_medical_stints")
        }


@pytest.fixture
def small_loads(tmp_path, monkeypatch):
    """Scratch cache, reports and register; small synthetic tables."""
    monkeypatch.setenv("DIAMOND_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DIAMOND_ERASURE_REGISTER", str(tmp_path / "register.json"))
    monkeypatch.setenv("DIAMOND_SYNTHETIC_FANS", "300")
    monkeypatch.setenv("DIAMOND_SYNTHETIC_MEDICAL_STINTS", "200")
    return tmp_path


def test_a_load_from_the_cache_equals_a_fresh_generation(
    small_loads, monkeypatch
) -> None:
    tmp_path = small_loads
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "first.duckdb"))
    ingest("duckdb")
    entries = sorted((tmp_path / "cache" / "synthetic").glob("*.json"))
    assert len(entries) == 1

    # A damaged entry must not reach the warehouse: the second load finds
    # the digest wrong and generates again.
    arrow = next((tmp_path / "cache" / "synthetic").glob("*.fan_accounts.arrow"))
    arrow.write_bytes(arrow.read_bytes()[:-16] + b"\0" * 16)
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "second.duckdb"))
    ingest("duckdb")

    def generate_fails(*args, **kwargs):
        raise AssertionError("the cached tables should have been used")

    monkeypatch.setattr("diamond.synthetic.generate", generate_fails)
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "third.duckdb"))
    ingest("duckdb")
    first = _synthetic_rows(tmp_path / "first.duckdb")
    assert first["fan_accounts"] and first["player_medical_stints"]
    assert _synthetic_rows(tmp_path / "second.duckdb") == first
    assert _synthetic_rows(tmp_path / "third.duckdb") == first


def test_an_erasure_empties_the_cache_and_bypasses_it(
    small_loads, monkeypatch, packaged
) -> None:
    from governance.privacy.erasure import register_erasure

    tmp_path = small_loads
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    ingest("duckdb")
    folder = tmp_path / "cache" / "synthetic"
    [fan] = _synthetic_rows(tmp_path / "w.duckdb")["fan_accounts"][:1]
    assert any(fan[0].encode() in p.read_bytes() for p in folder.glob("*.arrow"))

    # Registering the subject empties the cache at once, before any load.
    register_erasure(f"fan:{fan[0]}")
    assert _entries(folder) == []

    # A cached copy that turns up anyway (a load that started before the
    # erasure, an older diamond) goes with the next load, even one whose
    # release cannot be opened or fails its checks.
    key = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2)
    broken = packaged.write_zip(tmp_path / "broken.zip", {"Batting.csv": b""})
    for source, named in (
        (tmp_path / "no-such-release.zip", "no-such-release.zip"),
        (broken, r"Batting\.csv"),
    ):
        synthetic_cache.store(folder, key, _tables())
        assert _entries(folder) != []
        with pytest.raises(DiamondError, match=named):
            ingest("duckdb", str(source), force=True)
        assert _entries(folder) == []

    result = ingest("duckdb", force=True)
    assert result.erased_rows[f"fan:{fan[0]}"] == {"fan_accounts": 1}
    assert _entries(folder) == []
    left = _synthetic_rows(tmp_path / "w.duckdb")["fan_accounts"]
    assert fan[0] not in {row[0] for row in left}
    assert _entries(folder) == []


def test_a_cache_that_cannot_be_written_only_warns(tmp_path, caplog) -> None:
    folder = tmp_path / "cache"
    folder.write_text("a file where the folder should be")
    key = synthetic_cache.cache_key("g1", "r" * 64, 7, 2, 2)
    synthetic_cache.store(folder, key, _tables())
    assert "could not keep the synthetic tables" in caplog.text
    assert synthetic_cache.lookup(folder, key, NAMES) is None
