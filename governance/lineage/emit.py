"""Send diamond's lineage events through the configured OpenLineage client.

The functions here are what the ``diamond`` command calls: ``emit_dbt``
after a dbt invocation (``diamond lineage emit``), ``emit_ingest`` after
the ingest step, ``emit_step`` after each other step outside dbt,
``emit_pipeline`` at the start and end of ``diamond run``.
Events go wherever :func:`governance.lineage.transport.make_client` sends
them; by default they are appended to ``<target>/lineage/events.jsonl``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import RunEvent, RunState

from governance.lineage.events import (
    build_dbt_events,
    build_ingest_events,
    ingest_record,
    pipeline_event,
)
from governance.lineage.steps import StepRun, build_step_events
from governance.lineage.transport import default_target_dir, make_client

log = logging.getLogger(__name__)


def emit_events(events: Iterable[RunEvent], target_dir: Path | None = None) -> int:
    """Send ``events`` in order through one client; return how many."""
    client = make_client(Path(target_dir) if target_dir else default_target_dir())
    count = 0
    try:
        for event in events:
            client.emit(event)
            count += 1
    finally:
        client.close()
    log.info("emitted %s lineage event(s)", count)
    return count


def emit_dbt(
    target_dir: Path | None = None, parent_run_id: str | None = None
) -> list[RunEvent]:
    """Build and send the events of the dbt invocation whose artifacts are
    in ``target_dir`` (default ``$DBT_TARGET_PATH``, else the project's
    ``target/``); ``parent_run_id`` defaults to ``$DIAMOND_RUN_ID``."""
    folder = Path(target_dir) if target_dir else default_target_dir()
    events = build_dbt_events(folder, parent_run_id)
    emit_events(events, folder)
    return events


def emit_ingest(
    result: Any,
    target: str | None = None,
    parent_run_id: str | None = None,
    *,
    target_dir: Path | None = None,
) -> list[RunEvent]:
    """Build and send the events of one ingest attempt.

    ``result`` is the :class:`diamond.ingest.IngestResult` ingest returned,
    or the exception it raised (its failed load-log row then describes the
    attempt). ``parent_run_id`` defaults to ``$DIAMOND_RUN_ID``.
    """
    events = build_ingest_events(ingest_record(result, target), parent_run_id)
    emit_events(events, target_dir)
    return events


def emit_pipeline(
    state: RunState,
    run_id: str,
    *,
    error: str | None = None,
    moment: datetime | None = None,
    target_dir: Path | None = None,
) -> RunEvent:
    """Send one event of the whole ``diamond run`` (START, COMPLETE or
    FAIL), the parent of every step's events."""
    event = pipeline_event(state, run_id, moment=moment, error=error)
    emit_events([event], target_dir)
    return event


def emit_step(
    step: StepRun,
    parent_run_id: str | None = None,
    *,
    target_dir: Path | None = None,
) -> list[RunEvent]:
    """Build and send the events of one step outside dbt (model training,
    the assistant's index, the drift checks)."""
    events = build_step_events(step, parent_run_id)
    emit_events(events, target_dir)
    return events
