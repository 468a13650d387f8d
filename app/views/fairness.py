"""Fairness: the model's error by group, with bootstrap intervals, and the
gaps the audit flags."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app import data, ui

ui.header(
    "Fairness",
    "Mean absolute error of the next-season model on the test seasons by "
    "group (ml.ml_fairness), with bootstrap 95% intervals and Marcel's error "
    "beside it.",
)

groups = ui.load(data.fairness)
if groups.empty:
    st.info("ml.ml_fairness is empty; run `diamond ml train`.")
    ui.stop()

gaps = (
    groups.groupby("attribute", as_index=False)
    .agg(
        groups=("group_name", "count"),
        largest_mae_gap=("attribute_mae_gap", "max"),
        threshold=("max_mae_gap", "max"),
        is_flagged=("is_flagged", "max"),
    )
    .sort_values("attribute")
)
flagged = gaps[gaps["is_flagged"].astype(bool)]
if flagged.empty:
    st.success(
        "No attribute's largest MAE gap between groups reaches the threshold "
        f"({gaps['threshold'].max():.3f})."
    )
else:
    st.error(
        "Flagged: "
        + ", ".join(
            f"{row.attribute} (gap {row.largest_mae_gap:.4f})"
            for row in flagged.itertuples()
        )
    )
st.dataframe(gaps, hide_index=True, key="gaps")

attribute = st.selectbox("Attribute", list(gaps["attribute"]), key="fairness_attribute")
chosen = groups[groups["attribute"] == attribute]
colours = ["#d62728" if bool(v) else "#1f77b4" for v in chosen["in_gap"]]
figure = go.Figure()
figure.add_trace(
    go.Scatter(
        x=chosen["group_name"],
        y=chosen["mae"],
        mode="markers",
        name="model MAE",
        marker={"size": 11, "color": colours},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": chosen["mae_ci_high"] - chosen["mae"],
            "arrayminus": chosen["mae"] - chosen["mae_ci_low"],
        },
        customdata=chosen[["rows"]],
        hovertemplate="%{x}: MAE %{y:.4f} (%{customdata[0]} rows)<extra></extra>",
    )
)
figure.add_trace(
    go.Scatter(
        x=chosen["group_name"],
        y=chosen["marcel_mae"],
        mode="markers",
        name="Marcel MAE",
        marker={"symbol": "diamond-open", "size": 10, "color": "#7f7f7f"},
    )
)
figure.update_layout(
    title=f"MAE by {attribute} (95% intervals; red: the groups of the gap)",
    yaxis_title="mean absolute error (OPS)",
)
st.plotly_chart(figure, key="fairness_chart")

residuals = go.Figure(
    go.Bar(
        x=chosen["group_name"],
        y=chosen["mean_residual"],
        error_y={
            "type": "data",
            "symmetric": False,
            "array": chosen["mean_residual_ci_high"] - chosen["mean_residual"],
            "arrayminus": chosen["mean_residual"] - chosen["mean_residual_ci_low"],
        },
    )
)
residuals.update_layout(
    title=f"Mean residual by {attribute} (above zero: projected too low)",
    yaxis_title="actual minus predicted OPS",
)
st.plotly_chart(residuals, key="residual_chart")
st.dataframe(chosen, hide_index=True, key="groups")

ui.footer()
