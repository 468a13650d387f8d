"""MAE, RMSE and R-squared of the model, Marcel and last season's OPS on
identical rows, per split."""

from ml import steps


def model(dbt, session):
    return steps.metrics(dbt.ref("ml_predictions"))
