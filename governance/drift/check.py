"""Run every monitor against the warehouse and say what drifted.

Reads go through one read-only connection (:func:`diamond.warehouse.connect`):
each monitor asks whether its relation exists, which columns and types it
has, and fetches the reference and current windows of its columns. A
relation that is not built yet is reported as such, not as a failure; a
monitor whose meta names a missing column, a non-numeric column as
numeric, or a window with no rows stops the check with an error naming
the monitor and the column or window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diamond.errors import DiamondError
from governance.drift.config import (
    DriftConfigError,
    Monitor,
    Window,
)
from governance.drift.history import HistoryRow
from governance.drift.stats import categorical_tests, numeric_tests

_NUMERIC_TYPES = (
    "int",
    "double",
    "float",
    "real",
    "numeric",
    "decimal",
    "hugeint",
    "bigint",
    "smallint",
    "tinyint",
    "ubigint",
    "uinteger",
)


class DriftError(DiamondError):
    """A monitor cannot be evaluated; the message names it and why."""


class QueryError(DriftError):
    """The warehouse refused a query of a monitor (bad ``where``, a window
    value of the wrong type); re-raised naming the monitor."""


@dataclass
class MonitorResult:
    """The verdict of one monitor or one health check of a relation."""

    monitor: str
    kind: str
    relation: str
    owner: str | None
    status: str
    summary: str
    trigger: str | None = None
    severity: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    rows: list[HistoryRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "kind": self.kind,
            "relation": self.relation,
            "owner": self.owner,
            "status": self.status,
            "summary": self.summary,
            "trigger": self.trigger,
            "evidence": self.evidence,
        }


class Reader:
    """Read-only queries on an open DuckDB or Postgres connection."""

    def __init__(self, con: Any, target: str) -> None:
        self.con = con
        self.target = target
        self._columns: dict[str, dict[str, str] | None] = {}

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._refused(sql):
            if self.target == "duckdb":
                return self.con.execute(sql, list(params)).fetchall()
            with self.con.cursor() as cur:
                cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
                return list(cur.fetchall())

    def arrays(self, sql: str, params: Sequence[Any], width: int) -> list[np.ndarray]:
        """Each of the ``width`` columns of the result as a numpy array."""
        if self.target == "duckdb":
            with self._refused(sql):
                found = self.con.execute(sql, list(params)).fetchnumpy()
            # Masked arrays carry the nulls: keep them as they are.
            return [found[key] for key in found]
        rows = self.rows(sql, params)
        if not rows:
            return [np.array([], dtype=object) for _ in range(width)]
        return [np.array(column, dtype=object) for column in zip(*rows, strict=True)]

    @contextmanager
    def _refused(self, sql: str) -> Iterator[None]:
        import duckdb
        import psycopg2

        try:
            yield
        except (duckdb.Error, psycopg2.Error) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
            msg = f"{self.target} refused `{sql}`: {first}"
            raise QueryError(msg) from exc

    def columns(self, relation: str) -> dict[str, str] | None:
        """Column name to data type, or ``None`` when the relation is absent."""
        if relation not in self._columns:
            schema, name = relation.split(".", 1)
            found = self.rows(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? "
                "order by ordinal_position",
                (schema, name),
            )
            self._columns[relation] = (
                {c.lower(): t.lower() for c, t in found} if found else None
            )
        return self._columns[relation]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_numeric(data_type: str) -> bool:
    return any(data_type.startswith(prefix) for prefix in _NUMERIC_TYPES)


def not_built(monitor: str, kind: str, relation: str, owner: str | None) -> Any:
    return MonitorResult(
        monitor,
        kind,
        relation,
        owner,
        "not_built",
        f"{relation} is not built yet: nothing to check (build it, e.g. "
        "`diamond build`, and check again)",
        rows=[
            HistoryRow(
                monitor, kind, relation, None, "relation", None, None, "not_built"
            )
        ],
    )


class _Windows:
    """The SQL conditions of a monitor's two windows."""

    def __init__(self, reader: Reader, monitor: Monitor) -> None:
        self.reader = reader
        self.monitor = monitor
        self.base = []
        if monitor.where:
            self.base.append(f"({monitor.where})")
        if monitor.version_column:
            column = quote(monitor.version_column)
            self.base.append(
                f"{column} = (select max({column}) from {monitor.relation})"
            )

    def condition(self, window: Window, label: str) -> tuple[str, list[Any], str]:
        column = quote(self.monitor.window_column or "")
        if window.latest:
            where = " and ".join(self.base) or "true"
            found = self.reader.rows(
                f"select max({column}) from {self.monitor.relation} where {where}"
            )
            latest = found[0][0] if found else None
            if latest is None:
                msg = (
                    f"monitor {self.monitor.name}: the {label} window `latest` "
                    f"is empty: {self.monitor.relation} has no rows"
                    + (f" where {where}" if self.base else "")
                    + "; load data or fix `where`"
                )
                raise DriftError(msg)
            window = Window(low=latest, high=latest)
        if window.values:
            marks = ", ".join("?" for _ in window.values)
            clause, params = f"{column} in ({marks})", list(window.values)
        elif window.low == window.high:
            clause, params = f"{column} = ?", [window.low]
        else:
            clause, params = f"{column} between ? and ?", [window.low, window.high]
        return " and ".join([*self.base, clause]), params, window.describe()


