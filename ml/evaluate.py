"""Predictions of the model in service and how they compare with baselines.

Every predictor is scored on the identical rows: those with an actual value
and a prediction from the model, from Marcel and from "same as last
season". Splits are scored apart, so the test seasons, never seen in
training or in choosing the parameters, give the honest figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.data import KEY, LAST_SEASON, MARCEL, SPLITS, TARGET
from ml.train import load, predict

PREDICTORS = {
    "model": "predicted_ops",
    "marcel": "marcel_ops",
    "last_season": "last_season_ops",
}


def predictions(frame: pd.DataFrame, entry: pd.Series) -> pd.DataFrame:
    """One row per feature row: the three predictions and the outcome."""
    estimator = load(entry)
    out = frame[[*KEY, "split"]].copy()
    out.insert(0, "model_version", entry["model_version"])
    out["predicted_ops"] = predict(estimator, frame)
    out["marcel_ops"] = frame[MARCEL].to_numpy()
    out["last_season_ops"] = frame[LAST_SEASON].to_numpy()
    out["actual_ops"] = frame[TARGET].to_numpy()
    out["residual"] = out["actual_ops"] - out["predicted_ops"]
    return out


def _scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    error = actual - predicted
    total = float(((actual - actual.mean()) ** 2).sum())
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "r_squared": 1.0 - float((error**2).sum()) / total if total else np.nan,
    }


def metrics(predicted: pd.DataFrame) -> pd.DataFrame:
    """MAE, RMSE and R-squared per split and predictor on shared rows.

    ``mae_improvement_over_marcel`` is the share of Marcel's error the
    predictor removes (positive: better than Marcel).
    """
    version = predicted["model_version"].iloc[0]
    scored = predicted.dropna(subset=["actual_ops", *PREDICTORS.values()])
    splits = [s for s in (*SPLITS, "monitoring") if (scored["split"] == s).any()]
    rows = []
    for split in splits:
        part = scored[scored["split"] == split]
        actual = part["actual_ops"].to_numpy()
        marcel = _scores(actual, part["marcel_ops"].to_numpy())
        for predictor, column in PREDICTORS.items():
            scores = _scores(actual, part[column].to_numpy())
            rows.append(
                {
                    "model_version": version,
                    "split": split,
                    "predictor": predictor,
                    "rows": len(part),
                    "first_season": int(part["target_season"].min()),
                    "last_season": int(part["target_season"].max()),
                    **scores,
                    "mae_improvement_over_marcel": 1.0 - scores["mae"] / marcel["mae"],
                }
            )
    return pd.DataFrame(rows)
