"""SHAP and LIME explanations of the model in service.

The model predicts a correction to Marcel, so the explanations are of that
correction: a prediction equals Marcel's projection plus SHAP's base value
plus the feature contributions. SHAP's TreeExplainer gives exact
attributions for the tree ensemble; LIME fits a local linear surrogate
around a sample of predictions, and its top features are compared with
SHAP's so readers can see how far the two methods agree.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # plots are files, never windows

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap
from lime.lime_tabular import LimeTabularExplainer

from ml.data import FEATURES, KEY, MARCEL, require_rows
from ml.settings import Settings, artifact_root
from ml.train import load

#: Contributions kept per prediction; the rest are summed into the base.
TOP_CONTRIBUTIONS = 5
LIME_FEATURES = 5
LIME_SAMPLES = 1000
AGREEMENT_TOP = 3


def explained_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows people ask about: the test seasons and the forecasts."""
    rows = frame[frame["split"].isin(["test", "forecast"])]
    require_rows(rows, "ml_next_season_features", "test or forecast rows")
    return rows.reset_index(drop=True)


def shap_values(estimator, rows: pd.DataFrame) -> tuple[np.ndarray, float]:
    explainer = shap.TreeExplainer(estimator)
    values = np.asarray(explainer.shap_values(rows[list(FEATURES)]))
    base = float(np.ravel(explainer.expected_value)[0])
    return values, base


def contributions(frame: pd.DataFrame, entry: pd.Series) -> pd.DataFrame:
    """Every feature's SHAP value for each test and forecast prediction,
    ranked by size within the prediction."""
    estimator = load(entry)
    rows = explained_rows(frame)
    values, base = shap_values(estimator, rows)
    long = pd.DataFrame(values, columns=list(FEATURES))
    long[list(KEY)] = rows[list(KEY)]
    long = long.melt(id_vars=list(KEY), var_name="feature", value_name="shap_value")
    observed = rows[[*KEY, *FEATURES]].melt(
        id_vars=list(KEY), var_name="feature", value_name="feature_value"
    )
    long = long.merge(observed, on=[*KEY, "feature"], how="left")
    long = long.sort_values(
        [*KEY, "shap_value"], key=_by_size, kind="stable"
    ).reset_index(drop=True)
    long["contribution_rank"] = long.groupby(list(KEY)).cumcount() + 1
    split = rows.set_index(list(KEY))["split"]
    marcel = rows.set_index(list(KEY))[MARCEL]
    index = pd.MultiIndex.from_frame(long[list(KEY)])
    long["split"] = split.reindex(index).to_numpy()
    long["marcel_ops"] = marcel.reindex(index).to_numpy()
    long["base_value"] = base
    long.insert(0, "model_version", entry["model_version"])
    return long[
        [
            "model_version",
            *KEY,
            "split",
            "contribution_rank",
            "feature",
            "feature_value",
            "shap_value",
            "base_value",
            "marcel_ops",
        ]
    ]


def _by_size(column: pd.Series) -> pd.Series:
    # Sort keys ascending except the SHAP value, largest magnitude first.
    if column.name == "shap_value":
        return -column.abs()
    return column


def importance(contributions: pd.DataFrame) -> pd.DataFrame:
    """Global importance: mean absolute SHAP value per feature on the test
    seasons, the usual summary of a tree model's reliance on each input."""
    test = contributions[contributions["split"] == "test"]
    require_rows(test, "ml_shap_contributions", "test rows")
    summary = (
        test.groupby("feature", sort=True)["shap_value"]
        .agg(mean_abs_shap=lambda v: float(np.abs(v).mean()), mean_shap="mean")
        .reset_index()
        .sort_values(["mean_abs_shap", "feature"], ascending=[False, True])
        .reset_index(drop=True)
    )
    summary["importance_rank"] = np.arange(1, len(summary) + 1)
    summary["share_of_total"] = (
        summary["mean_abs_shap"] / summary["mean_abs_shap"].sum()
    )
    summary.insert(0, "model_version", test["model_version"].iloc[0])
    return summary


