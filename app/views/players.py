"""Players and teams: career lines, season tables, leader boards and team
seasons. Names are shown exactly as marts.dim_players gives them, so the
masking policies of the dbt meta decide what appears here."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from app import data, ui

ui.header(
    "Players and teams",
    "Regular-season batting from marts.fct_batting_careers and "
    "marts.fct_batting_seasons, leaders from marts.fct_season_leaders.",
)

careers_tab, leaders_tab, teams_tab = st.tabs(
    ["Careers and seasons", "Season leaders", "Team seasons"]
)

with careers_tab:
    name = st.text_input("Player name contains", "", key="player_name")
    careers = ui.attempt(data.batting_careers, name)
    if careers is not None:
        st.subheader("Career batting lines (most hits first)")
        st.dataframe(careers, hide_index=True, key="careers")
        if careers.empty:
            st.info("No player matches that name.")
        else:
            labels = {
                row.player_id: f"{row.full_name or row.player_id} "
                f"({row.first_season}-{row.last_season})"
                for row in careers.itertuples()
            }
            player = st.selectbox(
                "Season by season", list(labels), format_func=labels.get, key="player"
            )
            line = careers[careers["player_id"] == player].iloc[0]
            ops = data.finite(line["on_base_plus_slugging"])
            st.caption(
                f"Career of {labels[player]}, `{player}`: {line['season_count']} "
                f"seasons, {line['games']} games, {line['hits']} hits, "
                f"{line['home_runs']} home runs, OPS "
                f"{'n/a' if ops is None else f'{ops:.3f}'}."
            )
            seasons = ui.attempt(data.batting_seasons, player)
            if seasons is not None and not seasons.empty:
                st.dataframe(seasons, hide_index=True, key="seasons")
                rates = px.line(
                    seasons,
                    x="season",
                    y=["on_base_plus_slugging", "batting_average"],
                    markers=True,
                    labels={"value": "rate", "variable": "statistic"},
                    title=f"{labels[player]}: OPS and batting average",
                )
                st.plotly_chart(rates, key="player_chart")

with leaders_tab:
    categories = ui.attempt(data.leader_categories)
    teams = ui.attempt(data.team_seasons)
    if categories and teams is not None:
        first, last = int(teams["season"].min()), int(teams["season"].max())
        left, right = st.columns(2)
        season = left.number_input(
            "Season", first, last, last, step=1, key="leaders_season"
        )
        default = categories.index("home_runs") if "home_runs" in categories else 0
        category = right.selectbox(
            "Category", categories, index=default, key="leaders_category"
        )
        leaders = ui.attempt(data.season_leaders, int(season), category)
        if leaders is not None:
            st.subheader(f"{category.replace('_', ' ')} leaders, {int(season)}")
            st.dataframe(leaders, hide_index=True, key="leaders")
            if not leaders.empty:
                top = leaders.iloc[0]
                st.caption(
                    f"Leaders: {len(leaders)} rows; first `{top['player_id']}` "
                    f"({top['league_id']}, {top['team_id']}) with "
                    f"{top['stat_value']}."
                )

with teams_tab:
    teams = ui.attempt(data.team_seasons)
    if teams is not None:
        first, last = int(teams["season"].min()), int(teams["season"].max())
        season = st.slider("Team season", first, last, last, key="team_season")
        table = teams[teams["season"] == season].sort_values(
            ["wins", "team_id"], ascending=[False, True]
        )
        st.dataframe(table, hide_index=True, key="teams")
        if not table.empty:
            best = table.iloc[0]
            st.caption(
                f"Team seasons: {len(table)} teams in {season}; most wins "
                f"`{best['team_id']}` ({best['wins']})."
            )

ui.footer()
