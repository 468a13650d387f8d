"""OpenLineage run events for diamond's ingest step and dbt invocations.

:func:`build_dbt_events` reads dbt's artifacts (``manifest.json``,
``run_results.json`` and, when ``diamond docs`` has written it,
``catalog.json``) and describes one invocation as a tree of runs: the
invocation itself (job ``diamond.dbt.<command>``) and, below it, every node
that executed, each with a START and a COMPLETE or FAIL event timed from
``run_results.json``. :func:`build_ingest_events` describes one load of a
release into the ``raw`` schema (job ``diamond.ingest``).

Run ids are UUIDv7 values derived from what identifies the run (dbt's
invocation id and the node, the ingest load id), so building the events of
the same artifacts twice yields the same runs and a lineage backend that
receives them twice keeps one copy.

The dbt-specific facets (``dbt_node``, ``dbt_run``, ``dbt_model``,
``dbt_version``, ``dbt_exposures``) come from openlineage-integration-common,
so consumers written for the reference dbt integration read these events
too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
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
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    external_query_run,
    job_type_job,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    sql_job,
    tags_dataset,
    tags_run,
    test_run,
)
from openlineage.client.uuid import generate_static_uuid
from openlineage.common.provider.dbt.facets import (
    DbtExposure,
    DbtExposuresDatasetFacet,
    DbtModelConfig,
    DbtModelDatasetFacet,
    DbtNodeJobFacet,
    DbtRunRunFacet,
    DbtVersionRunFacet,
)
from openlineage.common.provider.dbt.utils import (
    __version__ as openlineage_version,
)

from diamond import __version__ as diamond_version
from diamond.errors import DiamondError
from diamond.lahman import TABLES, TABLES_BY_NAME, WAREHOUSE_TYPES
from diamond.settings import RAW_SCHEMA, TARGETS
from governance.lineage.naming import (
    INGEST_JOB,
    PIPELINE_JOB,
    DatasetRef,
    dataset_name,
    dbt_invocation_job,
    dbt_node_job,
    file_dataset,
    job_namespace,
    location_dataset,
    table_dataset,
    warehouse_namespace,
)

log = logging.getLogger(__name__)

#: URI naming the producer of every event and facet diamond emits.
PRODUCER = f"https://diamond.example/governance/lineage/{diamond_version}"
#: Environment variable carrying the run id of the whole ``diamond run``.
RUN_ID_ENV = "DIAMOND_RUN_ID"

#: Node resource types that execute and get their own runs.
#: Operations are the project's hooks (the grants of a Postgres build).
_EXECUTED_TYPES = ("model", "seed", "snapshot", "test", "unit_test", "operation")
#: Node resource types that are relations other nodes read.
_RELATION_TYPES = ("model", "seed", "snapshot", "source")
#: run_results statuses that end a node's run successfully.
_SUCCESS_STATUSES = {"success", "pass", "warn"}
#: run_results statuses that end a node's run with FAIL.
_FAIL_STATUSES = {"error", "fail", "runtime error"}
#: File under ``<target>/lineage/`` keeping resolved column lineage.
COLUMN_CACHE_FILE = "column-lineage-cache.json"
#: dbt commands whose run_results describe executed nodes.
_EXECUTING_COMMANDS = ("build", "run", "test", "seed", "snapshot")
#: OpenLineage dataset types of dbt materializations.
_DATASET_TYPES = {
    "table": "TABLE",
    "incremental": "TABLE",
    "view": "VIEW",
    "materialized_view": "VIEW",
    "seed": "TABLE",
    "snapshot": "TABLE",
}


class LineageError(DiamondError):
    """Lineage events cannot be built; the message names the cause."""


# --------------------------------------------------------------------------
# Shared helpers


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _stable_run_id(moment: datetime, *parts: str) -> str:
    """A UUIDv7 for ``moment`` whose random bits come from ``parts``."""
    return str(generate_static_uuid(moment, "\x1f".join(parts).encode()))


def resolve_parent_run_id(parent_run_id: str | None) -> str | None:
    """The pipeline run id to hang events under: the argument, else
    ``$DIAMOND_RUN_ID``; checked to be a UUID."""
    chosen = parent_run_id or os.environ.get(RUN_ID_ENV) or None
    if chosen is None:
        return None
    try:
        uuid.UUID(chosen)
    except ValueError as exc:
        msg = (
            f"parent run id {chosen!r} is not a UUID; pass the run id of the "
            f"`diamond run` (or unset {RUN_ID_ENV})"
        )
        raise LineageError(msg) from exc
    return chosen


def pipeline_parent_facet(parent_run_id: str) -> parent_run.ParentRunFacet:
    """ParentRunFacet pointing at the ``diamond.run`` run ``parent_run_id``."""
    namespace = job_namespace()
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_run_id),
        job=parent_run.Job(namespace=namespace, name=PIPELINE_JOB),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=parent_run_id),
            job=parent_run.RootJob(namespace=namespace, name=PIPELINE_JOB),
        ),
        producer=PRODUCER,
    )


def _child_parent_facet(
    run_id: str, job_name: str, root_run_id: str, root_job: str
) -> parent_run.ParentRunFacet:
    namespace = job_namespace()
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=namespace, name=job_name),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=root_run_id),
            job=parent_run.RootJob(namespace=namespace, name=root_job),
        ),
        producer=PRODUCER,
    )


def diamond_engine_facet() -> processing_engine_run.ProcessingEngineRunFacet:
    """The processing-engine facet of every job diamond runs itself (the
    pipeline, ingest and the steps outside dbt)."""
    return processing_engine_run.ProcessingEngineRunFacet(
        name="diamond",
        version=diamond_version,
        openlineageAdapterVersion=openlineage_version,
        producer=PRODUCER,
    )


def _event(
    state: RunState,
    moment: datetime,
    run: Run,
    job: Job,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=_iso(moment),
        run=run,
        job=job,
        inputs=inputs or [],
        outputs=outputs or [],
        producer=PRODUCER,
    )


def _meta_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def pipeline_event(
    state: RunState,
    run_id: str,
    *,
    moment: datetime | None = None,
    error: str | None = None,
) -> RunEvent:
    """One event of the whole ``diamond run`` (job ``diamond.run``).

    The caller owns the run id and passes it to the steps as
    ``$DIAMOND_RUN_ID``; ``error`` adds an ErrorMessage facet (for FAIL).
    """
    resolve_parent_run_id(run_id)
    facets: dict[str, Any] = {"processing_engine": diamond_engine_facet()}
    if error:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    job = Job(
        namespace=job_namespace(),
        name=PIPELINE_JOB,
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration="DIAMOND",
                jobType="JOB",
                producer=PRODUCER,
            )
        },
    )
    return _event(
        state, moment or datetime.now(UTC), Run(runId=run_id, facets=facets), job
    )


# --------------------------------------------------------------------------
# dbt


def load_artifacts(target_dir: Path) -> tuple[dict, dict, dict | None]:
    """manifest.json, run_results.json and (if present) catalog.json."""
    target_dir = Path(target_dir)
    loaded: list[dict | None] = []
    for name, required in (
        ("manifest.json", True),
        ("run_results.json", True),
        ("catalog.json", False),
    ):
        path = target_dir / name
        if not path.is_file():
            if required:
                msg = (
                    f"{path} does not exist: run a dbt command that executes "
                    "nodes (`diamond run` or `diamond build`) with this target "
                    "folder first"
                )
                raise LineageError(msg)
            loaded.append(None)
            continue
        try:
            loaded.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            msg = f"{path} is not valid JSON ({exc}); rerun the dbt command"
            raise LineageError(msg) from exc
    manifest, run_results, catalog = loaded
    assert manifest is not None and run_results is not None
    return manifest, run_results, catalog


def _unique_id_tail(unique_id: str) -> str:
    """``model.diamond.fct_x`` -> ``fct_x``; ``source.diamond.lahman.people``
    -> ``lahman.people``."""
    parts = unique_id.split(".")
    return ".".join(parts[2:]) if len(parts) > 2 else unique_id


@dataclass(frozen=True)
class _Upstream:
    """A cached upstream column: the shape of columns.UpstreamField."""

    unique_id: str
    column: str
    transformations: tuple[dict, ...]


class ColumnLineageCache:
    """Column lineage resolved by earlier runs, kept in a JSON file.

    Parsing every model's SQL is the slowest part of building events, and
    between two builds most models do not change. An entry's key hashes
    everything its lineage depends on: the code of the column-lineage
    module, the SQL dialect, the model's compiled SQL and column meta, and
    for each relation it reads, that relation's columns (from the catalog,
    else the manifest) and, for models, the relation's own key. Entries not
    used by a run are dropped when it saves the file.
    """

    VERSION = 1

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict] = {}
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0
        if path is not None and path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                log.warning(
                    "ignoring unreadable column lineage cache %s: %s", path, exc
                )
                stored = {}
            if stored.get("version") == self.VERSION:
                self.entries = stored.get("entries", {})

    @staticmethod
    def _pack(upstream: list[Any]) -> list:
        return [[u.unique_id, u.column, list(u.transformations)] for u in upstream]

    @staticmethod
    def _unpack(packed: list) -> list[_Upstream]:
        return [_Upstream(uid, column, tuple(t)) for uid, column, t in packed]

    def get(
        self, key: str
    ) -> tuple[dict[str, list[_Upstream]], list[_Upstream]] | None:
        """The cached (per column, whole dataset) lineage of ``key``."""
        entry = self.entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self.used.add(key)
        columns = {name: self._unpack(u) for name, u in entry["columns"].items()}
        return columns, self._unpack(entry["dataset"])

    def put(self, key: str, columns: dict[str, list[Any]], dataset: list[Any]) -> None:
        """Remember the lineage resolved for ``key``."""
        self.entries[key] = {
            "columns": {name: self._pack(u) for name, u in columns.items()},
            "dataset": self._pack(dataset),
        }
        self.used.add(key)

    def save(self) -> None:
        """Write the entries this run used (nothing without a path)."""
        if self.path is None:
            return
        kept = {key: self.entries[key] for key in sorted(self.used)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(
                json.dumps({"version": self.VERSION, "entries": kept}),
                encoding="utf-8",
            )
        except OSError as exc:
            log.warning("cannot write the column lineage cache %s: %s", self.path, exc)


def _module_digest(module: Any) -> str:
    try:
        return hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()
    except (OSError, TypeError):
        return getattr(module, "__name__", "unknown")


@dataclass
class _NodeResult:
    unique_id: str
    node: dict
    result: dict
    started: datetime
    finished: datetime
    run_id: str = ""


@dataclass
class DbtLineage:
    """Everything needed to turn one dbt invocation's artifacts into events."""

    manifest: dict
    run_results: dict
    catalog: dict | None = None
    parent_run_id: str | None = None
    column_cache: ColumnLineageCache = field(
        default_factory=lambda: ColumnLineageCache(None)
    )
    _facet_cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lineage_keys: dict[str, str] = field(default_factory=dict)

    # -- lookups ------------------------------------------------------------

    @cached_property
    def adapter(self) -> str:
        """The dbt adapter that built the manifest (a diamond target)."""
        adapter = self.manifest.get("metadata", {}).get("adapter_type")
        if adapter not in TARGETS:
            msg = (
                f"the manifest was built by the {adapter!r} adapter; lineage "
                f"knows how to name datasets of {', '.join(TARGETS)} only"
            )
            raise LineageError(msg)
        return adapter

    @cached_property
    def namespace(self) -> str:
        """Dataset namespace of the warehouse the invocation ran on."""
        return warehouse_namespace(self.adapter)

    @cached_property
    def project(self) -> str:
        """The dbt project name, first part of every node job name."""
        return self.manifest.get("metadata", {}).get("project_name") or "diamond"

    @cached_property
    def nodes(self) -> dict[str, dict]:
        """Every manifest node, source and unit test by unique id."""
        return {
            **self.manifest.get("nodes", {}),
            **self.manifest.get("sources", {}),
            **self.manifest.get("unit_tests", {}),
        }

    @cached_property
    def command(self) -> str:
        """The dbt command of the invocation (``build``, ``run``...)."""
        return self.run_results.get("args", {}).get("which") or "build"

    @cached_property
    def invocation_id(self) -> str:
        """dbt's id of the invocation."""
        metadata = self.run_results.get("metadata", {})
        return metadata.get("invocation_id") or self.manifest["metadata"].get(
            "invocation_id", "unknown"
        )

    @cached_property
    def dbt_version(self) -> str | None:
        """Version of dbt-core that ran the invocation."""
        return self.run_results.get("metadata", {}).get("dbt_version")

    @cached_property
    def finished(self) -> datetime:
        """When the invocation wrote its results."""
        metadata = self.run_results.get("metadata", {})
        return _parse_time(metadata.get("generated_at")) or datetime.now(UTC)

    @cached_property
    def started(self) -> datetime:
        """When the invocation started."""
        metadata = self.run_results.get("metadata", {})
        began = _parse_time(metadata.get("invocation_started_at"))
        if began is None:
            elapsed = float(self.run_results.get("elapsed_time") or 0.0)
            began = self.finished - timedelta(seconds=elapsed)
        return began

    @cached_property
    def invocation_job(self) -> str:
        """Job name of the invocation, e.g. ``diamond.dbt.build``."""
        return dbt_invocation_job(self.command)

    @cached_property
    def invocation_run_id(self) -> str:
        """Run id of the invocation, stable for the same artifacts."""
        return _stable_run_id(self.started, "dbt", self.invocation_id)

    @cached_property
    def exposures(self) -> dict[str, list[DbtExposure]]:
        """Exposures that depend on each node, by unique id."""
        index: dict[str, list[DbtExposure]] = defaultdict(list)
        for exposure in self.manifest.get("exposures", {}).values():
            item = DbtExposure(
                unique_id=exposure["unique_id"],
                name=exposure["name"],
                type=exposure.get("type"),
                url=exposure.get("url"),
            )
            for node_id in exposure.get("depends_on", {}).get("nodes", []):
                index[node_id].append(item)
        return dict(index)

    def is_relation(self, unique_id: str) -> bool:
        """Whether a node is a warehouse relation other nodes can read."""
        node = self.nodes.get(unique_id)
        if node is None or node.get("resource_type") not in _RELATION_TYPES:
            return False
        return node.get("config", {}).get("materialized") != "ephemeral"

    def dataset_ref(self, unique_id: str) -> DatasetRef:
        """Namespace and name of the relation a node builds or a source names."""
        node = self.nodes[unique_id]
        if node["resource_type"] == "source":
            table = node.get("identifier") or node["name"]
        else:
            table = node.get("alias") or node["name"]
        return DatasetRef(
            self.namespace, dataset_name(node.get("database"), node["schema"], table)
        )

    def upstream_relations(self, unique_id: str) -> list[str]:
        """Relations a node reads, looking through ephemeral models."""
        parent_map = self.manifest.get("parent_map", {})
        found: list[str] = []
        pending = list(parent_map.get(unique_id, []))
        seen: set[str] = set()
        while pending:
            parent = pending.pop(0)
            if parent in seen:
                continue
            seen.add(parent)
            if self.is_relation(parent):
                found.append(parent)
            elif parent.startswith("model."):
                pending.extend(parent_map.get(parent, []))
        return found

    # -- facets -------------------------------------------------------------

    def _owner(self, node: dict) -> tuple[str, dict] | None:
        group = node.get("group") or node.get("config", {}).get("group")
        if not group:
            return None
        entry = self.manifest.get("groups", {}).get(f"group.{self.project}.{group}")
        if entry is None:
            for candidate in self.manifest.get("groups", {}).values():
                if candidate.get("name") == group:
                    entry = candidate
                    break
        owner = (entry or {}).get("owner") or {}
        return group, owner

    def _owner_names(self, node: dict) -> list[str]:
        names: list[str] = []
        found = self._owner(node)
        if found:
            group, owner = found
            names.append(owner.get("email") or owner.get("name") or f"group:{group}")
        meta_owner = (node.get("meta") or {}).get("owner")
        if meta_owner:
            names.extend(meta_owner if isinstance(meta_owner, list) else [meta_owner])
        return list(dict.fromkeys(str(name) for name in names))

    def _schema_fields(
        self, unique_id: str, node: dict
    ) -> list[schema_dataset.SchemaDatasetFacetFields]:
        declared = node.get("columns") or {}
        by_lower = {name.lower(): column for name, column in declared.items()}
        section = "sources" if node["resource_type"] == "source" else "nodes"
        catalogued = ((self.catalog or {}).get(section) or {}).get(unique_id)
        fields = []
        if catalogued and catalogued.get("columns"):
            ordered = sorted(
                catalogued["columns"].values(), key=lambda c: c.get("index") or 0
            )
            for column in ordered:
                described = by_lower.get(column["name"].lower(), {})
                fields.append(
                    schema_dataset.SchemaDatasetFacetFields(
                        name=column["name"],
                        type=column.get("type") or described.get("data_type"),
                        description=described.get("description") or None,
                    )
                )
            return fields
        for column in declared.values():
            fields.append(
                schema_dataset.SchemaDatasetFacetFields(
                    name=column["name"],
                    type=column.get("data_type"),
                    description=column.get("description") or None,
                )
            )
        return fields

    @staticmethod
    def _column_meta(column: dict) -> dict:
        meta = dict((column.get("config") or {}).get("meta") or {})
        meta.update(column.get("meta") or {})
        return meta

    def _tags(self, node: dict) -> list[tags_dataset.TagsDatasetFacetFields]:
        tags = [
            tags_dataset.TagsDatasetFacetFields(key=tag, value="true", source="DBT")
            for tag in node.get("tags") or []
        ]
        for column in (node.get("columns") or {}).values():
            name = column["name"]
            meta = self._column_meta(column)
            for key in ("contains_pii", "pii_type", "masking_policy"):
                if key in meta and meta[key] is not None:
                    tags.append(
                        tags_dataset.TagsDatasetFacetFields(
                            key=key,
                            value=_meta_value(meta[key]),
                            source="DBT_META",
                            field=name,
                        )
                    )
            tags.extend(
                tags_dataset.TagsDatasetFacetFields(
                    key=tag, value="true", source="DBT", field=name
                )
                for tag in column.get("tags") or []
            )
        return tags

    def dataset_facets(self, unique_id: str) -> dict[str, Any]:
        """The descriptive facets of a relation (cached: built once a run)."""
        cached = self._facet_cache.get(unique_id)
        if cached is not None:
            return cached
        node = self.nodes[unique_id]
        facets: dict[str, Any] = {
            "dataSource": datasource_dataset.DatasourceDatasetFacet(
                name=self.namespace, uri=self.namespace, producer=PRODUCER
            )
        }
        materialized = (
            "table"
            if node["resource_type"] == "source"
            else node.get("config", {}).get("materialized")
        )
        if materialized in _DATASET_TYPES:
            facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(
                datasetType=_DATASET_TYPES[materialized], producer=PRODUCER
            )
        if node.get("description"):
            facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
                description=node["description"], producer=PRODUCER
            )
        fields = self._schema_fields(unique_id, node)
        if fields:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=fields, producer=PRODUCER
            )
        owners = self._owner_names(node)
        if owners:
            facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
                owners=[ownership_dataset.Owner(name=n, type="TEAM") for n in owners],
                producer=PRODUCER,
            )
        tags = self._tags(node)
        if tags:
            facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags, producer=PRODUCER)
        if node["resource_type"] != "source":
            config = node.get("config") or {}
            model_config = DbtModelConfig(
                materialized=config.get("materialized") or None,
                access=config.get("access") or node.get("access") or None,
                group=config.get("group") or None,
            )
            facets["dbt_model"] = DbtModelDatasetFacet(
                config=model_config, producer=PRODUCER
            )
        exposures = self.exposures.get(unique_id)
        if exposures:
            facets["dbt_exposures"] = DbtExposuresDatasetFacet(
                exposures=exposures, producer=PRODUCER
            )
        self._facet_cache[unique_id] = facets
        return facets

    @cached_property
    def _lineage_code(self) -> str:
        from governance.lineage import columns as column_module

        return _module_digest(column_module)

    def _relation_columns(self, unique_id: str) -> list:
        node = self.nodes[unique_id]
        section = "sources" if node["resource_type"] == "source" else "nodes"
        catalogued = ((self.catalog or {}).get(section) or {}).get(unique_id)
        if catalogued and catalogued.get("columns"):
            return sorted(
                (c["name"], c.get("type")) for c in catalogued["columns"].values()
            )
        return sorted(
            (c["name"], c.get("data_type"))
            for c in (node.get("columns") or {}).values()
        )

    def lineage_key(self, unique_id: str) -> str:
        """Hash of everything a node's column lineage depends on."""
        known = self._lineage_keys.get(unique_id)
        if known is not None:
            return known
        node = self.nodes[unique_id]
        parents = []
        for parent in sorted(self.manifest.get("parent_map", {}).get(unique_id, [])):
            if parent not in self.nodes:
                continue
            upstream = self._relation_columns(parent)
            nested = (
                self.lineage_key(parent)
                if self.nodes[parent]["resource_type"] in ("model", "snapshot")
                else ""
            )
            parents.append([parent, upstream, nested])
        material = {
            "code": self._lineage_code,
            "dialect": self.adapter,
            "sql": node.get("compiled_code") or "",
            "meta": {
                name: self._column_meta(column)
                for name, column in sorted((node.get("columns") or {}).items())
            },
            "relation": self.dataset_ref(unique_id).name,
            "parents": parents,
        }
        digest = hashlib.sha256(
            json.dumps(material, sort_keys=True, default=str).encode()
        ).hexdigest()
        self._lineage_keys[unique_id] = digest
        return digest

    def _input_fields(
        self, owner: str, upstream: list[Any]
    ) -> list[column_lineage_dataset.InputField]:
        fields = []
        for source in upstream:
            if not source.column or source.unique_id not in self.nodes:
                # The relation is known but not the column: the dataset's
                # inputs already name the relation, nothing to add here.
                log.debug("%s: no column for upstream %s", owner, source.unique_id)
                continue
            ref = self.dataset_ref(source.unique_id)
            fields.append(
                column_lineage_dataset.InputField(
                    namespace=ref.namespace,
                    name=ref.name,
                    field=source.column,
                    transformations=[
                        column_lineage_dataset.Transformation(
                            type=item["type"],
                            subtype=item.get("subtype"),
                            description=item.get("description"),
                            masking=item.get("masking"),
                        )
                        for item in source.transformations
                    ],
                )
            )
        return fields

    def column_lineage(
        self, unique_id: str
    ) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
        """Column lineage of a SQL model: per output column, and the columns
        that filter, join, group or sort the whole dataset."""
        from governance.lineage import columns as column_module

        key = self.lineage_key(unique_id)
        cached = self.column_cache.get(key)
        if cached is not None:
            per_column, whole = cached
        else:
            try:
                per_column = column_module.resolve_column_lineage(
                    self.manifest, unique_id, self.catalog, self.adapter
                )
                whole = column_module.resolve_dataset_lineage(
                    self.manifest, unique_id, self.catalog, self.adapter
                )
            except column_module.ColumnLineageError as exc:
                log.warning("no column lineage for %s: %s", unique_id, exc)
                return None
            self.column_cache.put(key, per_column, whole)
        fields = {}
        for column, upstream in sorted(per_column.items()):
            inputs = self._input_fields(unique_id, upstream)
            if inputs:
                fields[column] = column_lineage_dataset.Fields(inputFields=inputs)
        dataset = self._input_fields(unique_id, whole)
        if not fields and not dataset:
            return None
        return column_lineage_dataset.ColumnLineageDatasetFacet(
            fields=fields, dataset=dataset, producer=PRODUCER
        )

    @cached_property
    def shared_run_facets(self) -> dict[str, Any]:
        """Run facets every run of the invocation shares (built once)."""
        facets: dict[str, Any] = {
            "dbt_run": DbtRunRunFacet(
                invocation_id=self.invocation_id,
                project_name=self.project,
                project_version=None,
                profile_name=self.project,
                dbt_runtime="core",
                full_refresh=self.run_results.get("args", {}).get("full_refresh"),
                producer=PRODUCER,
            )
        }
        if self.dbt_version:
            facets["processing_engine"] = (
                processing_engine_run.ProcessingEngineRunFacet(
                    name="dbt",
                    version=self.dbt_version,
                    openlineageAdapterVersion=openlineage_version,
                    producer=PRODUCER,
                )
            )
            # Kept for consumers of the reference dbt integration, which
            # still read the dbt version from this facet.
            facets["dbt_version"] = DbtVersionRunFacet(
                version=self.dbt_version, producer=PRODUCER
            )
        return facets

    @cached_property
    def node_parent(self) -> parent_run.ParentRunFacet:
        """ParentRunFacet of every node run: the invocation, under the
        pipeline run when there is one."""
        root_run = self.parent_run_id or self.invocation_run_id
        root_job = PIPELINE_JOB if self.parent_run_id else self.invocation_job
        return _child_parent_facet(
            self.invocation_run_id, self.invocation_job, root_run, root_job
        )

    # -- events -------------------------------------------------------------

    def node_results(self) -> list[_NodeResult]:
        """Executed nodes from run_results, with their timing."""
        found = []
        for result in self.run_results.get("results", []):
            unique_id = result["unique_id"]
            node = self.nodes.get(unique_id)
            kind = unique_id.split(".", 1)[0]
            if node is None or kind not in _EXECUTED_TYPES:
                log.debug("no lineage for %s (not an executed node)", unique_id)
                continue
            status = str(result.get("status", "")).lower()
            if status not in _SUCCESS_STATUSES | _FAIL_STATUSES:
                log.debug("no lineage for %s: status %s", unique_id, status)
                continue
            times = [
                (_parse_time(t.get("started_at")), _parse_time(t.get("completed_at")))
                for t in result.get("timing") or []
            ]
            starts = [s for s, _ in times if s]
            ends = [e for _, e in times if e]
            started = min(starts) if starts else self.finished
            finished = max(ends) if ends else started
            item = _NodeResult(unique_id, node, result, started, finished)
            item.run_id = _stable_run_id(started, "dbt", self.invocation_id, unique_id)
            found.append(item)
        return found

    def _job_facets(self, item: _NodeResult) -> dict[str, Any]:
        node = item.node
        kind = node["resource_type"]
        facets: dict[str, Any] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration="DBT",
                jobType=kind.upper(),
                producer=PRODUCER,
            ),
            "dbt_node": DbtNodeJobFacet(
                original_file_path=node.get("original_file_path"),
                database=node.get("database"),
                schema=node.get("schema"),
                alias=node.get("alias"),
                unique_id=item.unique_id,
                producer=PRODUCER,
            ),
        }
        code = item.result.get("compiled_code") or node.get("compiled_code")
        if node.get("language") == "python":
            source = code or node.get("raw_code")
            if source:
                facets["sourceCode"] = source_code_job.SourceCodeJobFacet(
                    language="python", sourceCode=source, producer=PRODUCER
                )
        elif code:
            facets["sql"] = sql_job.SQLJobFacet(
                query=code, dialect=self.adapter, producer=PRODUCER
            )
        if node.get("description"):
            facets["documentation"] = documentation_job.DocumentationJobFacet(
                description=node["description"], producer=PRODUCER
            )
        owners = self._owner_names(node)
        if owners:
            facets["ownership"] = ownership_job.OwnershipJobFacet(
                owners=[ownership_job.Owner(name=n, type="TEAM") for n in owners],
                producer=PRODUCER,
            )
        return facets

    def _test_assertion(
        self, item: _NodeResult
    ) -> data_quality_assertions_dataset.Assertion:
        node = item.node
        metadata = node.get("test_metadata") or {}
        config = node.get("config") or {}
        severity = (config.get("severity") or "error").lower()
        failures = item.result.get("failures")
        threshold = config.get("warn_if" if severity == "warn" else "error_if")
        expected = None
        if failures is not None:
            plain = threshold is None or "".join(str(threshold).split()) == "!=0"
            expected = "0" if plain else str(threshold)
        return data_quality_assertions_dataset.Assertion(
            assertion=metadata.get("name") or node["name"],
            name=node["name"],
            success=item.result.get("status") == "pass",
            column=(metadata.get("kwargs") or {}).get("column_name")
            or node.get("column_name"),
            severity=severity,
            description=node.get("description") or None,
            expected=expected,
            actual=None if failures is None else str(failures),
        )

    def tested_relation(self, item: _NodeResult) -> str | None:
        """The relation a data test checks (its attached node, else first
        relation it reads)."""
        attached = item.node.get("attached_node")
        if attached and self.is_relation(attached):
            return attached
        upstream = self.upstream_relations(item.unique_id)
        return upstream[0] if upstream else None

    def node_events(
        self,
        item: _NodeResult,
        assertions: dict[str, list[data_quality_assertions_dataset.Assertion]],
    ) -> list[RunEvent]:
        """START and COMPLETE or FAIL of one executed node."""
        node = item.node
        kind = node["resource_type"]
        status = str(item.result.get("status")).lower()
        failed = status in _FAIL_STATUSES
        run_facets: dict[str, Any] = {"parent": self.node_parent}
        tag_fields = [
            tags_run.TagsRunFacetFields(key=tag, value="true", source="DBT")
            for tag in node.get("tags") or []
        ] + [
            tags_run.TagsRunFacetFields(
                key=key, value=_meta_value(value), source="DBT_META"
            )
            for key, value in (node.get("meta") or {}).items()
        ]
        start_facets = {**run_facets, **self.shared_run_facets}
        if tag_fields:
            start_facets["tags"] = tags_run.TagsRunFacet(
                tags=tag_fields, producer=PRODUCER
            )
        query_id = (item.result.get("adapter_response") or {}).get("query_id")
        if query_id:
            run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
                externalQueryId=str(query_id), source=self.namespace, producer=PRODUCER
            )
        inputs: list[InputDataset] = []
        outputs: list[OutputDataset] = []
        if kind == "test":
            assertion = self._test_assertion(item)
            tested = self.tested_relation(item)
            if tested:
                assertions[tested].append(assertion)
            run_facets["test"] = test_run.TestRunFacet(
                tests=[
                    test_run.TestExecution(
                        name=item.unique_id,
                        status="pass" if status == "pass" else "fail",
                        severity=assertion.severity,
                        type=assertion.assertion,
                        expected=assertion.expected,
                        actual=assertion.actual,
                    )
                ],
                producer=PRODUCER,
            )
            for parent in self.upstream_relations(item.unique_id):
                ref = self.dataset_ref(parent)
                if parent == tested:
                    facet = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(  # noqa: E501
                        assertions=[assertion], producer=PRODUCER
                    )
                    inputs.append(
                        InputDataset(
                            namespace=ref.namespace,
                            name=ref.name,
                            inputFacets={"dataQualityAssertions": facet},
                        )
                    )
                else:
                    inputs.append(InputDataset(namespace=ref.namespace, name=ref.name))
        elif kind in ("model", "seed", "snapshot"):
            for parent in self.upstream_relations(item.unique_id):
                ref = self.dataset_ref(parent)
                inputs.append(
                    InputDataset(
                        namespace=ref.namespace,
                        name=ref.name,
                        facets=self.dataset_facets(parent),
                    )
                )
            if kind == "seed":
                root = node.get("root_path") or ""
                csv = file_dataset(Path(root) / node.get("original_file_path", ""))
                inputs.append(InputDataset(namespace=csv.namespace, name=csv.name))
            if not failed:
                outputs.append(self._output(item))
        if failed:
            message = item.result.get("message") or f"dbt reported status {status}"
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=str(message),
                programmingLanguage="python"
                if node.get("language") == "python"
                else "SQL",
                producer=PRODUCER,
            )
        name = dbt_node_job(self.project, kind, _unique_id_tail(item.unique_id))
        namespace = job_namespace()
        # START describes the job, the run and which datasets are involved;
        # COMPLETE or FAIL adds the outcome and the datasets' facets. A
        # consumer merges the facets of a run's events.
        return [
            _event(
                RunState.START,
                item.started,
                Run(runId=item.run_id, facets=start_facets),
                Job(namespace=namespace, name=name, facets=self._job_facets(item)),
                [InputDataset(namespace=d.namespace, name=d.name) for d in inputs],
                [OutputDataset(namespace=d.namespace, name=d.name) for d in outputs],
            ),
            _event(
                RunState.FAIL if failed else RunState.COMPLETE,
                item.finished,
                Run(runId=item.run_id, facets=run_facets),
                Job(namespace=namespace, name=name),
                inputs,
                outputs,
            ),
        ]

    def _output(self, item: _NodeResult) -> OutputDataset:
        ref = self.dataset_ref(item.unique_id)
        facets = dict(self.dataset_facets(item.unique_id))
        if item.node.get("language") != "python":
            lineage = self.column_lineage(item.unique_id)
            if lineage is not None:
                facets["columnLineage"] = lineage
        output_facets: dict[str, Any] = {}
        rows = (item.result.get("adapter_response") or {}).get("rows_affected")
        if isinstance(rows, int) and rows > 0:
            output_facets["outputStatistics"] = (
                output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=rows, producer=PRODUCER
                )
            )
        return OutputDataset(
            namespace=ref.namespace,
            name=ref.name,
            facets=facets,
            outputFacets=output_facets,
        )

    def invocation_events(
        self,
        results: list[_NodeResult],
        assertions: dict[str, list[data_quality_assertions_dataset.Assertion]],
    ) -> tuple[RunEvent, RunEvent]:
        """START and COMPLETE or FAIL of the dbt invocation itself."""
        facets = dict(self.shared_run_facets)
        if self.parent_run_id:
            facets["parent"] = pipeline_parent_facet(self.parent_run_id)
        job = Job(
            namespace=job_namespace(),
            name=self.invocation_job,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH",
                    integration="DBT",
                    jobType="JOB",
                    producer=PRODUCER,
                )
            },
        )
        failures = [
            item.unique_id
            for item in results
            if str(item.result.get("status")).lower() in _FAIL_STATUSES
        ]
        end_facets = dict(facets)
        if failures:
            shown = ", ".join(failures[:10])
            more = f" and {len(failures) - 10} more" if len(failures) > 10 else ""
            end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"{len(failures)} dbt node(s) failed: {shown}{more}",
                programmingLanguage="SQL",
                producer=PRODUCER,
            )
        tested = []
        for unique_id, found in sorted(assertions.items()):
            ref = self.dataset_ref(unique_id)
            facet = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=found, producer=PRODUCER
            )
            tested.append(
                InputDataset(
                    namespace=ref.namespace,
                    name=ref.name,
                    inputFacets={"dataQualityAssertions": facet},
                )
            )
        start = _event(
            RunState.START,
            self.started,
            Run(runId=self.invocation_run_id, facets=facets),
            job,
        )
        end = _event(
            RunState.FAIL if failures else RunState.COMPLETE,
            max(self.finished, self.started),
            Run(runId=self.invocation_run_id, facets=end_facets),
            job,
            tested,
        )
        return start, end

    def events(self) -> list[RunEvent]:
        """Every event of the invocation: its START, the nodes' events in
        time order, its COMPLETE or FAIL."""
        results = self.node_results()
        assertions: dict[str, list] = defaultdict(list)
        node_events: list[RunEvent] = []
        for item in results:
            node_events.extend(self.node_events(item, assertions))
        node_events.sort(key=lambda event: event.eventTime)
        start, end = self.invocation_events(results, assertions)
        return [start, *node_events, end]


