"""The evidence bundle on a real warehouse built by ``diamond run``.

The complete build (the session's ``duckdb_run``) must pass every control.
Then pieces of evidence are taken away or damaged in copies, never in the
build itself: the report must fail and name the control, what is missing
and the command that produces it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import run_diamond

from governance.report import build_report

#: Artifacts the report reads from the dbt target folder.
ARTIFACTS = (
    "manifest.json",
    "run_results.json",
    "ingest",
    "privacy",
    "lineage",
    "drift",
)
PERSONAL_MODELS = {
    "dim_players",
    "fct_injury_stints_deidentified",
    "ml_next_season_features",
    "stg_lahman__people",
    "stg_synthetic__fan_accounts",
    "stg_synthetic__player_medical_stints",
}


@pytest.fixture(scope="module")
def built(duckdb_built: dict[str, str]) -> dict[str, str]:
    return duckdb_built


@pytest.fixture(scope="module")
def reported(built: dict[str, str]) -> dict:
    done = run_diamond(built, "governance", "report", "--target", "duckdb")
    assert done.returncode == 0, done.stderr[-4000:]
    folder = Path(built["DBT_TARGET_PATH"]) / "governance"
    return {
        "stderr": done.stderr,
        "folder": folder,
        "evidence": json.loads((folder / "evidence.json").read_text()),
        "records": json.loads((folder / "records_of_processing.json").read_text()),
    }


@pytest.fixture
def copy(
    built: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the build's artifacts and audit log, the warehouse shared."""
    source = Path(built["DBT_TARGET_PATH"])
    target = tmp_path / "target"
    target.mkdir()
    for name in ARTIFACTS:
        item = source / name
        if item.is_dir():
            shutil.copytree(item, target / name)
        else:
            shutil.copy(item, target / name)
    warehouse = Path(built["DIAMOND_DUCKDB_PATH"])
    audit = tmp_path / "audit.jsonl"
    shutil.copy(warehouse.parent / "audit" / "audit.jsonl", audit)
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", str(audit))
    monkeypatch.setenv("DIAMOND_CONTROLS", str(tmp_path / "controls.json"))
    monkeypatch.setenv("DIAMOND_TARGET", "duckdb")
    for name in ("DIAMOND_ML_DIR", "DIAMOND_RUN_ID"):
        if name in built:
            monkeypatch.setenv(name, built[name])
        else:
            monkeypatch.delenv(name, raising=False)
    return target


def statuses(report) -> dict[str, str]:
    return {row.id: row.status for row in report.rows}


def test_every_control_passes_on_a_complete_build(reported: dict) -> None:
    found = {c["id"]: c["status"] for c in reported["evidence"]["controls"]}
    # The assistant's evaluation is not part of `diamond run`; it is listed
    # as skipped, not counted as a pass.
    assert found.pop("assistant.evaluation") == "skipped"
    assert set(found.values()) == {"pass"}, found
    assert reported["evidence"]["ok"] is True
    assert len(found) >= 15
    for name in ("evidence.md", "evidence.html", "records_of_processing.md"):
        assert (reported["folder"] / name).stat().st_size > 0
    markdown = (reported["folder"] / "evidence.md").read_text()
    assert "| audit.chain: " in markdown
    assert "Overall: **PASS**" in markdown
    assert "SKIPPED assistant.evaluation" in reported["stderr"]


def test_records_of_processing_name_categories_and_roles(reported: dict) -> None:
    activities = {a["model"]: a for a in reported["records"]["activities"]}
    assert set(activities) == PERSONAL_MODELS
    for activity in activities.values():
        assert activity["missing_keys"] == []
        assert activity["purpose"]
        assert activity["retention"]
        assert activity["data_subjects"]
    fans = activities["stg_synthetic__fan_accounts"]
    assert fans["data_subjects"] == ["fans"]
    assert {"email", "credit_card", "date_of_birth"} <= set(fans["categories"])
    assert fans["roles"] == ["diamond_analyst", "diamond_privacy_officer"]
    medical = activities["stg_synthetic__player_medical_stints"]
    assert medical["special_categories"]
    players = activities["dim_players"]
    assert "diamond_ml_engineer" in players["roles"]
    assert "person_name" in players["categories"]
    raw = {s["relation"] for s in reported["records"]["restricted_sources"]}
    assert {"raw.people", "raw.fan_accounts"} <= raw
    text = (reported["folder"] / "records_of_processing.md").read_text()
    assert "## stg_synthetic__fan_accounts" in text
    assert "MISSING" not in text


def test_the_copy_passes_as_the_build_does(copy: Path) -> None:
    report = build_report("duckdb", copy)
    assert report.ok, [r.detail for r in report.failing]


def test_a_missing_drift_report_fails_and_says_what_to_run(copy: Path) -> None:
    (copy / "drift" / "report.json").unlink()
    report = build_report("duckdb", copy)
    assert not report.ok
    assert statuses(report)["monitoring.drift"] == "missing"
    (row,) = report.failing
    assert "no drift report" in row.detail
    assert "diamond drift check --target duckdb" in row.detail
    assert any("monitoring.drift" in line for line in report.summary_lines())
    written = json.loads((copy / "governance" / "evidence.json").read_text())
    assert written["ok"] is False


def test_a_corrupted_audit_record_fails_and_is_named(copy: Path) -> None:
    audit = Path(os.environ["DIAMOND_AUDIT_LOG"])
    lines = audit.read_text().splitlines()
    record = json.loads(lines[2])
    record["details"]["tampered"] = True
    lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    audit.write_text("\n".join(lines) + "\n")
    report = build_report("duckdb", copy)
    assert statuses(report)["audit.chain"] == "fail"
    (row,) = report.failing
    assert f"seq {record['seq']}" in row.detail
    assert "diamond audit verify" in row.detail


def test_a_build_replaced_by_docs_is_not_a_build(copy: Path) -> None:
    results = json.loads((copy / "run_results.json").read_text())
    results["args"]["which"] = "generate"
    (copy / "run_results.json").write_text(json.dumps(results))
    report = build_report("duckdb", copy)
    assert statuses(report)["build.tests"] == "missing"


def test_a_failing_assistant_evaluation_fails(copy: Path) -> None:
    (copy / "rag").mkdir()
    (copy / "rag" / "eval.json").write_text(
        json.dumps(
            {
                "metrics": {"hit_at_5": 0.5, "hallucination_rate": 0.1},
                "failures": ["hit@5 0.50 below 0.90"],
            }
        )
    )
    report = build_report("duckdb", copy)
    assert statuses(report)["assistant.evaluation"] == "fail"


def test_records_without_meta_fail(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    node = manifest["nodes"]["model.diamond.stg_synthetic__fan_accounts"]
    node["config"]["meta"].pop("retention")
    node.get("meta", {}).pop("retention", None)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    report = build_report("duckdb", copy)
    assert statuses(report)["privacy.records"] == "fail"
    (row,) = report.failing
    assert "stg_synthetic__fan_accounts lacks retention" in row.detail