def fetch_window(
    reader: Reader,
    monitor: Monitor,
    window: Window,
    label: str,
    columns: list[str],
    *,
    allow_empty: bool = False,
) -> tuple[list[np.ndarray], str]:
    """The columns of one window as arrays, and the window in words; an
    empty window is an error unless ``allow_empty``."""
    where, params, described = _Windows(reader, monitor).condition(window, label)
    listed = ", ".join(quote(c) for c in columns)
    arrays = reader.arrays(
        f"select {listed} from {monitor.relation} where {where}", params, len(columns)
    )
    if not len(arrays[0]) and not allow_empty:
        msg = (
            f"monitor {monitor.name}: the {label} window {described} of "
            f"{monitor.window_column} selects no rows of {monitor.relation}"
            + (f" (with {monitor.where})" if monitor.where else "")
            + "; choose a window that holds data"
        )
        raise DriftError(msg)
    return arrays, described


def _check_columns(reader: Reader, monitor: Monitor, names: list[str]) -> bool:
    """False when the relation is not built; raises on bad column meta."""
    available = reader.columns(monitor.relation)
    if available is None:
        return False
    for name in names:
        if name.lower() not in available:
            msg = (
                f"monitor {monitor.name}: column {name!r} is not in "
                f"{monitor.relation} (it has {', '.join(sorted(available))}); "
                "fix the column name in the drift meta"
            )
            raise DriftConfigError(msg)
    for spec in monitor.columns:
        data_type = available[spec.name.lower()]
        if spec.kind == "numeric" and not _is_numeric(data_type):
            msg = (
                f"monitor {monitor.name}: column {spec.name} is declared numeric "
                f"but {monitor.relation}.{spec.name} is {data_type}; declare it "
                "`categorical` or pick a numeric column"
            )
            raise DriftConfigError(msg)
    for name in (monitor.prediction_column, monitor.actual_column):
        if name and not _is_numeric(available[name.lower()]):
            msg = (
                f"monitor {monitor.name}: column {name} must be numeric but "
                f"{monitor.relation}.{name} is {available[name.lower()]}"
            )
            raise DriftConfigError(msg)
    return True


def _floats(values: np.ndarray) -> np.ndarray:
    """Numbers with NaN for nulls, from a DuckDB (masked) or Postgres column."""
    if np.ma.isMaskedArray(values):
        return np.ma.filled(values.astype(float), np.nan)
    if values.dtype == object:
        return np.asarray([np.nan if v is None else v for v in values], dtype=float)
    return values.astype(float)


def numeric_values(values: np.ndarray, monitor: Monitor, column: str) -> np.ndarray:
    try:
        numbers = _floats(values)
    except (TypeError, ValueError) as exc:
        msg = f"monitor {monitor.name}: column {column} holds non-numeric values"
        raise DriftConfigError(msg) from exc
    return numbers[np.isfinite(numbers)]


