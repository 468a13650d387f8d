"""What the assistant knows: the corpus, cut into chunks with stable ids.

The corpus is a list of sources (:data:`DEFAULT_SOURCES`), each turning
something in the project into chunks: the dbt manifest (models, sources,
columns, tests, owners, personal-data tags, neighbours), the data
dictionary inside the Lahman release zip, the rules and statistics guide
under ``rag/guide/``, the project's Markdown and the model cards the ML
step writes. Adding a kind of document means adding a source to that list.

A chunk id is ``<source path>#<section slug>``, so it survives rebuilds and
can be written into a golden set or a citation. Chunks are kept under
about a thousand characters, which is roughly what the embedding model
reads (256 word pieces) before it truncates.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.text import sentences, slugify

log = logging.getLogger(__name__)

MAX_CHARS = 1000
DEFAULT_DOCS_URL = "http://127.0.0.1:8080"
LAHMAN_ATTRIBUTION = (
    "Baseball Databank (Chadwick Baseball Bureau), based on the Lahman Baseball "
    "Database, copyright 1996-2015 Sean Lahman; CC BY-SA 3.0."
)


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of the corpus and where it came from."""

    id: str
    title: str
    source: str
    section: str
    kind: str
    text: str
    link: str | None = None
    attribution: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)

    def embedding_text(self) -> str:
        """What the dense model reads: the title gives a bare section context."""
        return f"{self.title}. {self.section}. {self.text}"


@dataclass(frozen=True)
class CorpusContext:
    """Where the sources read from."""

    project_dir: Path
    target_dir: Path
    docs_url: str = DEFAULT_DOCS_URL


CorpusSource = Callable[[CorpusContext], list[Chunk]]


def docs_url() -> str:
    """Base URL of the generated dbt docs: ``DIAMOND_DOCS_URL`` or local serve."""
    return os.environ.get("DIAMOND_DOCS_URL", DEFAULT_DOCS_URL).rstrip("/")


# --------------------------------------------------------------------------
# Splitting text into chunk-sized parts
# --------------------------------------------------------------------------


_ITEM_START = re.compile(r"\n(?=\s*(?:[-*|]|\d+\.)\s)")


def _split_long(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Parts of ``text`` under ``limit``, cut between paragraphs, then between
    list items or table rows, then between sentences; never inside one."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        for item in _ITEM_START.split(paragraph):
            if len(item) <= limit:
                pieces.append(item)
            else:
                pieces.extend(sentences(item))
    parts: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) + 2 > limit:
            parts.append(current)
            current = piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        parts.append(current)
    return parts


def _section_chunks(
    *,
    source: str,
    title: str,
    section: str,
    kind: str,
    text: str,
    used: set[str],
    slug: str | None = None,
    **extra: Any,
) -> list[Chunk]:
    base = slug or slugify(section)
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    used.add(candidate)
    chunks = []
    for number, part in enumerate(_split_long(text), start=1):
        anchor = candidate if number == 1 else f"{candidate}-part-{number}"
        used.add(anchor)
        chunks.append(
            Chunk(
                id=f"{source}#{anchor}",
                title=title,
                source=source,
                section=section,
                kind=kind,
                text=part,
                **extra,
            )
        )
    return chunks


# --------------------------------------------------------------------------
# Markdown documents
# --------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,4})\s+(.+?)\s*#*\s*$")


def markdown_chunks(text: str, source: str, kind: str) -> list[Chunk]:
    """Chunks of one Markdown document, one per heading (fenced code kept)."""
    doc_title = source
    sections: list[tuple[str, list[str]]] = [("", [])]
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            name = heading.group(2).strip()
            if heading.group(1) == "#" and doc_title == source:
                doc_title = name
            sections.append((name, []))
        else:
            sections[-1][1].append(line)
    used: set[str] = set()
    chunks: list[Chunk] = []
    for name, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        section = name or doc_title
        chunks.extend(
            _section_chunks(
                source=source,
                title=doc_title,
                section=section,
                kind=kind,
                text=body,
                used=used,
            )
        )
    return chunks


