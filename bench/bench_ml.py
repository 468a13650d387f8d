"""Benchmark the steps of a training run against the obvious alternatives.

Reads the feature mart and Marcel's projections from a built DuckDB
warehouse (``diamond run`` first; ``DIAMOND_DUCKDB_PATH`` picks another) and
times, in one process on the same rows:

* training: the histogram gradient boosting the model uses, against
  scikit-learn's classic ``GradientBoostingRegressor`` with the same trees
  (which needs the missing seasons imputed first);
* SHAP: TreeExplainer on every test and forecast row, against
  KernelExplainer, the model-agnostic method, per row on a few rows;
* LIME: the sampled explanations the run stores, per row;
* the fairness intervals: the within-group bootstrap of the audit, against
  fairlearn's own bootstrap of a ``MetricFrame``;
* the whole chain of steps (:func:`ml.steps.run_all`).

    .venv/bin/python bench/bench_ml.py
"""

from __future__ import annotations

import os
import tempfile
import time

import duckdb
import shap
from fairlearn.metrics import MetricFrame
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error

from diamond.settings import duckdb_path
from ml import explain, fairness, steps
from ml.data import FEATURES, MARCEL, TARGET, model_frame
from ml.settings import Settings
from ml.train import PARAMETERS, fit

KERNEL_ROWS = 5


def _timed(action):
    began = time.perf_counter()
    value = action()
    return time.perf_counter() - began, value


def main() -> None:
    os.environ.setdefault("DIAMOND_ML_DIR", tempfile.mkdtemp(prefix="bench_ml_"))
    with duckdb.connect(str(duckdb_path()), read_only=True) as con:
        features = con.execute("select * from ml.ml_next_season_features").df()
        marcel = con.execute("select * from ml.ml_marcel_projections").df()
    settings = Settings(
        random_seed=20250401,
        fairness_max_mae_gap=0.025,
        fairness_min_group_rows=30,
        lime_sample_rows=25,
        bootstrap_rounds=1000,
    )
    frame = model_frame(features, marcel)
    train = frame[(frame.split == "train") & frame[TARGET].notna()]
    rows = []

    fit_seconds, trained = _timed(lambda: fit(frame, settings))
    classic = GradientBoostingRegressor(
        n_estimators=PARAMETERS["max_iter"],
        learning_rate=PARAMETERS["learning_rate"],
        max_leaf_nodes=PARAMETERS["max_leaf_nodes"],
        min_samples_leaf=PARAMETERS["min_samples_leaf"],
        random_state=settings.random_seed,
    )
    filled = train[list(FEATURES)].fillna(train[list(FEATURES)].median())
    classic_seconds, _ = _timed(
        lambda: classic.fit(filled, train[TARGET] - train[MARCEL])
    )
    rows.append(("train (histogram GB vs classic GB)", fit_seconds, classic_seconds))

    explained = explain.explained_rows(frame)
    tree_seconds, _ = _timed(lambda: explain.shap_values(trained.estimator, explained))
    background = shap.sample(filled, 50, random_state=settings.random_seed)
    kernel = shap.KernelExplainer(trained.estimator.predict, background)
    few = explained[list(FEATURES)].fillna(train[list(FEATURES)].median())
    kernel_seconds, _ = _timed(
        lambda: kernel.shap_values(few.head(KERNEL_ROWS), silent=True)
    )
    per_row_tree = tree_seconds / len(explained)
    per_row_kernel = kernel_seconds / KERNEL_ROWS
    rows.append(
        (
            f"SHAP per row (Tree on {len(explained)} rows vs Kernel on {KERNEL_ROWS})",
            per_row_tree,
            per_row_kernel,
        )
    )

    registry = trained.registry.iloc[0]
    lime_seconds, lime = _timed(
        lambda: explain.lime_explanations(frame, registry, settings)
    )
    agreement = lime.groupby("player_id")["top3_overlap_with_shap"].first().mean()

    predictions = steps.predictions(features, marcel, trained.registry)
    ours_seconds, _ = _timed(lambda: fairness.audit(predictions, features, settings))
    scored = predictions[predictions.split == "test"].merge(
        features[
            [
                "player_id",
                "target_season",
                "birth_region",
                "bats",
                "debut_era",
                "age_band",
            ]
        ],
        on=["player_id", "target_season"],
    )

    def fairlearn_bootstrap() -> None:
        for attribute in ("birth_region", "bats", "debut_era", "age_band"):
            MetricFrame(
                metrics=mean_absolute_error,
                y_true=scored["actual_ops"],
                y_pred=scored["predicted_ops"],
                sensitive_features=scored[attribute],
                n_boot=settings.bootstrap_rounds,
                ci_quantiles=[0.025, 0.975],
                random_state=settings.random_seed,
            )

    theirs_seconds, _ = _timed(fairlearn_bootstrap)
    rows.append(
        (
            f"fairness intervals, {settings.bootstrap_rounds} rounds "
            "(ours vs fairlearn's)",
            ours_seconds,
            theirs_seconds,
        )
    )
    chain_seconds, out = _timed(lambda: steps.run_all(features, marcel, settings))

    print(f"training rows: {len(train)}, explained rows: {len(explained)}")
    print(f"{'step':<58} {'diamond':>9} {'other':>9} {'ratio':>7}")
    for name, ours, other in rows:
        print(f"{name:<58} {ours:>8.4f}s {other:>8.4f}s {other / ours:>6.0f}x")
    print(
        f"LIME: {lime_seconds:.2f}s for {settings.lime_sample_rows} rows "
        f"({lime_seconds / settings.lime_sample_rows:.3f}s a row), top-3 "
        f"agreement with SHAP {agreement:.2f}"
    )
    metrics = out["ml_metrics"].query("split == 'test'").set_index("predictor")
    print(
        f"whole training run (every relation, plots, card): {chain_seconds:.1f}s; "
        f"test MAE model {metrics.loc['model', 'mae']:.4f}, "
        f"Marcel {metrics.loc['marcel', 'mae']:.4f}, "
        f"last season {metrics.loc['last_season', 'mae']:.4f}"
    )


if __name__ == "__main__":
    main()
