"""Drift on the real warehouse: the 60-game 2020 season against 2015-2019,
and stable pairs of seasons, with the monitors declared in the marts' YAML.

One ingest and build of the packaged release into a scratch folder per
session (about a minute); every test reads that warehouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from governance.drift.run import run_check

ROOT = Path(__file__).resolve().parents[2]
PLAYING_TIME = {"plate_appearances", "games", "at_bats"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("drift_build")
    env = {
        **os.environ,
        "DIAMOND_DUCKDB_PATH": str(folder / "diamond.duckdb"),
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
        "DIAMOND_CACHE_DIR": str(folder / "cache"),
        "DIAMOND_AUDIT_LOG": str(folder / "audit.jsonl"),
        "DIAMOND_TARGET": "duckdb",
        "DIAMOND_ALERT_SINKS": "jsonl",
    }
    env.pop("DIAMOND_RUN_ID", None)
    diamond = str(Path(sys.executable).parent / "diamond")
    for command in (["ingest"], ["build", "--", "--exclude", "path:models/marts/ml"]):
        done = subprocess.run(
            [diamond, *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


@pytest.fixture
def warehouse(built: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DIAMOND_DUCKDB_PATH",
        "DBT_TARGET_PATH",
        "DIAMOND_AUDIT_LOG",
        "DIAMOND_TARGET",
        "DIAMOND_ALERT_SINKS",
    ):
        monkeypatch.setenv(name, built[name])
    monkeypatch.delenv("DIAMOND_RUN_ID", raising=False)


def batting(report) -> dict:
    return next(r for r in report.results if r.monitor == "fct_batting_seasons")


def test_2020_is_drift_against_2015_to_2019(warehouse: None) -> None:
    report = run_check(monitor_names=["fct_batting_seasons", "fct_pitching_seasons"])
    result = batting(report)
    assert result.evidence["current_window"] == "2020"
    assert result.evidence["reference_window"] == "2015..2019"
    assert set(result.evidence["drifted_columns"]) >= PLAYING_TIME
    assert result.trigger == "drift.dataset"
    for column in PLAYING_TIME:
        verdict = result.evidence["columns"][column]
        assert verdict["deciding"] == "wasserstein"
        psi = next(t for t in verdict["tests"] if t["method"] == "psi")
        assert psi["drifted"]
    pitching = next(r for r in report.results if r.monitor == "fct_pitching_seasons")
    assert pitching.status == "drift"


@pytest.mark.parametrize(
    ("reference", "current"), [("2018", "2019"), ("2015:2016", "2017")]
)
def test_stable_seasons_are_not_drift(warehouse: None, reference: str, current: str):
    report = run_check(
        monitor_names=["fct_batting_seasons"],
        reference=reference,
        current=current,
        write_history=False,
    )
    result = batting(report)
    assert result.status == "ok", result.summary
    assert report.alerts == []
    for column in PLAYING_TIME:
        assert result.evidence["columns"][column]["verdict"] == "ok"


def test_cli_check_fails_on_severity_and_keeps_history(built: dict[str, str]) -> None:
    diamond = str(Path(sys.executable).parent / "diamond")
    env = {**built, "DIAMOND_RUN_ID": "0190f0b4-0000-7000-8000-0000000001a1"}
    done = subprocess.run(
        [diamond, "drift", "check", "--fail-on", "SEV3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert "reaches --fail-on SEV3" in done.stderr
    done = subprocess.run(
        [diamond, "drift", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(
        (Path(built["DBT_TARGET_PATH"]) / "drift" / "report.json").read_text()
    )
    assert report["run_id"] == "0190f0b4-0000-7000-8000-0000000001a1"
    import duckdb

    with duckdb.connect(built["DIAMOND_DUCKDB_PATH"], read_only=True) as con:
        runs = con.execute(
            "select count(distinct run_id), count(*) from governance.drift_history "
            "where run_id = '0190f0b4-0000-7000-8000-0000000001a1'"
        ).fetchone()
    assert runs[0] == 1 and runs[1] > 30
