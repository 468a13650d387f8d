"""Benchmark the assistant: index build, retrieval and offline answers.

Over the full corpus of a parsed project (its ``manifest.json`` is copied
into a scratch folder, so the real index is left alone) it measures:

* the index build from nothing (embedding every chunk) and the model load;
* retrieval latency per question (embedding the question, BM25, FAISS and
  fusion) and the offline answer, p50 and p95 over the golden questions
  asked ``--repeat`` times, after a warm-up round;
* against the obvious alternatives, in the same run: BM25 alone and dense
  alone (hit@5, MRR and latency beside hybrid), and FAISS against a
  brute-force numpy search of the same vectors.

The goals are retrieval p95 under 50 ms and offline answer p95 under
200 ms; the script exits 1 when either is missed.

    python bench/bench_rag.py                  # uses $DBT_TARGET_PATH or target/
    python bench/bench_rag.py --target /path/to/target --repeat 5
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.answer import extractive
from rag.evaluate import load_golden
from rag.index import _model, build_index, embed, target_dir
from rag.retrieval import dense_search, search
from rag.text import tokens

RETRIEVAL_GOAL_MS = 50.0
ANSWER_GOAL_MS = 200.0


def _ms(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def _quality(index, questions, mode: str) -> tuple[float, float, list[float]]:
    hits, reciprocal, latencies = [], [], []
    for question in questions:
        found = search(index, question.question, k=10, mode=mode)
        latencies.append(found.retrieve_ms + found.fuse_ms)
        ranks = [
            n
            for n, hit in enumerate(found.hits, start=1)
            if question.is_relevant(hit.chunk.id)
        ]
        hits.append(bool(ranks) and ranks[0] <= 5)
        reciprocal.append(1 / ranks[0] if ranks else 0.0)
    return float(np.mean(hits)), float(np.mean(reciprocal)), latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=None, help="dbt target folder")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of questions")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    source = args.target or target_dir()
    if not (source / "manifest.json").is_file():
        sys.exit(f"no {source / 'manifest.json'}: run `diamond dbt -- parse` first")

    started = time.perf_counter()
    _model()
    load_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-rag-") as scratch:
        target = Path(scratch)
        shutil.copy(source / "manifest.json", target / "manifest.json")
        started = time.perf_counter()
        index = build_index(target, force=True)
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        build_index(target)
        reuse_seconds = time.perf_counter() - started

    golden = load_golden()
    answerable = [q for q in golden if not q.refuse]
    print(f"corpus: {len(index.chunks)} chunks from {source / 'manifest.json'}")
    print(f"model load            {load_seconds:6.2f} s")
    print(
        f"index build           {build_seconds:6.2f} s (embedding "
        f"{len(index.chunks)} chunks, {index.build_seconds:.2f} s of it)"
    )
    print(f"index reuse check     {reuse_seconds:6.2f} s (nothing changed)")

    for question in golden:  # warm-up
        search(index, question.question)
    retrieve, answer = [], []
    for _ in range(args.repeat):
        for question in golden:
            found = search(index, question.question, k=8)
            retrieve.append(found.retrieve_ms + found.fuse_ms)
            began = time.perf_counter()
            extractive(index, question.question, found.hits)
            answer.append((time.perf_counter() - began) * 1000 + retrieve[-1])
    r50, r95 = _ms(retrieve)
    a50, a95 = _ms(answer)
    print(f"\n{len(golden)} golden questions x {args.repeat}:")
    print(f"retrieval (hybrid)    p50 {r50:6.1f} ms   p95 {r95:6.1f} ms")
    print(
        f"offline answer        p50 {a50:6.1f} ms   p95 {a95:6.1f} ms"
        "  (retrieval included)"
    )

    print(f"\nretrieval quality over {len(answerable)} answerable questions:")
    figures = {}
    for mode in ("hybrid", "bm25", "dense"):
        hit5, mrr, latencies = _quality(index, answerable, mode)
        figures[mode] = (hit5, mrr, _ms(latencies)[1])
        print(
            f"{mode:<8} hit@5 {hit5:.3f}  MRR {mrr:.3f}  p95 {figures[mode][2]:6.1f} ms"
        )
    for other in ("bm25", "dense"):
        print(
            f"hybrid / {other}: hit@5 x{figures['hybrid'][0] / figures[other][0]:.2f}, "
            f"MRR x{figures['hybrid'][1] / figures[other][1]:.2f}, "
            f"p95 latency x{figures['hybrid'][2] / figures[other][2]:.2f}"
        )

    bm25_alone = []
    for question in golden:
        began = time.perf_counter()
        scores = index.bm25.get_scores(tokens(question.question))
        np.argsort(-np.asarray(scores))[:30]
        bm25_alone.append((time.perf_counter() - began) * 1000)
    print(
        "(every mode embeds the question, which the refusal check needs; BM25 "
        f"scoring alone: p95 {_ms(bm25_alone)[1]:.1f} ms)"
    )

    vectors = embed([q.question for q in golden])
    matrix = index.dense.reconstruct_n(0, index.dense.ntotal)
    faiss_times, numpy_times, agree = [], [], 0
    for _ in range(args.repeat):
        for vector in vectors:
            began = time.perf_counter()
            _, rows = dense_search(index, vector, 30)
            faiss_times.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            scores = matrix @ vector
            top = np.argpartition(-scores, 30)[:30]
            top = top[np.argsort(-scores[top], kind="stable")]
            numpy_times.append((time.perf_counter() - began) * 1000)
            agree += int(rows[0] == top[0])
    f50, f95 = _ms(faiss_times)
    n50, n95 = _ms(numpy_times)
    print(f"\ndense top-30 search over {index.dense.ntotal} vectors:")
    print(f"FAISS IndexFlatIP     p50 {f50:7.3f} ms   p95 {f95:7.3f} ms")
    print(f"numpy brute force     p50 {n50:7.3f} ms   p95 {n95:7.3f} ms")
    print(
        f"numpy / FAISS p50 x{n50 / f50:.2f}; same best chunk in "
        f"{agree}/{len(faiss_times)} searches"
    )

    missed = []
    if r95 > RETRIEVAL_GOAL_MS:
        missed.append(f"retrieval p95 {r95:.1f} ms > {RETRIEVAL_GOAL_MS:.0f} ms")
    if a95 > ANSWER_GOAL_MS:
        missed.append(f"answer p95 {a95:.1f} ms > {ANSWER_GOAL_MS:.0f} ms")
    for line in missed:
        print(f"goal missed: {line}")
    if not missed:
        print(
            f"\ngoals met: retrieval p95 < {RETRIEVAL_GOAL_MS:.0f} ms, "
            f"answer p95 < {ANSWER_GOAL_MS:.0f} ms"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
