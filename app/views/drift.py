"""Drift: monitor history, the verdicts of the latest check, its alerts."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from app import data, ui

ui.header(
    "Drift",
    "Drift and health monitors declared in the dbt meta: every result in "
    "governance.drift_history, the latest check and its alerts under "
    "target/drift/.",
)

st.subheader("Current verdicts")
report = ui.attempt(data.drift_report)
if report is not None:
    results = pd.DataFrame(
        [
            {
                "monitor": r.get("monitor"),
                "kind": r.get("kind"),
                "relation": r.get("relation"),
                "status": r.get("status"),
                "summary": r.get("summary"),
            }
            for r in report.get("results", [])
        ],
        columns=["monitor", "kind", "relation", "status", "summary"],
    )
    counts = results["status"].value_counts()
    tiles = st.columns(4)
    tiles[0].metric("Monitors", len(results))
    tiles[1].metric("Drift", int(counts.get("drift", 0)))
    tiles[2].metric("OK", int(counts.get("ok", 0)))
    tiles[3].metric("Alerts", len(report.get("alerts", [])))
    st.caption(
        f"Check {report.get('run_id')} at {report.get('checked_at')} on "
        f"{report.get('target')}."
    )
    st.dataframe(results, hide_index=True, key="verdicts")

    st.subheader("Open alerts")
    alerts = report.get("alerts", [])
    if not alerts:
        st.success("The latest check raised no alert.")
    for alert in alerts:
        with st.expander(
            f"[{alert.get('severity')}] {alert.get('monitor')}: {alert.get('summary')}"
        ):
            st.markdown(
                f"Relation `{alert.get('relation')}`, owner "
                f"**{alert.get('owner')}**, incident `{alert.get('incident_id')}`, "
                f"raised {alert.get('created_at')}."
            )
            for action in alert.get("first_actions", []):
                st.markdown(f"- {action}")

st.subheader("Monitor history")
history = ui.attempt(data.drift_history)
if history is not None:
    deciding = history[history["is_deciding"].astype(bool)].copy()
    if deciding.empty:
        st.info("governance.drift_history has no deciding checks yet.")
    else:
        monitors = sorted(deciding["monitor"].unique())
        monitor = st.selectbox("Monitor", monitors, key="drift_monitor")
        rows = deciding[deciding["monitor"] == monitor].copy()
        rows["series"] = (
            rows["column_name"].fillna("(relation)")
            + " · "
            + rows["check_name"].astype(str)
        )
        rows["ratio_to_threshold"] = rows["statistic"] / rows["threshold"]
        over_time = px.line(
            rows,
            x="checked_at",
            y="ratio_to_threshold",
            color="series",
            markers=True,
            hover_data=["statistic", "threshold", "verdict", "current_window"],
            labels={"ratio_to_threshold": "statistic / threshold (1 = alarm)"},
            title=f"{monitor}: each check against its threshold, run by run",
        )
        over_time.add_hline(y=1.0, line_dash="dash", line_color="#d62728")
        st.plotly_chart(over_time, key="drift_history_chart")
        runs = deciding.groupby("run_id")["checked_at"].max().sort_values()
        st.caption(
            f"{len(runs)} check run(s) in the history; "
            f"{len(deciding)} deciding results."
        )
        st.dataframe(
            rows.drop(columns=["series", "is_deciding"]),
            hide_index=True,
            key="history",
        )

st.subheader("Every alert raised")
raised = ui.attempt(data.drift_alerts)
if raised:
    st.dataframe(
        pd.DataFrame(raised)[
            ["created_at", "severity", "monitor", "relation", "owner", "summary"]
        ],
        hide_index=True,
        key="alerts",
    )
elif raised is not None:
    st.info("No alert recorded yet in target/drift/alerts.jsonl.")

ui.footer()
