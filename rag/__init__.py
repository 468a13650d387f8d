"""diamond's assistant: questions about the project and baseball, answered
from the dbt manifest, the Lahman data dictionary, a rules and statistics
guide and the project's documents, with every sentence cited.

``rag.ask(question)`` returns an :class:`~rag.answer.Answer`; every call is
traced (``rag.feedback(trace_id, score, comment)`` adds a user's verdict).
"""

from __future__ import annotations

from rag.answer import Answer, Source
from rag.assistant import Assistant, ask, feedback
from rag.errors import RagError
from rag.index import build_index, load_index

__all__ = [
    "Answer",
    "Assistant",
    "RagError",
    "Source",
    "ask",
    "build_index",
    "feedback",
    "load_index",
]
