"""Write the model card of the model in service (Markdown and HTML) and
record where it is and its hash, beside the cards of earlier versions."""

from ml import steps


def model(dbt, session):
    return steps.model_cards(
        dbt.ref("ml_training_runs"),
        dbt.ref("ml_metrics"),
        dbt.ref("ml_fairness"),
        dbt.ref("ml_feature_importance"),
        dbt.ref("ml_lime_explanations"),
        steps.existing_relation(session, dbt.this),
    )
