"""The Lake Formation policy generated from the dbt meta, and applying it.

The manifests are real: ``dbt parse`` of this project for the duckdb target
(whose grants are empty, as on Athena) and for the postgres target (whose
grants say who reads what on Postgres), each into its own scratch target
folder. Parsing needs no warehouse.

Which columns a role reaches is worked out here, independently of the
module, from the document alone and Lake Formation's documented rules: a
column's LF-tags are its own, else its table's, else its database's (per
key), and a grant's expression matches when every term's key has one of
the listed values.

Lake Formation and Glue are moto's (``mock_aws``), a local stand-in for AWS,
which cannot be reached from the project machines. moto stores LF-tags,
assignments and grants and answers ``list_lf_tags``, ``get_resource_lf_tags``
and ``list_permissions``, but evaluates no LF-tag expression and checks
neither tag values nor that a tagged table exists, so the reach of each role
is checked on the document and moto proves the calls are valid and land.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from diamond.access import ANALYST, ML_ENGINEER, PRIVACY_OFFICER, ROLES
from diamond.errors import ConfigError
from governance.privacy import lakeformation as lf

PROJECT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
#: moto's default account, so the catalog ids match the mocked account.
ACCOUNT = "123456789012"
REGION = "us-east-1"
#: Stands for the columns of a relation that its YAML does not document.
UNDOCUMENTED = "<undocumented>"


# --------------------------------------------------------------------------
# Manifests from dbt parse


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``manifest.json`` of this project per target, parsed side by side."""
    folder = tmp_path_factory.mktemp("lakeformation_parse")
    running = {}
    for target in ("duckdb", "postgres"):
        env = {
            **os.environ,
            "DBT_TARGET_PATH": str(folder / target / "target"),
            "DBT_LOG_PATH": str(folder / target / "logs"),
            "DIAMOND_DUCKDB_PATH": str(folder / target / "diamond.duckdb"),
        }
        env.pop("DIAMOND_TARGET", None)
        command = [
            str(DBT),
            "parse",
            "--profiles-dir",
            str(PROJECT),
            "--project-dir",
            str(PROJECT),
            "--target",
            target,
        ]
        running[target] = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    paths = {}
    for target, process in running.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-4000:]
        paths[target] = folder / target / "target" / "manifest.json"
        assert paths[target].is_file(), output[-4000:]
    return paths


@pytest.fixture(scope="module")
def manifest(manifests: dict[str, Path]) -> dict[str, Any]:
    """The duckdb target's manifest, parsed."""
    return json.loads(manifests["duckdb"].read_text())


@pytest.fixture(scope="module")
def policy(manifests: dict[str, Path]) -> dict[str, Any]:
    """The policy for the duckdb manifest, for moto's account."""
    return lf.generate(manifests["duckdb"], account_id=ACCOUNT, role_prefix="")