def build_dbt_events(
    target_dir: Path, parent_run_id: str | None = None, *, column_cache: bool = True
) -> list[RunEvent]:
    """OpenLineage events of the dbt invocation whose artifacts are in
    ``target_dir``.

    ``parent_run_id`` (default ``$DIAMOND_RUN_ID``) is the ``diamond run``
    the invocation belongs to; without it the invocation is the root run.
    Column lineage is reused from ``<target_dir>/lineage/`` for models whose
    SQL and upstream columns did not change (``column_cache=False`` resolves
    every model afresh and leaves the cache file alone).
    """
    manifest, run_results, catalog = load_artifacts(Path(target_dir))
    command = run_results.get("args", {}).get("which")
    if command not in _EXECUTING_COMMANDS:
        msg = (
            f"{Path(target_dir) / 'run_results.json'} comes from `dbt {command}`, "
            "which runs no models or tests (`dbt docs generate` overwrites the "
            "results of the build). Emit lineage right after `diamond build` "
            "or `diamond run`, before `diamond docs`."
        )
        raise LineageError(msg)
    cache = ColumnLineageCache(
        Path(target_dir) / "lineage" / COLUMN_CACHE_FILE if column_cache else None
    )
    lineage = DbtLineage(
        manifest, run_results, catalog, resolve_parent_run_id(parent_run_id), cache
    )
    events = lineage.events()
    cache.save()
    log.debug("column lineage cache: %s reused, %s resolved", cache.hits, cache.misses)
    log.info(
        "built %s lineage events for dbt %s (invocation %s)",
        len(events),
        lineage.command,
        lineage.invocation_id,
    )
    return events


