"""Lineage events built from a real ``diamond run`` on a scratch DuckDB.

The module builds the warehouse once (``diamond run`` then ``diamond
docs``, as subprocesses, about two minutes) and checks the events built
from its artifacts: each validates against the OpenLineage specification
(core schema and every facet schema, resolved offline), every model has
its START and COMPLETE, parent links form one tree, datasets chain from
the release through raw and staging to the marts, personal data is tagged
per column, failures end in FAIL with an error, and the events cover at
least what the reference dbt integration reports for the same artifacts.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openlineage.client.event_v2 import RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from diamond.ingest import IngestResult, ingest
from diamond.lahman import TABLES, WAREHOUSE_TYPES
from diamond.source import packaged_release, sha256_file
from governance.lineage import naming
from governance.lineage.emit import emit_dbt, emit_ingest
from governance.lineage.events import (
    PRODUCER,
    IngestRecord,
    LineageError,
    build_dbt_events,
    build_ingest_events,
    ingest_record,
    pipeline_event,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SPEC = Path(os.environ.get("OPENLINEAGE_SPEC_DIR", "/work/shared/openlineage-spec"))
#: Facets of the dbt integration that the specification does not define;
#: the core schema still checks them as facets.
DBT_CUSTOM_FACETS = {"dbt_node", "dbt_run", "dbt_version", "dbt_model", "dbt_exposures"}

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------
# The scratch warehouse and its artifacts


def _diamond(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "diamond"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


@pytest.fixture(scope="module")
def scratch(duckdb_build: dict[str, Path]) -> Iterator[dict[str, Path]]:
    """The session's scratch DuckDB build, with this process pointed at it."""
    paths = duckdb_build
    settings = {
        "DIAMOND_DUCKDB_PATH": str(paths["duckdb"]),
        "DBT_TARGET_PATH": str(paths["target"]),
        "DBT_LOG_PATH": str(paths["logs"]),
        "DIAMOND_CACHE_DIR": str(paths["cache"]),
        "DBT_PROFILES_DIR": str(ROOT),
    }
    patch = pytest.MonkeyPatch()
    for name, value in settings.items():
        patch.setenv(name, value)
    for name in ("DIAMOND_RUN_ID", "OPENLINEAGE_NAMESPACE", "DIAMOND_TARGET"):
        patch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE__")]:
        patch.delenv(name)
    patch.delenv("OPENLINEAGE_URL", raising=False)
    patch.delenv("OPENLINEAGE_CONFIG", raising=False)
    yield paths
    patch.undo()


@pytest.fixture(scope="module")
def manifest(scratch: dict[str, Path]) -> dict:
    return json.loads((scratch["target"] / "manifest.json").read_text())


@pytest.fixture(scope="module")
def pipeline_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture(scope="module")
def dbt_events(scratch: dict[str, Path], pipeline_id: str) -> list[RunEvent]:
    return build_dbt_events(scratch["target"], pipeline_id)


@pytest.fixture(scope="module")
def loaded_record(scratch: dict[str, Path]) -> IngestRecord:
    from diamond.warehouse import query

    (load_id, source, version, fingerprint, rows) = query(
        "duckdb",
        "select load_id, source, source_version, source_fingerprint, row_count "
        "from raw.load_log where status = 'loaded' order by finished_at desc "
        "limit 1",
    )[0]
    result = IngestResult(
        load_id, "duckdb", "loaded", source, version, fingerprint, 27, rows, 1.0, None
    )
    return ingest_record(result)


@pytest.fixture(scope="module")
def ingest_events(loaded_record: IngestRecord, pipeline_id: str) -> list[RunEvent]:
    return build_ingest_events(loaded_record, pipeline_id)


def _dicts(events: list[RunEvent]) -> list[dict[str, Any]]:
    return [Serde.to_dict(event) for event in events]


