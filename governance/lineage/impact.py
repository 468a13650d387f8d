"""What a change to a table or a column would touch downstream.

:func:`downstream` takes a dbt manifest and a reference such as
``stg_lahman__people``, ``lahman.people``, ``raw.people`` or
``raw.people.birth_year`` and returns an :class:`Impact`: for a relation,
every model, test, exposure (and any other node) that depends on it through
the manifest's ``child_map``; for a column, every column it flows into by
the column lineage of :mod:`governance.lineage.columns`, plus the tests on
those columns and the exposures and analyses reading the models that hold
them.
:meth:`Impact.to_text` draws the result as a tree, :meth:`Impact.to_dict`
gives it as JSON-ready data.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diamond.errors import DiamondError

log = logging.getLogger(__name__)

#: Resource types a reference may name.
RELATION_TYPES = ("model", "seed", "snapshot", "source")
#: Consumers of a whole relation, listed under each of its affected columns.
CONSUMER_TYPES = ("exposure", "analysis")
#: Order of siblings in a tree: data first, then consumers, then checks.
TYPE_ORDER = (
    "source",
    "seed",
    "snapshot",
    "model",
    "exposure",
    "analysis",
    "metric",
    "semantic_model",
    "test",
    "unit_test",
)

Manifest = Mapping[str, Any]
#: {(unique_id, column): [UpstreamField(unique_id, column, transformations)]}
ColumnGraph = Mapping[tuple[str, str], Iterable[Any]]


class LineageLookupError(DiamondError):
    """A relation or column named for lineage is not in the project."""


def load_json(source: Manifest | str | Path) -> dict[str, Any]:
    """A manifest or catalog given as parsed JSON or as a file path."""
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        msg = (
            f"the dbt artifact {path} does not exist; run `diamond run` (and "
            "`diamond docs` for catalog.json) to write it"
        )
        raise LineageLookupError(msg) from error


# --------------------------------------------------------------------------
# Naming relations
# --------------------------------------------------------------------------


def manifest_node(manifest: Manifest, unique_id: str) -> Mapping[str, Any]:
    """The manifest entry of any node, source or exposure by unique id."""
    for section in ("nodes", "sources", "exposures", "metrics", "semantic_models"):
        entry = manifest.get(section, {}).get(unique_id)
        if entry is not None:
            return entry
    unit = manifest.get("unit_tests", {}).get(unique_id)
    if unit is not None:
        return unit
    return {"unique_id": unique_id, "name": unique_id.split(".")[-1]}


def resource_type(unique_id: str) -> str:
    """The dbt resource type a unique id starts with (``model``, ``test``...)."""
    return unique_id.split(".", 1)[0]


def display_name(manifest: Manifest, unique_id: str) -> str:
    """How a node is shown: ``source_name.table`` for sources, else its name."""
    entry = manifest_node(manifest, unique_id)
    if resource_type(unique_id) == "source":
        return f"{entry.get('source_name')}.{entry.get('name')}"
    return str(entry.get("name", unique_id))


def relation_names(manifest: Manifest) -> dict[str, set[str]]:
    """Every spelling a relation may be named by, mapped to unique ids.

    Models, seeds and snapshots answer to their unique id, name, alias,
    ``schema.alias`` and ``database.schema.alias``; sources to their unique
    id, ``source_name.name``, ``schema.identifier``,
    ``database.schema.identifier`` and, where no model has it, their name.
    Keys are lower case.
    """
    names: dict[str, set[str]] = {}

    def add(key: str | None, unique_id: str) -> None:
        if key:
            names.setdefault(key.lower(), set()).add(unique_id)

    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in RELATION_TYPES:
            continue
        table = node.get("alias") or node["name"]
        for key in (
            unique_id,
            node["name"],
            table,
            f"{node.get('schema')}.{table}",
            f"{node.get('database')}.{node.get('schema')}.{table}",
        ):
            add(key, unique_id)
    bare: dict[str, str] = {}
    for unique_id, source in manifest.get("sources", {}).items():
        table = source.get("identifier") or source["name"]
        for key in (
            unique_id,
            f"{source['source_name']}.{source['name']}",
            f"{source.get('schema')}.{table}",
            f"{source.get('database')}.{source.get('schema')}.{table}",
        ):
            add(key, unique_id)
        bare[source["name"].lower()] = unique_id
    for name, unique_id in bare.items():
        names.setdefault(name, {unique_id})
    return names


def _close(word: str, candidates: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(word.lower(), sorted(set(candidates)), n=6)


def _suggest(matches: list[str]) -> str:
    if not matches:
        return "no similar name exists"
    return "did you mean " + ", ".join(matches) + "?"


def resolve(manifest: Manifest, ref: str) -> tuple[str, str | None]:
    """The unique id and column (or None) that ``ref`` names.

    The longest leading part of ``ref`` that names a relation wins; one more
    dotted part after it is a column. Raises :class:`LineageLookupError`
    with close matches when nothing fits or the name is ambiguous.
    """
    names = relation_names(manifest)
    cleaned = ref.strip().strip('"').lower()
    parts = cleaned.split(".")
    for cut in range(len(parts), 0, -1):
        ids = names.get(".".join(parts[:cut]))
        rest = parts[cut:]
        if not ids or len(rest) > 1:
            continue
        if len(ids) > 1:
            msg = (
                f"{ref!r} names more than one relation ({', '.join(sorted(ids))}); "
                "use a unique id or schema.table instead"
            )
            raise LineageLookupError(msg)
        return next(iter(ids)), (rest[0] if rest else None)
    suggestions: list[str] = []
    seen: set[frozenset[str]] = set()
    for key in _close(cleaned, names):
        if frozenset(names[key]) not in seen:
            seen.add(frozenset(names[key]))
            suggestions.append(key)
    msg = (
        f"no model, seed, snapshot or source is called {ref!r}; {_suggest(suggestions)}"
    )
    raise LineageLookupError(msg)


def known_columns(
    manifest: Manifest,
    unique_id: str,
    catalog: Manifest | None = None,
    graph: ColumnGraph | None = None,
) -> set[str]:
    """Column names known for a relation from YAML, catalog and lineage."""
    columns = {c.lower() for c in manifest_node(manifest, unique_id).get("columns", {})}
    if catalog:
        for section in ("nodes", "sources"):
            entry = catalog.get(section, {}).get(unique_id)
            if entry:
                columns.update(c.lower() for c in entry.get("columns", {}))
    if graph:
        for owner, column in graph:
            if owner == unique_id:
                columns.add(column.lower())
        for upstreams in graph.values():
            for upstream in upstreams:
                uid, column, _ = _field(upstream)
                if uid == unique_id and column:
                    columns.add(column.lower())
    return columns


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------


@dataclass
class ImpactNode:
    """One downstream node (a relation, or a column of one) in the tree.

    ``depth`` is the shortest number of hops from the changed object;
    ``parents`` are the nodes it was reached from; ``transformations``
    (column level) describe how each parent column feeds it.
    """

    unique_id: str
    resource_type: str
    name: str
    column: str | None = None
    depth: int = 0
    parents: list[str] = field(default_factory=list)
    transformations: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity in the impact graph: unique id, plus ``.column``."""
        return f"{self.unique_id}.{self.column}" if self.column else self.unique_id

    @property
    def label(self) -> str:
        """``name`` or ``name.column`` with the resource type."""
        name = f"{self.name}.{self.column}" if self.column else self.name
        return f"{name} [{self.resource_type}]"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {
            "key": self.key,
            "unique_id": self.unique_id,
            "resource_type": self.resource_type,
            "name": self.name,
            "depth": self.depth,
            "parents": list(self.parents),
        }
        if self.column is not None:
            data["column"] = self.column
        if self.transformations:
            data["transformations"] = {
                k: list(v) for k, v in self.transformations.items()
            }
        return data


