"""Lake Formation tag-based access control for Athena, from the dbt meta.

On Postgres, who reads what is decided by real roles (``diamond/access.py``)
and the folder ``grants`` of ``dbt_project.yml``. Athena has no roles: AWS
Lake Formation decides instead. :func:`generate` turns the same column
``meta`` (read from a dbt ``manifest.json``) into the equivalent Lake
Formation policy, :func:`write` stores it as JSON and :func:`apply` applies
it with a boto3 ``lakeformation`` client::

    from governance.privacy import lakeformation
    policy = lakeformation.generate()  # target/manifest.json
    lakeformation.write(policy)  # target/privacy/lakeformation.json
    lakeformation.apply(policy)  # boto3 client for $AWS_REGION

The policy uses four LF-tags:

=========================  ==================================================
LF-tag                     Values and where they are assigned
=========================  ==================================================
``diamond_layer``          ``raw``, ``staging``, ``intermediate``, ``marts``,
                           ``ml``: on each Glue database (the dbt schema names, which
                           ``macros/generate_schema_name.sql`` keeps equal on
                           every target); tables and columns inherit it.
``diamond_sensitivity``    ``public`` on each database, overridden on every
                           relation holding personal columns (by its most
                           sensitive column) and on each documented column
                           of such a relation: ``masked`` for personal data
                           outside the restricted schemas that a reviewed
                           ``masking_policy`` treats (``none`` counts only
                           with a ``masking_reason``), ``pii``/``phi`` for
                           personal data shown unmasked: everything personal
                           in ``raw``, and any personal column elsewhere
                           whose policy is missing (fail closed).
``diamond_pii_type``       the column's ``pii_type`` (``unspecified`` when
                           the meta names none), on personal columns only.
``diamond_masking_policy`` the column's ``masking_policy``, where it has one.
=========================  ==================================================

Each role of ``diamond.access.ROLES`` is an IAM role principal,
``arn:aws:iam::<account>:role/<prefix><role name>``, granted two LF-tag
expressions: ``DESCRIBE`` on the databases of its layers, and ``SELECT`` and
``DESCRIBE`` on the tables and columns of its layers whose sensitivity it
may read. Roles that read the raw schema (the privacy officer) read every
sensitivity; the others only ``public`` and ``masked``. The layers come
from the models' ``grants`` in the manifest when it has any (a Postgres
parse); the grants are Postgres-only in ``dbt_project.yml``, so a DuckDB or
Athena manifest carries none and :data:`DEFAULT_LAYERS_BY_ROLE`, which
mirrors them, is used instead.

=============================  ===============================================
Variable                       Default
=============================  ===============================================
``DIAMOND_AWS_ACCOUNT_ID``     ``000000000000`` (a placeholder that
                               :func:`apply` refuses)
``DIAMOND_AWS_ROLE_PREFIX``    empty: the IAM roles are named like the
                               Postgres roles, ``diamond_analyst``...
``AWS_REGION``                 ``us-east-1`` (the client :func:`apply` makes)
=============================  ===============================================

The JSON document holds the arguments of the boto3 calls themselves: every
entry of ``create_lf_tag``, ``add_lf_tags_to_resource`` and
``grant_permissions`` can be passed as ``client.<call>(**entry)``. The other
keys (``roles``, ``summary``, ``warnings``...) are for people.

Lake Formation only enforces these grants where it governs the data: the S3
locations must be registered with Lake Formation and the databases must not
keep the ``IAMAllowedPrincipals`` grant that new catalogs give by default
(:func:`apply` reports the databases that still have it). Athena also needs
``DESCRIBE`` on the ``default`` database for each querying principal, and
checks a view's underlying tables for whoever queries it, so relations
materialized as views are only readable with access to what they read
(the document warns about them). LF-tags belong to the catalog entry: a
table dropped and created again (a rebuild may do that, and so does the
Athena ingest when a table's schema changes) comes back with only what its
database passes down, so apply the policy again after each
``dbt build --target athena`` and each Athena ingest; it is idempotent.

Nothing here reaches AWS unless :func:`apply` is given (or makes) a real
client. The tests run it against moto's Lake Formation and Glue, a local
stand-in for AWS, since AWS cannot be reached from the project machines.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from diamond.access import (
    ANALYST,
    ML_ENGINEER,
    PRIVACY_OFFICER,
    RESTRICTED_SCHEMAS,
    ROLES,
    Role,
)
from diamond.dbt import read_manifest
from diamond.errors import ConfigError, DiamondError
from diamond.settings import RAW_SCHEMA, project_dir

log = logging.getLogger(__name__)

#: Version of the JSON document; :func:`load` refuses any other.
FORMAT_VERSION = 1

LAYER_TAG = "diamond_layer"
SENSITIVITY_TAG = "diamond_sensitivity"
PII_TYPE_TAG = "diamond_pii_type"
MASKING_POLICY_TAG = "diamond_masking_policy"

#: Layers, from the restricted raw schema to the marts and the model built
#: on them; each is a database.
LAYERS = (RAW_SCHEMA, "staging", "intermediate", "marts", "ml")

PUBLIC = "public"
MASKED = "masked"
PII = "pii"
PHI = "phi"
#: Sensitivities from the least to the most restricted.
SENSITIVITIES = (PUBLIC, MASKED, PII, PHI)
#: What a role that does not read the raw schema may read.
MASKED_READABLE = (PUBLIC, MASKED)
#: ``diamond_pii_type`` of a personal column whose meta names no type.
UNSPECIFIED_PII_TYPE = "unspecified"

ACCOUNT_ENV = "DIAMOND_AWS_ACCOUNT_ID"
ROLE_PREFIX_ENV = "DIAMOND_AWS_ROLE_PREFIX"
#: Not an account anyone owns: a policy made with it cannot be applied.
PLACEHOLDER_ACCOUNT_ID = "000000000000"

#: Layers besides raw that each role reads when the manifest has no grants.
#: Mirrors the ``+grants`` of ``dbt_project.yml``; the tests keep them equal.
DEFAULT_LAYERS_BY_ROLE: dict[str, tuple[str, ...]] = {
    ANALYST.name: ("staging", "intermediate", "marts", "ml"),
    ML_ENGINEER.name: ("marts", "ml"),
    PRIVACY_OFFICER.name: ("staging", "intermediate", "marts", "ml"),
}

DATABASE_PERMISSIONS = ("DESCRIBE",)
TABLE_PERMISSIONS = ("SELECT", "DESCRIBE")

# Lake Formation stores keys and values in lower case, at most 50 characters
# (the documented limit, stricter than the API's 256), of these characters.
_TAG_VALUE = re.compile(r"^[\w .:/=+@%-]{1,50}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
# The most values one CreateLFTag or UpdateLFTag call accepts.
_VALUES_PER_CALL = 50
_IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
_NODE_TYPES = ("model", "seed", "snapshot")
_RETRIES = 4


class LakeFormationError(DiamondError):
    """Lake Formation refused part of the policy; the message says which."""

    def __init__(self, message: str, result: ApplyResult | None = None) -> None:
        super().__init__(message)
        #: What was applied before the error, when anything was.
        self.result = result


# --------------------------------------------------------------------------
# Where the files are


def default_target_dir() -> Path:
    """dbt's target folder: ``$DBT_TARGET_PATH`` (relative to the project)
    or ``<project>/target``."""
    raw = os.environ.get("DBT_TARGET_PATH")
    folder = Path(raw) if raw else Path("target")
    return folder if folder.is_absolute() else project_dir() / folder


def default_manifest_path() -> Path:
    """``manifest.json`` in :func:`default_target_dir`."""
    return default_target_dir() / "manifest.json"


def default_output_path() -> Path:
    """``privacy/lakeformation.json`` in :func:`default_target_dir`."""
    return default_target_dir() / "privacy" / "lakeformation.json"


# --------------------------------------------------------------------------
# Reading the manifest


@dataclass
class _Column:
    name: str
    sensitivity: str | None  # None: not personal data
    pii_type: str | None = None
    masking_policy: str | None = None

    def tags(self) -> list[tuple[str, str]]:
        if self.sensitivity is None:
            return [(SENSITIVITY_TAG, PUBLIC)]
        pairs = [(SENSITIVITY_TAG, self.sensitivity)]
        pairs.append((PII_TYPE_TAG, self.pii_type or UNSPECIFIED_PII_TYPE))
        if self.masking_policy:
            pairs.append((MASKING_POLICY_TAG, self.masking_policy))
        return pairs


@dataclass
class _Relation:
    database: str
    table: str
    layer: str
    materialized: str
    nodes: list[str]
    columns: dict[str, _Column] = field(default_factory=dict)

    @property
    def sensitivity(self) -> str | None:
        found = [c.sensitivity for c in self.columns.values() if c.sensitivity]
        return max(found, key=SENSITIVITIES.index) if found else None


def _meta(spec: Mapping[str, Any]) -> dict[str, Any]:
    # dbt writes column meta both at the top and under config; either may be
    # the one a YAML file set.
    meta = dict((spec.get("config") or {}).get("meta") or {})
    meta.update(spec.get("meta") or {})
    return meta


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1"}
    return value is True


def _has_privacy_meta(meta: Mapping[str, Any]) -> bool:
    return (
        _flag(meta.get("contains_pii"))
        or _flag(meta.get("contains_phi"))
        or bool(meta.get("masking_policy"))
    )


def _tag_value(raw: Any, where: str, key: str) -> str:
    value = str(raw).strip().lower()
    if not _TAG_VALUE.match(value):
        msg = (
            f"{where}: {key} {raw!r} cannot be a Lake Formation tag value "
            "(1 to 50 letters, digits, spaces or _ . : / = + - @ %); "
            "rename it in the YAML meta"
        )
        raise ConfigError(msg)
    return value


def _column(
    name: str, meta: Mapping[str, Any], restricted: bool, where: str
) -> _Column:
    pii = _flag(meta.get("contains_pii"))
    phi = _flag(meta.get("contains_phi"))
    policy = meta.get("masking_policy")
    policy = _tag_value(policy, where, "masking_policy") if policy else None
    if not (pii or phi):
        return _Column(name, None)
    reviewed = bool(policy) and (policy != "none" or bool(meta.get("masking_reason")))
    # Outside raw, a reviewed policy makes the column fit for masked
    # readers; without one it stays as sensitive as its raw source.
    sensitivity = MASKED if reviewed and not restricted else PHI if phi else PII
    pii_type = meta.get("pii_type")
    return _Column(
        name,
        sensitivity,
        _tag_value(pii_type, where, "pii_type") if pii_type else None,
        policy,
    )


def _node_layer(node: Mapping[str, Any]) -> str | None:
    if node["resource_type"] == "source":
        # Sources are what ingest loaded, unmasked, whatever the schema is
        # called (the raw_schema var may rename it).
        return RAW_SCHEMA
    schema = str(node.get("schema") or "").lower()
    if schema in RESTRICTED_SCHEMAS:
        return RAW_SCHEMA
    return schema if schema in LAYERS else None


def _relations(
    manifest: Mapping[str, Any], warnings: list[str]
) -> tuple[list[_Relation], bool]:
    """Relations by Glue database and table, and whether any column of the
    manifest carries privacy meta at all."""
    found: dict[tuple[str, str], _Relation] = {}
    any_meta = False
    unlayered: list[str] = []
    candidates = [
        *((manifest.get("sources") or {}).items()),
        *((manifest.get("nodes") or {}).items()),
    ]
    for uid, node in candidates:
        kind = node.get("resource_type")
        config = node.get("config") or {}
        if kind not in (*_NODE_TYPES, "source") or config.get("enabled") is False:
            continue
        materialized = "source" if kind == "source" else config.get("materialized")
        if materialized == "ephemeral":
            continue  # no relation exists to govern
        layer = _node_layer(node)
        if layer is None:
            unlayered.append(f"{uid} (schema {node.get('schema')})")
            continue
        # Glue keeps database, table and column names in lower case.
        database = str(node["schema"]).lower()
        name = node.get("identifier") if kind == "source" else node.get("alias")
        table = str(name or node["name"]).lower()
        relation = found.setdefault(
            (database, table),
            _Relation(database, table, layer, str(materialized), []),
        )
        relation.nodes.append(uid)
        restricted = layer == RAW_SCHEMA
        for spec in (node.get("columns") or {}).values():
            meta = _meta(spec)
            any_meta = any_meta or _has_privacy_meta(meta)
            column_name = str(spec.get("name") or "").lower()
            if not column_name:
                continue
            where = f"{uid} column {column_name}"
            column = _column(column_name, meta, restricted, where)
            known = relation.columns.get(column_name)
            # Two sources naming one table: the stricter reading wins.
            if known is None or _stricter(column, known):
                relation.columns[column_name] = column
            if not restricted and column.sensitivity in (PII, PHI):
                warnings.append(
                    f"{database}.{table}.{column_name} is marked "
                    f"{column.sensitivity} but names no reviewed masking_policy "
                    "(a policy, or `none` with a masking_reason): it is tagged "
                    f"{column.sensitivity} and withheld from every role that "
                    f"reads masked data only. Set the policy in the YAML of {uid}."
                )
    if unlayered:
        warnings.append(
            "not governed (their schema is none of "
            f"{', '.join(LAYERS)}; set +schema for their folder): "
            + ", ".join(sorted(unlayered))
        )
    layers_by_db: dict[str, str] = {}
    for relation in found.values():
        known_layer = layers_by_db.setdefault(relation.database, relation.layer)
        if known_layer != relation.layer:
            msg = (
                f"database {relation.database} would be in two layers "
                f"({known_layer} and {relation.layer}, through "
                f"{', '.join(relation.nodes)}): sources and models must not "
                "share a schema"
            )
            raise ConfigError(msg)
    ordered = sorted(
        found.values(), key=lambda r: (LAYERS.index(r.layer), r.database, r.table)
    )
    return ordered, any_meta


def _stricter(new: _Column, old: _Column) -> bool:
    rank = [None, *SENSITIVITIES]
    return rank.index(new.sensitivity) > rank.index(old.sensitivity)


def _view_warnings(relations: Sequence[_Relation]) -> list[str]:
    views: dict[str, int] = {}
    for relation in relations:
        if relation.layer != RAW_SCHEMA and relation.materialized == "view":
            views[relation.layer] = views.get(relation.layer, 0) + 1
    if not views:
        return []
    counts = ", ".join(f"{n} in {layer}" for layer, n in views.items())
    return [
        f"{sum(views.values())} relations are views ({counts}). Athena checks "
        "Lake Formation permissions on the tables a view reads for whoever "
        "queries it, and Lake Formation has no column-level permissions on "
        "views, so these are only readable with access to their raw inputs. "
        "Materialize those folders as tables for the athena target to let "
        "roles without raw access read them."
    ]


# --------------------------------------------------------------------------
# Roles and principals


@dataclass(frozen=True)
class _Reach:
    role: Role
    principal: str
    layers: tuple[str, ...]
    sensitivities: tuple[str, ...]
    source: str


def principal_arn(role_name: str, account_id: str, prefix: str = "") -> str:
    """The IAM role ARN Lake Formation grants ``role_name`` to."""
    name = f"{prefix}{role_name}"
    if not _IAM_ROLE_NAME.match(name):
        msg = (
            f"IAM role name {name!r} (from {ROLE_PREFIX_ENV}={prefix!r}) is not "
            "valid: use at most 64 letters, digits and + = , . @ _ -"
        )
        raise ConfigError(msg)
    return f"arn:aws:iam::{account_id}:role/{name}"


def _account_id(explicit: str | None) -> str:
    account = explicit if explicit is not None else os.environ.get(ACCOUNT_ENV)
    account = (account or PLACEHOLDER_ACCOUNT_ID).strip()
    if not _ACCOUNT_ID.match(account):
        msg = f"{ACCOUNT_ENV}={account!r} is not a 12-digit AWS account id"
        raise ConfigError(msg)
    return account


def _granted_layers(
    manifest: Mapping[str, Any], warnings: list[str]
) -> tuple[dict[str, tuple[str, ...]], str]:
    """Layers besides raw each role reads, from the models' grants."""
    by_layer: dict[str, list[set[str]]] = {}
    unknown: set[str] = set()
    for node in (manifest.get("nodes") or {}).values():
        if node.get("resource_type") not in _NODE_TYPES:
            continue
        config = node.get("config") or {}
        if config.get("materialized") == "ephemeral" or config.get("enabled") is False:
            continue
        layer = _node_layer(node)
        if layer is None or layer == RAW_SCHEMA:
            continue
        granted = (config.get("grants") or {}).get("select") or []
        if isinstance(granted, str):
            granted = [granted]
        names = {str(name).lower() for name in granted}
        unknown |= names - {role.name for role in ROLES}
        by_layer.setdefault(layer, []).append(names)
    if not any(names for sets in by_layer.values() for names in sets):
        source = (
            "DEFAULT_LAYERS_BY_ROLE: this manifest has no grants (dbt_project.yml "
            "sets them for the postgres target only)"
        )
        return dict(DEFAULT_LAYERS_BY_ROLE), source
    if unknown:
        warnings.append(
            f"grants name roles diamond.access does not define, left out: "
            f"{', '.join(sorted(unknown))}"
        )
    layers: dict[str, tuple[str, ...]] = {}
    for role in ROLES:
        chosen = []
        for layer in LAYERS:
            sets = by_layer.get(layer) or []
            granted_to = sum(role.name in names for names in sets)
            if sets and granted_to == len(sets):
                chosen.append(layer)
            elif granted_to:
                # Tags cover a whole layer: a role granted only some of its
                # relations gets none of them rather than all.
                warnings.append(
                    f"{role.name} is granted {granted_to} of the {len(sets)} "
                    f"relations in {layer}; Lake Formation grants whole layers, "
                    f"so it gets none of {layer}. Grant the folder as a whole."
                )
        layers[role.name] = tuple(chosen)
    return layers, "the grants of the models in the manifest"


