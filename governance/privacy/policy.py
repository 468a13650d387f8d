"""Policy as code: the privacy rules every build of the project must keep.

The column ``meta`` in the dbt YAML is the single statement of what is
personal and how it is treated (``contains_pii``/``contains_phi``,
``pii_type``, ``masking_policy``, ``masking_reason``). :func:`check` holds
the warehouse and the SQL to that statement:

* ``untagged_pii``: the PII scanner found personal data in a column whose
  meta says nothing about it;
* ``unmasked_flow``: a personal source column reaches a column outside the
  restricted schemas along a column lineage path on which nothing masks it;
* ``missing_masking_policy``: a column outside the restricted schemas is
  tagged personal but names no masking policy;
* ``missing_masking_reason``: ``masking_policy: none`` without a
  ``masking_reason`` saying why the value may be shown as it is;
* ``unknown_masking_policy``: a policy name the ``mask()`` macro does not
  know (a typo would otherwise pass silently on a column never masked).

Masking on a lineage path means one of: the model column's meta names a
policy other than ``none`` *and* the model's SQL calls ``mask()`` for it
(a policy in YAML that the SQL never applies protects nothing), or the path
goes through a hashing function, which column lineage flags. A column whose
policy is ``none`` ends the path: it records a reviewed decision to show the
value, and its reason is checked separately.

    from governance.privacy.policy import check, load_manifest
    for violation in check(load_manifest("target/manifest.json"), findings):
        print(violation.message)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diamond.access import RESTRICTED_SCHEMAS
from diamond.dbt import read_manifest
from diamond.errors import DiamondError
from governance.lineage.columns import UpstreamField, column_graph
from governance.privacy.scan import ColumnFinding

log = logging.getLogger(__name__)

#: Policies the ``mask()`` macro applies (``masking_policies()`` in
#: ``macros/privacy/masking.sql``; the tests keep the two lists equal).
MASKING_POLICIES = (
    "keyed_hash",
    "email_domain",
    "last_four",
    "year_only",
    "month_only",
    "age_cap_90",
    "zip3",
    "nullify",
    "none",
)

UNTAGGED_PII = "untagged_pii"
UNMASKED_FLOW = "unmasked_flow"
MISSING_MASKING_POLICY = "missing_masking_policy"
MISSING_MASKING_REASON = "missing_masking_reason"
UNKNOWN_MASKING_POLICY = "unknown_masking_policy"
#: Every kind of violation, in the order they are reported.
KINDS = (
    UNTAGGED_PII,
    UNMASKED_FLOW,
    MISSING_MASKING_POLICY,
    MISSING_MASKING_REASON,
    UNKNOWN_MASKING_POLICY,
)

_RELATION_TYPES = ("source", "model", "seed", "snapshot")
_DATASET_TYPES = ("model", "snapshot")
_MASK_CALL = re.compile(r"\bmask\s*\(\s*(['\"])(?P<column>[^'\"]+)\1")
_MAX_PATH_SHOWN = 4


class PolicyError(DiamondError):
    """The privacy policy cannot be checked with the artifacts given."""


@dataclass(frozen=True)
class Violation:
    """One breach of the privacy policy.

    ``relation`` is ``schema.name`` of the warehouse relation and ``column``
    the column at fault; ``message`` says what is wrong and what to change,
    in words fit for a terminal.
    """

    kind: str
    relation: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


# --------------------------------------------------------------------------
# Reading the manifest


def load_manifest(path: str | Path) -> dict:
    """The parsed dbt manifest at ``path`` (a file, or the target folder).

    Raises :class:`PolicyError` when it is missing or not a dbt manifest.
    """
    return read_manifest(
        path, hint="`diamond run` (or `dbt compile`)", error=PolicyError
    )


def _meta(spec: Mapping[str, Any]) -> dict:
    # dbt writes column meta to both places and either may be the one set.
    meta = dict((spec.get("config") or {}).get("meta") or {})
    meta.update(spec.get("meta") or {})
    return meta


def _is_personal(meta: Mapping[str, Any]) -> bool:
    return bool(
        meta.get("contains_pii") or meta.get("contains_phi") or meta.get("pii_type")
    )


def _is_tagged(meta: Mapping[str, Any]) -> bool:
    # An explicit ``contains_pii: false`` is a reviewed verdict too: it is how
    # a scanner false positive (a venue's name taken for a person) is settled.
    return any(key in meta for key in ("contains_pii", "contains_phi", "pii_type"))


def _tag_words(meta: Mapping[str, Any]) -> str:
    words = [key for key in ("contains_pii", "contains_phi") if meta.get(key)]
    if meta.get("pii_type"):
        words.append(f"pii_type {meta['pii_type']}")
    return ", ".join(words) or "personal"


def _yaml_file(node: Mapping[str, Any]) -> str | None:
    """The YAML file that documents ``node``'s columns, relative to the repo."""
    if node.get("resource_type") == "source":
        return node.get("original_file_path") or node.get("path")
    patch = node.get("patch_path")
    if patch:
        # dbt prefixes the project name: "diamond://models/...".
        return str(patch).split("://", 1)[-1]
    return None