# --------------------------------------------------------------------------
# ingest


#: How ``diamond.source`` names the release shipped in the lahman package.
_PACKAGED_PREFIX = "lahman package"


@dataclass(frozen=True)
class IngestRecord:
    """What lineage needs to know about one ingest attempt.

    Built from the attempt's ``raw.load_log`` row (see
    :func:`ingest_record`) or directly in tests.
    """

    load_id: str
    target: str
    status: str  # "loaded", "unchanged" or "failed"
    source: str
    version: str | None
    fingerprint: str | None
    #: Per release file: ``{"sha256": ..., "rows": ...}``.
    files: dict[str, dict[str, Any]]
    started_at: datetime
    finished_at: datetime
    error: str | None = None


def source_location(source: str) -> str:
    """The path or URL behind a release location as ingest records it."""
    if source.startswith(_PACKAGED_PREFIX):
        from diamond.source import packaged_release

        return str(packaged_release())
    return source


def source_sha256(location: str, fingerprint: str | None) -> str | None:
    """sha256 of the release archive at ``location``.

    A local zip is hashed; a downloaded URL uses the checksum ingest
    recorded next to its cached copy; a folder of CSV files has no single
    file, so its release fingerprint (a sha256 over the files' checksums)
    stands in.
    """
    from diamond.source import recorded_download_sha256, sha256_file

    if location.startswith("https://"):
        return recorded_download_sha256(location) or fingerprint
    path = Path(location)
    if path.is_file():
        return sha256_file(path)
    return fingerprint