def markdown_files(
    patterns: Sequence[str], kind: str, *, base: str = "project"
) -> CorpusSource:
    """A source reading every Markdown file matching ``patterns``.

    ``base`` is ``project`` (patterns relative to the project folder),
    ``target`` (relative to the dbt target folder, for generated documents
    such as model cards) or ``package`` (beside this package, for the guide,
    so it is found wherever the package is installed). Files that do not
    exist yet are simply absent.
    """
    if base not in ("project", "target", "package"):
        msg = f"unknown base {base!r} for Markdown sources: project, target or package"
        raise ValueError(msg)

    def load(context: CorpusContext) -> list[Chunk]:
        root = {
            "project": context.project_dir,
            "target": context.target_dir,
            "package": Path(__file__).resolve().parents[1],
        }[base]
        seen: set[Path] = set()
        chunks: list[Chunk] = []
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                if path in seen or not path.is_file() or ".venv" in path.parts:
                    continue
                seen.add(path)
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    log.warning("skipping %s from the corpus: %s", path, exc)
                    continue
                name = path.relative_to(root).as_posix()
                source = f"target/{name}" if base == "target" else name
                chunks.extend(markdown_chunks(text, source, kind))
        return chunks

    load.__name__ = f"markdown_{kind}"
    return load


# --------------------------------------------------------------------------
# The dbt manifest
# --------------------------------------------------------------------------

_DOCUMENTED = ("model", "seed", "snapshot", "analysis")
_PERSONAL_KEYS = (
    "contains_pii",
    "contains_phi",
    "pii_type",
    "masking_policy",
    "masking_reason",
)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _owner(manifest: dict[str, Any], node: dict[str, Any]) -> str | None:
    group = node.get("group") or (node.get("config") or {}).get("group")
    if not group:
        return None
    for entry in (manifest.get("groups") or {}).values():
        if entry.get("name") == group:
            owner = entry.get("owner") or {}
            who = owner.get("name") or group
            email = f" <{owner['email']}>" if owner.get("email") else ""
            return f"the {group} group ({who}{email})"
    return f"the {group} group"


def _neighbour_names(manifest: dict[str, Any], ids: Iterable[str]) -> list[str]:
    names = []
    for uid in ids:
        kind = uid.split(".", 1)[0]
        if kind in ("test", "unit_test", "operation"):
            continue
        node = (
            manifest["nodes"].get(uid)
            or manifest.get("sources", {}).get(uid)
            or manifest.get("exposures", {}).get(uid)
        )
        if node is None:
            continue
        if kind == "source":
            names.append(f"source {node['source_name']}.{node['name']}")
        else:
            names.append(f"{kind} {node['name']}")
    return sorted(set(names))


def _tests_by_node(manifest: dict[str, Any]) -> dict[str, list[str]]:
    tests: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "test":
            continue
        meta = node.get("test_metadata") or {}
        name = meta.get("name") or node.get("name", "test")
        column = node.get("column_name") or (meta.get("kwargs") or {}).get(
            "column_name"
        )
        label = f"{name} on {column}" if column else name
        if meta.get("name") == "relationships":
            to = (meta.get("kwargs") or {}).get("to", "")
            target = re.search(r"ref\('([^']+)'\)|source\('[^']+', '([^']+)'\)", to)
            if target:
                label += f" (refers to {target.group(1) or target.group(2)})"
        description = _one_line(node.get("description"))
        if description:
            label += f": {description}"
        attached = node.get("attached_node")
        owners = [attached] if attached else node.get("depends_on", {}).get("nodes", [])
        for uid in owners:
            tests.setdefault(uid, []).append(label)
    for unit in (manifest.get("unit_tests") or {}).values():
        label = f"unit test {unit.get('name')}"
        description = _one_line(unit.get("description"))
        if description:
            label += f": {description}"
        for uid in unit.get("depends_on", {}).get("nodes", [])[:1]:
            tests.setdefault(uid, []).append(label)
    return tests


def _column_line(column: dict[str, Any]) -> str:
    kind = f" ({column['data_type']})" if column.get("data_type") else ""
    description = _one_line(column.get("description")) or "No description."
    return f"- `{column['name']}`{kind}: {description}"


def _personal_line(column: dict[str, Any]) -> str | None:
    meta = column.get("meta") or (column.get("config") or {}).get("meta") or {}
    if not (meta.get("contains_pii") or meta.get("contains_phi")):
        return None
    what = []
    if meta.get("contains_pii"):
        what.append("personal data (contains_pii)")
    if meta.get("contains_phi"):
        what.append("health information (contains_phi)")
    line = f"- `{column['name']}` holds {' and '.join(what)}"
    if meta.get("pii_type"):
        line += f", pii_type {meta['pii_type']}"
    if meta.get("masking_policy"):
        line += f", masking policy {meta['masking_policy']}"
    if meta.get("masking_reason"):
        line += f" (reason: {_one_line(meta['masking_reason'])})"
    return line + "."


