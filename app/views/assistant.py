"""The assistant: questions answered from the project's documents, with
their sources, and a verdict on each answer that goes back to its trace."""

from __future__ import annotations

import streamlit as st

from app import data, ui

ui.header(
    "Assistant",
    "Answers from the dbt manifest, the Lahman data dictionary, a baseball "
    "guide and the project's documents; every sentence cites its source.",
)

if not (data.target_dir() / "rag" / "index").is_dir():
    ui.not_built(
        "the assistant's index",
        "diamond rag index",
        "It is a step of `diamond run`. Asking still works: the first "
        "question builds the index, which takes a while.",
    )

history: list[dict] = st.session_state.setdefault("assistant_history", [])


def _send_feedback(trace_id: str, key: str) -> None:
    """Turn the thumbs widget's value (0 down, 1 up) into a trace verdict."""
    import rag

    choice = st.session_state.get(key)
    if choice is None:
        return
    try:
        warnings = rag.feedback(trace_id, 1 if choice == 1 else -1)
    except Exception as error:
        st.session_state[f"{key}_note"] = f"feedback not recorded: {error}"
        return
    note = "thank you, feedback recorded"
    if warnings:
        note += f" ({'; '.join(warnings)})"
    st.session_state[f"{key}_note"] = note


def _show(turn: dict, number: int) -> None:
    with st.chat_message("user"):
        st.markdown(turn["question"])
    with st.chat_message("assistant"):
        if turn.get("error"):
            st.error(turn["error"])
            return
        st.markdown(turn["text"])
        st.caption(turn["notice"])
        if turn["sources"]:
            title = "Closest sources searched" if turn["refused"] else "Sources"
            with st.container(key=f"sources_{number}"):
                st.markdown(f"**{title}**")
                for index, source in enumerate(turn["sources"], start=1):
                    where = f" ([docs]({source['link']}))" if source["link"] else ""
                    st.markdown(
                        f"{index}. {source['title']}: {source['section']} "
                        f"`{source['id']}`{where}"
                    )
        for warning in turn["warnings"]:
            st.caption(f"note: {warning}")
        if turn["trace_id"]:
            key = f"feedback_{turn['trace_id']}"
            st.feedback(
                "thumbs",
                key=key,
                on_change=_send_feedback,
                args=(turn["trace_id"], key),
            )
            if st.session_state.get(f"{key}_note"):
                st.caption(st.session_state[f"{key}_note"])


def _ask(question: str) -> dict:
    import rag

    try:
        answer = rag.ask(question)
    except Exception as error:
        return {"question": question, "error": f"The assistant failed: {error}"}
    return {
        "question": question,
        "text": answer.text,
        "notice": answer.notice,
        "refused": answer.refused,
        "trace_id": answer.trace_id,
        "warnings": list(answer.warnings),
        "sources": [
            {
                "id": s.id,
                "title": s.title,
                "section": s.section,
                "link": s.link,
            }
            for s in answer.sources
        ],
    }


question = st.chat_input("Ask about the data, the project or baseball")
if question:
    with st.spinner("Searching the sources..."):
        history.append(_ask(question))

if not history:
    st.markdown(
        "Try *What is WHIP?*, *Which models hold personal data?* or *Why was "
        "the 1994 season short?*"
    )
for number, turn in enumerate(history):
    _show(turn, number)

ui.footer()