def ingest_record(result: Any, target: str | None = None) -> IngestRecord:
    """An :class:`IngestRecord` for an ingest outcome.

    ``result`` is a :class:`diamond.ingest.IngestResult` or the exception
    ingest raised. The attempt's row in ``raw.load_log`` supplies per-file
    checksums, row counts and times (the newest failed row for an
    exception); Athena's log is not queried, so there the validation
    report written by ingest supplies row counts.
    """
    from diamond.settings import check_target

    target = check_target(getattr(result, "target", None) or target)
    now = datetime.now(UTC)
    if isinstance(result, BaseException):
        row = _load_log_row(target, None, error=str(result))
        if row is not None:
            return row
        return IngestRecord(
            load_id=f"failed-{now:%Y%m%dT%H%M%S}",
            target=target,
            status="failed",
            source=_PACKAGED_PREFIX,
            version=None,
            fingerprint=None,
            files={},
            started_at=now,
            finished_at=now,
            error=str(result),
        )
    if result.status == "loaded":
        row = _load_log_row(target, result.load_id)
        if row is not None:
            return row
    files: dict[str, dict[str, Any]] = {}
    report = getattr(result, "validation_report", None)
    if report and Path(report).is_file():
        tables = json.loads(Path(report).read_text()).get("tables", {})
        for name, table in tables.items():
            spec = TABLES_BY_NAME.get(name)
            if spec is not None:
                files[spec.file] = {
                    k: table[k] for k in ("sha256", "rows") if k in table
                }
    return IngestRecord(
        load_id=result.load_id,
        target=target,
        status=result.status,
        source=result.source,
        version=result.version,
        fingerprint=result.fingerprint,
        files=files,
        started_at=now - timedelta(seconds=float(result.seconds)),
        finished_at=now,
    )


