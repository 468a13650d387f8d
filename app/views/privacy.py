"""Privacy and audit: classification coverage, masking policies, the audit
chain."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from app import data, ui

ui.header(
    "Privacy and audit",
    "What the PII scan found (target/privacy/pii_report.json, also "
    "governance.pii_classification), the masking policies of the dbt meta "
    "and whether the audit log is intact.",
)

st.subheader("Audit log")
status = ui.attempt(data.audit_status)
if status is not None:
    damage = [p for p in status["problems"] if p["kind"] != "unmirrored"]
    if status["ok"]:
        st.success(
            f"Audit chain intact: {status['records']} records, head seq "
            f"{status['head_seq']}; the file and its warehouse mirror agree."
        )
    elif not damage:
        st.warning(
            f"Audit chain intact ({status['records']} records), but "
            f"{status['unmirrored']} record(s) were appended since the last "
            "mirror sync: run `diamond audit sync`."
        )
    else:
        st.error(
            f"Audit verification FAILED: {len(damage)} problem(s); see the "
            "report below and restore the named records."
        )
        st.dataframe(damage, hide_index=True, key="audit_problems")
    with st.expander("`diamond audit verify` report"):
        st.code(status["report"], language=None)
    actions = ui.attempt(data.audit_actions)
    if actions is not None and not actions.empty:
        st.dataframe(actions.head(50), hide_index=True, key="audit_records")

st.subheader("Classification coverage")
findings = ui.attempt(data.pii_findings)
if findings is not None:
    if findings.empty:
        st.info("The last scan found no personal data.")
    else:
        tagged = int(findings["is_tagged"].sum())
        tiles = st.columns(3)
        tiles[0].metric("Personal columns found", len(findings))
        tiles[1].metric("Tagged in the dbt meta", tagged)
        tiles[2].metric("Coverage", f"{tagged / len(findings):.0%}")
        by_schema = (
            findings.groupby(["schema", "pii_type"], as_index=False)
            .size()
            .rename(columns={"size": "columns"})
        )
        coverage = px.bar(
            by_schema,
            x="schema",
            y="columns",
            color="pii_type",
            title="Personal-data columns found, by schema and type",
        )
        st.plotly_chart(coverage, key="coverage_chart")
        untagged = findings[~findings["is_tagged"]]
        if not untagged.empty:
            st.warning(
                f"{len(untagged)} column(s) hold personal data the dbt meta does "
                "not tag; `diamond privacy check` fails on them."
            )
        st.dataframe(
            findings[
                [
                    "relation",
                    "column",
                    "pii_type",
                    "confidence",
                    "detector",
                    "is_tagged",
                    "masking_policy",
                ]
            ],
            hide_index=True,
            key="findings",
        )

st.subheader("Masking policies")
policies = ui.attempt(data.masking_policies)
if policies is not None:
    if policies.empty:
        st.info("No model column names a masking policy.")
    else:
        counts = policies.groupby("policy", as_index=False).size()
        st.plotly_chart(
            px.bar(
                counts,
                x="policy",
                y="size",
                labels={"size": "columns"},
                title="Masked columns by policy (from the dbt meta)",
            ),
            key="policy_chart",
        )
        st.dataframe(policies, hide_index=True, key="policies")

ui.footer()
