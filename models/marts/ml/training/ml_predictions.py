"""Predictions of the model in service for every feature row, beside
Marcel's and last season's OPS and, where the season was played, the actual
value."""

from ml import steps


def model(dbt, session):
    return steps.predictions(
        dbt.ref("ml_next_season_features"),
        dbt.ref("ml_marcel_projections"),
        dbt.ref("ml_training_runs"),
    )
