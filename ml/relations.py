"""The relations a training run writes, named apart from the code that
writes them so that readers (the records of processing, erasure) need not
import scikit-learn to know them."""

#: Relations of a training run, in the order they are built.
RELATIONS = (
    "ml_training_runs",
    "ml_predictions",
    "ml_metrics",
    "ml_shap_contributions",
    "ml_feature_importance",
    "ml_lime_explanations",
    "ml_fairness",
    "ml_model_cards",
)
