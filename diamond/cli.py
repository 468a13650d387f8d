"""The ``diamond`` command: one entry point for every step of the platform.

``diamond run`` walks the whole flow (ingest, then ``dbt build``) and stops
at the first step that fails, naming it. Each step also runs on its own.
"""

from __future__ import annotations

import argparse
import logging
import os
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
    from governance.lineage.emit import emit_ingest

    try:
        result = ingest(
            args.target,
            args.source,
            force=args.force,
            revalidate=getattr(args, "revalidate", False),
            progress=_say,
        )
    except DiamondError as exc:
        emit_ingest(exc, args.target)
        raise
    emit_ingest(result, args.target)
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


def cmd_lineage_emit(args: argparse.Namespace) -> int:
    from governance.lineage.emit import emit_dbt

    events = emit_dbt()
    _say(f"emitted {len(events)} lineage events for the last dbt invocation")
    return 0


def _artifact(name: str) -> str:
    from governance.lineage.transport import default_target_dir

    path = default_target_dir() / name
    if not path.is_file():
        msg = f"no {path}: run `diamond run` (or `diamond build`) first"
        raise DiamondError(msg)
    return str(path)


def cmd_lineage_impact(args: argparse.Namespace) -> int:
    from governance.lineage.impact import downstream
    from governance.lineage.transport import default_target_dir

    catalog = default_target_dir() / "catalog.json"
    impact = downstream(
        _artifact("manifest.json"),
        args.ref,
        catalog=str(catalog) if catalog.is_file() else None,
        include_indirect=args.indirect,
    )
    print(impact.to_json() if args.json else impact.to_text())
    return 0


def cmd_lineage_graph(args: argparse.Namespace) -> int:
    from governance.lineage.graph import write_graph
    from governance.lineage.transport import default_target_dir

    output = args.output or default_target_dir() / "lineage" / "graph.html"
    graph = write_graph(_artifact("manifest.json"), args.around, output, args.depth)
    _say(f"wrote {output} ({len(graph.nodes)} relations, {len(graph.edges)} edges)")
    return 0


def cmd_lineage_replay(args: argparse.Namespace) -> int:
    from governance.lineage.transport import (
        default_target_dir,
        make_client,
        replay_spool,
    )

    client = make_client(default_target_dir())
    try:
        sent = replay_spool(client)
    finally:
        client.close()
    _say(f"re-sent {sent} spooled lineage events")
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
        Step("lineage", cmd_lineage_emit),
    ]


def cmd_run(args: argparse.Namespace) -> int:
    from openlineage.client.event_v2 import RunState
    from openlineage.client.uuid import generate_new_uuid

    from governance.lineage.emit import emit_pipeline

    began = time.perf_counter()
    # Every step's lineage names this run as its parent.
    run_id = os.environ.setdefault("DIAMOND_RUN_ID", str(generate_new_uuid()))
    emit_pipeline(RunState.START, run_id)
    steps = run_steps()
    for number, step in enumerate(steps, start=1):
        _say(f"step {number}/{len(steps)}: {step.name}")
        try:
            step.action(args)
        except DiamondError as exc:
            _say(f"step {number}/{len(steps)} ({step.name}) failed: {exc}")
            emit_pipeline(RunState.FAIL, run_id, error=f"{step.name}: {exc}")
            return 1
    emit_pipeline(RunState.COMPLETE, run_id)
    _say(
        f"all {len(steps)} steps done in {time.perf_counter() - began:.1f}s "
        f"(run id {run_id})"
    )
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
        help="the main job: ingest, dbt build, lineage",
        description="Ingest the release, then build and test every dbt model, "
        "then emit OpenLineage events for the run. Stops at the first failing "
        "step and says which.",
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

    lineage = sub.add_parser(
        "lineage",
        help="OpenLineage events, impact analysis and the lineage graph",
        description="Lineage from the dbt artifacts and the steps around "
        "dbt, in the OpenLineage standard. Events go to "
        "target/lineage/events.jsonl unless openlineage.yml or "
        "OPENLINEAGE__ variables name another transport (console, HTTP).",
    )
    lineage_sub = lineage.add_subparsers(
        dest="lineage_command", required=True, metavar="ACTION"
    )
    emit = lineage_sub.add_parser(
        "emit", help="emit the events of the last dbt invocation"
    )
    emit.set_defaults(func=cmd_lineage_emit)
    impact = lineage_sub.add_parser(
        "impact",
        help="everything downstream of a relation or column",
        description="List everything downstream of RELATION[.COLUMN], "
        "e.g. `raw.people.birth_year` or `stg_lahman__people`.",
    )
    impact.add_argument("ref", metavar="RELATION[.COLUMN]")
    impact.add_argument("--json", action="store_true", help="print JSON")
    impact.add_argument(
        "--indirect",
        action="store_true",
        help="also follow joins, filters and grouping",
    )
    impact.set_defaults(func=cmd_lineage_impact)
    graph = lineage_sub.add_parser(
        "graph", help="write an HTML picture of the lineage graph"
    )
    graph.add_argument("--around", metavar="RELATION", help="centre relation")
    graph.add_argument("--depth", type=int, default=None, help="hops each way")
    graph.add_argument(
        "--output",
        default=None,
        help="HTML file to write (default target/lineage/graph.html)",
    )
    graph.set_defaults(func=cmd_lineage_graph)
    replay = lineage_sub.add_parser(
        "replay", help="re-send events spooled after a transport failure"
    )
    replay.set_defaults(func=cmd_lineage_replay)

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