def _by_job(events: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        grouped[event["job"]["name"]].append(event)
    return grouped


def _copy_artifacts(scratch: dict[str, Path], dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "run_results.json", "catalog.json"):
        shutil.copy(scratch["target"] / name, dest / name)
    return dest


# --------------------------------------------------------------------------
# Validation against the specification


@pytest.fixture(scope="module")
def spec_registry() -> Registry:
    resources = []
    for path in [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json"))]:
        schema = json.loads(path.read_text())
        resources.append(
            (
                schema["$id"],
                Resource.from_contents(schema, default_specification=DRAFT202012),
            )
        )
    return Registry().with_resources(resources)


def _facets_of(event: dict) -> Iterator[tuple[str, str, dict]]:
    """(place, facet name, facet) for every facet of an event."""
    for name, facet in (event["run"].get("facets") or {}).items():
        yield "run", name, facet
    for name, facet in (event["job"].get("facets") or {}).items():
        yield "job", name, facet
    for side in ("inputs", "outputs"):
        for dataset in event.get(side) or []:
            for group in ("facets", "inputFacets", "outputFacets"):
                for name, facet in (dataset.get(group) or {}).items():
                    yield f"{side}.{group}", name, facet


def _validate(events: list[dict], registry: Registry) -> set[str]:
    """Validate every event and facet; return the facets the spec lacks."""
    core = Draft202012Validator(
        {"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"},
        registry=registry,
    )
    validators: dict[str, Draft202012Validator] = {}
    unknown: set[str] = set()
    for event in events:
        errors = [e.message for e in core.iter_errors(event)]
        assert not errors, f"{event['job']['name']} {event['eventType']}: {errors[:3]}"
        for place, name, facet in _facets_of(event):
            url = facet["_schemaURL"]
            assert facet["_producer"] == PRODUCER, (place, name)
            base = url.split("#", 1)[0]
            try:
                registry.get_or_retrieve(base)
            except Exception:  # not in the specification folder
                unknown.add(name)
                continue
            if url not in validators:
                validators[url] = Draft202012Validator({"$ref": url}, registry=registry)
            errors = [e.message for e in validators[url].iter_errors(facet)]
            assert not errors, f"{event['job']['name']} {place}.{name}: {errors[:3]}"
    return unknown


def test_every_event_validates_against_the_specification(
    dbt_events, ingest_events, pipeline_id, spec_registry
) -> None:
    pipeline = [
        pipeline_event(RunState.START, pipeline_id),
        pipeline_event(RunState.FAIL, pipeline_id, error="step 2 failed"),
    ]
    unknown = _validate(_dicts(dbt_events + ingest_events + pipeline), spec_registry)
    assert unknown <= DBT_CUSTOM_FACETS, unknown - DBT_CUSTOM_FACETS


def test_failed_and_python_nodes_validate(
    scratch, tmp_path, spec_registry, manifest
) -> None:
    target = _with_failures_and_python_model(scratch, tmp_path, manifest)
    unknown = _validate(_dicts(build_dbt_events(target)), spec_registry)
    assert unknown <= DBT_CUSTOM_FACETS


# --------------------------------------------------------------------------
# Completeness and structure


def test_every_model_has_start_and_complete(dbt_events, manifest) -> None:
    jobs = _by_job(_dicts(dbt_events))
    models = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"]["materialized"] != "ephemeral"
    ]
    assert len(models) > 50
    for model in models:
        events = jobs.get(f"diamond.model.{model}")
        assert events, f"no events for {model}"
        assert [e["eventType"] for e in events] == ["START", "COMPLETE"], model
        assert len({e["run"]["runId"] for e in events}) == 1, model


def test_every_executed_test_is_a_run(dbt_events, scratch) -> None:
    results = json.loads((scratch["target"] / "run_results.json").read_text())
    executed = {r["unique_id"] for r in results["results"] if r["status"] == "pass"}
    tests = {u for u in executed if u.startswith("test.")}
    jobs = _by_job(_dicts(dbt_events))
    ids = {
        e["job"]["facets"]["dbt_node"]["unique_id"]
        for e in _dicts(dbt_events)
        if "dbt_node" in e["job"]["facets"]
    }
    assert tests <= ids
    sample = next(iter(sorted(tests)))
    name = "diamond.test." + sample.split(".", 2)[2]
    assert [e["eventType"] for e in jobs[name]] == ["START", "COMPLETE"]


def test_parent_links_form_one_tree(dbt_events, ingest_events, pipeline_id) -> None:
    events = _dicts(dbt_events)
    invocation = [e for e in events if e["job"]["name"] == "diamond.dbt.build"]
    assert [e["eventType"] for e in invocation] == ["START", "COMPLETE"]
    assert events[0] is invocation[0] and events[-1] is invocation[1]
    invocation_id = invocation[0]["run"]["runId"]
    for event in invocation:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == pipeline_id
        assert parent["job"]["namespace"] == "diamond"
        assert parent["job"]["name"] == "diamond.run"
    runs: dict[str, list[str]] = defaultdict(list)
    for event in events:
        runs[event["run"]["runId"]].append(event["eventType"])
        if event in invocation:
            continue
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == invocation_id
        assert parent["job"]["name"] == "diamond.dbt.build"
        assert parent["root"]["run"]["runId"] == pipeline_id
        assert parent["root"]["job"]["name"] == "diamond.run"
    assert all(states[0] == "START" and len(states) == 2 for states in runs.values())
    for event in _dicts(ingest_events):
        assert event["run"]["facets"]["parent"]["run"]["runId"] == pipeline_id
    for event in events:
        uuid_version = uuid.UUID(event["run"]["runId"]).version
        assert uuid_version == 7


def test_datasets_chain_from_release_to_marts(
    dbt_events, ingest_events, manifest
) -> None:
    produced: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for event in _dicts(dbt_events + ingest_events):
        if event["eventType"] != "COMPLETE":
            continue
        sources = {(d["namespace"], d["name"]) for d in event["inputs"]}
        for output in event["outputs"]:
            produced[(output["namespace"], output["name"])] |= sources
    namespace = f"duckdb://{Path(os.environ['DIAMOND_DUCKDB_PATH']).resolve()}"
    release = naming.file_dataset(packaged_release())
    people = (namespace, "diamond.staging.stg_lahman__people")
    assert (namespace, "diamond.raw.people") in produced[people]
    assert produced[(namespace, "diamond.raw.people")] == {
        (release.namespace, release.name)
    }
    marts = [
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "marts"
    ]
    assert marts
    for mart in marts:
        seen: set[tuple[str, str]] = set()
        pending = [(namespace, f"diamond.marts.{mart}")]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            pending.extend(produced.get(current, ()))
        layers = {name.split(".")[1] for ns, name in seen if ns == namespace}
        assert {"raw", "staging"} <= layers, (mart, layers)
        assert (release.namespace, release.name) in seen, mart


def _output(events: list[dict], name: str) -> dict:
    for event in events:
        for output in event["outputs"]:
            if output["name"] == name and event["eventType"] == "COMPLETE":
                return output
    raise AssertionError(f"no COMPLETE event writes {name}")


def test_output_facets_of_a_model(dbt_events, manifest) -> None:
    output = _output(_dicts(dbt_events), "diamond.marts.fct_team_seasons")
    facets = output["facets"]
    node = manifest["nodes"]["model.diamond.fct_team_seasons"]
    fields = {f["name"]: f["type"] for f in facets["schema"]["fields"]}
    assert set(fields) == set(node["columns"])
    assert all(fields.values())
    assert facets["documentation"]["description"] == node["description"]
    assert facets["ownership"]["owners"] == [
        {"name": "analytics@diamond.example", "type": "TEAM"}
    ]
    assert facets["datasetType"]["datasetType"] == "TABLE"
    lineage = facets.get("columnLineage")
    assert lineage and lineage["fields"], "no column lineage on fct_team_seasons"
    for upstream in lineage["fields"].values():
        for field in upstream["inputFields"]:
            assert field["name"].startswith("diamond.")
    job = next(
        e["job"]
        for e in _dicts(dbt_events)
        if e["job"]["name"] == "diamond.model.fct_team_seasons"
        and e["eventType"] == "START"
    )
    assert job["facets"]["jobType"]["jobType"] == "MODEL"
    assert job["facets"]["jobType"]["integration"] == "DBT"
    assert job["facets"]["sql"]["query"].lstrip().lower().startswith(("with", "select"))
    assert job["facets"]["ownership"]["owners"][0]["name"] == (
        "analytics@diamond.example"
    )


def test_pii_tags_on_people_columns(dbt_events, manifest) -> None:
    output = _output(_dicts(dbt_events), "diamond.staging.stg_lahman__people")
    tags = output["facets"]["tags"]["tags"]
    tagged = {t["field"] for t in tags if t["key"] == "contains_pii"}
    node = manifest["nodes"]["model.diamond.stg_lahman__people"]
    marked = {
        name
        for name, column in node["columns"].items()
        if (column.get("meta") or {}).get("contains_pii")
    }
    assert marked and tagged == marked
    assert all(
        t["value"] == "true" and t["source"] == "DBT_META"
        for t in tags
        if t["key"] == "contains_pii"
    )


def test_pii_type_and_masking_policy_become_tags(scratch, tmp_path, manifest) -> None:
    target = _copy_artifacts(scratch, tmp_path / "target")
    changed = copy.deepcopy(manifest)
    column = changed["nodes"]["model.diamond.stg_lahman__people"]["columns"]
    column["birth_date"]["meta"] = {
        "contains_pii": True,
        "pii_type": "date_of_birth",
        "masking_policy": "redact",
    }
    (target / "manifest.json").write_text(json.dumps(changed))
    output = _output(
        _dicts(build_dbt_events(target)), "diamond.staging.stg_lahman__people"
    )
    on_birth_date = {
        t["key"]: t["value"]
        for t in output["facets"]["tags"]["tags"]
        if t.get("field") == "birth_date"
    }
    assert on_birth_date == {
        "contains_pii": "true",
        "pii_type": "date_of_birth",
        "masking_policy": "redact",
    }


def test_data_quality_assertions(dbt_events) -> None:
    events = _dicts(dbt_events)
    end = events[-1]
    tested = {
        d["name"]: d["inputFacets"]["dataQualityAssertions"] for d in end["inputs"]
    }
    people = tested["diamond.staging.stg_lahman__people"]["assertions"]
    not_null = [
        a
        for a in people
        if a["assertion"] == "not_null" and a.get("column") == "player_id"
    ]
    assert not_null and not_null[0]["success"] is True
    one_test = next(
        e
        for e in events
        if e["job"]["name"].startswith("diamond.test.not_null_stg_lahman__people")
        and e["eventType"] == "COMPLETE"
    )
    (checked,) = [d for d in one_test["inputs"] if d.get("inputFacets")]
    assert checked["name"] == "diamond.staging.stg_lahman__people"
    assert one_test["run"]["facets"]["test"]["tests"][0]["status"] == "pass"


# --------------------------------------------------------------------------
# Failures and Python models (fabricated from the real artifacts)


def _with_failures_and_python_model(
    scratch: dict[str, Path], tmp_path: Path, manifest: dict
) -> Path:
    """Artifacts where stg_lahman__parks errored, one test failed and a
    Python model ran."""
    target = _copy_artifacts(scratch, tmp_path / "failed")
    results = json.loads((target / "run_results.json").read_text())
    changed = copy.deepcopy(manifest)
    failed_test = None
    for result in results["results"]:
        if result["unique_id"] == "model.diamond.stg_lahman__parks":
            result["status"] = "error"
            result["message"] = "Binder Error: column park_alias does not exist"
        elif failed_test is None and result["unique_id"].startswith(
            "test.diamond.not_null_stg_lahman__people"
        ):
            result["status"] = "fail"
            result["failures"] = 3
            result["message"] = "Got 3 results, configured to fail if != 0"
            failed_test = result["unique_id"]
    python = copy.deepcopy(changed["nodes"]["model.diamond.stg_lahman__parks"])
    python.update(
        name="py_park_counts",
        alias="py_park_counts",
        unique_id="model.diamond.py_park_counts",
        language="python",
        raw_code="def model(dbt, session):\n    return dbt.ref('stg_lahman__parks')\n",
        compiled_code=None,
    )
    changed["nodes"][python["unique_id"]] = python
    changed["parent_map"][python["unique_id"]] = ["model.diamond.stg_lahman__parks"]
    template = next(
        r
        for r in results["results"]
        if r["unique_id"] == "model.diamond.stg_lahman__franchises"
    )
    results["results"].append(
        {
            **copy.deepcopy(template),
            "unique_id": python["unique_id"],
            "compiled_code": python["raw_code"],
        }
    )
    (target / "run_results.json").write_text(json.dumps(results))
    (target / "manifest.json").write_text(json.dumps(changed))
    (target / "failed_test").write_text(failed_test or "")
    return target


def test_failed_nodes_end_in_fail_with_an_error(scratch, tmp_path, manifest) -> None:
    target = _with_failures_and_python_model(scratch, tmp_path, manifest)
    failed_test = (target / "failed_test").read_text()
    assert failed_test
    events = _dicts(build_dbt_events(target))
    jobs = _by_job(events)
    parks = jobs["diamond.model.stg_lahman__parks"]
    assert [e["eventType"] for e in parks] == ["START", "FAIL"]
    error = parks[1]["run"]["facets"]["errorMessage"]
    assert "park_alias" in error["message"]
    assert error["programmingLanguage"] == "SQL"
    assert parks[1]["outputs"] == []
    assert "errorMessage" not in parks[0]["run"]["facets"]
    test_job = "diamond.test." + failed_test.split(".", 2)[2]
    assert [e["eventType"] for e in jobs[test_job]] == ["START", "FAIL"]
    assertion = next(
        d["inputFacets"]["dataQualityAssertions"]["assertions"][0]
        for d in jobs[test_job][1]["inputs"]
        if d.get("inputFacets")
    )
    assert assertion["success"] is False and assertion["actual"] == "3"
    end = events[-1]
    assert end["job"]["name"] == "diamond.dbt.build" and end["eventType"] == "FAIL"
    assert "stg_lahman__parks" in end["run"]["facets"]["errorMessage"]["message"]


def test_python_model_carries_its_source_code(scratch, tmp_path, manifest) -> None:
    target = _with_failures_and_python_model(scratch, tmp_path, manifest)
    jobs = _by_job(_dicts(build_dbt_events(target)))
    start, complete = jobs["diamond.model.py_park_counts"]
    facets = start["job"]["facets"]
    assert facets["sourceCode"]["language"] == "python"
    assert "def model(dbt, session)" in facets["sourceCode"]["sourceCode"]
    assert "sql" not in facets
    assert complete["outputs"][0]["name"] == "diamond.staging.py_park_counts"


def test_docs_results_are_refused(scratch, tmp_path) -> None:
    target = _copy_artifacts(scratch, tmp_path / "docs")
    results = json.loads((target / "run_results.json").read_text())
    results["args"]["which"] = "generate"
    (target / "run_results.json").write_text(json.dumps(results))
    with pytest.raises(LineageError, match="before `diamond docs`"):
        build_dbt_events(target)


def test_missing_artifacts_are_named(tmp_path) -> None:
    with pytest.raises(LineageError, match=r"manifest\.json does not exist"):
        build_dbt_events(tmp_path)


def test_a_bad_parent_run_id_is_refused(scratch) -> None:
    with pytest.raises(LineageError, match="'not-a-uuid' is not a UUID"):
        build_dbt_events(scratch["target"], "not-a-uuid")


# --------------------------------------------------------------------------
# Ingest


def test_ingest_outputs_the_raw_tables(ingest_events, loaded_record) -> None:
    events = _dicts(ingest_events)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["job"]["name"] for e in events} == {"diamond.ingest"}
    complete = events[1]
    (source,) = complete["inputs"]
    release = packaged_release()
    assert source["namespace"] == "file" and source["name"] == str(release.resolve())
    assert source["facets"]["version"]["datasetVersion"] == sha256_file(release)
    outputs = {o["name"]: o for o in complete["outputs"]}
    assert len(outputs) == len(TABLES) == 27
    for spec in TABLES:
        output = outputs[f"diamond.raw.{spec.name}"]
        fields = [(f["name"], f["type"]) for f in output["facets"]["schema"]["fields"]]
        assert fields == [
            (c.name, WAREHOUSE_TYPES["duckdb"][c.type]) for c in spec.columns
        ]
        rows = output["outputFacets"]["outputStatistics"]["rowCount"]
        assert rows == loaded_record.files[spec.file]["rows"] > 0
    people = outputs["diamond.raw.people"]["facets"]["columnLineage"]["fields"]
    assert people["player_id"]["inputFields"][0]["field"] == "People.csv/playerID"


