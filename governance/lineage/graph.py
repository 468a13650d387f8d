"""A picture of the project's lineage as one self-contained HTML file.

:func:`write_graph` lays sources, seeds, models, snapshots and exposures out
left to right in layers (each node one column right of its furthest
upstream), orders each column to keep edges short, and draws the result as
inline SVG: no scripts, no fonts or styles from the internet. Nodes are
coloured by layer (source, staging, intermediate, marts...), nodes holding
personal data (column ``meta`` ``contains_pii`` or ``pii_type``) carry a red
outline and a ``PII`` badge, and hovering a node lists its PII columns.
Tests are left out of the picture; each node's tooltip counts them.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.lineage.impact import (
    LineageLookupError,
    Manifest,
    display_name,
    load_json,
    resolve,
    resource_type,
)

log = logging.getLogger(__name__)

#: Resource types drawn as nodes.
DRAWN_TYPES = ("source", "seed", "snapshot", "model", "exposure")

#: Fill colour of each layer, in legend order.
LAYER_COLOURS: dict[str, str] = {
    "source": "#9ecae1",
    "seed": "#c6dbef",
    "staging": "#a1d99b",
    "intermediate": "#fdd0a2",
    "marts": "#fdae6b",
    "snapshot": "#dadaeb",
    "other model": "#d9d9d9",
    "exposure": "#bcbddc",
}
PII_COLOUR = "#d62728"
FOCUS_COLOUR = "#08306b"

NODE_WIDTH = 250
NODE_HEIGHT = 26
ROW_GAP = 10
COLUMN_GAP = 120
MARGIN = 30
TITLE_HEIGHT = 60
LEGEND_WIDTH = 190
CHARS_PER_LABEL = 34


@dataclass
class GraphNode:
    """One box in the picture."""

    unique_id: str
    label: str
    layer: str
    pii_columns: list[str] = field(default_factory=list)
    tests: int = 0
    rank: int = 0
    row: int = 0

    @property
    def has_pii(self) -> bool:
        """Whether any column of the node is marked as personal data."""
        return bool(self.pii_columns)


@dataclass
class LineageGraph:
    """Nodes and edges chosen for drawing, with their layout."""

    title: str
    nodes: dict[str, GraphNode]
    edges: list[tuple[str, str]]
    focus: str | None = None

    def columns(self) -> list[list[GraphNode]]:
        """Nodes grouped by layout column, each in drawing order."""
        ranks = max((n.rank for n in self.nodes.values()), default=-1) + 1
        grouped: list[list[GraphNode]] = [[] for _ in range(ranks)]
        for node in self.nodes.values():
            grouped[node.rank].append(node)
        for column in grouped:
            column.sort(key=lambda n: n.row)
        return grouped


def layer_of(node: Mapping[str, Any]) -> str:
    """The legend layer of a manifest node, source or exposure."""
    kind = node.get("resource_type")
    if kind in ("source", "seed", "snapshot", "exposure"):
        return str(kind)
    fqn = list(node.get("fqn", []))
    folders = fqn[1:-1] + str(node.get("path", "")).split("/")[:-1]
    for layer in ("staging", "intermediate", "marts"):
        if layer in folders:
            return layer
    return "other model"


def pii_columns(node: Mapping[str, Any]) -> list[str]:
    """Columns whose ``meta`` marks personal data, with their pii_type."""
    found = []
    for name, column in (node.get("columns") or {}).items():
        meta = column.get("meta") or {}
        if meta.get("contains_pii") is True or meta.get("pii_type"):
            detail = [
                str(meta[k]) for k in ("pii_type", "masking_policy") if meta.get(k)
            ]
            found.append(f"{name} ({', '.join(detail)})" if detail else name)
    return sorted(found)


def _entries(manifest: Manifest) -> dict[str, Mapping[str, Any]]:
    entries: dict[str, Mapping[str, Any]] = {}
    for section in ("nodes", "sources", "exposures"):
        for unique_id, entry in manifest.get(section, {}).items():
            if resource_type(unique_id) in DRAWN_TYPES:
                entries[unique_id] = entry
    return entries


def _neighbourhood(
    manifest: Manifest, focus: str, depth: int | None, drawn: set[str]
) -> set[str]:
    keep = {focus}
    for links in (manifest.get("parent_map", {}), manifest.get("child_map", {})):
        frontier = {focus}
        steps = 0
        while frontier and (depth is None or steps < depth):
            steps += 1
            reached = {
                other
                for uid in frontier
                for other in links.get(uid, [])
                if other in drawn and other not in keep
            }
            keep |= reached
            frontier = reached
    return keep


def build_graph(
    manifest: Manifest | str | Path,
    around: str | None = None,
    depth: int | None = None,
) -> LineageGraph:
    """Choose and lay out the nodes to draw.

    With ``around`` (any reference :func:`governance.lineage.impact.resolve`
    accepts; a ``.column`` part is ignored), only that relation and what lies
    up to ``depth`` hops upstream and downstream of it (all of it when
    ``depth`` is None). Raises :class:`LineageLookupError` for unknown names
    and a negative depth.
    """
    manifest = load_json(manifest)
    if depth is not None and depth < 0:
        msg = f"depth must be 0 or more (or None for no limit), got {depth}"
        raise LineageLookupError(msg)
    entries = _entries(manifest)
    keep = set(entries)
    focus = None
    project = manifest.get("metadata", {}).get("project_name") or "dbt project"
    title = f"Lineage of {project}"
    if around is not None:
        focus, _ = resolve(manifest, around)
        keep = _neighbourhood(manifest, focus, depth, set(entries))
        limit = "all hops" if depth is None else f"{depth} hop(s)"
        title = f"{title} around {display_name(manifest, focus)} ({limit})"
    tests: dict[str, int] = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") == "test":
            for parent in manifest.get("parent_map", {}).get(unique_id, []):
                tests[parent] = tests.get(parent, 0) + 1
    nodes = {
        uid: GraphNode(
            unique_id=uid,
            label=display_name(manifest, uid),
            layer=layer_of(entries[uid]),
            pii_columns=pii_columns(entries[uid]),
            tests=tests.get(uid, 0),
        )
        for uid in sorted(keep)
    }
    edges = sorted(
        (parent, child)
        for child in nodes
        for parent in manifest.get("parent_map", {}).get(child, [])
        if parent in nodes
    )
    graph = LineageGraph(title=title, nodes=nodes, edges=edges, focus=focus)
    _layout(graph)
    return graph


def _layout(graph: LineageGraph) -> None:
    """Longest-path layers, then a few barycentre sweeps to order rows."""
    parents: dict[str, list[str]] = {uid: [] for uid in graph.nodes}
    children: dict[str, list[str]] = {uid: [] for uid in graph.nodes}
    for parent, child in graph.edges:
        parents[child].append(parent)
        children[parent].append(child)
    rank: dict[str, int] = {}
    visiting: set[str] = set()

    def rank_of(uid: str) -> int:
        if uid in rank:
            return rank[uid]
        if uid in visiting:  # a cycle cannot happen in dbt; stay safe
            return 0
        visiting.add(uid)
        rank[uid] = 1 + max((rank_of(p) for p in parents[uid]), default=-1)
        visiting.discard(uid)
        return rank[uid]

    for uid in graph.nodes:
        graph.nodes[uid].rank = rank_of(uid)
    columns: dict[int, list[str]] = {}
    for uid in sorted(graph.nodes, key=lambda u: (graph.nodes[u].label, u)):
        columns.setdefault(rank[uid], []).append(uid)
    position = {uid: float(i) for col in columns.values() for i, uid in enumerate(col)}

    def sweep(neighbours: dict[str, list[str]], order: list[int]) -> None:
        for r in order:
            col = columns[r]
            centre = {}
            for index, uid in enumerate(col):
                linked = [position[n] for n in neighbours[uid]]
                centre[uid] = sum(linked) / len(linked) if linked else float(index)
            col.sort(key=lambda u: (centre[u], graph.nodes[u].label))
            for index, uid in enumerate(col):
                position[uid] = float(index)

    ranks = sorted(columns)
    for _ in range(4):
        sweep(parents, ranks[1:])
        sweep(children, list(reversed(ranks[:-1])))
    for col in columns.values():
        for index, uid in enumerate(col):
            graph.nodes[uid].row = index


def _short(label: str) -> str:
    if len(label) <= CHARS_PER_LABEL:
        return label
    return label[: CHARS_PER_LABEL - 1] + "\u2026"


def render_svg(graph: LineageGraph) -> str:
    """The graph as an SVG element (a string), legend and title included."""
    columns = graph.columns()
    tallest = max((len(c) for c in columns), default=0)
    column_height = [len(c) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP for c in columns]
    body_height = max(tallest * (NODE_HEIGHT + ROW_GAP), (len(LAYER_COLOURS) + 3) * 22)
    width = (
        MARGIN * 2
        + len(columns) * NODE_WIDTH
        + max(len(columns) - 1, 0) * COLUMN_GAP
        + LEGEND_WIDTH
    )
    height = TITLE_HEIGHT + body_height + MARGIN * 2
    where: dict[str, tuple[float, float]] = {}
    for index, column in enumerate(columns):
        x = MARGIN + index * (NODE_WIDTH + COLUMN_GAP)
        top = TITLE_HEIGHT + MARGIN + (body_height - column_height[index]) / 2
        for node in column:
            where[node.unique_id] = (x, top + node.row * (NODE_HEIGHT + ROW_GAP))
    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12" role="img">',
        f"<title>{esc(graph.title)}</title>",
        f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="20" '
        f'font-weight="bold">{esc(graph.title)}</text>',
        f'<text x="{MARGIN}" y="{MARGIN + 28}" fill="#555">'
        f"{len(graph.nodes)} nodes, {len(graph.edges)} edges; data flows left "
        "to right</text>",
        '<g class="edges" fill="none" stroke="#999" stroke-opacity="0.6">',
    ]
    for parent, child in graph.edges:
        x1, y1 = where[parent]
        x2, y2 = where[child]
        x1 += NODE_WIDTH
        y1 += NODE_HEIGHT / 2
        y2 += NODE_HEIGHT / 2
        bend = max((x2 - x1) / 2, 20)
        parts.append(
            f'<path class="edge" data-from="{esc(parent)}" data-to="{esc(child)}" '
            f'd="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} '
            f'{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"/>'
        )
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for node in graph.nodes.values():
        x, y = where[node.unique_id]
        tip = [node.unique_id, f"layer: {node.layer}", f"tests: {node.tests}"]
        if node.has_pii:
            tip.append("PII columns: " + ", ".join(node.pii_columns))
        stroke, stroke_width = "#555", 1
        if node.has_pii:
            stroke, stroke_width = PII_COLOUR, 2.5
        if node.unique_id == graph.focus:
            stroke, stroke_width = FOCUS_COLOUR, 4
        classes = "node pii" if node.has_pii else "node"
        if node.unique_id == graph.focus:
            classes += " focus"
        parts.append(
            f'<g class="{classes}" data-id="{esc(node.unique_id)}" '
            f'data-layer="{esc(node.layer)}">'
            f"<title>{esc(chr(10).join(tip))}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_WIDTH}" '
            f'height="{NODE_HEIGHT}" rx="5" fill="{LAYER_COLOURS[node.layer]}" '
            f'stroke="{stroke}" stroke-width="{stroke_width}"/>'
            f'<text x="{x + 8:.1f}" y="{y + 17:.1f}">{esc(_short(node.label))}</text>'
        )
        if node.has_pii:
            parts.append(
                f'<rect x="{x + NODE_WIDTH - 34:.1f}" y="{y + 5:.1f}" width="28" '
                f'height="16" rx="3" fill="{PII_COLOUR}"/>'
                f'<text x="{x + NODE_WIDTH - 20:.1f}" y="{y + 17:.1f}" fill="#fff" '
                'font-size="10" font-weight="bold" text-anchor="middle">PII</text>'
            )
        parts.append("</g>")
    parts.append("</g>")
    parts.append(_legend(width - LEGEND_WIDTH + 10, TITLE_HEIGHT + MARGIN))
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(x: float, y: float) -> str:
    rows = [
        '<g class="legend">',
        f'<text x="{x}" y="{y}" font-weight="bold">Legend</text>',
    ]
    line = y + 12
    for layer, colour in LAYER_COLOURS.items():
        rows.append(
            f'<rect x="{x}" y="{line}" width="18" height="14" rx="3" '
            f'fill="{colour}" stroke="#555"/>'
            f'<text x="{x + 26}" y="{line + 11}">{html.escape(layer)}</text>'
        )
        line += 22
    rows.append(
        f'<rect x="{x}" y="{line}" width="18" height="14" rx="3" fill="#fff" '
        f'stroke="{PII_COLOUR}" stroke-width="2.5"/>'
        f'<text x="{x + 26}" y="{line + 11}">holds PII columns</text>'
    )
    line += 22
    rows.append(
        f'<rect x="{x}" y="{line}" width="18" height="14" rx="3" fill="#fff" '
        f'stroke="{FOCUS_COLOUR}" stroke-width="4"/>'
        f'<text x="{x + 26}" y="{line + 11}">focus of the view</text>'
    )
    rows.append("</g>")
    return "".join(rows)


def render_html(graph: LineageGraph) -> str:
    """A complete HTML page holding the SVG; it loads nothing from outside."""
    title = html.escape(graph.title)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        "<style>body{margin:0;background:#fff;color:#222;"
        "font-family:Helvetica,Arial,sans-serif}"
        ".node:hover rect{filter:brightness(0.9)}</style>\n"
        "</head>\n<body>\n"
        f"{render_svg(graph)}\n"
        "</body>\n</html>\n"
    )


def write_graph(
    manifest: Manifest | str | Path,
    around: str | None,
    path: Path,
    depth: int | None = None,
) -> LineageGraph:
    """Write the lineage picture to ``path`` (HTML) and return the graph.

    ``around`` narrows the picture to one relation's neighbourhood, up to
    ``depth`` hops each way; None draws the whole project. Folders on the
    way to ``path`` are created.
    """
    graph = build_graph(manifest, around, depth)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(graph), encoding="utf-8")
    log.info(
        "wrote the lineage graph (%s nodes, %s edges) to %s",
        len(graph.nodes),
        len(graph.edges),
        path,
    )
    return graph
