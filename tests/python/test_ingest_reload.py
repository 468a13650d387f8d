"""Loading, re-loading and loading from other kinds of source.

The packaged release is loaded into both scratch warehouses once; the tests
then run in file order on that state:

* the good load fills every table with exactly the release's rows, under
  snake_case column names, and logs itself;
* the same input again is ``unchanged`` and touches nothing;
* the same release fetched over https is recognised as the same input;
* ``force=True`` loads again, keeping views built on the raw tables working;
* a folder holding a different release replaces the data, and going back
  to the packaged release restores it.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from diamond.ingest import GENERATED_TABLES, ingest
from diamond.lahman import TABLES
from diamond.settings import RAW_SCHEMA

if TYPE_CHECKING:
    from conftest import HttpsServer, PackagedRelease, Warehouse

TARGETS = ("duckdb", "postgres")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
#: Where a probe view over the raw tables lives on each engine.
PROBE_SCHEMA = {"duckdb": "main", "postgres": "public"}


def _release_rows(packaged: PackagedRelease) -> dict[str, int]:
    """Data rows per table, counted straight from the CSV files."""
    return {
        spec.name: sum(
            1 for line in packaged.csv(spec.file).split(b"\n")[1:] if line.strip()
        )
        for spec in TABLES
    }


def _counts(fingerprints: dict[str, tuple]) -> dict[str, int]:
    return {table: count for table, (count, _) in fingerprints.items()}


@pytest.mark.parametrize("target", TARGETS)
def test_good_load_holds_every_row_of_the_release(
    target: str, packaged, warehouses, good_loads, baseline
) -> None:
    result = good_loads[target]
    expected = _release_rows(packaged)
    assert _counts(baseline[target]) == expected
    # Beside the release: the synthetic tables, the key and the register.
    generated = dict(
        warehouses[target].query(
            " union all ".join(
                f"select '{spec.name}', count(*) from {RAW_SCHEMA}.{spec.name}"
                for spec in GENERATED_TABLES
            )
        )
    )
    assert generated["fan_accounts"] > 0 and generated["masking_key"] == 1
    assert result.rows == sum(expected.values()) + sum(generated.values())
    assert result.tables == len(TABLES) + len(GENERATED_TABLES)
    assert result.version == "2021.2"

    (entry,) = warehouses[target].load_log()
    assert entry["status"] == "loaded"
    assert entry["load_id"] == result.load_id
    assert entry["source_fingerprint"] == result.fingerprint
    assert entry["row_count"] == result.rows
    assert entry["validation_success"] is True
    assert entry["error"] is None


@pytest.mark.parametrize("target", TARGETS)
def test_warehouse_column_names_are_snake_case(
    target: str, warehouses, good_loads
) -> None:
    columns = warehouses[target].columns()
    assert set(columns) == {spec.name for spec in (*TABLES, *GENERATED_TABLES)} | {
        "load_log"
    }
    for spec in TABLES:
        assert columns[spec.name] == list(spec.column_names)
    for table, names in columns.items():
        bad = [name for name in names if not SNAKE_CASE.match(name)]
        assert not bad, f"{RAW_SCHEMA}.{table}: {bad}"
    batting = columns["batting"]
    assert "doubles" in batting and "triples" in batting
    assert "park_key" in columns["home_games"]


def test_both_warehouses_hold_the_same_raw_data(loaded_template) -> None:
    """Every value, rendered the same way on both engines, hashes equal."""
    checksums = loaded_template.checksums
    assert checksums["duckdb"] == checksums["postgres"]


@pytest.mark.parametrize("target", TARGETS)
def test_same_input_again_is_unchanged(
    target: str, warehouses, good_loads, baseline
) -> None:
    warehouse = warehouses[target]
    log_before = warehouse.load_log()

    result = ingest(target)

    assert result.status == "unchanged"
    assert result.fingerprint == good_loads[target].fingerprint
    assert result.rows == 0
    assert result.validation_report is None
    assert warehouse.load_log() == log_before
    assert warehouse.fingerprints() == baseline[target]


@pytest.mark.parametrize("target", TARGETS)
def test_same_release_over_https_is_unchanged(
    target: str,
    packaged,
    trust_https: HttpsServer,
    warehouses,
    good_loads,
    baseline,
) -> None:
    """Downloaded bytes are the packaged bytes, so nothing is reloaded."""
    name = f"reload-{target}.zip"
    shutil.copyfile(packaged.path, trust_https.folder / name)
    warehouse = warehouses[target]
    log_before = warehouse.load_log()

    result = ingest(target, trust_https.url(name))

    assert result.status == "unchanged"
    assert result.source == trust_https.url(name)
    assert result.fingerprint == good_loads[target].fingerprint
    assert trust_https.requests.count(f"/{name}") == 1
    assert warehouse.load_log() == log_before
    assert warehouse.row_counts() == _counts(baseline[target])


def _create_probe_view(warehouse: Warehouse) -> str:
    view = f"{PROBE_SCHEMA[warehouse.target]}.salary_probe"
    warehouse.execute(
        f"create or replace view {view} as "
        f"select count(*) as salaries from {RAW_SCHEMA}.salaries"
    )
    return view


@pytest.mark.parametrize("target", TARGETS)
def test_force_loads_the_same_input_again(
    target: str, warehouses, good_loads, baseline
) -> None:
    warehouse = warehouses[target]
    view = _create_probe_view(warehouse)
    log_before = warehouse.load_log()

    result = ingest(target, force=True)

    assert result.status == "loaded"
    assert result.load_id != good_loads[target].load_id
    assert result.fingerprint == good_loads[target].fingerprint
    log_after = warehouse.load_log()
    assert log_after[:-1] == log_before
    assert log_after[-1]["load_id"] == result.load_id
    assert log_after[-1]["status"] == "loaded"
    assert warehouse.fingerprints() == baseline[target]
    # A view built on a raw table survives the reload and reads the new data.
    salaries = baseline[target]["salaries"][0]
    assert warehouse.query(f"select salaries from {view}") == [(salaries,)]


@pytest.mark.parametrize("target", TARGETS)
def test_folder_source_replaces_the_data(
    target: str, packaged, tmp_path, warehouses, good_loads, baseline
) -> None:
    """A folder release one salary short is loaded, then the packaged one
    brings the warehouse back to where it was."""
    salaries = packaged.csv("Salaries.csv").rstrip(b"\n").rsplit(b"\n", 1)[0]
    folder = packaged.write_folder(tmp_path, {"Salaries.csv": salaries + b"\n"})
    warehouse = warehouses[target]
    expected = _counts(baseline[target])
    expected["salaries"] -= 1

    result = ingest(target, str(folder))

    assert result.status == "loaded"
    assert result.source == str(folder)
    assert result.version == "2021.2"
    assert result.fingerprint != good_loads[target].fingerprint
    assert warehouse.row_counts() == expected
    assert warehouse.fingerprints(["people"]) == {"people": baseline[target]["people"]}
    newest = warehouse.load_log()[-1]
    assert (newest["status"], newest["source"]) == ("loaded", str(folder))
    assert ingest(target, str(folder)).status == "unchanged"

    restored = ingest(target)
    assert restored.status == "loaded"
    assert warehouse.row_counts() == _counts(baseline[target])
    assert warehouse.fingerprints(["salaries"]) == {
        "salaries": baseline[target]["salaries"]
    }