def column_meta(spec: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict((spec.get("config") or {}).get("meta") or {})
    meta.update(spec.get("meta") or {})
    return meta


def relations(manifest: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each warehouse relation of the manifest: its node, kind and columns."""
    found = {}
    for node in manifest["sources"].values():
        found[(node["schema"], node["identifier"])] = {
            "kind": "source",
            "node": node,
            "columns": {c.lower(): s for c, s in node["columns"].items()},
        }
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        if node["config"].get("materialized") == "ephemeral":
            continue
        found[(node["schema"], node["alias"])] = {
            "kind": node["resource_type"],
            "node": node,
            "columns": {c.lower(): s for c, s in node["columns"].items()},
        }
    return found


def personal(meta: Mapping[str, Any]) -> bool:
    return bool(meta.get("contains_pii") or meta.get("contains_phi"))


def universe(manifest: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """Every column Lake Formation could govern, undocumented ones included."""
    return {
        (db, table, column)
        for (db, table), relation in relations(manifest).items()
        for column in [*relation["columns"], UNDOCUMENTED]
    }


# --------------------------------------------------------------------------
# Lake Formation's rules, applied to the document


class Lake:
    """The LF-tags a document assigns and what its grants reach."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self.policy = policy
        self.assigned: dict[tuple[str, ...], dict[str, str]] = {}
        for entry in policy["add_lf_tags_to_resource"]:
            tags = {t["TagKey"]: t["TagValues"][0] for t in entry["LFTags"]}
            resource = entry["Resource"]
            if "Database" in resource:
                keys = [(resource["Database"]["Name"],)]
            elif "Table" in resource:
                spec = resource["Table"]
                keys = [(spec["DatabaseName"], spec["Name"])]
            else:
                spec = resource["TableWithColumns"]
                keys = [
                    (spec["DatabaseName"], spec["Name"], column)
                    for column in spec["ColumnNames"]
                ]
            for key in keys:
                assert key not in self.assigned, f"{key} is tagged twice"
                self.assigned[key] = tags

    def tags(self, db: str, table: str | None = None, column: str | None = None):
        """Effective LF-tags: inherited from the database and table, each key
        overridden by the level below."""
        effective = dict(self.assigned.get((db,), {}))
        if table is not None:
            effective.update(self.assigned.get((db, table), {}))
        if column is not None:
            effective.update(self.assigned.get((db, table, column), {}))
        return effective

    def expressions(self, role: str, resource_type: str, permission: str):
        principal = self.policy["roles"][role]["principal"]
        return [
            grant["Resource"]["LFTagPolicy"]["Expression"]
            for grant in self.policy["grant_permissions"]
            if grant["Principal"]["DataLakePrincipalIdentifier"] == principal
            and grant["Resource"]["LFTagPolicy"]["ResourceType"] == resource_type
            and permission in grant["Permissions"]
        ]

    @staticmethod
    def matches(expression, tags: Mapping[str, str]) -> bool:
        return all(tags.get(t["TagKey"]) in t["TagValues"] for t in expression)

    def selectable(self, role: str, columns) -> set[tuple[str, str, str]]:
        """The columns ``role`` may SELECT."""
        expressions = self.expressions(role, "TABLE", "SELECT")
        return {
            (db, table, column)
            for db, table, column in columns
            if any(self.matches(e, self.tags(db, table, column)) for e in expressions)
        }

    def describable(self, role: str, databases) -> set[str]:
        """The databases ``role`` may DESCRIBE."""
        expressions = self.expressions(role, "DATABASE", "DESCRIBE")
        return {
            db
            for db in databases
            if any(self.matches(e, self.tags(db)) for e in expressions)
        }


# --------------------------------------------------------------------------
# The document


def test_document_is_boto3_call_arguments(policy: dict[str, Any]) -> None:
    client = boto3.client("lakeformation", region_name=REGION)
    for call in ("create_lf_tag", "add_lf_tags_to_resource", "grant_permissions"):
        name = client.meta.method_to_api_mapping[call]
        operation = client.meta.service_model.operation_model(name)
        allowed = set(operation.input_shape.members)
        for entry in policy[call]:
            assert set(entry) <= allowed, (call, set(entry) - allowed)
            assert set(operation.input_shape.required_members) <= set(entry)
    assert {t["TagKey"] for t in policy["create_lf_tag"]} == {
        lf.LAYER_TAG,
        lf.SENSITIVITY_TAG,
        lf.PII_TYPE_TAG,
        lf.MASKING_POLICY_TAG,
    }


def test_every_personal_column_gets_a_column_tag(policy, manifest) -> None:
    lake = Lake(policy)
    checked = 0
    for (db, table), relation in relations(manifest).items():
        for column, spec in relation["columns"].items():
            meta = column_meta(spec)
            if not personal(meta):
                continue
            assigned = lake.assigned.get((db, table, column))
            assert assigned, f"{db}.{table}.{column} has no column LF-tags"
            expected_type = meta.get("pii_type") or lf.UNSPECIFIED_PII_TYPE
            assert assigned[lf.PII_TYPE_TAG] == expected_type
            if db == "raw":
                # Nothing in raw is masked, whatever the meta says.
                assert assigned[lf.SENSITIVITY_TAG] in (lf.PII, lf.PHI)
            else:
                assert assigned[lf.SENSITIVITY_TAG] in (lf.MASKED, lf.PII, lf.PHI)
            if meta.get("contains_phi") and assigned[lf.SENSITIVITY_TAG] != lf.MASKED:
                assert assigned[lf.SENSITIVITY_TAG] == lf.PHI
            if meta.get("masking_policy"):
                assert assigned[lf.MASKING_POLICY_TAG] == meta["masking_policy"]
            checked += 1
    # The synthetic PII/PHI tables and the Lahman people alone have dozens.
    assert checked > 50


def test_raw_is_out_of_reach_of_analysts_and_ml_engineers(policy, manifest) -> None:
    lake = Lake(policy)
    columns = universe(manifest)
    databases = {db for db, _, _ in columns}
    assert "raw" in databases
    for role in (ANALYST.name, ML_ENGINEER.name):
        reached = lake.selectable(role, columns)
        assert reached, f"{role} reaches nothing"
        assert not [c for c in reached if c[0] == "raw"], role
        assert "raw" not in lake.describable(role, databases)
        unmasked = [
            c for c in reached if lake.tags(*c)[lf.SENSITIVITY_TAG] in (lf.PII, lf.PHI)
        ]
        assert not unmasked, (role, unmasked)
    ml_reach = lake.selectable(ML_ENGINEER.name, columns)
    assert {db for db, _, _ in ml_reach} == {"marts", "ml"}


def test_the_privacy_officer_reaches_everything(policy, manifest) -> None:
    lake = Lake(policy)
    columns = universe(manifest)
    assert lake.selectable(PRIVACY_OFFICER.name, columns) == columns
    databases = {db for db, _, _ in columns}
    assert lake.describable(PRIVACY_OFFICER.name, databases) == databases


def test_reach_matches_the_postgres_grants(policy, manifests) -> None:
    """Each role reads on Athena the relations it reads on Postgres; the only
    columns withheld are personal ones outside raw without a reviewed
    masking policy, and the document warns about each."""
    pg_manifest = json.loads(manifests["postgres"].read_text())
    pg_relations = relations(pg_manifest)
    lake = Lake(policy)
    columns = universe(pg_manifest)
    gaps = set()
    for (db, table), relation in pg_relations.items():
        for column, spec in relation["columns"].items():
            meta = column_meta(spec)
            reviewed = meta.get("masking_policy") not in (None, "none") or (
                meta.get("masking_policy") == "none" and meta.get("masking_reason")
            )
            if db != "raw" and personal(meta) and not reviewed:
                gaps.add((db, table, column))
    for role in ROLES:
        on_postgres = {
            key
            for key, relation in pg_relations.items()
            if (relation["kind"] == "source" and role.reads_raw)
            or role.name
            in (relation["node"]["config"].get("grants") or {}).get("select", [])
        }
        reached = lake.selectable(role.name, columns)
        assert {(db, table) for db, table, _ in reached} == on_postgres, role.name
        withheld = {c for c in columns if c[:2] in on_postgres} - reached
        expected = set()
        if not role.reads_raw:
            # A relation with a gap carries the gap's sensitivity, which its
            # undocumented columns inherit.
            expected = {g for g in gaps if g[:2] in on_postgres}
            expected |= {(db, table, UNDOCUMENTED) for db, table, _ in expected}
        assert withheld == expected, role.name
    for db, table, column in gaps:
        assert any(f"{db}.{table}.{column}" in w for w in policy["warnings"])


def test_postgres_and_duckdb_manifests_give_the_same_policy(manifests) -> None:
    from_duckdb = lf.generate(manifests["duckdb"], account_id=ACCOUNT, role_prefix="")
    from_postgres = lf.generate(
        manifests["postgres"], account_id=ACCOUNT, role_prefix=""
    )
    assert "manifest" in from_postgres["roles"][ANALYST.name]["layers_from"]
    assert "DEFAULT_LAYERS_BY_ROLE" in from_duckdb["roles"][ANALYST.name]["layers_from"]
    for key in ("create_lf_tag", "add_lf_tags_to_resource", "grant_permissions"):
        assert from_duckdb[key] == from_postgres[key], key
    for name, reach in from_postgres["roles"].items():
        assert reach["layers"] == from_duckdb["roles"][name]["layers"], name


def test_a_role_granted_part_of_a_layer_gets_none_of_it(manifests, tmp_path) -> None:
    changed = json.loads(manifests["postgres"].read_text())
    staging = [
        n
        for n in changed["nodes"].values()
        if n["resource_type"] == "model" and n["schema"] == "staging"
    ]
    staging[0]["config"]["grants"] = {"select": [PRIVACY_OFFICER.name]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(changed))
    policy = lf.generate(path, account_id=ACCOUNT, role_prefix="")
    assert policy["roles"][ANALYST.name]["layers"] == ["intermediate", "marts", "ml"]
    assert any(
        w.startswith(
            f"{ANALYST.name} is granted {len(staging) - 1} of the {len(staging)} "
            "relations in staging"
        )
        for w in policy["warnings"]
    )


def test_a_personal_column_without_a_reviewed_policy_is_withheld(
    manifests, tmp_path
) -> None:
    changed = json.loads(manifests["duckdb"].read_text())
    columns = changed["nodes"]["model.diamond.stg_synthetic__fan_accounts"]["columns"]
    for name, meta in (
        ("email", {"contains_pii": True, "pii_type": "email"}),
        ("state", {"contains_pii": True, "masking_policy": "none"}),
    ):
        columns[name]["meta"] = meta
        columns[name]["config"]["meta"] = meta
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(changed))
    policy = lf.generate(path, account_id=ACCOUNT, role_prefix="")
    lake = Lake(policy)
    table = ("staging", "stg_synthetic__fan_accounts")
    assert lake.tags(*table, "email")[lf.SENSITIVITY_TAG] == lf.PII
    assert lake.tags(*table, "state")[lf.SENSITIVITY_TAG] == lf.PII
    # The relation carries its most sensitive column, so its undocumented
    # columns are withheld too; documented public ones stay readable.
    assert lake.tags(*table)[lf.SENSITIVITY_TAG] == lf.PII
    everything = {(*table, c) for c in [*columns, UNDOCUMENTED]}
    reached = lake.selectable(ANALYST.name, everything)
    assert (*table, "email") not in reached
    assert (*table, "state") not in reached
    assert (*table, UNDOCUMENTED) not in reached
    assert (*table, "fan_key") in reached
    assert (*table, "favorite_team_id") in reached
    assert sum("stg_synthetic__fan_accounts" in w for w in policy["warnings"]) == 2


def test_principals_come_from_the_environment(manifests, monkeypatch) -> None:
    monkeypatch.setenv(lf.ACCOUNT_ENV, "210987654321")
    monkeypatch.setenv(lf.ROLE_PREFIX_ENV, "prod-")
    policy = lf.generate(manifests["duckdb"])
    assert policy["catalog_id"] == "210987654321"
    for role in ROLES:
        assert policy["roles"][role.name]["principal"] == (
            f"arn:aws:iam::210987654321:role/prod-{role.name}"
        )
    principals = {
        g["Principal"]["DataLakePrincipalIdentifier"]
        for g in policy["grant_permissions"]
    }
    assert principals == {r["principal"] for r in policy["roles"].values()}
    monkeypatch.setenv(lf.ACCOUNT_ENV, "12345")
    with pytest.raises(ConfigError, match="DIAMOND_AWS_ACCOUNT_ID='12345'"):
        lf.generate(manifests["duckdb"])
    with pytest.raises(ConfigError, match="IAM role name"):
        lf.generate(manifests["duckdb"], account_id=ACCOUNT, role_prefix="bad prefix ")


def test_the_placeholder_account_is_never_applied(manifests, monkeypatch) -> None:
    monkeypatch.delenv(lf.ACCOUNT_ENV, raising=False)
    policy = lf.generate(manifests["duckdb"], role_prefix="")
    assert policy["catalog_id"] == lf.PLACEHOLDER_ACCOUNT_ID
    assert any(lf.ACCOUNT_ENV in w for w in policy["warnings"])
    with pytest.raises(ConfigError, match=lf.ACCOUNT_ENV):
        lf.apply(policy, client=object())


# --------------------------------------------------------------------------
# Errors


def test_a_target_folder_stands_for_its_manifest(manifests) -> None:
    policy = lf.generate(manifests["duckdb"].parent, account_id=ACCOUNT)
    assert policy["generated_from"]["manifest"] == str(manifests["duckdb"])


def test_a_missing_manifest_says_what_to_run(tmp_path) -> None:
    missing = tmp_path / "target" / "manifest.json"
    with pytest.raises(ConfigError, match="dbt parse") as caught:
        lf.generate(missing, account_id=ACCOUNT)
    assert str(missing) in str(caught.value)


def test_a_manifest_without_privacy_meta_is_refused(manifest, tmp_path) -> None:
    stripped = copy.deepcopy(manifest)
    for node in [*stripped["nodes"].values(), *stripped["sources"].values()]:
        for spec in (node.get("columns") or {}).values():
            spec["meta"] = {}
            spec.setdefault("config", {})["meta"] = {}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(stripped))
    with pytest.raises(ConfigError, match="no privacy meta") as caught:
        lf.generate(path, account_id=ACCOUNT)
    assert str(path) in str(caught.value)


