"""The assistant's front door: :func:`ask` and :func:`feedback`.

An :class:`Assistant` holds one loaded index for a target folder. The
module keeps one per folder, so a dashboard or a notebook pays the model
and index load once; it reloads when ``manifest.json`` changes, which is
when dbt wrote a new project description.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag import index as index_module
from rag import traces
from rag.answer import NOTICE, Answer, ChatAnswerer, extractive
from rag.corpus import CorpusSource
from rag.errors import RagError
from rag.index import Index, build_index, target_dir
from rag.retrieval import MODES, search

log = logging.getLogger(__name__)

ANSWERERS = ("extractive", "chat")
MAX_QUESTION_CHARS = 2000


def _manifest_signature(target: Path) -> tuple[int, int] | None:
    try:
        stat = (target / "manifest.json").stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


OUT_OF_SERVICE = "The assistant is out of service and answers no questions."


def out_of_service(question: str) -> Answer | None:
    """The refusal to give while the assistant's kill switch is off, else None.

    Checked on every question, before the index is loaded, so that
    switching the assistant off (``diamond governance kill-switch assistant
    off``) stops a running dashboard at once and needs no model or index.
    """
    from governance.controls import switch_state

    state = switch_state("assistant")
    if state["in_service"]:
        return None
    reason = state.get("reason") or "no reason given"
    # The refusal is the assistant speaking too, so it keeps the notice
    # every answer carries and adds why it does not answer.
    notice = (
        f"{NOTICE} The assistant is out of service since {state.get('at')} "
        f"({reason}); ask the project's maintainers."
    )
    return Answer(
        question=question,
        text=OUT_OF_SERVICE,
        sentences=[],
        sources=[],
        refused=True,
        groundedness=1.0,
        hallucinated=False,
        answerer="none",
        warnings=[f"refused: assistant out of service ({reason})"],
        notice=notice,
    )


@dataclass
class Assistant:
    """Answers questions over one target folder's index."""

    target: Path
    sources: Sequence[CorpusSource] | None = None
    warehouse: bool = True
    _index: Index | None = field(default=None, repr=False)
    _signature: tuple[int, int] | None = field(default=None, repr=False)

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def index(self) -> Index:
        """The loaded index, (re)built first when the manifest changed."""
        # A dashboard asks from several threads; only one of them may build.
        with self._lock:
            signature = _manifest_signature(self.target)
            if self._index is None or signature != self._signature:
                self._index = build_index(self.target, sources=self.sources)
                self._signature = signature
            return self._index

    def ask(
        self,
        question: str,
        *,
        answerer: str = "extractive",
        k: int = 8,
        mode: str = "hybrid",
        chat: ChatAnswerer | None = None,
        trace: bool = True,
    ) -> Answer:
        """Answer ``question`` from the corpus, citing every sentence."""
        if not isinstance(question, str) or not question.strip():
            msg = (
                "the question is empty: ask something, for example "
                "`diamond ask 'What is OBP?'`"
            )
            raise RagError(msg)
        if len(question) > MAX_QUESTION_CHARS:
            msg = (
                f"the question is {len(question)} characters long; keep it under "
                f"{MAX_QUESTION_CHARS}"
            )
            raise RagError(msg)
        if answerer not in ANSWERERS:
            msg = f"unknown answerer {answerer!r}: choose {' or '.join(ANSWERERS)}"
            raise RagError(msg)
        if mode not in MODES:
            msg = f"unknown retrieval mode {mode!r}: choose one of {', '.join(MODES)}"
            raise RagError(msg)
        stopped = out_of_service(question)
        if stopped is not None:
            return stopped
        if answerer == "chat" and chat is None:
            chat = ChatAnswerer.from_env()
        loading = time.perf_counter()
        index = self.index
        # Loading the model and index happens once per process; it is
        # recorded as its own stage so that it does not count as retrieval.
        index_module.warm()
        load_ms = (time.perf_counter() - loading) * 1000
        started = time.perf_counter()
        found = search(index, question.strip(), k=k, mode=mode)
        answer_started = time.perf_counter()
        if answerer == "chat":
            answer = chat.answer(index, question.strip(), found.hits)
        else:
            answer = extractive(index, question.strip(), found.hits)
        finished = time.perf_counter()
        answer.question = question
        answer.retrieved = [h.to_dict() for h in found.hits]
        answer.timings_ms = {
            "retrieve": round(found.retrieve_ms, 3),
            "fuse": round(found.fuse_ms, 3),
            "answer": round((finished - answer_started) * 1000, 3),
            "total": round((finished - started) * 1000, 3),
        }
        if load_ms >= 1:
            answer.timings_ms["load"] = round(load_ms, 3)
        if trace:
            answer.trace_id = traces.new_trace_id()
            answer.warnings += traces.record(
                self._trace(answer, index),
                self.target,
                warehouse=self.warehouse,
            )
        return answer

    def _trace(self, answer: Answer, index: Index) -> dict[str, Any]:
        return {
            "trace_id": answer.trace_id,
            "asked_at": traces.now(),
            "question": answer.question,
            "answerer": answer.answerer,
            "model": answer.model,
            "index_version": index.version,
            "refused": answer.refused,
            "groundedness": answer.groundedness,
            "hallucinated": answer.hallucinated,
            "timings_ms": answer.timings_ms,
            "usage": answer.usage,
            "retrieved": answer.retrieved,
            "citations": answer.citations,
            "answer": answer.text,
            "warnings": answer.warnings,
        }

    def feedback(self, trace_id: str, score: int, comment: str | None = None):
        """Record a user's verdict on an answer; return storage warnings."""
        return traces.feedback(
            trace_id, score, comment, self.target, warehouse=self.warehouse
        )


_ASSISTANTS: dict[Path, Assistant] = {}
_LOCK = threading.Lock()


def assistant(target: Path | None = None) -> Assistant:
    """The shared assistant of a target folder (default: the dbt target)."""
    folder = Path(target or target_dir()).resolve()
    with _LOCK:
        if folder not in _ASSISTANTS:
            _ASSISTANTS[folder] = Assistant(folder)
        return _ASSISTANTS[folder]


def ask(question: str, *, target: Path | None = None, **options: Any) -> Answer:
    """Answer ``question`` with sources; see :meth:`Assistant.ask` for options."""
    return assistant(target).ask(question, **options)


def feedback(
    trace_id: str,
    score: int,
    comment: str | None = None,
    *,
    target: Path | None = None,
) -> list[str]:
    """Attach feedback (-1, 0 or 1, and a comment) to the trace of an answer."""
    return assistant(target).feedback(trace_id, score, comment)
