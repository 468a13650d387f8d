"""The privacy policy check: the real project built on a scratch DuckDB keeps
it, and copies of its manifest broken in one way each (a tag removed, a mask
removed, an unmasked model added, a `none` without its reason) are caught
with a message naming the column and the fix.

The broken copies are cut down to the synthetic fan and medical models and
what they read, so each check takes milliseconds; violations are compared
with those of the unbroken cut, so each test sees only what it broke.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from governance.privacy import policy
from governance.privacy.policy import (
    MASKING_POLICIES,
    MISSING_MASKING_POLICY,
    MISSING_MASKING_REASON,
    UNKNOWN_MASKING_POLICY,
    UNMASKED_FLOW,
    UNTAGGED_PII,
    PolicyError,
    Violation,
    check,
    load_manifest,
)
from governance.privacy.scan import ColumnFinding, scan_frame

REPO = Path(__file__).resolve().parents[2]

FANS = "source.diamond.synthetic.fan_accounts"
STG_FANS = "model.diamond.stg_synthetic__fan_accounts"
STINTS = "source.diamond.synthetic.player_medical_stints"
STG_STINTS = "model.diamond.stg_synthetic__player_medical_stints"
INJURIES = "model.diamond.fct_injury_stints_deidentified"
SOURCES_YML = "models/staging/synthetic/_synthetic__sources.yml"
MODELS_YML = "models/staging/synthetic/_synthetic__models.yml"


@pytest.fixture(scope="module")
def built(duckdb_build: dict[str, Path]) -> tuple[dict, dict]:
    """Manifest and catalog of the session's scratch build."""
    target = duckdb_build["target"]
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    return load_manifest(target), catalog


@pytest.fixture(scope="module")
def cut(built: tuple[dict, dict]) -> str:
    """The synthetic models and everything upstream of them, as JSON text."""
    manifest, _ = built
    nodes = {**manifest["nodes"], **manifest["sources"]}
    keep: set[str] = set()
    stack = [STG_FANS, INJURIES]
    while stack:
        unique_id = stack.pop()
        if unique_id in keep:
            continue
        keep.add(unique_id)
        stack += (nodes[unique_id].get("depends_on") or {}).get("nodes") or []
    return json.dumps(
        {
            "metadata": manifest["metadata"],
            "nodes": {u: n for u, n in manifest["nodes"].items() if u in keep},
            "sources": {u: n for u, n in manifest["sources"].items() if u in keep},
        }
    )


@pytest.fixture(scope="module")
def baseline(cut: str) -> set[Violation]:
    """What the unbroken cut reports (nothing, once the YAML is clean)."""
    return set(check(json.loads(cut), None))


@pytest.fixture
def manifest(cut: str) -> dict:
    """A fresh copy of the cut to break."""
    return json.loads(cut)


@pytest.fixture
def added(baseline: set[Violation]) -> Callable[..., list[Violation]]:
    """check(), less what the unbroken cut already reports."""

    def run(manifest: dict, findings: list[ColumnFinding] | None = None):
        return [v for v in check(manifest, findings) if v not in baseline]

    return run


def _column(manifest: dict, unique_id: str, column: str) -> dict:
    group = "sources" if unique_id.startswith("source.") else "nodes"
    return manifest[group][unique_id]["columns"][column]


def _set_meta(manifest: dict, unique_id: str, column: str, **changes) -> None:
    """Change a column's meta in both places dbt writes it; None deletes."""
    spec = _column(manifest, unique_id, column)
    for meta in (spec.setdefault("meta", {}), spec["config"].setdefault("meta", {})):
        for key, value in changes.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value


def _finding(relation: str, column: str, pii_type: str | None) -> ColumnFinding:
    return ColumnFinding(
        relation=relation,
        column=column,
        pii_type=pii_type,  # type: ignore[arg-type]
        confidence=1.0,
        sampled=200,
        matched=200,
        name_hint=True,
        detector="presidio:EMAIL_ADDRESS",
    )


