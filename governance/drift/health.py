"""Health checks of a mart against its earlier builds: row count and null
rates as z-scores over the history in ``governance.drift_history``, and the
columns and types against the last build that was checked.

Each build counts once: the history keeps the newest check of every dbt
invocation (the manifest's ``invocation_id``), so checking the same build
twice does not shrink the spread, and the current build never judges
itself. Until ``min_history`` earlier builds exist a check says
``insufficient_history`` instead of guessing.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from governance.drift.check import MonitorResult, Reader, not_built, quote
from governance.drift.config import DriftConfigError, HealthSpec
from governance.drift.history import QUALIFIED as HISTORY
from governance.drift.history import HistoryRow


def _history_table_exists(reader: Reader) -> bool:
    return reader.columns(HISTORY) is not None


def _previous(
    reader: Reader, relation: str, check: str, build_id: str | None
) -> list[tuple[Any, ...]]:
    """Earlier (build_id, column, statistic, details) rows of one check,
    newest first, excluding the current build."""
    if not _history_table_exists(reader):
        return []
    return reader.rows(
        f"select build_id, column_name, statistic, details, checked_at "
        f"from {HISTORY} where relation = ? and check_name = ? "
        "and verdict <> 'not_built' and (build_id is null or build_id <> ?) "
        "order by checked_at desc",
        (relation, check, build_id or ""),
    )


def _per_build(rows: list[tuple[Any, ...]], column: str | None) -> list[float]:
    """One value per earlier build (the newest check of each), newest first."""
    seen: set[Any] = set()
    values: list[float] = []
    for build, name, statistic, _details, checked_at in rows:
        if name != column or statistic is None:
            continue
        key = build if build is not None else checked_at
        if key in seen:
            continue
        seen.add(key)
        values.append(float(statistic))
    return values


def _z(value: float, history: list[float], floor: float) -> float:
    mean = float(np.mean(history))
    spread = max(float(np.std(history, ddof=1)) if len(history) > 1 else 0.0, floor)
    return (value - mean) / spread


def _anomaly_row(
    spec: HealthSpec,
    check: str,
    column: str | None,
    value: float,
    history: list[float],
    floor: float,
) -> HistoryRow:
    settings = spec.settings
    window = history[: settings["history_window"]]
    details: dict[str, Any] = {"value": value, "history_points": len(window)}
    if len(window) < settings["min_history"]:
        details["needs"] = settings["min_history"]
        return HistoryRow(
            spec.model,
            "health",
            spec.relation,
            column,
            check,
            value,
            settings["z_threshold"],
            "insufficient_history",
            details=details,
        )
    z = _z(value, window, floor)
    details.update(mean=float(np.mean(window)), z_score=z)
    verdict = "anomaly" if abs(z) >= settings["z_threshold"] else "ok"
    return HistoryRow(
        spec.model,
        "health",
        spec.relation,
        column,
        check,
        value,
        settings["z_threshold"],
        verdict,
        is_deciding=True,
        details=details,
    )


def evaluate_health(
    reader: Reader, spec: HealthSpec, build_id: str | None
) -> list[MonitorResult]:
    """Row-count, null-rate and schema checks of one relation."""
    available = reader.columns(spec.relation)
    if available is None:
        return [not_built(spec.model, "health", spec.relation, spec.owner)]
    columns = list(spec.columns or available)
    for name in columns:
        if name.lower() not in available:
            msg = (
                f"health checks of {spec.model}: column {name!r} is not in "
                f"{spec.relation}; fix `columns` in its health meta"
            )
            raise DriftConfigError(msg)
    counts = ", ".join(f"count({quote(c)})" for c in columns)
    found = reader.rows(f"select count(*), {counts} from {spec.relation}")[0]
    total = int(found[0])
    results: list[MonitorResult] = []

    def result(check: str, rows: list[HistoryRow], trigger: str) -> None:
        flagged = [r for r in rows if r.verdict in ("anomaly", "changed")]
        if flagged:
            what = ", ".join(r.column_name or "rows" for r in flagged)
            summary = f"{check} anomaly in {spec.relation}: {what}"
        else:
            summary = f"{check} of {spec.relation}: ok"
        results.append(
            MonitorResult(
                f"{spec.model}.{check}",
                "health",
                spec.relation,
                spec.owner,
                "anomaly" if flagged else "ok",
                summary,
                trigger if flagged else None,
                spec.severity,
                {
                    "checks": [
                        {
                            "column": r.column_name,
                            "value": r.statistic,
                            "verdict": r.verdict,
                            **r.details,
                        }
                        for r in flagged
                    ]
                },
                rows,
            )
        )

    if "row_count" in spec.checks:
        history = _per_build(
            _previous(reader, spec.relation, "row_count", build_id), None
        )
        row = _anomaly_row(
            spec,
            "row_count",
            None,
            float(total),
            history,
            spec.settings["row_count_min_std"],
        )
        result("row_count", [row], "health.row_count")
    if "null_rate" in spec.checks:
        earlier = _previous(reader, spec.relation, "null_rate", build_id)
        rows = []
        for name, non_null in zip(columns, found[1:], strict=True):
            rate = 1.0 - int(non_null) / total if total else 0.0
            rows.append(
                _anomaly_row(
                    spec,
                    "null_rate",
                    name,
                    rate,
                    _per_build(earlier, name),
                    spec.settings["null_rate_min_std"],
                )
            )
        result("null_rate", rows, "health.null_rate")
    if "schema" in spec.checks:
        earlier = _previous(reader, spec.relation, "schema", build_id)
        before = json.loads(earlier[0][3]).get("columns") if earlier else None
        now = dict(available)
        details: dict[str, Any] = {"columns": now}
        if before is None:
            verdict = "baseline"
        else:
            added = sorted(set(now) - set(before))
            removed = sorted(set(before) - set(now))
            retyped = sorted(c for c in set(now) & set(before) if now[c] != before[c])
            details.update(added=added, removed=removed, retyped=retyped)
            verdict = "changed" if added or removed or retyped else "ok"
        changes = (
            len(details.get("added", []))
            + len(details.get("removed", []))
            + len(details.get("retyped", []))
        )
        row = HistoryRow(
            spec.model,
            "health",
            spec.relation,
            None,
            "schema",
            float(changes),
            0.0,
            verdict,
            is_deciding=True,
            details=details,
        )
        result("schema", [row], "health.schema")
        if verdict == "changed":
            results[-1].evidence = {
                k: details[k] for k in ("added", "removed", "retyped")
            }
    return results