def write_plots(frame: pd.DataFrame, entry: pd.Series) -> dict[str, Path]:
    """The SHAP summary plot of the test seasons and a waterfall for the
    highest forecast (or, without forecasts, the highest test prediction)."""
    estimator = load(entry)
    rows = explained_rows(frame)
    values, base = shap_values(estimator, rows)
    folder = artifact_root() / entry["model_version"]
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"summary": folder / "shap_summary.png"}

    test = (rows["split"] == "test").to_numpy()
    plt.figure()
    shap.summary_plot(
        values[test], rows.loc[test, list(FEATURES)], show=False, max_display=15
    )
    plt.title("What moves the model's correction to Marcel (test seasons)")
    plt.tight_layout()
    plt.savefig(paths["summary"], dpi=110)
    plt.close("all")

    chosen = rows["split"].eq("forecast")
    if not chosen.any():
        chosen = rows["split"].eq("test")
    predicted = estimator.predict(rows[list(FEATURES)]) + rows[MARCEL].to_numpy()
    candidates = np.flatnonzero(chosen.to_numpy())
    at = int(candidates[np.argmax(predicted[candidates])])
    player = rows.loc[at, "player_id"]
    season = int(rows.loc[at, "target_season"])
    paths["player"] = folder / f"shap_player_{player}_{season}.png"
    explanation = shap.Explanation(
        values=values[at],
        base_values=base,
        data=rows.loc[at, list(FEATURES)].to_numpy(dtype=float),
        feature_names=list(FEATURES),
    )
    plt.figure()
    shap.plots.waterfall(explanation, max_display=10, show=False)
    plt.title(f"{player}, {season}: correction to Marcel's projection")
    plt.tight_layout()
    plt.savefig(paths["player"], dpi=110)
    plt.close("all")
    return paths


def lime_explanations(
    frame: pd.DataFrame, entry: pd.Series, settings: Settings
) -> pd.DataFrame:
    """LIME on a seeded sample of test predictions, with its agreement with
    SHAP: the share of LIME's top three features that are also SHAP's."""
    estimator = load(entry)
    train = frame[frame["split"] == "train"]
    require_rows(train, "ml_next_season_features", "train rows")
    # LIME's discretiser needs complete rows; the trees handle gaps
    # themselves, so the medians only stand in for LIME's sampling.
    medians = train[list(FEATURES)].median()
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    require_rows(test, "ml_next_season_features", "test rows")
    rng = np.random.default_rng(settings.random_seed)
    size = min(settings.lime_sample_rows, len(test))
    sample = test.iloc[np.sort(rng.choice(len(test), size=size, replace=False))]
    sample = sample.reset_index(drop=True)

    explainer = LimeTabularExplainer(
        train[list(FEATURES)].fillna(medians).to_numpy(),
        feature_names=list(FEATURES),
        mode="regression",
        discretize_continuous=True,
        # Forward selection, LIME's default for few features, refits the
        # surrogate once per candidate; the largest weights of one fit pick
        # the same kind of explanation at a fraction of the cost.
        feature_selection="highest_weights",
        random_state=settings.random_seed,
    )

    def correction(data: np.ndarray) -> np.ndarray:
        return estimator.predict(pd.DataFrame(data, columns=list(FEATURES)))

    values, _ = shap_values(estimator, sample)
    rows = []
    for at in range(len(sample)):
        row = sample.loc[at, list(FEATURES)].fillna(medians).to_numpy(dtype=float)
        explanation = explainer.explain_instance(
            row, correction, num_features=LIME_FEATURES, num_samples=LIME_SAMPLES
        )
        weights = explanation.local_exp[1]
        names = [rule for rule, _ in explanation.as_list()]
        lime_top = [FEATURES[i] for i, _ in weights[:AGREEMENT_TOP]]
        order = np.argsort(-np.abs(values[at]), kind="stable")
        shap_top = [FEATURES[i] for i in order[:AGREEMENT_TOP]]
        overlap = len(set(lime_top) & set(shap_top)) / AGREEMENT_TOP
        for rank, (index, weight) in enumerate(weights, start=1):
            rows.append(
                {
                    "model_version": entry["model_version"],
                    "player_id": sample.loc[at, "player_id"],
                    "target_season": int(sample.loc[at, "target_season"]),
                    "lime_rank": rank,
                    "feature": FEATURES[index],
                    "lime_rule": names[rank - 1],
                    "lime_weight": float(weight),
                    "shap_value": float(values[at][index]),
                    "local_r_squared": float(explanation.score),
                    "top3_overlap_with_shap": overlap,
                }
            )
    return pd.DataFrame(rows)
