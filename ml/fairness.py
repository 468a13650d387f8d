"""Fairness audit of the model's errors across groups of players.

A projection that is systematically worse, or systematically low, for
players of one birth region, batting hand, era of debut or age band would
treat them unequally wherever it is used. fairlearn's ``MetricFrame``
disaggregates the error on the test seasons; Marcel's error per group is
kept beside it, to show whether a gap comes from the model or was already
in the baseline.

The 95% intervals come from a bootstrap within each group (resampling a
group's own rows, so its size stays fixed), vectorised over all rounds at
once. fairlearn's own bootstrap resamples the whole test set and recomputes
every frame per round, which costs seconds per attribute for the same
intervals on groups of this size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count
from sklearn.metrics import mean_absolute_error

from ml.data import ATTRIBUTES, KEY, require_rows
from ml.settings import Settings

QUANTILES = [0.025, 0.975]


def mean_residual(y_true, y_pred) -> float:
    """Actual minus predicted: positive when the model projects too low."""
    return float(np.mean(np.asarray(y_true) - np.asarray(y_pred)))


def bootstrap_intervals(
    residuals: np.ndarray, rounds: int, seed: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile intervals of the MAE and of the mean residual of one group."""
    rng = np.random.default_rng(seed)
    draws = residuals[rng.integers(0, len(residuals), size=(rounds, len(residuals)))]
    mae = np.quantile(np.abs(draws).mean(axis=1), QUANTILES)
    bias = np.quantile(draws.mean(axis=1), QUANTILES)
    return (float(mae[0]), float(mae[1])), (float(bias[0]), float(bias[1]))


def audit(
    predictions: pd.DataFrame, features: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    """Error per group of each attribute, and the largest gap per attribute.

    Groups with fewer rows than ``fairness_min_group_rows`` are reported but
    left out of the gap, where their noise would dominate. An attribute is
    flagged when its largest gap in MAE exceeds ``fairness_max_mae_gap``.
    """
    scored = predictions[
        (predictions["split"] == "test") & predictions["actual_ops"].notna()
    ]
    require_rows(scored, "ml_predictions", "scored test rows")
    scored = scored.merge(
        features[[*KEY, *ATTRIBUTES]], on=list(KEY), how="left", validate="1:1"
    ).reset_index(drop=True)
    version = scored["model_version"].iloc[0]
    rows = []
    for attribute in ATTRIBUTES:
        groups = scored[attribute].fillna("unknown").astype(str)
        frame = MetricFrame(
            metrics={
                "mae": mean_absolute_error,
                "mean_residual": mean_residual,
                "rows": count,
            },
            y_true=scored["actual_ops"],
            y_pred=scored["predicted_ops"],
            sensitive_features=groups.rename(attribute),
        )
        residuals = (scored["actual_ops"] - scored["predicted_ops"]).to_numpy()
        marcel = MetricFrame(
            metrics=mean_absolute_error,
            y_true=scored["actual_ops"],
            y_pred=scored["marcel_ops"],
            sensitive_features=groups.rename(attribute),
        ).by_group
        table = frame.by_group
        for number, group in enumerate(table.index):
            mine = residuals[(groups == group).to_numpy()]
            mae_ci, bias_ci = bootstrap_intervals(
                mine, settings.bootstrap_rounds, settings.random_seed + number
            )
            rows.append(
                {
                    "model_version": version,
                    "attribute": attribute,
                    "group_name": str(group),
                    "rows": int(table.loc[group, "rows"]),
                    "mae": float(table.loc[group, "mae"]),
                    "mae_ci_low": mae_ci[0],
                    "mae_ci_high": mae_ci[1],
                    "mean_residual": float(table.loc[group, "mean_residual"]),
                    "mean_residual_ci_low": bias_ci[0],
                    "mean_residual_ci_high": bias_ci[1],
                    "marcel_mae": float(marcel.loc[group]),
                }
            )
    result = pd.DataFrame(rows)
    result["in_gap"] = result["rows"] >= settings.fairness_min_group_rows
    gaps = (
        result[result["in_gap"]]
        .groupby("attribute")["mae"]
        .agg(lambda v: float(v.max() - v.min()) if len(v) > 1 else 0.0)
    )
    result["attribute_mae_gap"] = result["attribute"].map(gaps).fillna(0.0)
    result["max_mae_gap"] = settings.fairness_max_mae_gap
    result["is_flagged"] = result["attribute_mae_gap"] > settings.fairness_max_mae_gap
    return result
