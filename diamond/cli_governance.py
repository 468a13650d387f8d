"""The governance commands: kill switches, status, rollback, evidence.

``diamond governance kill-switch``, ``diamond governance status``,
``diamond governance report`` and ``diamond ml rollback``. The controls
themselves live in :mod:`governance.controls`; the evidence bundle in
:mod:`governance.report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diamond.cli import _add_group, _add_target, _say
from diamond.errors import DiamondError

if TYPE_CHECKING:
    import pandas as pd

REGISTRY = "ml.ml_training_runs"


def read_registry(target: str) -> pd.DataFrame:
    """The model registry ``ml.ml_training_runs`` of ``target``, read-only."""
    from diamond.settings import check_target
    from diamond.warehouse import frame

    target = check_target(target)
    if target == "athena":
        msg = (
            "the model registry cannot be read from athena by this command; "
            "roll back on duckdb or postgres (--target)"
        )
        raise DiamondError(msg)
    try:
        return frame(target, f"select * from {REGISTRY}")
    except DiamondError:
        raise
    except Exception as exc:
        msg = (
            f"cannot read {REGISTRY} on {target}: {exc}. Train a model first "
            f"(`diamond ml train --target {target}` or `diamond run`)."
        )
        raise DiamondError(msg) from exc


def _versions(registry: pd.DataFrame) -> list[str]:
    ordered = registry.sort_values("trained_at", kind="stable")
    return list(dict.fromkeys(ordered["model_version"].astype(str)))


def cmd_kill_switch(args: argparse.Namespace) -> int:
    from governance.controls import set_switch

    state = set_switch(args.switch, args.state == "on", reason=args.reason)
    word = "in service" if state["in_service"] else "OUT OF SERVICE"
    _say(f"{args.switch} is {word} ({state['reason']}; {state['by']}, {state['at']})")
    return 0


def _describe_switch(name: str, state: dict[str, Any]) -> str:
    word = "in service" if state["in_service"] else "OUT OF SERVICE"
    if state.get("at") is None:
        return f"{name:<10} {word} (never changed)"
    return f"{name:<10} {word} since {state['at']} by {state['by']}: {state['reason']}"


def cmd_status(args: argparse.Namespace) -> int:
    from diamond.settings import check_target
    from governance.controls import SWITCHES, controls_path, load, switch_state
    from ml.train import current_version

    print(f"control file: {controls_path()}")
    for name in SWITCHES:
        print(_describe_switch(name, switch_state(name)))
    pins = load()["model_pins"]
    target = check_target(args.target)
    pin = pins.get(target)
    try:
        registry = read_registry(target)
    except DiamondError as exc:
        print(f"model on {target}: registry not readable ({exc})")
        return 0
    entry = current_version(registry)
    versions = _versions(registry)
    how = "newest trained"
    if pin is not None:
        if pin["model_version"] in versions:
            how = f"pinned by {pin['by']} at {pin['at']}"
        else:
            how = (
                f"newest trained; the pin {pin['model_version']} is not in the registry"
            )
    print(f"model on {target}: {entry['model_version']} ({how})")
    print(f"registry versions (oldest first): {', '.join(versions)}")
    return 0


def cmd_ml_rollback(args: argparse.Namespace) -> int:
    from diamond.settings import check_target
    from governance.controls import pin_model, unpin_model
    from ml.train import current_version

    target = check_target(args.target)
    registry = read_registry(target)
    before = str(current_version(registry)["model_version"])
    if args.latest:
        removed = unpin_model(target, reason=args.reason)
        now = str(current_version(registry)["model_version"])
        if removed is None:
            _say(f"no version was pinned on {target}; {now} is in service")
        else:
            _say(f"unpinned {removed['model_version']} on {target}; {now} serves")
        return 0
    pin_model(target, args.to, _versions(registry), current=before, reason=args.reason)
    _say(
        f"model in service on {target}: {args.to} (was {before}). The stored "
        "predictions, explanations and card follow at the next training run "
        f"(`diamond ml train --target {target}`), which scores with the pinned "
        "version."
    )
    return 0


def _sync_audit_mirror(target: str) -> None:
    """Bring ``governance.audit_log`` up to the file, so the report compares
    every record written so far, including on the first run of a warehouse
    (whose mirror is otherwise created only by the run's last step)."""
    from governance.audit import default_path, sync

    if target == "athena" or not default_path().is_file():
        return
    try:
        added = sync(target=target)
    except DiamondError as exc:
        # A sync refuses when the file or the mirror was tampered with; the
        # report's audit.chain control then names the records, so the rest
        # of the evidence is still checked and written.
        _say(f"audit mirror not synced: {exc}")
        return
    _say(f"mirrored {added} new audit records into governance.audit_log")


def cmd_governance_report(args: argparse.Namespace) -> int:
    """Build the evidence bundle; 1 when any control lacks evidence or fails."""
    from diamond.settings import check_target
    from governance.report import build_report

    target = check_target(getattr(args, "target", None))
    _sync_audit_mirror(target)
    report = build_report(target)
    for line in report.summary_lines():
        _say(line)
    if not report.ok:
        msg = (
            f"{len(report.failing)} control(s) without passing evidence "
            f"({', '.join(r.id for r in report.failing)}); the lines above say "
            f"what is missing and how to produce it; matrix in "
            f"{report.files.get('evidence_md')}"
        )
        raise DiamondError(msg)
    return 0


def cmd_incidents(args: argparse.Namespace) -> int:
    import json

    from governance.incidents import list_incidents

    found = list_incidents(args.log)
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True, default=str))
        return 0
    for incident in found:
        print(
            f"{incident.get('opened_at')}  {incident.get('incident_id')}  "
            f"{incident.get('severity')}  {incident['status']:<6}  "
            f"{incident.get('trigger') or '-':<30} "
            f"{incident.get('owner') or '-':<14} {incident.get('summary') or ''}"
        )
    still = sum(i["status"] == "open" for i in found)
    _say(
        f"{len(found)} incident(s), {still} open; first actions, evidence and "
        "follow-ups: --json"
    )
    return 0


