"""Train the next-season OPS model: one registry row per trained version.

The registry keeps every version ever trained; retraining on the same data
with the same code and settings gives the same version, which replaces its
earlier row rather than adding a duplicate.
"""

from ml import steps
from ml.settings import Settings


def model(dbt, session):
    settings = Settings.from_config(dbt.config.get("ml_settings"))
    return steps.training_runs(
        dbt.ref("ml_next_season_features"),
        dbt.ref("ml_marcel_projections"),
        settings,
        steps.existing_relation(session, dbt.this),
    )
