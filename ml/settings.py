"""Settings of a training run: dbt vars, passed in as one config dict.

dbt renders the ``ml_settings`` config of the models in ``models/marts/ml``
from the ``ml_*`` vars of ``dbt_project.yml``. The Python models read it
with ``dbt.config.get``; ``diamond ml train`` reads the same rendered dict
from the manifest, so both paths train with identical settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml import ModelError


@dataclass(frozen=True)
class Settings:
    random_seed: int
    fairness_max_mae_gap: float
    fairness_min_group_rows: int
    lime_sample_rows: int
    bootstrap_rounds: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Settings:
        if not config:
            msg = (
                "the ml models have no ml_settings config; it is set for "
                "models/marts/ml in dbt_project.yml. Restore it and rebuild."
            )
            raise ModelError(msg)
        values = {}
        for name, cast in (
            ("random_seed", int),
            ("fairness_max_mae_gap", float),
            ("fairness_min_group_rows", int),
            ("lime_sample_rows", int),
            ("bootstrap_rounds", int),
        ):
            if name not in config:
                msg = f"ml_settings has no {name!r}; set it in dbt_project.yml"
                raise ModelError(msg)
            try:
                values[name] = cast(config[name])
            except (TypeError, ValueError) as exc:
                msg = (
                    f"ml_settings {name!r} must be a {cast.__name__}, got "
                    f"{config[name]!r}; fix the var in dbt_project.yml"
                )
                raise ModelError(msg) from exc
        return cls(**values)


def artifact_root() -> Path:
    """Where fitted models, plots and model cards are written, one folder
    per warehouse: ``$DIAMOND_ML_DIR/<target>``, by default ``ml/<target>``
    beside the DuckDB warehouse file, the folder that already keeps the
    audit log, so local state lives in one place whichever warehouse holds
    the tables.
    """
    from diamond.settings import check_target, duckdb_path

    raw = os.environ.get("DIAMOND_ML_DIR")
    root = Path(raw).resolve() if raw else duckdb_path().parent / "ml"
    return root / check_target(None)