def _model(
    name: str, schema: str, sql: str, depends_on: list[str], columns: dict
) -> tuple[str, dict]:
    """A model node as the manifest holds one, for SQL written here."""
    folder = {"raw": "staging", "intermediate": "intermediate"}.get(schema, "marts")
    return f"model.diamond.{name}", {
        "resource_type": "model",
        "name": name,
        "alias": name,
        "database": "diamond",
        "schema": schema,
        "raw_code": sql,
        "compiled_code": sql,
        "depends_on": {"nodes": depends_on, "macros": []},
        "original_file_path": f"models/{folder}/{name}.sql",
        "patch_path": f"diamond://models/{folder}/_{name}.yml",
        "columns": {
            column: {"name": column, "meta": meta, "config": {"meta": dict(meta)}}
            for column, meta in columns.items()
        },
    }


def _unmask_email(manifest: dict) -> None:
    """Make the fan staging model copy email as it is, in SQL only."""
    node = manifest["nodes"][STG_FANS]
    node["raw_code"] = node["raw_code"].replace("{{ mask('email') }}", "email")
    node["compiled_code"], done = re.subn(
        r"case\s+when email like .*?end as email",
        "email as email",
        node["compiled_code"],
        flags=re.DOTALL,
    )
    assert done == 1, "the compiled SQL of the fan staging model changed shape"


# --------------------------------------------------------------------------
# The real project


def test_real_project_keeps_the_policy(built: tuple[dict, dict]) -> None:
    manifest, catalog = built
    violations = check(manifest, None, catalog=catalog)
    assert violations == [], "\n\n".join(str(v) for v in violations)


def test_scanner_findings_on_the_synthetic_tables_are_all_tagged(
    built: tuple[dict, dict], duckdb_build: dict[str, Path]
) -> None:
    # The labelled synthetic tables, raw and masked: what the scanner sees
    # there must be what the YAML declares.
    relations = [
        "raw.fan_accounts",
        "raw.player_medical_stints",
        "staging.stg_synthetic__fan_accounts",
        "staging.stg_synthetic__player_medical_stints",
        "marts.fct_injury_stints_deidentified",
    ]
    findings: list[ColumnFinding] = []
    with duckdb.connect(str(duckdb_build["duckdb"]), read_only=True) as con:
        for relation in relations:
            frame = con.execute(
                f"select * from {relation} as _row order by hash(_row, 0) limit 200"
            ).df()
            findings += scan_frame(relation, frame)
    assert {f.relation for f in findings} >= {
        "raw.fan_accounts",
        "raw.player_medical_stints",
    }
    manifest, catalog = built
    untagged = [
        v for v in check(manifest, findings, catalog=catalog) if v.kind == UNTAGGED_PII
    ]
    assert untagged == [], "\n\n".join(str(v) for v in untagged)


def test_masking_policies_match_the_mask_macro() -> None:
    macro = (REPO / "macros/privacy/masking.sql").read_text(encoding="utf-8")
    body = re.search(r"macro masking_policies\(\).*?endmacro", macro, re.DOTALL)
    assert body is not None
    assert tuple(re.findall(r"'(\w+)'", body.group(0))) == MASKING_POLICIES


# --------------------------------------------------------------------------
# Untagged personal data


def test_removed_source_tag_is_untagged_pii(manifest: dict, added) -> None:
    _set_meta(manifest, FANS, "email", contains_pii=None, pii_type=None)
    [violation] = added(manifest, [_finding("raw.fan_accounts", "email", "email")])
    assert (violation.kind, violation.relation, violation.column) == (
        UNTAGGED_PII,
        "raw.fan_accounts",
        "email",
    )
    message = violation.message
    assert message.startswith("raw.fan_accounts.email holds email (")
    assert "200 of 200 sampled values matched presidio:EMAIL_ADDRESS" in message
    assert f"source synthetic.fan_accounts in {SOURCES_YML}" in message
    assert "contains_pii: true, pii_type: email" in message


def test_untagged_model_column_names_its_yaml(manifest: dict, added) -> None:
    finding = _finding("staging.stg_synthetic__fan_accounts", "state", "city")
    [violation] = added(manifest, [finding])
    assert violation.kind == UNTAGGED_PII
    assert f"model stg_synthetic__fan_accounts in {MODELS_YML}" in violation.message
    assert "masking_policy: <policy>" in violation.message


