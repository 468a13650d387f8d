"""Records of processing (GDPR article 30), generated from dbt meta.

A model holds personal data when one of its columns carries
``contains_pii`` or ``contains_phi``, or when its ``config: meta:`` names
in ``profiles`` the column that identifies the person its rows are about:
the model's outputs (predictions, their explanations) profile identifiable
players, GDPR article 4(4), even though no column is tagged. Each such
model is one entry: its purpose, the data subjects and their retention
from the model's ``config: meta:`` (``purpose``, ``data_subjects``,
``retention``), the categories of data from the columns' ``pii_type``
(health data marked as a special category), how each category is masked,
and the roles that may read it, which every entry must name. The roles
come from the ``+grants`` of the model's folder in ``dbt_project.yml``
rendered as for Postgres, the one target where dbt grants apply; DuckDB
has no roles and Athena gets the same split through Lake Formation tags.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from diamond.settings import project_dir

REQUIRED_KEYS = ("purpose", "data_subjects", "retention", "roles")
#: The raw schema is readable by this role only (diamond/access.py).
RAW_READER = "diamond_privacy_officer"


@dataclass
class Activity:
    """One record of processing: a model that holds personal data."""

    model: str
    relation: str
    yaml_file: str
    group: str | None
    purpose: str | None
    data_subjects: list[str]
    retention: str | None
    categories: dict[str, list[str]] = field(default_factory=dict)
    special_categories: list[str] = field(default_factory=list)
    masking: dict[str, str] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    #: The column naming the person profiled, for outputs about people.
    profiles: str | None = None

    @property
    def missing_keys(self) -> list[str]:
        # Without roles the record cannot say who reads the data (art. 30
        # (1)(d)); "owner only" is a grant decision nobody wrote down.
        return [key for key in REQUIRED_KEYS if not getattr(self, key)]

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["missing_keys"] = self.missing_keys
        return data


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    meta = dict((item.get("config") or {}).get("meta") or {})
    meta.update(item.get("meta") or {})
    return meta


def _grants_config(root: Path) -> dict[str, Any]:
    path = root / "dbt_project.yml"
    project = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ((project.get("models") or {}).get("diamond")) or {}


def _roles(fqn: list[str], config: dict[str, Any]) -> list[str]:
    """The select grantees of the most specific folder with ``+grants``."""
    found: str | dict | None = config.get("+grants")
    level: Any = config
    for part in fqn[1:-1]:
        level = level.get(part) if isinstance(level, dict) else None
        if not isinstance(level, dict):
            break
        if "+grants" in level:
            found = level["+grants"]
    if found is None:
        return []
    if isinstance(found, str):
        rendered = jinja2.Template(found).render(target={"type": "postgres"})
        found = ast.literal_eval(rendered.strip() or "{}")
    return sorted(found.get("select") or [])


def _models(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The models whose relations exist on the manifest's target.

    Those dbt runs, and the training models dbt leaves disabled where it
    cannot run Python (Postgres): ``diamond ml train`` writes the same
    relations there, so they are processing all the same.
    """
    from ml.relations import RELATIONS

    found = {
        key: node
        for key, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"].get("enabled", 1)
    }
    for key, variants in (manifest.get("disabled") or {}).items():
        for node in variants:
            if node["resource_type"] == "model" and node["name"] in RELATIONS:
                found.setdefault(key, node)
    return [found[key] for key in sorted(found)]


