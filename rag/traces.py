"""Every question the assistant answers leaves a trace.

A trace holds the stage latencies, the retrieved chunk ids and scores,
the answer and its citations, groundedness, the refusal flag, the model
and token counts of a generative backend, and later the user's feedback.
Traces are appended to ``<target>/rag/traces.jsonl`` first, which never
fails quietly, then copied into the warehouse table
``governance.rag_traces`` so the dashboard can query them. When the
warehouse is missing or busy (dbt holds the DuckDB file during a build)
the trace stays in the file and the answer says so; nothing is lost.
Feedback is appended to the same file as its own record, so the file
stays append-only, and applied to the warehouse row.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import RagError

log = logging.getLogger(__name__)

SCHEMA = "governance"
TABLE = "rag_traces"
QUALIFIED = f"{SCHEMA}.{TABLE}"
TRACES_FILE = "traces.jsonl"
FEEDBACK_SCORES = (-1, 0, 1)

#: Warehouse columns, in order, with a type both DuckDB and Postgres accept.
COLUMNS = (
    ("trace_id", "varchar primary key"),
    ("asked_at", "varchar"),
    ("question", "varchar"),
    ("answerer", "varchar"),
    ("model", "varchar"),
    ("index_version", "varchar"),
    ("refused", "boolean"),
    ("groundedness", "double precision"),
    ("hallucinated", "boolean"),
    ("retrieve_ms", "double precision"),
    ("fuse_ms", "double precision"),
    ("answer_ms", "double precision"),
    ("total_ms", "double precision"),
    ("prompt_tokens", "integer"),
    ("completion_tokens", "integer"),
    ("retrieved", "varchar"),
    ("citations", "varchar"),
    ("answer", "varchar"),
    ("feedback_score", "integer"),
    ("feedback_comment", "varchar"),
)
_CREATE = (
    f"create table if not exists {QUALIFIED} ("
    + ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    + ")"
)
_LOCK = threading.Lock()


def traces_path(target: Path) -> Path:
    """The JSON lines file of traces under the dbt target folder."""
    return Path(target) / "rag" / TRACES_FILE


def new_trace_id() -> str:
    return uuid.uuid4().hex


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as out:
        out.write(line)
        out.flush()
        os.fsync(out.fileno())


def _row(trace: dict[str, Any]) -> list[Any]:
    usage = trace.get("usage") or {}
    timings = trace.get("timings_ms") or {}
    values = {
        **trace,
        "retrieve_ms": timings.get("retrieve"),
        "fuse_ms": timings.get("fuse"),
        "answer_ms": timings.get("answer"),
        "total_ms": timings.get("total"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "retrieved": json.dumps(trace.get("retrieved", [])),
        "citations": json.dumps(trace.get("citations", [])),
        "feedback_score": None,
        "feedback_comment": None,
    }
    return [values.get(name) for name, _ in COLUMNS]


# --------------------------------------------------------------------------
# The warehouse mirror
# --------------------------------------------------------------------------


def _warehouse(
    statements: list[tuple[str, list[Any]]], target: str | None
) -> str | None:
    """Run ``statements`` in one transaction; return why not, or None.

    The DuckDB file is opened read-write only for these statements: dbt or
    the dashboard may need it the rest of the time.
    """
    from diamond.errors import DiamondError
    from diamond.settings import PostgresSettings, check_target, duckdb_path

    try:
        chosen = check_target(target)
    except DiamondError as exc:
        return str(exc)
    if chosen == "duckdb":
        import duckdb

        path = duckdb_path()
        if not path.exists():
            return f"no DuckDB warehouse at {path}"
        try:
            con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            return f"the DuckDB warehouse {path} is busy or unreadable ({exc})"
        try:
            con.execute("begin transaction")
            con.execute(f"create schema if not exists {SCHEMA}")
            con.execute(_CREATE)
            for sql, params in statements:
                con.execute(sql, params)
            con.execute("commit")
        except duckdb.Error as exc:
            con.execute("rollback")
            return f"DuckDB rejected the trace ({exc})"
        finally:
            con.close()
        return None
    if chosen == "postgres":
        import psycopg2

        settings = PostgresSettings.from_env()
        try:
            con = psycopg2.connect(settings.dsn(), connect_timeout=3)
        except psycopg2.Error as exc:
            return f"cannot reach Postgres ({settings.dsn()}): {exc}".strip()
        try:
            with con, con.cursor() as cur:
                cur.execute(f"create schema if not exists {SCHEMA}")
                cur.execute(_CREATE)
                for sql, params in statements:
                    cur.execute(sql.replace("?", "%s"), params)
        except psycopg2.Error as exc:
            return f"Postgres rejected the trace ({exc})".strip()
        finally:
            con.close()
        return None
    return f"the {chosen} target has no trace table; traces stay in the file"


def record(
    trace: dict[str, Any], target_dir: Path, *, warehouse: bool = True
) -> list[str]:
    """Store one trace; return warnings about where it could not go."""
    path = traces_path(target_dir)
    warnings = []
    try:
        _append(path, {"kind": "trace", **trace})
    except OSError as exc:
        # The warehouse copy below may still keep it; say so either way.
        log.warning("cannot write the trace to %s: %s", path, exc)
        warnings.append(f"trace not written to {path}: {exc}")
    if not warehouse:
        return warnings
    marks = ", ".join("?" for _ in COLUMNS)
    problem = _warehouse(
        [(f"insert into {QUALIFIED} values ({marks})", _row(trace))], None
    )
    if problem:
        log.warning("trace %s kept only in %s: %s", trace["trace_id"], path, problem)
        warnings.append(f"trace kept in {path} only: {problem}")
    return warnings


def read(path: Path) -> list[dict[str, Any]]:
    """Every trace in the file, with the latest feedback applied."""
    from diamond.jsonl import read_records

    traces: dict[str, dict[str, Any]] = {}
    for entry in read_records(path):
        kind = entry.pop("kind", "trace")
        if kind == "trace":
            if not entry.get("trace_id"):
                log.warning("%s holds a trace without a trace_id; skipped", path)
                continue
            traces[entry["trace_id"]] = entry
        elif kind == "feedback" and entry.get("trace_id") in traces:
            traces[entry["trace_id"]]["feedback"] = {
                "score": entry.get("score"),
                "comment": entry.get("comment"),
            }
    return list(traces.values())


def feedback(
    trace_id: str,
    score: int,
    comment: str | None,
    target_dir: Path,
    *,
    warehouse: bool = True,
) -> list[str]:
    """Attach a user's verdict (-1 bad, 0 neutral, 1 good) to a trace."""
    if isinstance(score, bool) or score not in FEEDBACK_SCORES:
        msg = f"feedback score {score!r} must be -1 (bad), 0 (neutral) or 1 (good)"
        raise RagError(msg)
    path = traces_path(target_dir)
    if not any(t["trace_id"] == trace_id for t in read(path)):
        msg = f"no trace {trace_id!r} in {path}: pass the trace_id of an answer"
        raise RagError(msg)
    _append(
        path,
        {
            "kind": "feedback",
            "trace_id": trace_id,
            "score": score,
            "comment": comment,
            "at": now(),
        },
    )
    if not warehouse:
        return []
    problem = _warehouse(
        [
            (
                f"update {QUALIFIED} set feedback_score = ?, feedback_comment = ? "
                "where trace_id = ?",
                [score, comment, trace_id],
            )
        ],
        None,
    )
    return [f"feedback kept in {path} only: {problem}"] if problem else []


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats(traces: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency, groundedness, hallucination and refusal figures of traces."""
    count = len(traces)
    result: dict[str, Any] = {"questions": count}
    if not count:
        return result
    for stage in ("retrieve", "fuse", "answer", "total"):
        values = [
            t["timings_ms"][stage]
            for t in traces
            if isinstance(t.get("timings_ms", {}).get(stage), int | float)
        ]
        result[f"{stage}_ms_p50"] = percentile(values, 50)
        result[f"{stage}_ms_p95"] = percentile(values, 95)
    answered = [t for t in traces if not t.get("refused")]
    result["refusal_rate"] = 1 - len(answered) / count
    result["groundedness"] = (
        sum(t.get("groundedness", 0.0) for t in answered) / len(answered)
        if answered
        else None
    )
    result["hallucination_rate"] = sum(bool(t.get("hallucinated")) for t in traces) / (
        count
    )
    rated = [t["feedback"]["score"] for t in traces if t.get("feedback")]
    result["feedback_count"] = len(rated)
    result["feedback_mean"] = sum(rated) / len(rated) if rated else None
    tokens = [t.get("usage", {}).get("total_tokens") for t in traces]
    result["total_tokens"] = sum(n for n in tokens if isinstance(n, int))
    return result
