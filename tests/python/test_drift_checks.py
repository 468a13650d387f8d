"""Drift, prediction, performance and health monitors on synthetic
warehouses, on DuckDB and on Postgres (a scratch database per test).

Each test writes a small manifest whose meta declares the monitors, builds
the relations it names with known distributions, and runs the whole check:
verdicts, ``governance.drift_history``, files, alerts and incidents.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import psycopg2
import pytest
from psycopg2.extras import execute_values

from diamond.cli_drift import EXIT_ALERT, cmd_drift_check
from diamond.errors import DiamondError
from governance.audit import AuditLog
from governance.drift.check import DriftError
from governance.drift.config import DriftConfigError, monitors_from_manifest
from governance.drift.run import run_check

TARGETS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
#: The lineage run id of the pipeline every check here belongs to.
RUN_ID = "0190f0b4-0000-7000-8000-00000000c0de"


# --------------------------------------------------------------------------
# A scratch warehouse and a manifest that declares monitors on it
# --------------------------------------------------------------------------


class Scratch:
    """Tables in a scratch DuckDB file or Postgres database."""

    def __init__(self, target: str, duckdb_file: Path, dsn: str | None) -> None:
        self.target = target
        self.duckdb_file = duckdb_file
        self.dsn = dsn

    def execute(self, statement: str) -> None:
        if self.target == "duckdb":
            with duckdb.connect(str(self.duckdb_file)) as con:
                con.execute(statement)
            return
        con = psycopg2.connect(self.dsn)
        try:
            with con, con.cursor() as cur:
                cur.execute(statement)
        finally:
            con.close()

    def table(self, relation: str, columns: dict[str, str], rows: list[tuple]) -> None:
        schema = relation.split(".")[0]
        spec = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        self.execute(f"create schema if not exists {schema}")
        self.execute(f"drop table if exists {relation}")
        self.execute(f"create table {relation} ({spec})")
        if self.target == "duckdb":
            import pandas as pd

            frame = pd.DataFrame(rows, columns=list(columns))  # noqa: F841
            with duckdb.connect(str(self.duckdb_file)) as con:
                con.execute(f"insert into {relation} select * from frame")
            return
        con = psycopg2.connect(self.dsn)
        try:
            with con, con.cursor() as cur:
                execute_values(cur, f"insert into {relation} values %s", rows)
        finally:
            con.close()

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        if self.target == "duckdb":
            with duckdb.connect(str(self.duckdb_file), read_only=True) as con:
                return con.execute(statement).fetchall()
        con = psycopg2.connect(self.dsn)
        try:
            with con.cursor() as cur:
                cur.execute(statement)
                return cur.fetchall()
        finally:
            con.close()


@pytest.fixture(params=TARGETS)
def scratch(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scratch]:
    target = request.param
    duckdb_file = tmp_path / "wh" / "diamond.duckdb"
    duckdb_file.parent.mkdir()
    dsn = None
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(duckdb_file))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("DIAMOND_TARGET", target)
    monkeypatch.setenv("DIAMOND_RUN_ID", RUN_ID)
    monkeypatch.setenv("DIAMOND_ALERT_SINKS", "jsonl")
    if target == "postgres":
        dsn = request.getfixturevalue("scratch_dsn")
        database = dict(part.split("=", 1) for part in dsn.split())["dbname"]
        monkeypatch.setenv("PGDATABASE", database)
    else:
        duckdb.connect(str(duckdb_file)).close()
    yield Scratch(target, duckdb_file, dsn)


def node(
    name: str,
    schema: str,
    columns: list[str],
    meta: dict[str, Any] | None = None,
    column_meta: dict[str, Any] | None = None,
    group: str | None = "analytics",
) -> tuple[str, dict[str, Any]]:
    column_meta = column_meta or {}
    return f"model.diamond.{name}", {
        "resource_type": "model",
        "name": name,
        "alias": name,
        "schema": schema,
        "group": group,
        "config": {"meta": meta or {}, "group": group},
        "columns": {
            c: {
                "name": c,
                "meta": {"drift": column_meta[c]} if c in column_meta else {},
            }
            for c in columns
        },
    }


def write_manifest(nodes: list[tuple[str, dict]], build_id: str = "build-1") -> Path:
    import os

    folder = Path(os.environ["DBT_TARGET_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"metadata": {"invocation_id": build_id}, "nodes": dict(nodes)}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


FEATURE_COLUMNS = {
    "batch": "integer",
    "x": "double precision",
    "y": "integer",
    "league": "varchar",
    "label": "varchar",
}


def feature_rows(shift: float, seed: int = 1) -> list[tuple]:
    """Batches 1-5 from one population; batch 6 has x shifted by ``shift``
    standard deviations and a different league mix."""
    rng = np.random.default_rng(seed)
    rows = []
    for batch in range(1, 7):
        size = 300 if batch < 6 else 800
        x = rng.normal(50, 10, size) + (shift * 10 if batch == 6 else 0)
        y = rng.poisson(20, size)
        p = (
            [0.5, 0.5]
            if batch < 6
            else [0.5 + 0.4 * min(shift, 1), 0.5 - 0.4 * min(shift, 1)]
        )
        league = rng.choice(["AL", "NL"], size, p=p)
        for i in range(size):
            # Every tenth x is null: nulls must be left out, not read as 0.
            value = None if i % 10 == 0 else float(x[i])
            rows.append((batch, value, int(y[i]), str(league[i]), "t"))
    return rows


def features_node(**extra: Any) -> tuple[str, dict]:
    meta = {
        "drift": {
            "window_column": "batch",
            "reference": {"from": 1, "to": 5},
            "current": "latest",
            **extra,
        }
    }
    return node(
        "features",
        "marts",
        list(FEATURE_COLUMNS),
        meta,
        {"x": "numeric", "y": {"kind": "numeric"}, "league": "categorical"},
    )


def history(scratch: Scratch, where: str = "true") -> list[tuple]:
    return scratch.query(
        "select monitor, column_name, check_name, verdict, run_id, statistic "
        f"from governance.drift_history where {where} order by monitor, column_name"
    )


def audit_actions(tmp_path: Path) -> list[Any]:
    return list(AuditLog(tmp_path / "audit.jsonl").records())


# --------------------------------------------------------------------------
# Feature drift
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scratch", TARGETS, indirect=True)
def test_shifted_batch_is_drift_with_history_alert_and_incident(
    scratch: Scratch, tmp_path: Path
) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(shift=1.0))
    folder = write_manifest([features_node()])
    report = run_check()
    (result,) = report.results
    assert result.status == "drift"
    assert result.trigger == "drift.dataset"
    assert set(result.evidence["drifted_columns"]) == {"x", "league"}
    assert result.evidence["current_window"] == "6"
    assert result.evidence["reference_window"] == "1..5"
    (alert,) = report.alerts
    assert alert.severity == "SEV3"
    assert alert.owner == "analytics"
    assert alert.run_id == RUN_ID
    assert alert.first_actions
    rows = history(scratch, "column_name = 'x'")
    assert {r[2] for r in rows} == {"wasserstein", "psi"}
    assert all(r[4] == RUN_ID for r in rows)
    counted = scratch.query(
        "select distinct reference_rows, current_rows from governance.drift_history "
        "where column_name = 'x'"
    )
    assert counted == [(1350, 720)]
    share = history(scratch, "check_name = 'drift_share'")
    assert share[0][3] == "drift"
    assert share[0][5] == pytest.approx(2 / 3)
    saved = json.loads((folder / "drift" / "report.json").read_text())
    assert saved["alerts"][0]["incident_id"] == alert.incident_id
    delivered = (folder / "drift" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(delivered[0])["evidence"]["drifted_columns"]
    records = audit_actions(tmp_path)
    incident = next(r for r in records if r.action == "incident.open")
    assert incident.subject == alert.incident_id
    assert incident.run_id == RUN_ID
    assert incident.details["severity"] == "SEV3"
    assert incident.details["first_actions"] == alert.first_actions
    assert records[-1].action == "drift.check"


@pytest.mark.parametrize("scratch", TARGETS, indirect=True)
def test_stable_batch_is_not_drift(scratch: Scratch) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(shift=0.0))
    write_manifest([features_node()])
    report = run_check()
    assert report.results[0].status == "ok", report.results[0].summary
    assert report.alerts == []


def test_windows_and_thresholds_come_from_meta_and_options(scratch: Scratch) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(shift=1.0))
    # A share of 1.0 needs every column to drift: y never does.
    write_manifest([features_node(drift_share=1.0)])
    report = run_check()
    assert report.results[0].trigger == "drift.column"
    assert report.alerts[0].severity == "SEV4"
    report = run_check(current="5", reference="1:4")
    assert report.results[0].status == "ok"
    assert report.results[0].evidence["current_window"] == "5"


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


def test_unknown_column_in_meta_names_monitor_and_column(scratch: Scratch) -> None:
    _, bad = features_node()
    bad["columns"] = {"x": {"meta": {"drift": "numeric"}}}
    with pytest.raises(DriftConfigError, match=r"monitor features.*'batch'"):
        monitors_from_manifest({"nodes": {"model.diamond.features": bad}})
    # Columns the YAML does not list are checked against the warehouse.
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(0.0))
    meta = {
        "drift": {
            "window_column": "batch",
            "reference": 1,
            "columns": {"z_score": "numeric"},
        }
    }
    key, undeclared = node("features", "marts", [], meta)
    write_manifest([(key, undeclared)])
    with pytest.raises(DriftConfigError, match=r"monitor features: column 'z_score'"):
        run_check()


def test_text_column_declared_numeric_is_refused(scratch: Scratch) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(0.0))
    key, bad = features_node()
    bad["columns"]["label"]["meta"] = {"drift": "numeric"}
    write_manifest([(key, bad)])
    with pytest.raises(
        DriftConfigError, match=r"features: column label is declared numeric"
    ):
        run_check()


def test_empty_window_names_monitor_and_window(scratch: Scratch) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(0.0))
    write_manifest([features_node(reference={"from": 1990, "to": 1995})])
    with pytest.raises(
        DriftError, match=r"monitor features: the reference window 1990..1995"
    ):
        run_check()


def test_bad_where_or_window_value_names_the_monitor(scratch: Scratch) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(0.0))
    write_manifest([features_node(where="no_such_column = 1")])
    with pytest.raises(DriftError, match=r"monitor features on marts.features: "):
        run_check()
    write_manifest([features_node()])
    with pytest.raises(DriftError, match=r"monitor features .*refused"):
        run_check(current="first")


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        ({"window_column": "batch"}, "no `reference` window"),
        ({"window_column": "batch", "reference": 1, "kind": "weird"}, "kind 'weird'"),
        ({"window_column": "batch", "reference": 1, "treshold": 1}, "unknown key"),
        ({"window_column": "batch", "reference": 1, "psi": "high"}, "psi is 'high'"),
        ({"window_column": "batch", "reference": {"from": 1}}, "window"),
        ({"window_column": "batch", "reference": {"from": 5, "to": 1}}, "swap"),
        ({"window_column": "batch", "reference": 1, "severity": "high"}, "SEV2"),
        (
            {
                "window_column": "batch",
                "reference": 1,
                "kind": "performance",
                "prediction_column": "x",
            },
            "actual_column",
        ),
    ],
)
def test_bad_meta_is_a_clear_error(drift: dict, message: str) -> None:
    key, bad = node(
        "features", "marts", list(FEATURE_COLUMNS), {"drift": drift}, {"x": "numeric"}
    )
    with pytest.raises(DriftConfigError, match=message) as caught:
        monitors_from_manifest({"nodes": {key: bad}})
    assert "features" in str(caught.value)


def test_bad_column_meta_is_a_clear_error() -> None:
    key, bad = features_node()
    bad["columns"]["x"]["meta"] = {
        "drift": {"kind": "numeric", "method": "chi_squared"}
    }
    with pytest.raises(DriftConfigError, match=r"column x: method 'chi_squared'"):
        monitors_from_manifest({"nodes": {key: bad}})


def test_athena_is_not_queried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    with pytest.raises(DriftError, match="Athena is not queried"):
        run_check("athena")
    assert cmd_drift_check(argparse.Namespace(target="athena")) == 0


# --------------------------------------------------------------------------
# Prediction and performance monitors on the ML contract
# --------------------------------------------------------------------------

PREDICTION_COLUMNS = {
    "model_version": "varchar",
    "player_id": "varchar",
    "target_season": "integer",
    "split": "varchar",
    "predicted_ops": "double precision",
    "actual_ops": "double precision",
    "marcel_ops": "double precision",
}
ML_META = {
    "drift": [
        {
            "kind": "prediction",
            "prediction_column": "predicted_ops",
            "window_column": "split",
            "reference": "validation",
            "current": "forecast",
            "version_column": "model_version",
        },
        {
            "kind": "performance",
            "prediction_column": "predicted_ops",
            "actual_column": "actual_ops",
            "window_column": "split",
            "reference": "validation",
            "current": "test",
            "version_column": "model_version",
        },
    ]
}
FEATURE_META = {
    "drift": {
        "window_column": "target_season",
        "reference": {"from": 2016, "to": 2019},
        "current": "latest",
        "columns": {
            "lag1_plate_appearances": "numeric",
            "primary_position": "categorical",
        },
    }
}


def prediction_rows(forecast_shift: float, test_noise: float) -> list[tuple]:
    rng = np.random.default_rng(11)
    rows = []
    for version, scale in (("v1", 5.0), ("v2", 1.0)):
        for split, size, noise in (
            ("validation", 600, 0.03),
            ("test", 500, test_noise),
            ("forecast", 400, 0.0),
        ):
            actual = rng.normal(0.72, 0.08, size)
            predicted = actual + rng.normal(0, noise * scale, size)
            if split == "forecast":
                predicted = rng.normal(0.72 + forecast_shift, 0.08, size)
            for i in range(size):
                rows.append(
                    (
                        version,
                        f"p{i}",
                        2020,
                        split,
                        float(predicted[i]),
                        None if split == "forecast" else float(actual[i]),
                        float(actual[i]),
                    )
                )
    return rows


@pytest.mark.parametrize("scratch", TARGETS, indirect=True)
def test_prediction_and_performance_drift(scratch: Scratch) -> None:
    scratch.table("ml.ml_predictions", PREDICTION_COLUMNS, prediction_rows(0.08, 0.06))
    write_manifest(
        [
            node("ml_predictions", "ml", list(PREDICTION_COLUMNS), ML_META, group="ml"),
            node(
                "ml_next_season_features",
                "ml",
                [
                    "player_id",
                    "target_season",
                    "lag1_plate_appearances",
                    "primary_position",
                ],
                FEATURE_META,
                group="ml",
            ),
        ]
    )
    report = run_check()
    by_name = {r.monitor: r for r in report.results}
    prediction = by_name["ml_predictions.prediction"]
    assert prediction.status == "drift"
    assert prediction.trigger == "drift.prediction"
    performance = by_name["ml_predictions.performance"]
    assert performance.status == "drift"
    # Only the latest version counts: v1's errors are five times larger.
    assert performance.evidence["reference_error"] == pytest.approx(0.024, abs=0.004)
    assert performance.evidence["current_error"] == pytest.approx(0.048, abs=0.006)
    missing = by_name["ml_next_season_features"]
    assert missing.status == "not_built"
    assert "not built yet" in missing.summary
    severities = {a.monitor: a.severity for a in report.alerts}
    assert severities == {
        "ml_predictions.prediction": "SEV3",
        "ml_predictions.performance": "SEV2",
    }
    assert {a.owner for a in report.alerts} == {"ml"}
    rows = history(scratch, "monitor = 'ml_next_season_features'")
    assert [r[3] for r in rows] == ["not_built"]


def test_steady_model_raises_nothing(scratch: Scratch) -> None:
    scratch.table("ml.ml_predictions", PREDICTION_COLUMNS, prediction_rows(0.0, 0.03))
    write_manifest([node("ml_predictions", "ml", list(PREDICTION_COLUMNS), ML_META)])
    report = run_check()
    assert [r.status for r in report.results] == ["ok", "ok"], [
        r.summary for r in report.results
    ]


def test_performance_waits_for_actuals(scratch: Scratch) -> None:
    scratch.table("ml.ml_predictions", PREDICTION_COLUMNS, prediction_rows(0.0, 0.03))
    meta = {"drift": {**ML_META["drift"][1], "current": "forecast"}}
    write_manifest([node("ml_predictions", "ml", list(PREDICTION_COLUMNS), meta)])
    (result,) = run_check().results
    assert result.status == "pending", (result.summary, result.evidence)
    assert "no actual actual_ops yet" in result.summary
    meta["drift"]["current"] = "monitoring"
    write_manifest([node("ml_predictions", "ml", list(PREDICTION_COLUMNS), meta)])
    (result,) = run_check().results
    assert result.status == "pending"
    meta["drift"]["reference"] = "forecast"
    write_manifest([node("ml_predictions", "ml", list(PREDICTION_COLUMNS), meta)])
    with pytest.raises(DriftError, match="the reference window forecast has no row"):
        run_check()


def test_fail_on_sets_the_exit_code(scratch: Scratch, capsys) -> None:
    scratch.table("ml.ml_predictions", PREDICTION_COLUMNS, prediction_rows(0.08, 0.06))
    write_manifest([node("ml_predictions", "ml", list(PREDICTION_COLUMNS), ML_META)])
    args = argparse.Namespace(target=None, fail_on=None)
    assert cmd_drift_check(args) == 0
    args.fail_on = "SEV3"
    assert cmd_drift_check(args) == EXIT_ALERT
    args.fail_on = "SEV1"
    assert cmd_drift_check(args) == 0
    assert "reaches --fail-on SEV3" in capsys.readouterr().err


def test_fail_on_rejects_unknown_severity(scratch: Scratch) -> None:
    write_manifest([])
    with pytest.raises(DiamondError, match="unknown severity 'SEV9'"):
        cmd_drift_check(argparse.Namespace(target=None, fail_on="SEV9"))


# --------------------------------------------------------------------------
# Health: row counts, null rates, schema
# --------------------------------------------------------------------------

HEALTH_META = {"health": {"min_history": 3, "z_threshold": 3.0}}


def health_rows(count: int, null_every: int = 0) -> list[tuple]:
    return [
        (
            i % 6 + 1,
            None if null_every and i % null_every == 0 else float(i),
            i,
            "AL",
            "t",
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("scratch", TARGETS, indirect=True)
def test_health_flags_row_count_null_rate_and_schema_changes(scratch: Scratch) -> None:
    health_node = node("features", "marts", [], HEALTH_META)
    for build, count in enumerate((1000, 1003, 998, 1001), start=1):
        scratch.table("marts.features", FEATURE_COLUMNS, health_rows(count))
        write_manifest([health_node], build_id=f"build-{build}")
        report = run_check()
        statuses = {r.monitor: r.status for r in report.results}
        assert set(statuses.values()) == {"ok"}, statuses
    # The same build checked twice adds no history point.
    report = run_check()
    assert {r.status for r in report.results} == {"ok"}
    # A build that loses half its rows, gains nulls and changes its columns.
    changed = {**FEATURE_COLUMNS, "extra": "integer"}
    del changed["label"]
    rows = [(*r[:4], 1) for r in health_rows(500, null_every=4)]
    scratch.table("marts.features", changed, rows)
    write_manifest([health_node], build_id="build-5")
    report = run_check()
    by_name = {r.monitor: r for r in report.results}
    assert by_name["features.row_count"].status == "anomaly"
    assert by_name["features.row_count"].trigger == "health.row_count"
    assert by_name["features.null_rate"].status == "anomaly"
    assert by_name["features.null_rate"].evidence["checks"][0]["column"] == "x"
    schema = by_name["features.schema"]
    assert schema.status == "anomaly"
    assert schema.evidence == {"added": ["extra"], "removed": ["label"], "retyped": []}
    severities = {a.trigger: a.severity for a in report.alerts}
    assert severities == {
        "health.row_count": "SEV3",
        "health.null_rate": "SEV3",
        "health.schema": "SEV2",
    }


def test_health_needs_history_before_judging(scratch: Scratch) -> None:
    scratch.table("marts.features", FEATURE_COLUMNS, health_rows(100))
    write_manifest([node("features", "marts", [], HEALTH_META)])
    run_check()
    rows = history(scratch, "check_name = 'row_count'")
    assert [r[3] for r in rows] == ["insufficient_history"]
    schema = history(scratch, "check_name = 'schema'")
    assert [r[3] for r in schema] == ["baseline"]


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def test_cli_lists_monitors_and_prints_json(scratch: Scratch, capsys) -> None:
    from diamond import cli

    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(shift=1.0))
    write_manifest([features_node()])
    assert cli.main(["drift", "monitors"]) == 0
    listed = capsys.readouterr().out
    assert "features\tfeatures\tmarts.features\tbatch latest vs 1..5" in listed
    assert cli.main(["drift", "check", "--json", "--fail-on", "sev4"]) == EXIT_ALERT
    printed = json.loads(capsys.readouterr().out)
    assert printed["alerts"][0]["severity"] == "SEV3"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["drift", "check", "--fail-on", "SEV9"])
    assert exit_info.value.code == 2
    assert "unknown severity 'SEV9'" in capsys.readouterr().err


def test_cli_reports_a_check_that_cannot_run(scratch: Scratch, capsys) -> None:
    from diamond import cli

    write_manifest([features_node()])
    # The relation is missing: reported as not built, exit 0.
    assert cli.main(["drift", "check"]) == 0
    assert "features: not built yet" in capsys.readouterr().err
    (Path(scratch.duckdb_file).parent.parent / "target" / "manifest.json").unlink()
    assert cli.main(["drift", "check"]) == 1
    assert "no dbt manifest" in capsys.readouterr().err


def test_check_emits_lineage_under_the_pipeline_run(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = "0190f0b4-7d1e-7b7a-9c55-3f1f5e9d2a10"
    monkeypatch.setenv("DIAMOND_RUN_ID", pipeline)
    scratch.table("marts.features", FEATURE_COLUMNS, feature_rows(shift=1.0))
    folder = write_manifest([features_node()])
    report = run_check()
    assert report.alerts[0].run_id == pipeline
    events = [
        json.loads(line)
        for line in (folder / "lineage" / "events.jsonl").read_text().splitlines()
    ]
    mine = [e for e in events if e["job"]["name"] == "diamond.drift.check"]
    assert [e["eventType"] for e in mine] == ["START", "COMPLETE"]
    assert mine[0]["run"]["facets"]["parent"]["run"]["runId"] == pipeline
    assert mine[0]["inputs"][0]["name"].endswith("marts.features")
    assert mine[0]["outputs"][0]["name"].endswith("governance.drift_history")