def test_undocumented_column_and_unknown_relation(manifest: dict, added) -> None:
    found = added(
        manifest,
        [
            _finding("staging.stg_synthetic__fan_accounts", "nickname", "person_name"),
            _finding("raw.load_log", "error", "email"),
        ],
    )
    by_relation = {v.relation: v for v in found}
    assert set(by_relation) == {"staging.stg_synthetic__fan_accounts", "raw.load_log"}
    assert (
        "the column is not documented"
        in by_relation["staging.stg_synthetic__fan_accounts"].message
    )
    assert "not a source or model" in by_relation["raw.load_log"].message


def test_tagged_reviewed_and_empty_findings_pass(manifest: dict, added) -> None:
    _set_meta(manifest, FANS, "state", contains_pii=False)
    findings = [
        _finding("raw.fan_accounts", "email", "email"),  # tagged
        _finding("RAW.Fan_Accounts", "EMAIL", "email"),  # names fold case
        _finding("raw.fan_accounts", "state", "city"),  # reviewed: not PII
        _finding("raw.fan_accounts", "signup_date", None),  # nothing found
    ]
    assert added(manifest, findings) == []


def test_without_findings_untagged_pii_is_not_checked(manifest: dict) -> None:
    _set_meta(manifest, FANS, "email", contains_pii=None, pii_type=None)
    assert not [v for v in check(manifest, None) if v.kind == UNTAGGED_PII]


# --------------------------------------------------------------------------
# Unmasked flows


def test_removed_mask_is_an_unmasked_flow(manifest: dict, added) -> None:
    _unmask_email(manifest)
    [violation] = added(manifest)
    assert (violation.kind, violation.relation, violation.column) == (
        UNMASKED_FLOW,
        "staging.stg_synthetic__fan_accounts",
        "email",
    )
    assert violation.message.startswith(
        "raw.fan_accounts.email (contains_pii, pii_type email) reaches "
        "staging.stg_synthetic__fan_accounts.email unmasked."
    )
    # The YAML still names a policy: the message says the SQL ignores it.
    assert "masking_policy email_domain" in violation.message
    assert "never calls mask('email')" in violation.message


def test_removed_policy_is_reported_twice(manifest: dict, added) -> None:
    # The SQL still builds the domain, but no hashing function is on the
    # path and the YAML no longer says it is masked.
    _set_meta(manifest, STG_FANS, "email", masking_policy=None)
    kinds = {(v.kind, v.relation, v.column) for v in added(manifest)}
    assert kinds == {
        (MISSING_MASKING_POLICY, "staging.stg_synthetic__fan_accounts", "email"),
        (UNMASKED_FLOW, "staging.stg_synthetic__fan_accounts", "email"),
    }


def test_hashing_function_masks_without_a_policy(manifest: dict, added) -> None:
    _set_meta(manifest, STG_FANS, "fan_key", masking_policy=None)
    [violation] = added(manifest)
    assert violation.kind == MISSING_MASKING_POLICY
    assert violation.column == "fan_key"


def test_unmasked_flow_through_an_intermediate_model(manifest: dict, added) -> None:
    int_id, int_node = _model(
        "int_fan_contacts",
        "intermediate",
        'select fan_id, email from "diamond"."raw"."fan_accounts"',
        [FANS],
        {"email": {}},
    )
    mart_id, mart_node = _model(
        "fct_fan_contacts",
        "marts",
        "select email as contact_email, md5(fan_id) as fan_hash "
        'from "diamond"."intermediate"."int_fan_contacts"',
        [int_id],
        {"contact_email": {}},
    )
    manifest["nodes"].update({int_id: int_node, mart_id: mart_node})
    found = {(v.relation, v.column): v for v in added(manifest)}
    assert set(found) == {
        ("intermediate.int_fan_contacts", "email"),
        ("marts.fct_fan_contacts", "contact_email"),
    }
    mart = found[("marts.fct_fan_contacts", "contact_email")]
    assert mart.kind == UNMASKED_FLOW
    assert mart.message.startswith(
        "raw.fan_accounts.email (contains_pii, pii_type email) reaches "
        "marts.fct_fan_contacts.contact_email unmasked via "
        "intermediate.int_fan_contacts.email."
    )
    # The fix belongs where the value first leaves the restricted schema.
    assert "where it enters intermediate.int_fan_contacts" in mart.message
    assert "models/intermediate/int_fan_contacts.sql" in mart.message