def test_unchanged_ingest_writes_nothing(scratch) -> None:
    result = ingest("duckdb")
    assert result.status == "unchanged"
    events = _dicts(build_ingest_events(ingest_record(result)))
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert all(e["outputs"] == [] for e in events)
    assert events[1]["inputs"][0]["name"] == str(packaged_release().resolve())


def test_failed_ingest_ends_in_fail(scratch, tmp_path) -> None:
    missing = tmp_path / "nope.zip"
    with pytest.raises(Exception) as caught:
        ingest("duckdb", str(missing))
    events = emit_ingest(caught.value, "duckdb", target_dir=tmp_path / "out")
    final = Serde.to_dict(events[-1])
    assert final["eventType"] == "FAIL"
    assert "nope.zip" in final["run"]["facets"]["errorMessage"]["message"]
    assert final["outputs"] == []
    lines = (tmp_path / "out" / "lineage" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["eventType"] for line in lines] == ["START", "FAIL"]


# --------------------------------------------------------------------------
# Emission


def test_emit_dbt_writes_json_lines_with_stable_run_ids(scratch, tmp_path) -> None:
    target = _copy_artifacts(scratch, tmp_path / "target")
    first = emit_dbt(target)
    lines = (target / "lineage" / "events.jsonl").read_text().splitlines()
    assert len(lines) == len(first)
    assert json.loads(lines[0])["job"]["name"] == "diamond.dbt.build"
    again = build_dbt_events(target)
    assert [e.run.runId for e in again] == [e.run.runId for e in first]


