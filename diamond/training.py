"""``diamond ml train``: train the next-season model on any warehouse.

On DuckDB and Athena the model is trained by dbt Python models, so this
runs ``dbt build`` over ``models/marts/ml``. dbt-postgres runs no Python
models; there the same ``ml`` steps run here, reading the SQL relations
dbt built and writing the Python models' relations into the ``ml`` schema
with the same names and columns. Either way the run is recorded in the
audit log and as a ``diamond.ml.train`` lineage job whose outputs include
the fitted model file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from diamond.errors import DiamondError
from diamond.settings import PostgresSettings, check_target, project_dir

log = logging.getLogger(__name__)

ML_SCHEMA = "ml"
SELECTOR = "marts.ml"
TRAINING_NODE = "model.diamond.ml_training_runs"
INPUTS = ("ml_next_season_features", "ml_marcel_projections")
#: Roles that read the ml relations on Postgres, as for the other marts.
READERS = ("diamond_analyst", "diamond_ml_engineer", "diamond_privacy_officer")


@dataclass
class TrainingOutcome:
    target: str
    version: str
    artifact_path: str
    artifact_sha256: str
    test_mae: float
    marcel_test_mae: float
    seconds: float


def _target_dir() -> Path:
    raw = os.environ.get("DBT_TARGET_PATH")
    path = Path(raw) if raw else project_dir() / "target"
    return path if path.is_absolute() else project_dir() / path


def ml_settings(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The rendered ``ml_settings`` config of the training model, enabled or
    (on Postgres) disabled, from a parsed manifest."""
    node = manifest.get("nodes", {}).get(TRAINING_NODE)
    if node is None:
        disabled = manifest.get("disabled", {}).get(TRAINING_NODE) or []
        node = disabled[0] if disabled else None
    if node is None:
        msg = (
            f"the dbt manifest has no {TRAINING_NODE}: run `diamond build` on "
            "this target first so the manifest describes the ml models"
        )
        raise DiamondError(msg)
    return node.get("config", {}).get("ml_settings") or {}


# --------------------------------------------------------------------------
# Postgres: the ml steps outside dbt
# --------------------------------------------------------------------------

_PG_TYPES = {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double precision"}


def _pg_type(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    return _PG_TYPES.get(series.dtype.kind, "varchar")


def _read(cur, relation: str) -> pd.DataFrame:
    cur.execute(f"select * from {ML_SCHEMA}.{relation}")
    columns = [d.name for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def _exists(cur, relation: str) -> bool:
    cur.execute(
        "select 1 from information_schema.tables "
        "where table_schema = %s and table_name = %s",
        (ML_SCHEMA, relation),
    )
    return cur.fetchone() is not None


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _write(cur, relation: str, frame: pd.DataFrame) -> None:
    """Replace ``ml.<relation>`` with ``frame``; the caller's transaction
    makes the swap of every relation of a run all or nothing."""
    from psycopg2 import sql
    from psycopg2.extras import execute_values

    staging = f"{relation}__new"
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_pg_type(frame[name])))
        for name in frame.columns
    )
    cur.execute(
        sql.SQL("drop table if exists {}.{}").format(
            sql.Identifier(ML_SCHEMA), sql.Identifier(staging)
        )
    )
    cur.execute(
        sql.SQL("create table {}.{} ({})").format(
            sql.Identifier(ML_SCHEMA), sql.Identifier(staging), columns
        )
    )
    rows = [tuple(_clean(v) for v in row) for row in frame.itertuples(index=False)]
    execute_values(
        cur,
        sql.SQL("insert into {}.{} values %s")
        .format(sql.Identifier(ML_SCHEMA), sql.Identifier(staging))
        .as_string(cur),
        rows,
        page_size=2000,
    )
    cur.execute(
        sql.SQL("drop table if exists {}.{}").format(
            sql.Identifier(ML_SCHEMA), sql.Identifier(relation)
        )
    )
    cur.execute(
        sql.SQL("alter table {}.{} rename to {}").format(
            sql.Identifier(ML_SCHEMA), sql.Identifier(staging), sql.Identifier(relation)
        )
    )
    cur.execute(
        sql.SQL("grant select on {}.{} to {}").format(
            sql.Identifier(ML_SCHEMA),
            sql.Identifier(relation),
            sql.SQL(", ").join(sql.Identifier(r) for r in READERS),
        )
    )


def train_postgres(settings_config: Mapping[str, Any]) -> Mapping[str, pd.DataFrame]:
    """Run every ml step against Postgres and write its relations."""
    import psycopg2

    from ml import steps
    from ml.relations import RELATIONS
    from ml.settings import Settings

    settings = Settings.from_config(settings_config)
    pg = PostgresSettings.from_env()
    try:
        con = psycopg2.connect(pg.dsn())
    except psycopg2.OperationalError as exc:
        msg = f"cannot connect to Postgres ({pg.dsn()}): {exc}".strip()
        raise DiamondError(msg) from exc
    try:
        with con.cursor() as cur:
            for relation in INPUTS:
                if not _exists(cur, relation):
                    msg = (
                        f"{ML_SCHEMA}.{relation} does not exist on Postgres "
                        f"({pg.database}): run `diamond build --target postgres` "
                        "first"
                    )
                    raise DiamondError(msg)
            features = _read(cur, "ml_next_season_features")
            marcel = _read(cur, "ml_marcel_projections")
            registry = (
                _read(cur, "ml_training_runs")
                if _exists(cur, "ml_training_runs")
                else None
            )
            cards = (
                _read(cur, "ml_model_cards") if _exists(cur, "ml_model_cards") else None
            )
        out = steps.run_all(features, marcel, settings, registry, cards)
        with con.cursor() as cur:
            for relation in RELATIONS:
                _write(cur, relation, out[relation])
        con.commit()
    finally:
        con.close()
    return out