def _load_log_row(
    target: str, load_id: str | None, error: str | None = None
) -> IngestRecord | None:
    """The load log row of ``load_id``, or the newest failed row whose error
    is ``error``; None where the log cannot be read."""
    if target not in ("duckdb", "postgres"):
        return None
    from diamond.warehouse import query

    columns = (
        "load_id, target, status, source, source_version, source_fingerprint, "
        "files, error, started_at, finished_at"
    )
    if load_id is None:
        sql = (
            f"select {columns} from {RAW_SCHEMA}.load_log where status = 'failed' "
            "and error = ? order by finished_at desc limit 1"
        )
        params: tuple = (error,)
    else:
        sql = f"select {columns} from {RAW_SCHEMA}.load_log where load_id = ?"
        params = (load_id,)
    try:
        rows = query(target, sql, params)
    except Exception as exc:  # lineage falls back; never fails ingest
        log.warning("cannot read %s.load_log on %s: %s", RAW_SCHEMA, target, exc)
        return None
    if not rows:
        return None
    (lid, tgt, status, source, version, fingerprint, files, error, began, ended) = rows[
        0
    ]
    return IngestRecord(
        load_id=lid,
        target=tgt,
        status=status,
        source=source,
        version=version,
        fingerprint=fingerprint,
        files=json.loads(files or "{}"),
        started_at=began.replace(tzinfo=UTC) if began.tzinfo is None else began,
        finished_at=ended.replace(tzinfo=UTC) if ended.tzinfo is None else ended,
        error=error,
    )


