"""Incidents opened by the checks that fail outside drift.

``diamond drift check`` opens an incident for each of its alerts (see
:mod:`governance.drift.incidents`). The other triggers of the incident
runbook come from here: the privacy check (untagged personal data, a broken
masking policy, a leaked value), a failed build (data tests, contracts),
the assistant's evaluation (unsupported answers) and the audit chain. Each
incident takes its severity, owner and first actions from the runbook's
rule block, like drift's, so a responder finds the same words in the
record and on the page.

An incident is an ``incident.open`` record in the audit log, except one
about the audit log itself: while its chain cannot be trusted, nothing is
appended to it (the runbook's first action), and the incident goes to a
file beside it instead. Follow-ups carry the same incident id: an
``incident.update`` per containment step or decision (the breach
notification decision among them) and one ``incident.close``
(:func:`update_incident`), written where the incident was opened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from diamond.errors import DiamondError
from diamond.jsonl import read_records
from diamond.locks import exclusive
from governance.drift.incidents import RUNBOOK, load_rules

log = logging.getLogger(__name__)

AUDIT_TRIGGER = "audit.verify_failure"
UPDATE = "incident.update"
CLOSE = "incident.close"
#: What the privacy office decided about notifying the authority.
BREACH_DECISIONS = ("notify", "no-notify")
#: Severities whose closing starts the post-incident review's clock.
REVIEWED = ("SEV1", "SEV2")
REVIEW_WORKING_DAYS = 5


def side_file(audit_log: Path) -> Path:
    """Where incidents about ``audit_log`` itself are written."""
    return audit_log.with_name(f"{audit_log.stem}-incidents.jsonl")


@contextlib.contextmanager
def follow_up_lock(audit_log: Path | None = None) -> Iterator[None]:
    """Serialise "look at the incidents, then record" between processes.

    Closing checks that the incident is still open, and a report opens a
    live-rate incident only when none is open: without the lock two at
    once would both pass the check and both write. The lock is a sibling
    file, not the log, which its own appends lock.
    """
    from governance.audit import default_path

    path = Path(audit_log) if audit_log else default_path()
    with exclusive(path.with_name(f"{path.name}.incidents.lock")):
        yield


def open_incident(
    trigger: str,
    target: str | None,
    *,
    summary: str,
    evidence: dict[str, Any],
    owner: str | None = None,
    audit_log: Path | None = None,
) -> str:
    """Open an incident for ``trigger`` and return its id.

    ``owner`` is the group responsible for what failed, used when the
    runbook's rule names none. ``evidence`` must name relations, columns,
    nodes and files, never the personal values involved.
    """
    from diamond.settings import check_target
    from governance.audit import default_path, record

    target = check_target(target)
    rules = load_rules()
    rule = rules.rule(trigger)
    opened = datetime.now(UTC)
    incident_id = f"INC-{uuid.uuid4().hex[:12]}"
    details: dict[str, Any] = {
        "severity": rule.severity,
        "trigger": trigger,
        "owner": rule.owner or owner or rules.default_owner,
        "summary": summary,
        "opened_at": opened.isoformat(),
        "first_actions": list(rule.first_actions),
        "evidence": evidence,
        "runbook": str(RUNBOOK.relative_to(RUNBOOK.parents[2])),
    }
    if rule.breach_clock_hours:
        # The clock of GDPR article 33 runs from awareness, which is now.
        due = opened + timedelta(hours=rule.breach_clock_hours)
        details["notify_authority_by"] = due.isoformat()
    run_id = os.environ.get("DIAMOND_RUN_ID")
    if trigger == AUDIT_TRIGGER:
        path = side_file(Path(audit_log) if audit_log else default_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "action": "incident.open",
            "subject": incident_id,
            "target": target,
            "run_id": run_id,
            "details": details,
        }
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")
    else:
        record(
            "incident.open",
            target=target,
            run_id=run_id,
            subject=incident_id,
            details=details,
        )
    log.warning(
        "opened incident %s (%s, %s): %s", incident_id, rule.severity, trigger, summary
    )
    return incident_id


def _listed(items: list[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (" ..." if len(items) > shown else "")


def _group(manifest: dict[str, Any] | None, unique_id: str) -> str | None:
    node = (manifest or {}).get("nodes", {}).get(unique_id) or {}
    return node.get("group") or (node.get("config") or {}).get("group")


def _contracted(node: dict[str, Any] | None, result: dict[str, Any]) -> bool:
    if node is not None:
        config = node.get("config") or {}
        contract = config.get("contract") or node.get("contract") or {}
        return bool(contract.get("enforced"))
    return "contract" in str(result.get("message") or "")


def build_failures(
    results: dict[str, Any], manifest: dict[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """The failed nodes of a dbt ``run_results.json``, by runbook trigger:
    ``dbt.test_failure`` for data tests, ``dbt.contract_failure`` for models
    whose contract is enforced (per ``manifest``) and that did not build.

    The manifest decides, not the error's wording: a contracted model that
    fails to build breaks its promise to consumers whatever the cause, and
    dbt's message changes between versions. Without a manifest, dbt's own
    words are all there is."""
    found: dict[str, list[dict[str, Any]]] = {}
    nodes = (manifest or {}).get("nodes", {})
    for result in results.get("results", []):
        uid = str(result.get("unique_id", ""))
        status = result.get("status")
        if uid.startswith("test.") and status in ("fail", "error"):
            trigger = "dbt.test_failure"
        elif (
            uid.startswith("model.")
            and status == "error"
            and _contracted(nodes.get(uid), result)
        ):
            trigger = "dbt.contract_failure"
        else:
            continue
        found.setdefault(trigger, []).append(
            {"node": uid, "status": status, "group": _group(manifest, uid)}
        )
    return found


def open_build_incidents(
    target: str | None, target_dir: Path, *, since: float
) -> list[str]:
    """Open an incident per trigger for a failed build whose artifacts are
    in ``target_dir``. None when its results name no failed test or
    contract, or were written before ``since`` (a time from ``time.time``):
    dbt stopped before running anything and left an earlier build's."""
    path = target_dir / "run_results.json"
    try:
        if path.stat().st_mtime < since:
            return []
        results = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    try:
        manifest = json.loads((target_dir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        manifest = None
    opened = []
    for trigger, nodes in build_failures(results, manifest).items():
        groups = sorted({n["group"] for n in nodes if n["group"]})
        opened.append(
            open_incident(
                trigger,
                target,
                summary=f"{len(nodes)} node(s) failed: "
                + _listed([n["node"] for n in nodes]),
                evidence={
                    "nodes": [n["node"] for n in nodes],
                    "run_results": str(target_dir / "run_results.json"),
                },
                owner=groups[0] if len(groups) == 1 else None,
            )
        )
    return opened


def open_privacy_incidents(
    target: str | None,
    violations: Iterable[Any] = (),
    leaks: Iterable[Any] = (),
) -> list[str]:
    """Incidents for a failed privacy check: ``privacy.pii_scan_hit`` for
    untagged personal data, ``privacy.policy_violation`` for the rest of
    the policy, ``privacy.leak`` for raw values found outside raw."""
    from governance.privacy.policy import UNTAGGED_PII

    by_trigger: dict[str, list[str]] = {}
    for v in violations:
        untagged = v.kind == UNTAGGED_PII
        trigger = "privacy.pii_scan_hit" if untagged else "privacy.policy_violation"
        by_trigger.setdefault(trigger, []).append(f"{v.relation}.{v.column}")
    for leak in leaks:
        column = f"{leak.relation}.{leak.column}"
        by_trigger.setdefault("privacy.leak", []).append(column)
    opened = []
    for trigger, columns in by_trigger.items():
        columns = sorted(set(columns))
        opened.append(
            open_incident(
                trigger,
                target,
                summary=f"{len(columns)} column(s): " + _listed(columns),
                evidence={"columns": columns, "check": "diamond privacy check"},
            )
        )
    return opened


def _working_days_after(moment: datetime, days: int) -> datetime:
    while days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def _follow_up(action: str, incident_id: str, details: dict[str, Any]) -> dict:
    return {"action": action, "incident_id": incident_id, **details}


def list_incidents(audit_log: Path | None = None) -> list[dict[str, Any]]:
    """Every incident opened so far, oldest first: the ``incident.open``
    records of the audit log (drift's included) and those written beside
    it about the log itself, each with its ``status`` (open or closed) and
    its follow-up records under ``updates``."""
    from governance.audit import AuditLog, default_path

    path = Path(audit_log) if audit_log else default_path()
    found = []
    follow_ups = []
    # A damaged line is passed over rather than hiding every incident and
    # follow-up after it; the damage is an incident of its own, recorded
    # beside the log by verify.
    for rec in AuditLog(path).records(skip_damaged=True):
        if rec.action == "incident.open":
            found.append(
                {
                    "incident_id": rec.subject,
                    "opened_at": rec.details.get("opened_at", rec.recorded_at),
                    "target": rec.target,
                    "run_id": rec.run_id,
                    **rec.details,
                }
            )
        elif rec.action in (UPDATE, CLOSE):
            follow_ups.append(
                _follow_up(rec.action, rec.subject, {"by": rec.actor, **rec.details})
            )
    for entry in read_records(side_file(path)):
        if entry.get("action", "incident.open") != "incident.open":
            follow_ups.append(
                _follow_up(
                    entry["action"], entry.get("subject"), entry.get("details", {})
                )
            )
            continue
        found.append(
            {
                "incident_id": entry.get("subject"),
                "target": entry.get("target"),
                "run_id": entry.get("run_id"),
                **entry.get("details", {}),
            }
        )
    for incident in found:
        updates = [u for u in follow_ups if u["incident_id"] == incident["incident_id"]]
        incident["updates"] = updates
        closes = [u for u in updates if u["action"] == CLOSE]
        incident["status"] = "closed" if closes else "open"
        if closes:
            incident["closed_at"] = closes[0].get("at")
        decisions = [u["breach_decision"] for u in updates if u.get("breach_decision")]
        if decisions:
            incident["breach_decision"] = decisions[-1]
    return sorted(found, key=lambda i: str(i.get("opened_at")))


def update_incident(
    incident_id: str,
    *,
    reason: str,
    close: bool = False,
    breach_decision: str | None = None,
    review: str | None = None,
    audit_log: Path | None = None,
) -> dict[str, Any]:
    """Record a follow-up of an open incident (``incident.update``), or its
    closing (``incident.close``); return the details recorded.

    An incident with a breach clock cannot be closed before the decision
    on notifying the authority is recorded, either way, as the runbook
    requires. Closing a SEV1 or SEV2 sets when its post-incident review is
    due; ``review`` records where the review was written.
    """
    from governance.audit import AuditLog, default_path
    from governance.audit.log import _default_actor

    path = Path(audit_log) if audit_log else default_path()
    if not isinstance(reason, str) or not reason.strip():
        msg = "say what was done or decided: pass --reason TEXT (it is recorded)"
        raise DiamondError(msg)
    if breach_decision is not None and breach_decision not in BREACH_DECISIONS:
        msg = f"--breach-decision must be {' or '.join(BREACH_DECISIONS)}"
        raise DiamondError(msg)
    # Held from the check to the write: see follow_up_lock.
    with follow_up_lock(path):
        incident = next(
            (i for i in list_incidents(path) if i["incident_id"] == incident_id), None
        )
        if incident is None:
            msg = (
                f"no incident {incident_id!r} in {path} or beside it: "
                "`diamond governance incidents` lists them"
            )
            raise DiamondError(msg)
        # The review is written after the closing; nothing else follows it.
        if incident["status"] == "closed" and (close or not review):
            msg = (
                f"{incident_id} was closed at {incident.get('closed_at')} and takes "
                "only its post-incident review (--review); open a new incident "
                "for anything else"
            )
            raise DiamondError(msg)
        decided = breach_decision or incident.get("breach_decision")
        if close and incident.get("notify_authority_by") and not decided:
            msg = (
                f"{incident_id} runs the breach clock (notify by "
                f"{incident['notify_authority_by']}): record the privacy office's "
                "decision first, with --breach-decision notify or no-notify"
            )
            raise DiamondError(msg)
        now = datetime.now(UTC)
        details: dict[str, Any] = {
            "reason": reason.strip(),
            "at": now.isoformat(),
            "trigger": incident.get("trigger"),
            "severity": incident.get("severity"),
        }
        if breach_decision:
            details["breach_decision"] = breach_decision
        if review:
            details["review"] = review
        if close and incident.get("severity") in REVIEWED:
            due = _working_days_after(now, REVIEW_WORKING_DAYS)
            details["review_due_by"] = due.isoformat()
        action = CLOSE if close else UPDATE
        if incident.get("trigger") == AUDIT_TRIGGER:
            # Kept beside the log, as the incident is, while the log is suspect.
            line = {
                "action": action,
                "subject": incident_id,
                "target": incident.get("target"),
                "run_id": os.environ.get("DIAMOND_RUN_ID"),
                "details": {"by": _default_actor(), **details},
            }
            with side_file(path).open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, sort_keys=True) + "\n")
        else:
            AuditLog(path).append(
                action,
                target=incident.get("target"),
                run_id=os.environ.get("DIAMOND_RUN_ID"),
                subject=incident_id,
                details=details,
            )
    return details
