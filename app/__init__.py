"""The diamond dashboard (Streamlit): ``diamond app`` or
``streamlit run app/Home.py``. Helpers live in :mod:`app.data` (queries) and
:mod:`app.ui` (Streamlit pieces); the static charts in :mod:`app.charts`."""