@dataclass
class Impact:
    """Everything downstream of one relation or column.

    ``nodes`` maps node keys to :class:`ImpactNode` (the root included, at
    depth 0); ``children`` maps each key to the keys it feeds directly.
    """

    ref: str
    level: str
    root: str
    nodes: dict[str, ImpactNode]
    children: dict[str, list[str]]

    def downstream_nodes(self) -> list[ImpactNode]:
        """Every affected node except the root, nearest first."""
        found = [n for k, n in self.nodes.items() if k != self.root]
        return sorted(found, key=lambda n: (n.depth, n.key))

    def unique_ids(self, kind: str | None = None) -> set[str]:
        """Unique ids of affected nodes, optionally of one resource type."""
        return {
            n.unique_id
            for n in self.downstream_nodes()
            if kind is None or n.resource_type == kind
        }

    def columns(self) -> set[tuple[str, str]]:
        """(unique id, column) pairs affected at column level."""
        return {
            (n.unique_id, n.column)
            for n in self.downstream_nodes()
            if n.column is not None
        }

    def summary(self) -> dict[str, int]:
        """How many affected nodes of each resource type."""
        counts: dict[str, int] = {}
        for node in self.downstream_nodes():
            counts[node.resource_type] = counts.get(node.resource_type, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: root, summary, nodes and edges."""
        return {
            "ref": self.ref,
            "level": self.level,
            "root": self.nodes[self.root].to_dict(),
            "summary": self.summary(),
            "nodes": [n.to_dict() for n in self.downstream_nodes()],
            "edges": [
                {"from": parent, "to": child}
                for parent in sorted(self.children)
                for child in self.children[parent]
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def to_text(self) -> str:
        """A tree, one node a line; a node met again is shown once, marked."""
        root = self.nodes[self.root]
        lines = [root.label]
        shown: set[str] = {self.root}

        def walk(key: str, prefix: str) -> None:
            kids = self.children.get(key, [])
            for index, child in enumerate(kids):
                last = index == len(kids) - 1
                node = self.nodes[child]
                how = ""
                if node.transformations.get(key):
                    how = f" ({', '.join(node.transformations[key])})"
                again = " (see above)" if child in shown else ""
                branch = "`-- " if last else "|-- "
                lines.append(f"{prefix}{branch}{node.label}{how}{again}")
                if not again:
                    shown.add(child)
                    walk(child, prefix + ("    " if last else "|   "))

        walk(self.root, "")
        counts = ", ".join(f"{n} {kind}" for kind, n in self.summary().items())
        lines.append(f"{len(self.nodes) - 1} downstream: {counts or 'nothing'}")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# Walking the graph
# --------------------------------------------------------------------------


def _field(upstream: Any) -> tuple[str, str, Any]:
    if isinstance(upstream, Mapping):
        return (
            upstream["unique_id"],
            upstream["column"],
            upstream.get("transformations"),
        )
    if hasattr(upstream, "unique_id"):
        return upstream.unique_id, upstream.column, upstream.transformations
    uid, column, transformations = upstream
    return uid, column, transformations


def _describe(transformations: Any) -> tuple[list[str], bool]:
    """Labels like ``DIRECT/IDENTITY`` and whether any is direct."""
    if not transformations:
        return [], True
    if isinstance(transformations, (str, Mapping)) or hasattr(transformations, "type"):
        transformations = [transformations]
    labels: list[str] = []
    direct = False
    for item in transformations:
        if isinstance(item, str):
            kind, subtype = item, None
        elif isinstance(item, Mapping):
            kind, subtype = item.get("type"), item.get("subtype")
        else:
            kind = getattr(item, "type", None)
            subtype = getattr(item, "subtype", None)
        kind = str(getattr(kind, "value", kind) or "DIRECT").upper()
        subtype = getattr(subtype, "value", subtype)
        labels.append(f"{kind}/{subtype}" if subtype else kind)
        direct = direct or kind == "DIRECT"
    return sorted(set(labels)), direct


def invert_column_graph(
    graph: ColumnGraph, include_indirect: bool = False
) -> dict[tuple[str, str], list[tuple[str, str, list[str]]]]:
    """Turn upstream column lineage into downstream edges.

    Returns {(unique_id, column): [(child_id, child_column, labels)]}.
    Only direct flows are kept unless ``include_indirect``: a join or filter
    key would otherwise reach every table joined on it.
    """
    inverted: dict[tuple[str, str], list[tuple[str, str, list[str]]]] = {}
    for (child_id, child_column), upstreams in graph.items():
        for upstream in upstreams:
            uid, column, transformations = _field(upstream)
            labels, direct = _describe(transformations)
            if not column or (not direct and not include_indirect):
                continue
            inverted.setdefault((uid, column.lower()), []).append(
                (child_id, child_column.lower(), labels)
            )
    for edges in inverted.values():
        edges.sort(key=lambda e: (e[0], e[1]))
    return inverted


def _walk(
    root: ImpactNode,
    next_of: Callable[[ImpactNode], list[tuple[ImpactNode, list[str]]]],
) -> tuple[dict[str, ImpactNode], dict[str, list[str]]]:
    nodes = {root.key: root}
    children: dict[str, list[str]] = {}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for child, labels in next_of(node):
            known = nodes.get(child.key)
            if known is None:
                child.depth = node.depth + 1
                nodes[child.key] = known = child
                queue.append(child)
            if node.key not in known.parents:
                known.parents.append(node.key)
                children.setdefault(node.key, []).append(child.key)
            if labels:
                known.transformations[node.key] = labels
    return nodes, children


def _sort_key(manifest: Manifest, unique_id: str) -> tuple[int, str]:
    kind = resource_type(unique_id)
    rank = TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER)
    return rank, display_name(manifest, unique_id)


def _make(manifest: Manifest, unique_id: str, column: str | None = None) -> ImpactNode:
    return ImpactNode(
        unique_id=unique_id,
        resource_type=resource_type(unique_id),
        name=display_name(manifest, unique_id),
        column=column,
    )


def _column_tests(manifest: Manifest) -> dict[tuple[str, str], list[str]]:
    tests: dict[tuple[str, str], list[str]] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "test":
            continue
        column = node.get("column_name") or (node.get("test_metadata") or {}).get(
            "kwargs", {}
        ).get("column_name")
        attached = node.get("attached_node")
        if not column or not attached:
            continue
        tests.setdefault((attached, str(column).lower()), []).append(unique_id)
    return tests


def _column_graph(
    manifest: Manifest, catalog: Manifest | None, dialect: str | None
) -> ColumnGraph:
    try:
        from governance.lineage.columns import column_graph
    except ImportError as error:
        msg = (
            "column-level impact needs governance.lineage.columns, which is not "
            f"installed here ({error}); ask for relation-level impact instead "
            "(drop the .column part)"
        )
        raise LineageLookupError(msg) from error
    if dialect is None:
        dialect = manifest.get("metadata", {}).get("adapter_type") or "duckdb"
    return column_graph(manifest, catalog, dialect)


def downstream(
    manifest: Manifest | str | Path,
    ref: str,
    *,
    catalog: Manifest | str | Path | None = None,
    dialect: str | None = None,
    columns: ColumnGraph | None = None,
    include_indirect: bool = False,
) -> Impact:
    """Everything downstream of the relation or column ``ref`` names.

    ``manifest`` (and ``catalog``) are parsed artifacts or paths to them.
    For a column, ``columns`` is a ready column graph; without one it is
    computed by :func:`governance.lineage.columns.column_graph` with the
    catalog and ``dialect`` (default: the manifest's adapter). Indirect
    flows (joins, filters, grouping) are followed only with
    ``include_indirect``. Unknown names raise :class:`LineageLookupError`
    with close matches.
    """
    manifest = load_json(manifest)
    catalog_data = load_json(catalog) if catalog is not None else None
    unique_id, column = resolve(manifest, ref)
    child_map = manifest.get("child_map", {})
    if column is None:
        nodes, children = _walk(
            _make(manifest, unique_id),
            lambda node: [
                (_make(manifest, child), [])
                for child in sorted(
                    child_map.get(node.unique_id, []),
                    key=lambda uid: _sort_key(manifest, uid),
                )
            ],
        )
        return Impact(ref, "relation", unique_id, nodes, children)

    graph = (
        columns
        if columns is not None
        else _column_graph(manifest, catalog_data, dialect)
    )
    known = known_columns(manifest, unique_id, catalog_data, graph)
    if column not in known:
        msg = (
            f"{display_name(manifest, unique_id)} has no column {column!r}; "
            f"{_suggest(_close(column, known))}"
        )
        raise LineageLookupError(msg)
    flows = invert_column_graph(graph, include_indirect=include_indirect)
    tests = _column_tests(manifest)
    consumers = {
        uid: sorted(
            (c for c in child_map.get(uid, []) if resource_type(c) in CONSUMER_TYPES),
            key=lambda c: _sort_key(manifest, c),
        )
        for uid in child_map
    }

    def next_of(node: ImpactNode) -> list[tuple[ImpactNode, list[str]]]:
        if node.column is None:
            return []
        found = [
            (_make(manifest, child_id, child_column), labels)
            for child_id, child_column, labels in flows.get(
                (node.unique_id, node.column), []
            )
        ]
        found += [
            (_make(manifest, test), [])
            for test in sorted(tests.get((node.unique_id, node.column), []))
        ]
        found += [
            (_make(manifest, consumer), [])
            for consumer in consumers.get(node.unique_id, [])
        ]
        return found

    nodes, children = _walk(_make(manifest, unique_id, column), next_of)
    log.debug("column %s of %s reaches %s nodes", column, unique_id, len(nodes) - 1)
    return Impact(ref, "column", f"{unique_id}.{column}", nodes, children)
