"""``diamond governance report``: the evidence bundle of one target.

Every control of the playbook (``governance/PLAYBOOK.md``) that a build can
prove is checked here against its evidence: the dbt artifacts, the audit
chain (the file and its warehouse mirror), the PII scan and policy check,
lineage, the model registry, card, metrics and fairness audit, the drift
report, the assistant's evaluation, the kill switches and pins, and the
records of processing generated from dbt meta. The bundle is written
under ``<dbt target>/governance/``:

- ``evidence.md`` and ``evidence.html``: the control matrix, one row per
  control with pass, fail or missing, what was found and where;
- ``evidence.json``: the same for machines;
- ``records_of_processing.md`` and ``.json``: GDPR article 30 records.

The report is a gate, not a summary: any control that fails or lacks its
evidence makes :attr:`Report.ok` false and the command exit non-zero,
naming the control and the command that produces the evidence.
"""

from __future__ import annotations

import html
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diamond.errors import DiamondError
from governance.report import checks, ropa
from governance.report.checks import Evidence, Outcome

OUTPUT_DIR = "governance"


@dataclass(frozen=True)
class Control:
    """A governance control and the frameworks it answers to."""

    id: str
    title: str
    frameworks: str
    implemented_by: str
    check: checks.Check


def check_records(ev: Evidence) -> Outcome:
    """Records of processing complete; the activities are kept on ``ev``."""
    if ev.manifest is None:
        return checks.missing("no manifest.json", "diamond build")
    found = ev.activities = ropa.activities(ev.manifest)
    if not found:
        return checks.failed(
            "no model carries contains_pii, contains_phi or profiles, yet "
            "the project holds personal data",
            "restore the column meta in the models' YAML",
        )
    incomplete = [a for a in found if a.missing_keys]
    if incomplete:
        names = "; ".join(
            f"{a.model} lacks {', '.join(a.missing_keys)} ({a.yaml_file})"
            for a in incomplete
        )
        return checks.failed(
            f"incomplete records: {names}",
            "add them under the model's config: meta: (see CONTRIBUTING.md); "
            "readers come from +grants in dbt_project.yml",
        )
    profiling = sum(bool(a.profiles) for a in found)
    return checks.passed(
        f"{len(found)} personal-data models ({profiling} profiling players), "
        "each with purpose, data subjects, retention and readers"
    )


CONTROLS = (
    Control(
        "ingest.validation",
        "Raw data validated against its contract before loading",
        "ISO 42001 A.7.4; NIST Measure 2.5",
        "diamond/contracts.py, `diamond ingest`",
        checks.check_ingest,
    ),
    Control(
        "build.tests",
        "Every model built and every data test passed",
        "ISO 42001 A.6.2.4; NIST Measure 2.1",
        "`diamond build`, the data tests in models/**/*.yml and tests/generic",
        checks.check_build,
    ),
    Control(
        "build.contracts",
        "Public marts contracted and documented",
        "ISO 42001 A.6.2.2, A.6.2.3",
        "models/marts/analytics/*.yml, dbt_project.yml",
        checks.check_contracts,
    ),
    Control(
        "audit.chain",
        "Governed actions in a tamper-evident audit log and its mirror",
        "ISO 42001 A.6.2.8; NIST Measure 2.8",
        "governance/audit/, governance.audit_log, `diamond audit verify`",
        checks.check_audit,
    ),
    Control(
        "privacy.scan",
        "Personal data located by scanning the warehouse",
        "GDPR Art. 5(1)(c); ISO 42001 A.7.2",
        "governance/privacy/scan.py, `diamond pii scan`",
        checks.check_pii_scan,
    ),
    Control(
        "privacy.policy",
        "Every personal column tagged and masked outside raw",
        "GDPR Art. 5(1)(c), Art. 25; NIST GAI data privacy",
        "governance/privacy/policy.py, macros/privacy/",
        checks.check_privacy_policy,
    ),
    Control(
        "privacy.leaks",
        "No raw identifying value outside the raw schema",
        "GDPR Art. 5(1)(f), Art. 32",
        "governance/privacy/leaks.py, `diamond privacy check`",
        checks.check_leaks,
    ),
    Control(
        "privacy.safe_harbor",
        "Health data de-identified by the HIPAA Safe Harbor method",
        "HIPAA 45 CFR 164.514(b)(2)",
        "models/marts/health/fct_injury_stints_deidentified.sql",
        checks.check_safe_harbor,
    ),
    Control(
        "privacy.records",
        "Records of processing complete for every personal-data model",
        "GDPR Art. 30",
        "config: meta: purpose, data_subjects, retention, profiles; +grants",
        check_records,
    ),
    Control(
        "lineage.events",
        "Lineage of every step of the run",
        "ISO 42001 A.7.5, A.6.2.8; NIST Map 4.1",
        "governance/lineage/, `diamond lineage emit`",
        checks.check_lineage,
    ),
    Control(
        "model.registry",
        "Model in service registered, its file unchanged",
        "ISO 42001 A.6.2.5; NIST Manage 4.1",
        "ml/train.py, ml.ml_training_runs",
        checks.check_registry,
    ),
    Control(
        "model.card",
        "Model card of the version in service",
        "ISO 42001 A.6.2.7, A.8.2; EU AI Act Art. 13",
        "ml/card.py, ml.ml_model_cards",
        checks.check_model_card,
    ),
    Control(
        "model.performance",
        "Model beats the Marcel baseline on the test seasons",
        "NIST Measure 2.3; ISO 42001 A.6.2.4",
        "ml/evaluate.py, ml.ml_metrics",
        checks.check_performance,
    ),
    Control(
        "model.fairness",
        "No group flagged by the fairness audit",
        "NIST Measure 2.11; ISO 42001 A.5.4",
        "ml/fairness.py, ml.ml_fairness",
        checks.check_fairness,
    ),
    Control(
        "monitoring.drift",
        "Drift and health monitored, every alert opening an incident",
        "NIST Manage 4.1; ISO 42001 A.6.2.6",
        "governance/drift/, governance/runbooks/incident-response.md",
        checks.check_drift,
    ),
    Control(
        "assistant.evaluation",
        "Assistant evaluated on the golden set",
        "NIST Measure 2.5, GAI confabulation; EU AI Act Art. 50",
        "rag/evaluate.py, `diamond rag eval`",
        checks.check_assistant_eval,
    ),
    Control(
        "controls.kill_switch",
        "Kill switches and model pin readable and consistent",
        "NIST Manage 2.4; ISO 42001 A.6.2.6, A.9.2",
        "governance/controls.py, `diamond governance status`",
        checks.check_controls,
    ),
)


