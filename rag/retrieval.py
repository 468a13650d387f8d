"""Hybrid retrieval: BM25 and dense search, fused by reciprocal rank fusion.

BM25 finds exact names (``fct_batting_seasons``, ``masking_policy``, OBP)
that an embedding blurs; the dense side finds paraphrases ("short seasons"
for the 1981 strike) that share no word with the text. Reciprocal rank
fusion adds ``1 / (k + rank)`` from each list, so neither score scale has
to be calibrated against the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rag.corpus import Chunk
from rag.index import Index, embed
from rag.text import tokens

RRF_K = 60
DEPTH = 30
MODES = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its place in each ranking."""

    chunk: Chunk
    score: float
    bm25_score: float
    bm25_rank: int | None
    dense_score: float
    dense_rank: int | None

    def to_dict(self) -> dict:
        return {
            "chunk_id": self.chunk.id,
            "score": round(self.score, 6),
            "bm25_score": round(self.bm25_score, 4),
            "bm25_rank": self.bm25_rank,
            "dense_score": round(self.dense_score, 4),
            "dense_rank": self.dense_rank,
        }


@dataclass
class Retrieval:
    """The fused hits and how long each stage took, in milliseconds."""

    hits: list[Hit]
    retrieve_ms: float
    fuse_ms: float
    query_tokens: list[str]


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion of several ranked lists of document numbers."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def dense_search(index: Index, query_vector: np.ndarray, depth: int):
    """Cosine scores and row numbers of the ``depth`` nearest chunks."""
    scores, rows = index.dense.search(query_vector.reshape(1, -1), depth)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def search(
    index: Index,
    question: str,
    *,
    k: int = 8,
    depth: int = DEPTH,
    mode: str = "hybrid",
) -> Retrieval:
    """The ``k`` best chunks for ``question`` (``mode``: hybrid, bm25, dense)."""
    if mode not in MODES:
        msg = f"unknown retrieval mode {mode!r}: choose one of {', '.join(MODES)}"
        raise ValueError(msg)
    depth = max(1, min(depth, len(index.chunks)))
    started = time.perf_counter()
    query_tokens = tokens(question)
    bm25 = (
        np.asarray(index.bm25.get_scores(query_tokens), dtype=np.float64)
        if query_tokens
        else np.zeros(len(index.chunks))
    )
    bm25_order = [int(i) for i in np.argsort(-bm25, kind="stable")[:depth]]
    bm25_order = [i for i in bm25_order if bm25[i] > 0]
    # The dense side always runs (even for mode="bm25") so that its best
    # cosine is there for the refusal decision.
    dense_scores, dense_rows = dense_search(index, embed([question])[0], depth)
    retrieved = time.perf_counter()

    dense_order = [int(i) for i in dense_rows]
    dense_by_row = dict(zip(dense_order, dense_scores.tolist(), strict=True))
    rankings = {"hybrid": [bm25_order, dense_order], "bm25": [bm25_order]}
    fused = rrf(rankings.get(mode, [dense_order]))
    bm25_rank = {doc: r for r, doc in enumerate(bm25_order, start=1)}
    dense_rank = {doc: r for r, doc in enumerate(dense_order, start=1)}
    best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
    hits = [
        Hit(
            chunk=index.chunks[doc],
            score=score,
            bm25_score=float(bm25[doc]),
            bm25_rank=bm25_rank.get(doc),
            dense_score=float(dense_by_row.get(doc, 0.0)),
            dense_rank=dense_rank.get(doc),
        )
        for doc, score in best
    ]
    finished = time.perf_counter()
    return Retrieval(
        hits=hits,
        retrieve_ms=(retrieved - started) * 1000,
        fuse_ms=(finished - retrieved) * 1000,
        query_tokens=query_tokens,
    )
