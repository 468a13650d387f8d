"""Kill switches and model pins: stored, audited and honoured.

Each test gets its own control file, audit log and DuckDB file under
pytest's temporary folder. The registry is a small ``ml.ml_training_runs``
table with two versions, so rollback is exercised through the real
command against a real warehouse without training a model; between two
really trained versions it is exercised in ``test_rollback.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from diamond.cli import main
from diamond.cli_governance import read_registry
from diamond.errors import DiamondError
from governance import controls
from governance.audit import AuditLog, verify
from ml.train import current_version
from rag.answer import NOTICE
from rag.assistant import OUT_OF_SERVICE, Assistant, out_of_service

OLD, NEW = "ops-aaaaaaaaaaaa", "ops-bbbbbbbbbbbb"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {
        "controls": tmp_path / "controls.json",
        "audit": tmp_path / "audit.jsonl",
        "duckdb": tmp_path / "wh" / "diamond.duckdb",
    }
    monkeypatch.setenv("DIAMOND_CONTROLS", str(paths["controls"]))
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", str(paths["audit"]))
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(paths["duckdb"]))
    monkeypatch.setenv("DIAMOND_TARGET", "duckdb")
    monkeypatch.setenv("DIAMOND_ACTOR", "tester")
    monkeypatch.delenv("DIAMOND_RUN_ID", raising=False)
    return paths


def registry() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_version": [OLD, NEW],
            "trained_at": pd.to_datetime(["2026-01-01 10:00", "2026-02-01 10:00"]),
            "artifact_path": ["/models/old.joblib", "/models/new.joblib"],
        }
    )


@pytest.fixture
def warehouse(env: dict[str, Path]) -> Path:
    env["duckdb"].parent.mkdir(parents=True)
    frame = registry()
    con = duckdb.connect(str(env["duckdb"]))
    con.execute("create schema ml")
    con.register("registry_frame", frame)
    con.execute("create table ml.ml_training_runs as select * from registry_frame")
    con.close()
    return env["duckdb"]


def records(env: dict[str, Path], action: str) -> list:
    return [r for r in AuditLog(env["audit"]).records() if r.action == action]


def test_defaults_without_a_file(env: dict[str, Path]) -> None:
    assert not env["controls"].exists()
    assert controls.model_in_service()
    assert controls.assistant_in_service()
    assert controls.pinned_version("duckdb") is None


def test_switch_off_and_on_is_stored_and_audited(env: dict[str, Path]) -> None:
    assert (
        main(["governance", "kill-switch", "model", "off", "--reason", "MAE up"]) == 0
    )
    assert not controls.model_in_service()
    assert controls.assistant_in_service()
    stored = json.loads(env["controls"].read_text())
    assert stored["kill_switches"]["model"]["reason"] == "MAE up"
    assert stored["kill_switches"]["model"]["by"] == "tester"

    controls.set_switch("model", True, reason="fixed")
    assert controls.model_in_service()

    changes = records(env, "control.kill_switch")
    assert [r.subject for r in changes] == ["model", "model"]
    assert changes[0].details["old"] == {"in_service": True}
    assert changes[0].details["new"]["in_service"] is False
    assert changes[1].details["old"]["in_service"] is False
    assert changes[1].details["new"]["in_service"] is True
    assert verify(env["audit"]).ok
    # No temporary file is left beside the control file.
    assert sorted(p.name for p in env["controls"].parent.glob(".controls*")) == []


def test_a_switch_needs_a_reason_and_a_known_name(env: dict[str, Path]) -> None:
    with pytest.raises(controls.ControlError, match="--reason"):
        controls.set_switch("assistant", False, reason="  ")
    with pytest.raises(controls.ControlError, match="model, assistant"):
        controls.set_switch("dashboard", False, reason="x")
    assert not env["controls"].exists()


def test_an_unreadable_control_file_is_an_error(env: dict[str, Path]) -> None:
    env["controls"].write_text("{not json")
    with pytest.raises(controls.ControlError, match=str(env["controls"])):
        controls.assistant_in_service()


def test_assistant_refuses_while_switched_off(env: dict[str, Path]) -> None:
    assert out_of_service("What is OPS?") is None
    controls.set_switch("assistant", False, reason="hallucination spike")
    answer = out_of_service("What is OPS?")
    assert answer is not None
    assert answer.refused
    assert answer.text == OUT_OF_SERVICE
    assert "out of service" in answer.notice
    assert "hallucination spike" in answer.notice
    # Refused or not, the words come from an automated assistant.
    assert answer.notice.startswith(NOTICE)
    (switched,) = records(env, "control.kill_switch")
    assert switched.subject == "assistant"
    assert switched.actor == "tester"
    assert switched.details["old"] == {"in_service": True}
    assert switched.details["new"]["in_service"] is False
    assert switched.details["new"]["reason"] == "hallucination spike"
    # The front door refuses before it needs an index: this folder has none.
    helper = Assistant(env["controls"].parent / "no-target", warehouse=False)
    asked = helper.ask("What is OPS?")
    assert asked.refused
    assert asked.text == OUT_OF_SERVICE
    assert asked.sources == []
    assert "out of service" in asked.render()
    assert NOTICE in asked.render()

    controls.set_switch("assistant", True, reason="evaluation passes again")
    assert out_of_service("What is OPS?") is None
    back = records(env, "control.kill_switch")[-1]
    assert (back.subject, back.details["new"]["in_service"]) == ("assistant", True)
    assert verify(env["audit"]).ok


def test_current_version_honours_a_pin_in_the_registry(env: dict[str, Path]) -> None:
    frame = registry()
    assert current_version(frame)["model_version"] == NEW
    controls.pin_model("duckdb", OLD, [OLD, NEW], current=NEW)
    assert current_version(frame)["model_version"] == OLD
    # A pin for another target does not apply here.
    controls.unpin_model("duckdb")
    controls.pin_model("postgres", OLD, [OLD, NEW], current=NEW)
    assert current_version(frame)["model_version"] == NEW
    # A pinned version that the registry no longer holds falls back.
    controls.pin_model("duckdb", OLD, [OLD, NEW], current=NEW)
    assert current_version(frame[frame["model_version"] == NEW])["model_version"] == (
        NEW
    )


def test_rollback_to_an_earlier_version(
    env: dict[str, Path], warehouse: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["ml", "rollback", "--to", OLD, "--reason", "drift"]) == 0
    assert controls.pinned_version("duckdb") == OLD
    assert current_version(registry())["model_version"] == OLD
    (rolled,) = records(env, "ml.rollback")
    assert rolled.target == "duckdb"
    assert rolled.subject == OLD
    assert rolled.details["from_version"] == NEW
    assert rolled.details["to_version"] == OLD

    assert main(["governance", "status"]) == 0
    out = capsys.readouterr().out
    assert f"model on duckdb: {OLD} (pinned by tester" in out

    assert main(["ml", "rollback", "--latest"]) == 0
    assert controls.pinned_version("duckdb") is None
    assert [r.subject for r in records(env, "ml.unpin")] == [OLD]
    assert verify(env["audit"]).ok


def test_rollback_refuses_an_unknown_version(
    env: dict[str, Path], warehouse: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["ml", "rollback", "--to", "ops-000000000000"]) == 1
    err = capsys.readouterr().err
    assert "not in the registry ml.ml_training_runs on duckdb" in err
    assert OLD in err
    assert NEW in err
    assert controls.pinned_version("duckdb") is None
    assert records(env, "ml.rollback") == []


def test_rollback_without_a_registry_says_what_to_run(env: dict[str, Path]) -> None:
    env["duckdb"].parent.mkdir(parents=True)
    duckdb.connect(str(env["duckdb"])).close()
    with pytest.raises(DiamondError, match="diamond ml train"):
        read_registry("duckdb")
