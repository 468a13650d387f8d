"""Streamlit pieces every page of the dashboard shares.

:func:`load` runs a function of :mod:`data` through ``st.cache_data`` and,
when the data is not there yet, tells the reader which command produces it
("Not built yet") instead of showing a traceback; data that exists but
cannot be read (a file locked by a build, a server down) gets a note of its
own ("cannot be read"). Any other error is a fault of the page and is
raised, so that it shows as one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import streamlit as st

from app import data

T = TypeVar("T")

#: Seconds a cached query result is reused; a rebuild shows up after this.
CACHE_SECONDS = int(os.environ.get("DIAMOND_APP_CACHE_SECONDS", "60"))

_CACHED: dict[Callable[..., Any], Callable[..., Any]] = {}


#: Opening words of the note on data not produced yet.
NOT_BUILT = "Not built yet"
#: Opening words of the note on data that exists but cannot be read.
UNREADABLE = "The data for this section cannot be read"


def header(title: str, summary: str) -> None:
    """The page's title, a one-line summary and where the data come from,
    with a note when that warehouse is one the dashboard does not query."""
    st.title(title)
    st.caption(f"{summary} Warehouse: **{data.target()}**.")
    note = data.target_note()
    if note is not None:
        st.warning(note, icon=":material/database_off:")


def not_built(what: str, command: str, more: str = "") -> None:
    """The note on data that has not been produced yet: what, and the
    command that produces it."""
    st.info(
        f"{NOT_BUILT}: **{what}**. Produce it with `{command}`, then reload "
        f"this page.{f' {more}' if more else ''}"
    )


def cached(func: Callable[..., T]) -> Callable[..., T]:
    """``func`` behind ``st.cache_data``, wrapped once per process."""
    if func not in _CACHED:
        _CACHED[func] = st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)(func)
    return _CACHED[func]


def _explain(error: BaseException) -> None:
    if isinstance(error, data.NotBuiltError):
        not_built(error.what, error.command)
    elif isinstance(error, data.UnqueriedTargetError):
        # The header already says why and what to do, once for the page.
        st.caption("Not shown: this section queries the warehouse.")
    else:
        st.warning(
            f"{UNREADABLE}: {error}. If `diamond run` is building the "
            "warehouse, wait for it to finish."
        )


def attempt(
    func: Callable[..., T], *args: Any, fresh: bool = False, **kwargs: Any
) -> T | None:
    """The cached result of ``func`` (a new one with ``fresh``), or None
    after explaining what is missing."""
    try:
        return (func if fresh else cached(func))(*args, **kwargs)
    except data.read_errors() as error:
        # Not only DiamondError: DuckDB reports a file locked by a running
        # build as an error type of its own, and a reader is better served
        # by that message than by a traceback. Other errors are bugs, and
        # hiding them behind a note would let a broken page pass for one
        # waiting on its data.
        _explain(error)
    return None


def footer() -> None:
    """The last line of every page: when it was drawn, and from where."""
    st.caption(
        f"Page drawn at {datetime.now(UTC):%H:%M:%S} UTC from the "
        f"{data.target()} warehouse; query results are reused for "
        f"{CACHE_SECONDS} s."
    )


def stop() -> None:
    """End the page here, footer included."""
    footer()
    st.stop()


def load(func: Callable[..., T], *args: Any, fresh: bool = False, **kwargs: Any) -> T:
    """Like :func:`attempt`, but end the page when the data is missing."""
    result = attempt(func, *args, fresh=fresh, **kwargs)
    if result is None:
        stop()
    return result