@dataclass
class Row:
    """One control with what its check found."""

    control: Control
    outcome: Outcome

    @property
    def id(self) -> str:
        return self.control.id

    @property
    def status(self) -> str:
        return self.outcome.status

    @property
    def detail(self) -> str:
        text = self.outcome.detail
        if self.outcome.remedy and self.status in ("fail", "missing"):
            text += f" (to fix: {self.outcome.remedy})"
        return text


@dataclass
class Report:
    """The evidence bundle of one target."""

    target: str
    generated_at: str
    rows: list[Row]
    activities: list[ropa.Activity]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def failing(self) -> list[Row]:
        return [r for r in self.rows if r.status in ("fail", "missing")]

    @property
    def ok(self) -> bool:
        return not self.failing

    def summary_lines(self) -> list[str]:
        counts = {s: sum(r.status == s for r in self.rows) for s in checks.STATUSES}
        lines = [
            f"governance report on {self.target}: "
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        ]
        lines += [f"{r.status.upper()} {r.id}: {r.detail}" for r in self.failing]
        if "evidence_md" in self.files:
            lines.append(f"evidence bundle: {self.files['evidence_md']}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "generated_at": self.generated_at,
            "ok": self.ok,
            "controls": [
                {
                    "id": r.id,
                    "title": r.control.title,
                    "frameworks": r.control.frameworks,
                    "implemented_by": r.control.implemented_by,
                    "status": r.status,
                    "detail": r.outcome.detail,
                    "evidence": r.outcome.evidence,
                    "remedy": r.outcome.remedy,
                }
                for r in self.rows
            ],
        }


def _link(evidence: str) -> str:
    """A file as a Markdown link; a relation name as code."""
    if evidence.startswith("/"):
        return f"[{Path(evidence).name}]({evidence})"
    return f"`{evidence}`"


