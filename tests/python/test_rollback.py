"""Rolling the model back between two versions that were really trained.

The first version is the one the Postgres `diamond run` trained. The second
is trained here by `diamond ml train --target postgres` with another random
seed, which changes the version (the seed is one of the training
parameters it hashes). Everything happens in a copy of the run's Postgres
database (``create database ... template``), with a copy of the run's
audit log and a control file, model folder and target folder of its own,
so the suites that read the run's warehouse afterwards see it as the run
left it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.errors
import pytest
from conftest import ROOT, run_diamond
from psycopg2 import sql

from governance.audit import AuditLog, verify

TRAINING_NODE = "model.diamond.ml_training_runs"
KEY = ["player_id", "target_season"]


def _connect(env: dict[str, str], database: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(
        host=env.get("PGHOST", "127.0.0.1"),
        port=env.get("PGPORT", "5432"),
        user=env.get("PGUSER", "postgres"),
        password=env.get("PGPASSWORD"),
        dbname=database,
    )


def _admin(env: dict[str, str]) -> psycopg2.extensions.connection:
    con = _connect(env, "postgres")
    con.autocommit = True
    return con


def _frame(env: dict[str, str], query: str) -> pd.DataFrame:
    con = _connect(env, env["PGDATABASE"])
    try:
        with con.cursor() as cur:
            cur.execute(query)
            columns = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)
    finally:
        con.close()


def _copy_database(env: dict[str, str], source: str, copy: str) -> None:
    """``create database copy template source``, which Postgres refuses
    while another session is connected to the source: an earlier suite's
    connection may take a moment to close."""
    statement = sql.SQL("create database {} template {}").format(
        sql.Identifier(copy), sql.Identifier(source)
    )
    admin = _admin(env)
    try:
        with admin.cursor() as cur:
            for attempt in range(30):
                try:
                    cur.execute(statement)
                    return
                except psycopg2.errors.ObjectInUse:
                    if attempt == 29:
                        raise
                    time.sleep(1)
    finally:
        admin.close()


def _reseeded_manifest(source: Path, dest: Path) -> int:
    """The run's manifest with the training seed moved on by one; returns
    the new seed."""
    manifest = json.loads(source.read_text())
    node = (
        manifest["nodes"].get(TRAINING_NODE) or manifest["disabled"][TRAINING_NODE][0]
    )
    settings = node["config"]["ml_settings"]
    settings["random_seed"] = int(settings["random_seed"]) + 1
    dest.write_text(json.dumps(manifest))
    return settings["random_seed"]


@pytest.fixture(scope="module")
def trained(
    postgres_built: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A copy of the Postgres run's database in which a second version was
    trained, the environment aimed at it, and both versions."""
    folder = tmp_path_factory.mktemp("rollback")
    source = postgres_built["PGDATABASE"]
    copy = f"{source}_rollback"[:63]
    _copy_database(postgres_built, source, copy)
    target = folder / "target"
    target.mkdir()
    seed = _reseeded_manifest(
        Path(postgres_built["DBT_TARGET_PATH"]) / "manifest.json",
        target / "manifest.json",
    )
    run_log = (
        Path(postgres_built["DIAMOND_DUCKDB_PATH"]).parent / "audit" / "audit.jsonl"
    )
    shutil.copy(run_log, folder / "audit.jsonl")
    env = {
        **postgres_built,
        "PGDATABASE": copy,
        "DBT_TARGET_PATH": str(target),
        "DIAMOND_DUCKDB_PATH": str(folder / "diamond.duckdb"),
        "DIAMOND_AUDIT_LOG": str(folder / "audit.jsonl"),
        "DIAMOND_CONTROLS": str(folder / "controls.json"),
        "DIAMOND_ML_DIR": str(folder / "ml"),
        "DIAMOND_TARGET": "postgres",
        "DIAMOND_ACTOR": "rollback-test",
    }
    env.pop("DIAMOND_RUN_ID", None)
    try:
        before = _frame(env, "select * from ml.ml_training_runs")
        first_predictions = _frame(env, "select * from ml.ml_predictions")
        done = run_diamond(env, "ml", "train", "--target", "postgres")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield {
            "env": env,
            "seed": seed,
            "registry_before": before,
            "first_predictions": first_predictions,
            "registry": _frame(env, "select * from ml.ml_training_runs"),
            "served_after": _frame(
                env, "select distinct model_version from ml.ml_predictions"
            ),
            "train_record": _records(env, "ml.train")[-1],
        }
    finally:
        admin = _admin(postgres_built)
        try:
            with admin.cursor() as cur:
                cur.execute(
                    sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(copy)
                    )
                )
        finally:
            admin.close()


