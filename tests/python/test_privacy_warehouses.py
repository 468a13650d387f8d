"""Privacy on whole warehouses built by `diamond run` (DuckDB and Postgres).

Masking, access control, the leak check, the Safe Harbor mart and the
audit trail are checked on the real builds the end-to-end suite shares
(``duckdb_run`` and ``postgres_run`` in conftest.py), not on fixtures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import run_diamond
from psycopg2 import errors

from diamond.access import ANALYST, ML_ENGINEER, PRIVACY_OFFICER, ROLES
from diamond.settings import PostgresSettings
from governance.audit import AuditLog
from governance.privacy.leaks import find_leaks
from governance.privacy.scan import scan_frame


def _tail(result) -> str:
    return (result.stdout + result.stderr)[-4000:]


@pytest.fixture(scope="module")
def built(scratch, duckdb_run, postgres_run) -> dict[str, str]:
    assert duckdb_run.returncode == 0, _tail(duckdb_run)
    assert postgres_run.returncode == 0, _tail(postgres_run)
    return scratch


def _duck(env: dict[str, str]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(env["DIAMOND_DUCKDB_PATH"], read_only=True)


def _pg(env: dict[str, str], user: str | None = None):
    settings = PostgresSettings.from_env()
    return psycopg2.connect(
        host=settings.host,
        port=settings.port,
        user=user or settings.user,
        dbname=env["PGDATABASE"],
    )


# --------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------


def test_masked_values_follow_their_policies(built) -> None:
    with _duck(built) as con:
        rows = con.execute(
            "select r.fan_id, r.email, r.card_number, r.zip_code, "
            "r.date_of_birth, s.fan_key, s.email, s.card_number, s.zip3, "
            "s.birth_year, s.full_name, s.national_id "
            "from raw.fan_accounts as r "
            "join staging.stg_synthetic__fan_accounts as s "
            "on s.fan_key = sha256((select masking_key from raw.masking_key) "
            "|| '|' || r.fan_id)"
        ).fetchall()
        fans = con.execute("select count(*) from raw.fan_accounts").fetchone()[0]
    # Every fan is found again through the keyed hash: joins still work.
    assert len(rows) == fans > 0
    for (
        fan_id,
        email,
        card,
        zip_code,
        born,
        key,
        m_email,
        m_card,
        zip3,
        year,
        *gone,
    ) in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", key) and fan_id not in key
        assert m_email == "***@" + email.split("@")[1].lower()
        assert m_card == "****" + re.sub(r"\D", "", card)[-4:]
        assert zip3 in ("000", zip_code[:3]) and len(zip3) == 3
        assert year == born.year
        assert gone == [None, None]


def test_pseudonyms_agree_across_warehouses(built) -> None:
    with _duck(built) as con:
        on_duckdb = set(
            con.execute(
                "select fan_key from staging.stg_synthetic__fan_accounts"
            ).fetchall()
        )
    with _pg(built) as con, con.cursor() as cur:
        cur.execute("select fan_key from staging.stg_synthetic__fan_accounts")
        on_postgres = set(cur.fetchall())
    assert on_duckdb == on_postgres and len(on_duckdb) > 100


def test_sparse_zip3_prefixes_become_000(built) -> None:
    with _duck(built) as con:
        prefixes = con.execute(
            "select distinct substr(zip_code, 1, 3) from raw.fan_accounts"
        ).fetchall()
        shown = {
            z
            for (z,) in con.execute(
                "select distinct zip3 from staging.stg_synthetic__fan_accounts"
            ).fetchall()
        }
    project = Path(__file__).resolve().parents[2]
    text = (project / "dbt_project.yml").read_text()
    sparse = set(re.findall(r'"(\d{3})"', text.split("sparse_zip3_prefixes")[1]))
    raw = {p for (p,) in prefixes}
    assert raw & sparse, "the synthetic data should hold low-population ZIPs"
    assert not (shown & sparse)
    assert "000" in shown


# --------------------------------------------------------------------------
# Access control on Postgres
# --------------------------------------------------------------------------

_CAN_READ = {
    ANALYST.name: {"raw": False, "staging": True, "marts": True},
    ML_ENGINEER.name: {"raw": False, "staging": False, "marts": True},
    PRIVACY_OFFICER.name: {"raw": True, "staging": True, "marts": True},
}
_PROBES = {
    "raw": "select count(*) from raw.fan_accounts",
    "staging": "select count(*) from staging.stg_synthetic__fan_accounts",
    "marts": "select count(*) from marts.fct_injury_stints_deidentified",
}


@pytest.mark.parametrize("role", [r.name for r in ROLES])
def test_each_role_reads_exactly_what_it_is_granted(built, role: str) -> None:
    outcomes = {}
    con = _pg(built, user=role)
    con.autocommit = True
    try:
        for schema, statement in _PROBES.items():
            with con.cursor() as cur:
                try:
                    cur.execute(statement)
                    outcomes[schema] = cur.fetchone()[0] > 0
                except errors.InsufficientPrivilege:
                    outcomes[schema] = False
    finally:
        con.close()
    assert outcomes == _CAN_READ[role]


def test_no_role_can_change_a_mart(built) -> None:
    con = _pg(built, user=ANALYST.name)
    try:
        with con.cursor() as cur, pytest.raises(errors.InsufficientPrivilege):
            cur.execute("delete from marts.fct_injury_stints_deidentified")
    finally:
        con.close()


def test_masking_key_is_readable_by_the_privacy_office_only(built) -> None:
    for role in (ANALYST, ML_ENGINEER):
        con = _pg(built, user=role.name)
        try:
            with con.cursor() as cur, pytest.raises(errors.InsufficientPrivilege):
                cur.execute("select masking_key from raw.masking_key")
        finally:
            con.close()


# --------------------------------------------------------------------------
# Leak check and the de-identified mart
# --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_no_raw_personal_value_outside_raw(built, target, monkeypatch) -> None:
    for name, value in built.items():
        monkeypatch.setenv(name, value)
    report = find_leaks(target)
    assert report.needles > 5000 and report.relations > 40
    assert report.ok, "\n".join(str(leak) for leak in report.leaks)


def test_leak_check_finds_a_planted_leak(
    built, duckdb_built, tmp_path, monkeypatch
) -> None:
    # Same file name, so the views' catalog (the file's stem) still resolves.
    original = Path(built["DIAMOND_DUCKDB_PATH"])
    copy = tmp_path / original.name
    copy.write_bytes(original.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "create table marts.contact_sheet as select fan_id as ref, "
            "replace(national_id, '-', ' ') as tax_ref, email, "
            # The identifier's digits kept as a number, beside a small count.
            "cast(regexp_replace(national_id, '[^0-9]', '', 'g') as bigint) "
            "as tax_number, 7 as visits "
            "from raw.fan_accounts where national_id not like '0%' limit 3"
        )
    for name, value in built.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(copy))
    report = find_leaks("duckdb")
    found = {(leak.relation, leak.column): leak for leak in report.leaks}
    assert set(found) == {
        ('"marts"."contact_sheet"', "tax_ref"),
        ('"marts"."contact_sheet"', "email"),
        ('"marts"."contact_sheet"', "tax_number"),
    }
    assert found[('"marts"."contact_sheet"', "tax_number")].hits == 3
    assert found[('"marts"."contact_sheet"', "email")].hits == 3
    assert "national_id" in found[('"marts"."contact_sheet"', "tax_ref")].kind

    # `diamond privacy check` fails on it and opens the runbook's SEV1
    # incident, which names the columns and never the leaked values.
    log = tmp_path / "audit.jsonl"
    env = {**duckdb_built, "DIAMOND_DUCKDB_PATH": str(copy)}
    env.update(DIAMOND_AUDIT_LOG=str(log), DIAMOND_RUN_ID="leak-test")
    done = run_diamond(env, "privacy", "check", "--no-scan", "--target", "duckdb")
    assert done.returncode == 1, _tail(done)
    assert "raw personal values" in done.stderr
    [incident] = [r for r in AuditLog(log).records() if r.action == "incident.open"]
    assert incident.run_id == "leak-test"
    assert incident.details["trigger"] == "privacy.leak"
    assert incident.details["severity"] == "SEV1"
    assert incident.details["notify_authority_by"] > incident.details["opened_at"]
    assert set(incident.details["evidence"]["columns"]) == {
        f"{relation}.{column}" for relation, column in found
    }
    with duckdb.connect(str(copy), read_only=True) as con:
        emails = con.execute("select email from marts.contact_sheet").fetchall()
    leaked = [email for (email,) in emails]
    stored = log.read_text(encoding="utf-8")
    assert leaked and not any(value in stored for value in leaked)


def test_safe_harbor_mart_keeps_no_identifier(built) -> None:
    with _duck(built) as con:
        frame = con.execute("select * from marts.fct_injury_stints_deidentified").df()
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' "
                "and table_name = 'fct_injury_stints_deidentified'"
            ).fetchall()
        )
        stints = con.execute(
            "select count(*) from raw.player_medical_stints"
        ).fetchone()
    assert len(frame) == stints[0] > 0
    # Dates are the year only: no date or time typed column at all.
    assert not [c for c, t in types.items() if "DATE" in t or "TIME" in t]
    assert frame["age_at_injury"].dropna().between(10, 90).all()
    # No value looks like a pseudonym, a record number, a plan id, a phone.
    text = frame.astype(str)
    patterns = r"[0-9a-f]{64}|MRN-\d+|HP[A-Z0-9]{10}|\d{3}[-. ]\d{4}|@"
    assert not text.apply(lambda col: col.str.contains(patterns)).any().any()
    # Nothing the scanner recognises as personal data.
    assert scan_frame("marts.fct_injury_stints_deidentified", frame) == []
    # The only column unique per row is the key drawn from these values.
    unique = [c for c in frame.columns if frame[c].is_unique]
    assert unique == ["injury_number"]


def test_safe_harbor_mart_columns_are_all_allowed(built) -> None:
    manifest = json.loads(
        (
            Path(built["DBT_TARGET_PATH"]).with_name("target-duckdb") / "manifest.json"
        ).read_text()
    )
    node = manifest["nodes"]["model.diamond.fct_injury_stints_deidentified"]
    allowed = {
        "injury_number",
        "injury_year",
        "age_at_injury",
        "diagnosis",
        "body_part",
        "treatment",
        "days_missed",
        "season_ending",
    }
    assert set(node["columns"]) == allowed


# --------------------------------------------------------------------------
# Audit trail of the runs
# --------------------------------------------------------------------------


def test_every_step_of_the_runs_is_audited(built) -> None:
    log = AuditLog(Path(built["DIAMOND_DUCKDB_PATH"]).parent / "audit" / "audit.jsonl")
    records = list(log.records())
    by_target: dict[str, set[str]] = {}
    for rec in records:
        by_target.setdefault(rec.target, set()).add(rec.action)
    expected = {
        "pipeline.start",
        "ingest",
        "dbt.masking",
        "privacy.scan",
        "privacy.policy_check",
        "privacy.leak_check",
        "pipeline.complete",
    }
    assert expected <= by_target["duckdb"]
    assert expected | {"access.grants"} <= by_target["postgres"]
    masking = next(r for r in records if r.action == "dbt.masking")
    policies = {
        (a["relation"], a["column"]): a["policy"] for a in masking.details["applied"]
    }
    assert policies[("staging.stg_synthetic__fan_accounts", "email")] == "email_domain"
    # One run id ties the steps of a run together.
    runs = {r.subject for r in records if r.action == "pipeline.start"}
    assert len(runs) >= 2
    for run in runs:
        steps = {r.action for r in records if r.run_id == run}
        assert {"ingest", "dbt.masking", "privacy.scan"} <= steps


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_audit_log_verifies_against_its_mirror(built, target) -> None:
    # Both runs append to one log, so a mirror lags until it is synced.
    synced = run_diamond(built, "audit", "sync", "--target", target)
    assert synced.returncode == 0, _tail(synced)
    result = run_diamond(built, "audit", "verify", "--target", target)
    assert result.returncode == 0, _tail(result)
    assert "ok" in result.stdout.lower()


def test_classification_table_and_report(built) -> None:
    with _duck(built) as con:
        found = set(
            con.execute(
                "select relation, column_name, pii_type "
                "from governance.pii_classification"
            ).fetchall()
        )
    assert ("raw.fan_accounts", "email", "email") in found
    assert ("raw.fan_accounts", "card_number", "credit_card") in found
    assert (
        "raw.player_medical_stints",
        "medical_record_number",
        "medical_record_number",
    ) in found
    report = Path(built["DBT_TARGET_PATH"]) / "privacy" / "pii_report.json"
    data = json.loads(report.read_text())
    assert data["summary"]["columns"] == len(data["findings"]) > 0
