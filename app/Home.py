"""The diamond dashboard: ``streamlit run app/Home.py`` (or ``diamond app``).

This script is the entry point and the page router (``st.navigation``);
each page is a script in ``app/views/``. The folder is not called
``pages/``: Streamlit would then also serve each script on its own, without
this router, to a browser opening a page's address directly.

The dashboard reads the warehouse ``DIAMOND_TARGET`` names (DuckDB by
default) and the dbt target folder (``DBT_TARGET_PATH``), the same settings
every ``diamond`` command uses.
"""

# The entry script keeps Streamlit's customary capitalised name, which
# `streamlit run app/Home.py` and the README use; it is never imported.
# ruff: noqa: N999
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
# Streamlit puts only this script's folder on sys.path; the pages import
# their helpers as the package ``app``, which lives in the project folder.
if str(APP_DIR.parent) not in sys.path:
    sys.path.insert(0, str(APP_DIR.parent))

from app import data  # noqa: E402

PAGES = [
    ("home.py", "Home", ":material/home:", "home"),
    ("league.py", "League trends", ":material/show_chart:", "league"),
    ("players.py", "Players and teams", ":material/groups:", "players"),
    ("model.py", "Model", ":material/model_training:", "model"),
    ("fairness.py", "Fairness", ":material/balance:", "fairness"),
    ("drift.py", "Drift", ":material/monitor_heart:", "drift"),
    ("lineage.py", "Lineage", ":material/account_tree:", "lineage"),
    ("privacy.py", "Privacy and audit", ":material/shield:", "privacy"),
    ("assistant.py", "Assistant", ":material/chat:", "assistant"),
    ("observability.py", "LLM observability", ":material/speed:", "observability"),
]

st.set_page_config(page_title="diamond", page_icon=":baseball:", layout="wide")
navigation = st.navigation(
    [
        st.Page(
            str(APP_DIR / "views" / file),
            title=title,
            icon=icon,
            url_path=path,
            default=path == "home",
        )
        for file, title, icon, path in PAGES
    ]
)
st.sidebar.caption(f"warehouse: {data.target()} · target folder: {data.target_dir()}")
navigation.run()
