"""The assistant's commands: ``diamond ask`` and ``diamond rag index|stats|eval``.

Kept apart from :mod:`diamond.cli` so that the assistant's heavy imports
(torch, FAISS) load only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from diamond.cli import _add_group, _audit, _say


def _add_target_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target-dir",
        type=Path,
        default=None,
        help="dbt target folder holding manifest.json "
        "(default: $DBT_TARGET_PATH, else <project>/target)",
    )


MODEL_CARD_PREFIX = "ml-artifacts/"


def _emit_index_lineage(index, started: datetime) -> None:
    """The index build as the ``diamond.rag.index`` job: the manifest and
    the project's documents in, the index folder (versioned by its corpus
    hash) out."""
    from diamond.settings import project_dir
    from governance.lineage.emit import emit_step
    from governance.lineage.naming import file_dataset
    from governance.lineage.steps import StepDataset, StepRun
    from rag.corpus import ml_artifact_dir
    from rag.index import target_dir

    root = project_dir()
    files = {target_dir() / "manifest.json"}
    for chunk in index.chunks:
        if chunk.source.startswith(MODEL_CARD_PREFIX):
            # Model cards are named relative to the training run's folder.
            path = ml_artifact_dir() / chunk.source.removeprefix(MODEL_CARD_PREFIX)
        else:
            path = root / chunk.source
        if path.is_file():
            files.add(path)
    emit_step(
        StepRun(
            job="diamond.rag.index",
            job_type="INDEX",
            description=(
                "Chunks the dbt manifest, the Lahman data dictionary, the "
                "baseball guide and the project's documents, and indexes them "
                "for the assistant (BM25 and FAISS embeddings)."
            ),
            started_at=started,
            finished_at=datetime.now(UTC),
            inputs=[
                StepDataset(file_dataset(path), kind="FILE")
                for path in sorted(files)
                if path.exists()
            ],
            outputs=[
                StepDataset(
                    file_dataset(index.path), version=index.version, kind="FILE"
                )
            ],
            identity=index.version,
        )
    )


def cmd_rag_index(args: argparse.Namespace) -> int:
    """Build the assistant's index if the manifest or documents changed."""
    from rag.index import build_index

    started = datetime.now(UTC)
    # ``diamond run`` passes its own arguments, whose --force is about
    # reloading raw data; only `diamond rag index --force` forces a rebuild.
    index = build_index(
        getattr(args, "target_dir", None), force=getattr(args, "rag_force", False)
    )
    _emit_index_lineage(index, started)
    _audit(
        "rag.index",
        None,
        subject=str(index.path),
        details={
            "rebuilt": index.rebuilt,
            "chunks": len(index.chunks),
            "embedded": index.embedded,
            "version": index.version,
        },
    )
    if index.rebuilt:
        _say(
            f"built the assistant index: {len(index.chunks)} chunks "
            f"({index.embedded} embedded, the rest unchanged) in "
            f"{index.build_seconds:.1f} s -> {index.path}"
        )
    else:
        _say(
            f"the assistant index is up to date ({len(index.chunks)} chunks, "
            f"version {index.version[:12]}) in {index.path}"
        )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.assistant import Assistant
    from rag.index import target_dir

    helper = Assistant(Path(args.target_dir or target_dir()).resolve())
    answer = helper.ask(
        " ".join(args.question), answerer=args.answerer, mode=args.mode, k=args.k
    )
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2))
    else:
        print(answer.render())
        print(f"\ntrace {answer.trace_id}")
    return 0


def cmd_rag_stats(args: argparse.Namespace) -> int:
    from rag import traces
    from rag.index import target_dir

    path = traces.traces_path(args.target_dir or target_dir())
    figures = traces.stats(traces.read(path))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    if not figures["questions"]:
        _say(f"no questions traced yet in {path}: ask one with `diamond ask`")
        return 0

    def show(value: object, unit: str = "") -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.1f}{unit}" if unit else f"{value:.3f}"
        return f"{value}{unit}"

    print(f"traces: {path}")
    print(f"questions            {figures['questions']}")
    for stage in ("retrieve", "fuse", "answer", "total"):
        p50 = show(figures[f"{stage}_ms_p50"], " ms")
        p95 = show(figures[f"{stage}_ms_p95"], " ms")
        print(f"{stage + ' latency':<20} p50 {p50:>10}   p95 {p95:>10}")
    print(f"groundedness         {show(figures['groundedness'])}")
    print(f"hallucination rate   {show(figures['hallucination_rate'])}")
    print(f"refusal rate         {show(figures['refusal_rate'])}")
    print(
        f"feedback             {figures['feedback_count']} "
        f"(mean {show(figures['feedback_mean'])})"
    )
    print(f"tokens (generative)  {figures['total_tokens']}")
    return 0