def test_masked_staging_and_none_end_the_flow(manifest: dict, added) -> None:
    int_id, int_node = _model(
        "int_fan_domains",
        "intermediate",
        'select email, state from "diamond"."staging"."stg_synthetic__fan_accounts"',
        [STG_FANS],
        {},
    )
    manifest["nodes"][int_id] = int_node
    # state passes unmasked from raw, reviewed with masking_policy none.
    _set_meta(manifest, FANS, "state", contains_pii=True, pii_type="state")
    assert added(manifest) == []


def test_restricted_models_may_hold_raw_values(manifest: dict, added) -> None:
    raw_id, raw_node = _model(
        "fan_emails",
        "raw",
        'select email from "diamond"."raw"."fan_accounts"',
        [FANS],
        {},
    )
    manifest["nodes"][raw_id] = raw_node
    assert added(manifest) == []
    mart_id, mart_node = _model(
        "fct_fan_emails",
        "marts",
        'select email from "diamond"."raw"."fan_emails"',
        [raw_id],
        {},
    )
    manifest["nodes"][mart_id] = mart_node
    [violation] = added(manifest)
    assert violation.relation == "marts.fct_fan_emails"
    assert "via raw.fan_emails.email" in violation.message
    assert "where it enters marts.fct_fan_emails" in violation.message


# --------------------------------------------------------------------------
# Column meta


def test_none_without_reason(manifest: dict, added) -> None:
    _set_meta(manifest, STG_FANS, "state", masking_reason=None)
    _set_meta(manifest, STG_FANS, "favorite_team_id", masking_reason="  ")
    found = added(manifest)
    assert {(v.kind, v.relation, v.column) for v in found} == {
        (MISSING_MASKING_REASON, "staging.stg_synthetic__fan_accounts", "state"),
        (
            MISSING_MASKING_REASON,
            "staging.stg_synthetic__fan_accounts",
            "favorite_team_id",
        ),
    }
    assert all(MODELS_YML in v.message for v in found)
    assert "masking_policy none but no masking_reason" in found[0].message


def test_unknown_policy(manifest: dict, added) -> None:
    _set_meta(manifest, STG_FANS, "card_number", masking_policy="last-four")
    [violation] = added(manifest)
    assert violation.kind == UNKNOWN_MASKING_POLICY
    assert "'last-four'" in violation.message
    assert "last_four" in violation.message


def test_personal_mart_column_needs_a_policy(manifest: dict, added) -> None:
    _set_meta(manifest, INJURIES, "body_part", contains_phi=True)
    [violation] = added(manifest)
    assert (violation.kind, violation.relation, violation.column) == (
        MISSING_MASKING_POLICY,
        "marts.fct_injury_stints_deidentified",
        "body_part",
    )
    assert "models/marts/health/_health__models.yml" in violation.message


def test_personal_sources_need_no_policy(baseline: set[Violation]) -> None:
    # raw is restricted: its personal columns are masked downstream, so the
    # source YAML names no policy for them.
    assert not [v for v in baseline if v.relation.startswith("raw.")]


# --------------------------------------------------------------------------
# API


def test_load_manifest(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="diamond run"):
        load_manifest(tmp_path / "nowhere" / "manifest.json")
    with pytest.raises(PolicyError, match="no dbt manifest"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(PolicyError, match="cannot read"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[]", encoding="utf-8")
    with pytest.raises(PolicyError, match="not a dbt manifest"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"nodes": {}}', encoding="utf-8")
    assert load_manifest(tmp_path) == {"nodes": {}}


def test_manifest_without_compiled_sql(manifest: dict) -> None:
    for node in manifest["nodes"].values():
        node.pop("compiled_code", None)
    with pytest.raises(PolicyError, match="dbt compile"):
        check(manifest, None)


def test_violation_is_frozen_and_prints_its_kind() -> None:
    violation = Violation(UNMASKED_FLOW, "marts.x", "y", "raw.t.y reaches marts.x.y")
    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.kind = "other"  # type: ignore[misc]
    assert str(violation) == "[unmasked_flow] raw.t.y reaches marts.x.y"
    assert policy.KINDS[0] == UNTAGGED_PII
