"""League trends: home runs and strikeouts per game, scoring by era, payroll
against wins."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app import data, ui

ui.header(
    "League trends",
    "How the game changed: per-team-game rates from marts.fct_league_seasons "
    "and team payrolls from marts.fct_team_seasons.",
)

seasons = ui.load(data.league_seasons)
leagues = sorted(seasons["league_id"].dropna().unique())
chosen = st.multiselect(
    "Leagues",
    leagues,
    default=[lg for lg in data.MODERN_LEAGUES if lg in leagues] or leagues,
    key="leagues",
)
shown = seasons[seasons["league_id"].isin(chosen)]
if shown.empty:
    st.info("Choose at least one league.")
    ui.stop()

st.subheader("Home runs and strikeouts per game")
long = shown.melt(
    id_vars=["season", "league_id"],
    value_vars=["home_runs_per_game", "strikeouts_per_game"],
    var_name="statistic",
    value_name="per_game",
)
long["statistic"] = long["statistic"].map(
    {"home_runs_per_game": "home runs", "strikeouts_per_game": "strikeouts"}
)
trend = px.line(
    long,
    x="season",
    y="per_game",
    color="league_id",
    facet_row="statistic",
    labels={"per_game": "per team game", "league_id": "league"},
    height=560,
)
trend.update_yaxes(matches=None)
st.plotly_chart(trend, key="trend_chart")

st.subheader("Run scoring by era")
era_order = [name for name, _, _ in data.ERAS]
by_era = px.box(
    shown,
    x="era",
    y="runs_per_game",
    points="all",
    hover_data=["season", "league_id"],
    category_orders={"era": era_order},
    labels={"runs_per_game": "runs per team game"},
)
st.plotly_chart(by_era)

st.subheader("Payroll against wins")
teams = ui.load(data.team_seasons)
paid = teams.dropna(subset=["payroll_usd"])
if paid.empty:
    st.info("No team-season has a payroll (the release records them 1985-2016).")
    ui.stop()
first, last = int(paid["season"].min()), int(paid["season"].max())
picked = st.slider(
    "Seasons", first, last, (max(first, last - 10), last), key="payroll_seasons"
)
team_ids = sorted(paid["team_id"].unique())
picked_teams = st.multiselect("Teams (all when empty)", team_ids, key="payroll_teams")
window = paid[paid["season"].between(*picked)]
if picked_teams:
    window = window[window["team_id"].isin(picked_teams)]
# Says exactly what the chart below holds, so a reader (and the browser
# test) can tell that a change of filters reached it.
st.caption(
    f"Shown: {len(window)} team-seasons, {picked[0]}-{picked[1]}, teams: "
    f"{', '.join(picked_teams) if picked_teams else 'all'}."
)
window = window.assign(payroll_musd=window["payroll_usd"] / 1e6)
scatter = px.scatter(
    window,
    x="payroll_musd",
    y="wins",
    color="season",
    hover_data=["team_id", "season", "postseason_result"],
    labels={"payroll_musd": "payroll (million USD)"},
)
fit = data.payroll_fit(window)
if fit is not None:
    intercept, slope = fit
    xs = [window["payroll_musd"].min(), window["payroll_musd"].max()]
    scatter.add_trace(
        go.Scatter(
            x=xs,
            y=[intercept + slope * x for x in xs],
            mode="lines",
            name="least squares",
            line={"color": "black", "dash": "dash"},
        )
    )
    st.caption(
        f"Each extra million dollars of payroll went with {slope:.2f} more wins "
        f"over {len(window)} team-seasons."
    )
st.plotly_chart(scatter, key="payroll_chart")

ui.footer()