def _served(env: dict[str, str]) -> tuple[str, str]:
    """The version `current_version` serves, read as the model code reads
    it, and the artifact path of that registry row."""
    from ml.train import current_version

    with pytest.MonkeyPatch.context() as patch:
        for name in ("DIAMOND_CONTROLS", "DIAMOND_TARGET"):
            patch.setenv(name, env[name])
        entry = current_version(_frame(env, "select * from ml.ml_training_runs"))
    return str(entry["model_version"]), str(entry["artifact_path"])


def _dashboard_version(env: dict[str, str]) -> str:
    """The version the dashboard's Model page names and reads."""
    with pytest.MonkeyPatch.context() as patch:
        # The dashboard is a Streamlit script folder, not an installed package.
        patch.syspath_prepend(str(ROOT))
        for name in ("DIAMOND_CONTROLS", "DIAMOND_TARGET", "PGDATABASE"):
            patch.setenv(name, env[name])
        from app import data

        return data.model_version()


def _records(env: dict[str, str], action: str) -> list:
    log = AuditLog(Path(env["DIAMOND_AUDIT_LOG"]))
    return [r for r in log.records() if r.action == action]


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def _first_and_second(trained: dict[str, Any]) -> tuple[str, str]:
    """The version the run trained and the one trained here, each the
    newest of its registry."""
    before = trained["registry_before"].sort_values("trained_at", kind="stable")
    after = trained["registry"].sort_values("trained_at", kind="stable")
    return before["model_version"].iloc[-1], after["model_version"].iloc[-1]


def test_the_second_training_is_another_version(trained: dict[str, Any]) -> None:
    first, second = _first_and_second(trained)
    before = set(trained["registry_before"]["model_version"])
    registry = trained["registry"]
    assert second not in before
    assert set(registry["model_version"]) == before | {second}
    assert len(registry) == len(before) + 1
    seeds = {
        row.model_version: json.loads(row.parameters)["random_state"]
        for row in registry.itertuples()
    }
    assert seeds[second] == trained["seed"] == seeds[first] + 1
    assert list(trained["served_after"]["model_version"]) == [second]
    assert trained["train_record"].subject == second
    assert trained["train_record"].target == "postgres"


def test_rollback_to_the_first_version_and_back(trained: dict[str, Any]) -> None:
    env = trained["env"]
    first, second = _first_and_second(trained)
    assert _served(env)[0] == second

    done = run_diamond(
        env,
        *("ml", "rollback", "--to", first, "--target", "postgres"),
        *("--reason", "second version under review"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"model in service on postgres: {first} (was {second})" in done.stderr
    served, artifact = _served(env)
    assert served == first
    before = trained["registry_before"]
    first_row = before[before["model_version"] == first].iloc[-1]
    assert artifact == first_row["artifact_path"]
    rolled = _records(env, "ml.rollback")[-1]
    assert rolled.target == "postgres"
    assert rolled.subject == first
    assert rolled.details["from_version"] == second
    assert rolled.details["to_version"] == first
    assert rolled.actor == "rollback-test"
    status = run_diamond(env, "governance", "status", "--target", "postgres")
    assert f"model on postgres: {first} (pinned by rollback-test" in status.stdout

    # The next training scores with the pinned version: the predictions
    # the dashboard reads are the first version's again, value for value.
    done = run_diamond(env, "ml", "train", "--target", "postgres")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    predictions = _by_key(_frame(env, "select * from ml.ml_predictions"))
    assert set(predictions["model_version"]) == {first}
    assert _dashboard_version(env) == first
    original = _by_key(trained["first_predictions"])
    assert list(predictions[KEY].itertuples(index=False)) == list(
        original[KEY].itertuples(index=False)
    )
    np.testing.assert_allclose(
        predictions["predicted_ops"].astype(float),
        original["predicted_ops"].astype(float),
        rtol=0,
        atol=1e-9,
    )
    retrained = _records(env, "ml.train")[-1]
    assert retrained.subject == first
    assert retrained.details["artifact_sha256"] == first_row["artifact_sha256"]
    shown = run_diamond(env, "ml", "show", "--target", "postgres")
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert f"current model: {first} " in shown.stdout
    assert f"model file: {first_row['artifact_path']} " in shown.stdout
    assert f"{'test':<11} {'model':<12}" in shown.stdout
    cards = _frame(env, "select model_version from ml.ml_model_cards")
    assert {first, second} <= set(cards["model_version"])

    done = run_diamond(env, "ml", "rollback", "--latest", "--target", "postgres")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"unpinned {first} on postgres; {second} serves" in done.stderr
    assert _served(env)[0] == second
    assert _dashboard_version(env) == second
    shown = run_diamond(env, "ml", "show", "--target", "postgres")
    assert f"current model: {second} " in shown.stdout
    assert [r.subject for r in _records(env, "ml.unpin")] == [first]
    assert json.loads(Path(env["DIAMOND_CONTROLS"]).read_text())["model_pins"] == {}
    assert verify(Path(env["DIAMOND_AUDIT_LOG"])).ok
