"""Incidents opened by failures outside drift: privacy, build, audit.

The rules (severity, owner, first actions) come from the runbook's rule
block, so each test reads the expected values from there rather than
repeating them. The assistant's evaluation is covered with the golden set
in test_rag_assistant.py, the leak check end to end in
test_privacy_warehouses.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import run_diamond

from diamond.errors import DiamondError
from governance.audit import AuditLog
from governance.drift.incidents import load_rules
from governance.incidents import (
    AUDIT_TRIGGER,
    build_failures,
    follow_up_lock,
    open_incident,
    open_privacy_incidents,
    side_file,
    update_incident,
)
from governance.privacy.leaks import Leak
from governance.privacy.policy import UNMASKED_FLOW, UNTAGGED_PII, Violation


def _incidents(log: Path) -> list:
    return [r for r in AuditLog(log).records() if r.action == "incident.open"]


@pytest.fixture
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DIAMOND_AUDIT_LOG", str(path))
    monkeypatch.setenv("DIAMOND_RUN_ID", "run-under-test")
    return path


def test_a_leak_starts_the_breach_clock(audit_log: Path) -> None:
    leak = Leak('"marts"."contact_sheet"', "email", "email", 3)
    [incident_id] = open_privacy_incidents("duckdb", leaks=[leak])
    [opened] = _incidents(audit_log)
    rule = load_rules().rule("privacy.leak")
    assert opened.subject == incident_id
    assert opened.run_id == "run-under-test"
    details = opened.details
    assert details["trigger"] == "privacy.leak"
    assert (details["severity"], details["owner"]) == (rule.severity, rule.owner)
    assert details["first_actions"] == list(rule.first_actions)
    assert details["evidence"]["columns"] == ['"marts"."contact_sheet".email']
    began = datetime.fromisoformat(details["opened_at"])
    due = datetime.fromisoformat(details["notify_authority_by"])
    assert rule.breach_clock_hours and due - began == timedelta(
        hours=rule.breach_clock_hours
    )


def test_policy_violations_open_one_incident_per_trigger(audit_log: Path) -> None:
    violations = [
        Violation(UNTAGGED_PII, "raw.fan_accounts", "notes", "untagged"),
        Violation(UNTAGGED_PII, "raw.fan_accounts", "notes", "untagged again"),
        Violation(UNMASKED_FLOW, "staging.stg_fans", "email", "not masked"),
    ]
    opened = open_privacy_incidents("duckdb", violations=violations)
    assert len(opened) == 2
    by_trigger = {r.details["trigger"]: r.details for r in _incidents(audit_log)}
    assert set(by_trigger) == {"privacy.pii_scan_hit", "privacy.policy_violation"}
    assert by_trigger["privacy.pii_scan_hit"]["evidence"]["columns"] == [
        "raw.fan_accounts.notes"
    ]
    # Only a leak runs the notification clock.
    assert all("notify_authority_by" not in d for d in by_trigger.values())


def test_build_failures_are_sorted_into_their_triggers() -> None:
    results = {
        "results": [
            {"unique_id": "model.diamond.dim_players", "status": "success"},
            {"unique_id": "test.diamond.unique_dim_players_id.1", "status": "fail"},
            {"unique_id": "test.diamond.not_null_x.2", "status": "error"},
            {"unique_id": "test.diamond.warned.3", "status": "warn"},
            {
                "unique_id": "model.diamond.fct_team_seasons",
                "status": "error",
                "message": "Compilation Error: column id is varchar, not integer",
            },
            {
                "unique_id": "model.diamond.fct_other",
                "status": "error",
                "message": "Runtime Error: division by zero",
            },
        ]
    }
    contracted = {"group": "analytics", "contract": {"enforced": True}}
    manifest = {
        "nodes": {
            "model.diamond.fct_team_seasons": {"config": contracted},
            "model.diamond.fct_other": {"config": {"contract": {"enforced": False}}},
        }
    }
    found = build_failures(results, manifest)
    assert [n["node"] for n in found["dbt.test_failure"]] == [
        "test.diamond.unique_dim_players_id.1",
        "test.diamond.not_null_x.2",
    ]
    assert found["dbt.contract_failure"] == [
        {
            "node": "model.diamond.fct_team_seasons",
            "status": "error",
            "group": "analytics",
        }
    ]


TINY_PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nprofile: tiny\n",
    # A text where the contract promises an integer, and a model that fails
    # for another reason without a contract.
    "models/promised.sql": "select 'not a number' as id",
    "models/uncontracted.sql": "select * from no_such_table",
    "models/schema.yml": (
        "version: 2\nmodels:\n  - name: promised\n    config:\n"
        "      contract: {enforced: true}\n    columns:\n"
        "      - name: id\n        data_type: integer\n"
    ),
}


def test_a_real_broken_contract_is_told_from_other_errors(tmp_path: Path) -> None:
    for name, text in TINY_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {tmp_path / 'tiny.duckdb'}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    dbt = str(Path(sys.executable).parent / "dbt")
    folders = ["--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path)]
    done = subprocess.run(
        [dbt, "build", *folders],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    target = tmp_path / "target"
    results = json.loads((target / "run_results.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert statuses == {
        "model.tiny.promised": "error",
        "model.tiny.uncontracted": "error",
    }
    found = build_failures(results, manifest)
    assert found == {
        "dbt.contract_failure": [
            {"node": "model.tiny.promised", "status": "error", "group": None}
        ]
    }


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "DIAMOND_DUCKDB_PATH": str(tmp_path / "none.duckdb")}
    env.pop("DIAMOND_RUN_ID", None)
    return env


def test_a_failed_audit_verify_writes_beside_the_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for n in range(3):
        log.append("pipeline.start", details={"n": n})
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[1])
    edited["actor"] = "mallory"
    lines[1] = json.dumps(edited, sort_keys=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tampered = path.read_bytes()
    env = {"DIAMOND_AUDIT_LOG": str(path)}
    done = run_diamond({**_base_env(tmp_path), **env}, "audit", "verify", "--file-only")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED" in done.stdout
    # Nothing appended to the chain that cannot be trusted...
    assert path.read_bytes() == tampered
    # ...the incident stands beside it, with the runbook's rule.
    [incident] = [json.loads(line) for line in side_file(path).read_text().splitlines()]
    rule = load_rules().rule("audit.verify_failure")
    details = incident["details"]
    assert incident["action"] == "incident.open"
    assert (details["trigger"], details["severity"]) == (
        "audit.verify_failure",
        rule.severity,
    )
    assert details["evidence"]["log"] == str(path)
    assert any("seq 2" in p for p in details["evidence"]["problems"])


@pytest.mark.slow
def test_a_failed_build_opens_a_test_failure_incident(
    duckdb_built: dict[str, str], tmp_path: Path
) -> None:
    # A copy of the built warehouse and its artifacts, with one player twice
    # in raw: the staging model's uniqueness test must fail.
    warehouse = tmp_path / Path(duckdb_built["DIAMOND_DUCKDB_PATH"]).name
    shutil.copyfile(duckdb_built["DIAMOND_DUCKDB_PATH"], warehouse)
    target = tmp_path / "target"
    shutil.copytree(duckdb_built["DBT_TARGET_PATH"], target)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into raw.people select * from raw.people order by player_id limit 1"
        )
    env = {
        **duckdb_built,
        "DIAMOND_DUCKDB_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(target),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    env.pop("DIAMOND_RUN_ID", None)
    done = run_diamond(
        env, "build", "--target", "duckdb", "--", "--select", "stg_lahman__people"
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    [incident] = _incidents(tmp_path / "audit.jsonl")
    details = incident.details
    assert details["trigger"] == "dbt.test_failure"
    assert details["severity"] == load_rules().rule("dbt.test_failure").severity
    assert any(
        "stg_lahman__people" in node and "unique" in node
        for node in details["evidence"]["nodes"]
    )
    assert details["evidence"]["run_results"] == str(target / "run_results.json")


def test_governance_incidents_lists_both_places(
    audit_log: Path, capsys: pytest.CaptureFixture
) -> None:
    from diamond.cli import main

    leak = Leak('"marts"."contact_sheet"', "email", "email", 3)
    [first] = open_privacy_incidents("duckdb", leaks=[leak])
    second = open_incident(
        AUDIT_TRIGGER,
        None,
        summary="audit log: FAILED",
        evidence={"log": str(audit_log), "problems": []},
        audit_log=audit_log,
    )
    assert main(["governance", "incidents", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(i["incident_id"], i["trigger"]) for i in listed] == [
        (first, "privacy.leak"),
        (second, AUDIT_TRIGGER),
    ]
    assert listed[0]["run_id"] == "run-under-test"
    assert main(["governance", "incidents"]) == 0
    printed = capsys.readouterr()
    assert first in printed.out and second in printed.out
    assert "2 incident(s)" in printed.err


def test_governance_incidents_reads_past_a_damaged_log(
    audit_log: Path, capsys: pytest.CaptureFixture
) -> None:
    from diamond.cli import main

    leak = Leak('"marts"."contact_sheet"', "email", "email", 3)
    [first] = open_privacy_incidents("duckdb", leaks=[leak])
    later = Leak('"marts"."contact_sheet"', "phone", "phone_number", 2)
    [after_damage] = open_privacy_incidents("duckdb", leaks=[later])
    # Damage between the two: everything after it must still be read.
    lines = audit_log.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 2
    audit_log.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
    # The damage itself is reported beside the log, as verify would.
    second = open_incident(
        AUDIT_TRIGGER,
        None,
        summary="audit log: FAILED",
        evidence={"log": str(audit_log), "problems": ["line 2"]},
        audit_log=audit_log,
    )
    assert main(["governance", "incidents"]) == 0
    printed = capsys.readouterr()
    for incident_id in (first, after_damage, second):
        assert incident_id in printed.out
    assert "3 incident(s)" in printed.err


def test_follow_ups_and_closing_are_audited_and_listed(
    audit_log: Path, capsys: pytest.CaptureFixture
) -> None:
    from diamond.cli import main

    leak = Leak('"marts"."contact_sheet"', "email", "email", 3)
    [incident_id] = open_privacy_incidents("duckdb", leaks=[leak])
    note = ["governance", "incident", "note", incident_id]
    assert main([*note, "--reason", "grants revoked"]) == 0
    # The breach clock runs: no closing before the notification decision.
    close = ["governance", "incident", "close", incident_id, "--reason", "fixed"]
    assert main(close) == 1
    assert "--breach-decision notify or no-notify" in capsys.readouterr().err
    decide = ["--breach-decision", "no-notify", "--reason", "hashed values only"]
    assert main([*note, *decide]) == 0
    assert main(close) == 0
    err = capsys.readouterr().err
    assert f"{incident_id} closed (fixed)" in err
    assert "post-incident review due by " in err

    records = [r for r in AuditLog(audit_log).records() if r.subject == incident_id]
    assert [r.action for r in records] == [
        "incident.open",
        "incident.update",
        "incident.update",
        "incident.close",
    ]
    assert records[2].details["breach_decision"] == "no-notify"
    assert records[3].run_id == "run-under-test"
    closed_at = datetime.fromisoformat(records[3].details["at"])
    due = datetime.fromisoformat(records[3].details["review_due_by"])
    assert timedelta(days=5) <= due - closed_at <= timedelta(days=9)
    assert due.weekday() < 5

    # Closed, it takes its review and nothing else.
    assert main([*note, "--reason", "late note"]) == 1
    assert "takes only its post-incident review" in capsys.readouterr().err
    review = ["--review", "docs/reviews/leak.md", "--reason", "review written"]
    assert main([*note, *review]) == 0

    assert main(["governance", "incidents", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["status"] == "closed"
    assert listed["breach_decision"] == "no-notify"
    assert [u["action"] for u in listed["updates"]] == [
        "incident.update",
        "incident.update",
        "incident.close",
        "incident.update",
    ]
    assert listed["updates"][-1]["review"] == "docs/reviews/leak.md"
    assert main(["governance", "incidents"]) == 0
    printed = capsys.readouterr()
    assert "closed" in printed.out
    assert "1 incident(s), 0 open" in printed.err


def test_follow_ups_of_an_audit_incident_stay_beside_the_log(
    audit_log: Path,
) -> None:
    from governance.incidents import list_incidents, update_incident

    incident_id = open_incident(
        AUDIT_TRIGGER,
        None,
        summary="audit log: FAILED",
        evidence={"log": str(audit_log), "problems": []},
        audit_log=audit_log,
    )
    update_incident(incident_id, reason="restored from the mirror", close=True)
    # Nothing was appended to the log under suspicion.
    assert not audit_log.exists()
    lines = side_file(audit_log).read_text().splitlines()
    assert [json.loads(line)["action"] for line in lines] == [
        "incident.open",
        "incident.close",
    ]
    (listed,) = list_incidents(audit_log)
    assert (listed["incident_id"], listed["status"]) == (incident_id, "closed")


def test_an_unknown_incident_cannot_be_updated(audit_log: Path) -> None:
    from governance.incidents import update_incident

    with pytest.raises(DiamondError, match="no incident 'INC-nothing'"):
        update_incident("INC-nothing", reason="x")
    with pytest.raises(DiamondError, match="--reason"):
        update_incident("INC-nothing", reason=" ")


def test_a_close_checks_and_writes_under_the_lock(audit_log: Path) -> None:
    """Two closes at once: the second must see the first, not close again."""
    incident_id = open_incident(
        "dbt.test_failure",
        "duckdb",
        summary="a test failed",
        evidence={"nodes": ["test.diamond.x"]},
    )
    outcome: dict[str, object] = {}

    def close_in_thread() -> None:
        try:
            outcome["details"] = update_incident(
                incident_id, reason="second closer", close=True
            )
        except DiamondError as exc:
            outcome["error"] = str(exc)

    with follow_up_lock():
        closer = threading.Thread(target=close_in_thread)
        closer.start()
        closer.join(timeout=0.5)
        # Blocked on the lock: it has neither checked nor written yet.
        assert closer.is_alive()
        # Meanwhile "another process" closes the incident (the lock is not
        # re-entrant, so the record is appended directly).
        AuditLog(audit_log).append(
            "incident.close",
            target="duckdb",
            subject=incident_id,
            details={"reason": "first closer"},
        )
    closer.join(timeout=30)
    assert not closer.is_alive()
    assert "was closed" in str(outcome.get("error")), outcome
    closes = [r for r in AuditLog(audit_log).records() if r.action == "incident.close"]
    assert [r.details["reason"] for r in closes] == ["first closer"]
