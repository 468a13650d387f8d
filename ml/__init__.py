"""The next-season OPS model: training, explanation, fairness and model card.

The dbt Python models in ``models/marts/ml`` import this package and stay a
few lines each; ``diamond ml train`` runs the same steps where the warehouse
has no Python models (Postgres). Each step takes and returns pandas frames,
so both paths write identical relations.
"""

from __future__ import annotations

from diamond.errors import DiamondError


class ModelError(DiamondError):
    """Training or scoring cannot go on; the message says which input is wrong."""
