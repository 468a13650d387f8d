"""Column-level lineage for dbt nodes, read from their compiled SQL with sqlglot.

Each model's ``compiled_code`` is parsed, qualified against a schema built
from the catalog (or, without one, from the upstream nodes' manifest
columns and the columns this module resolves for upstream models) and walked
scope by scope, so every output column ends at columns of real relations
(dbt sources, models, seeds, snapshots), never at CTE or subquery aliases.

How a column reaches an output is classified in OpenLineage terms:

- per output column, ``DIRECT`` with subtype ``IDENTITY`` (a bare column
  reference all the way), ``TRANSFORMATION`` (any expression on the way) or
  ``AGGREGATION`` (an aggregate function on the way, windowed sums
  included; ``lag``/``lead``/``first_value`` and other value-picking window
  functions count as transformations);
- per output column, ``INDIRECT`` with subtype ``CONDITIONAL`` (the column
  decides a ``case``/``if`` branch of the expression) or ``WINDOW`` (it
  partitions or orders a window in the expression);
- per dataset, ``INDIRECT`` with subtype ``FILTER`` (``where``, ``having``,
  ``qualify``), ``JOIN`` (join conditions), ``GROUP_BY`` or ``SORT``, from
  every scope of the query: these shape the rows of the whole output, so
  they are returned by :func:`resolve_dataset_lineage` and
  :func:`dataset_graph` (the ``dataset`` list of OpenLineage's column
  lineage facet), not repeated on every column.

A transformation is ``masking`` when the output column's dbt meta has a
``masking_policy``, or when the path calls a function whose name starts with
``hash``, ``md5``, ``sha`` or ``mask``. When a column reaches the output
along several paths, each distinct (subtype, masking) pair is listed, so an
unmasked path is never hidden by a masked one.

When sqlglot cannot tie a column to a relation column, the upstream relation
is still returned, with ``column`` set to ``""`` and no transformations, and
a warning is logged: the relation is known, the column is not guessed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.schema import MappingSchema

from diamond.errors import DiamondError

log = logging.getLogger(__name__)

#: Resource types that hold SQL whose output is a warehouse relation.
DATASET_TYPES = ("model", "snapshot")
#: Resource types that name a relation other nodes can select from.
RELATION_TYPES = ("model", "snapshot", "seed", "source")
#: Prefixes of function names that mask or pseudonymise a value.
MASKING_PREFIXES = ("hash", "md5", "sha", "mask")

IDENTITY, TRANSFORMATION, AGGREGATION = 0, 1, 2
_DIRECT_SUBTYPES = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
_INDIRECT_ORDER = ("JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL")
_INDIRECT_DESCRIPTIONS = {
    "JOIN": "used in a join condition",
    "FILTER": "used to filter rows (where, having or an aggregate filter)",
    "GROUP_BY": "used to group rows",
    "SORT": "used to order rows",
    "WINDOW": "partitions or orders a window function",
    "CONDITIONAL": "decides a case or if branch",
}
#: Window functions that pick one value rather than combine many.
_VALUE_WINDOW_FUNCS = (
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv)
_MAX_DESCRIBED_FUNCS = 6
_CACHE_SIZE = 4


class ColumnLineageError(DiamondError):
    """A node's column lineage cannot be computed from the artifacts given."""


@dataclass(frozen=True)
class UpstreamField:
    """One upstream relation column that feeds a column (or a dataset).

    ``unique_id`` is the manifest unique_id of the source, model, seed or
    snapshot; ``column`` its column name in lowercase, or ``""`` when sqlglot
    could not tell which column; ``transformations`` are OpenLineage
    transformation dicts with keys ``type``, ``subtype``, ``description`` and
    ``masking``.
    """

    unique_id: str
    column: str
    transformations: tuple[dict, ...]


# --------------------------------------------------------------------------
# Origins: where the values of one expression come from


_Key = tuple[str, str]


