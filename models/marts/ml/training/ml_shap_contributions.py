"""SHAP contributions of every feature to each test and forecast prediction;
also draws the SHAP summary and single-player plots beside the model file."""

from ml import steps


def model(dbt, session):
    return steps.shap_contributions(
        dbt.ref("ml_next_season_features"),
        dbt.ref("ml_marcel_projections"),
        dbt.ref("ml_training_runs"),
    )
