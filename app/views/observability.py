"""LLM observability: the assistant's latency, groundedness, hallucination
and refusal rates from its traces, and its evaluation on the golden set."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from app import data, ui

ui.header(
    "LLM observability",
    "Every question the assistant answered (target/rag/traces.jsonl, mirrored "
    "to governance.rag_traces) and the last golden-set evaluation "
    "(target/rag/eval.json).",
)


def _rate(value: object) -> str:
    number = data.finite(value)
    return "n/a" if number is None else f"{number:.1%}"


def _ms(value: object) -> str:
    number = data.finite(value)
    return "n/a" if number is None else f"{number:,.0f} ms"


st.subheader("Traces")
# Read afresh on every visit: a question asked a moment ago on the
# Assistant page must show here, and the file is small.
traces = ui.attempt(data.rag_traces, fresh=True)
if traces is not None:
    if traces.empty:
        st.info(
            "No question has been traced yet: ask one on the Assistant page or "
            'with `diamond ask "What is WHIP?"`.'
        )
    else:
        figures = ui.attempt(data.rag_stats, fresh=True) or {}
        tiles = st.columns(6)
        tiles[0].metric("Questions", figures.get("questions", len(traces)))
        tiles[1].metric("p50 latency", _ms(figures.get("total_ms_p50")))
        tiles[2].metric("p95 latency", _ms(figures.get("total_ms_p95")))
        tiles[3].metric("Groundedness", _rate(figures.get("groundedness")))
        tiles[4].metric("Hallucination rate", _rate(figures.get("hallucination_rate")))
        tiles[5].metric("Refusal rate", _rate(figures.get("refusal_rate")))
        window = st.slider(
            "Rolling window (questions)", 5, 200, 20, key="latency_window"
        )
        latency = data.latency_over_time(traces, window)
        st.plotly_chart(
            px.line(
                latency.melt(id_vars="asked_at", var_name="percentile"),
                x="asked_at",
                y="value",
                color="percentile",
                markers=True,
                labels={"value": "total latency (ms)", "asked_at": "asked at"},
                title=f"Latency p50 and p95 over the last {window} questions",
            ),
            key="latency_chart",
        )
        daily = (
            traces.assign(day=traces["asked_at"].dt.floor("D"))
            .groupby("day", as_index=False)
            .agg(
                questions=("trace_id", "count"),
                groundedness=("groundedness", "mean"),
                hallucination_rate=("hallucinated", "mean"),
                refusal_rate=("refused", "mean"),
            )
        )
        rates = px.line(
            daily.assign(day=daily["day"].dt.strftime("%Y-%m-%d")).melt(
                id_vars=["day", "questions"],
                value_vars=["groundedness", "hallucination_rate", "refusal_rate"],
                var_name="rate",
            ),
            x="day",
            y="value",
            color="rate",
            markers=True,
            labels={"value": "share"},
            title="Groundedness, hallucination and refusal rates by day",
        )
        # One tick a day: on a time axis a single day spreads over
        # milliseconds.
        rates.update_xaxes(type="category")
        st.plotly_chart(rates, key="rates_chart")
        st.dataframe(
            traces.sort_values("asked_at", ascending=False).head(100),
            hide_index=True,
            key="traces",
        )

st.subheader("Evaluation on the golden questions")
evaluation = ui.attempt(data.rag_eval)
if evaluation is not None:
    metrics = evaluation.get("metrics", {})
    thresholds = evaluation.get("thresholds", {})
    failures = evaluation.get("failures", [])
    if failures:
        st.error("Below the thresholds: " + "; ".join(map(str, failures)))
    else:
        limits = ", ".join(f"{k} {v}" for k, v in thresholds.items())
        st.success(
            f"Every threshold met ({limits}); evaluated "
            f"{evaluation.get('evaluated_at')} with {evaluation.get('mode')} "
            "retrieval."
        )
    shown = pd.DataFrame(
        [
            {"metric": name, "value": value, "threshold": thresholds.get(name)}
            for name, value in metrics.items()
        ]
    )
    st.dataframe(shown, hide_index=True, key="eval_metrics")
    rates = shown[
        shown["metric"].isin(
            [
                "hit_at_5",
                "mrr",
                "citation_precision",
                "faithfulness",
                "key_fact_accuracy",
                "hallucination_rate",
                "refusal_accuracy",
            ]
        )
    ]
    st.plotly_chart(
        px.bar(rates, x="metric", y="value", range_y=[0, 1], title="Golden-set scores"),
        key="eval_chart",
    )
    outcomes = pd.DataFrame(evaluation.get("outcomes", []))
    if not outcomes.empty:
        wrong = outcomes[
            (outcomes["refused"] != outcomes["refuse_expected"])
            | outcomes["hallucinated"].astype(bool)
            | outcomes["key_facts_missing"].map(bool)
        ]
        with st.expander(f"{len(wrong)} question(s) with a miss"):
            st.dataframe(
                wrong[
                    [
                        "id",
                        "question",
                        "refused",
                        "refuse_expected",
                        "rank",
                        "key_facts_missing",
                        "groundedness",
                    ]
                ],
                hide_index=True,
            )

ui.footer()