def activities(manifest: dict[str, Any], root: Path | None = None) -> list[Activity]:
    """Every model of ``manifest`` holding personal data, as an activity."""
    config = _grants_config(root or project_dir())
    found = []
    for node in _models(manifest):
        personal = {
            name: _meta(column)
            for name, column in node["columns"].items()
            if _meta(column).get("contains_pii") or _meta(column).get("contains_phi")
        }
        meta = _meta(node)
        profiles = meta.get("profiles")
        if not personal and not profiles:
            continue
        subjects = meta.get("data_subjects") or []
        if isinstance(subjects, str):
            subjects = [subjects]
        activity = Activity(
            model=node["name"],
            relation=f"{node['schema']}.{node.get('alias') or node['name']}",
            yaml_file=node.get("patch_path", "").split("://")[-1],
            group=node.get("group"),
            purpose=meta.get("purpose"),
            data_subjects=list(subjects),
            retention=meta.get("retention"),
            roles=_roles(node["fqn"], config),
            sources=sorted(
                d.split(".", 2)[2]
                for d in node["depends_on"]["nodes"]
                if d.startswith("source.")
            ),
            profiles=profiles,
        )
        if profiles:
            key = _meta(node["columns"].get(profiles) or {})
            activity.categories["person_key"] = [profiles]
            activity.categories["profile"] = sorted(
                name for name in node["columns"] if name != profiles
            )
            activity.masking[profiles] = key.get("masking_policy") or "none"
        for name, column in personal.items():
            kind = column.get("pii_type") or "unspecified"
            activity.categories.setdefault(kind, []).append(name)
            activity.masking[name] = column.get("masking_policy") or "unspecified"
            if column.get("contains_phi"):
                activity.special_categories.append(name)
        found.append(activity)
    return found


def restricted_sources(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Raw tables holding personal data: where the unmasked originals live."""
    rows = []
    for source in sorted(manifest.get("sources", {}).values(), key=lambda s: s["name"]):
        personal = [
            name
            for name, column in source["columns"].items()
            if _meta(column).get("contains_pii") or _meta(column).get("contains_phi")
        ]
        if personal:
            rows.append(
                {
                    "relation": f"{source['schema']}.{source['identifier']}",
                    "personal_columns": len(personal),
                    "roles": [RAW_READER],
                }
            )
    return rows


def render_markdown(found: list[Activity], sources: list[dict[str, Any]]) -> str:
    """The records of processing as a Markdown document."""
    lines = [
        "# Records of processing activities (GDPR article 30)",
        "",
        "Generated by `diamond governance report` from the dbt manifest: one "
        "entry per model holding personal data. Controller contact: the "
        "privacy office (`privacy` dbt group). Transfers outside the project: "
        "none. Security measures: keyed-hash pseudonyms and the other masking "
        "policies, per-role grants, the restricted raw schema, the "
        "tamper-evident audit log, erasure on request (`diamond privacy "
        "erase`).",
        "",
    ]
    for activity in found:
        categories = "; ".join(
            f"{kind} ({', '.join(columns)})"
            for kind, columns in sorted(activity.categories.items())
        )
        masking = ", ".join(f"{c}: {p}" for c, p in sorted(activity.masking.items()))
        lines += [
            f"## {activity.model}",
            "",
            f"- relation: `{activity.relation}` (group {activity.group or '-'}; "
            f"defined in `{activity.yaml_file}`)",
            f"- purpose: {activity.purpose or 'MISSING'}",
            f"- data subjects: {', '.join(activity.data_subjects) or 'MISSING'}",
            f"- categories of data: {categories}",
            "- special categories (health, article 9): "
            f"{', '.join(activity.special_categories) or 'none'}",
            f"- masking: {masking}",
            "- profiling of identifiable persons (article 4(4)): "
            + (f"yes, by {activity.profiles}" if activity.profiles else "no"),
            f"- retention: {activity.retention or 'MISSING'}",
            f"- readers (Postgres roles): {', '.join(activity.roles) or 'MISSING'}",
            f"- read from: {', '.join(activity.sources) or 'other models'}",
            "",
        ]
    lines += [
        "## Unmasked originals",
        "",
        "| relation | personal columns | readers |",
        "|---|---:|---|",
    ]
    for row in sources:
        lines.append(
            f"| `{row['relation']}` | {row['personal_columns']} | "
            f"{', '.join(row['roles'])} |"
        )
    return "\n".join(lines) + "\n"
