"""Error and mean residual per group of birth region, batting hand, debut
era and age band, with intervals, gaps and flags."""

from ml import steps
from ml.settings import Settings


def model(dbt, session):
    settings = Settings.from_config(dbt.config.get("ml_settings"))
    return steps.fairness_audit(
        dbt.ref("ml_predictions"), dbt.ref("ml_next_season_features"), settings
    )
