"""LIME explanations of a seeded sample of test predictions, with their
agreement with SHAP."""

from ml import steps
from ml.settings import Settings


def model(dbt, session):
    settings = Settings.from_config(dbt.config.get("ml_settings"))
    return steps.lime_explanations(
        dbt.ref("ml_next_season_features"),
        dbt.ref("ml_marcel_projections"),
        dbt.ref("ml_training_runs"),
        settings,
    )
