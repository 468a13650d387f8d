"""Column-level lineage from compiled SQL: small synthetic manifests for each
rule, then every model of a real scratch ``diamond run`` on DuckDB."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import pytest

from governance.lineage.columns import (
    ColumnLineageError,
    UpstreamField,
    clear_cache,
    column_graph,
    dataset_graph,
    resolve_column_lineage,
    resolve_dataset_lineage,
    trace_to_sources,
)

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

T = "source.p.raw.t"
U = "source.p.raw.u"
X = "model.p.x"


def _manifest(sql: str | None, columns: dict | None = None) -> dict:
    def source(name: str, cols: list[str]) -> dict:
        return {
            "resource_type": "source",
            "database": "db",
            "schema": "raw",
            "identifier": name,
            "name": name,
            "columns": {c: {"name": c} for c in cols},
        }

    model = {
        "resource_type": "model",
        "database": "db",
        "schema": "marts",
        "alias": "x",
        "name": "x",
        "compiled_code": sql,
        "depends_on": {"nodes": [T, U]},
        "columns": columns or {},
    }
    return {
        "metadata": {"adapter_type": "duckdb"},
        "nodes": {X: model},
        "sources": {T: source("t", ["a", "b", "c", "d"]), U: source("u", ["a", "e"])},
    }


def _summary(fields: list[UpstreamField]) -> dict[tuple[str, str], set[tuple]]:
    return {
        (f.unique_id, f.column): {
            (t["type"], t["subtype"], t["masking"]) for t in f.transformations
        }
        for f in fields
    }


def _lineage(sql: str, columns: dict | None = None) -> dict:
    clear_cache()
    found = resolve_column_lineage(_manifest(sql, columns), X)
    return {name: _summary(fields) for name, fields in found.items()}


def _dataset(sql: str) -> dict:
    clear_cache()
    return _summary(resolve_dataset_lineage(_manifest(sql), X))


# --------------------------------------------------------------------------
# Rules, on synthetic manifests


def test_identity_transformation_and_aggregation_through_ctes() -> None:
    found = _lineage(
        "with src as (select * from db.raw.t),"
        " renamed as (select a as id, b + 1 as b1, c from src)"
        " select id, b1, sum(c) as total from renamed group by id, b1"
    )
    assert found["id"] == {(T, "a"): {("DIRECT", "IDENTITY", False)}}
    assert found["b1"] == {(T, "b"): {("DIRECT", "TRANSFORMATION", False)}}
    assert found["total"] == {(T, "c"): {("DIRECT", "AGGREGATION", False)}}


def test_case_conditions_and_window_keys_are_indirect_per_column() -> None:
    found = _lineage(
        "select case when b > 0 then a end as pos,"
        " lag(a) over (partition by b order by c) as prev,"
        " sum(d) over (partition by b) as running"
        " from db.raw.t"
    )
    assert found["pos"] == {
        (T, "a"): {("DIRECT", "TRANSFORMATION", False)},
        (T, "b"): {("INDIRECT", "CONDITIONAL", False)},
    }
    assert found["prev"] == {
        (T, "a"): {("DIRECT", "TRANSFORMATION", False)},
        (T, "b"): {("INDIRECT", "WINDOW", False)},
        (T, "c"): {("INDIRECT", "WINDOW", False)},
    }
    assert found["running"][(T, "d")] == {("DIRECT", "AGGREGATION", False)}


def test_filters_joins_grouping_and_sorting_are_dataset_level() -> None:
    sql = (
        "with joined as (select t.b, u.e from db.raw.t"
        " join db.raw.u on t.a = u.a where t.c > 1)"
        " select b, max(e) as top from joined group by b"
        " having count(*) > 2 order by b"
    )
    assert _dataset(sql) == {
        (T, "a"): {("INDIRECT", "JOIN", False)},
        (U, "a"): {("INDIRECT", "JOIN", False)},
        (T, "c"): {("INDIRECT", "FILTER", False)},
        (T, "b"): {("INDIRECT", "GROUP_BY", False), ("INDIRECT", "SORT", False)},
    }
    columns = _lineage(sql)
    assert set(columns["top"]) == {(U, "e")}


def test_subquery_in_where_filters_the_dataset() -> None:
    sql = "select a from db.raw.t where b in (select e from db.raw.u where u.a > 1)"
    assert _lineage(sql) == {"a": {(T, "a"): {("DIRECT", "IDENTITY", False)}}}
    assert _dataset(sql) == {
        (T, "b"): {("INDIRECT", "FILTER", False)},
        (U, "e"): {("INDIRECT", "FILTER", False)},
        (U, "a"): {("INDIRECT", "FILTER", False)},
    }


def test_union_branches_match_by_position() -> None:
    found = _lineage(
        "select a as x, b as y from db.raw.t union all select e, a from db.raw.u"
    )
    assert set(found["x"]) == {(T, "a"), (U, "e")}
    assert set(found["y"]) == {(T, "b"), (U, "a")}


def test_masking_functions_and_masking_policy() -> None:
    found = _lineage(
        "select md5(cast(a as varchar)) as h, mask_email(b) as m,"
        " sha256(c) as s, d as redacted,"
        " case when b is null then hash(d) else d end as mixed"
        " from db.raw.t",
        {"redacted": {"name": "redacted", "meta": {"masking_policy": "redact"}}},
    )
    assert found["h"] == {(T, "a"): {("DIRECT", "TRANSFORMATION", True)}}
    assert found["m"] == {(T, "b"): {("DIRECT", "TRANSFORMATION", True)}}
    assert found["s"] == {(T, "c"): {("DIRECT", "TRANSFORMATION", True)}}
    assert found["redacted"] == {(T, "d"): {("DIRECT", "IDENTITY", True)}}
    # One masked path and one plain one: both are reported.
    assert found["mixed"][(T, "d")] == {
        ("DIRECT", "TRANSFORMATION", True),
        ("DIRECT", "TRANSFORMATION", False),
    }


def test_masking_policy_in_column_config_meta() -> None:
    found = _lineage(
        "select a from db.raw.t",
        {"a": {"name": "a", "config": {"meta": {"masking_policy": "hash"}}}},
    )
    assert found["a"] == {(T, "a"): {("DIRECT", "IDENTITY", True)}}


def test_unresolvable_column_keeps_relation_without_column(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manifest = _manifest("select a, zz from db.raw.t")
    del manifest["sources"][T]["columns"]["a"]  # schema no longer knows it
    clear_cache()
    with caplog.at_level(logging.WARNING, "governance.lineage.columns"):
        found = resolve_column_lineage(manifest, X)
    assert found["zz"] == [UpstreamField(T, "", ())]
    assert "cannot resolve column 'zz'" in caplog.text


def test_relation_outside_the_manifest_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clear_cache()
    with caplog.at_level(logging.WARNING, "governance.lineage.columns"):
        found = resolve_column_lineage(
            _manifest("select t.a, o.q from db.raw.t join other.o on t.a = o.k"), X
        )
    assert found["q"] == []
    assert "other.o is not a source, model, seed or snapshot" in caplog.text


def test_sql_sqlglot_cannot_parse_falls_back_to_relations(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manifest = _manifest("select a from db.raw.t where (((", {"a": {"name": "a"}})
    clear_cache()
    with caplog.at_level(logging.WARNING, "governance.lineage.columns"):
        found = resolve_column_lineage(manifest, X)
    assert found == {"a": [UpstreamField(T, "", ()), UpstreamField(U, "", ())]}
    assert "sqlglot could not analyse" in caplog.text


def test_errors_name_the_problem() -> None:
    clear_cache()
    with pytest.raises(ColumnLineageError, match=r"model\.p\.nope.*not a node"):
        resolve_column_lineage(_manifest("select 1 as one"), "model.p.nope")
    with pytest.raises(ColumnLineageError, match=r"no compiled SQL.*dbt compile"):
        resolve_column_lineage(_manifest(None), X)
    with pytest.raises(ColumnLineageError, match="unknown SQL dialect 'nosql'"):
        resolve_column_lineage(_manifest("select 1 as one"), X, dialect="nosql")


def test_column_graph_skips_nodes_without_sql() -> None:
    clear_cache()
    assert column_graph(_manifest(None)) == {}


# --------------------------------------------------------------------------
# The real project


@pytest.fixture(scope="session")
def artifacts(duckdb_build: dict[str, Path]) -> tuple[dict, dict]:
    """Manifest and catalog of ``diamond run`` + ``diamond docs`` on DuckDB."""
    target = duckdb_build["target"]
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    return manifest, catalog


@pytest.fixture(scope="session")
def graph(artifacts: tuple[dict, dict]) -> dict:
    manifest, catalog = artifacts
    clear_cache()
    started = time.perf_counter()
    found = column_graph(manifest, catalog, "duckdb")
    elapsed = time.perf_counter() - started
    print(f"column_graph: {len(found)} columns in {elapsed:.2f}s")
    # About 1.5 s on a loaded two-core machine; the bound leaves headroom.
    assert elapsed < 6
    return found


def _catalog_columns(catalog: dict, unique_id: str) -> set[str]:
    entry = catalog["nodes"].get(unique_id) or catalog["sources"][unique_id]
    return {name.lower() for name in entry["columns"]}


def test_every_model_resolves_to_real_relation_columns(
    artifacts: tuple[dict, dict], graph: dict
) -> None:
    manifest, catalog = artifacts
    models = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    ]
    assert len(models) >= 60
    for uid in models:
        resolved = {column for node_id, column in graph if node_id == uid}
        assert resolved == _catalog_columns(catalog, uid), uid
    relations = {**manifest["nodes"], **manifest["sources"]}
    for (uid, column), upstream in graph.items():
        for field in upstream:
            assert field.column, (uid, column, field)
            assert relations[field.unique_id]["resource_type"] in {"source", "model"}
            # A real column of the upstream relation, never a CTE alias.
            assert field.column in _catalog_columns(catalog, field.unique_id), (
                uid,
                column,
                field,
            )
            assert field.transformations


def test_every_analysis_resolves(artifacts: tuple[dict, dict]) -> None:
    manifest, catalog = artifacts
    analyses = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "analysis" and node.get("compiled_code")
    ]
    for uid in analyses:
        resolved = resolve_column_lineage(manifest, uid, catalog)
        assert resolved, uid
        assert all(f.column for fields in resolved.values() for f in fields), uid


def test_birth_date_is_computed_from_birth_parts(graph: dict) -> None:
    upstream = _summary(graph[("model.diamond.stg_lahman__people", "birth_date")])
    people = "source.diamond.lahman.people"
    assert set(upstream) == {
        (people, "birth_year"),
        (people, "birth_month"),
        (people, "birth_day"),
    }
    # The date is generalised to its month by the column's masking policy.
    for kinds in upstream.values():
        assert ("DIRECT", "TRANSFORMATION", True) in kinds
        assert ("INDIRECT", "CONDITIONAL", False) in kinds


def test_home_runs_trace_to_batting_sources_as_aggregation(graph: dict) -> None:
    fct = "model.diamond.fct_batting_seasons"
    direct = _summary(graph[(fct, "home_runs")])
    assert direct == {
        ("model.diamond.int_batting_seasons_aggregated", "home_runs"): {
            ("DIRECT", "IDENTITY", False)
        }
    }
    traced = _summary(trace_to_sources(graph, fct, "home_runs"))
    assert traced == {
        ("source.diamond.lahman.batting", "hr"): {("DIRECT", "AGGREGATION", False)},
        ("source.diamond.lahman.batting_post", "hr"): {
            ("DIRECT", "AGGREGATION", False)
        },
    }


def test_dim_players_reads_staging_people(graph: dict) -> None:
    staging = "model.diamond.stg_lahman__people"
    for column in ("first_name", "last_name", "birth_date", "debut_date"):
        upstream = graph[("model.diamond.dim_players", column)]
        assert {f.unique_id for f in upstream} == {staging}, column
        assert {f.column for f in upstream} == {column}, column


def test_dataset_lineage_of_real_models(artifacts: tuple[dict, dict]) -> None:
    manifest, catalog = artifacts
    found = dataset_graph(manifest, catalog, "duckdb")
    seasons = _summary(found["model.diamond.fct_batting_seasons"])
    league = "model.diamond.int_league_seasons_aggregated"
    assert ("INDIRECT", "JOIN", False) in seasons[(league, "season")]
    assert ("INDIRECT", "JOIN", False) in seasons[(league, "league_id")]
    aggregated = _summary(found["model.diamond.int_batting_seasons_aggregated"])
    assert any(
        ("INDIRECT", "GROUP_BY", False) in kinds for kinds in aggregated.values()
    )


def test_graph_is_cached_and_other_sources_of_schema_agree(
    artifacts: tuple[dict, dict], graph: dict
) -> None:
    manifest, catalog = artifacts
    assert column_graph(manifest, catalog, "duckdb") is graph
    # Without a catalog the documented columns give the same lineage.
    assert column_graph(manifest, None, "duckdb") == graph
    for dialect in ("postgres", "athena"):
        other = column_graph(manifest, catalog, dialect)
        assert set(other) == set(graph)
        assert all(f.column for fields in other.values() for f in fields)