@dataclass
class _Origins:
    """Relation columns an expression depends on, and how.

    ``direct`` maps a key to {(rank, masking): function names on the path};
    ``indirect`` maps a key to the indirect subtypes it takes part in.
    """

    direct: dict[_Key, dict[tuple[int, bool], tuple[str, ...]]] = field(
        default_factory=dict
    )
    indirect: dict[_Key, set[str]] = field(default_factory=dict)

    def add_direct(
        self, key: _Key, rank: int, masking: bool, funcs: tuple[str, ...]
    ) -> None:
        paths = self.direct.setdefault(key, {})
        known = paths.get((rank, masking), ())
        paths[(rank, masking)] = _union(known, funcs)

    def add_indirect(self, key: _Key, subtypes: Iterable[str]) -> None:
        self.indirect.setdefault(key, set()).update(subtypes)

    def merge(self, other: _Origins) -> None:
        for key, paths in other.direct.items():
            for (rank, masking), funcs in paths.items():
                self.add_direct(key, rank, masking, funcs)
        for key, subtypes in other.indirect.items():
            self.add_indirect(key, subtypes)

    def compose(
        self,
        child: _Origins,
        rank: int,
        masking: bool,
        funcs: tuple[str, ...],
        subtype: str | None,
    ) -> None:
        """Add ``child`` seen through one step of this scope.

        A direct step keeps the child's direct paths direct, at the stronger
        of the two ranks; an indirect step (``subtype``) turns all of them
        into that indirect subtype.
        """
        for key, paths in child.direct.items():
            for (child_rank, child_masking), child_funcs in paths.items():
                if subtype is None:
                    self.add_direct(
                        key,
                        max(rank, child_rank),
                        masking or child_masking,
                        _union(funcs, child_funcs),
                    )
                else:
                    self.add_indirect(key, (subtype,))
        for key, subtypes in child.indirect.items():
            self.add_indirect(key, subtypes)
            if subtype is not None:
                self.add_indirect(key, (subtype,))


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    if not second:
        return first
    return first + tuple(name for name in second if name not in first)


def _func_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _is_masking(name: str) -> bool:
    return name.startswith(MASKING_PREFIXES)


def _describe_direct(rank: int, funcs: tuple[str, ...]) -> str:
    if rank == IDENTITY:
        return "copied unchanged"
    shown = ", ".join(funcs[:_MAX_DESCRIBED_FUNCS])
    if len(funcs) > _MAX_DESCRIBED_FUNCS:
        shown += ", ..."
    verb = "aggregated" if rank == AGGREGATION else "computed"
    return f"{verb} with {shown}" if shown else f"{verb} in an expression"


def _describe_path(rank: int, steps: tuple[str, ...]) -> str:
    if rank == IDENTITY or not steps:
        return _describe_direct(rank, ())
    return "; then ".join(reversed(steps))


def _to_fields(
    origins: _Origins,
    force_masking: bool = False,
    describe: Callable[[int, tuple[str, ...]], str] = _describe_direct,
) -> list[UpstreamField]:
    keys = sorted(set(origins.direct) | set(origins.indirect))
    fields = []
    for key in keys:
        transformations: list[dict] = []
        for (rank, masking), funcs in sorted(origins.direct.get(key, {}).items()):
            transformations.append(
                {
                    "type": "DIRECT",
                    "subtype": _DIRECT_SUBTYPES[rank],
                    "description": describe(rank, funcs),
                    "masking": masking or force_masking,
                }
            )
        for subtype in sorted(origins.indirect.get(key, ()), key=_INDIRECT_ORDER.index):
            transformations.append(
                {
                    "type": "INDIRECT",
                    "subtype": subtype,
                    "description": _INDIRECT_DESCRIPTIONS[subtype],
                    "masking": False,
                }
            )
        if not key[1]:
            transformations = []
        fields.append(UpstreamField(key[0], key[1], tuple(transformations)))
    return fields


# --------------------------------------------------------------------------
# One query


