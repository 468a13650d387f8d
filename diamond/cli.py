"""The ``diamond`` command: one entry point for every step of the platform.

``diamond run`` walks the whole flow (ingest, ``dbt build``, model
training, privacy and drift checks, the assistant's index, lineage, the
governance evidence, the audit mirror) and stops at the first step that
fails, naming it. Each step also runs on its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from diamond import __version__
from diamond.errors import DiamondError
from diamond.settings import TARGETS

log = logging.getLogger("diamond")


def _say(message: str) -> None:
    print(f"[diamond] {message}", file=sys.stderr, flush=True)


def _add_target(parser: argparse.ArgumentParser, verb: str = "use") -> None:
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help=f"warehouse to {verb} (default: $DIAMOND_TARGET, else duckdb)",
    )


def _add_group(
    sub: argparse._SubParsersAction,
    name: str,
    *,
    dest: str,
    help: str,
    description: str | None = None,
    metavar: str = "ACTION",
) -> argparse._SubParsersAction:
    """A command whose own subcommands do the work (``diamond audit verify``),
    which is useless without one: argparse then says which it takes."""
    group = sub.add_parser(name, help=help, description=description)
    return group.add_subparsers(dest=dest, required=True, metavar=metavar)


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
    _audit(
        "ingest",
        result.target,
        subject=result.load_id,
        details={
            "status": result.status,
            "source": result.source,
            "version": result.version,
            "fingerprint": result.fingerprint,
            "tables": result.tables,
            "rows": result.rows,
        },
    )
    if result.status == "loaded":
        _say(
            f"{result.tables} tables, {result.rows:,} rows from {result.source} "
            f"({result.version}); validation report: {result.validation_report}"
        )
    return 0


def _audit(action: str, target: str | None, **fields) -> None:
    from diamond.settings import check_target
    from governance.audit import record

    record(
        action,
        target=check_target(target),
        run_id=os.environ.get("DIAMOND_RUN_ID"),
        **fields,
    )


def cmd_build(args: argparse.Namespace) -> int:
    from diamond.dbt import DbtError, run_dbt
    from governance.incidents import open_build_incidents
    from governance.lineage.transport import default_target_dir
    from governance.privacy.actions import record_build

    began = time.time()
    try:
        run_dbt(["build", *getattr(args, "dbt_args", [])], args.target)
    except DbtError:
        open_build_incidents(args.target, default_target_dir(), since=began)
        raise
    record_build(args.target)
    return 0


def cmd_ml_train(args: argparse.Namespace) -> int:
    from diamond.training import train

    outcome = train(args.target)
    if outcome is None:
        _say("trained by dbt Python models on athena; see the dbt log above")
        return 0
    gain = 1 - outcome.test_mae / outcome.marcel_test_mae
    _say(
        f"model {outcome.version} on {outcome.target}: test MAE "
        f"{outcome.test_mae:.4f} vs Marcel {outcome.marcel_test_mae:.4f} "
        f"({gain:+.1%}); model file {outcome.artifact_path}"
    )
    return 0


def cmd_run_ml(args: argparse.Namespace) -> int:
    """The training step of ``diamond run``: on DuckDB and Athena the Python
    models already trained inside ``dbt build``, so only their record is
    made; on Postgres the ml steps run here."""
    from diamond.settings import check_target
    from diamond.training import train

    target = check_target(args.target)
    outcome = train(target, build=False)
    if outcome is not None:
        gain = 1 - outcome.test_mae / outcome.marcel_test_mae
        _say(
            f"model {outcome.version}: test MAE {outcome.test_mae:.4f}, "
            f"{gain:+.1%} against Marcel"
        )
    return 0


def cmd_ml_show(args: argparse.Namespace) -> int:
    from diamond.training import _current
    from governance.controls import switch_state

    entry, metrics = _current(args.target)
    state = switch_state("model")
    if not state["in_service"]:
        print(
            f"MODEL OUT OF SERVICE since {state['at']} ({state['reason']}): "
            "use Marcel's projection; `diamond governance kill-switch model on` "
            "restores it"
        )
    print(f"current model: {entry['model_version']} (trained {entry['trained_at']})")
    print(f"model file: {entry['artifact_path']} sha256 {entry['artifact_sha256']}")
    print("split       predictor    rows   MAE     RMSE    R2      vs Marcel")
    for row in metrics.sort_values(["split", "predictor"]).itertuples():
        print(
            f"{row.split:<11} {row.predictor:<12} {row.rows:>5}  {row.mae:.4f}  "
            f"{row.rmse:.4f}  {row.r_squared:+.3f}  "
            f"{row.mae_improvement_over_marcel:+.1%}"
        )
    return 0


def cmd_pii_scan(args: argparse.Namespace) -> int:
    from governance.privacy.actions import SCAN_SCHEMAS, scan_warehouse

    findings = scan_warehouse(
        args.target,
        args.schemas or SCAN_SCHEMAS,
        sample_rows=args.sample_rows,
        progress=_say,
    )
    if args.verbose_findings:
        for f in findings:
            print(f"{f.relation}.{f.column}\t{f.pii_type}\t{f.confidence:.2f}")
    return 0


def cmd_privacy_check(args: argparse.Namespace) -> int:
    from governance.incidents import open_privacy_incidents
    from governance.privacy.actions import (
        PrivacyError,
        check_leaks,
        load_findings,
        scan_warehouse,
    )
    from governance.privacy.leaks import find_leaks
    from governance.privacy.policy import check, load_manifest

    with ThreadPoolExecutor(max_workers=1) as pool:
        # The leak check spends its time in the warehouse's own threads and
        # the scan in Presidio's Python, so side by side they share the two
        # cores instead of taking turns.
        searched = pool.submit(find_leaks, args.target)
        findings = scan_warehouse(args.target, progress=_say) if args.scan else None
        if findings is None:
            findings = load_findings()
        violations = check(load_manifest(_artifact("manifest.json")), findings)
        _audit(
            "privacy.policy_check",
            args.target,
            details={"violations": [v.message for v in violations]},
        )
        if violations:
            open_privacy_incidents(args.target, violations=violations)
            lines = "\n  ".join(v.message for v in violations)
            msg = f"{len(violations)} privacy policy violation(s):\n  {lines}"
            raise PrivacyError(msg)
        _say("policy check: every personal column is tagged and masked outside raw")
        leaks = searched.result()
        try:
            check_leaks(args.target, progress=_say, found=leaks)
        except PrivacyError:
            open_privacy_incidents(args.target, leaks=leaks.leaks)
            raise
    return 0


def cmd_privacy_erase(args: argparse.Namespace) -> int:
    from governance.privacy.erasure import erase

    report = erase(args.subject, args.target, reference=args.reference, progress=_say)
    _say(str(report))
    return 0


def cmd_privacy_lakeformation(args: argparse.Namespace) -> int:
    from governance.privacy import lakeformation

    policy = lakeformation.generate(args.manifest)
    path = lakeformation.write(policy, args.output)
    summary = policy["summary"]
    _say(
        f"wrote {path}: {len(policy['create_lf_tag'])} LF-tags, "
        f"{len(policy['add_lf_tags_to_resource'])} tag assignments, "
        f"{len(policy['grant_permissions'])} grants over {summary['tables']} tables"
    )
    if args.apply:
        result = lakeformation.apply(policy)
        _say(result.summary())
        _audit(
            "access.lakeformation",
            "athena",
            details={"policy": str(path), "grants": len(policy["grant_permissions"])},
        )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from governance.audit import verify, verify_against_table

    if args.file_only:
        result = verify(args.log)
    else:
        result = verify_against_table(args.log, target=args.target)
    print(result.report())
    if not result.ok:
        from governance.audit import default_path
        from governance.incidents import AUDIT_TRIGGER, open_incident

        log = args.log or default_path()
        open_incident(
            AUDIT_TRIGGER,
            None if args.file_only else args.target,
            summary=result.report().splitlines()[0],
            evidence={"log": str(log), "problems": [str(p) for p in result.problems]},
            audit_log=log,
        )
    return 0 if result.ok else 1


def cmd_audit_show(args: argparse.Namespace) -> int:
    from governance.audit import AuditLog, default_path

    records = list(AuditLog(args.log or default_path()).records())
    for rec in records[-args.limit :]:
        details = json.dumps(rec.details, sort_keys=True)
        if len(details) > 100:
            details = details[:97] + "..."
        print(
            f"{rec.seq:>5}  {rec.recorded_at}  {rec.action:<22} "
            f"{rec.target or '-':<8} {rec.subject or '-'}  {details}"
        )
    return 0


def cmd_audit_sync(args: argparse.Namespace) -> int:
    from governance.audit import sync

    added = sync(args.log, target=args.target)
    _say(f"mirrored {added} new audit records into governance.audit_log")
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


def cmd_run_privacy(args: argparse.Namespace) -> int:
    from diamond.settings import check_target

    if check_target(args.target) == "athena":
        _say(
            "privacy checks need to read the warehouse; on athena they are not "
            "run (run them on duckdb or postgres over the same release)"
        )
        return 0
    check_args = argparse.Namespace(target=args.target, scan=True)
    return cmd_privacy_check(check_args)


def cmd_run_audit(args: argparse.Namespace) -> int:
    from diamond.settings import check_target

    if check_target(args.target) == "athena":
        _say("the audit log has no warehouse mirror on athena; the file is kept")
        return 0
    return cmd_audit_sync(argparse.Namespace(log=None, target=args.target))


def cmd_run_drift(args: argparse.Namespace) -> int:
    from diamond.cli_drift import cmd_drift_check

    status = cmd_drift_check(args)
    if status:
        msg = (
            "an alert reached the severity of DIAMOND_DRIFT_FAIL_ON; the "
            "alerts above say which monitor and why"
        )
        raise DiamondError(msg)
    return 0


#: The warm-up that embeds the assistant's corpus during ``dbt build``.
INDEX_WARM_UP = "assistant index"


def cmd_run_build(args: argparse.Namespace) -> int:
    """The build step of ``diamond run``, with the assistant's index built
    beside it from the manifest that the parse has already written."""
    from diamond import background
    from diamond.dbt import PARSE_WARM_UP

    background.wait(PARSE_WARM_UP)
    background.start(INDEX_WARM_UP, [sys.executable, "-m", "rag.warm"])
    return cmd_build(args)


def cmd_run_rag_index(args: argparse.Namespace) -> int:
    from diamond import background
    from diamond.cli_rag import cmd_rag_index

    background.wait(INDEX_WARM_UP)
    return cmd_rag_index(args)


def cmd_run_rag_eval(args: argparse.Namespace) -> int:
    """Score the assistant on its golden questions, so the governance report
    reads this run's evaluation rather than an old one or none."""
    from diamond.cli_rag import cmd_rag_eval
    from governance.controls import switch_state

    if not switch_state("assistant")["in_service"]:
        _say(
            "the assistant is switched off, so it is not evaluated; the "
            "governance report will say its evaluation is missing"
        )
        return 0
    eval_args = argparse.Namespace(
        target_dir=getattr(args, "target_dir", None),
        min_hit_at_5=None,
        max_hallucination_rate=None,
        golden=None,
        mode="hybrid",
    )
    if cmd_rag_eval(eval_args):
        msg = (
            "the assistant missed an evaluation threshold (named above); "
            "fix the corpus or retrieval, or switch it off with "
            "`diamond governance kill-switch assistant off --reason ...`"
        )
        raise DiamondError(msg)
    return 0