def category_values(values: np.ndarray) -> np.ndarray:
    if np.ma.isMaskedArray(values):
        values = values.compressed()
    kept = [str(v) for v in values if v is not None and v == v]
    return np.asarray(kept, dtype=object).astype(str)


def evaluate_distribution(reader: Reader, monitor: Monitor) -> MonitorResult:
    """A features or prediction monitor: per-column tests and drift share."""
    names = [c.name for c in monitor.columns]
    extra = [monitor.window_column, monitor.version_column]
    if not _check_columns(reader, monitor, [*names, *(e for e in extra if e)]):
        return not_built(monitor.name, monitor.kind, monitor.relation, monitor.owner)
    reference, ref_window = fetch_window(
        reader, monitor, monitor.reference, "reference", names
    )
    current, cur_window = fetch_window(
        reader, monitor, monitor.current, "current", names
    )
    rows: list[HistoryRow] = []
    drifted: list[str] = []
    columns: dict[str, Any] = {}
    evaluated = 0
    for spec, ref_raw, cur_raw in zip(monitor.columns, reference, current, strict=True):
        if spec.kind == "numeric":
            ref = numeric_values(ref_raw, monitor, spec.name)
            cur = numeric_values(cur_raw, monitor, spec.name)
        else:
            ref, cur = category_values(ref_raw), category_values(cur_raw)
        base = {
            "monitor": monitor.name,
            "monitor_kind": monitor.kind,
            "relation": monitor.relation,
            "column_name": spec.name,
            "reference_window": ref_window,
            "current_window": cur_window,
            "reference_rows": int(ref.size),
            "current_rows": int(cur.size),
        }
        if not ref.size or not cur.size:
            rows.append(
                HistoryRow(
                    check_name="values",
                    statistic=None,
                    threshold=None,
                    verdict="no_data",
                    **base,
                )
            )
            columns[spec.name] = {"verdict": "no_data"}
            continue
        evaluated += 1
        test = numeric_tests if spec.kind == "numeric" else categorical_tests
        deciding, done = test(ref, cur, spec.settings, spec.method)
        for result in done:
            rows.append(
                HistoryRow(
                    check_name=result.method,
                    statistic=result.statistic,
                    threshold=result.threshold,
                    p_value=result.p_value,
                    verdict="drift" if result.drifted else "ok",
                    is_deciding=result is deciding,
                    **base,
                )
            )
        if deciding.drifted:
            drifted.append(spec.name)
        columns[spec.name] = {
            "kind": spec.kind,
            "verdict": "drift" if deciding.drifted else "ok",
            "tests": [r.to_dict() for r in done],
            "deciding": deciding.method,
        }
    share = len(drifted) / evaluated if evaluated else 0.0
    threshold = monitor.settings["drift_share"]
    dataset_drift = evaluated > 0 and share >= threshold
    rows.append(
        HistoryRow(
            monitor.name,
            monitor.kind,
            monitor.relation,
            None,
            "drift_share",
            share,
            threshold,
            "drift" if dataset_drift else "ok",
            is_deciding=True,
            reference_window=ref_window,
            current_window=cur_window,
            reference_rows=len(reference[0]),
            current_rows=len(current[0]),
            details={"drifted_columns": drifted, "evaluated": evaluated},
        )
    )
    evidence = {
        "reference_window": ref_window,
        "current_window": cur_window,
        "window_column": monitor.window_column,
        "drift_share": share,
        "drift_share_threshold": threshold,
        "drifted_columns": drifted,
        "columns": columns,
    }
    if monitor.kind == "prediction":
        trigger = "drift.prediction" if drifted else None
    elif dataset_drift:
        trigger = "drift.dataset"
    else:
        trigger = "drift.column" if drifted else None
    status = "drift" if drifted else "ok"
    summary = (
        f"{len(drifted)} of {evaluated} column(s) drifted "
        f"({', '.join(drifted) or 'none'}); share {share:.2f} against "
        f"{threshold:.2f}; {monitor.window_column} {cur_window} vs {ref_window}"
    )
    return MonitorResult(
        monitor.name,
        monitor.kind,
        monitor.relation,
        monitor.owner,
        status,
        summary,
        trigger,
        monitor.severity,
        evidence,
        rows,
    )