class _QueryWalker:
    """Resolves the columns of one qualified query to relation columns."""

    def __init__(self, node_id: str, resolve_table: Any) -> None:
        self.node_id = node_id
        self.resolve_table = resolve_table
        self._column_memo: dict[tuple[int, str], _Origins] = {}
        self._selects: dict[int, dict[str, exp.Expr]] = {}
        self._unresolved_logged: set[str] = set()

    # -- names ---------------------------------------------------------

    def output_names(self, scope: Scope) -> list[str]:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            return self.output_names(scope.set_operation_scopes[0])
        if isinstance(expression, exp.Select):
            return [select.alias_or_name.lower() for select in expression.selects]
        return []

    # -- column origins ------------------------------------------------

    def column(self, scope: Scope, name: str) -> _Origins:
        memo_key = (id(scope), name)
        found = self._column_memo.get(memo_key)
        if found is None:
            self._column_memo[memo_key] = _Origins()  # breaks reference cycles
            found = self._column(scope, name)
            self._column_memo[memo_key] = found
        return found

    def _column(self, scope: Scope, name: str) -> _Origins:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            names = self.output_names(scope)
            origins = _Origins()
            if name not in names:
                return self._unresolved(scope, name)
            index = names.index(name)
            for branch in scope.set_operation_scopes:
                branch_names = self.output_names(branch)
                if index < len(branch_names):
                    origins.merge(self.column(branch, branch_names[index]))
            return origins
        if isinstance(expression, exp.Select):
            selects = self._selects.get(id(scope))
            if selects is None:
                selects = {}
                for select in expression.selects:
                    selects.setdefault(select.alias_or_name.lower(), select)
                self._selects[id(scope)] = selects
            select = selects.get(name)
            if select is None or select.is_star:
                return self._unresolved(scope, name)
            return self.expression(scope, select.unalias())
        if isinstance(expression, exp.Values):
            return _Origins()  # literal rows: no upstream column
        return self._unresolved(scope, name)

    def expression(
        self, scope: Scope, root: exp.Expr, forced: str | None = None
    ) -> _Origins:
        """Origins of ``root`` evaluated in ``scope``.

        ``forced`` makes every reference indirect with that subtype (for
        where, join, group by and order by clauses).
        """
        origins = _Origins()
        for ref in _references(root):
            rank, masking, funcs, subtype = _context(ref, root)
            if forced is not None:
                subtype = forced
            if isinstance(ref, exp.Column):
                child = self._reference(scope, ref, clause=forced is not None)
            else:
                child = self._subquery(scope, ref)
            origins.compose(child, rank, masking, funcs, subtype)
        return origins

    def _reference(
        self, scope: Scope, column: exp.Column, clause: bool = False
    ) -> _Origins:
        name = column.name.lower()
        table = column.table
        source = _lookup(scope, table) if table else None
        if source is None:
            if clause and not table and name in self.output_names(scope):
                # An order by or having naming an output column by alias.
                return self.column(scope, name)
            return self._unresolved(scope, name)
        if isinstance(source, exp.Table):
            unique_id = self.resolve_table(source)
            origins = _Origins()
            if unique_id is not None:
                origins.add_direct((unique_id, name), IDENTITY, False, ())
            return origins
        return self.column(source, name)

    def _subquery(self, scope: Scope, query: exp.Expr) -> _Origins:
        origins = _Origins()
        target = query.this if isinstance(query, exp.Subquery) else query
        for child in scope.subquery_scopes:
            if child.expression is target or child.expression is query:
                for name in self.output_names(child):
                    origins.merge(self.column(child, name))
                origins.merge(self.dataset_scope(child))
                return origins
        return self._unresolved(scope, "<subquery>")

    def _unresolved(self, scope: Scope, name: str) -> _Origins:
        origins = _Origins()
        tables = sorted(set(self._physical(scope)))
        for unique_id in tables:
            origins.add_direct((unique_id, ""), TRANSFORMATION, False, ())
        if name not in self._unresolved_logged:
            self._unresolved_logged.add(name)
            log.warning(
                "column lineage of %s: cannot resolve column %r; reporting its "
                "relations %s without a column",
                self.node_id,
                name,
                ", ".join(tables) or "(none)",
            )
        return origins

    def _physical(self, scope: Scope) -> Iterator[str]:
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                unique_id = self.resolve_table(source)
                if unique_id is not None:
                    yield unique_id
            else:
                yield from self._physical(source)
        for branch in scope.set_operation_scopes:
            yield from self._physical(branch)

    # -- dataset-level indirect lineage --------------------------------

    def dataset_scope(self, scope: Scope) -> _Origins:
        """FILTER, JOIN, GROUP_BY and SORT references of one scope."""
        origins = _Origins()
        expression = scope.expression
        clauses: list[tuple[exp.Expr | None, str]] = [
            (expression.args.get("where"), "FILTER"),
            (expression.args.get("having"), "FILTER"),
            (expression.args.get("qualify"), "FILTER"),
            (expression.args.get("group"), "GROUP_BY"),
            (expression.args.get("order"), "SORT"),
        ]
        for join in expression.args.get("joins") or []:
            clauses.append((join.args.get("on"), "JOIN"))
            for using in join.args.get("using") or []:
                clauses.append((using, "JOIN"))
        for clause, subtype in clauses:
            if clause is None:
                continue
            if isinstance(expression, exp.SetOperation) and subtype == "SORT":
                # An order by on a set operation names its output columns.
                for ordered in clause.find_all(exp.Column):
                    origins.compose(
                        self.column(scope, ordered.name.lower()),
                        IDENTITY,
                        False,
                        (),
                        subtype,
                    )
                continue
            origins.merge(self.expression(scope, clause, forced=subtype))
        return origins

    def dataset(self, root: Scope) -> _Origins:
        origins = _Origins()
        for scope in root.traverse():
            if scope.is_subquery:
                continue  # reached through the clause or column using it
            if isinstance(scope.expression, (exp.Select, exp.SetOperation)):
                origins.merge(self.dataset_scope(scope))
        # Every clause reference is forced indirect, so nothing is direct.
        origins.direct = {}
        return origins


