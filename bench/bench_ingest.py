"""Benchmark ingest and the main job against the obvious alternatives.

Prints one Markdown table, measured in a single run on the same input:

* full ``diamond ingest`` per target, next to ``dbt seed`` of the same CSV
  files (all 27 on DuckDB; Batting alone on Postgres, where a full seed
  takes many minutes), with the ratio;
* DuckDB's own CSV reader on the files ``dbt seed`` loads, with nothing
  else in the process, types sniffed and types given: the floor any DuckDB
  ingest here stands on;
* ``dbt build`` on DuckDB, and the whole ``diamond run`` from an empty
  DuckDB file.

Every command runs as a user would run it (a fresh process), against
scratch warehouses, so the numbers include interpreter and dbt start-up.

    python bench/bench_ingest.py            # everything (about 10 minutes)
    python bench/bench_ingest.py --quick    # skip the Postgres dbt seed
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import psycopg2

from diamond.lahman import TABLES_BY_NAME, WAREHOUSE_TYPES
from diamond.source import packaged_release

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    """Run a command to completion and return its wall time in seconds."""
    began = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        msg = f"benchmark step failed: {' '.join(cmd)}"
        raise SystemExit(msg)
    return elapsed


def seed_project(folder: Path, tables: list[str], target: str) -> Path:
    """A minimal dbt project whose seeds are the release's CSV files.

    Each seed gets the contract's column types: left to infer them, dbt
    seed guesses some columns wrong (a notes column read as integers) and
    fails on the real release.
    """
    project = folder / "seed_project"
    seeds = project / "seeds"
    seeds.mkdir(parents=True)
    with zipfile.ZipFile(packaged_release()) as archive:
        for member in archive.namelist():
            name = Path(member).name
            for table in tables:
                if "/core/" in member and name == TABLES_BY_NAME[table].file:
                    (seeds / f"{table}.csv").write_bytes(archive.read(member))
    types = WAREHOUSE_TYPES["postgres" if target == "postgres" else "duckdb"]
    config = {
        "name": "seed_bench",
        "version": "1.0",
        "config-version": 2,
        "profile": "diamond",
        "seed-paths": ["seeds"],
        "seeds": {
            "seed_bench": {
                table: {
                    "+column_types": {
                        c.header: types[c.type] for c in TABLES_BY_NAME[table].columns
                    }
                }
                for table in tables
            }
        },
    }
    (project / "dbt_project.yml").write_text(json.dumps(config, indent=2))
    return project


def seed_types(project: Path) -> Path:
    """Write the column types the seed project gives dbt seed, per file stem."""
    config = json.loads((project / "dbt_project.yml").read_text())
    seeds = config["seeds"]["seed_bench"]
    types = {table: spec["+column_types"] for table, spec in seeds.items()}
    path = project / "column_types.json"
    path.write_text(json.dumps(types))
    return path


def drop_database(name: str) -> None:
    con = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
    )
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"drop database if exists {name} with (force)")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="skip the slow Postgres dbt seed"
    )
    args = parser.parse_args()
    diamond = str(BIN / "diamond")
    dbt = str(BIN / "dbt")
    rows: list[tuple[str, float, str, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="diamond-bench-") as tmp:
        folder = Path(tmp)
        pg_db = f"diamond_bench_{uuid.uuid4().hex[:6]}"
        env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(ROOT),
            "DIAMOND_DUCKDB_PATH": str(folder / "ingest.duckdb"),
            "PGDATABASE": pg_db,
            "DBT_TARGET_PATH": str(folder / "target"),
            "DBT_LOG_PATH": str(folder / "logs"),
            # An empty cache: the first ingest runs every great_expectations
            # check and generates the synthetic tables, later ones reuse the
            # verdict and the tables for the same release and settings.
            "DIAMOND_CACHE_DIR": str(folder / "cache"),
        }
        try:
            ingest_duck = timed([diamond, "ingest", "--target", "duckdb"], env)
            warm_env = {**env, "DIAMOND_DUCKDB_PATH": str(folder / "warm.duckdb")}
            warm_duck = timed([diamond, "ingest", "--target", "duckdb"], warm_env)
            project = seed_project(folder, list(TABLES_BY_NAME), "duckdb")
            seed_env = {**env, "DIAMOND_DUCKDB_PATH": str(folder / "seed.duckdb")}
            seed_duck = timed(
                [dbt, "seed", "--target", "duckdb", "--project-dir", str(project)],
                seed_env,
                cwd=project,
            )
            floor_cmd = [sys.executable, str(ROOT / "bench" / "duckdb_floor.py")]
            floor = timed(
                [*floor_cmd, str(project / "seeds"), str(folder / "floor.duckdb")],
                env,
            )
            typed_floor = timed(
                [
                    *floor_cmd,
                    str(project / "seeds"),
                    str(folder / "typed_floor.duckdb"),
                    str(seed_types(project)),
                ],
                env,
            )
            rows.append(
                (
                    "ingest, 27 tables, DuckDB, validating",
                    ingest_duck,
                    "dbt seed, 27 tables",
                    seed_duck,
                )
            )
            rows.append(
                (
                    "ingest, 27 tables, DuckDB, verdict and synthetic tables reused",
                    warm_duck,
                    "dbt seed, 27 tables",
                    seed_duck,
                )
            )

            rows.append(
                (
                    "DuckDB read_csv alone, 27 tables, types sniffed, no checks",
                    floor,
                    "dbt seed, 27 tables",
                    seed_duck,
                )
            )
            rows.append(
                (
                    "DuckDB read_csv alone, 27 tables, types given, no checks "
                    "(the floor)",
                    typed_floor,
                    "dbt seed, 27 tables",
                    seed_duck,
                )
            )

            ingest_pg = timed([diamond, "ingest", "--target", "postgres"], env)
            rows.append(("ingest, 27 tables, Postgres", ingest_pg, "", None))
            copy_batting = timed(
                [sys.executable, str(ROOT / "bench" / "load_one_table.py"), "batting"],
                env,
            )
            seed_batting = None
            if not args.quick:
                batting = seed_project(folder / "pg", ["batting"], "postgres")
                seed_batting = timed(
                    [
                        dbt,
                        "seed",
                        "--target",
                        "postgres",
                        "--project-dir",
                        str(batting),
                        "--full-refresh",
                    ],
                    env,
                    cwd=batting,
                )
            rows.append(
                (
                    "ingest, Batting only, Postgres (COPY)",
                    copy_batting,
                    "dbt seed, Batting only",
                    seed_batting,
                )
            )

            build = timed([diamond, "build", "--target", "duckdb"], env)
            rows.append(("dbt build, DuckDB", build, "", None))
            run_env = {**env, "DIAMOND_DUCKDB_PATH": str(folder / "run.duckdb")}
            whole = timed([diamond, "run", "--target", "duckdb"], run_env)
            rows.append(("diamond run, empty DuckDB", whole, "", None))
        finally:
            drop_database(pg_db)

    print("| step | seconds | alternative | seconds | speed-up |")
    print("|---|---:|---|---:|---:|")
    for name, ours, other, theirs in rows:
        ratio = f"{theirs / ours:.1f}x" if theirs else ""
        other_s = f"{theirs:.1f}" if theirs else ""
        print(f"| {name} | {ours:.1f} | {other} | {other_s} | {ratio} |")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_ingest.json").write_text(
        json.dumps(
            [
                dict(
                    zip(
                        ("step", "seconds", "alternative", "alternative_seconds"),
                        r,
                        strict=True,
                    )
                )
                for r in rows
            ],
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
