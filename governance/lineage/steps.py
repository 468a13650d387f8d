"""Lineage of the pipeline steps that run outside dbt.

Training the model, indexing the assistant's corpus and checking for drift
read warehouse relations and write relations and files of their own. Each
is one OpenLineage job in diamond's namespace (``diamond.ml.train``,
``diamond.rag.index``, ``diamond.drift.check``), with START and COMPLETE
(or FAIL) events, a parent facet pointing at the ``diamond run`` they belong
to, and their inputs and outputs named as the dbt events name the same
tables, so a consumer sees one connected graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openlineage.client.event_v2 import InputDataset, OutputDataset, RunEvent
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    schema_dataset,
)

from governance.lineage.events import (
    PRODUCER,
    _stable_run_id,
    job_run_events,
    resolve_parent_run_id,
)
from governance.lineage.naming import DatasetRef


@dataclass(frozen=True)
class StepDataset:
    """A dataset a step read or wrote, with what is known about it."""

    ref: DatasetRef
    #: Column names and types, when the step knows them.
    fields: Sequence[tuple[str, str]] = ()
    #: A content version, such as a file's SHA-256.
    version: str | None = None
    #: ``FILE`` for files (a model artifact); tables leave it unset.
    kind: str | None = None

    def facets(self) -> dict[str, Any]:
        facets: dict[str, Any] = {}
        if self.fields:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=name, type=kind)
                    for name, kind in self.fields
                ],
                producer=PRODUCER,
            )
        if self.version:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=self.version, producer=PRODUCER
            )
        if self.kind:
            facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(
                datasetType=self.kind, producer=PRODUCER
            )
        return facets


@dataclass
class StepRun:
    """One run of a step, from which its events are built."""

    job: str
    job_type: str
    description: str
    started_at: datetime
    finished_at: datetime
    inputs: list[StepDataset] = field(default_factory=list)
    outputs: list[StepDataset] = field(default_factory=list)
    error: str | None = None
    #: What identifies this run among others of the job (e.g. a version).
    identity: str = ""


def build_step_events(
    step: StepRun, parent_run_id: str | None = None
) -> list[RunEvent]:
    """START and COMPLETE (or FAIL) of one step; the parent defaults to
    ``$DIAMOND_RUN_ID``."""
    inputs = [
        InputDataset(namespace=d.ref.namespace, name=d.ref.name, facets=d.facets())
        for d in step.inputs
    ]
    outputs = (
        []
        if step.error
        else [
            OutputDataset(namespace=d.ref.namespace, name=d.ref.name, facets=d.facets())
            for d in step.outputs
        ]
    )
    return job_run_events(
        job_name=step.job,
        job_type=step.job_type,
        description=step.description,
        run_id=_stable_run_id(step.started_at, step.job, step.identity),
        started_at=step.started_at,
        finished_at=step.finished_at,
        inputs=inputs,
        outputs=outputs,
        error=step.error,
        parent_run_id=resolve_parent_run_id(parent_run_id),
    )