def _references(root: exp.Expr) -> Iterator[exp.Expr]:
    """Column references and subqueries of ``root`` in its own scope."""
    if isinstance(root, exp.Column):
        yield root
        return
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.iter_expressions():
            if isinstance(child, (exp.Column, exp.Query)):
                yield child
            else:
                stack.append(child)


def _context(
    ref: exp.Expr, root: exp.Expr
) -> tuple[int, bool, tuple[str, ...], str | None]:
    """How ``ref`` reaches ``root``: rank, masking, functions, indirect subtype."""
    aggregated = False
    transformed = isinstance(ref, exp.Query)
    masking = False
    funcs: list[str] = []
    subtype: str | None = None
    node = ref
    while node is not root and node.parent is not None:
        parent = node.parent
        key = node.arg_key
        if subtype is None:
            if isinstance(parent, (exp.If, exp.Case)) and key == "this":
                subtype = "CONDITIONAL"
            elif isinstance(parent, exp.Window) and key in ("partition_by", "order"):
                subtype = "WINDOW"
            elif isinstance(parent, exp.Where) or (
                isinstance(parent, exp.Filter) and key == "expression"
            ):
                subtype = "FILTER"
        if not isinstance(parent, exp.Paren):
            transformed = True
        if isinstance(parent, exp.Func):
            name = _func_name(parent)
            if isinstance(parent, exp.If) and isinstance(parent.parent, exp.Case):
                pass  # a branch of the case named next
            elif name not in funcs:
                funcs.append(name)
            masking = masking or _is_masking(name)
            if isinstance(parent, exp.AggFunc) and not isinstance(
                parent, _VALUE_WINDOW_FUNCS
            ):
                aggregated = True
        elif isinstance(parent, _ARITHMETIC) and "arithmetic" not in funcs:
            funcs.append("arithmetic")
        node = parent
    if aggregated:
        rank = AGGREGATION
    elif transformed:
        rank = TRANSFORMATION
    else:
        rank = IDENTITY
    return rank, masking, tuple(funcs), subtype