def _source_input(record: IngestRecord) -> InputDataset:
    location = source_location(record.source)
    ref = location_dataset(location)
    facets: dict[str, Any] = {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=ref.namespace,
            uri=location if "://" in location else Path(ref.name).as_uri(),
            producer=PRODUCER,
        ),
        "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
            datasetType="FILE", producer=PRODUCER
        ),
        "documentation": documentation_dataset.DocumentationDatasetFacet(
            description=(
                "Lahman baseballdatabank release "
                f"{record.version or '(version unknown)'}: one CSV file per table."
            ),
            producer=PRODUCER,
        ),
    }
    checksum = source_sha256(location, record.fingerprint)
    if checksum:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=checksum, producer=PRODUCER
        )
    return InputDataset(namespace=ref.namespace, name=ref.name, facets=facets)


def _raw_outputs(record: IngestRecord, source: DatasetRef) -> list[OutputDataset]:
    types = WAREHOUSE_TYPES[record.target]
    outputs = []
    for spec in TABLES:
        ref = table_dataset(spec.name, RAW_SCHEMA, record.target)
        facets: dict[str, Any] = {
            "dataSource": datasource_dataset.DatasourceDatasetFacet(
                name=ref.namespace, uri=ref.namespace, producer=PRODUCER
            ),
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
                datasetType="TABLE", producer=PRODUCER
            ),
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(
                        name=column.name, type=types[column.type]
                    )
                    for column in spec.columns
                ],
                producer=PRODUCER,
            ),
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    column.name: column_lineage_dataset.Fields(
                        inputFields=[
                            column_lineage_dataset.InputField(
                                namespace=source.namespace,
                                name=source.name,
                                field=f"{spec.file}/{column.header}",
                                transformations=[
                                    column_lineage_dataset.Transformation(
                                        type="DIRECT",
                                        subtype="IDENTITY",
                                        description="parsed and typed from CSV",
                                        masking=False,
                                    )
                                ],
                            )
                        ]
                    )
                    for column in spec.columns
                },
                producer=PRODUCER,
            ),
        }
        output_facets: dict[str, Any] = {}
        rows = (record.files.get(spec.file) or {}).get("rows")
        if isinstance(rows, int):
            output_facets["outputStatistics"] = (
                output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=rows, producer=PRODUCER
                )
            )
        outputs.append(
            OutputDataset(
                namespace=ref.namespace,
                name=ref.name,
                facets=facets,
                outputFacets=output_facets,
            )
        )
    return outputs