def _where_to_tag(node: Mapping[str, Any]) -> str:
    yaml_file = _yaml_file(node)
    if node.get("resource_type") == "source":
        name = f"source {node.get('source_name')}.{node.get('name')}"
        return f"under {name} in {yaml_file}"
    if yaml_file:
        return f"under model {node.get('name')} in {yaml_file}"
    sql_file = node.get("original_file_path") or node.get("path") or "its SQL file"
    return (
        f"in a YAML file beside {sql_file} (model {node.get('name')} has no YAML yet)"
    )


class _Project:
    """The manifest's relations, their column meta and where mask() is used."""

    def __init__(self, manifest: Mapping[str, Any]) -> None:
        self.manifest = manifest
        self.nodes: dict[str, dict] = {}
        for group in ("nodes", "sources"):
            for unique_id, node in (manifest.get(group) or {}).items():
                if node.get("resource_type") in _RELATION_TYPES:
                    self.nodes[unique_id] = node
        self.by_relation: dict[str, str] = {}
        for unique_id in self.nodes:
            self.by_relation.setdefault(self.relation(unique_id).lower(), unique_id)
        self._metas: dict[str, dict[str, dict]] = {}
        self._masked: dict[str, frozenset[str]] = {}

    def relation(self, unique_id: str) -> str:
        node = self.nodes.get(unique_id) or {}
        name = node.get("identifier") or node.get("alias") or node.get("name")
        return f"{node.get('schema')}.{name}"

    def restricted(self, unique_id: str) -> bool:
        schema = str((self.nodes.get(unique_id) or {}).get("schema") or "")
        return schema.lower() in {s.lower() for s in RESTRICTED_SCHEMAS}

    def metas(self, unique_id: str) -> dict[str, dict]:
        """Lowercase column name -> merged meta of one relation's columns."""
        found = self._metas.get(unique_id)
        if found is None:
            columns = (self.nodes.get(unique_id) or {}).get("columns") or {}
            found = {
                str(spec.get("name") or name).lower(): _meta(spec)
                for name, spec in columns.items()
            }
            self._metas[unique_id] = found
        return found

    def meta(self, unique_id: str, column: str) -> dict | None:
        """The column's meta, or None when the column is not documented."""
        return self.metas(unique_id).get(column.lower())

    def masked_columns(self, unique_id: str) -> frozenset[str]:
        """Columns the model's SQL passes through ``mask()``."""
        found = self._masked.get(unique_id)
        if found is None:
            raw = str((self.nodes.get(unique_id) or {}).get("raw_code") or "")
            found = frozenset(
                match["column"].lower() for match in _MASK_CALL.finditer(raw)
            )
            self._masked[unique_id] = found
        return found


# --------------------------------------------------------------------------
# Untagged PII


