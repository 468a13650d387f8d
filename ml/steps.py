"""The training run as a chain of steps, one per relation it writes.

Each dbt Python model in ``models/marts/ml`` calls one of these functions
with the frames of its refs; :func:`run_all` calls them all in the same
order for warehouses without Python models. Keeping the chain here means
both paths produce the same relations from the same code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd
from threadpoolctl import threadpool_limits

from ml import card, evaluate, explain, fairness
from ml.data import model_frame, to_pandas
from ml.settings import Settings
from ml.train import current_version, fit

F = TypeVar("F", bound=Callable[..., Any])


def one_thread(step: F) -> F:
    """Run ``step`` with OpenMP and BLAS on one thread.

    The steps run inside ``dbt build`` beside other models and DuckDB's own
    threads. There, the gradient-boosting fit and the thousands of small
    predictions of LIME and SHAP, each spread over every core, spend their
    time waiting on one another: on this project's two-core machine the
    fit took ten times longer than on one thread.
    """

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with threadpool_limits(limits=1):
            return step(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@one_thread
def training_runs(
    features: Any,
    marcel: Any,
    settings: Settings,
    registry: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The registry after training: earlier versions kept, the new one added
    (replacing an earlier row of the same version)."""
    new = fit(model_frame(features, marcel), settings).registry
    if registry is None or registry.empty:
        return new
    kept = registry[~registry["model_version"].isin(new["model_version"])]
    return pd.concat([kept.reindex(columns=new.columns), new], ignore_index=True)


def existing_relation(session: Any, relation: Any) -> pd.DataFrame | None:
    """The current contents of a model's own relation, or None before its
    first build.

    The registry is rebuilt as a whole each time from what it held plus the
    new version: dbt's incremental Python models would do the same but
    leave their staging tables behind on DuckDB.
    """
    schema, name = relation.schema, relation.identifier
    if hasattr(session, "catalog"):  # Spark, on Athena
        if not session.catalog.tableExists(f"{schema}.{name}"):
            return None
        return to_pandas(session.table(f"{schema}.{name}"))
    found = session.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0]
    if not found:
        return None
    return to_pandas(session.sql(f"select * from {relation}"))


@one_thread
def predictions(features: Any, marcel: Any, registry: Any) -> pd.DataFrame:
    entry = current_version(to_pandas(registry))
    return evaluate.predictions(model_frame(features, marcel), entry)


def metrics(predictions: Any) -> pd.DataFrame:
    return evaluate.metrics(to_pandas(predictions))


@one_thread
def shap_contributions(features: Any, marcel: Any, registry: Any) -> pd.DataFrame:
    entry = current_version(to_pandas(registry))
    frame = model_frame(features, marcel)
    explain.write_plots(frame, entry)
    return explain.contributions(frame, entry)


def feature_importance(contributions: Any) -> pd.DataFrame:
    return explain.importance(to_pandas(contributions))


@one_thread
def lime_explanations(
    features: Any, marcel: Any, registry: Any, settings: Settings
) -> pd.DataFrame:
    entry = current_version(to_pandas(registry))
    return explain.lime_explanations(model_frame(features, marcel), entry, settings)


@one_thread
def fairness_audit(predictions: Any, features: Any, settings: Settings) -> pd.DataFrame:
    return fairness.audit(to_pandas(predictions), to_pandas(features), settings)


def model_cards(
    registry: Any,
    metrics: Any,
    fairness: Any,
    importance: Any,
    lime: Any,
    cards: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every card written so far, with the current version's written anew."""
    entry = current_version(to_pandas(registry))
    new = card.write(
        entry,
        to_pandas(metrics),
        to_pandas(fairness),
        to_pandas(importance),
        to_pandas(lime),
    )
    if cards is None or cards.empty:
        return new
    kept = cards[~cards["model_version"].isin(new["model_version"])]
    return pd.concat([kept.reindex(columns=new.columns), new], ignore_index=True)


@one_thread
def run_all(
    features: pd.DataFrame,
    marcel: pd.DataFrame,
    settings: Settings,
    registry: pd.DataFrame | None = None,
    cards: pd.DataFrame | None = None,
) -> Mapping[str, pd.DataFrame]:
    """Every relation of a training run, from the two SQL relations and
    what the registry and the card index held before."""
    new = training_runs(features, marcel, settings, registry)
    out: dict[str, pd.DataFrame] = {"ml_training_runs": new}
    out["ml_predictions"] = predictions(features, marcel, new)
    out["ml_metrics"] = metrics(out["ml_predictions"])
    out["ml_shap_contributions"] = shap_contributions(features, marcel, new)
    out["ml_feature_importance"] = feature_importance(out["ml_shap_contributions"])
    out["ml_lime_explanations"] = lime_explanations(features, marcel, new, settings)
    out["ml_fairness"] = fairness_audit(out["ml_predictions"], features, settings)
    out["ml_model_cards"] = model_cards(
        new,
        out["ml_metrics"],
        out["ml_fairness"],
        out["ml_feature_importance"],
        out["ml_lime_explanations"],
        cards,
    )
    return out