def cmd_incident_update(args: argparse.Namespace) -> int:
    from governance.incidents import update_incident

    close = args.incident_command == "close"
    details = update_incident(
        args.incident_id,
        reason=args.reason,
        close=close,
        breach_decision=args.breach_decision,
        review=getattr(args, "review", None),
        audit_log=args.log,
    )
    done = "closed" if close else "updated"
    _say(f"{args.incident_id} {done} ({details['reason']})")
    if "review_due_by" in details:
        _say(
            f"post-incident review due by {details['review_due_by']}; record it "
            f"with `diamond governance incident note {args.incident_id} "
            "--review WHERE --reason ...`"
        )
    return 0


def add_governance_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``diamond governance ...`` on the top-level subparsers."""
    gov_sub = _add_group(
        sub,
        "governance",
        help="kill switches, the controls' status, the compliance evidence",
        description="Controls over the model and the assistant, and the "
        "evidence bundle that shows each governance control working.",
        dest="governance_command",
        metavar="COMMAND",
    )
    switch = gov_sub.add_parser(
        "kill-switch",
        help="take the model or the assistant out of service, or back in",
    )
    switch.add_argument("switch", choices=("model", "assistant"))
    switch.add_argument("state", choices=("off", "on"))
    switch.add_argument(
        "--reason", required=True, help="why (recorded in the audit log)"
    )
    switch.set_defaults(func=cmd_kill_switch)
    status = gov_sub.add_parser(
        "status", help="the kill switches and the model version in service"
    )
    _add_target(status)
    status.set_defaults(func=cmd_status)
    incidents = gov_sub.add_parser(
        "incidents",
        help="the incidents opened so far, with severity, owner and summary",
        description="List the incidents the checks opened from the runbook's "
        "rules: the incident.open records of the audit log, and those about "
        "the audit log itself, kept beside it.",
    )
    incidents.add_argument("--log", type=Path, help="audit log (default: ours)")
    incidents.add_argument("--json", action="store_true", help="print JSON")
    incidents.set_defaults(func=cmd_incidents)
    incident = _add_group(
        gov_sub,
        "incident",
        help="record a follow-up of an incident, or close it",
        description="Follow-up records under an incident's id, as the "
        "incident runbook asks: containment steps, the breach notification "
        "decision, the post-incident review, and the closing.",
        dest="incident_command",
        metavar="STEP",
    )
    for name, text in (
        ("note", "record a step taken or a decision (incident.update)"),
        ("close", "close the incident (incident.close)"),
    ):
        step = incident.add_parser(name, help=text, description=text)
        step.add_argument("incident_id", metavar="INC-ID")
        step.add_argument(
            "--reason", required=True, help="what was done or decided (recorded)"
        )
        step.add_argument(
            "--breach-decision",
            choices=("notify", "no-notify"),
            help="the privacy office's decision on notifying the authority",
        )
        if name == "note":
            step.add_argument(
                "--review", metavar="WHERE", help="where the post-incident review is"
            )
        step.add_argument("--log", type=Path, help="audit log (default: ours)")
        step.set_defaults(func=cmd_incident_update)
    report = gov_sub.add_parser(
        "report",
        help="the evidence bundle and records of processing under "
        "<target>/governance/; fails when evidence is missing",
        description="Sync the audit log's warehouse mirror, then check every "
        "governance control against its evidence and write the bundle. "
        "Exit 1 when any control fails or lacks its evidence.",
    )
    _add_target(report)
    report.set_defaults(func=cmd_governance_report)


def add_ml_rollback(ml_sub: argparse._SubParsersAction) -> None:
    """Register ``diamond ml rollback`` on the ``ml`` subparsers."""
    rollback = ml_sub.add_parser(
        "rollback",
        help="put an earlier model version back in service (pin it)",
        description="Pin a version of ml.ml_training_runs as the model in "
        "service on the target; --latest removes the pin.",
    )
    _add_target(rollback)
    which = rollback.add_mutually_exclusive_group(required=True)
    which.add_argument("--to", metavar="VERSION", help="a version in the registry")
    which.add_argument(
        "--latest", action="store_true", help="remove the pin: newest serves"
    )
    rollback.add_argument("--reason", default=None, help="why (audit log)")
    rollback.set_defaults(func=cmd_ml_rollback)
