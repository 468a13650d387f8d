"""Global feature importance: mean absolute SHAP value on the test seasons."""

from ml import steps


def model(dbt, session):
    return steps.feature_importance(dbt.ref("ml_shap_contributions"))
