"""The next-season OPS model: metrics against the baselines, SHAP, the card."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app import data, ui

ui.header(
    "Model",
    "The next-season OPS model from the ml schema, compared with Marcel and "
    "with 'same as last season' on identical rows.",
)

version = ui.load(data.model_version)
trained = ui.attempt(data.model_trained_at)
when = pd.Timestamp(trained) if trained is not None else pd.NaT
# Read on every rerun, never from the cache: a switch turned off must take
# effect on the next page view. A file that cannot be read counts as off.
switch = ui.attempt(data.model_switch, fresh=True) or {"in_service": False}
in_service = bool(switch["in_service"])
if in_service:
    st.markdown(
        f"Model in service: `{version}`"
        + (f", trained {when:%Y-%m-%d %H:%M:%S}" if pd.notna(when) else "")
    )
else:
    st.error(
        f"The model is out of service (kill switch off: "
        f"{switch.get('reason') or 'reason unknown'}; by {switch.get('by')} at "
        f"{switch.get('at')}). Its forecasts are withheld and Marcel's "
        "projections shown instead, as the incident runbook prescribes. "
        "`diamond governance kill-switch model on --reason ...` restores it.",
        icon=":material/block:",
    )

st.subheader("Metrics against the baselines")
metrics = ui.load(data.model_metrics)
splits = [s for s in ("train", "validation", "test") if s in set(metrics["split"])]
test = metrics[metrics["split"] == "test"].set_index("predictor")
if {"model", "marcel"} <= set(test.index):
    columns = st.columns(3)
    columns[0].metric("Test MAE, model", f"{test.loc['model', 'mae']:.4f}")
    columns[1].metric("Test MAE, Marcel", f"{test.loc['marcel', 'mae']:.4f}")
    gain = data.finite(test.loc["model", "mae_improvement_over_marcel"])
    columns[2].metric("Gain over Marcel", "n/a" if gain is None else f"{gain:+.1%}")
bars = px.bar(
    metrics,
    x="split",
    y="mae",
    color="predictor",
    barmode="group",
    category_orders={
        "split": splits,
        "predictor": ["model", "marcel", "last_season"],
    },
    labels={"mae": "mean absolute error (OPS)"},
    hover_data=["rows", "rmse", "r_squared"],
)
st.plotly_chart(bars, key="metrics_chart")
st.dataframe(metrics, hide_index=True)

st.subheader("SHAP summary: which features move the predictions")
importance = ui.load(data.feature_importance)
summary = px.bar(
    importance.sort_values("mean_abs_shap"),
    x="mean_abs_shap",
    y="feature",
    orientation="h",
    labels={"mean_abs_shap": "mean |SHAP value| (OPS)"},
    height=max(320, 24 * len(importance)),
)
st.plotly_chart(summary, key="shap_summary")

if not in_service:
    st.subheader("Marcel's projections, in place of the model's")
    projections = ui.load(data.marcel_projections)
    seasons = sorted(projections["target_season"].unique(), reverse=True)
    season = st.selectbox("Projected season", seasons, key="marcel_season")
    shown = projections[projections["target_season"] == season]
    st.dataframe(
        shown.rename(columns={"marcel_ops": "Marcel OPS"}),
        hide_index=True,
        key="marcel_projections",
    )
    st.caption(
        f"Marcel's projections: {len(shown)} players in {int(season)}, from "
        f"ml.ml_predictions of `{version}`; the model's own are withheld."
    )

st.subheader("One prediction explained")
players = ui.load(data.explained_players) if in_service else None
if players is None:
    st.info("Withheld while the model is out of service.")
elif players.empty:
    st.info("No prediction has a SHAP explanation yet; run `diamond ml train`.")
else:
    seasons = sorted(players["target_season"].unique(), reverse=True)
    season = st.selectbox("Projected season", seasons, key="explained_season")
    in_season = players[players["target_season"] == season]
    labels = {
        row.player_id: f"{row.full_name or row.player_id} "
        f"(predicted OPS {row.predicted_ops:.3f}, {row.split})"
        for row in in_season.itertuples()
    }
    player = st.selectbox(
        "Player", list(labels), format_func=labels.get, key="explained_player"
    )
    contributions = ui.load(data.explanation, player, int(season))
    if not contributions.empty:
        # The model learns a correction to Marcel, so a prediction is
        # Marcel's projection plus the explainer's base value plus the SHAP
        # value of every feature.
        marcel = float(contributions["marcel_ops"].iloc[0])
        base = float(contributions["base_value"].iloc[0])
        top = contributions.nsmallest(12, "contribution_rank")
        rest = float(contributions["shap_value"].sum() - top["shap_value"].sum())
        prediction = marcel + base + float(contributions["shap_value"].sum())
        steps = [
            ("Marcel projection", marcel, "absolute"),
            ("model base value", base, "relative"),
            *((row.feature, row.shap_value, "relative") for row in top.itertuples()),
            ("other features", rest, "relative"),
            ("prediction", 0.0, "total"),
        ]
        waterfall = go.Figure(
            go.Waterfall(
                orientation="h",
                y=[name for name, _, _ in steps],
                x=[value for _, value, _ in steps],
                measure=[kind for _, _, kind in steps],
                text=[
                    f"{value:.3f}" if kind == "absolute" else f"{value:+.3f}"
                    for _, value, kind in steps[:-1]
                ]
                + [f"{prediction:.3f}"],
            )
        )
        waterfall.update_layout(
            title=f"{labels[player]}: Marcel {marcel:.3f}, model {prediction:.3f}",
            yaxis={"autorange": "reversed"},
            xaxis={
                "range": [min(marcel, prediction) - 0.1, max(marcel, prediction) + 0.1]
            },
            height=160 + 28 * len(steps),
        )
        st.plotly_chart(waterfall, key="shap_player")
        predicted = in_season.loc[in_season["player_id"] == player, "predicted_ops"]
        st.caption(
            f"Explained: `{player}` in {int(season)}, predicted OPS "
            f"{float(predicted.iloc[0]):.3f} in ml.ml_predictions, Marcel "
            f"{marcel:.3f}, {len(contributions)} features."
        )
        st.caption(
            "The model corrects Marcel's projection: bars are the SHAP values of "
            "the twelve largest contributions, then the rest together."
        )

st.subheader("Model card")
card = ui.attempt(data.model_card)
if card is not None:
    text, path = card
    st.caption(f"from {path}")
    with st.container(border=True, key="model_card"):
        st.markdown(text)

ui.footer()