def _evidence(finding: ColumnFinding) -> str:
    given = getattr(finding, "evidence", None)
    if given:
        return str(given)
    parts = []
    detector = getattr(finding, "detector", None)
    matched = getattr(finding, "matched", None)
    sampled = getattr(finding, "sampled", None)
    if detector == "column-name":
        parts.append("the column name and word-like values")
    elif matched is not None and sampled:
        parts.append(f"{matched} of {sampled} sampled values matched {detector}")
    elif detector:
        parts.append(str(detector))
    if getattr(finding, "name_hint", False) and detector != "column-name":
        parts.append("the column name agrees")
    confidence = getattr(finding, "confidence", None)
    if confidence is not None:
        parts.append(f"confidence {confidence:.2f}")
    return "; ".join(parts) or "scanner finding"


def _untagged(project: _Project, findings: Iterable[ColumnFinding]) -> list[Violation]:
    violations = []
    for finding in findings:
        if finding.pii_type is None:
            continue
        relation, column = finding.relation, finding.column
        where = f"{relation}.{column}"
        detected = f"holds {finding.pii_type} ({_evidence(finding)})"
        unique_id = project.by_relation.get(relation.lower())
        if unique_id is None and relation.count(".") == 2:
            # A database-qualified name: the manifest is one database.
            unique_id = project.by_relation.get(relation.lower().split(".", 1)[1])
        if unique_id is None:
            message = (
                f"{where} {detected}, but {relation} is not a source or model "
                "of the dbt project, so nothing says how to treat it. Declare "
                "it as a source in a models/staging/*/_*__sources.yml file and "
                f"tag the column: meta: {{contains_pii: true, pii_type: "
                f"{finding.pii_type}}}."
            )
        else:
            node = project.nodes[unique_id]
            meta = project.meta(unique_id, column)
            if meta is not None and _is_tagged(meta):
                continue
            state = (
                "its meta has no contains_pii, contains_phi or pii_type"
                if meta is not None
                else "the column is not documented"
            )
            tag = f"contains_pii: true, pii_type: {finding.pii_type}"
            if node.get("resource_type") != "source" and not project.restricted(
                unique_id
            ):
                tag += ", masking_policy: <policy>"
            message = (
                f"{where} {detected}, but {state}. Tag column {column} "
                f"{_where_to_tag(node)} with meta: {{{tag}}}; if it is not "
                "personal data, record that with meta: {contains_pii: false}."
            )
        violations.append(Violation(UNTAGGED_PII, relation, column, message))
    return violations


# --------------------------------------------------------------------------
# Column meta on its own


def _meta_rules(project: _Project) -> list[Violation]:
    violations = []
    for unique_id, node in project.nodes.items():
        relation = project.relation(unique_id)
        is_model = node.get("resource_type") in _DATASET_TYPES
        checked_model = is_model and not project.restricted(unique_id)
        for column, meta in project.metas(unique_id).items():
            where = f"{relation}.{column}"
            policy = meta.get("masking_policy")
            place = _where_to_tag(node)
            if policy is None:
                if checked_model and _is_personal(meta):
                    violations.append(
                        Violation(
                            MISSING_MASKING_POLICY,
                            relation,
                            column,
                            f"{where} is tagged {_tag_words(meta)} but has no "
                            f"masking_policy, and {node.get('schema')} is not a "
                            "restricted schema. Set meta.masking_policy for "
                            f"column {column} {place} (one of "
                            f"{', '.join(MASKING_POLICIES)}; `none` needs a "
                            "masking_reason).",
                        )
                    )
                continue
            if policy not in MASKING_POLICIES:
                violations.append(
                    Violation(
                        UNKNOWN_MASKING_POLICY,
                        relation,
                        column,
                        f"{where} has masking_policy {policy!r}, which mask() "
                        f"does not know. Use one of {', '.join(MASKING_POLICIES)} "
                        f"for column {column} {place}.",
                    )
                )
            elif policy == "none" and not str(meta.get("masking_reason") or "").strip():
                violations.append(
                    Violation(
                        MISSING_MASKING_REASON,
                        relation,
                        column,
                        f"{where} has masking_policy none but no masking_reason. "
                        "Say why the value may be shown unmasked: add "
                        f"meta.masking_reason to column {column} {place}.",
                    )
                )
    return violations