def test_job_namespace_follows_the_environment(scratch, monkeypatch) -> None:
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "diamond-ci")
    events = build_dbt_events(scratch["target"])
    assert {e.job.namespace for e in events} == {"diamond-ci"}


# --------------------------------------------------------------------------
# Naming rules


def test_dataset_naming_rules(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PGHOST", "db.internal")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGDATABASE", "lahman")
    assert naming.table_dataset("people", "raw", "postgres") == naming.DatasetRef(
        "postgres://db.internal:6543", "lahman.raw.people"
    )
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert naming.table_dataset("people", "raw", "athena") == naming.DatasetRef(
        "awsathena://athena.eu-west-1.amazonaws.com", "awsdatacatalog.raw.people"
    )
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    assert naming.table_dataset("people", "raw", "duckdb") == naming.DatasetRef(
        f"duckdb://{tmp_path / 'wh.duckdb'}", "wh.raw.people"
    )
    assert naming.location_dataset(
        "https://example.org/releases/baseballdatabank-2021.2.zip"
    ) == naming.DatasetRef(
        "https://example.org", "/releases/baseballdatabank-2021.2.zip"
    )
    assert naming.location_dataset(str(tmp_path)) == naming.DatasetRef(
        "file", str(tmp_path.resolve())
    )
    assert naming.dbt_node_job("diamond", "model", "fct_x") == "diamond.model.fct_x"
    with pytest.raises(Exception, match="not an https URL"):
        naming.url_dataset("ftp://example.org/x.zip")