def build_ingest_events(
    record: IngestRecord, parent_run_id: str | None = None
) -> list[RunEvent]:
    """START and COMPLETE (or FAIL) of one ingest attempt (job
    ``diamond.ingest``).

    Input: the release archive, folder or URL, versioned by its sha256.
    Outputs (loaded attempts only): the raw tables, with schema, row counts
    and column lineage back to the release's CSV columns. An ``unchanged``
    attempt wrote nothing, so it has no outputs.
    """
    if record.target not in WAREHOUSE_TYPES:
        msg = f"ingest target {record.target!r} is not one of {', '.join(TARGETS)}"
        raise LineageError(msg)
    source = _source_input(record)
    failed = record.status == "failed"
    return job_run_events(
        job_name=INGEST_JOB,
        job_type="INGEST",
        description=(
            "Validates a Lahman release and replaces the raw tables "
            f"of the {record.target} warehouse with it, all or nothing."
        ),
        run_id=_stable_run_id(record.started_at, "ingest", record.load_id),
        started_at=record.started_at,
        finished_at=record.finished_at,
        inputs=[source],
        outputs=(
            _raw_outputs(record, DatasetRef(source.namespace, source.name))
            if record.status == "loaded"
            else []
        ),
        error=(record.error or "ingest failed") if failed else None,
        parent_run_id=resolve_parent_run_id(parent_run_id),
    )


