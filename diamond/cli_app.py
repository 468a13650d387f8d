"""``diamond app``: the Streamlit dashboard, and its charts as PNG files.

``diamond app [--port N] [--target T]`` serves ``app/Home.py`` on
127.0.0.1 until interrupted; ``diamond app --charts`` writes the main charts
to ``<target folder>/charts/`` instead (:func:`cmd_app_charts`, also a step
of ``diamond run``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from diamond.cli import _add_target, _say
from diamond.errors import DiamondError
from diamond.settings import check_target, project_dir

DEFAULT_PORT = 8501


def _app_dir() -> Path:
    folder = project_dir() / "app"
    if not (folder / "Home.py").is_file():
        msg = f"no dashboard at {folder / 'Home.py'}: run diamond from the project"
        raise DiamondError(msg)
    return folder


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The command line serving the dashboard, headless and without the
    usage statistics Streamlit otherwise sends to the internet."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(_app_dir() / "Home.py"),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the dashboard (or, with ``--charts``, write its PNG charts)."""
    if getattr(args, "charts", False):
        return cmd_app_charts(args)
    try:
        import streamlit  # noqa: F401
    except ImportError as error:
        msg = (
            "the dashboard needs streamlit and plotly: "
            "`.venv/bin/pip install streamlit plotly`"
        )
        raise DiamondError(msg) from error
    env = dict(os.environ)
    target = env["DIAMOND_TARGET"] = check_target(args.target)
    _say(
        f"dashboard on http://127.0.0.1:{args.port} (warehouse {target}); "
        "Ctrl-C stops it"
    )
    command = streamlit_command(args.port)
    os.chdir(project_dir())
    # Become the Streamlit server rather than its parent, so that a signal
    # sent to this process (Ctrl-C, a service manager's stop) reaches the
    # server and leaves nothing behind.
    os.execve(command[0], command, env)
    return 0  # not reached: execve replaced this process


def cmd_app_charts(args: argparse.Namespace) -> int:
    """Write the dashboard's main charts as PNG into ``<target>/charts/``.

    Charts whose data is not built are left out, each with a line naming
    what is missing and the command producing it; on Athena, which is not
    queried from here, nothing is drawn.
    """
    target = check_target(getattr(args, "target", None))
    if target == "athena":
        _say("charts read the warehouse; on athena they are not drawn")
        return 0
    folder = str(_app_dir().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    from app.charts import write_charts

    def skipped(name: str, missing: Exception) -> None:
        _say(f"chart {name} skipped: {missing}")

    written = write_charts(target, on_skip=skipped)
    where = written[0].parent if written else "nowhere (no chart had its data)"
    _say(f"wrote {len(written)} chart(s) to {where}")
    return 0


def add_app_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``diamond app`` to the command's subparsers."""
    app = sub.add_parser(
        "app",
        help="the dashboard (Streamlit) on http://127.0.0.1:PORT",
        description="Serve the dashboard over the governed marts, the model, "
        "drift, lineage, privacy, audit and the assistant; or, with --charts, "
        "write its main charts as PNG files to <target folder>/charts/.",
    )
    _add_target(app, "read")
    app.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to serve on (default {DEFAULT_PORT})",
    )
    app.add_argument(
        "--charts",
        action="store_true",
        help="write the PNG charts to <target folder>/charts/ and exit",
    )
    app.set_defaults(func=cmd_app)