def _error(predicted: np.ndarray, actual: np.ndarray, metric: str) -> float:
    residual = predicted - actual
    if metric == "rmse":
        return float(np.sqrt(np.mean(residual**2)))
    return float(np.mean(np.abs(residual)))


def evaluate_performance(reader: Reader, monitor: Monitor) -> MonitorResult:
    """Error of the current window against the reference (validation) error."""
    prediction, actual = monitor.prediction_column, monitor.actual_column
    assert prediction and actual
    names = [prediction, actual]
    extra = [monitor.window_column, monitor.version_column]
    if not _check_columns(reader, monitor, [*names, *(e for e in extra if e)]):
        return not_built(monitor.name, monitor.kind, monitor.relation, monitor.owner)
    errors: dict[str, tuple[float, int, str]] = {}
    for label, window in (
        ("reference", monitor.reference),
        ("current", monitor.current),
    ):
        # Actuals arrive a season after the forecast: the current window
        # may be empty or unobserved yet, which is not an error.
        (pred_raw, act_raw), described = fetch_window(
            reader, monitor, window, label, names, allow_empty=label == "current"
        )
        pred, act = _floats(pred_raw), _floats(act_raw)
        known = ~(np.isnan(pred) | np.isnan(act))
        if not known.any() and label == "current":
            summary = (
                f"no actual {actual} yet in the current window {described}; "
                "performance is checked once they are loaded"
            )
            return MonitorResult(
                monitor.name,
                monitor.kind,
                monitor.relation,
                monitor.owner,
                "pending",
                summary,
                rows=[
                    HistoryRow(
                        monitor.name,
                        monitor.kind,
                        monitor.relation,
                        prediction,
                        f"{monitor.metric}_increase",
                        None,
                        monitor.settings["performance_increase"],
                        "pending",
                        current_window=described,
                    )
                ],
            )
        if not known.any():
            msg = (
                f"monitor {monitor.name}: the {label} window {described} has no "
                f"row with both {prediction} and {actual}; the reference needs "
                "observed values (choose a split whose actuals are known)"
            )
            raise DriftError(msg)
        errors[label] = (
            _error(pred[known], act[known], monitor.metric),
            int(known.sum()),
            described,
        )
    ref_error, ref_rows, ref_window = errors["reference"]
    cur_error, cur_rows, cur_window = errors["current"]
    increase = (
        (cur_error - ref_error) / ref_error
        if ref_error > 0
        else (math.inf if cur_error > 0 else 0.0)
    )
    threshold = monitor.settings["performance_increase"]
    degraded = increase > threshold
    row = HistoryRow(
        monitor.name,
        monitor.kind,
        monitor.relation,
        prediction,
        f"{monitor.metric}_increase",
        increase,
        threshold,
        "drift" if degraded else "ok",
        is_deciding=True,
        reference_window=ref_window,
        current_window=cur_window,
        reference_rows=ref_rows,
        current_rows=cur_rows,
        details={"reference_error": ref_error, "current_error": cur_error},
    )
    evidence = {
        "metric": monitor.metric,
        "reference_error": ref_error,
        "current_error": cur_error,
        "relative_increase": increase,
        "threshold": threshold,
        "reference_window": ref_window,
        "current_window": cur_window,
        "window_column": monitor.window_column,
    }
    summary = (
        f"{monitor.metric} {cur_error:.4f} on {cur_window} vs {ref_error:.4f} on "
        f"{ref_window} ({increase:+.1%}, limit +{threshold:.0%})"
    )
    return MonitorResult(
        monitor.name,
        monitor.kind,
        monitor.relation,
        monitor.owner,
        "drift" if degraded else "ok",
        summary,
        "drift.performance" if degraded else None,
        monitor.severity,
        evidence,
        [row],
    )