def _node_chunks(
    manifest: dict[str, Any],
    node: dict[str, Any],
    tests: list[str],
    context: CorpusContext,
) -> list[Chunk]:
    uid = node["unique_id"]
    kind = node["resource_type"]
    if kind == "source":
        name = f"{node['source_name']}.{node['name']}"
        title = f"dbt source {name}"
        slug = slugify(name)
    else:
        name = node["name"]
        title = f"dbt {kind} {name}"
        slug = slugify(name)
    source = node.get("original_file_path") or node.get("path") or uid
    link = f"{context.docs_url}/#!/{kind}/{uid}"
    used: set[str] = set()
    common = {"link": link, "meta": {"unique_id": uid, "resource_type": kind}}
    config = node.get("config") or {}

    facts = [f"{title[4:].capitalize()} lives in {source}."]
    description = (
        node.get("description") or node.get("source_description") or ""
    ).strip()
    facts.append(description or "It has no description yet.")
    if kind == "source":
        facts.append(
            f"It is the raw table {node.get('schema')}.{node.get('identifier')}"
            f", loaded by {node.get('loader') or 'diamond ingest'}."
        )
    else:
        shape = [f"schema {node.get('schema')}"]
        if config.get("materialized"):
            shape.append(f"materialized as a {config['materialized']}")
        if node.get("access"):
            shape.append(f"access {node['access']}")
        if (config.get("contract") or {}).get("enforced"):
            shape.append("contract enforced")
        facts.append(f"{name} is built in {', '.join(shape)}.")
    owner = _owner(manifest, node)
    if owner:
        facts.append(f"Owner (the group that owns {name}): {owner}.")
    parents = _neighbour_names(manifest, manifest.get("parent_map", {}).get(uid, []))
    children = _neighbour_names(manifest, manifest.get("child_map", {}).get(uid, []))
    if parents:
        facts.append(f"Upstream of {name}: {', '.join(parents)}.")
    if children:
        facts.append(f"Downstream of {name}: {', '.join(children)}.")
    if not children and kind == "model":
        facts.append(f"Nothing in the project reads {name}.")
    if node.get("tags"):
        facts.append(f"Tags: {', '.join(node['tags'])}.")
    chunks = _section_chunks(
        source=source,
        title=title,
        section=f"{name} overview",
        kind=f"dbt_{kind}",
        text="\n\n".join(facts),
        used=used,
        slug=slug,
        **common,
    )

    columns = list((node.get("columns") or {}).values())
    if columns:
        lines = [f"Columns of {name}:", *(_column_line(c) for c in columns)]
        chunks += _section_chunks(
            source=source,
            title=title,
            section=f"{name} columns",
            kind=f"dbt_{kind}",
            text="\n".join(lines),
            used=used,
            slug=f"{slug}-columns",
            **common,
        )
    personal = [line for c in columns if (line := _personal_line(c))]
    if personal:
        intro = (
            f"Personal data in {name}: {len(personal)} of its {len(columns)} "
            "columns are tagged in the column meta."
        )
        chunks += _section_chunks(
            source=source,
            title=title,
            section=f"{name} personal data",
            kind=f"dbt_{kind}",
            text="\n".join([intro, *personal]),
            used=used,
            slug=f"{slug}-personal-data",
            **common,
        )
    elif columns and kind in ("model", "source"):
        chunks += _section_chunks(
            source=source,
            title=title,
            section=f"{name} personal data",
            kind=f"dbt_{kind}",
            text=f"No column of {name} is tagged as personal or health data.",
            used=used,
            slug=f"{slug}-personal-data",
            **common,
        )
    if tests:
        # Ten tests to a sentence: a bare list item per test would be too
        # short to be picked as an answer sentence on its own.
        lines = [
            f"Tests on {name} ({len(tests)} in all): "
            + "; ".join(tests[start : start + 10])
            + "."
            for start in range(0, len(tests), 10)
        ]
        chunks += _section_chunks(
            source=source,
            title=title,
            section=f"{name} tests",
            kind=f"dbt_{kind}",
            text="\n".join(lines),
            used=used,
            slug=f"{slug}-tests",
            **common,
        )
    return chunks