def _lookup(scope: Scope | None, name: str) -> exp.Table | Scope | None:
    while scope is not None:
        source = scope.sources.get(name)
        if source is not None:
            return source
        scope = scope.parent
    return None


# --------------------------------------------------------------------------
# The project


def _relation_parts(node: Mapping[str, Any]) -> tuple[str, str, str]:
    name = node.get("identifier") or node.get("alias") or node.get("name") or ""
    return (
        str(node.get("database") or "").lower(),
        str(node.get("schema") or "").lower(),
        str(name).lower(),
    )


def _column_meta(node: Mapping[str, Any], column: str) -> dict:
    for name, spec in (node.get("columns") or {}).items():
        if name.lower() == column:
            meta = dict((spec.get("config") or {}).get("meta") or {})
            meta.update(spec.get("meta") or {})
            return meta
    return {}


@dataclass
class _NodeLineage:
    columns: dict[str, list[UpstreamField]]
    dataset: list[UpstreamField]


class _Project:
    """Column lineage of every node of one manifest, computed on demand."""

    def __init__(self, manifest: dict, catalog: dict | None, dialect: str) -> None:
        try:
            self.dialect = sqlglot.Dialect.get_or_raise(dialect)
        except (ValueError, SqlglotError) as error:
            msg = (
                f"unknown SQL dialect {dialect!r} for column lineage; use a "
                "sqlglot dialect such as 'duckdb', 'postgres' or 'athena'"
            )
            raise ColumnLineageError(msg) from error
        self.dialect_name = dialect
        self.manifest = manifest
        self.catalog = catalog
        self.nodes: dict[str, dict] = {}
        for group in ("nodes", "sources"):
            self.nodes.update(manifest.get(group) or {})
        self.relations: dict[tuple[str, str, str], str] = {}
        two_part: dict[tuple[str, str], list[str]] = {}
        for unique_id, node in self.nodes.items():
            if node.get("resource_type") not in RELATION_TYPES:
                continue
            parts = _relation_parts(node)
            self.relations[parts] = unique_id
            two_part.setdefault(parts[1:], []).append(unique_id)
        self.relations_by_schema = {
            parts: ids[0] for parts, ids in two_part.items() if len(ids) == 1
        }
        catalogued: dict[str, dict] = {}
        if catalog:
            for group in ("nodes", "sources"):
                catalogued.update(catalog.get(group) or {})
        self.catalogued = catalogued
        self._columns: dict[str, dict[str, str]] = {}
        self._lineage: dict[str, _NodeLineage] = {}
        self._in_progress: set[str] = set()
        self._unknown_relations: set[tuple[str, str, str]] = set()

    # -- relations -----------------------------------------------------

    def resolve_table(self, table: exp.Table) -> str | None:
        parts = (table.catalog.lower(), table.db.lower(), table.name.lower())
        unique_id = self.relations.get(parts)
        if unique_id is None and not parts[0]:
            unique_id = self.relations_by_schema.get(parts[1:])
        if unique_id is None and parts not in self._unknown_relations:
            self._unknown_relations.add(parts)
            log.warning(
                "column lineage: relation %s is not a source, model, seed or "
                "snapshot of the manifest; its columns are left out (use "
                "source() or ref() for it)",
                ".".join(part for part in parts if part),
            )
        return unique_id

    def relation_columns(self, unique_id: str) -> dict[str, str]:
        """Column name -> type of a relation, in the relation's column order."""
        known = self._columns.get(unique_id)
        if known is not None:
            return known
        columns: dict[str, str] = {}
        entry = self.catalogued.get(unique_id)
        if entry and entry.get("columns"):
            ordered = sorted(
                entry["columns"].values(), key=lambda c: c.get("index") or 0
            )
            columns = {
                str(c["name"]).lower(): str(c.get("type") or "unknown") for c in ordered
            }
        else:
            node = self.nodes.get(unique_id) or {}
            if node.get("compiled_code") and unique_id not in self._in_progress:
                columns = {name: "unknown" for name in self.lineage(unique_id).columns}
            if not columns:
                columns = {
                    str(name).lower(): str(spec.get("data_type") or "unknown")
                    for name, spec in (node.get("columns") or {}).items()
                }
        self._columns[unique_id] = columns
        return columns

    def schema_for(self, node: Mapping[str, Any]) -> MappingSchema:
        mapping: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        for upstream in (node.get("depends_on") or {}).get("nodes") or []:
            upstream_node = self.nodes.get(upstream)
            if not upstream_node or upstream_node.get("resource_type") not in (
                RELATION_TYPES
            ):
                continue
            columns = self.relation_columns(upstream)
            if not columns:
                log.warning(
                    "column lineage: no columns known for %s (run `diamond docs` "
                    "for a catalog, or document its columns)",
                    upstream,
                )
                continue
            database, schema, name = _relation_parts(upstream_node)
            mapping.setdefault(database, {}).setdefault(schema, {})[name] = columns
        return MappingSchema(mapping, dialect=self.dialect, normalize=False)

    # -- lineage -------------------------------------------------------

    def lineage(self, node_id: str) -> _NodeLineage:
        found = self._lineage.get(node_id)
        if found is not None:
            return found
        node = self.nodes.get(node_id)
        if node is None:
            msg = (
                f"{node_id!r} is not a node of the manifest; pass a unique_id "
                "such as 'model.diamond.dim_players'"
            )
            raise ColumnLineageError(msg)
        if node.get("language") == "python":
            found = self._python(node_id, node)
            self._lineage[node_id] = found
            return found
        sql = node.get("compiled_code")
        if not sql:
            msg = (
                f"{node_id} has no compiled SQL in the manifest; run `dbt "
                "compile` or `diamond run` first so compiled_code is filled in"
            )
            raise ColumnLineageError(msg)
        self._in_progress.add(node_id)
        try:
            found = self._analyse(node_id, node, sql)
        finally:
            self._in_progress.discard(node_id)
        self._lineage[node_id] = found
        return found

    def _analyse(self, node_id: str, node: Mapping[str, Any], sql: str) -> _NodeLineage:
        schema = self.schema_for(node)
        try:
            parsed = sqlglot.parse_one(sql, dialect=self.dialect)
            qualified = qualify(
                parsed,
                dialect=self.dialect,
                schema=schema,
                validate_qualify_columns=False,
                quote_identifiers=False,
                identify=False,
            )
            root = build_scope(qualified)
        except SqlglotError as error:
            return self._fallback(node_id, node, sql, error)
        if root is None:
            return self._fallback(node_id, node, sql, "no query found")
        walker = _QueryWalker(node_id, self.resolve_table)
        columns: dict[str, list[UpstreamField]] = {}
        for name in walker.output_names(root):
            masked = bool(_column_meta(node, name).get("masking_policy"))
            columns[name] = _to_fields(walker.column(root, name), masked)
        dataset = _to_fields(walker.dataset(root))
        return _NodeLineage(columns, dataset)

    def _python(self, node_id: str, node: Mapping[str, Any]) -> _NodeLineage:
        """A dbt Python model's columns, with no column-level upstream.

        Python code cannot be traced column by column the way SQL can; the
        model's inputs still appear at dataset level, from its refs. Its
        columns come from the catalog, else from its YAML.
        """
        entry = self.catalogued.get(node_id)
        if entry and entry.get("columns"):
            ordered = sorted(
                entry["columns"].values(), key=lambda c: c.get("index") or 0
            )
            names = [str(c["name"]).lower() for c in ordered]
        else:
            names = [str(name).lower() for name in node.get("columns") or {}]
        return _NodeLineage({name: [] for name in names}, [])

    def _fallback(
        self, node_id: str, node: Mapping[str, Any], sql: str, error: object
    ) -> _NodeLineage:
        """Relation-only lineage for SQL sqlglot cannot parse or qualify."""
        log.warning(
            "column lineage of %s: sqlglot could not analyse its SQL (%s); "
            "reporting upstream relations without columns",
            node_id,
            error,
        )
        upstream = sorted(
            uid
            for uid in (node.get("depends_on") or {}).get("nodes") or []
            if uid.split(".", 1)[0] in RELATION_TYPES
        )
        fields = [UpstreamField(uid, "", ()) for uid in upstream]
        names = [str(name).lower() for name in node.get("columns") or {}]
        try:
            parsed = sqlglot.parse_one(sql, dialect=self.dialect)
            names = [s.alias_or_name.lower() for s in parsed.selects] or names
        except SqlglotError:
            pass
        return _NodeLineage({name: list(fields) for name in names}, [])

    def dataset_ids(self) -> list[str]:
        return sorted(
            uid
            for uid, node in self.nodes.items()
            if node.get("resource_type") in DATASET_TYPES
        )


