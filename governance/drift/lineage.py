"""OpenLineage events of a drift check: job ``diamond.drift.check`` reads
the monitored relations and writes ``governance.drift_history`` and the
report folder, as a child of the ``diamond run`` that started it (the
pipeline run id is ``$DIAMOND_RUN_ID``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from governance.lineage.emit import emit_step
from governance.lineage.naming import file_dataset, table_dataset
from governance.lineage.steps import StepDataset, StepRun

JOB = "diamond.drift.check"


def emit_check(
    relations: Iterable[str],
    target: str,
    folder: Path,
    started: datetime,
    check_id: str,
    parent_run_id: str | None,
) -> str:
    """Send the START and COMPLETE events of one check; return the job's
    run id. Without a pipeline run (``parent_run_id`` None and no
    ``$DIAMOND_RUN_ID``) the events have no parent."""
    inputs = []
    for relation in sorted(set(relations)):
        schema, table = relation.split(".", 1)
        inputs.append(StepDataset(table_dataset(table, schema, target)))
    outputs = [
        StepDataset(table_dataset("drift_history", "governance", target)),
        StepDataset(file_dataset(folder), kind="FILE"),
    ]
    step = StepRun(
        job=JOB,
        job_type="JOB",
        description="Drift and health checks of the monitored relations",
        started_at=started,
        finished_at=datetime.now(UTC),
        inputs=inputs,
        outputs=outputs,
        identity=check_id,
    )
    events = emit_step(step, parent_run_id, target_dir=folder.parent)
    return str(events[0].run.runId)