# --------------------------------------------------------------------------
# The reference integration


def _reference_events(target: Path) -> list[dict]:
    processor = DbtLocalArtifactProcessor(
        producer=PRODUCER,
        job_namespace="diamond",
        project_dir=str(ROOT),
        target="duckdb",
        target_path=str(target),
    )
    return _dicts(processor.parse().events())


def _dataset_facets(events: list[dict]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event in events:
        for side in ("inputs", "outputs"):
            for dataset in event.get(side) or []:
                key = (dataset["namespace"], dataset["name"])
                for group in ("facets", "inputFacets", "outputFacets"):
                    found[key] |= set(dataset.get(group) or {})
    return found


def _facet_names(events: list[dict], part: str) -> set[str]:
    return {name for e in events for name in (e[part].get("facets") or {})}


def test_superset_of_the_reference_integration(scratch, dbt_events) -> None:
    reference = _reference_events(scratch["target"])
    ours = _dicts(dbt_events)
    assert reference
    theirs_ds, ours_ds = _dataset_facets(reference), _dataset_facets(ours)
    missing_datasets = set(theirs_ds) - set(ours_ds)
    assert not missing_datasets, sorted(missing_datasets)[:5]
    added_facets: dict[str, int] = defaultdict(int)
    for key, names in theirs_ds.items():
        # Row counts come from the adapter response, which DuckDB does not
        # fill; neither side can report them here.
        lacking = names - ours_ds[key]
        assert not lacking, (key, lacking)
        for name in ours_ds[key] - names:
            added_facets[name] += 1
    for part in ("run", "job"):
        theirs, mine = _facet_names(reference, part), _facet_names(ours, part)
        assert theirs <= mine, (part, theirs - mine)
        print(f"{part} facets we add: {sorted(mine - theirs)}")
    extra = sorted(set(ours_ds) - set(theirs_ds))
    print(f"datasets we add: {len(extra)}, e.g. {extra[:3]}")
    print(f"dataset facets we add (datasets): {dict(sorted(added_facets.items()))}")
    print(f"events: ours {len(ours)}, reference {len(reference)}")
