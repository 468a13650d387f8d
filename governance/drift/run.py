"""One drift check from start to end: monitors, verdicts, history, alerts.

:func:`run_check` reads the monitors from the manifest, evaluates them on
the warehouse, appends the results to ``governance.drift_history`` and
``<target>/drift/``, turns every flagged result into an alert graded by
the incident-response runbook, opens an incident for it in the audit log
and delivers it to the configured sinks. The whole run is one
``drift.check`` audit record with the lineage run id.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diamond.dbt import read_manifest
from diamond.errors import ConfigError
from diamond.settings import check_target
from diamond.warehouse import connect
from governance.drift import alerts as alerting
from governance.drift.check import (
    DriftError,
    MonitorResult,
    QueryError,
    Reader,
    evaluate_distribution,
    evaluate_performance,
)
from governance.drift.config import (
    DriftConfigError,
    Monitors,
    Window,
    monitors_from_manifest,
    parse_window,
)
from governance.drift.health import evaluate_health
from governance.drift.history import write_files, write_table
from governance.drift.incidents import Rules, load_rules, open_incident
from governance.drift.lineage import emit_check


@dataclass
class CheckReport:
    """Everything one check found and did."""

    run_id: str
    build_id: str | None
    checked_at: datetime
    target: str
    results: list[MonitorResult]
    alerts: list[alerting.Alert] = field(default_factory=list)
    delivery: alerting.DeliveryReport | None = None
    folder: Path | None = None

    def worst(self, rules: Rules) -> str | None:
        """The most severe alert's severity, or None without alerts."""
        if not self.alerts:
            return None
        return min((a.severity for a in self.alerts), key=rules.rank)

    def to_dict(self) -> dict[str, Any]:
        return alerting.json_safe(
            {
                "run_id": self.run_id,
                "build_id": self.build_id,
                "checked_at": self.checked_at.isoformat(),
                "target": self.target,
                "results": [r.to_dict() for r in self.results],
                "alerts": [a.to_dict() for a in self.alerts],
            }
        )


def _window(text: str | None, option: str) -> Window | None:
    """A window from a command-line value: ``latest``, ``A``, ``A:B`` or
    ``A,B,C``; numbers become integers."""
    if text is None:
        return None

    def value(part: str) -> Any:
        return int(part) if part.strip().lstrip("-").isdigit() else part.strip()

    if ":" in text:
        low, high = text.split(":", 1)
        return parse_window(option, {"from": value(low), "to": value(high)})
    if "," in text:
        return parse_window(option, {"values": [value(p) for p in text.split(",")]})
    return parse_window(option, text if text == "latest" else value(text))


