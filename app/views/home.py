"""The landing page: what each page shows and what has been built."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import data, ui

ui.header(
    "diamond",
    "A governed data and AI platform over the Lahman Baseball Database.",
)
st.markdown(
    """
| page | what it shows |
|---|---|
| League trends | home runs and strikeouts per game, scoring by era, payroll and wins |
| Players and teams | career and season batting lines, leader boards, team seasons |
| Model | the next-season OPS model against its baselines, SHAP, the model card |
| Fairness | the model's error by group with 95% intervals, and flagged gaps |
| Drift | drift and health monitors over time, current verdicts, alerts |
| Lineage | the dbt lineage around a relation, and where personal data flows |
| Privacy and audit | classification coverage, masking policies, the audit chain |
| Assistant | questions answered from the project's documents, with sources |
| LLM observability | the assistant's latency, groundedness, refusals and evaluation |
"""
)


def _built() -> dict[str, bool]:
    """Which parts of the platform have produced their data."""
    present = {
        schema: data.relations(schema) for schema in ("marts", "ml", "governance")
    }
    folder = data.target_dir()
    return {
        "marts": "fct_league_seasons" in present["marts"],
        "model": "ml_metrics" in present["ml"],
        "drift history": "drift_history" in present["governance"],
        "PII scan": (folder / "privacy" / "pii_report.json").is_file(),
        "assistant index": (folder / "rag" / "index").is_dir(),
        "assistant evaluation": (folder / "rag" / "eval.json").is_file(),
    }


built = ui.attempt(_built)
if built is not None:
    st.subheader("What is built")
    # A plain table rather than the data grid: a handful of rows need no
    # scrolling or sorting, and its cells are text a reader can copy.
    st.table(
        pd.DataFrame(
            {"built": ["yes" if ok else "no" for ok in built.values()]},
            index=pd.Index(list(built), name="part"),
        )
    )
    if not all(built.values()):
        st.info(
            "`diamond run` builds everything; `diamond rag eval` adds the "
            "assistant's evaluation."
        )

ui.footer()