# --------------------------------------------------------------------------
# Unmasked flows


_Key = tuple[str, str]


def _without_masking_meta(manifest: Mapping[str, Any]) -> dict:
    """A shallow copy of ``manifest`` whose model columns name no policy.

    Column lineage counts a masking_policy in meta as masking whether or not
    the SQL applies it; this check decides that itself, so the lineage it
    reads must flag only the masking functions really on the path.
    """
    nodes = {}
    for unique_id, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") in _DATASET_TYPES and node.get("columns"):
            columns = {}
            for name, spec in node["columns"].items():
                spec = dict(spec)
                meta = dict(spec.get("meta") or {})
                meta.pop("masking_policy", None)
                spec["meta"] = meta
                config = dict(spec.get("config") or {})
                config_meta = dict(config.get("meta") or {})
                config_meta.pop("masking_policy", None)
                config["meta"] = config_meta
                spec["config"] = config
                columns[name] = spec
            node = {**node, "columns": columns}
        nodes[unique_id] = node
    return {**manifest, "nodes": nodes}


class _Flows:
    """Personal source columns that reach each model column unmasked."""

    def __init__(
        self, project: _Project, graph: Mapping[_Key, list[UpstreamField]]
    ) -> None:
        self.project = project
        self.graph = graph
        self._memo: dict[_Key, dict[_Key, tuple[_Key, ...]]] = {}
        self._unresolved_logged: set[_Key] = set()

    def step(self, key: _Key) -> str:
        """``masked``, ``exempt`` or ``open`` for values entering ``key``."""
        unique_id, column = key
        meta = self.project.meta(unique_id, column) or {}
        policy = meta.get("masking_policy")
        if policy == "none":
            return "exempt"
        if policy and column in self.project.masked_columns(unique_id):
            return "masked"
        return "open"

    def origins(self, key: _Key) -> dict[_Key, tuple[_Key, ...]]:
        """{personal source column: path of model columns down to it}.

        The path starts at ``key`` and ends at the model column that reads
        the source column.
        """
        found = self._memo.get(key)
        if found is not None:
            return found
        self._memo[key] = {}  # a cycle adds nothing new
        found = {}
        if self.step(key) == "open":
            for upstream in self.graph.get(key, []):
                for origin, path in self._through(key, upstream).items():
                    found.setdefault(origin, (key, *path))
        self._memo[key] = found
        return found

    def _through(
        self, key: _Key, upstream: UpstreamField
    ) -> dict[_Key, tuple[_Key, ...]]:
        if not upstream.column:
            self._log_unresolved(key, upstream)
            return {}
        if not any(
            item.get("type") == "DIRECT" and not item.get("masking")
            for item in upstream.transformations
        ):
            return {}
        upstream_key = (upstream.unique_id, upstream.column)
        if upstream_key in self.graph:
            return self.origins(upstream_key)
        meta = self.project.meta(*upstream_key) or {}
        if _is_personal(meta) and meta.get("masking_policy") != "none":
            return {upstream_key: ()}
        return {}

    def _log_unresolved(self, key: _Key, upstream: UpstreamField) -> None:
        marker = (key[0], upstream.unique_id)
        if marker in self._unresolved_logged:
            return
        self._unresolved_logged.add(marker)
        log.warning(
            "privacy check: column lineage cannot tell which columns of %s "
            "feed %s; flows through it are not verified",
            self.project.relation(upstream.unique_id),
            self.project.relation(key[0]),
        )


def _describe_path(project: _Project, path: tuple[_Key, ...]) -> str:
    names = [f"{project.relation(uid)}.{column}" for uid, column in reversed(path)]
    if len(names) > _MAX_PATH_SHOWN:
        names = [*names[:2], "...", *names[-1:]]
    return " -> ".join(names)


