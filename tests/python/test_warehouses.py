"""End to end: `diamond run` on DuckDB and on Postgres, then compare them.

Each warehouse is built once per session in a scratch location (a DuckDB
file under pytest's temp folder, a throwaway Postgres database) through the
real command line, exactly as a user runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import duckdb
import psycopg2
from conftest import run_diamond, serve_docs

MART_SCHEMA = "marts"
#: The model's relations: SQL features and baselines, and on Postgres the
#: outputs `diamond ml train` writes where DuckDB runs Python models.
ML_SCHEMA = "ml"
_diamond = run_diamond


def _tail(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr)[-4000:]


def test_run_builds_every_model_on_duckdb(duckdb_run) -> None:
    assert duckdb_run.returncode == 0, _tail(duckdb_run)
    assert re.search(r"step 2/\d+: dbt build", duckdb_run.stderr)


def test_run_parses_and_embeds_ahead_of_the_steps_needing_it(duckdb_run) -> None:
    assert duckdb_run.returncode == 0, _tail(duckdb_run)
    output = duckdb_run.stdout + duckdb_run.stderr
    # The build reads the parse made beside the ingest rather than its own.
    assert "Found " in output
    assert "Unable to do partial parsing" not in output
    built = re.search(r"assistant index: (\d+) chunks \((\d+) embedded", output)
    assert built, _tail(duckdb_run)
    chunks, embedded = (int(n) for n in built.groups())
    # Embedded during the build; left are the model cards the build wrote.
    assert 0 < embedded < chunks / 10


def test_run_leaves_its_own_last_record_in_the_mirror(duckdb_run, scratch) -> None:
    assert duckdb_run.returncode == 0, _tail(duckdb_run)
    run_id = re.search(r"run id ([0-9a-f-]{36})", duckdb_run.stderr).group(1)
    with duckdb.connect(scratch["DIAMOND_DUCKDB_PATH"], read_only=True) as con:
        actions = con.execute(
            "select action from governance.audit_log where run_id = ? order by seq",
            [run_id],
        ).fetchall()
    assert actions[0] == ("pipeline.start",)
    assert actions[-1] == ("pipeline.complete",)


def test_run_builds_every_model_on_postgres(postgres_run) -> None:
    assert postgres_run.returncode == 0, _tail(postgres_run)


def _duckdb_marts(env: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Columns of every relation in the marts and ml schemas, by
    ``schema.table``."""
    with duckdb.connect(env["DIAMOND_DUCKDB_PATH"], read_only=True) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name, data_type "
            "from information_schema.columns where table_schema in (?, ?) "
            "order by table_schema, table_name, ordinal_position",
            [MART_SCHEMA, ML_SCHEMA],
        ).fetchall()
    marts: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        marts.setdefault(table, []).append((column, data_type))
    return marts


_NUMERIC = ("INTEGER", "BIGINT", "DOUBLE", "HUGEINT", "SMALLINT", "DECIMAL")


def _fingerprint_sql(table: str, columns: list[tuple[str, str]]) -> str:
    """Row count plus, per numeric column, its sum and non-null count."""
    parts = ["count(*)"]
    for column, data_type in columns:
        if data_type.upper().startswith(_NUMERIC):
            parts.append(f'sum(cast("{column}" as double precision))')
            parts.append(f'count("{column}")')
        else:
            parts.append(f'count("{column}")')
    return f"select {', '.join(parts)} from {table}"


def test_marts_match_across_duckdb_and_postgres(
    scratch, duckdb_run, postgres_run
) -> None:
    assert duckdb_run.returncode == 0 and postgres_run.returncode == 0
    marts = _duckdb_marts(scratch)
    assert len(marts) >= 20, (
        f"expected the marts and ml relations, found {sorted(marts)}"
    )
    assert "ml.ml_predictions" in marts
    pg = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname=scratch["PGDATABASE"],
    )
    mismatches = []
    with duckdb.connect(scratch["DIAMOND_DUCKDB_PATH"], read_only=True) as duck:
        for table, columns in sorted(marts.items()):
            sql = _fingerprint_sql(table, columns)
            left = duck.execute(sql).fetchone()
            with pg.cursor() as cur:
                cur.execute(sql)
                right = cur.fetchone()
            for index, (a, b) in enumerate(zip(left, right, strict=True)):
                if a is None or b is None:
                    same = a is None and b is None
                else:
                    same = abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
                if not same:
                    mismatches.append(f"{table} aggregate {index}: {a} vs {b}")
    pg.close()
    assert not mismatches, "\n".join(mismatches[:20])


def _manifest(env: dict[str, str]) -> dict:
    path = Path(env["DBT_TARGET_PATH"]).with_name("target-duckdb") / "manifest.json"
    if not path.exists():
        path = Path(env["DBT_TARGET_PATH"]) / "manifest.json"
    return json.loads(path.read_text())


def test_every_model_and_column_is_documented(scratch, postgres_run) -> None:
    manifest = _manifest(scratch)
    missing = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        if not node["description"].strip():
            missing.append(node["name"])
        missing += [
            f"{node['name']}.{name}"
            for name, column in node["columns"].items()
            if not column["description"].strip()
        ]
    assert not missing, f"undocumented: {missing[:30]}"


