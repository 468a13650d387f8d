"""Measuring the assistant against a golden set of questions.

Each golden question names the sources that answer it (chunk ids, or a
source path to accept any chunk of that document), the key facts a good
answer contains, or ``refuse: true`` when the corpus cannot answer it.
:func:`evaluate` asks every question and reports:

- ``hit_at_5``: share of answerable questions with a right source among
  the first five retrieved chunks;
- ``mrr``: mean reciprocal rank of the first right source (0 if absent);
- ``citation_precision``: share of the answers' citations that point at a
  right source;
- ``faithfulness``: mean groundedness of the answers given;
- ``key_fact_accuracy``: mean share of key facts found in the answer;
- ``hallucination_rate``: share of answers with an unsupported sentence;
- ``refusal_accuracy``: share of questions refused exactly when they
  should be;
- latency percentiles of the whole ask.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from rag.answer import Answer
from rag.errors import RagError
from rag.traces import percentile

GOLDEN_PATH = Path(__file__).resolve().parent / "golden" / "questions.yml"
THRESHOLDS = {"hit_at_5": 0.9, "hallucination_rate": 0.02}
RESULTS_FILE = "eval.json"


@dataclass(frozen=True)
class GoldenQuestion:
    """One question of the golden set."""

    id: str
    question: str
    sources: tuple[str, ...] = ()
    key_facts: tuple[str, ...] = ()
    refuse: bool = False

    def is_relevant(self, chunk_id: str) -> bool:
        """Whether ``chunk_id`` is one of the sources that answer this."""
        path = chunk_id.split("#", 1)[0]
        return any(chunk_id == s or ("#" not in s and path == s) for s in self.sources)


def load_golden(path: Path | None = None) -> list[GoldenQuestion]:
    """The golden set at ``path`` (default: the one shipped with the package)."""
    path = Path(path) if path is not None else GOLDEN_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        msg = f"cannot read the golden set {path}: {exc}"
        raise RagError(msg) from exc
    entries = raw.get("questions") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        msg = f"{path} has no `questions:` list"
        raise RagError(msg)
    questions: list[GoldenQuestion] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("question"):
            msg = f"{path}: entry {number} has no question"
            raise RagError(msg)
        qid = str(entry.get("id") or f"q{number}")
        if qid in seen:
            msg = f"{path}: the id {qid!r} is used twice"
            raise RagError(msg)
        seen.add(qid)
        refuse = bool(entry.get("refuse", False))
        sources = tuple(entry.get("sources") or ())
        if not refuse and not sources:
            msg = f"{path}: question {qid} needs `sources` or `refuse: true`"
            raise RagError(msg)
        questions.append(
            GoldenQuestion(
                id=qid,
                question=str(entry["question"]),
                sources=sources,
                key_facts=tuple(str(f) for f in entry.get("key_facts") or ()),
                refuse=refuse,
            )
        )
    return questions


@dataclass
class Outcome:
    """How the assistant did on one golden question."""

    id: str
    question: str
    refuse_expected: bool
    refused: bool
    rank: int | None
    retrieved: list[str]
    citations: list[str]
    citations_right: int
    key_facts_found: list[str]
    key_facts_missing: list[str]
    groundedness: float
    hallucinated: bool
    latency_ms: float
    answer: str = ""
    warnings: list[str] = field(default_factory=list)


def score(question: GoldenQuestion, answer: Answer, retrieved: list[str]) -> Outcome:
    """Compare one answer with its golden entry."""
    rank = next(
        (i for i, cid in enumerate(retrieved, start=1) if question.is_relevant(cid)),
        None,
    )
    text = answer.text.lower()
    found = [f for f in question.key_facts if f.lower() in text]
    return Outcome(
        id=question.id,
        question=question.question,
        refuse_expected=question.refuse,
        refused=answer.refused,
        rank=rank,
        retrieved=retrieved,
        citations=answer.citations,
        citations_right=sum(question.is_relevant(c) for c in answer.citations),
        key_facts_found=found,
        key_facts_missing=[f for f in question.key_facts if f not in found],
        groundedness=answer.groundedness,
        hallucinated=answer.hallucinated,
        latency_ms=answer.timings_ms.get("total", 0.0),
        answer=answer.text,
        warnings=answer.warnings,
    )


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    """The metrics of a list of outcomes (see the module docstring)."""
    answerable = [o for o in outcomes if not o.refuse_expected]
    answered = [o for o in outcomes if not o.refused]
    with_facts = [o for o in answerable if o.key_facts_found or o.key_facts_missing]
    cited = sum(len(o.citations) for o in answered)

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "hit_at_5": mean([o.rank is not None and o.rank <= 5 for o in answerable]),
        "mrr": mean([1 / o.rank if o.rank else 0.0 for o in answerable]),
        "citation_precision": (
            sum(o.citations_right for o in answered) / cited if cited else None
        ),
        "faithfulness": mean([o.groundedness for o in answered]),
        "key_fact_accuracy": mean(
            [
                len(o.key_facts_found)
                / (len(o.key_facts_found) + len(o.key_facts_missing))
                for o in with_facts
            ]
        ),
        "hallucination_rate": mean([o.hallucinated for o in outcomes]),
        "refusal_accuracy": mean([o.refused == o.refuse_expected for o in outcomes]),
        "latency_ms_p50": percentile([o.latency_ms for o in outcomes], 50),
        "latency_ms_p95": percentile([o.latency_ms for o in outcomes], 95),
    }


def failures(metrics: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """The thresholds ``metrics`` miss, as readable lines."""
    problems = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        # Rates of bad things must stay under their limit, the rest above.
        worse = (
            value is None
            or (name.endswith("_rate") and value > limit)
            or (not name.endswith("_rate") and value < limit)
        )
        if worse:
            sign = "<=" if name.endswith("_rate") else ">="
            problems.append(f"{name} = {value} (needs {sign} {limit})")
    return problems


def evaluate(
    ask: Callable[..., Answer],
    questions: list[GoldenQuestion],
    *,
    mode: str = "hybrid",
    output: Path | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Ask every golden question through ``ask`` and return the report.

    ``ask`` is :meth:`rag.assistant.Assistant.ask` or a function with its
    signature. The report (metrics, thresholds, failures and every
    outcome) is written as JSON to ``output`` when given.
    """
    started = time.perf_counter()
    outcomes = []
    for question in questions:
        answer = ask(question.question, mode=mode, trace=False, k=10)
        retrieved = [h["chunk_id"] for h in answer.retrieved]
        outcomes.append(score(question, answer, retrieved))
    metrics = summarise(outcomes)
    limits = dict(THRESHOLDS if thresholds is None else thresholds)
    report = {
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "seconds": round(time.perf_counter() - started, 3),
        "metrics": metrics,
        "thresholds": limits,
        "failures": failures(metrics, limits),
        "outcomes": [vars(o) for o in outcomes],
    }
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return report
