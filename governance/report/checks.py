"""One check per governance control, each reading the evidence it names.

A check never assumes a pass: it returns ``missing`` (with the command
that produces the evidence) when the file or relation it needs is not
there, ``fail`` when the evidence shows the control did not hold, and
``pass`` only when the evidence was read and found sound. There is no
optional evidence: every control either passes on what it read or keeps
the report from passing.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from diamond.errors import DiamondError

log = logging.getLogger(__name__)

STATUSES = ("pass", "fail", "missing")
#: Jobs every complete ``diamond run`` emits lineage for.
LINEAGE_JOBS = (
    "diamond.run",
    "diamond.ingest",
    "diamond.dbt.build",
    "diamond.ml.train",
    "diamond.drift.check",
    "diamond.rag.index",
)
SAFE_HARBOR_MODEL = "model.diamond.fct_injury_stints_deidentified"
#: The traced answers the live hallucination rate is taken over, and how
#: many there must be before a rate means anything.
LIVE_WINDOW = 200
LIVE_MINIMUM = 20
HALLUCINATION_TRIGGER = "assistant.hallucination_spike"
#: Some stamps are written to the second, others to the microsecond.
STAMP_SLACK = timedelta(seconds=1)
#: dbt commands whose run_results.json means the relations were rewritten.
CHANGES_RELATIONS = frozenset({"build", "run", "seed", "snapshot"})


@dataclass
class Outcome:
    """What one check found."""

    status: str
    detail: str
    evidence: list[str] = field(default_factory=list)
    remedy: str | None = None


def passed(detail: str, *evidence: str) -> Outcome:
    return Outcome("pass", detail, list(evidence))


def failed(detail: str, remedy: str, *evidence: str) -> Outcome:
    return Outcome("fail", detail, list(evidence), remedy)


def missing(detail: str, remedy: str, *evidence: str) -> Outcome:
    return Outcome("missing", detail, list(evidence), remedy)


def _when(stamp: Any) -> datetime | None:
    """An ISO time stamp as an aware datetime (UTC when it names no zone)."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    """The ``diamond run`` whose evidence the report checks."""

    run_id: str
    started_at: str | None


class Evidence:
    """Lazy access to the artifacts of one target, read once each."""

    def __init__(self, target: str, target_dir: Path) -> None:
        self.target = target
        self.target_dir = target_dir
        self._json: dict[str, Any] = {}
        self._frames: dict[str, pd.DataFrame | str] = {}
        #: Filled by the records-of-processing check.
        self.activities: list[Any] = []
        self._records: list[Any] | None = None

    def path(self, relative: str) -> Path:
        return self.target_dir / relative

    def json(self, relative: str) -> Any:
        """The parsed JSON file, or None when it is absent."""
        if relative not in self._json:
            path = self.path(relative)
            if not path.is_file():
                self._json[relative] = None
            else:
                try:
                    self._json[relative] = json.loads(path.read_text("utf-8"))
                except ValueError as exc:
                    msg = f"{path} is not valid JSON ({exc}); rebuild it"
                    raise DiamondError(msg) from exc
        return self._json[relative]

    @property
    def manifest(self) -> dict[str, Any] | None:
        return self.json("manifest.json")

    @property
    def audit_records(self) -> list[Any]:
        """The records of the audit log, read once; none without a log."""
        from governance.audit import AuditLog, default_path

        if self._records is None:
            path = default_path()
            self._records = list(AuditLog(path).records()) if path.is_file() else []
        return self._records

    def latest(self, action: str) -> Any:
        """The newest audit record of ``action`` on this target, if any."""
        found = [
            r
            for r in self.audit_records
            if r.action == action and r.target == self.target
        ]
        return found[-1] if found else None

    @property
    def run(self) -> Run | None:
        """Inside ``diamond run`` the run under way (``DIAMOND_RUN_ID``).
        Otherwise the newest run on this target that completed, so a later
        run that failed before writing anything does not hide it; but a
        later run that failed after its build owns the evidence the build
        left, and is the run checked (and found incomplete)."""
        starts = [
            r
            for r in self.audit_records
            if r.action == "pipeline.start" and r.target == self.target
        ]
        run_id = os.environ.get("DIAMOND_RUN_ID")
        if not run_id:
            done = self.latest("pipeline.complete")
            rebuilt = self._rebuilt()
            after = _when(done.recorded_at) if done is not None else None
            failed_after_build = [
                s
                for s in starts
                if rebuilt is not None
                and (moment := _when(s.recorded_at)) is not None
                and (after is None or moment > after)
                and moment <= rebuilt[0]
            ]
            if failed_after_build:
                run_id = failed_after_build[-1].subject
            elif done is None:
                return None
            else:
                run_id = done.subject
        mine = [s for s in starts if s.subject == run_id]
        return Run(run_id, mine[-1].recorded_at if mine else None)

    def _rebuilt(self) -> tuple[datetime, str] | None:
        """When ``run_results.json`` says the relations were last rewritten,
        and by which dbt command. `dbt test`, `compile` or `docs generate`
        rewrite the file too but leave the relations as they were."""
        results = self.json("run_results.json") or {}
        which = (results.get("args") or {}).get("which")
        built = _when((results.get("metadata") or {}).get("generated_at"))
        if which not in CHANGES_RELATIONS or built is None:
            return None
        return built, "the build" if which == "build" else f"the `dbt {which}`"

    def since(self) -> tuple[datetime, str] | None:
        """The moment evidence must postdate to belong to the current build:
        the start of the current run or the end of the build in
        ``run_results.json``, whichever is later; None when neither is known.
        """
        moments = []
        run = self.run
        if run is not None and _when(run.started_at):
            moments.append((_when(run.started_at), f"the start of run {run.run_id}"))
        rebuilt = self._rebuilt()
        if rebuilt is not None:
            moments.append((rebuilt[0], f"{rebuilt[1]} in run_results.json"))
        return max(moments, key=lambda m: m[0]) if moments else None

    def stale(
        self, stamp: Any, what: str, remedy: str, *evidence: str
    ) -> Outcome | None:
        """Missing when ``what``, written at ``stamp``, predates the current
        build or run (it describes another one); None when it is current."""
        since = self.since()
        if since is None:
            return missing(
                f"cannot tell whether {what} is current: no completed diamond "
                f"run and no build is recorded for {self.target}",
                remedy,
                *evidence,
            )
        moment = _when(stamp)
        if moment is None:
            return missing(f"{what} carries no time stamp", remedy, *evidence)
        limit, label = since
        if moment + STAMP_SLACK < limit:
            return missing(
                f"{what} is stale: written {stamp}, before {label} "
                f"({limit.isoformat()})",
                remedy,
                *evidence,
            )
        return None

    def frame(self, relation: str) -> pd.DataFrame | str:
        """A warehouse relation as a frame, or why it cannot be read."""
        if relation not in self._frames:
            self._frames[relation] = _read_relation(self.target, relation)
        return self._frames[relation]


def _read_relation(target: str, relation: str) -> pd.DataFrame | str:
    from diamond.warehouse import frame

    if target == "athena":
        return "the report reads relations on duckdb or postgres only"
    try:
        return frame(target, f"select * from {relation}")
    except Exception as exc:
        # Any failure to read is reported as missing evidence, with the
        # warehouse's own words, never as a pass.
        return f"{relation} cannot be read on {target}: {str(exc).strip()}"


# --------------------------------------------------------------------------
# Build and data
# --------------------------------------------------------------------------


def check_build(ev: Evidence) -> Outcome:
    results = ev.json("run_results.json")
    path = str(ev.path("run_results.json"))
    if results is None:
        return missing("no run_results.json", "diamond build (or diamond run)", path)
    which = (results.get("args") or {}).get("which")
    if which != "build":
        return missing(
            f"run_results.json describes `dbt {which}`, not a build",
            "diamond build (or diamond run); run `diamond docs` only afterwards",
            path,
        )
    bad = [r for r in results["results"] if r["status"] in ("error", "fail", "skipped")]
    if bad:
        names = ", ".join(f"{r['unique_id']} ({r['status']})" for r in bad[:5])
        return failed(
            f"{len(bad)} node(s) did not pass: {names}",
            "fix the failing models or tests and rerun diamond build",
            path,
        )
    counts: dict[str, int] = {}
    for r in results["results"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return passed(f"dbt build: {summary}", path)


def check_contracts(ev: Evidence) -> Outcome:
    path = str(ev.path("manifest.json"))
    if ev.manifest is None:
        return missing("no manifest.json", "diamond build (or diamond run)", path)
    marts = [
        n
        for n in ev.manifest["nodes"].values()
        if n["resource_type"] == "model"
        and n["original_file_path"].startswith("models/marts/analytics/")
        and n["config"].get("enabled", True)
    ]
    if not marts:
        return missing("the manifest has no analytics marts", "diamond build", path)
    loose = [
        n["name"]
        for n in marts
        if not (n["config"].get("contract") or {}).get("enforced")
        or not n.get("description")
    ]
    if loose:
        return failed(
            f"marts without an enforced contract or description: {', '.join(loose)}",
            "set contract: {enforced: true} and describe the model in its YAML",
            path,
        )
    return passed(f"{len(marts)} analytics marts, each contracted and described", path)


def check_ingest(ev: Evidence) -> Outcome:
    report = ev.json("ingest/validation-latest.json")
    path = str(ev.path("ingest/validation-latest.json"))
    if report is None:
        return missing("no ingest validation report", "diamond ingest", path)
    if not report.get("success"):
        return failed(
            "the latest ingest validation did not succeed",
            "read the report, fix the release and rerun diamond ingest",
            path,
        )
    tables = report.get("tables") or {}
    return passed(
        f"{len(tables)} tables validated at {report.get('validated_at')}", path
    )


# --------------------------------------------------------------------------
# Audit log and privacy
# --------------------------------------------------------------------------


def _verify_audit(ev: Evidence, path: Path) -> Any:
    """The log file verified on its own on Athena, which has no mirror, and
    compared record by record with ``governance.audit_log`` elsewhere."""
    import duckdb
    import psycopg2

    from governance.audit import verify, verify_against_table
    from governance.audit.store import QUALIFIED

    if ev.target == "athena":
        return verify(path)
    try:
        return verify_against_table(path, target=ev.target)
    except (duckdb.Error, psycopg2.Error) as exc:
        # The warehouse's own words, as a failure of this control rather
        # than a crash that would hide every other control.
        msg = f"{QUALIFIED} cannot be read on {ev.target}: {str(exc).strip()}"
        raise DiamondError(msg) from exc


def check_audit(ev: Evidence) -> Outcome:
    from governance.audit import default_path
    from governance.audit.store import QUALIFIED

    path = default_path()
    if not path.is_file():
        return missing(f"no audit log at {path}", "diamond run", str(path))
    result = _verify_audit(ev, path)
    mirrored = ev.target != "athena"
    mirror = f"{QUALIFIED} on {ev.target}"
    evidence = [str(path), QUALIFIED] if mirrored else [str(path)]
    if {p.kind for p in result.problems} == {"mirror-missing"}:
        return missing(
            f"the audit log {path} verifies, but {mirror} does not exist",
            f"diamond audit sync --target {ev.target}",
            *evidence,
        )
    if not result.ok:
        first = "; ".join(str(p) for p in result.problems[:3])
        against = f" against {mirror}" if mirrored else ""
        return failed(
            f"the audit chain{against} fails verification with "
            f"{len(result.problems)} problem(s): {first}",
            f"diamond audit verify --target {ev.target}, then restore the "
            "named records (incident trigger audit.verify_failure, SEV1)",
            *evidence,
        )
    where = (
        f"every record mirrored unchanged in {mirror}"
        if mirrored
        else "athena has no warehouse mirror, so the file alone was verified"
    )
    return passed(
        f"{result.records} records, chain intact, head seq {result.head_seq} "
        f"{result.head_hash[:12]}; {where}",
        *evidence,
    )


def check_pii_scan(ev: Evidence) -> Outcome:
    """The report is of this target, of the current build, and covers every
    schema the scanner is meant to read."""
    from governance.privacy.actions import SCAN_SCHEMAS

    report = ev.json("privacy/pii_report.json")
    path = str(ev.path("privacy/pii_report.json"))
    remedy = f"diamond pii scan --target {ev.target}"
    if report is None:
        return missing("no PII scan report", remedy, path)
    scanned = report.get("target")
    if scanned is None:
        return missing(
            "the PII scan report does not say which target and schemas it "
            "covers (written by an older scanner)",
            remedy,
            path,
        )
    if scanned != ev.target:
        return missing(
            f"the PII scan report is of {scanned}, not {ev.target}", remedy, path
        )
    stale = ev.stale(report.get("scanned_at"), "the PII scan report", remedy, path)
    if stale is not None:
        return stale
    schemas = report.get("schemas") or []
    scanned_in = report.get("relations_scanned") or {}
    # A scan narrowed with --schemas, or one that found nothing to read in
    # a schema, is no evidence about what it did not read: missing, not a
    # verdict on the data.
    absent = [s for s in SCAN_SCHEMAS if not scanned_in.get(s)]
    if absent:
        return missing(
            f"the PII scan did not read schema(s) {', '.join(absent)} (it was "
            f"asked for {', '.join(schemas) or 'none'})",
            remedy,
            path,
        )
    summary = report.get("summary") or {}
    if not summary.get("relations"):
        return failed("the PII scan report covers no relation", remedy, path)
    return passed(
        f"{summary.get('columns')} personal columns found in "
        f"{summary.get('relations')} relations, "
        f"{len(summary.get('by_type') or {})} kinds of personal data; schemas "
        f"{', '.join(schemas)} scanned on {scanned} at {report.get('scanned_at')}",
        path,
    )


def check_privacy_policy(ev: Evidence) -> Outcome:
    from governance.privacy.actions import load_findings
    from governance.privacy.policy import check

    manifest_path = str(ev.path("manifest.json"))
    report_path = ev.path("privacy/pii_report.json")
    if ev.manifest is None:
        return missing("no manifest.json", "diamond build", manifest_path)
    if not report_path.is_file():
        return missing("no PII scan report", f"diamond pii scan --target {ev.target}")
    violations = check(ev.manifest, load_findings(report_path))
    if violations:
        lines = "; ".join(v.message for v in violations[:3])
        return failed(
            f"{len(violations)} policy violation(s): {lines}",
            "tag and mask the columns in their YAML, rebuild, then diamond "
            "privacy check",
            manifest_path,
            str(report_path),
        )
    return passed(
        "every personal column tagged, given a policy and masked outside raw "
        "(re-checked now from the manifest and the scan)",
        manifest_path,
        str(report_path),
    )


def check_leaks(ev: Evidence) -> Outcome:
    from governance.audit import default_path

    record = ev.latest("privacy.leak_check")
    where = str(default_path())
    remedy = f"diamond privacy check --target {ev.target}"
    if record is None:
        return missing(
            f"no privacy.leak_check record for {ev.target} in the audit log",
            remedy,
            where,
        )
    stale = ev.stale(
        record.recorded_at, f"the leak check (audit seq {record.seq})", remedy, where
    )
    if stale is not None:
        return stale
    leaks = record.details.get("leaks") or []
    if leaks:
        return failed(
            f"{len(leaks)} raw personal value(s) found outside raw "
            f"(audit seq {record.seq})",
            "contain per the runbook (privacy.leak, SEV1, 72-hour clock)",
            where,
        )
    return passed(
        f"audit seq {record.seq} ({record.recorded_at}): "
        f"{record.details.get('needles')} identifying values searched in "
        f"{record.details.get('columns')} columns of "
        f"{record.details.get('relations')} relations, none found",
        where,
    )


def check_safe_harbor(ev: Evidence) -> Outcome:
    results = ev.json("run_results.json")
    path = str(ev.path("run_results.json"))
    if ev.manifest is None or results is None:
        return missing("no manifest or run_results.json", "diamond build")
    if SAFE_HARBOR_MODEL not in ev.manifest["nodes"]:
        return failed(
            "the manifest has no fct_injury_stints_deidentified",
            "restore models/marts/health/",
            str(ev.path("manifest.json")),
        )
    tests = {
        uid
        for uid, node in ev.manifest["nodes"].items()
        if node["resource_type"] in ("test", "unit_test")
        and SAFE_HARBOR_MODEL in (node.get("depends_on") or {}).get("nodes", [])
    }
    status = {r["unique_id"]: r["status"] for r in results["results"]}
    if SAFE_HARBOR_MODEL not in status:
        return missing("the de-identified mart was not built", "diamond build", path)
    ran = {uid: status[uid] for uid in tests if uid in status}
    if not ran:
        return missing("no test of the de-identified mart ran", "diamond build", path)
    bad = sorted(uid for uid, s in ran.items() if s not in ("pass", "success"))
    if bad:
        return failed(
            f"tests of the de-identified mart failed: {', '.join(bad)}",
            "fix the mart: a Safe Harbor identifier survives",
            path,
        )
    return passed(
        f"fct_injury_stints_deidentified built; {len(ran)} test(s) passed", path
    )


# --------------------------------------------------------------------------
# Lineage
# --------------------------------------------------------------------------


def _run_ids(event: dict[str, Any]) -> set[str]:
    """The run of an event and the runs above it (its parent and root)."""
    run = event.get("run") or {}
    parent = (run.get("facets") or {}).get("parent") or {}
    ids = {
        run.get("runId"),
        (parent.get("run") or {}).get("runId"),
        ((parent.get("root") or {}).get("run") or {}).get("runId"),
    }
    return {i for i in ids if i}


def check_lineage(ev: Evidence) -> Outcome:
    """Every step of the current run emitted its job; events of other runs
    (an earlier run, another target's) do not count."""
    path = ev.path("lineage/events.jsonl")
    if not path.is_file():
        return missing("no lineage events", "diamond lineage emit", str(path))
    run = ev.run
    if run is None:
        return missing(
            f"no completed diamond run on {ev.target} in the audit log, so no "
            "run's lineage can be checked",
            f"diamond run --target {ev.target}",
            str(path),
        )
    jobs: set[str] = set()
    events = others = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                return failed(
                    f"{path} holds a line that is not JSON",
                    "diamond lineage emit",
                    str(path),
                )
            if run.run_id not in _run_ids(event):
                others += 1
                continue
            events += 1
            jobs.add(event.get("job", {}).get("name", ""))
    absent = [job for job in LINEAGE_JOBS if job not in jobs]
    if absent:
        return missing(
            f"no lineage events of run {run.run_id} for job(s) "
            f"{', '.join(absent)} ({others} event(s) of other runs ignored)",
            f"diamond run --target {ev.target} (every step emits its job)",
            str(path),
        )
    return passed(
        f"{events} events of run {run.run_id}, {len(jobs)} jobs incl. every step",
        str(path),
    )


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------


def _current(ev: Evidence) -> tuple[pd.Series | None, str | None]:
    from ml.train import current_version

    registry = ev.frame("ml.ml_training_runs")
    if isinstance(registry, str):
        return None, registry
    if registry.empty:
        return None, "ml.ml_training_runs is empty"
    return current_version(registry), None


def check_registry(ev: Evidence) -> Outcome:
    from ml.train import file_sha256

    entry, problem = _current(ev)
    if entry is None:
        return missing(problem, f"diamond ml train --target {ev.target}")
    artifact = Path(entry["artifact_path"])
    if not artifact.is_file():
        return failed(
            f"model {entry['model_version']}: artifact {artifact} is missing",
            f"diamond ml train --target {ev.target}",
            "ml.ml_training_runs",
        )
    if file_sha256(artifact) != entry["artifact_sha256"]:
        return failed(
            f"model {entry['model_version']}: {artifact} changed since training",
            "retrain; never serve a file whose hash differs from the registry",
            "ml.ml_training_runs",
            str(artifact),
        )
    return passed(
        f"model in service {entry['model_version']} (trained "
        f"{entry['trained_at']}), artifact hash matches the registry",
        "ml.ml_training_runs",
        str(artifact),
    )


def _of_current(
    ev: Evidence, relation: str, what: str
) -> tuple[pd.Series, pd.DataFrame] | Outcome:
    """The model in service and its rows of ``relation``, or the missing
    evidence (naming ``what``) when either cannot be found."""
    retrain = f"diamond ml train --target {ev.target}"
    entry, problem = _current(ev)
    if entry is None:
        return missing(problem, retrain)
    frame = ev.frame(relation)
    if isinstance(frame, str):
        return missing(frame, retrain)
    rows = frame[frame["model_version"] == entry["model_version"]]
    if rows.empty:
        return missing(f"no {what} for {entry['model_version']}", retrain, relation)
    return entry, rows


def check_model_card(ev: Evidence) -> Outcome:
    from ml.train import file_sha256

    found = _of_current(ev, "ml.ml_model_cards", "model card")
    if isinstance(found, Outcome):
        return found
    entry, cards = found
    row = cards.iloc[-1]
    path = Path(row["markdown_path"])
    if not path.is_file() or file_sha256(path) != row["markdown_sha256"]:
        return failed(
            f"model card {path} is missing or changed since it was written",
            f"diamond ml train --target {ev.target}",
            "ml.ml_model_cards",
        )
    return passed(f"card of {entry['model_version']}", "ml.ml_model_cards", str(path))


def check_performance(ev: Evidence) -> Outcome:
    found = _of_current(ev, "ml.ml_metrics", "metrics")
    if isinstance(found, Outcome):
        return found
    entry, metrics = found
    test = metrics[metrics["split"] == "test"].set_index("predictor")["mae"]
    if "model" not in test or "marcel" not in test:
        return missing(
            f"no test-split metrics for {entry['model_version']}",
            f"diamond ml train --target {ev.target}",
            "ml.ml_metrics",
        )
    model, marcel = float(test["model"]), float(test["marcel"])
    detail = f"test MAE {model:.4f} against Marcel {marcel:.4f}"
    if model >= marcel:
        return failed(
            f"{detail}: the model does not beat the baseline",
            "roll back (diamond ml rollback) or publish Marcel instead",
            "ml.ml_metrics",
        )
    return passed(detail, "ml.ml_metrics")


def check_fairness(ev: Evidence) -> Outcome:
    found = _of_current(ev, "ml.ml_fairness", "fairness audit")
    if isinstance(found, Outcome):
        return found
    _, rows = found
    flagged = rows[rows["is_flagged"].astype(bool)]
    attributes = sorted(rows["attribute"].unique())
    if not flagged.empty:
        groups = ", ".join(
            f"{r.attribute}={r.group_name}" for r in flagged.itertuples()
        )
        return failed(
            f"groups flagged for a mean-absolute-error gap: {groups}",
            "review the model card's fairness section before any use; "
            "see governance/PLAYBOOK.md (Manage)",
            "ml.ml_fairness",
        )
    return passed(
        f"{len(rows)} groups over {', '.join(attributes)}; none flagged",
        "ml.ml_fairness",
    )


# --------------------------------------------------------------------------
# Drift, the assistant, the controls
# --------------------------------------------------------------------------


def check_drift(ev: Evidence) -> Outcome:
    report = ev.json("drift/report.json")
    path = str(ev.path("drift/report.json"))
    if report is None:
        return missing(
            "no drift report", f"diamond drift check --target {ev.target}", path
        )
    if report.get("target") != ev.target:
        return missing(
            f"the drift report is for {report.get('target')}, not {ev.target}",
            f"diamond drift check --target {ev.target}",
            path,
        )
    stale = ev.stale(
        report.get("checked_at"),
        "the drift report",
        f"diamond drift check --target {ev.target}",
        path,
    )
    if stale is not None:
        return stale
    results = report.get("results") or []
    if not results:
        return failed("the drift report holds no monitor result", "check", path)
    alerts = report.get("alerts") or []
    orphans = [a["monitor"] for a in alerts if not a.get("incident_id")]
    if orphans:
        return failed(
            f"alerts without an incident: {', '.join(orphans)}",
            "check the runbook's incident rules parse (test_drift_alerts)",
            path,
        )
    return passed(
        f"{len(results)} monitors checked at {report.get('checked_at')}; "
        f"{len(alerts)} alert(s), each with an incident opened",
        path,
    )


def _live_incidents(ev: Evidence) -> list[dict[str, Any]]:
    """The incidents opened on this target about the live rate."""
    from governance.incidents import list_incidents

    return [
        incident
        for incident in list_incidents()
        if incident.get("trigger") == HALLUCINATION_TRIGGER
        and (incident.get("evidence") or {}).get("source") == "traces"
        and incident.get("target") == ev.target
    ]


def _reviewed_until(ev: Evidence) -> datetime | None:
    """When the last incident about the live rate was closed. The answers
    before it were the incident's evidence and were dealt with there; were
    they counted again, no report could pass until hundreds of new answers
    had pushed them out of the window, and closing would reopen at once."""
    closed = [_when(i.get("closed_at")) for i in _live_incidents(ev)]
    closed = [moment for moment in closed if moment is not None]
    return max(closed) if closed else None


def _live_incident(ev: Evidence, rate: float, limit: float, answers: int) -> str:
    """The open incident about the live rate, opened now unless one is
    still open: a report run every hour must not open one an hour."""
    from governance.incidents import follow_up_lock, open_incident

    # Two reports at once must not both find none open and open two.
    with follow_up_lock():
        for incident in _live_incidents(ev):
            if incident["status"] == "open":
                return str(incident["incident_id"])
        return open_incident(
            HALLUCINATION_TRIGGER,
            ev.target,
            summary=f"live hallucination rate {rate:.3f} over the last {answers} "
            f"traced answers, above its limit {limit}",
            evidence={
                "source": "traces",
                "traces": str(ev.path("rag/traces.jsonl")),
                "rate": rate,
                "limit": limit,
                "answers": answers,
            },
            owner="ml",
        )


def _check_live_answers(ev: Evidence, limit: float) -> tuple[str, Outcome | None]:
    """What the traces of real questions say, and a failure (with the
    runbook's incident opened) when their hallucination rate is over
    ``limit``: the offline evaluation cannot see what users ask."""
    from rag.traces import read, stats, traces_path

    path = traces_path(ev.target_dir)
    answers = read(path)
    reviewed = _reviewed_until(ev)
    if reviewed is not None:
        answers = [
            t
            for t in answers
            if (asked := _when(t.get("asked_at"))) is not None and asked > reviewed
        ]
    recent = sorted(answers, key=lambda t: str(t.get("asked_at")))[-LIVE_WINDOW:]
    if len(recent) < LIVE_MINIMUM:
        since = f" since {reviewed.isoformat()}" if reviewed else ""
        return f"{len(recent)} live answers traced{since}, too few for a rate", None
    rate = stats(recent)["hallucination_rate"]
    words = f"live hallucination rate {rate:.3f} over the last {len(recent)} answers"
    if rate <= limit:
        return words, None
    incident = _live_incident(ev, rate, limit, len(recent))
    return words, failed(
        f"{words}, above its limit {limit} (incident {incident})",
        "switch the assistant off "
        "(diamond governance kill-switch assistant off --reason "
        f"{incident}) and follow the runbook",
        str(path),
    )


def check_assistant_eval(ev: Evidence) -> Outcome:
    from rag.evaluate import THRESHOLDS

    report = ev.json("rag/eval.json")
    path = str(ev.path("rag/eval.json"))
    configured = ((report or {}).get("thresholds") or {}).get("hallucination_rate")
    # A limit of 0 is a limit: only a missing one falls back to the default.
    limit = float(
        THRESHOLDS["hallucination_rate"] if configured is None else configured
    )
    live, spike = _check_live_answers(ev, limit)
    if spike is not None:
        return spike
    if report is None:
        return missing(
            "no assistant evaluation in this target folder",
            "diamond rag eval",
            path,
        )
    # The evaluation names no target: it scores the index of this target
    # folder, which is rebuilt with each build, so its time tells its build.
    stale = ev.stale(
        report.get("evaluated_at"), "the assistant evaluation", "diamond rag eval", path
    )
    if stale is not None:
        return stale
    failures = report.get("failures") or []
    metrics = report.get("metrics") or {}
    if failures:
        return failed(
            f"the evaluation misses its thresholds: {'; '.join(failures)}",
            "switch the assistant off if needed "
            "(diamond governance kill-switch assistant off --reason ...)",
            path,
        )
    return passed(
        f"hit@5 {metrics.get('hit_at_5')}, hallucination rate "
        f"{metrics.get('hallucination_rate')} ({report.get('evaluated_at')}); {live}",
        path,
    )


def check_controls(ev: Evidence) -> Outcome:
    from governance.controls import SWITCHES, controls_path, load, switch_state

    path = str(controls_path())
    try:
        pins = load()["model_pins"]
        states = {name: switch_state(name) for name in SWITCHES}
    except DiamondError as exc:
        return failed(str(exc), "restore or delete the control file", path)
    words = [
        f"{name} {'in service' if s['in_service'] else 'OUT OF SERVICE'}"
        for name, s in states.items()
    ]
    pin = pins.get(ev.target)
    if pin is not None:
        registry = ev.frame("ml.ml_training_runs")
        known = (
            set()
            if isinstance(registry, str)
            else set(registry["model_version"].astype(str))
        )
        if pin["model_version"] not in known:
            return failed(
                f"the pin {pin['model_version']} on {ev.target} is not in the "
                "registry, so the newest version serves instead",
                f"diamond ml rollback --latest --target {ev.target}, or pin a "
                "known version",
                path,
            )
        words.append(f"model pinned to {pin['model_version']}")
    if not Path(path).is_file():
        # Never flipped: the defaults hold, and there is no file to show.
        return passed("; ".join([*words, f"no control file yet at {path}"]))
    return passed("; ".join(words), path)


Check = Callable[[Evidence], Outcome]