_PROJECTS: list[tuple[dict, dict | None, str, _Project]] = []
_GRAPHS: dict[int, dict[tuple[str, str], list[UpstreamField]]] = {}


def _project(manifest: dict, catalog: dict | None, dialect: str) -> _Project:
    for known_manifest, known_catalog, known_dialect, project in _PROJECTS:
        if (
            known_manifest is manifest
            and known_catalog is catalog
            and known_dialect == dialect
        ):
            return project
    project = _Project(manifest, catalog, dialect)
    _PROJECTS.append((manifest, catalog, dialect, project))
    if len(_PROJECTS) > _CACHE_SIZE:
        _, _, _, dropped = _PROJECTS.pop(0)
        _GRAPHS.pop(id(dropped), None)
    return project


def clear_cache() -> None:
    """Forget every project analysed so far (after artifacts changed in place)."""
    _PROJECTS.clear()
    _GRAPHS.clear()


# --------------------------------------------------------------------------
# Public API


def resolve_column_lineage(
    manifest: dict,
    node_id: str,
    catalog: dict | None = None,
    dialect: str = "duckdb",
) -> dict[str, list[UpstreamField]]:
    """Upstream relation columns of every output column of ``node_id``.

    ``manifest`` and ``catalog`` are the parsed dbt artifacts (the catalog
    gives exact upstream columns; without it the manifest's documented
    columns are used). ``dialect`` is the sqlglot dialect of the compiled
    SQL: the adapter name, e.g. ``"duckdb"``, ``"postgres"``, ``"athena"``.
    Returns {output column: [UpstreamField]}, each list sorted by unique_id
    and column; dataset-wide filters, joins, grouping and sorting are in
    :func:`resolve_dataset_lineage`. Raises :class:`ColumnLineageError` for
    an unknown node or one without compiled SQL.
    """
    return _project(manifest, catalog, dialect).lineage(node_id).columns