def cmd_rag_eval(args: argparse.Namespace) -> int:
    from rag.assistant import Assistant
    from rag.evaluate import RESULTS_FILE, THRESHOLDS, evaluate, load_golden
    from rag.index import index_dir, target_dir

    target = Path(args.target_dir or target_dir()).resolve()
    helper = Assistant(target, warehouse=False)
    thresholds = dict(THRESHOLDS)
    if args.min_hit_at_5 is not None:
        thresholds["hit_at_5"] = args.min_hit_at_5
    if args.max_hallucination_rate is not None:
        thresholds["hallucination_rate"] = args.max_hallucination_rate
    output = index_dir(target).parent / RESULTS_FILE
    report = evaluate(
        helper.ask,
        load_golden(args.golden),
        mode=args.mode,
        output=output,
        thresholds=thresholds,
    )
    metrics = report["metrics"]
    print(f"golden set: {metrics['questions']} questions ({args.mode} retrieval)")
    for name, value in metrics.items():
        if name in ("questions", "answerable"):
            continue
        shown = "-" if value is None else f"{value:.3f}"
        print(f"{name:<20} {shown}")
    _say(f"results written to {output}")
    if report["failures"]:
        for line in report["failures"]:
            _say(f"below threshold: {line}")
        rate = metrics.get("hallucination_rate")
        limit = thresholds["hallucination_rate"]
        if rate is None or rate > limit:
            from governance.incidents import open_incident

            open_incident(
                "assistant.hallucination_spike",
                None,
                summary=f"hallucination rate {rate} over its limit {limit}",
                evidence={"results": str(output), "rate": rate, "limit": limit},
                owner="ml",
            )
        return 1
    return 0


def add_rag_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``ask`` and ``rag`` (index, stats, eval) on ``sub``."""
    ask = sub.add_parser(
        "ask",
        help="ask the assistant about the project, the data or baseball",
        description="Answer a question from the dbt manifest, the Lahman data "
        "dictionary, the rules and statistics guide and the project's "
        "documents. Every sentence cites its source; questions the sources "
        "do not answer are refused. Answers come from an automated assistant.",
    )
    ask.add_argument("question", nargs="+", help="the question, in plain words")
    ask.add_argument(
        "--answerer",
        choices=("extractive", "chat"),
        default="extractive",
        help="extractive (offline, default) or chat (an OpenAI-compatible API "
        "named by DIAMOND_LLM_BASE_URL and DIAMOND_LLM_MODEL)",
    )
    ask.add_argument(
        "--mode",
        choices=("hybrid", "bm25", "dense"),
        default="hybrid",
        help="retrieval: BM25 and embeddings fused (default), or one of them",
    )
    ask.add_argument("-k", type=int, default=8, help="chunks to retrieve")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    _add_target_dir(ask)
    ask.set_defaults(func=cmd_ask)

    rag_sub = _add_group(
        sub,
        "rag",
        help="the assistant's index, traces and evaluation",
        dest="rag_command",
        metavar="STEP",
    )
    index = rag_sub.add_parser(
        "index",
        help="build the search index (only when the corpus changed)",
        description="Chunk the corpus, embed it and write BM25 and FAISS "
        "indexes to <target>/rag/index; skipped when nothing changed.",
    )
    index.add_argument(
        "--force", dest="rag_force", action="store_true", help="rebuild anyway"
    )
    _add_target_dir(index)
    index.set_defaults(func=cmd_rag_index)
    stats = rag_sub.add_parser(
        "stats",
        help="latency, groundedness, hallucination and refusal rates of traces",
    )
    stats.add_argument("--json", action="store_true", help="print JSON")
    _add_target_dir(stats)
    stats.set_defaults(func=cmd_rag_stats)
    evaluation = rag_sub.add_parser(
        "eval",
        help="score the assistant on the golden set; fails under thresholds",
        description="Ask every golden question and report hit@5, MRR, "
        "citation precision, faithfulness, key-fact accuracy, hallucination "
        "rate, refusal accuracy and latency. Exits 1 when hit@5 or the "
        "hallucination rate misses its threshold.",
    )
    evaluation.add_argument(
        "--golden", type=Path, default=None, help="golden set YAML (default: ours)"
    )
    evaluation.add_argument(
        "--mode", choices=("hybrid", "bm25", "dense"), default="hybrid"
    )
    evaluation.add_argument(
        "--min-hit-at-5", type=float, default=None, help="default 0.9"
    )
    evaluation.add_argument(
        "--max-hallucination-rate", type=float, default=None, help="default 0.02"
    )
    _add_target_dir(evaluation)
    evaluation.set_defaults(func=cmd_rag_eval)
