"""The dashboard's main charts as PNG files, for reports and the README.

:func:`write_charts` draws with matplotlib's object API (no pyplot, so
no GUI backend and no global figure state)
from the same queries as the dashboard (:mod:`app.data`) into
``<target folder>/charts/``. A chart whose data has not been built yet is
left out and logged; the others are still written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from app import data

log = logging.getLogger(__name__)

CHARTS_DIR = "charts"
DPI = 110


def _league_trends() -> Figure:
    seasons = data.league_seasons()
    seasons = seasons[seasons["league_id"].isin(data.MODERN_LEAGUES)]
    figure = Figure(figsize=(10, 7))
    top, bottom = figure.subplots(2, 1, sharex=True)
    for league, rows in seasons.groupby("league_id"):
        top.plot(rows["season"], rows["home_runs_per_game"], label=league)
        bottom.plot(rows["season"], rows["strikeouts_per_game"], label=league)
    top.set_ylabel("home runs per team game")
    bottom.set_ylabel("strikeouts per team game")
    bottom.set_xlabel("season")
    top.legend(title="league")
    top.set_title("Home runs and strikeouts per game, AL and NL")
    return figure


def _runs_by_era() -> Figure:
    seasons = data.league_seasons()
    seasons = seasons[seasons["league_id"].isin(data.MODERN_LEAGUES)]
    eras = [name for name, _, _ in data.ERAS if name in set(seasons["era"])]
    figure = Figure(figsize=(10, 5))
    axis = figure.subplots()
    axis.boxplot([seasons.loc[seasons["era"] == era, "runs_per_game"] for era in eras])
    # Set apart from boxplot(): its label keyword was renamed in matplotlib 3.9.
    axis.set_xticks(range(1, len(eras) + 1), eras)
    axis.set_ylabel("runs per team game")
    axis.set_title("Run scoring by era (each point a league-season)")
    axis.tick_params(axis="x", rotation=20)
    return figure


def _payroll_wins() -> Figure:
    teams = data.team_seasons().dropna(subset=["payroll_usd"])
    if teams.empty:
        raise data.NotBuiltError(
            "team payrolls in marts.fct_team_seasons", "diamond run"
        )
    figure = Figure(figsize=(10, 6))
    axis = figure.subplots()
    points = axis.scatter(
        teams["payroll_usd"] / 1e6, teams["wins"], c=teams["season"], s=12
    )
    figure.colorbar(points, label="season")
    fit = data.payroll_fit(teams)
    if fit is not None:
        intercept, slope = fit
        low, high = teams["payroll_usd"].min() / 1e6, teams["payroll_usd"].max() / 1e6
        axis.plot(
            [low, high], [intercept + slope * low, intercept + slope * high], "k--"
        )
    axis.set_xlabel("payroll (million USD)")
    axis.set_ylabel("wins")
    axis.set_title("Payroll against wins, every team-season with a payroll")
    return figure


def _model_metrics() -> Figure:
    metrics = data.model_metrics()
    splits = [s for s in ("train", "validation", "test") if s in set(metrics["split"])]
    predictors = ["model", "marcel", "last_season"]
    figure = Figure(figsize=(9, 5))
    axis = figure.subplots()
    width = 0.8 / len(predictors)
    for offset, predictor in enumerate(predictors):
        rows = metrics[metrics["predictor"] == predictor].set_index("split")
        axis.bar(
            [i + offset * width for i in range(len(splits))],
            [rows["mae"].get(s, float("nan")) for s in splits],
            width,
            label=predictor,
        )
    axis.set_xticks([i + width for i in range(len(splits))], splits)
    axis.set_ylabel("mean absolute error (OPS)")
    axis.set_title(f"Model {data.model_version()} against its baselines")
    axis.legend()
    return figure


def _feature_importance() -> Figure:
    importance = data.feature_importance(15).sort_values("mean_abs_shap")
    figure = Figure(figsize=(9, 6))
    axis = figure.subplots()
    axis.barh(importance["feature"], importance["mean_abs_shap"])
    axis.set_xlabel("mean |SHAP value| (OPS)")
    axis.set_title("SHAP summary: the fifteen most important features")
    return figure


def _fairness() -> Figure:
    groups = data.fairness()
    if groups.empty:
        raise data.NotBuiltError("ml.ml_fairness rows", "diamond ml train")
    labels = [
        f"{a}: {g}"
        for a, g in zip(groups["attribute"], groups["group_name"], strict=True)
    ]
    figure = Figure(figsize=(9, 0.35 * len(groups) + 1.5))
    axis = figure.subplots()
    positions = range(len(groups))
    axis.errorbar(
        groups["mae"],
        positions,
        xerr=[
            groups["mae"] - groups["mae_ci_low"],
            groups["mae_ci_high"] - groups["mae"],
        ],
        fmt="o",
        capsize=3,
        label="model (95% interval)",
    )
    axis.scatter(groups["marcel_mae"], positions, marker="D", c="grey", label="Marcel")
    axis.set_yticks(list(positions), labels)
    axis.invert_yaxis()
    axis.set_xlabel("mean absolute error (OPS), test seasons")
    axis.set_title("Error by group")
    axis.legend()
    return figure


#: Marker colour of each drift verdict; other statuses are drawn grey.
VERDICT_COLOURS = {"ok": "#2ca02c", "drift": "#d62728", "error": "#ff7f0e"}


def _drift_history() -> Figure:
    history = data.drift_history()
    deciding = history[history["is_deciding"].astype(bool)].dropna(
        subset=["statistic", "threshold"]
    )
    deciding = deciding[deciding["threshold"] != 0]
    if deciding.empty:
        raise data.NotBuiltError(
            "deciding checks in governance.drift_history", data.DRIFT_COMMAND
        )
    # One line per monitor: its worst check of each run, as a share of that
    # check's threshold, so monitors on different scales share one axis.
    worst = (
        deciding.assign(ratio=deciding["statistic"] / deciding["threshold"])
        .groupby(["monitor", "run_id"], as_index=False)
        .agg(checked_at=("checked_at", "max"), ratio=("ratio", "max"))
        .sort_values("checked_at")
    )
    # Runs are placed evenly in the order they ran: checks come in bursts
    # (several a day, then none for weeks), and one run alone would
    # otherwise sit on an axis spanning years.
    runs = worst.groupby("run_id")["checked_at"].max().sort_values()
    place = {run_id: number for number, run_id in enumerate(runs.index)}
    figure = Figure(figsize=(11, 6))
    axis = figure.subplots()
    for monitor, rows in worst.groupby("monitor"):
        axis.plot(rows["run_id"].map(place), rows["ratio"], marker="o", label=monitor)
    axis.axhline(1.0, color="#d62728", linestyle="--", label="threshold")
    axis.set_yscale("symlog", linthresh=1.0)
    axis.set_ylim(bottom=0)
    axis.set_xlim(-0.5, len(runs) - 0.5)
    every = max(1, len(runs) // 12)
    ticks = list(range(0, len(runs), every))
    axis.set_xticks(
        ticks, [f"{runs.iloc[i]:%Y-%m-%d %H:%M}" for i in ticks], rotation=20
    )
    axis.set_xlabel("check run (checked at, UTC)")
    axis.set_ylabel("worst statistic / threshold (above 1: drift)")
    axis.set_title(f"Drift monitors over {len(runs)} check run(s)")
    axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def _drift_verdicts() -> Figure:
    report = data.drift_report()
    results = report.get("results", [])
    if not results:
        raise data.NotBuiltError(
            "monitor results in drift/report.json", data.DRIFT_COMMAND
        )
    figure = Figure(figsize=(11, 0.32 * len(results) + 1.6))
    axis = figure.subplots()
    positions = range(len(results))
    statuses = [str(r.get("status")) for r in results]
    axis.scatter(
        [0] * len(results),
        positions,
        s=160,
        marker="s",
        c=[VERDICT_COLOURS.get(s, "#7f7f7f") for s in statuses],
    )
    for position, result, status in zip(positions, results, statuses, strict=True):
        summary = str(result.get("summary") or "")
        if len(summary) > 90:
            summary = summary[:87] + "..."
        axis.annotate(
            f"{status}: {summary}",
            (0, position),
            xytext=(14, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    axis.set_yticks(
        list(positions), [f"{r.get('monitor')} ({r.get('kind')})" for r in results]
    )
    axis.invert_yaxis()
    axis.set_xlim(-0.05, 1.0)
    axis.set_xticks([])
    for side in ("top", "right", "bottom"):
        axis.spines[side].set_visible(False)
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    axis.set_title(
        f"Current drift verdicts, check {report.get('run_id')} at "
        f"{report.get('checked_at')}: "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
    )
    return figure


def _llm_observability() -> Figure:
    columns = data.llm_figures()
    figure = Figure(figsize=(11, 5))
    latency, rates = figure.subplots(1, 2)
    width = 0.8 / len(columns)
    for offset, (source, figures) in enumerate(columns.items()):
        for axis, names in (
            (latency, data.LLM_LATENCIES),
            (rates, data.LLM_RATES),
        ):
            values = [data.finite(figures.get(name)) for name in names]
            bars = axis.bar(
                [i + offset * width for i in range(len(names))],
                [float("nan") if v is None else v for v in values],
                width,
                label=source,
            )
            axis.bar_label(
                bars,
                labels=["n/a" if v is None else _short(v) for v in values],
                fontsize="small",
            )
    for axis, names in ((latency, data.LLM_LATENCIES), (rates, data.LLM_RATES)):
        centre = width * (len(columns) - 1) / 2
        axis.set_xticks([i + centre for i in range(len(names))], list(names.values()))
    latency.set_ylabel("latency of a whole question (ms)")
    latency.set_title("Latency")
    rates.set_ylabel("share of questions")
    rates.set_ylim(0, 1.1)
    rates.set_title("Answer quality")
    rates.legend(fontsize="small")
    figure.suptitle("The assistant: latency, groundedness, hallucinations, refusals")
    return figure


def _short(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"


#: File name (without .png) and the function drawing it, in report order.
CHARTS: tuple[tuple[str, Callable[[], Figure]], ...] = (
    ("league_trends", _league_trends),
    ("runs_by_era", _runs_by_era),
    ("payroll_vs_wins", _payroll_wins),
    ("model_metrics", _model_metrics),
    ("shap_summary", _feature_importance),
    ("fairness", _fairness),
    ("drift_history", _drift_history),
    ("drift_verdicts", _drift_verdicts),
    ("llm_observability", _llm_observability),
)


def write_charts(
    target: str | None = None,
    out_dir: Path | None = None,
    on_skip: Callable[[str, data.NotBuiltError], None] | None = None,
) -> list[Path]:
    """Write every chart whose data exists as PNG and return the paths.

    ``target`` is the warehouse to read (default ``DIAMOND_TARGET``, else
    duckdb); ``out_dir`` defaults to ``<target folder>/charts``. Charts
    whose data is missing are skipped with a log line naming the command
    that builds it, and passed to ``on_skip`` (file name, the reason) when
    given; other failures raise.
    """
    previous = os.environ.get("DIAMOND_TARGET")
    if target is not None:
        os.environ["DIAMOND_TARGET"] = target
    try:
        folder = (
            Path(out_dir) if out_dir is not None else data.target_dir() / CHARTS_DIR
        )
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, draw in CHARTS:
            try:
                figure = draw()
            except data.NotBuiltError as missing:
                log.info("chart %s left out: %s", name, missing)
                if on_skip is not None:
                    on_skip(f"{name}.png", missing)
                continue
            path = folder / f"{name}.png"
            figure.savefig(path, dpi=DPI, bbox_inches="tight")
            written.append(path)
        return written
    finally:
        if target is not None:
            if previous is None:
                os.environ.pop("DIAMOND_TARGET", None)
            else:
                os.environ["DIAMOND_TARGET"] = previous