def _unmasked(
    project: _Project, graph: Mapping[_Key, list[UpstreamField]]
) -> list[Violation]:
    flows = _Flows(project, graph)
    violations = []
    for key in sorted(graph):
        unique_id, column = key
        if project.restricted(unique_id) or unique_id not in project.nodes:
            continue
        relation = project.relation(unique_id)
        for origin, path in sorted(flows.origins(key).items()):
            source = f"{project.relation(origin[0])}.{origin[1]}"
            meta = project.meta(*origin) or {}
            entry = next(
                (step for step in reversed(path) if not project.restricted(step[0])),
                path[-1],
            )
            entry_node = project.nodes[entry[0]]
            entry_meta = project.meta(*entry) or {}
            policy = entry_meta.get("masking_policy")
            if policy and policy != "none":
                fix = (
                    f"its meta names masking_policy {policy} but the SQL of "
                    f"{entry_node.get('name')} never calls mask('{entry[1]}'): "
                    f"write {{{{ mask('{entry[1]}') }}}} as {entry[1]} in "
                    f"{entry_node.get('original_file_path')}"
                )
            else:
                fix = (
                    f"mask it where it enters {project.relation(entry[0])}: "
                    f"write {{{{ mask('{entry[1]}') }}}} as {entry[1]} in "
                    f"{entry_node.get('original_file_path')} and set "
                    f"meta.masking_policy for column {entry[1]} "
                    f"{_where_to_tag(entry_node)} (or masking_policy: none "
                    "with a masking_reason if it may be shown)"
                )
            via = f" via {_describe_path(project, path[1:])}" if len(path) > 1 else ""
            message = (
                f"{source} ({_tag_words(meta)}) reaches {relation}.{column} "
                f"unmasked{via}. To fix, {fix}."
            )
            violations.append(Violation(UNMASKED_FLOW, relation, column, message))
    return violations


# --------------------------------------------------------------------------
# Public API


def check(
    manifest: dict,
    findings: Sequence[ColumnFinding] | None,
    *,
    catalog: dict | None = None,
) -> list[Violation]:
    """Every breach of the privacy policy in ``manifest`` (and ``findings``).

    ``manifest`` is the parsed dbt manifest of a run that compiled the
    models (``diamond run``, ``dbt compile``); ``findings`` are the PII
    scanner's verdicts on warehouse relations, or None when no scan was
    made (untagged personal data then goes unchecked). ``catalog``, the
    parsed catalog.json, makes column lineage exact for ``select *``.
    Returns the violations sorted by kind, relation and column; an empty
    list means the project keeps the policy. Raises :class:`PolicyError`
    when no model has compiled SQL to trace.
    """
    project = _Project(manifest)
    models = [
        uid
        for uid, node in project.nodes.items()
        if node.get("resource_type") in _DATASET_TYPES
    ]
    compiled = [uid for uid in models if project.nodes[uid].get("compiled_code")]
    if models and not compiled:
        msg = (
            "the dbt manifest holds no compiled SQL, so column lineage cannot "
            "be traced: run `diamond run` or `dbt compile` and check its "
            "target/manifest.json"
        )
        raise PolicyError(msg)
    for unique_id in sorted(set(models) - set(compiled)):
        log.warning(
            "privacy check: %s has no compiled SQL; flows through it are not verified",
            unique_id,
        )

    violations: list[Violation] = []
    if findings is None:
        log.info("privacy check: no scan findings given; untagged PII not checked")
    else:
        violations += _untagged(project, findings)
    violations += _meta_rules(project)
    dialect = str((manifest.get("metadata") or {}).get("adapter_type") or "duckdb")
    graph = column_graph(_without_masking_meta(manifest), catalog, dialect)
    violations += _unmasked(project, graph)

    order = {kind: index for index, kind in enumerate(KINDS)}
    violations = sorted(
        set(violations),
        key=lambda v: (order[v.kind], v.relation, v.column, v.message),
    )
    log.info(
        "privacy check: %d violation(s) in %d relations and %d lineage columns",
        len(violations),
        len(project.nodes),
        len(graph),
    )
    return violations