def _reaches(
    manifest: Mapping[str, Any], account: str, prefix: str, warnings: list[str]
) -> list[_Reach]:
    granted, source = _granted_layers(manifest, warnings)
    reaches = []
    for role in ROLES:
        layers = tuple(
            layer
            for layer in LAYERS
            if (layer == RAW_SCHEMA and role.reads_raw)
            or layer in granted.get(role.name, ())
        )
        reaches.append(
            _Reach(
                role,
                principal_arn(role.name, account, prefix),
                layers,
                SENSITIVITIES if role.reads_raw else MASKED_READABLE,
                source,
            )
        )
        if not layers:
            warnings.append(f"{role.name} reads no layer: it gets no grant")
    return reaches


# --------------------------------------------------------------------------
# The document


def _pairs(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"TagKey": key, "TagValues": [value]} for key, value in pairs]


def _assignments(account: str, relations: Sequence[_Relation]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    databases = {r.database: r.layer for r in relations}
    for database, layer in databases.items():
        entries.append(
            {
                "CatalogId": account,
                "Resource": {"Database": {"CatalogId": account, "Name": database}},
                "LFTags": _pairs([(LAYER_TAG, layer), (SENSITIVITY_TAG, PUBLIC)]),
            }
        )
    for relation in relations:
        sensitivity = relation.sensitivity
        if sensitivity is None:
            continue  # all public: the database's tags say it
        table = {
            "CatalogId": account,
            "DatabaseName": relation.database,
            "Name": relation.table,
        }
        # The relation carries its most sensitive column: what a view (which
        # has no column-level permissions) and any column the YAML does not
        # document inherit. Documented columns then say what they hold.
        entries.append(
            {
                "CatalogId": account,
                "Resource": {"Table": dict(table)},
                "LFTags": _pairs([(SENSITIVITY_TAG, sensitivity)]),
            }
        )
        groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for column in relation.columns.values():
            groups.setdefault(tuple(column.tags()), []).append(column.name)
        for pairs, names in groups.items():
            entries.append(
                {
                    "CatalogId": account,
                    "Resource": {"TableWithColumns": {**table, "ColumnNames": names}},
                    "LFTags": _pairs(pairs),
                }
            )
    return entries


def _tag_definitions(
    account: str, assignments: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    used: dict[str, set[str]] = {}
    for entry in assignments:
        for pair in entry["LFTags"]:
            used.setdefault(pair["TagKey"], set()).update(pair["TagValues"])
    # Layer and sensitivity values appear in the grants even when no
    # resource carries them yet, so all of them are defined.
    definitions = [(LAYER_TAG, list(LAYERS)), (SENSITIVITY_TAG, list(SENSITIVITIES))]
    for key in (PII_TYPE_TAG, MASKING_POLICY_TAG):
        if used.get(key):
            definitions.append((key, sorted(used[key])))
    return [
        {"CatalogId": account, "TagKey": key, "TagValues": values}
        for key, values in definitions
    ]


def _grants(account: str, reaches: Sequence[_Reach]) -> list[dict[str, Any]]:
    entries = []
    for reach in reaches:
        if not reach.layers:
            continue
        layer_term = {"TagKey": LAYER_TAG, "TagValues": list(reach.layers)}
        table_terms = [layer_term]
        if set(reach.sensitivities) != set(SENSITIVITIES):
            table_terms.append(
                {"TagKey": SENSITIVITY_TAG, "TagValues": list(reach.sensitivities)}
            )
        for resource_type, terms, permissions in (
            ("DATABASE", [layer_term], DATABASE_PERMISSIONS),
            ("TABLE", table_terms, TABLE_PERMISSIONS),
        ):
            entries.append(
                {
                    "CatalogId": account,
                    "Principal": {"DataLakePrincipalIdentifier": reach.principal},
                    "Resource": {
                        "LFTagPolicy": {
                            "CatalogId": account,
                            "ResourceType": resource_type,
                            "Expression": [dict(t) for t in terms],
                        }
                    },
                    "Permissions": list(permissions),
                }
            )
    return entries


def generate(
    manifest_path: str | Path | None = None,
    *,
    account_id: str | None = None,
    role_prefix: str | None = None,
) -> dict[str, Any]:
    """The Lake Formation policy for the relations of a dbt manifest.

    ``manifest_path`` is a ``manifest.json`` or the folder holding it
    (default :func:`default_manifest_path`); ``account_id`` and
    ``role_prefix`` default to ``$DIAMOND_AWS_ACCOUNT_ID`` and
    ``$DIAMOND_AWS_ROLE_PREFIX``. Raises :class:`ConfigError` when the
    manifest is missing, unreadable or has no privacy meta at all.
    """
    path = Path(manifest_path) if manifest_path else default_manifest_path()
    if path.is_dir():
        path = path / "manifest.json"
    manifest = read_manifest(path, hint="`dbt parse` (or `diamond run`)")
    account = _account_id(account_id)
    prefix = (
        role_prefix if role_prefix is not None else os.environ.get(ROLE_PREFIX_ENV, "")
    )
    warnings: list[str] = []
    relations, any_meta = _relations(manifest, warnings)
    if not any_meta:
        msg = (
            f"{path} has no privacy meta: no column says contains_pii, "
            "contains_phi or masking_policy, so every column would be public. "
            "Parse this project (`dbt parse`) to get a manifest of its models, "
            "or add the meta to the YAML of the columns that hold personal data."
        )
        raise ConfigError(msg)
    warnings.extend(_view_warnings(relations))
    reaches = _reaches(manifest, account, prefix, warnings)
    if account == PLACEHOLDER_ACCOUNT_ID:
        warnings.append(
            f"the account id is the placeholder {PLACEHOLDER_ACCOUNT_ID}: set "
            f"{ACCOUNT_ENV} and generate again before applying"
        )
    for message in warnings:
        log.warning("lakeformation: %s", message)
    assignments = _assignments(account, relations)
    metadata = manifest.get("metadata") or {}
    personal = [(r, c) for r in relations for c in r.columns.values() if c.sensitivity]
    return {
        "version": FORMAT_VERSION,
        "generated_from": {
            "manifest": str(path),
            "project": metadata.get("project_name"),
            "dbt_version": metadata.get("dbt_version"),
            "adapter_type": metadata.get("adapter_type"),
        },
        "catalog_id": account,
        "roles": {
            reach.role.name: {
                "principal": reach.principal,
                "layers": list(reach.layers),
                "sensitivities": list(reach.sensitivities),
                "layers_from": reach.source,
            }
            for reach in reaches
        },
        "summary": {
            "databases": len({r.database for r in relations}),
            "tables": len(relations),
            "tables_with_personal_data": sum(1 for r in relations if r.sensitivity),
            "personal_columns": {
                s: sum(1 for _, c in personal if c.sensitivity == s)
                for s in SENSITIVITIES[1:]
            },
        },
        "warnings": warnings,
        "create_lf_tag": _tag_definitions(account, assignments),
        "add_lf_tags_to_resource": assignments,
        "grant_permissions": _grants(account, reaches),
    }


def write(policy: Mapping[str, Any], path: str | Path | None = None) -> Path:
    """Write ``policy`` as JSON (default :func:`default_output_path`) and
    return the path written."""
    target = Path(path) if path else default_output_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.tmp")
    scratch.write_text(json.dumps(policy, indent=2) + "\n", encoding="utf-8")
    # A reader never sees half a policy.
    scratch.replace(target)
    log.info("wrote the Lake Formation policy to %s", target)
    return target


def load(path: str | Path | None = None) -> dict[str, Any]:
    """A policy written by :func:`write` (default :func:`default_output_path`)."""
    source = Path(path) if path else default_output_path()
    if not source.is_file():
        msg = (
            f"no Lake Formation policy at {source}: generate it first "
            "(`diamond privacy lakeformation`)"
        )
        raise ConfigError(msg)
    try:
        policy = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        msg = f"cannot read the Lake Formation policy {source}: {error}"
        raise ConfigError(msg) from error
    _check_policy(policy, str(source))
    return policy


_POLICY_KEYS = (
    "catalog_id",
    "create_lf_tag",
    "add_lf_tags_to_resource",
    "grant_permissions",
)


def _check_policy(policy: Any, where: str) -> None:
    if (
        not isinstance(policy, Mapping)
        or policy.get("version") != FORMAT_VERSION
        or any(key not in policy for key in _POLICY_KEYS)
    ):
        msg = (
            f"{where} is not a version {FORMAT_VERSION} diamond Lake Formation "
            "policy: generate it again"
        )
        raise ConfigError(msg)


# --------------------------------------------------------------------------
# Applying


@dataclass
class ApplyResult:
    """What :func:`apply` did.

    Applying an unchanged policy again creates and adds nothing. The
    assignments and grants are sent again: a resource holds one value per
    LF-tag and a principal one grant per resource and permission, so sending
    them again leaves them as they are (moto, in the tests, does the same).
    """

    tags_created: list[str] = field(default_factory=list)
    tag_values_added: dict[str, list[str]] = field(default_factory=dict)
    assignments: int = 0
    grants: int = 0
    #: Databases where ``IAMAllowedPrincipals`` still holds permissions, so
    #: IAM policies rather than these grants decide who reads them.
    unenforced_databases: list[str] = field(default_factory=list)

    @property
    def changed_tags(self) -> bool:
        """Whether an LF-tag or a tag value had to be created."""
        return bool(self.tags_created or self.tag_values_added)

    def summary(self) -> str:
        """One line for a terminal."""
        added = sum(len(v) for v in self.tag_values_added.values())
        text = (
            f"{len(self.tags_created)} LF-tag(s) created, {added} value(s) added, "
            f"{self.assignments} assignment(s) and {self.grants} grant(s) applied"
        )
        if self.unenforced_databases:
            text += (
                "; not enforced until IAMAllowedPrincipals is revoked on: "
                + ", ".join(self.unenforced_databases)
            )
        return text


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _call(method: Callable[..., Any], **kwargs: Any) -> Any:
    attempt = 1
    while True:
        try:
            return method(**kwargs)
        except ClientError as error:
            # Lake Formation rejects concurrent changes to one resource or
            # tag instead of queueing them, and botocore does not retry that.
            busy = _error_code(error) == "ConcurrentModificationException"
            if not busy or attempt == _RETRIES:
                raise
        time.sleep(0.5 * 2**attempt)
        attempt += 1


def _existing_tags(client: Any, catalog: str) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    token = None
    while True:
        kwargs: dict[str, Any] = {"CatalogId": catalog}
        if token:
            kwargs["NextToken"] = token
        page = _call(client.list_lf_tags, **kwargs)
        for tag in page.get("LFTags") or []:
            tags[tag["TagKey"]] = list(tag.get("TagValues") or [])
        token = page.get("NextToken")
        if not token:
            return tags


def _chunks(values: Sequence[str]) -> list[list[str]]:
    return [
        list(values[i : i + _VALUES_PER_CALL])
        for i in range(0, len(values), _VALUES_PER_CALL)
    ]


def _ensure_tags(client: Any, policy: Mapping[str, Any], result: ApplyResult) -> None:
    existing = _existing_tags(client, policy["catalog_id"])
    for entry in policy["create_lf_tag"]:
        key, values = entry["TagKey"], list(entry["TagValues"])
        have = existing.get(key)
        if have is None:
            first, *rest = _chunks(values)
            _call(client.create_lf_tag, **{**entry, "TagValues": first})
            result.tags_created.append(key)
            missing = [v for chunk in rest for v in chunk]
        else:
            # CreateLFTag would not extend an existing tag; values others
            # added are kept, since removing one in use fails anyway.
            missing = [v for v in values if v not in have]
            if missing:
                result.tag_values_added[key] = missing
        for chunk in _chunks(missing):
            _call(
                client.update_lf_tag,
                CatalogId=entry["CatalogId"],
                TagKey=key,
                TagValuesToAdd=chunk,
            )


def _describe(resource: Mapping[str, Any]) -> str:
    if "Database" in resource:
        return f"database {resource['Database']['Name']}"
    spec = resource.get("Table") or resource.get("TableWithColumns") or {}
    text = f"table {spec.get('DatabaseName')}.{spec.get('Name')}"
    if spec.get("ColumnNames"):
        text += f" columns {', '.join(spec['ColumnNames'])}"
    return text


def _assign(client: Any, policy: Mapping[str, Any], result: ApplyResult) -> list[str]:
    missing = []
    for entry in policy["add_lf_tags_to_resource"]:
        what = _describe(entry["Resource"])
        try:
            response = _call(client.add_lf_tags_to_resource, **entry)
        except ClientError as error:
            if _error_code(error) == "EntityNotFoundException":
                missing.append(what)
                continue
            msg = f"Lake Formation refused the LF-tags of {what}: {error}"
            raise LakeFormationError(msg, result) from error
        failures = response.get("Failures") or []
        if failures:
            reasons = "; ".join(
                f"{f.get('LFTag', {}).get('TagKey')}: "
                f"{f.get('Error', {}).get('ErrorMessage')}"
                for f in failures
            )
            msg = f"Lake Formation did not tag {what}: {reasons}"
            raise LakeFormationError(msg, result)
        result.assignments += 1
    return missing


def _grant(client: Any, policy: Mapping[str, Any], result: ApplyResult) -> None:
    for entry in policy["grant_permissions"]:
        try:
            _call(client.grant_permissions, **entry)
        except ClientError as error:
            principal = entry["Principal"]["DataLakePrincipalIdentifier"]
            msg = (
                f"Lake Formation refused the grant to {principal}: {error}. "
                "Check that the IAM role exists (set DIAMOND_AWS_ROLE_PREFIX "
                "if its name differs) and that you are a data lake administrator"
            )
            raise LakeFormationError(msg, result) from error
        result.grants += 1


def _iam_only(client: Any, policy: Mapping[str, Any]) -> list[str]:
    unenforced = []
    for entry in policy["add_lf_tags_to_resource"]:
        database = entry["Resource"].get("Database")
        if not database:
            continue
        try:
            page = client.list_permissions(
                CatalogId=policy["catalog_id"],
                Principal={"DataLakePrincipalIdentifier": _IAM_ALLOWED_PRINCIPALS},
                Resource={"Database": dict(database)},
            )
        except ClientError as error:
            log.debug("cannot list the permissions of %s: %s", database, error)
            continue
        if page.get("PrincipalResourcePermissions"):
            unenforced.append(database["Name"])
    return unenforced


def apply(policy: Mapping[str, Any], client: Any = None) -> ApplyResult:
    """Apply ``policy`` with a boto3 ``lakeformation`` client (default: one
    for ``$AWS_REGION``, else us-east-1), idempotently.

    LF-tags are created when missing and given the values they lack; every
    assignment and grant is then sent, which changes nothing when it is
    already in place. Resources that do not exist yet are skipped and
    reported at the end in a :class:`LakeFormationError`, after everything
    else was applied. Needs a data lake administrator's credentials.
    """
    _check_policy(policy, "the policy")
    if policy["catalog_id"] == PLACEHOLDER_ACCOUNT_ID:
        msg = (
            f"the policy was generated for the placeholder account "
            f"{PLACEHOLDER_ACCOUNT_ID}: set {ACCOUNT_ENV} to the account that "
            "owns the Glue catalog and generate it again"
        )
        raise ConfigError(msg)
    if client is None:
        import boto3

        region = os.environ.get("AWS_REGION", "us-east-1")
        client = boto3.client("lakeformation", region_name=region)
    result = ApplyResult()
    _ensure_tags(client, policy, result)
    missing = _assign(client, policy, result)
    _grant(client, policy, result)
    result.unenforced_databases = _iam_only(client, policy)
    if result.unenforced_databases:
        log.warning(
            "Lake Formation does not enforce the grants on %s: IAMAllowedPrincipals "
            "still has permissions there; revoke them once the grants are in place",
            ", ".join(result.unenforced_databases),
        )
    if missing:
        msg = (
            f"{len(missing)} resource(s) are not in the Glue catalog, so they "
            f"were not tagged: {'; '.join(missing)}. Build them (`diamond "
            "ingest --target athena` for raw, `dbt build --target athena` for "
            "the models) and apply again; everything else was applied."
        )
        raise LakeFormationError(msg, result)
    log.info("Lake Formation policy applied: %s", result.summary())
    return result