def test_public_marts_have_enforced_contracts(scratch, postgres_run) -> None:
    manifest = _manifest(scratch)
    marts = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == MART_SCHEMA
    ]
    assert marts
    problems = []
    for node in marts:
        if not node["contract"]["enforced"]:
            problems.append(f"{node['name']}: contract not enforced")
        if node["access"] != "public":
            problems.append(f"{node['name']}: access is {node['access']}")
        if not node.get("group"):
            problems.append(f"{node['name']}: no owning group")
        problems += [
            f"{node['name']}.{name}: no data_type"
            for name, column in node["columns"].items()
            if not column.get("data_type")
        ]
    assert not problems, problems[:30]


def _key_tests(manifest: dict) -> dict[str, set[str]]:
    """Model unique id -> names of the key tests attached to it."""
    tests: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        name = (node.get("test_metadata") or {}).get("name")
        if name in ("unique", "not_null", "unique_combination_of_columns"):
            attached = node.get("attached_node") or node["depends_on"]["nodes"][0]
            tests.setdefault(attached, set()).add(name)
    return tests


def test_every_model_has_a_tested_primary_key(scratch, postgres_run) -> None:
    manifest = _manifest(scratch)
    tests = _key_tests(manifest)
    untested = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        found = tests.get(unique_id, set())
        has_key = (
            "unique_combination_of_columns" in found
            or {
                "unique",
                "not_null",
            }
            <= found
        )
        if not has_key:
            untested.append(node["name"])
    assert not untested, f"models without a tested primary key: {untested}"


def test_docs_generate_and_serve(scratch, duckdb_run) -> None:
    assert duckdb_run.returncode == 0
    docs_target = Path(scratch["DBT_TARGET_PATH"]).with_name("docs")
    env = {**scratch, "DBT_TARGET_PATH": str(docs_target)}
    generated = _diamond(env, "docs", "--target", "duckdb")
    assert generated.returncode == 0, _tail(generated)
    docs = Path(env["DBT_TARGET_PATH"])
    catalog = json.loads((docs / "catalog.json").read_text())
    assert any(k.startswith("model.diamond.fct_") for k in catalog["nodes"])
    with serve_docs(env) as site:
        with urllib.request.urlopen(f"{site}/") as reply:
            page = reply.read().decode()
        assert "dbt" in page.lower()
        with urllib.request.urlopen(f"{site}/manifest.json") as reply:
            served = json.loads(reply.read())
        assert "model.diamond.dim_players" in served["nodes"]


def test_second_run_leaves_raw_data_unchanged(scratch, duckdb_run) -> None:
    assert duckdb_run.returncode == 0
    again = _diamond(scratch, "ingest", "--target", "duckdb")
    assert again.returncode == 0, _tail(again)
    assert "nothing to do" in again.stderr


def test_run_names_the_failing_step(scratch, tmp_path) -> None:
    result = _diamond(
        scratch, "run", "--target", "duckdb", "--source", str(tmp_path / "nope.zip")
    )
    assert result.returncode == 1
    assert re.search(r"step 1/\d+ \(ingest\) failed", result.stderr)
    assert "nope.zip" in result.stderr


def _compiled_analyses(env: dict[str, str], target: str) -> dict[str, str]:
    """Compile the analyses for one target and return their SQL by name."""
    folder = Path(env["DBT_TARGET_PATH"]).with_name(f"analyses-{target}")
    compiled_env = {**env, "DBT_TARGET_PATH": str(folder)}
    result = _diamond(
        compiled_env,
        "dbt",
        "--target",
        target,
        "--",
        "compile",
        "--select",
        "resource_type:analysis",
    )
    assert result.returncode == 0, _tail(result)
    root = folder / "compiled" / "diamond" / "analyses"
    return {p.stem: p.read_text() for p in sorted(root.rglob("*.sql"))}


def test_analyses_answer_the_same_on_both_warehouses(
    scratch, duckdb_run, postgres_run
) -> None:
    assert duckdb_run.returncode == 0 and postgres_run.returncode == 0
    on_duckdb = _compiled_analyses(scratch, "duckdb")
    on_postgres = _compiled_analyses(scratch, "postgres")
    assert len(on_duckdb) >= 12, sorted(on_duckdb)
    assert sorted(on_duckdb) == sorted(on_postgres)
    pg = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname=scratch["PGDATABASE"],
    )
    problems = []
    with duckdb.connect(scratch["DIAMOND_DUCKDB_PATH"], read_only=True) as duck:
        for name, sql in on_duckdb.items():
            assert sql.lstrip().lower().startswith("-- question:"), name
            left = duck.execute(sql).fetchall()
            with pg.cursor() as cur:
                cur.execute(on_postgres[name])
                right = cur.fetchall()
            if not left:
                problems.append(f"{name}: no rows")
            elif len(left) != len(right):
                problems.append(f"{name}: {len(left)} rows vs {len(right)}")
    pg.close()
    assert not problems, problems


def test_dbt_sources_describe_exactly_the_raw_contract(scratch, postgres_run) -> None:
    from diamond.lahman import TABLES

    manifest = _manifest(scratch)
    sources = {
        node["name"]: node
        for node in manifest["sources"].values()
        if node["source_name"] == "lahman"
    }
    assert sorted(sources) == sorted(t.name for t in TABLES)
    for spec in TABLES:
        documented = list(sources[spec.name]["columns"])
        assert documented == list(spec.column_names), spec.name
        assert sources[spec.name]["description"].strip(), spec.name
