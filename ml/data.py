"""What the model reads: the feature columns, the target and their checks.

The feature mart is a dbt model, so its columns can change without this
code noticing; every step checks its input here first and names the
relation and the column when something is missing, instead of failing deep
inside scikit-learn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ml import ModelError

KEY = ("player_id", "target_season")
TARGET = "target_on_base_plus_slugging"
SPLIT = "split"
LAST_SEASON = "lag1_on_base_plus_slugging"
MARCEL = "marcel_on_base_plus_slugging"

#: Columns of the feature mart the model learns from. Position and league
#: stay in the mart for analysis and drift checks but are not features:
#: their effect moved between eras (the designated hitter, expansion),
#: which a model trained on older seasons would carry forward.
MART_FEATURES = (
    "age",
    "seasons_since_debut",
    "lag1_team_count",
    "lag1_games",
    "lag1_plate_appearances",
    "lag2_plate_appearances",
    "lag3_plate_appearances",
    "lag1_on_base_percentage",
    "lag1_slugging_percentage",
    "lag1_on_base_plus_slugging",
    "lag2_on_base_plus_slugging",
    "lag3_on_base_plus_slugging",
    "lag1_ops_plus",
    "lag2_ops_plus",
    "lag3_ops_plus",
    "lag1_isolated_power",
    "lag1_batting_average_on_balls_in_play",
    "lag1_walk_rate",
    "lag1_strikeout_rate",
    "lag1_home_run_rate",
    "lag1_stolen_bases_per_game",
    "lag1_league_on_base_plus_slugging",
    "lag1_batting_park_factor",
    "lag1_schedule_share",
)

#: Columns the model takes from the Marcel projection of the same row. The
#: model learns how far the outcome lands from Marcel, so it starts from
#: the baseline and only has to learn what Marcel misses.
MARCEL_FEATURES = ("marcel_on_base_plus_slugging", "marcel_reliability")

FEATURES = MART_FEATURES + MARCEL_FEATURES

#: Attributes the fairness audit groups by; none of them is a feature
#: except through age, which every aging curve needs.
ATTRIBUTES = ("birth_region", "bats", "debut_era", "age_band")

REQUIRED_FEATURE_COLUMNS = (*KEY, SPLIT, TARGET, *MART_FEATURES, *ATTRIBUTES)
REQUIRED_MARCEL_COLUMNS = (
    *KEY,
    "projected_on_base_plus_slugging",
    "reliability",
)

SPLITS = ("train", "validation", "test")


def to_pandas(relation: Any) -> pd.DataFrame:
    """A pandas frame from whatever ``dbt.ref`` returned on this adapter.

    dbt-duckdb hands Python models a DuckDB relation, dbt-athena a Spark
    frame; ``diamond ml train`` passes pandas already.
    """
    if isinstance(relation, pd.DataFrame):
        return relation
    for method in ("df", "toPandas", "to_pandas"):
        convert = getattr(relation, method, None)
        if callable(convert):
            return convert()
    msg = f"cannot turn a {type(relation).__name__} into a pandas frame"
    raise ModelError(msg)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], relation: str) -> None:
    """Fail with the missing column names when ``frame`` lacks any of them."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        msg = (
            f"{relation} has no column {', '.join(missing)}; the model needs "
            "it. Rebuild the relation with `diamond build` (or `dbt build -s "
            f"{relation}`) and check that its SQL still selects the column."
        )
        raise ModelError(msg)


def require_rows(frame: pd.DataFrame, relation: str, what: str = "rows") -> None:
    if frame.empty:
        msg = (
            f"{relation} has no {what}: there is nothing to train or score. "
            "Check that the release was ingested (`diamond ingest`) and that "
            "the ml_* vars in dbt_project.yml leave seasons to train on."
        )
        raise ModelError(msg)


def model_frame(features: Any, marcel: Any) -> pd.DataFrame:
    """The feature mart joined with its Marcel projections, checked.

    Rows are sorted by key so every later step, and every rerun, sees them
    in the same order whatever order the warehouse returned.
    """
    features = to_pandas(features)
    marcel = to_pandas(marcel)
    require_columns(features, REQUIRED_FEATURE_COLUMNS, "ml_next_season_features")
    require_columns(marcel, REQUIRED_MARCEL_COLUMNS, "ml_marcel_projections")
    require_rows(features, "ml_next_season_features")
    baseline = marcel[list(REQUIRED_MARCEL_COLUMNS)].rename(
        columns={
            "projected_on_base_plus_slugging": MARCEL,
            "reliability": "marcel_reliability",
        }
    )
    frame = features.merge(baseline, on=list(KEY), how="left", validate="1:1")
    unmatched = frame[MARCEL].isna() & frame[TARGET].notna()
    if unmatched.any():
        row = frame.loc[unmatched, list(KEY)].iloc[0]
        msg = (
            f"ml_marcel_projections has no projection for player "
            f"{row['player_id']} in {row['target_season']}; rebuild both "
            "relations in one `dbt build` so they cover the same rows"
        )
        raise ModelError(msg)
    for column in FEATURES:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame[TARGET] = pd.to_numeric(frame[TARGET], errors="coerce").astype(float)
    frame["target_season"] = frame["target_season"].astype(int)
    return frame.sort_values(list(KEY), kind="stable").reset_index(drop=True)


def fingerprint(frame: pd.DataFrame, columns: Iterable[str]) -> str:
    """SHA-256 of the given columns of ``frame``, independent of row order.

    Values are hashed as text with a fixed float format, so the same data
    read from DuckDB or Postgres gives the same fingerprint.
    """
    columns = list(columns)
    part = frame[columns].copy()
    for column in columns:
        if pd.api.types.is_float_dtype(part[column]):
            part[column] = part[column].map(lambda v: "" if pd.isna(v) else f"{v:.9g}")
        else:
            part[column] = part[column].map(lambda v: "" if pd.isna(v) else str(v))
    lines = sorted("\x1f".join(row) for row in part.itertuples(index=False))
    digest = hashlib.sha256()
    digest.update("\x1e".join(columns).encode())
    for line in lines:
        digest.update(b"\n")
        digest.update(line.encode())
    return digest.hexdigest()
