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

from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    schema_dataset,
)

from governance.lineage.events import (
    PRODUCER,
    _event,
    _stable_run_id,
    diamond_engine_facet,
    pipeline_parent_facet,
    resolve_parent_run_id,
)
from governance.lineage.naming import DatasetRef, job_namespace


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
    parent = resolve_parent_run_id(parent_run_id)
    run_id = _stable_run_id(step.started_at, step.job, step.identity)
    facets: dict[str, Any] = {"processing_engine": diamond_engine_facet()}
    if parent:
        facets["parent"] = pipeline_parent_facet(parent)
    job = Job(
        namespace=job_namespace(),
        name=step.job,
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration="DIAMOND",
                jobType=step.job_type,
                producer=PRODUCER,
            ),
            "documentation": documentation_job.DocumentationJobFacet(
                description=step.description, producer=PRODUCER
            ),
        },
    )
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
    end_facets = dict(facets)
    if step.error:
        end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=step.error, programmingLanguage="python", producer=PRODUCER
        )
    return [
        _event(
            RunState.START,
            step.started_at,
            Run(runId=run_id, facets=facets),
            job,
            inputs,
            outputs,
        ),
        _event(
            RunState.FAIL if step.error else RunState.COMPLETE,
            max(step.finished_at, step.started_at),
            Run(runId=run_id, facets=end_facets),
            job,
            inputs,
            outputs,
        ),
    ]