def test_unreadable_files_are_refused(tmp_path) -> None:
    broken = tmp_path / "manifest.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the dbt manifest"):
        lf.generate(broken, account_id=ACCOUNT)
    broken.write_text('{"metadata": {}}')
    with pytest.raises(ConfigError, match="not a dbt manifest"):
        lf.generate(broken, account_id=ACCOUNT)
    with pytest.raises(ConfigError, match="generate it first"):
        lf.load(tmp_path / "privacy" / "lakeformation.json")
    broken.write_text('{"version": 0}')
    with pytest.raises(ConfigError, match="generate it again"):
        lf.load(broken)


def test_the_default_paths_follow_dbt_target_path(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "scratch"))
    assert lf.default_manifest_path() == tmp_path / "scratch" / "manifest.json"
    assert lf.default_output_path() == (
        tmp_path / "scratch" / "privacy" / "lakeformation.json"
    )
    with pytest.raises(ConfigError, match="DBT_TARGET_PATH"):
        lf.generate(account_id=ACCOUNT)


# --------------------------------------------------------------------------
# Applying to moto


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, manifest) -> Iterator[dict[str, Any]]:
    """moto's Lake Formation, with the manifest's relations in moto's Glue."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        glue = boto3.client("glue", region_name=REGION)
        databases = set()
        for (db, table), relation in relations(manifest).items():
            if db not in databases:
                glue.create_database(DatabaseInput={"Name": db})
                databases.add(db)
            view = relation["node"]["config"].get("materialized") == "view"
            glue.create_table(
                DatabaseName=db,
                TableInput={
                    "Name": table,
                    "TableType": "VIRTUAL_VIEW" if view else "EXTERNAL_TABLE",
                    "StorageDescriptor": {
                        "Columns": [
                            {"Name": c, "Type": "string"} for c in relation["columns"]
                        ]
                    },
                },
            )
        yield {
            "lakeformation": boto3.client("lakeformation", region_name=REGION),
            "glue": glue,
        }


def resource_tags(client, resource: Mapping[str, Any]) -> dict[str, Any]:
    """LF-tags assigned to one resource, as {key: values} (per column)."""
    answer = client.get_resource_lf_tags(
        CatalogId=ACCOUNT, Resource=resource, ShowAssignedLFTags=True
    )

    def pairs(tags) -> dict[str, list[str]]:
        return {t["TagKey"]: t["TagValues"] for t in tags}

    if "Database" in resource:
        return pairs(answer.get("LFTagOnDatabase", []))
    if "Table" in resource:
        return pairs(answer.get("LFTagsOnTable", []))
    return {c["Name"]: pairs(c["LFTags"]) for c in answer.get("LFTagsOnColumns", [])}


def state(client, policy) -> dict[str, Any]:
    """Everything the policy touches, as moto stores it."""
    tags = {
        t["TagKey"]: sorted(t["TagValues"])
        for t in client.list_lf_tags(CatalogId=ACCOUNT)["LFTags"]
    }
    assigned = [
        resource_tags(client, e["Resource"]) for e in policy["add_lf_tags_to_resource"]
    ]
    granted = sorted(
        json.dumps({**p, "Permissions": sorted(p["Permissions"])}, sort_keys=True)
        for p in client.list_permissions(CatalogId=ACCOUNT)[
            "PrincipalResourcePermissions"
        ]
    )
    return {"tags": tags, "assigned": assigned, "granted": granted}


def test_apply_lands_in_lake_formation(aws, policy) -> None:
    client = aws["lakeformation"]
    result = lf.apply(policy, client)
    assert sorted(result.tags_created) == sorted(
        t["TagKey"] for t in policy["create_lf_tag"]
    )
    assert result.assignments == len(policy["add_lf_tags_to_resource"])
    assert result.grants == len(policy["grant_permissions"])
    assert result.unenforced_databases == []
    listed = {
        t["TagKey"]: t["TagValues"]
        for t in client.list_lf_tags(CatalogId=ACCOUNT)["LFTags"]
    }
    assert listed == {t["TagKey"]: t["TagValues"] for t in policy["create_lf_tag"]}
    for entry in policy["add_lf_tags_to_resource"]:
        wanted = {t["TagKey"]: t["TagValues"] for t in entry["LFTags"]}
        found = resource_tags(client, entry["Resource"])
        columns = entry["Resource"].get("TableWithColumns", {}).get("ColumnNames")
        if columns:
            assert found == dict.fromkeys(columns, wanted), entry["Resource"]
        else:
            assert found == wanted, entry["Resource"]
    # A raw PII column and the masked column built from it, read back.
    raw_email = resource_tags(
        client,
        {
            "TableWithColumns": {
                "CatalogId": ACCOUNT,
                "DatabaseName": "raw",
                "Name": "fan_accounts",
                "ColumnNames": ["email"],
            }
        },
    )
    assert raw_email["email"][lf.SENSITIVITY_TAG] == [lf.PII]
    assert raw_email["email"][lf.PII_TYPE_TAG] == ["email"]
    staged_email = resource_tags(
        client,
        {
            "TableWithColumns": {
                "CatalogId": ACCOUNT,
                "DatabaseName": "staging",
                "Name": "stg_synthetic__fan_accounts",
                "ColumnNames": ["email"],
            }
        },
    )
    assert staged_email["email"][lf.SENSITIVITY_TAG] == [lf.MASKED]
    assert staged_email["email"][lf.MASKING_POLICY_TAG] == ["email_domain"]
    granted = client.list_permissions(CatalogId=ACCOUNT)["PrincipalResourcePermissions"]
    for entry in policy["grant_permissions"]:
        assert any(
            p["Principal"] == entry["Principal"]
            and p["Resource"] == entry["Resource"]
            and sorted(p["Permissions"]) == sorted(entry["Permissions"])
            for p in granted
        ), entry


def test_applying_twice_changes_nothing(aws, policy) -> None:
    client = aws["lakeformation"]
    lf.apply(policy, client)
    before = state(client, policy)
    again = lf.apply(policy, client)
    assert not again.changed_tags
    assert again.tags_created == []
    assert again.tag_values_added == {}
    assert state(client, policy) == before


def test_apply_extends_an_existing_tag(aws, policy) -> None:
    client = aws["lakeformation"]
    client.create_lf_tag(
        CatalogId=ACCOUNT, TagKey=lf.LAYER_TAG, TagValues=["raw", "legacy"]
    )
    result = lf.apply(policy, client)
    assert lf.LAYER_TAG not in result.tags_created
    assert result.tag_values_added == {
        lf.LAYER_TAG: ["staging", "intermediate", "marts", "ml"]
    }
    values = client.get_lf_tag(CatalogId=ACCOUNT, TagKey=lf.LAYER_TAG)["TagValues"]
    assert sorted(values) == sorted(["legacy", *lf.LAYERS])


def test_the_written_document_applies_call_by_call(aws, policy, tmp_path) -> None:
    """The file alone is enough: each entry is a boto3 call's arguments,
    which botocore validates against the Lake Formation API model."""
    path = lf.write(policy, tmp_path / "privacy" / "lakeformation.json")
    assert path == tmp_path / "privacy" / "lakeformation.json"
    document = lf.load(path)
    assert document == json.loads(json.dumps(policy))
    client = aws["lakeformation"]
    for call in ("create_lf_tag", "add_lf_tags_to_resource", "grant_permissions"):
        for entry in document[call]:
            answer = getattr(client, call)(**entry)
            assert not answer.get("Failures"), (call, answer)
    assert lf.apply(document, client).tags_created == []


def test_relations_missing_from_glue_are_reported(aws, policy) -> None:
    real = aws["lakeformation"]
    absent = "stg_synthetic__fan_accounts"

    class MissingOneTable:
        """moto's client, answering like AWS does for a table Glue lacks."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def add_lf_tags_to_resource(self, **kwargs: Any) -> Any:
            spec = kwargs["Resource"].get("Table") or kwargs["Resource"].get(
                "TableWithColumns"
            )
            if spec and spec["Name"] == absent:
                error = {"Code": "EntityNotFoundException", "Message": "not found"}
                raise ClientError({"Error": error}, "AddLFTagsToResource")
            return real.add_lf_tags_to_resource(**kwargs)

    with pytest.raises(lf.LakeFormationError, match="apply again") as caught:
        lf.apply(policy, MissingOneTable())
    assert f"staging.{absent}" in str(caught.value)
    skipped = sum(
        absent in json.dumps(e["Resource"]) for e in policy["add_lf_tags_to_resource"]
    )
    result = caught.value.result
    assert result is not None
    assert result.assignments == len(policy["add_lf_tags_to_resource"]) - skipped
    assert result.grants == len(policy["grant_permissions"])


