"""Fit the next-season OPS model and record it as a registry row.

The estimator is scikit-learn's histogram gradient boosting, which handles
the missing seasons of short careers natively. It learns the residual of the
Marcel projection: Marcel already encodes regression to the mean and aging,
so the trees spend their capacity on what Marcel misses (strikeout and
walk rates, luck on balls in play, park, playing-time trends).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingRegressor

from ml import ModelError
from ml.data import FEATURES, KEY, MARCEL, TARGET, fingerprint, require_rows
from ml.settings import Settings, artifact_root

#: Fixed before looking at the test seasons; see the README for how they
#: compare with the validation seasons.
PARAMETERS = {
    "loss": "squared_error",
    "learning_rate": 0.03,
    "max_iter": 300,
    "max_leaf_nodes": 7,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "early_stopping": False,
}

ESTIMATOR = "HistGradientBoostingRegressor"

log = logging.getLogger(__name__)


def code_hash() -> str:
    """SHA-256 over the source of this package, so a registry row says
    exactly which code trained the model."""
    digest = hashlib.sha256()
    package = resources.files("ml")
    for path in sorted(Path(str(package)).glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class TrainedModel:
    version: str
    estimator: HistGradientBoostingRegressor
    registry: pd.DataFrame
    artifact_path: Path


def _training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[(frame["split"] == "train") & frame[TARGET].notna()]
    require_rows(rows, "ml_next_season_features", "labelled rows in the train split")
    return rows


def fit(frame: pd.DataFrame, settings: Settings) -> TrainedModel:
    """Train on the train split of ``frame`` (from ``model_frame``)."""
    rows = _training_rows(frame)
    estimator = HistGradientBoostingRegressor(
        **PARAMETERS, random_state=settings.random_seed
    )
    estimator.fit(rows[list(FEATURES)], rows[TARGET] - rows[MARCEL])

    data_fingerprint = fingerprint(rows, [*KEY, *FEATURES, TARGET])
    parameters = {**PARAMETERS, "random_state": settings.random_seed}
    source = code_hash()
    identity = json.dumps(
        [data_fingerprint, source, parameters, list(FEATURES)], sort_keys=True
    )
    version = "ops-" + hashlib.sha256(identity.encode()).hexdigest()[:12]

    folder = artifact_root() / version
    folder.mkdir(parents=True, exist_ok=True)
    artifact = folder / "model.joblib"
    joblib.dump(
        {"version": version, "features": list(FEATURES), "estimator": estimator},
        artifact,
    )
    seasons = rows["target_season"]
    registry = pd.DataFrame(
        [
            {
                "model_version": version,
                "trained_at": datetime.now(UTC).replace(tzinfo=None),
                "estimator": ESTIMATOR,
                "target": TARGET,
                "training_rows": len(rows),
                "training_first_season": int(seasons.min()),
                "training_last_season": int(seasons.max()),
                "training_data_fingerprint": data_fingerprint,
                "features": json.dumps(list(FEATURES)),
                "parameters": json.dumps(parameters, sort_keys=True),
                "metrics": json.dumps(split_scores(estimator, frame), sort_keys=True),
                "code_hash": source,
                "sklearn_version": sklearn.__version__,
                "artifact_path": str(artifact),
                "artifact_sha256": file_sha256(artifact),
            }
        ]
    )
    return TrainedModel(version, estimator, registry, artifact)


def split_scores(
    estimator: HistGradientBoostingRegressor, frame: pd.DataFrame
) -> dict[str, dict[str, float]]:
    """MAE of the model and of Marcel per split, for the registry row; the
    full comparison (RMSE, R-squared, last season) is ``ml_metrics``."""
    scores: dict[str, dict[str, float]] = {}
    for split in ("train", "validation", "test"):
        rows = frame[(frame["split"] == split) & frame[TARGET].notna()]
        rows = rows[rows[MARCEL].notna()]
        if rows.empty:
            continue
        actual = rows[TARGET].to_numpy()
        scores[split] = {
            "rows": len(rows),
            "mae": round(float(np.abs(actual - predict(estimator, rows)).mean()), 6),
            "marcel_mae": round(float(np.abs(actual - rows[MARCEL]).mean()), 6),
        }
    return scores


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_version(registry: pd.DataFrame) -> pd.Series:
    """The registry row of the model in service: the version pinned for the
    current target (``diamond ml rollback``) when the registry holds it,
    else the newest trained one."""
    require_rows(registry, "ml_training_runs", "trained model")
    from diamond.settings import check_target
    from governance.controls import pinned_version

    pinned = pinned_version(check_target(None))
    if pinned is not None:
        rows = registry[registry["model_version"] == pinned]
        if len(rows):
            return rows.sort_values("trained_at", kind="stable").iloc[-1]
        # A pin from an earlier warehouse that no longer holds the version:
        # serving the newest is the documented default, and the status
        # command shows the stale pin.
        log.warning(
            "pinned model %s is not in ml_training_runs; serving the newest",
            pinned,
        )
    return registry.sort_values("trained_at", kind="stable").iloc[-1]


def load(entry: pd.Series) -> HistGradientBoostingRegressor:
    """The fitted estimator of a registry row, after checking its hash.

    A model file that changed since it was registered is refused: scoring
    with it would attribute predictions to a version that did not make them.
    """
    path = Path(entry["artifact_path"])
    if not path.is_file():
        msg = (
            f"model {entry['model_version']}: its artifact {path} is missing; "
            "retrain with `diamond build -s ml` (or `diamond ml train`)"
        )
        raise ModelError(msg)
    actual = file_sha256(path)
    if actual != entry["artifact_sha256"]:
        msg = (
            f"model {entry['model_version']}: {path} has SHA-256 {actual[:12]}…, "
            f"not the registered {entry['artifact_sha256'][:12]}…; the file "
            "changed after training. Retrain instead of using it."
        )
        raise ModelError(msg)
    bundle = joblib.load(path)
    if list(bundle["features"]) != list(FEATURES):
        msg = (
            f"model {entry['model_version']} was trained on other features "
            "than this code uses; retrain it"
        )
        raise ModelError(msg)
    return bundle["estimator"]


def predict(
    estimator: HistGradientBoostingRegressor, frame: pd.DataFrame
) -> np.ndarray:
    """Predicted next-season OPS: Marcel plus the learned correction."""
    return estimator.predict(frame[list(FEATURES)]) + frame[MARCEL].to_numpy()