def _resource_chunks(
    node: dict[str, Any], context: CorpusContext, resource: str, text: str
) -> list[Chunk]:
    """The chunk of a macro or an exposure, titled and linked as the dbt
    docs site names that kind of resource."""
    uid = node["unique_id"]
    return _section_chunks(
        source=node.get("original_file_path") or uid,
        title=f"dbt {resource} {node['name']}",
        section=f"{node['name']} {resource}",
        kind=f"dbt_{resource}",
        text=text,
        used=set(),
        slug=slugify(node["name"]),
        link=f"{context.docs_url}/#!/{resource}/{uid}",
        meta={"unique_id": uid, "resource_type": resource},
    )


def _exposure_chunk(node: dict[str, Any], context: CorpusContext) -> list[Chunk]:
    owner = node.get("owner") or {}
    depends = [
        d.rsplit(".", 1)[-1] for d in node.get("depends_on", {}).get("nodes", [])
    ]
    facts = [
        f"Exposure {node['name']} ({node.get('type', 'consumer')}):",
        _one_line(node.get("description")) or "No description.",
    ]
    if owner.get("name") or owner.get("email"):
        facts.append(f"Owner: {owner.get('name') or ''} {owner.get('email') or ''}.")
    if depends:
        facts.append(f"It depends on {', '.join(sorted(depends))}.")
    return _resource_chunks(node, context, "exposure", " ".join(facts))


def _macro_chunk(node: dict[str, Any], context: CorpusContext) -> list[Chunk]:
    facts = [
        f"Macro {node['name']} ({node.get('original_file_path')}): "
        + _one_line(node.get("description"))
    ]
    for argument in node.get("arguments") or []:
        described = _one_line(argument.get("description"))
        facts.append(
            f"- argument `{argument['name']}`" + (f": {described}" if described else "")
        )
    return _resource_chunks(node, context, "macro", "\n".join(facts))


def manifest_chunks(manifest: dict[str, Any], context: CorpusContext) -> list[Chunk]:
    """Chunks describing every documented dbt node of ``manifest``."""
    tests = _tests_by_node(manifest)
    chunks: list[Chunk] = []
    nodes = [
        n
        for n in manifest["nodes"].values()
        if n.get("resource_type") in _DOCUMENTED
        and not (n["resource_type"] == "analysis" and not n.get("description"))
    ]
    for node in sorted(nodes, key=lambda n: n["unique_id"]):
        chunks += _node_chunks(
            manifest, node, tests.get(node["unique_id"], []), context
        )
    for node in sorted(
        (manifest.get("sources") or {}).values(), key=lambda n: n["unique_id"]
    ):
        chunks += _node_chunks(
            manifest, node, tests.get(node["unique_id"], []), context
        )
    for node in sorted(
        (manifest.get("exposures") or {}).values(), key=lambda n: n["unique_id"]
    ):
        chunks += _exposure_chunk(node, context)
    project = (manifest.get("metadata") or {}).get("project_name")
    for node in sorted(
        (manifest.get("macros") or {}).values(), key=lambda n: n["unique_id"]
    ):
        # The project's own documented macros; dbt's built-ins are not ours.
        if node.get("description") and node.get("package_name") in (project, None):
            chunks += _macro_chunk(node, context)
    return chunks


def dbt_manifest(context: CorpusContext) -> list[Chunk]:
    """The dbt project, read from ``<target>/manifest.json``."""
    from diamond.dbt import read_manifest

    manifest = read_manifest(
        context.target_dir,
        hint="`diamond dbt -- parse` (or `diamond run`)",
        error=RagError,
    )
    return manifest_chunks(manifest, context)


# --------------------------------------------------------------------------
# The Lahman data dictionary inside the release zip
# --------------------------------------------------------------------------

_README_HEADING = re.compile(r"^(\d+\.\d+)\s+(.+?)\s*$")
_FIELD_LINE = re.compile(r"^([A-Za-z0-9][\w.]*)\s{2,}(\S.*)$")


def _field_list(body: str) -> str:
    """Turn the readme's aligned ``name  description`` lines into bullets."""
    out: list[str] = []
    for raw in body.splitlines():
        line = raw.rstrip()
        match = _FIELD_LINE.match(line)
        if match:
            out.append(f"- {match.group(1)}: {' '.join(match.group(2).split())}")
        elif out and out[-1].startswith("- ") and line.startswith(" ") and line.strip():
            out[-1] += " " + " ".join(line.split())
        else:
            out.append(line)
    return "\n".join(out).strip()