def resolve_dataset_lineage(
    manifest: dict,
    node_id: str,
    catalog: dict | None = None,
    dialect: str = "duckdb",
) -> list[UpstreamField]:
    """Upstream columns that filter, join, group or sort ``node_id``'s rows.

    These are INDIRECT (FILTER, JOIN, GROUP_BY, SORT) lineage of the whole
    output dataset, for the ``dataset`` list of OpenLineage's column lineage
    facet. Same arguments and errors as :func:`resolve_column_lineage`.
    """
    return _project(manifest, catalog, dialect).lineage(node_id).dataset


def column_graph(
    manifest: dict,
    catalog: dict | None = None,
    dialect: str = "duckdb",
) -> dict[tuple[str, str], list[UpstreamField]]:
    """Column lineage of every model and snapshot of the project.

    Returns {(unique_id, column): [UpstreamField]}. Nodes without compiled
    SQL are logged and left out. The result is cached for the same manifest
    and catalog objects and dialect; call :func:`clear_cache` after changing
    them in place.
    """
    project = _project(manifest, catalog, dialect)
    graph = _GRAPHS.get(id(project))
    if graph is not None:
        return graph
    started = time.perf_counter()
    graph = {}
    for unique_id in project.dataset_ids():
        try:
            lineage = project.lineage(unique_id)
        except ColumnLineageError as error:
            log.warning("column lineage skipped: %s", error)
            continue
        for column, upstream in lineage.columns.items():
            graph[(unique_id, column)] = upstream
    _GRAPHS[id(project)] = graph
    log.info(
        "column lineage of %d columns resolved in %.2fs",
        len(graph),
        time.perf_counter() - started,
    )
    return graph


