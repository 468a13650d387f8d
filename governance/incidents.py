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
file beside it instead.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from governance.drift.incidents import RUNBOOK, load_rules

log = logging.getLogger(__name__)

AUDIT_TRIGGER = "audit.verify_failure"


def side_file(audit_log: Path) -> Path:
    """Where incidents about ``audit_log`` itself are written."""
    return audit_log.with_name(f"{audit_log.stem}-incidents.jsonl")


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


def build_failures(
    results: dict[str, Any], manifest: dict[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """The failed nodes of a dbt ``run_results.json``, by runbook trigger:
    ``dbt.test_failure`` for data tests, ``dbt.contract_failure`` for models
    that broke their contract."""
    found: dict[str, list[dict[str, Any]]] = {}
    for result in results.get("results", []):
        uid = str(result.get("unique_id", ""))
        status = result.get("status")
        message = str(result.get("message") or "")
        if uid.startswith("test.") and status in ("fail", "error"):
            trigger = "dbt.test_failure"
        elif uid.startswith("model.") and status == "error" and "contract" in message:
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