# --------------------------------------------------------------------------
# Any target
# --------------------------------------------------------------------------


def _current(target: str) -> tuple[pd.Series, pd.DataFrame]:
    """The current registry row and the metrics, read back from the
    warehouse after training."""
    from diamond.warehouse import connect

    target = check_target(target)
    with connect(target) as con:
        if target == "duckdb":
            registry = con.execute(f"select * from {ML_SCHEMA}.ml_training_runs").df()
            metrics = con.execute(f"select * from {ML_SCHEMA}.ml_metrics").df()
            cards = con.execute(f"select * from {ML_SCHEMA}.ml_model_cards").df()
        else:
            with con.cursor() as cur:
                registry = _read(cur, "ml_training_runs")
                metrics = _read(cur, "ml_metrics")
                cards = _read(cur, "ml_model_cards")
    from ml.train import current_version

    entry = current_version(registry)
    card = cards[cards["model_version"] == entry["model_version"]]
    entry = entry.copy()
    entry["model_card_path"] = card["markdown_path"].iloc[0] if len(card) else None
    entry["model_card_sha256"] = card["markdown_sha256"].iloc[0] if len(card) else None
    return entry, metrics[metrics["model_version"] == entry["model_version"]]


def record_training(
    target: str, started: datetime, error: str | None = None
) -> TrainingOutcome | None:
    """Audit record and lineage of one training run, done or failed."""
    from diamond.cli import _audit  # one audit helper for every command
    from governance.lineage.emit import emit_step
    from governance.lineage.naming import file_dataset, table_dataset
    from governance.lineage.steps import StepDataset, StepRun

    finished = datetime.now(UTC)
    inputs = [StepDataset(table_dataset(r, ML_SCHEMA, target)) for r in INPUTS]
    if error:
        emit_step(
            StepRun(
                job="diamond.ml.train",
                job_type="TRAINING",
                description="Trains the next-season OPS model.",
                started_at=started,
                finished_at=finished,
                inputs=inputs,
                error=error,
                identity=target,
            )
        )
        _audit("ml.train.fail", target, details={"error": error})
        return None
    if target == "athena":
        _audit("ml.train", target, details={"engine": "dbt python models (spark)"})
        return None
    from ml.relations import RELATIONS

    entry, metrics = _current(target)
    test = metrics[metrics["split"] == "test"].set_index("predictor")["mae"]
    outputs = [StepDataset(table_dataset(r, ML_SCHEMA, target)) for r in RELATIONS]
    outputs.append(
        StepDataset(
            file_dataset(entry["artifact_path"]),
            version=entry["artifact_sha256"],
            kind="FILE",
        )
    )
    if entry["model_card_path"]:
        # The assistant indexes the card, so lineage runs on from here.
        outputs.append(
            StepDataset(
                file_dataset(entry["model_card_path"]),
                version=entry["model_card_sha256"],
                kind="FILE",
            )
        )
    emit_step(
        StepRun(
            job="diamond.ml.train",
            job_type="TRAINING",
            description=(
                "Trains the next-season OPS model on the train split, scores "
                "it against Marcel, explains it and audits it for fairness; "
                "outputs the ml relations, the fitted model file and the "
                "model card."
            ),
            started_at=started,
            finished_at=finished,
            inputs=inputs,
            outputs=outputs,
            identity=f"{target}:{entry['model_version']}",
        )
    )
    details = {
        "model_version": entry["model_version"],
        "artifact_sha256": entry["artifact_sha256"],
        "training_data_fingerprint": entry["training_data_fingerprint"],
        "code_hash": entry["code_hash"],
        "test_mae": round(float(test["model"]), 6),
        "marcel_test_mae": round(float(test["marcel"]), 6),
        "features": json.loads(entry["features"]),
    }
    _audit("ml.train", target, subject=entry["model_version"], details=details)
    return TrainingOutcome(
        target=target,
        version=entry["model_version"],
        artifact_path=entry["artifact_path"],
        artifact_sha256=entry["artifact_sha256"],
        test_mae=float(test["model"]),
        marcel_test_mae=float(test["marcel"]),
        seconds=(finished - started).total_seconds(),
    )


def train(target: str | None = None, *, build: bool = True) -> TrainingOutcome | None:
    """Train on ``target``; ``build=False`` only records a training that
    ``dbt build`` already did (the step of ``diamond run`` on DuckDB)."""
    from diamond.dbt import read_manifest, run_dbt

    target = check_target(target)
    # The ml package files its artifacts under the target it runs for, as it
    # does inside dbt, which sets the same variable.
    os.environ["DIAMOND_TARGET"] = target
    started = datetime.now(UTC)
    began = time.perf_counter()
    try:
        if target == "postgres":
            manifest = read_manifest(
                _target_dir(), hint="`diamond build --target postgres`"
            )
            train_postgres(ml_settings(manifest))
        elif build:
            run_dbt(["build", "--select", SELECTOR], target)
    except DiamondError as exc:
        record_training(target, started, error=str(exc))
        raise
    log.info("training on %s took %.1fs", target, time.perf_counter() - began)
    return record_training(target, started)
