"""The JSON-lines files diamond appends to survive a bad line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from diamond.jsonl import read_records
from rag import traces


def test_bad_lines_are_skipped_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"n": 1}\n{cut short\n\n[1, 2]\n"text"\n{"n": 2}\n')
    with caplog.at_level(logging.WARNING):
        assert read_records(path) == [{"n": 1}, {"n": 2}]
    assert f"{path} line 2 is not JSON" in caplog.text
    assert f"{path} line 4 is not a JSON object" in caplog.text
    assert f"{path} line 5 is not a JSON object" in caplog.text


def test_a_missing_file_has_no_records(tmp_path: Path) -> None:
    assert read_records(tmp_path / "none.jsonl") == []


def test_traces_without_an_id_are_skipped_and_feedback_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_text(
        '{"trace_id": "a", "question": "q1"}\n'
        '{"question": "no id"}\n'
        "[]\n"
        '{"kind": "feedback", "trace_id": "a", "score": -1, "comment": "wrong"}\n'
        '{"kind": "feedback", "trace_id": "gone", "score": 1}\n'
    )
    with caplog.at_level(logging.WARNING):
        read = traces.read(path)
    assert read == [
        {
            "trace_id": "a",
            "question": "q1",
            "feedback": {"score": -1, "comment": "wrong"},
        }
    ]
    assert "without a trace_id" in caplog.text