def dataset_graph(
    manifest: dict,
    catalog: dict | None = None,
    dialect: str = "duckdb",
) -> dict[str, list[UpstreamField]]:
    """Dataset-level indirect lineage of every model and snapshot.

    Returns {unique_id: [UpstreamField]} as :func:`resolve_dataset_lineage`
    gives for each node; nodes without compiled SQL are left out.
    """
    project = _project(manifest, catalog, dialect)
    found: dict[str, list[UpstreamField]] = {}
    for unique_id in project.dataset_ids():
        try:
            found[unique_id] = project.lineage(unique_id).dataset
        except ColumnLineageError as error:
            log.warning("dataset lineage skipped: %s", error)
    return found


def trace_to_sources(
    graph: Mapping[tuple[str, str], list[UpstreamField]],
    unique_id: str,
    column: str,
    include_indirect: bool = False,
) -> list[UpstreamField]:
    """Follow a column of ``graph`` down to relations that have no lineage.

    Walks :func:`column_graph` edges from ``(unique_id, column)`` until it
    reaches columns the graph does not describe (dbt sources, seeds).
    Direct subtypes combine to the strongest on the path (AGGREGATION over
    TRANSFORMATION over IDENTITY), masking holds if any step masks, and the
    description lists the steps from the source up; with ``include_indirect``
    indirect steps are followed too and make the whole path indirect with
    the first indirect subtype met.
    """
    origins = _Origins()
    stack: list[tuple[_Key, int, bool, tuple[str, ...], str | None]] = [
        ((unique_id, column.lower()), IDENTITY, False, (), None)
    ]
    seen: set[tuple[_Key, int, bool, str | None]] = set()
    while stack:
        key, rank, masking, steps, subtype = stack.pop()
        marker = (key, rank, masking, subtype)
        if marker in seen:
            continue
        seen.add(marker)
        for upstream in graph.get(key, []):
            upstream_key = (upstream.unique_id, upstream.column)
            for item in upstream.transformations or ({"type": "DIRECT"},):
                direct = item.get("type") == "DIRECT"
                if not direct and not include_indirect:
                    continue
                step_rank = (
                    _DIRECT_SUBTYPES.index(item["subtype"])
                    if direct and item.get("subtype") in _DIRECT_SUBTYPES
                    else IDENTITY
                )
                next_subtype = subtype or (None if direct else item.get("subtype"))
                note = item.get("description") if step_rank != IDENTITY else None
                next_state = (
                    upstream_key,
                    max(rank, step_rank),
                    masking or bool(item.get("masking")),
                    (*steps, note) if note and direct else steps,
                    next_subtype,
                )
                if upstream_key in graph and upstream.column:
                    stack.append(next_state)
                elif next_subtype is None:
                    origins.add_direct(upstream_key, *next_state[1:4])
                else:
                    origins.add_indirect(upstream_key, (next_subtype,))
    return _to_fields(origins, describe=_describe_path)