def render_markdown(report: Report) -> str:
    lines = [
        f"# Governance evidence: {report.target}",
        "",
        f"Generated {report.generated_at} by `diamond governance report`. "
        f"Overall: **{'PASS' if report.ok else 'FAIL'}**. The controls and the "
        "frameworks behind them are described in `governance/PLAYBOOK.md`.",
        "",
        "| control | status | what was found | evidence | implemented by | "
        "frameworks |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        evidence = "<br>".join(_link(e) for e in row.outcome.evidence) or "-"
        detail = row.detail.replace("|", "\\|")
        lines.append(
            f"| {row.id}: {row.control.title} | {row.status.upper()} | {detail} "
            f"| {evidence} | {row.control.implemented_by} | "
            f"{row.control.frameworks} |"
        )
    lines += ["", "Records of processing: `records_of_processing.md`.", ""]
    return "\n".join(lines)


def render_html(report: Report) -> str:
    colours = {"pass": "#1a7f37", "fail": "#cf222e", "missing": "#cf222e"}
    rows = []
    for row in report.rows:
        evidence = "<br>".join(
            f'<a href="{html.escape(Path(e).as_uri())}">{html.escape(e)}</a>'
            if e.startswith("/")
            else html.escape(e)
            for e in row.outcome.evidence
        )
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(row.id)}</b><br>{html.escape(row.control.title)}</td>"
            f'<td style="color:{colours[row.status]}"><b>{row.status.upper()}</b></td>'
            f"<td>{html.escape(row.detail)}</td><td>{evidence or '-'}</td>"
            f"<td>{html.escape(row.control.implemented_by)}</td>"
            f"<td>{html.escape(row.control.frameworks)}</td></tr>"
        )
    verdict = "PASS" if report.ok else "FAIL"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>diamond governance evidence: {html.escape(report.target)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
        "collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:"
        "top;font-size:14px}</style></head><body>"
        f"<h1>Governance evidence: {html.escape(report.target)}</h1>"
        f"<p>Generated {html.escape(report.generated_at)}. Overall: "
        f"<b>{verdict}</b>. See <code>governance/PLAYBOOK.md</code>.</p>"
        "<table><tr><th>control</th><th>status</th><th>what was found</th>"
        "<th>evidence</th><th>implemented by</th><th>frameworks</th></tr>"
        + "".join(rows)
        + "</table><p>Records of processing: "
        "<a href='records_of_processing.md'>records_of_processing.md</a></p>"
        "</body></html>\n"
    )


def _run_check(control: Control, ev: Evidence) -> Outcome:
    """The check's outcome; an error reading the evidence is a failure that
    names the control, never a crash that hides the other controls."""
    # The re-run policy check repeats the column-lineage warnings that the
    # privacy step of the run already printed.
    quiet = [logging.getLogger(n) for n in ("governance.lineage", "governance.privacy")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        return control.check(ev)
    except DiamondError as exc:
        return checks.failed(
            f"the evidence could not be checked: {exc}", "see the message"
        )
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _emit_lineage(ev: Evidence, started: datetime, files: dict[str, Path]) -> None:
    """The report as the ``diamond.governance.report`` job: the artifacts it
    read in, the bundle out."""
    from governance.lineage.emit import emit_step
    from governance.lineage.naming import file_dataset
    from governance.lineage.steps import StepDataset, StepRun

    read = [
        ev.path(name)
        for name in (
            "manifest.json",
            "run_results.json",
            "privacy/pii_report.json",
            "drift/report.json",
            "rag/eval.json",
        )
    ]
    emit_step(
        StepRun(
            job="diamond.governance.report",
            job_type="REPORT",
            description=(
                "Checks every governance control against its evidence and "
                "writes the evidence bundle and the records of processing."
            ),
            started_at=started,
            finished_at=datetime.now(UTC),
            inputs=[
                StepDataset(file_dataset(p), kind="FILE") for p in read if p.is_file()
            ],
            outputs=[StepDataset(file_dataset(p), kind="FILE") for p in files.values()],
            identity=ev.target,
        ),
        target_dir=ev.target_dir,
    )


def build_report(target: str | None = None, target_dir: Path | None = None) -> Report:
    """Check every control on ``target``, write the bundle and audit it.

    The audit log is compared with its mirror as it stands: records appended
    since the last ``diamond audit sync`` fail ``audit.chain`` as
    unmirrored, which is why ``diamond governance report`` syncs first.
    """
    from diamond.settings import check_target
    from governance.audit import record
    from governance.lineage.transport import default_target_dir

    started = datetime.now(UTC)
    chosen = check_target(target)
    folder = Path(target_dir or default_target_dir())
    ev = Evidence(chosen, folder)
    rows = [Row(control, _run_check(control, ev)) for control in CONTROLS]
    found = ev.activities
    report = Report(
        target=chosen,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        rows=rows,
        activities=found,
    )
    out = folder / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "evidence_md": out / "evidence.md",
        "evidence_html": out / "evidence.html",
        "evidence_json": out / "evidence.json",
        "records_md": out / "records_of_processing.md",
        "records_json": out / "records_of_processing.json",
    }
    sources = ropa.restricted_sources(ev.manifest) if ev.manifest else []
    files["evidence_md"].write_text(render_markdown(report), encoding="utf-8")
    files["evidence_html"].write_text(render_html(report), encoding="utf-8")
    files["evidence_json"].write_text(
        json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    files["records_md"].write_text(
        ropa.render_markdown(found, sources), encoding="utf-8"
    )
    files["records_json"].write_text(
        json.dumps(
            {
                "activities": [a.to_dict() for a in found],
                "restricted_sources": sources,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    report.files = files
    _emit_lineage(ev, started, files)
    record(
        "governance.report",
        target=chosen,
        run_id=os.environ.get("DIAMOND_RUN_ID"),
        details={
            "ok": report.ok,
            "statuses": {r.id: r.status for r in rows},
            "bundle": str(files["evidence_md"]),
        },
    )
    return report
