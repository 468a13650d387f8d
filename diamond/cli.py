"""The ``diamond`` command: one entry point for every step of the platform.

``diamond run`` walks the whole flow (ingest, then ``dbt build``) and stops
at the first step that fails, naming it. Each step also runs on its own.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from diamond import __version__
from diamond.errors import DiamondError
from diamond.settings import TARGETS

log = logging.getLogger("diamond")


def _say(message: str) -> None:
    print(f"[diamond] {message}", file=sys.stderr, flush=True)


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help="warehouse to use (default: $DIAMOND_TARGET, else duckdb)",
    )


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        metavar="PATH_OR_URL",
        default=None,
        help=(
            "release to load: a zip or folder of a Lahman/baseballdatabank "
            "release, or an https URL (downloaded once, checksum verified). "
            "Default: the release shipped in the lahman package (offline)."
        ),
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    from diamond.ingest import ingest

    result = ingest(
        args.target,
        args.source,
        force=args.force,
        revalidate=getattr(args, "revalidate", False),
        progress=_say,
    )
    if result.status == "loaded":
        _say(
            f"{result.tables} tables, {result.rows:,} rows from {result.source} "
            f"({result.version}); validation report: {result.validation_report}"
        )
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from diamond.dbt import run_dbt

    run_dbt(["build", *getattr(args, "dbt_args", [])], args.target)
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from diamond.dbt import run_dbt

    if not args.dbt_args:
        _say("give a dbt command, e.g. `diamond dbt -- debug`")
        return 2
    run_dbt(args.dbt_args, args.target)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from diamond.dbt import run_dbt

    run_dbt(["docs", "generate"], args.target)
    if args.serve:
        _say(f"serving the dbt docs on http://127.0.0.1:{args.port}")
        run_dbt(
            [
                "docs",
                "serve",
                "--port",
                str(args.port),
                "--host",
                "127.0.0.1",
                "--no-browser",
            ],
            args.target,
        )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from diamond.warehouse import load_history

    rows = load_history(args.target, limit=args.limit)
    if not rows:
        _say("no loads recorded yet: run `diamond ingest`")
        return 0
    header = ("finished_at", "status", "version", "rows", "load_id", "error")
    print("  ".join(header))
    for row in rows:
        print("  ".join("" if v is None else str(v) for v in row))
    return 0


@dataclass(frozen=True)
class Step:
    """One step of ``diamond run``."""

    name: str
    action: Callable[[argparse.Namespace], int]


def run_steps() -> list[Step]:
    """The steps of the main job, in order."""
    return [
        Step("ingest", cmd_ingest),
        Step("dbt build", cmd_build),
    ]


def cmd_run(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    steps = run_steps()
    for number, step in enumerate(steps, start=1):
        _say(f"step {number}/{len(steps)}: {step.name}")
        try:
            step.action(args)
        except DiamondError as exc:
            _say(f"step {number}/{len(steps)} ({step.name}) failed: {exc}")
            return 1
    _say(f"all {len(steps)} steps done in {time.perf_counter() - began:.1f}s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diamond",
        description=(
            "diamond: a governed data and AI platform over the Lahman "
            "Baseball Database. `diamond run` loads the data and builds "
            "every model; the other commands run one step."
        ),
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug details"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="the main job: ingest the release, then dbt build",
        description="Ingest the release, then build and test every dbt model. "
        "Stops at the first failing step and says which.",
    )
    _add_target(run)
    _add_source(run)
    run.add_argument(
        "--force", action="store_true", help="reload raw data even if unchanged"
    )
    run.set_defaults(func=cmd_run)

    ingest = sub.add_parser(
        "ingest",
        help="validate a release and load it into the raw schema",
        description="Validate every CSV of a release against its contract "
        "(columns, types, keys, references) and load all tables into the "
        "raw schema in one transaction. A bad file stops the load with the "
        "file, line and column; data already loaded stay as they were. "
        "Loading the same release again changes nothing.",
    )
    _add_target(ingest)
    _add_source(ingest)
    ingest.add_argument(
        "--force", action="store_true", help="reload even if the data are unchanged"
    )
    ingest.add_argument(
        "--revalidate",
        action="store_true",
        help="run every great_expectations check even if this exact release "
        "passed before",
    )
    ingest.set_defaults(func=cmd_ingest)

    build = sub.add_parser(
        "build",
        help="dbt build: run and test every model",
        description="Run `dbt build` with this project's profile. Extra "
        "arguments after `--` go to dbt, e.g. `diamond build -- -s marts`.",
    )
    _add_target(build)
    build.add_argument("dbt_args", nargs=argparse.REMAINDER)
    build.set_defaults(func=cmd_build)

    docs = sub.add_parser(
        "docs",
        help="generate (and optionally serve) the dbt documentation site",
    )
    _add_target(docs)
    docs.add_argument("--serve", action="store_true", help="serve after generating")
    docs.add_argument("--port", type=int, default=8080, help="port for --serve")
    docs.set_defaults(func=cmd_docs)

    status = sub.add_parser("status", help="show the latest loads from raw.load_log")
    _add_target(status)
    status.add_argument("--limit", type=int, default=10, help="rows to show")
    status.set_defaults(func=cmd_status)

    dbt = sub.add_parser(
        "dbt",
        help="any dbt command with this project's profile and warehouse",
        description="Pass a command to dbt, e.g. `diamond dbt -- debug`.",
    )
    _add_target(dbt)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``diamond`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "dbt_args", None) and args.dbt_args[0] == "--":
        args.dbt_args = args.dbt_args[1:]
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except DiamondError as exc:
        _say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
