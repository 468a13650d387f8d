"""Lineage: the dbt graph around one relation, and where personal data flows."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import data, ui

# The same colours as the HTML picture of `diamond lineage graph`.
from governance.lineage.graph import LAYER_COLOURS, PII_COLOUR

#: The chosen column in the column-level graph.
FOCUS_COLOUR = "#f58518"


def _edges(at: dict[str, tuple[float, float]], edges: list) -> go.Figure:
    """A figure holding one grey line per edge between the positions ``at``
    (x to the right, y upwards), for the nodes to be drawn over."""
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for parent, child in edges:
        edge_x += [at[parent][0], at[child][0], None]
        edge_y += [at[parent][1], at[child][1], None]
    return go.Figure(
        go.Scatter(
            x=edge_x,
            y=edge_y,
            mode="lines",
            line={"color": "#999", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )


def _flow_figure(flow: dict, ref: str) -> go.Figure:
    """The column-level graph: hops from the chosen column left to right."""
    at = {n["key"]: (n["depth"], -n["row"]) for n in flow["nodes"]}
    figure = _edges(at, flow["edges"])
    figure.add_trace(
        go.Scatter(
            x=[n["depth"] for n in flow["nodes"]],
            y=[-n["row"] for n in flow["nodes"]],
            mode="markers+text",
            text=[n["label"] for n in flow["nodes"]],
            textposition="top center",
            textfont={"size": 10},
            marker={
                "size": [20 if n["is_root"] else 12 for n in flow["nodes"]],
                "color": [
                    FOCUS_COLOUR if n["is_root"] else "#4c78a8" for n in flow["nodes"]
                ],
            },
            hovertext=[f"{n['label']} ({n['resource_type']})" for n in flow["nodes"]],
            hoverinfo="text",
            showlegend=False,
        )
    )
    rows = max((n["row"] for n in flow["nodes"]), default=0)
    figure.update_layout(
        title=f"Column lineage downstream of {ref}",
        height=max(360, 60 * (rows + 2)),
        xaxis={"title": "hops from the column", "dtick": 1},
        yaxis={"visible": False},
    )
    return figure


ui.header(
    "Lineage",
    "The dbt lineage graph (from target/manifest.json) around a chosen "
    "relation, and the column-level flow of any of its columns; a red "
    "outline marks relations holding personal data.",
)

choices = ui.load(data.lineage_choices)
default = choices.index("dim_players") if "dim_players" in choices else 0
left, right = st.columns([3, 1])
around = left.selectbox("Relation", choices, index=default, key="lineage_relation")
depth = right.slider("Hops each way", 1, 6, 2, key="lineage_depth")
graph = ui.load(data.lineage_graph, around, depth)

figure = _edges(
    {node["id"]: (node["rank"], -node["row"]) for node in graph["nodes"]},
    graph["edges"],
)
for layer, colour in LAYER_COLOURS.items():
    members = [n for n in graph["nodes"] if n["layer"] == layer]
    if not members:
        continue
    figure.add_trace(
        go.Scatter(
            x=[n["rank"] for n in members],
            y=[-n["row"] for n in members],
            mode="markers+text",
            name=layer,
            text=[n["label"] for n in members],
            # Alternate labels above and below so neighbours do not overlap.
            textposition=[
                "top center" if (n["row"] + n["rank"]) % 2 == 0 else "bottom center"
                for n in members
            ],
            textfont={"size": 10},
            marker={
                "size": [22 if n["id"] == graph["focus"] else 14 for n in members],
                "color": colour,
                "line": {
                    "color": [
                        PII_COLOUR if n["pii_columns"] else "#555" for n in members
                    ],
                    "width": [3 if n["pii_columns"] else 1 for n in members],
                },
            },
            hovertext=[
                f"{n['id']}<br>layer: {n['layer']}<br>tests: {n['tests']}"
                + (
                    "<br>PII: " + ", ".join(n["pii_columns"][:8])
                    if n["pii_columns"]
                    else ""
                )
                for n in members
            ],
            hoverinfo="text",
        )
    )
figure.update_layout(
    title=graph["title"],
    height=max(480, 90 * (1 + max((n["row"] for n in graph["nodes"]), default=0))),
    xaxis={"visible": False},
    yaxis={"visible": False},
    legend={"title": "layer"},
)
st.plotly_chart(figure, key="lineage_graph")
st.caption(
    f"{len(graph['nodes'])} relations, {len(graph['edges'])} edges; data flows "
    "left to right. `diamond lineage graph --around NAME` writes the same "
    "graph as a standalone HTML page."
)
with st.expander("The same graph as SVG"):
    st.image(graph["svg"])

st.subheader("Personal data in this neighbourhood")
holding = pd.DataFrame(
    [
        {"relation": n["label"], "layer": n["layer"], "pii_column": column}
        for n in graph["nodes"]
        for column in n["pii_columns"]
    ],
    columns=["relation", "layer", "pii_column"],
)
if holding.empty:
    st.info("No relation in this neighbourhood holds columns tagged as personal.")
else:
    st.dataframe(holding, hide_index=True, key="pii_nodes")

st.subheader("Where one column flows")
columns = ui.attempt(data.columns_of, around)
if columns:
    personal = set(ui.attempt(data.pii_columns_of, around) or [])
    column = st.selectbox(
        f"Column of {around} (personal ones first)",
        columns,
        format_func=lambda name: f"{name} (personal)" if name in personal else name,
        key="lineage_column",
    )
    if st.button("Trace it downstream", key="trace"):
        ref = f"{around}.{column}"
        flows = ui.attempt(data.column_impact, ref)
        flow = ui.attempt(data.column_flow, ref)
        if flows is not None and flow is not None:
            if flows.empty:
                st.info("Nothing downstream reads this column.")
            else:
                st.plotly_chart(_flow_figure(flow, ref), key="column_flow")
                reached = sorted(set(flows["relation"]))
                st.caption(
                    f"Downstream of {ref}: {len(flows)} node(s) in "
                    f"{len(reached)} relation(s): {', '.join(reached)}."
                )
                st.dataframe(flows, hide_index=True, key="pii_flow")
elif columns is not None:
    st.info(f"{around} documents no columns in the manifest.")

ui.footer()