def cmd_run_governance_report(args: argparse.Namespace) -> int:
    from diamond.cli_governance import cmd_governance_report

    return cmd_governance_report(args)


def cmd_run_charts(args: argparse.Namespace) -> int:
    from diamond.cli_app import cmd_app_charts

    return cmd_app_charts(args)


def run_steps() -> list[Step]:
    """The steps of the main job, in order."""
    return [
        Step("ingest", cmd_ingest),
        Step("dbt build", cmd_run_build),
        Step("model training", cmd_run_ml),
        Step("privacy checks", cmd_run_privacy),
        Step("drift checks", cmd_run_drift),
        Step("assistant index", cmd_run_rag_index),
        Step("assistant evaluation", cmd_run_rag_eval),
        Step("dashboard charts", cmd_run_charts),
        Step("lineage", cmd_lineage_emit),
        Step("governance report", cmd_run_governance_report),
        Step("audit log", cmd_run_audit),
    ]


def cmd_run(args: argparse.Namespace) -> int:
    from openlineage.client.event_v2 import RunState
    from openlineage.client.uuid import generate_new_uuid

    from diamond import background
    from diamond.dbt import start_parse
    from governance.lineage.emit import emit_pipeline

    began = time.perf_counter()
    # Every step's lineage names this run as its parent.
    run_id = os.environ.setdefault("DIAMOND_RUN_ID", str(generate_new_uuid()))
    emit_pipeline(RunState.START, run_id)
    _audit("pipeline.start", args.target, subject=run_id)
    start_parse(args.target)
    steps = run_steps()
    try:
        for number, step in enumerate(steps, start=1):
            _say(f"step {number}/{len(steps)}: {step.name}")
            step_began = time.perf_counter()
            try:
                step.action(args)
            except DiamondError as exc:
                _say(f"step {number}/{len(steps)} ({step.name}) failed: {exc}")
                emit_pipeline(RunState.FAIL, run_id, error=f"{step.name}: {exc}")
                _audit(
                    "pipeline.fail",
                    args.target,
                    subject=run_id,
                    details={"step": step.name, "error": str(exc)},
                )
                return 1
            _say(
                f"step {number}/{len(steps)} ({step.name}) done in "
                f"{time.perf_counter() - step_began:.1f}s"
            )
    finally:
        background.stop_all()
    emit_pipeline(RunState.COMPLETE, run_id)
    _audit(
        "pipeline.complete",
        args.target,
        subject=run_id,
        details={"steps": [step.name for step in steps]},
    )
    from diamond.settings import check_target

    if check_target(args.target) != "athena":
        from governance.audit import sync

        # The mirror step ran before the record above; leave no record of
        # this run out of the mirror.
        sync(None, target=args.target)
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
        help="the main job: ingest, build, train, check, index, report, audit",
        description="Ingest the release, build and test every dbt model, "
        "train the next-season model, check that no personal data escaped "
        "masking, check for drift, index the assistant's corpus, emit "
        "OpenLineage events, build the governance evidence and mirror the "
        "audit log. Stops at the first failing step and says which.",
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
        help="run every great_expectations check and generate the synthetic "
        "tables anew, even if this exact input was seen before",
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

    lineage_sub = _add_group(
        sub,
        "lineage",
        help="OpenLineage events, impact analysis and the lineage graph",
        description="Lineage from the dbt artifacts and the steps around "
        "dbt, in the OpenLineage standard. Events go to "
        "target/lineage/events.jsonl unless openlineage.yml or "
        "OPENLINEAGE__ variables name another transport (console, HTTP).",
        dest="lineage_command",
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

    pii_sub = _add_group(
        sub,
        "pii",
        help="find personal data in the warehouse",
        description="Classify warehouse columns as personal data (names, "
        "emails, phones, SSNs, card numbers, IPs, birth dates, ZIP codes, "
        "medical record numbers, free text holding any of them) from their "
        "names and sampled values, with Microsoft Presidio's recognizers.",
        dest="pii_command",
    )
    scan = pii_sub.add_parser(
        "scan",
        help="classify every column; write governance.pii_classification "
        "and target/privacy/pii_report.json",
    )
    _add_target(scan)
    scan.add_argument(
        "--schemas",
        nargs="+",
        metavar="SCHEMA",
        help="schemas to scan (default: raw, staging, intermediate, marts)",
    )
    scan.add_argument(
        "--sample-rows", type=int, default=200, help="rows sampled per relation"
    )
    scan.add_argument(
        "--print",
        dest="verbose_findings",
        action="store_true",
        help="print every finding",
    )
    scan.set_defaults(func=cmd_pii_scan)

    privacy_sub = _add_group(
        sub,
        "privacy",
        help="policy check, leak check, erasure, Lake Formation policy",
        description="Privacy as code: the column meta in the dbt YAML decides "
        "what is personal and how it is masked; these commands check, "
        "enforce and export that policy.",
        dest="privacy_command",
    )
    check = privacy_sub.add_parser(
        "check",
        help="fail on untagged or unmasked personal data, or raw values leaked",
        description="Fail when the scan finds personal data in a column the "
        "YAML does not tag, when a tagged column reaches a schema outside raw "
        "unmasked, or when any raw personal value appears outside raw.",
    )
    _add_target(check)
    check.add_argument(
        "--no-scan",
        dest="scan",
        action="store_false",
        help="use the last scan report instead of scanning again",
    )
    check.set_defaults(func=cmd_privacy_check)
    erase_parser = privacy_sub.add_parser(
        "erase",
        help="erase a data subject everywhere (right to erasure)",
        description="Remove a fan or a player from raw and every relation "
        "built from it, keep them out of later loads, prove they are gone "
        "and record the erasure in the audit log.",
    )
    _add_target(erase_parser)
    erase_parser.add_argument(
        "--subject",
        required=True,
        metavar="KIND:ID",
        help="fan:<fan_id> (e.g. fan:FAN0001234) or player:<player_id>",
    )
    erase_parser.add_argument(
        "--reference", help="the request's reference, e.g. a ticket number"
    )
    erase_parser.set_defaults(func=cmd_privacy_erase)

    lake = privacy_sub.add_parser(
        "lakeformation",
        help="generate (and apply) the Lake Formation policy for Athena",
        description="Turn the column meta and roles into AWS Lake Formation "
        "LF-tags, tag assignments and tag-based grants, written as JSON whose "
        "entries are boto3 lakeformation call arguments. --apply sends them "
        "with the AWS credentials of the environment (idempotent).",
    )
    lake.add_argument(
        "--manifest",
        type=Path,
        help="dbt manifest.json or its folder (default: the target folder)",
    )
    lake.add_argument(
        "--output",
        type=Path,
        help="where to write the policy (default target/privacy/lakeformation.json)",
    )
    lake.add_argument("--apply", action="store_true", help="apply it to Lake Formation")
    lake.set_defaults(func=cmd_privacy_lakeformation)

    audit_sub = _add_group(
        sub,
        "audit",
        help="the tamper-evident audit log: verify, show, sync",
        description="Every governed action (ingest, scans, masking applied, "
        "grants, erasures, runs) is a record in a hash-chained log file, "
        "mirrored into governance.audit_log.",
        dest="audit_command",
    )
    verify_parser = audit_sub.add_parser(
        "verify",
        help="detect edited, deleted, inserted or reordered records",
        description="Check the hash chain of the log file and compare it "
        "with the warehouse mirror; names each bad record. Exit 1 on any "
        "problem.",
    )
    _add_target(verify_parser)
    verify_parser.add_argument("--log", type=Path, help="log file (default: ours)")
    verify_parser.add_argument(
        "--file-only", action="store_true", help="check the file, not the mirror"
    )
    verify_parser.set_defaults(func=cmd_audit_verify)
    show = audit_sub.add_parser("show", help="print the latest records")
    show.add_argument("--log", type=Path, help="log file (default: ours)")
    show.add_argument("--limit", type=int, default=20, help="records to show")
    show.set_defaults(func=cmd_audit_show)
    sync_parser = audit_sub.add_parser(
        "sync", help="append new records to the warehouse mirror"
    )
    _add_target(sync_parser)
    sync_parser.add_argument("--log", type=Path, help="log file (default: ours)")
    sync_parser.set_defaults(func=cmd_audit_sync)

    ml_sub = _add_group(
        sub,
        "ml",
        help="the next-season model: train it, show the model in service",
        description="Train the next-season OPS model (dbt Python models on "
        "duckdb and athena; the same code run by diamond on postgres).",
        dest="ml_command",
        metavar="COMMAND",
    )
    ml_train = ml_sub.add_parser(
        "train", help="train, explain, audit and write the model card"
    )
    _add_target(ml_train)
    ml_train.set_defaults(func=cmd_ml_train)
    ml_show = ml_sub.add_parser(
        "show", help="the model in service and its metrics against the baselines"
    )
    _add_target(ml_show)
    ml_show.set_defaults(func=cmd_ml_show)

    from diamond.cli_governance import add_governance_commands, add_ml_rollback

    add_ml_rollback(ml_sub)

    from diamond.cli_drift import add_drift_commands

    add_drift_commands(sub)

    from diamond.cli_rag import add_rag_commands

    add_rag_commands(sub)

    add_governance_commands(sub)

    from diamond.cli_app import add_app_commands

    add_app_commands(sub)

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