def job_run_events(
    *,
    job_name: str,
    job_type: str,
    description: str,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    inputs: list[InputDataset],
    outputs: list[OutputDataset],
    error: str | None,
    parent_run_id: str | None,
) -> list[RunEvent]:
    """START and COMPLETE (or FAIL, when ``error`` is set) of one run of a
    job diamond runs itself, child of the ``diamond run`` named by
    ``parent_run_id``."""
    facets: dict[str, Any] = {"processing_engine": diamond_engine_facet()}
    if parent_run_id:
        facets["parent"] = pipeline_parent_facet(parent_run_id)
    job = Job(
        namespace=job_namespace(),
        name=job_name,
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration="DIAMOND",
                jobType=job_type,
                producer=PRODUCER,
            ),
            "documentation": documentation_job.DocumentationJobFacet(
                description=description, producer=PRODUCER
            ),
        },
    )
    end_facets = dict(facets)
    if error:
        end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    return [
        _event(
            RunState.START,
            started_at,
            Run(runId=run_id, facets=facets),
            job,
            inputs,
            outputs,
        ),
        _event(
            RunState.FAIL if error else RunState.COMPLETE,
            max(finished_at, started_at),
            Run(runId=run_id, facets=end_facets),
            job,
            inputs,
            outputs,
        ),
    ]
