"""Monitors, read from the dbt ``meta`` of models and columns.

What to watch is declared beside the data, so adding a monitor is a YAML
change. The vocabulary (also in the README):

On a model, ``config: {meta: {drift: ...}}`` is one monitor (a mapping) or
several (a list of mappings). Keys of a monitor:

``name``               monitor name (default: the model name, plus the kind
                       for prediction and performance monitors)
``kind``               ``features`` (default), ``prediction`` or
                       ``performance``
``window_column``      the column whose values pick the two windows
``reference``          the reference window (see below); required
``current``            the current window (default ``latest``)
``where``              a SQL condition both windows must meet
``version_column``     keep only rows of the greatest value of this column
                       (the latest model version)
``columns``            features: ``{column: numeric|categorical|{...}}``,
                       added to the columns whose own meta declares drift
``prediction_column``  prediction and performance: the model output
``actual_column``      performance: the observed value
``metric``             performance: ``mae`` (default) or ``rmse``
``severity``           overrides the runbook's severity for this monitor
any key of :data:`governance.drift.defaults.DEFAULTS` overrides a threshold.

A window is ``latest`` (the greatest value of the window column), one
value (``2019``, ``validation``), ``{from: A, to: B}`` (inclusive) or
``{values: [A, B]}``.

On a column, ``meta: {drift: numeric}`` or ``meta: {drift: {kind:
numeric|categorical, method: ..., <threshold keys>}}`` adds the column to
every features monitor of its model.

On a model, ``config: {meta: {health: {...}}}`` turns on the health
checks: ``checks`` (default ``[row_count, null_rate, schema]``),
``columns`` (null-rate columns, default every column), and the threshold
keys ``z_threshold``, ``min_history``, ``history_window``,
``row_count_min_std``, ``null_rate_min_std``, plus ``severity``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diamond.dbt import read_manifest
from diamond.errors import ConfigError
from governance.drift.defaults import (
    CATEGORICAL_METHODS,
    DEFAULTS,
    INTEGER_KEYS,
    NUMERIC_METHODS,
)

KINDS = ("features", "prediction", "performance")
COLUMN_KINDS = ("numeric", "categorical")
HEALTH_CHECKS = ("row_count", "null_rate", "schema")
METRICS = ("mae", "rmse")
_MONITOR_KEYS = frozenset(
    {
        "name",
        "kind",
        "window_column",
        "reference",
        "current",
        "where",
        "version_column",
        "columns",
        "prediction_column",
        "actual_column",
        "metric",
        "severity",
        *DEFAULTS,
    }
)
_COLUMN_KEYS = frozenset({"kind", "method", *DEFAULTS})
_HEALTH_KEYS = frozenset(
    {
        "checks",
        "columns",
        "severity",
        "z_threshold",
        "min_history",
        "history_window",
        "row_count_min_std",
        "null_rate_min_std",
    }
)


class DriftConfigError(ConfigError):
    """A monitor's meta is wrong; the message names the model, monitor and
    key, and what to write instead."""


@dataclass(frozen=True)
class Window:
    """Which rows of a relation a window holds, by its window column."""

    latest: bool = False
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()

    def describe(self) -> str:
        if self.latest:
            return "latest"
        if self.values:
            return ",".join(str(v) for v in self.values)
        if self.low == self.high:
            return str(self.low)
        return f"{self.low}..{self.high}"


@dataclass(frozen=True)
class ColumnSpec:
    """One monitored column: its kind, a forced method and its thresholds."""

    name: str
    kind: str
    method: str | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class Monitor:
    """One drift monitor over one relation."""

    name: str
    kind: str
    model: str
    relation: str
    owner: str | None
    window_column: str | None
    reference: Window | None
    current: Window | None
    where: str | None
    version_column: str | None
    columns: tuple[ColumnSpec, ...]
    settings: dict[str, Any]
    prediction_column: str | None = None
    actual_column: str | None = None
    metric: str = "mae"
    severity: str | None = None


@dataclass(frozen=True)
class HealthSpec:
    """The health checks of one relation."""

    model: str
    relation: str
    owner: str | None
    checks: tuple[str, ...]
    columns: tuple[str, ...] | None
    settings: dict[str, Any]
    severity: str | None = None


@dataclass
class Monitors:
    """Everything the manifest asks to watch."""

    drift: list[Monitor] = field(default_factory=list)
    health: list[HealthSpec] = field(default_factory=list)


def _fail(where: str, problem: str) -> DriftConfigError:
    return DriftConfigError(f"{where}: {problem}")


def _settings(where: str, raw: dict[str, Any], base: dict[str, Any]) -> dict:
    merged = dict(base)
    for key in DEFAULTS:
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"{key} is {value!r}; give a number (default {DEFAULTS[key]})"
            raise _fail(where, msg)
        if key in INTEGER_KEYS and int(value) != value:
            raise _fail(where, f"{key} is {value!r}; give a whole number")
        if value <= 0 and key != "ks_p_value":
            raise _fail(where, f"{key} is {value!r}; give a positive number")
        merged[key] = int(value) if key in INTEGER_KEYS else float(value)
    if not 0 < merged["ks_p_value"] < 1:
        raise _fail(where, "ks_p_value must lie strictly between 0 and 1")
    return merged


def _unknown(where: str, raw: dict, allowed: frozenset[str]) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        msg = (
            f"unknown key(s) {', '.join(extra)}; the drift meta keys are "
            f"{', '.join(sorted(allowed))} (see governance/drift/config.py)"
        )
        raise _fail(where, msg)


def parse_window(where: str, raw: Any) -> Window:
    """A window from its meta form (see the module docstring)."""
    if raw == "latest":
        return Window(latest=True)
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        return Window(low=raw, high=raw)
    if isinstance(raw, dict):
        if set(raw) == {"from", "to"}:
            if raw["from"] > raw["to"]:
                msg = f"window {raw!r} ends before it starts; swap `from` and `to`"
                raise _fail(where, msg)
            return Window(low=raw["from"], high=raw["to"])
        if set(raw) == {"values"} and isinstance(raw["values"], list) and raw["values"]:
            return Window(values=tuple(raw["values"]))
    msg = (
        f"window {raw!r} is not understood; write `latest`, one value, "
        "`{from: A, to: B}` or `{values: [A, B]}`"
    )
    raise _fail(where, msg)


def _column(where: str, name: str, raw: Any, base: dict[str, Any]) -> ColumnSpec:
    where = f"{where}, column {name}"
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, dict):
        raise _fail(where, f"drift meta {raw!r} must be a kind or a mapping")
    _unknown(where, raw, _COLUMN_KEYS)
    kind = raw.get("kind", "numeric")
    if kind not in COLUMN_KINDS:
        msg = f"kind {kind!r} is not one of {', '.join(COLUMN_KINDS)}"
        raise _fail(where, msg)
    method = raw.get("method")
    allowed = NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS
    if method is not None and method not in allowed:
        msg = f"method {method!r} does not apply to a {kind} column; use one of "
        raise _fail(where, msg + ", ".join(allowed))
    return ColumnSpec(name, kind, method, _settings(where, raw, base))


def _relation(node: dict[str, Any]) -> str:
    return f"{node['schema']}.{node.get('alias') or node['name']}"


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    merged = dict(node.get("meta") or {})
    merged.update((node.get("config") or {}).get("meta") or {})
    return merged


def _owner(node: dict[str, Any]) -> str | None:
    return node.get("group") or (node.get("config") or {}).get("group")


def _monitor(node: dict[str, Any], raw: Any, columns: dict[str, Any]) -> Monitor:
    model = node["name"]
    where = f"model {model} (meta drift)"
    if not isinstance(raw, dict):
        raise _fail(where, f"a monitor must be a mapping, not {raw!r}")
    kind = raw.get("kind", "features")
    if kind not in KINDS:
        raise _fail(where, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    default_name = model if kind == "features" else f"{model}.{kind}"
    name = str(raw.get("name") or default_name)
    where = f"monitor {name} on model {model}"
    _unknown(where, raw, _MONITOR_KEYS)
    settings = _settings(where, raw, DEFAULTS)
    if "reference" not in raw:
        raise _fail(where, "no `reference` window; add e.g. {from: 2015, to: 2019}")
    severity = raw.get("severity")
    if severity is not None and not re.fullmatch(r"(?i)SEV\d", str(severity)):
        msg = f"severity {severity!r} is not a runbook severity such as SEV2"
        raise _fail(where, msg)
    window_column = raw.get("window_column")
    if not window_column:
        raise _fail(where, "no `window_column`; name the column picking the windows")
    specs: dict[str, ColumnSpec] = {}
    prediction = raw.get("prediction_column")
    actual = raw.get("actual_column")
    metric = raw.get("metric", "mae")
    if kind == "features":
        for column, value in columns.items():
            specs[column] = _column(where, column, value, settings)
        extra = raw.get("columns") or {}
        if not isinstance(extra, dict):
            raise _fail(where, "`columns` must map column names to kinds")
        for column, value in extra.items():
            specs[column] = _column(where, column, value, settings)
        if not specs:
            msg = (
                "no columns to watch; add `meta: {drift: numeric}` to columns "
                "or a `columns:` mapping to the monitor"
            )
            raise _fail(where, msg)
    else:
        if not prediction:
            raise _fail(where, f"a {kind} monitor needs `prediction_column`")
        if kind == "performance":
            if not actual:
                raise _fail(where, "a performance monitor needs `actual_column`")
            if metric not in METRICS:
                raise _fail(where, f"metric {metric!r} is not one of mae, rmse")
        else:
            specs[prediction] = ColumnSpec(prediction, "numeric", None, settings)
    declared = {c.lower() for c in node.get("columns") or {}}
    named = [*specs, *(c for c in (window_column, prediction, actual) if c)]
    version_column = raw.get("version_column")
    if version_column:
        named.append(version_column)
    if declared:
        for column in named:
            if column.lower() not in declared:
                msg = (
                    f"column {column!r} is not a column of {model} in its YAML; "
                    "fix the name or declare the column"
                )
                raise _fail(where, msg)
    return Monitor(
        name=name,
        kind=kind,
        model=model,
        relation=_relation(node),
        owner=_owner(node),
        window_column=window_column,
        reference=parse_window(f"{where}, reference", raw["reference"]),
        current=parse_window(f"{where}, current", raw.get("current", "latest")),
        where=raw.get("where"),
        version_column=version_column,
        columns=tuple(specs.values()),
        settings=settings,
        prediction_column=prediction,
        actual_column=actual,
        metric=metric,
        severity=severity,
    )


def _health(node: dict[str, Any], raw: Any) -> HealthSpec:
    model = node["name"]
    where = f"model {model} (meta health)"
    if raw is True:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail(where, f"health meta must be a mapping or true, not {raw!r}")
    _unknown(where, raw, _HEALTH_KEYS)
    checks = tuple(raw.get("checks") or HEALTH_CHECKS)
    for check in checks:
        if check not in HEALTH_CHECKS:
            msg = f"check {check!r} is not one of {', '.join(HEALTH_CHECKS)}"
            raise _fail(where, msg)
    severity = raw.get("severity")
    if severity is not None and not re.fullmatch(r"(?i)SEV\d", str(severity)):
        msg = f"severity {severity!r} is not a runbook severity such as SEV2"
        raise _fail(where, msg)
    columns = raw.get("columns")
    declared = {c.lower() for c in node.get("columns") or {}}
    for column in columns or ():
        if declared and column.lower() not in declared:
            raise _fail(where, f"column {column!r} is not a column of {model}")
    return HealthSpec(
        model=model,
        relation=_relation(node),
        owner=_owner(node),
        checks=checks,
        columns=tuple(columns) if columns else None,
        settings=_settings(where, raw, DEFAULTS),
        severity=severity,
    )


def monitors_from_manifest(manifest: dict[str, Any]) -> Monitors:
    """Every drift monitor and health check the manifest's meta declares."""
    found = Monitors()
    for unique_id in sorted(manifest.get("nodes", {})):
        node = manifest["nodes"][unique_id]
        if node.get("resource_type") != "model":
            continue
        meta = _meta(node)
        columns = {
            name: (column.get("meta") or {}).get("drift")
            for name, column in (node.get("columns") or {}).items()
        }
        columns = {name: value for name, value in columns.items() if value}
        raw = meta.get("drift")
        if raw is None and columns:
            msg = (
                "columns declare drift meta but the model has no `drift` "
                "monitor; add config: {meta: {drift: {window_column: ..., "
                "reference: ...}}} to the model"
            )
            raise _fail(f"model {node['name']}", msg)
        if raw is not None:
            entries = raw if isinstance(raw, list) else [raw]
            for entry in entries:
                found.drift.append(_monitor(node, entry, columns))
        if meta.get("health"):
            found.health.append(_health(node, meta["health"]))
    names = [m.name for m in found.drift]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        msg = f"monitor name(s) {', '.join(duplicates)} used twice; add `name:`"
        raise DriftConfigError(msg)
    return found


def load_monitors(target_dir: Path) -> Monitors:
    """The monitors of the manifest in ``target_dir``."""
    manifest = read_manifest(target_dir, hint="`diamond build`", error=DriftConfigError)
    return monitors_from_manifest(manifest)