def test_databases_still_open_to_iam_are_reported(aws, policy) -> None:
    client = aws["lakeformation"]
    client.grant_permissions(
        CatalogId=ACCOUNT,
        Principal={"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
        Resource={"Database": {"CatalogId": ACCOUNT, "Name": "raw"}},
        Permissions=["ALL"],
    )
    result = lf.apply(policy, client)
    assert result.unenforced_databases == ["raw"]
    assert "IAMAllowedPrincipals" in result.summary()


def test_concurrent_modifications_are_retried(aws, policy, monkeypatch) -> None:
    real = aws["lakeformation"]
    refusals = []

    class BusyOnce:
        """moto's client, refusing the first assignment as a busy catalog."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def add_lf_tags_to_resource(self, **kwargs: Any) -> Any:
            if not refusals:
                refusals.append(kwargs["Resource"])
                error = {"Code": "ConcurrentModificationException", "Message": "busy"}
                raise ClientError({"Error": error}, "AddLFTagsToResource")
            return real.add_lf_tags_to_resource(**kwargs)

    monkeypatch.setattr(lf.time, "sleep", lambda seconds: None)
    result = lf.apply(policy, BusyOnce())
    assert len(refusals) == 1
    assert result.assignments == len(policy["add_lf_tags_to_resource"])
    assert resource_tags(real, refusals[0])