def readme_chunks(text: str, source: str) -> list[Chunk]:
    """Chunks of the Lahman readme, one per numbered section."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").splitlines()
    sections: list[tuple[str, list[str]]] = []
    previous = ""
    for line in lines:
        match = _README_HEADING.match(line)
        if match and set(previous.strip()) == {"-"}:
            sections.append((f"{match.group(1)} {match.group(2)}", []))
        elif sections:
            sections[-1][1].append(line)
        if line.strip():
            previous = line
    used: set[str] = set()
    chunks: list[Chunk] = []
    for name, body in sections:
        cleaned = "\n".join(b for b in body if set(b.strip()) != {"-"})
        if not cleaned.strip():
            continue
        chunks += _section_chunks(
            source=source,
            title="Lahman Baseball Database readme",
            section=name,
            kind="data_dictionary",
            text=_field_list(cleaned),
            used=used,
            attribution=LAHMAN_ATTRIBUTION,
        )
    return chunks


def lahman_readme(context: CorpusContext) -> list[Chunk]:
    """The readme files of the release zip shipped in the ``lahman`` package.

    The zip is read directly: importing the ``lahman`` package would unpack
    CSV files into site-packages.
    """
    from diamond.source import packaged_release

    path = packaged_release()
    chunks: list[Chunk] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                base = member.rsplit("/", 1)[-1].lower()
                if not (base.startswith("readme") and base.endswith(".txt")):
                    continue
                text = archive.read(member).decode("utf-8", errors="replace")
                source = f"lahman/{member}"
                if base == "readme.txt":
                    chunks += _section_chunks(
                        source=source,
                        title="Baseball Databank readme",
                        section="Baseball Databank",
                        kind="data_dictionary",
                        text=text.strip(),
                        used=set(),
                        attribution=LAHMAN_ATTRIBUTION,
                    )
                else:
                    chunks += readme_chunks(text, source)
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"cannot read the Lahman release zip {path}: {exc}; reinstall lahman"
        raise RagError(msg) from exc
    return chunks


# --------------------------------------------------------------------------
# Model cards
# --------------------------------------------------------------------------


def ml_artifact_dir() -> Path:
    """Where the ML step writes its cards: ``DIAMOND_ML_DIR``, else ``ml/``
    beside the DuckDB warehouse file (the ML step's own default)."""
    from diamond.settings import duckdb_path

    raw = os.environ.get("DIAMOND_ML_DIR")
    return Path(raw).resolve() if raw else duckdb_path().parent / "ml"


def model_cards(context: CorpusContext) -> list[Chunk]:
    """Every ``model_card.md`` written so far, one chunk per section."""
    root = ml_artifact_dir()
    chunks: list[Chunk] = []
    for path in sorted(root.glob("**/model_card.md")) if root.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("skipping the model card %s: %s", path, exc)
            continue
        source = f"ml-artifacts/{path.relative_to(root).as_posix()}"
        chunks.extend(markdown_chunks(text, source, "model_card"))
    return chunks


# --------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------

DEFAULT_SOURCES: list[CorpusSource] = [
    dbt_manifest,
    lahman_readme,
    markdown_files(["rag/guide/*.md"], "guide", base="package"),
    markdown_files(
        [
            "README.md",
            "CONTRIBUTING.md",
            "docs/**/*.md",
            "governance/**/*.md",
            "ml/**/*.md",
        ],
        "project_doc",
    ),
    # Model cards the ML step writes beside the warehouse, and any Markdown a
    # later step writes into the target folder.
    model_cards,
    markdown_files(["ml/**/*.md", "model_cards/**/*.md"], "model_card", base="target"),
]


def collect(
    context: CorpusContext, sources: Sequence[CorpusSource] | None = None
) -> list[Chunk]:
    """Every chunk of the corpus, in a stable order, ids checked unique."""
    chunks: list[Chunk] = []
    for source in DEFAULT_SOURCES if sources is None else sources:
        chunks.extend(source(context))
    seen: dict[str, Chunk] = {}
    for chunk in chunks:
        if chunk.id in seen:
            msg = (
                f"two corpus chunks share the id {chunk.id!r}; rename one of the "
                f"sections in {chunk.source}"
            )
            raise RagError(msg)
        seen[chunk.id] = chunk
    return chunks
