"""The model card: what the model is for, how good it is, where it is unfair.

Written on every training run as Markdown and HTML beside the model file,
from the relations the run produced, so the card can never describe a
different model than the one in service. The structure follows the usual
model-card headings (intended use, data, metrics, fairness, explanations,
limitations), and the out-of-scope uses name the EU AI Act's employment
category because contract and salary decisions would fall under it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import markdown
import pandas as pd

from ml import ModelError
from ml.data import FEATURES
from ml.settings import artifact_root

FEATURE_RELATION = "model.diamond.ml_next_season_features"


def _table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 3) -> str:
    head = "| " + " | ".join(columns.values()) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    lines = [head, rule]
    for _, row in frame.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, float):
                cells.append(f"{value:.{digits}f}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def training_lineage(manifest_path: Path | None = None) -> list[str]:
    """The dbt relations the feature mart is built from, nearest first,
    read from the manifest of the build that trained the model."""
    if manifest_path is None:
        from diamond.settings import project_dir

        target = os.environ.get("DBT_TARGET_PATH") or str(project_dir() / "target")
        manifest_path = Path(target) / "manifest.json"
        if not manifest_path.is_absolute():
            manifest_path = project_dir() / manifest_path
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    parents = manifest.get("parent_map", {})
    seen: list[str] = []
    queue = [FEATURE_RELATION]
    while queue:
        node = queue.pop(0)
        for parent in parents.get(node, []):
            if parent not in seen:
                seen.append(parent)
                queue.append(parent)
    names = []
    for unique_id in seen:
        if unique_id.startswith("source."):
            names.append(unique_id.split(".", 2)[2])
        else:
            names.append(unique_id.rsplit(".", 1)[1])
    return names


def render(
    entry: pd.Series,
    metrics: pd.DataFrame,
    fairness: pd.DataFrame,
    importance: pd.DataFrame,
    lime: pd.DataFrame,
    plots: dict[str, Path],
    lineage: list[str],
) -> str:
    """The card as Markdown."""
    version = entry["model_version"]
    test = metrics[metrics["split"] == "test"].set_index("predictor")
    model_mae = test.loc["model", "mae"]
    marcel_mae = test.loc["marcel", "mae"]
    beats = model_mae < marcel_mae
    improvement = test.loc["model", "mae_improvement_over_marcel"]
    params = json.loads(entry["parameters"])
    flagged = sorted(fairness.loc[fairness["is_flagged"], "attribute"].unique())
    gaps = (
        fairness.groupby("attribute")[["attribute_mae_gap", "max_mae_gap"]]
        .first()
        .reset_index()
    )
    gaps["flagged"] = gaps["attribute_mae_gap"] > gaps["max_mae_gap"]
    agreement = float(
        lime.groupby(["player_id", "target_season"])["top3_overlap_with_shap"]
        .first()
        .mean()
    )
    top = importance.head(10)
    sections = [
        f"# Model card: next-season OPS, version `{version}`",
        "",
        "Generated automatically by the training run on "
        f"{pd.Timestamp(entry['trained_at']).strftime('%Y-%m-%d %H:%M')} UTC. "
        "This card describes exactly the model whose file hash is listed "
        "under *Version and hashes*.",
        "",
        "## What it does",
        "Projects a major-league hitter's on-base plus slugging (OPS) for the "
        "next season from the three seasons before it, his age, and his "
        "league and park, as a correction to the public Marcel projection. "
        f"Estimator: scikit-learn `{entry['estimator']}` "
        f"(scikit-learn {entry['sklearn_version']}).",
        "",
        "## Intended use",
        "- Baseball analysis and teaching: comparing projection methods, "
        "exploring aging and regression to the mean, fan and media "
        "discussion of what a season might bring.",
        "- A reference of how a governed model is trained, explained, "
        "audited and documented end to end.",
        "",
        "## Out of scope",
        "- **Contract, salary, roster or hiring decisions about real people.** "
        "Using the projection to decide on a person's employment or pay "
        "would make it an employment system, high-risk under the EU AI Act "
        "(Annex III, point 4), with duties this project does not meet "
        "(risk management, human oversight, conformity assessment).",
        "- Betting, or any use that treats a projection as a certainty: the "
        "typical error is shown below.",
        "- Players outside the training population: pitchers batting, "
        "part-time players under the plate-appearance threshold, other "
        "leagues.",
        "",
        "## Training data and lineage",
        f"- {entry['training_rows']} hitter-seasons projected for "
        f"{entry['training_first_season']}-{entry['training_last_season']} "
        "(train split), from the Lahman Baseball Database through the dbt "
        "model `ml_next_season_features` and `ml_marcel_projections`, which "
        "read only masked marts.",
        "- Training-data fingerprint (SHA-256): "
        f"`{entry['training_data_fingerprint']}`.",
        "- Built from: "
        + (", ".join(f"`{name}`" for name in lineage) if lineage else "see dbt docs")
        + ".",
        "- The parameters were fixed before training; the validation seasons "
        "are reported, not used to tune them automatically, and the test "
        "seasons are held out entirely. Seasons under three quarters of a "
        "schedule (1981, 1994, 2020) are flagged as shortened and neither "
        "trained on nor scored.",
        "",
        "## Features",
        ", ".join(f"`{name}`" for name in FEATURES) + ".",
        "",
        "## Metrics against the baselines",
        _table(
            metrics.assign(
                mae_improvement_over_marcel=metrics["mae_improvement_over_marcel"].map(
                    lambda v: f"{v:+.1%}"
                )
            ),
            {
                "split": "split",
                "predictor": "predictor",
                "rows": "rows",
                "mae": "MAE",
                "rmse": "RMSE",
                "r_squared": "R²",
                "mae_improvement_over_marcel": "MAE gain vs Marcel",
            },
            digits=4,
        ),
        "",
        (
            f"On the test seasons the model's MAE is {model_mae:.4f} against "
            f"Marcel's {marcel_mae:.4f}: "
            + (
                f"{improvement:.1%} lower."
                if beats
                else f"{-improvement:.1%} higher: it does **not** beat Marcel."
            )
        ),
        "",
        "## Fairness",
        "Error on the test seasons by group (fairlearn MetricFrame, bootstrap "
        "95% intervals). A group's mean residual above zero means the model "
        "projects that group too low.",
        "",
        _table(
            fairness,
            {
                "attribute": "attribute",
                "group_name": "group",
                "rows": "rows",
                "mae": "MAE",
                "mae_ci_low": "low",
                "mae_ci_high": "high",
                "mean_residual": "mean residual",
                "marcel_mae": "Marcel MAE",
            },
            digits=4,
        ),
        "",
        _table(
            gaps,
            {
                "attribute": "attribute",
                "attribute_mae_gap": "largest MAE gap",
                "max_mae_gap": "threshold",
                "flagged": "flagged",
            },
            digits=4,
        ),
        "",
        (
            "Flagged attributes: " + ", ".join(flagged) + "."
            if flagged
            else "No attribute's gap exceeds the threshold."
        ),
        "",
        "## Explanations",
        "Mean absolute SHAP value on the test seasons (TreeExplainer), the "
        "ten largest:",
        "",
        _table(
            top,
            {
                "importance_rank": "rank",
                "feature": "feature",
                "mean_abs_shap": "mean |SHAP|",
                "share_of_total": "share",
            },
            digits=4,
        ),
        "",
        f"LIME on {lime['player_id'].nunique()} sampled test predictions agrees "
        f"with SHAP on {agreement:.0%} of the top three features on average.",
        "",
        f"![SHAP summary]({plots['summary'].name})",
        f"![One projection explained]({plots['player'].name})",
        "",
        "## Limitations",
        "- OPS is noisy from one season to the next; even a good projection "
        "misses by tens of points for a typical player.",
        "- The data record what happened on the field, not injuries, role "
        "changes or rule changes ahead, which move real outcomes.",
        "- Age is a feature (every aging curve needs it), and the audit shows "
        "how the error varies by age band; birth region, batting hand and era "
        "of debut are not features but are audited.",
        "- Trained on seasons up to "
        f"{entry['training_last_season']}; the drift checks watch for seasons "
        "that no longer look like them.",
        "",
        "## Version and hashes",
        f"- Version: `{version}`",
        f"- Parameters: `{json.dumps(params, sort_keys=True)}`",
        f"- Code hash (SHA-256 of the `ml` package): `{entry['code_hash']}`",
        f"- Model file: `{entry['artifact_path']}`",
        f"- Model file SHA-256: `{entry['artifact_sha256']}`",
        "",
    ]
    return "\n".join(sections)


def write(
    entry: pd.Series,
    metrics: pd.DataFrame,
    fairness: pd.DataFrame,
    importance: pd.DataFrame,
    lime: pd.DataFrame,
    lineage: list[str] | None = None,
) -> pd.DataFrame:
    """Write ``model_card.md`` and ``model_card.html`` beside the plots the
    explanation step drew; return their registry row."""
    lineage = training_lineage() if lineage is None else lineage
    folder = artifact_root() / entry["model_version"]
    plots = {
        "summary": folder / "shap_summary.png",
        "player": next(iter(sorted(folder.glob("shap_player_*.png"))), None),
    }
    if not plots["summary"].is_file() or plots["player"] is None:
        msg = (
            f"model {entry['model_version']}: the SHAP plots are missing from "
            f"{folder}; rebuild ml_shap_contributions before the model card"
        )
        raise ModelError(msg)
    text = render(entry, metrics, fairness, importance, lime, plots, lineage)
    md_path = folder / "model_card.md"
    html_path = folder / "model_card.html"
    md_path.write_text(text, encoding="utf-8")
    body = markdown.markdown(text, extensions=["tables"])
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Model card {entry['model_version']}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px}img{max-width:100%}</style></head><body>"
        f"{body}</body></html>"
    )
    html_path.write_text(html, encoding="utf-8")
    row: dict[str, Any] = {
        "model_version": entry["model_version"],
        "generated_at": datetime.now(UTC).replace(tzinfo=None),
        "markdown_path": str(md_path),
        "html_path": str(html_path),
        "markdown_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "beats_marcel_on_test": bool(
            metrics.query("split == 'test' and predictor == 'model'")["mae"].iloc[0]
            < metrics.query("split == 'test' and predictor == 'marcel'")["mae"].iloc[0]
        ),
        "flagged_attributes": ", ".join(
            sorted(fairness.loc[fairness["is_flagged"], "attribute"].unique())
        ),
    }
    return pd.DataFrame([row])