def select(
    monitors: Monitors,
    names: Sequence[str] | None,
    current: str | None = None,
    reference: str | None = None,
) -> Monitors:
    """The monitors named (all by default), with windows overridden."""
    chosen = monitors
    if names:
        known = {m.name for m in monitors.drift} | {h.model for h in monitors.health}
        unknown = sorted(set(names) - known)
        if unknown:
            msg = (
                f"no monitor named {', '.join(unknown)}; declared monitors: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
            raise ConfigError(msg)
        chosen = Monitors(
            [m for m in monitors.drift if m.name in names],
            [h for h in monitors.health if h.model in names],
        )
    cur = _window(current, "--current")
    ref = _window(reference, "--reference")
    if cur or ref:
        chosen = Monitors(
            [
                dataclasses.replace(
                    m, current=cur or m.current, reference=ref or m.reference
                )
                for m in chosen.drift
            ],
            chosen.health,
        )
    return chosen


def _alerts(
    results: list[MonitorResult], rules: Rules, run_id: str, target: str
) -> list[alerting.Alert]:
    found = []
    for result in results:
        if not result.trigger:
            continue
        rule = rules.rule(result.trigger)
        severity = result.severity or rule.severity
        rules.rank(severity)
        found.append(
            alerting.Alert(
                severity=severity.upper(),
                trigger=result.trigger,
                monitor=result.monitor,
                relation=result.relation,
                owner=rule.owner or result.owner or rules.default_owner,
                summary=result.summary,
                evidence=alerting.json_safe(result.evidence),
                run_id=run_id,
                target=target,
                first_actions=list(rule.first_actions),
            )
        )
    return found


def evaluate(
    reader: Reader,
    monitors: Monitors,
    build_id: str | None,
    progress: Callable[[str], None] | None = None,
) -> list[MonitorResult]:
    """Every drift monitor, then every health check."""
    results: list[MonitorResult] = []
    for monitor in monitors.drift:
        try:
            if monitor.kind == "performance":
                outcome = evaluate_performance(reader, monitor)
            else:
                outcome = evaluate_distribution(reader, monitor)
        except QueryError as exc:
            msg = (
                f"monitor {monitor.name} on {monitor.relation}: {exc}. Check "
                "its `where` and the window values in the drift meta."
            )
            raise DriftError(msg) from exc
        results.append(outcome)
        if progress:
            progress(f"{monitor.name}: {outcome.status}: {outcome.summary}")
    for spec in monitors.health:
        for outcome in evaluate_health(reader, spec, build_id):
            results.append(outcome)
            if progress and outcome.status != "ok":
                progress(f"{outcome.monitor}: {outcome.status}: {outcome.summary}")
    return results


def run_check(
    target: str | None = None,
    target_dir: Path | None = None,
    *,
    monitor_names: Sequence[str] | None = None,
    current: str | None = None,
    reference: str | None = None,
    write_history: bool = True,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> CheckReport:
    """Check every monitor (or those named) and raise the alerts."""
    from governance.audit import record
    from governance.lineage.transport import default_target_dir

    target = check_target(target)
    if target == "athena":
        msg = (
            "drift checks read the warehouse and Athena is not queried from "
            "here (it needs AWS); run `diamond drift check` on duckdb or "
            "postgres over the same release"
        )
        raise DriftError(msg)
    folder = Path(target_dir) if target_dir else default_target_dir()
    manifest = read_manifest(folder, hint="`diamond build`", error=DriftConfigError)
    monitors = select(
        monitors_from_manifest(manifest), monitor_names, current, reference
    )
    rules = load_rules()
    alert_settings = alerting.settings_from_env(folder)
    build_id = (manifest.get("metadata") or {}).get("invocation_id")
    run_id = os.environ.get("DIAMOND_RUN_ID") or str(uuid.uuid4())
    started = datetime.now(UTC)
    checked_at = started.replace(tzinfo=None)
    with connect(target) as con:
        results = evaluate(Reader(con, target), monitors, build_id, progress)
    report = CheckReport(run_id, build_id, checked_at, target, results)
    rows = [
        row.record(run_id, build_id, checked_at, target)
        for result in results
        for row in result.rows
    ]
    if write_history:
        write_table(target, rows)
    report.alerts = _alerts(results, rules, run_id, target)
    for alert in report.alerts:
        alert.incident_id = open_incident(alert, target)
    report.folder = write_files(folder, report.to_dict(), rows)
    report.delivery = alerting.deliver(
        report.alerts, alert_settings, **({"sleep": sleep} if sleep else {})
    )
    lineage_run = emit_check(
        [r.relation for r in results if r.status != "not_built"],
        target,
        report.folder,
        started,
        run_id,
        os.environ.get("DIAMOND_RUN_ID"),
    )
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    record(
        "drift.check",
        target=target,
        run_id=run_id,
        subject=build_id,
        details=alerting.json_safe(
            {
                "monitors": counts,
                "alerts": [
                    {
                        "severity": a.severity,
                        "monitor": a.monitor,
                        "incident": a.incident_id,
                    }
                    for a in report.alerts
                ],
                "history_rows": len(rows) if write_history else 0,
                "lineage_run_id": lineage_run,
                "delivery": report.delivery.summary(),
            }
        ),
    )
    return report
