"""Benchmark the drift check: every monitored column of the warehouse, and
the same statistics done the obvious way (scipy and pandas, one call per
test per column) on the same arrays.

Three timings, each the best of ``--repeat`` rounds after a warm-up:

* ``check``: :func:`governance.drift.check.evaluate` over every monitor the
  manifest declares (queries, statistics, health checks), without writing
  history. The goal is under five seconds.
* ``stats (ours)`` and ``stats (scipy loop)``: only the statistics of every
  monitored column, on arrays fetched once; the ratio compares the two.
* the same pair on ``--synthetic-rows`` rows per window and column (20
  numeric and 5 categorical columns), where the difference shows.

    python bench/bench_drift.py                  # uses $DBT_TARGET_PATH
    python bench/bench_drift.py --target postgres --repeat 5

Evidently is timed too when it is installed (it is not a dependency).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from scipy.spatial import distance

from diamond.settings import check_target
from diamond.warehouse import connect
from governance.drift.check import (
    Reader,
    category_values,
    fetch_window,
    numeric_values,
)
from governance.drift.config import load_monitors
from governance.drift.defaults import DEFAULTS
from governance.drift.run import evaluate
from governance.drift.stats import categorical_tests, numeric_tests
from governance.lineage.transport import default_target_dir

GOAL_SECONDS = 5.0
Column = tuple[str, np.ndarray, np.ndarray]


def best(action: Callable[[], Any], repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return min(times)


def ours(columns: list[Column]) -> list[bool]:
    verdicts = []
    for kind, ref, cur in columns:
        test = numeric_tests if kind == "numeric" else categorical_tests
        verdicts.append(test(ref, cur, DEFAULTS)[0].drifted)
    return verdicts


def _psi_pandas(ref: np.ndarray, cur: np.ndarray, bins: int) -> float:
    _, edges = pd.qcut(ref, bins, retbins=True, duplicates="drop")
    edges[0], edges[-1] = -np.inf, np.inf
    expected = pd.Series(pd.cut(ref, edges, right=False)).value_counts(
        normalize=True, sort=False
    )
    actual = pd.Series(pd.cut(cur, edges, right=False)).value_counts(
        normalize=True, sort=False
    )
    expected = expected.clip(lower=1e-4).to_numpy()
    actual = actual.clip(lower=1e-4).to_numpy()
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def scipy_loop(columns: list[Column]) -> list[bool]:
    verdicts = []
    for kind, ref, cur in columns:
        small = ref.size <= DEFAULTS["small_sample"]
        if kind == "numeric":
            if small:
                drifted = scipy_stats.ks_2samp(ref, cur).pvalue < DEFAULTS["ks_p_value"]
            else:
                scale = max(float(np.std(ref)), 1e-3)
                value = scipy_stats.wasserstein_distance(ref, cur) / scale
                drifted = value >= DEFAULTS["wasserstein"]
            _psi_pandas(ref, cur, DEFAULTS["psi_bins"])
        else:
            counts = pd.DataFrame(
                {
                    "ref": pd.Series(ref).value_counts(),
                    "cur": pd.Series(cur).value_counts(),
                }
            ).fillna(0)
            if small:
                p_value = scipy_stats.chi2_contingency(
                    counts.to_numpy().T, correction=False
                ).pvalue
                drifted = p_value < DEFAULTS["ks_p_value"]
            else:
                p = counts["ref"] / counts["ref"].sum()
                q = counts["cur"] / counts["cur"].sum()
                drifted = distance.jensenshannon(p, q) >= DEFAULTS["jensen_shannon"]
        verdicts.append(bool(drifted))
    return verdicts


def warehouse_columns(reader: Reader, monitors: Any) -> list[Column]:
    columns: list[Column] = []
    for monitor in monitors.drift:
        if monitor.kind == "performance" or reader.columns(monitor.relation) is None:
            continue
        names = [c.name for c in monitor.columns]
        ref, _ = fetch_window(reader, monitor, monitor.reference, "reference", names)
        cur, _ = fetch_window(reader, monitor, monitor.current, "current", names)
        for spec, r, c in zip(monitor.columns, ref, cur, strict=True):
            if spec.kind == "numeric":
                pair = (
                    numeric_values(r, monitor, spec.name),
                    numeric_values(c, monitor, spec.name),
                )
            else:
                pair = (category_values(r), category_values(c))
            columns.append((spec.kind, *pair))
    return columns


def synthetic_columns(rows: int) -> list[Column]:
    rng = np.random.default_rng(0)
    columns: list[Column] = []
    for index in range(20):
        shift = 0.3 if index % 4 == 0 else 0.0
        columns.append(
            ("numeric", rng.gamma(2.0, 3.0, rows), rng.gamma(2.0, 3.0, rows) + shift)
        )
    letters = np.array(list("abcdefghij"))
    for _ in range(5):
        columns.append(
            ("categorical", rng.choice(letters, rows), rng.choice(letters, rows))
        )
    return columns


def compare(label: str, columns: list[Column], repeat: int) -> None:
    mine = best(lambda: ours(columns), repeat)
    theirs = best(lambda: scipy_loop(columns), repeat)
    agree = ours(columns) == scipy_loop(columns)
    rows = sum(r.size + c.size for _, r, c in columns)
    print(
        f"{label}: {len(columns)} columns, {rows:,} values: ours {mine:.3f}s, "
        f"scipy loop {theirs:.3f}s, ratio {theirs / mine:.1f}x, "
        f"verdicts agree: {agree}"
    )


def _evidently_runner() -> Callable[[pd.DataFrame, pd.DataFrame], Any] | None:
    """A function running Evidently's data-drift preset, for the API of
    whichever Evidently release is installed, or None."""
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        return lambda ref, cur: Report([DataDriftPreset()]).run(cur, ref)
    except ImportError:
        pass
    try:
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report
    except ImportError:
        return None

    def run(ref: pd.DataFrame, cur: pd.DataFrame) -> None:
        report = Report(metrics=[DataDriftPreset()])
        report.run(reference_data=ref, current_data=cur)
        report.as_dict()

    return run


def evidently(columns: list[Column], repeat: int) -> None:
    runner = _evidently_runner()
    if runner is None:
        print("evidently: not installed, not timed")
        return
    ref = pd.DataFrame({f"c{i}": r for i, (_, r, _) in enumerate(columns)})
    cur = pd.DataFrame({f"c{i}": c for i, (_, _, c) in enumerate(columns)})
    seconds = best(lambda: runner(ref, cur), repeat)
    print(f"evidently data-drift preset: {seconds:.3f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=None, help="duckdb (default) or postgres")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    parser.add_argument(
        "--synthetic-rows", type=int, default=200_000, help="rows per window"
    )
    args = parser.parse_args(argv)
    target = check_target(args.target)
    monitors = load_monitors(default_target_dir())
    with connect(target) as con:
        reader = Reader(con, target)
        seconds = best(
            lambda: evaluate(Reader(con, target), monitors, None), args.repeat
        )
        columns = warehouse_columns(reader, monitors)
    checked = len(monitors.drift) + len(monitors.health)
    verdict = "meets" if seconds < GOAL_SECONDS else "MISSES"
    print(
        f"check on {target}: {checked} monitors, {len(columns)} monitored columns "
        f"in {seconds:.3f}s ({verdict} the {GOAL_SECONDS:.0f}s goal)"
    )
    compare("stats on the warehouse", columns, args.repeat)
    synthetic = synthetic_columns(args.synthetic_rows)
    compare("stats on synthetic data", synthetic, args.repeat)
    evidently(synthetic, 1)
    return 0 if seconds < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
