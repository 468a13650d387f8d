"""What the dashboard shows, read from the warehouse and the dbt target folder.

Every function here returns plain Python or pandas data and knows nothing of
Streamlit, so the pages (``app/views``) and the static charts
(``app/charts.py``) share one set of queries. The warehouse is the one
``DIAMOND_TARGET`` names (DuckDB by default, Postgres through the ``PG*``
variables), opened read-only by :func:`diamond.warehouse.connect` for each
query and closed straight after, so a dashboard left open never blocks
``diamond run``. Only masked relations are read: the marts, ``ml`` and
``governance``, never ``raw``.

When something has not been produced yet (a relation, an artifact under the
target folder), :class:`NotBuiltError` says which command produces it.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from diamond.errors import DiamondError
from diamond.settings import check_target, duckdb_path
from diamond.warehouse import connect

log = logging.getLogger(__name__)

#: Seasons of each era of run scoring, as baseball writers usually cut them.
ERAS: tuple[tuple[str, int, int], ...] = (
    ("19th century", 1871, 1900),
    ("Dead ball", 1901, 1919),
    ("Live ball", 1920, 1941),
    ("Integration", 1942, 1960),
    ("Expansion", 1961, 1976),
    ("Free agency", 1977, 1993),
    ("High offence", 1994, 2005),
    ("Recent", 2006, 2100),
)

#: The two major leagues of today; the pages plot them by default.
MODERN_LEAGUES = ("AL", "NL")

#: The warehouses the dashboard queries. Athena is left out: querying it
#: needs AWS credentials and costs money per scan, which a page view should
#: not do behind the reader's back.
QUERIED_TARGETS = ("duckdb", "postgres")


class NotBuiltError(DiamondError):
    """Data the dashboard needs has not been produced yet.

    ``command`` is what to run to produce it.
    """

    def __init__(self, what: str, command: str) -> None:
        super().__init__(f"{what} is not there yet: run `{command}`")
        self.what = what
        self.command = command


class UnqueriedTargetError(DiamondError):
    """The warehouse chosen is one the dashboard does not query (Athena)."""


# --------------------------------------------------------------------------
# Where things are
# --------------------------------------------------------------------------


def target() -> str:
    """The warehouse the dashboard reads: ``DIAMOND_TARGET``, else duckdb."""
    return check_target(None)


def target_note() -> str | None:
    """What to do when the chosen warehouse is one the dashboard does not
    query, or None when it queries it."""
    chosen = target()
    if chosen in QUERIED_TARGETS:
        return None
    return (
        f"The dashboard reads the DuckDB or Postgres warehouse, not {chosen}: "
        "pages that query the warehouse are left empty. Serve it with "
        "`diamond app --target duckdb` (or `--target postgres`, with the "
        "`PG*` variables naming the server), or set `DIAMOND_TARGET` to "
        "`duckdb` or `postgres` before `streamlit run app/Home.py`."
    )


def read_errors() -> tuple[type[BaseException], ...]:
    """The errors a read of data that is missing, half-written or locked by
    a build raises; any other error is a fault of the dashboard itself."""
    import duckdb
    import psycopg2

    return (DiamondError, OSError, json.JSONDecodeError, duckdb.Error, psycopg2.Error)


def target_dir() -> Path:
    """The dbt target folder (``DBT_TARGET_PATH``, else ``target/``)."""
    from governance.lineage.transport import default_target_dir

    return default_target_dir()


def read_json(relative: str, command: str) -> Any:
    """A JSON artifact under the target folder, or :class:`NotBuiltError`."""
    path = target_dir() / relative
    if not path.is_file():
        raise NotBuiltError(str(path), command)
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(relative: str) -> list[dict[str, Any]]:
    """Every JSON line of a file under the target folder (none if absent)."""
    from diamond.jsonl import read_records

    return read_records(target_dir() / relative)


def manifest() -> dict[str, Any]:
    """The dbt manifest of the last build."""
    return read_json("manifest.json", "diamond run")


# --------------------------------------------------------------------------
# Querying
# --------------------------------------------------------------------------


def frame(sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """The rows of one read-only query as a DataFrame.

    ``?`` marks parameters on every target.
    """
    chosen = target()
    note = target_note()
    if note is not None:
        raise UnqueriedTargetError(note)
    if chosen == "duckdb" and not duckdb_path().exists():
        raise NotBuiltError(f"the DuckDB warehouse {duckdb_path()}", "diamond run")
    if chosen == "duckdb":
        import duckdb

        try:
            with connect(chosen) as con:
                cursor = con.execute(sql, list(params))
                columns = [d[0] for d in cursor.description]
                return pd.DataFrame(cursor.fetchall(), columns=columns)
        except duckdb.IOException as error:
            # Typically the file lock of a build in progress.
            msg = (
                f"cannot open {duckdb_path()} ({error}); if `diamond run` is "
                "building it, wait for it to finish"
            )
            raise DiamondError(msg) from error
    from psycopg2.extensions import DECIMAL

    with connect(chosen) as con, con.cursor() as cur:
        # psycopg2 reads every % as a placeholder once parameters are given.
        cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        columns = [d[0] for d in cur.description]
        found = pd.DataFrame(cur.fetchall(), columns=columns)
        # Postgres numeric columns arrive as Decimal, which pandas keeps as
        # objects that neither divide by floats nor plot; DuckDB gives floats.
        for column in cur.description:
            if column.type_code in DECIMAL.values:
                found[column.name] = pd.to_numeric(found[column.name]).astype(float)
        return found


def relations(schema: str) -> set[str]:
    """Names of the tables and views of one schema."""
    found = frame(
        "select table_name from information_schema.tables where table_schema = ?",
        (schema,),
    )
    return set(found["table_name"])


def require(schema: str, *names: str, command: str = "diamond run") -> None:
    """Raise :class:`NotBuiltError` unless every relation exists in ``schema``."""
    present = relations(schema)
    for name in names:
        if name not in present:
            raise NotBuiltError(f"{schema}.{name}", command)


# --------------------------------------------------------------------------
# League, teams and players
# --------------------------------------------------------------------------


def era_of(season: int) -> str:
    """The era a season belongs to (see :data:`ERAS`)."""
    for name, first, last in ERAS:
        if first <= season <= last:
            return name
    return "Unknown"


def league_seasons() -> pd.DataFrame:
    """Scoring, home runs and strikeouts per team game by league-season."""
    require("marts", "fct_league_seasons")
    seasons = frame(
        "select season, league_id, games_per_team, runs_per_game, "
        "home_runs_per_game, strikeouts_per_game "
        "from marts.fct_league_seasons order by season, league_id"
    )
    seasons["era"] = seasons["season"].map(era_of)
    return seasons


def team_seasons() -> pd.DataFrame:
    """Wins, payroll and results of every team-season."""
    require("marts", "fct_team_seasons")
    return frame(
        "select season, team_id, franchise_id, league_id, wins, losses, win_pct, "
        "runs_scored, runs_allowed, payroll_usd, payroll_usd_per_win, "
        "postseason_result from marts.fct_team_seasons order by season, team_id"
    )


def payroll_fit(teams: pd.DataFrame) -> tuple[float, float] | None:
    """Least-squares wins = a + b * payroll in millions, or None if too few."""
    paid = teams.dropna(subset=["payroll_usd", "wins"])
    if len(paid) < 3:
        return None
    x = paid["payroll_usd"].astype(float) / 1e6
    y = paid["wins"].astype(float)
    spread = ((x - x.mean()) ** 2).sum()
    if spread == 0:
        return None
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / spread)
    return float(y.mean() - slope * x.mean()), slope


def batting_careers(name: str = "", limit: int = 200) -> pd.DataFrame:
    """Regular-season career batting lines, most hits first.

    ``name`` filters on the player's name (case-insensitive substring).
    Names come from ``marts.dim_players`` as its masking policies give them.
    """
    require("marts", "fct_batting_careers", "dim_players")
    return frame(
        "select c.player_id, p.full_name, c.first_season, c.last_season, "
        "c.season_count, c.games, c.plate_appearances, c.hits, c.home_runs, "
        "c.runs_batted_in, c.stolen_bases, c.batting_average, "
        "c.on_base_percentage, c.slugging_percentage, c.on_base_plus_slugging "
        "from marts.fct_batting_careers as c "
        "left join marts.dim_players as p on p.player_id = c.player_id "
        "where c.season_type = 'regular' "
        "and lower(coalesce(p.full_name, c.player_id)) like ? "
        f"order by c.hits desc, c.player_id limit {int(limit)}",
        (f"%{name.strip().lower()}%",),
    )


def batting_seasons(player_id: str) -> pd.DataFrame:
    """Every regular-season batting line of one player."""
    require("marts", "fct_batting_seasons")
    return frame(
        "select season, team_id, league_id, games, plate_appearances, hits, "
        "home_runs, runs_batted_in, stolen_bases, batting_average, "
        "on_base_percentage, slugging_percentage, on_base_plus_slugging, ops_plus "
        "from marts.fct_batting_seasons "
        "where player_id = ? and season_type = 'regular' order by season",
        (player_id,),
    )


def leader_categories() -> list[str]:
    """Categories of the season leader boards."""
    require("marts", "fct_season_leaders")
    found = frame(
        "select distinct category from marts.fct_season_leaders order by category"
    )
    return list(found["category"])


def season_leaders(season: int, category: str) -> pd.DataFrame:
    """The leader board of one season and category, every league."""
    require("marts", "fct_season_leaders", "dim_players")
    return frame(
        "select l.league_id, l.category_rank, p.full_name, l.player_id, "
        "l.team_id, l.stat_value from marts.fct_season_leaders as l "
        "left join marts.dim_players as p on p.player_id = l.player_id "
        "where l.season = ? and l.category = ? "
        "order by l.league_id, l.category_rank, l.player_id",
        (int(season), category),
    )


# --------------------------------------------------------------------------
# The next-season model
# --------------------------------------------------------------------------

ML_COMMAND = "diamond run (or diamond ml train)"


def model_version() -> str:
    """The version in service: the one ``diamond ml rollback`` pinned for
    this target, else the newest trained; the predictions hold that one."""
    from ml.train import current_version

    require("ml", "ml_training_runs", command=ML_COMMAND)
    registry = frame(
        "select model_version, trained_at from ml.ml_training_runs "
        "order by trained_at, model_version"
    )
    if registry.empty:
        raise NotBuiltError("a trained model in ml.ml_training_runs", ML_COMMAND)
    return str(current_version(registry)["model_version"])


def model_switch() -> dict[str, Any]:
    """The model's kill switch: ``in_service`` with reason, by and at."""
    from governance.controls import switch_state

    return switch_state("model")


def model_trained_at() -> Any:
    """When the version in service was trained."""
    require("ml", "ml_training_runs", command=ML_COMMAND)
    found = frame(
        "select max(trained_at) as trained_at from ml.ml_training_runs "
        "where model_version = ?",
        (model_version(),),
    )
    return found["trained_at"].iloc[0]


def model_metrics() -> pd.DataFrame:
    """MAE, RMSE and R-squared of the model and both baselines, by split."""
    require("ml", "ml_metrics", command=ML_COMMAND)
    return frame(
        "select split, predictor, rows, first_season, last_season, mae, rmse, "
        "r_squared, mae_improvement_over_marcel from ml.ml_metrics "
        "where model_version = ? order by split, predictor",
        (model_version(),),
    )


def feature_importance(top: int = 20) -> pd.DataFrame:
    """Mean absolute SHAP value of the most important features."""
    require("ml", "ml_feature_importance", command=ML_COMMAND)
    return frame(
        "select feature, mean_abs_shap, mean_shap, importance_rank, share_of_total "
        "from ml.ml_feature_importance where model_version = ? "
        f"order by importance_rank limit {int(top)}",
        (model_version(),),
    )


def explained_players() -> pd.DataFrame:
    """Players and seasons with a SHAP explanation, best projected first."""
    require("ml", "ml_shap_contributions", "ml_predictions", command=ML_COMMAND)
    require("marts", "dim_players")
    return frame(
        "select e.player_id, e.target_season, e.split, p.full_name, "
        "r.predicted_ops from (select distinct player_id, target_season, split "
        "from ml.ml_shap_contributions where model_version = ?) as e "
        "join ml.ml_predictions as r on r.player_id = e.player_id "
        "and r.target_season = e.target_season and r.model_version = ? "
        "left join marts.dim_players as p on p.player_id = e.player_id "
        "order by e.target_season desc, r.predicted_ops desc, e.player_id",
        (model_version(), model_version()),
    )


def marcel_projections() -> pd.DataFrame:
    """Marcel's projection of every row the model scored: what is shown in
    place of the model's forecasts while it is out of service."""
    require("ml", "ml_predictions", command=ML_COMMAND)
    require("marts", "dim_players")
    return frame(
        "select r.target_season, r.player_id, p.full_name, r.split, "
        "r.marcel_ops from ml.ml_predictions as r "
        "left join marts.dim_players as p on p.player_id = r.player_id "
        "where r.model_version = ? "
        "order by r.target_season desc, r.marcel_ops desc, r.player_id",
        (model_version(),),
    )


def explanation(player_id: str, season: int) -> pd.DataFrame:
    """SHAP contribution of every feature to one prediction."""
    require("ml", "ml_shap_contributions", command=ML_COMMAND)
    return frame(
        "select contribution_rank, feature, feature_value, shap_value, "
        "base_value, marcel_ops from ml.ml_shap_contributions "
        "where model_version = ? and player_id = ? and target_season = ? "
        "order by contribution_rank",
        (model_version(), player_id, int(season)),
    )


def model_card() -> tuple[str, str]:
    """The model card of the newest version: (Markdown text, its path)."""
    require("ml", "ml_model_cards", command=ML_COMMAND)
    found = frame(
        "select markdown_path from ml.ml_model_cards where model_version = ?",
        (model_version(),),
    )
    if found.empty:
        raise NotBuiltError("the model card in ml.ml_model_cards", ML_COMMAND)
    path = Path(str(found["markdown_path"].iloc[0]))
    if not path.is_file():
        raise NotBuiltError(f"the model card file {path}", ML_COMMAND)
    return path.read_text(encoding="utf-8"), str(path)


def fairness() -> pd.DataFrame:
    """Error by group with bootstrap intervals, and the flagged gaps."""
    require("ml", "ml_fairness", command=ML_COMMAND)
    return frame(
        "select attribute, group_name, rows, mae, mae_ci_low, mae_ci_high, "
        "mean_residual, mean_residual_ci_low, mean_residual_ci_high, marcel_mae, "
        "in_gap, attribute_mae_gap, max_mae_gap, is_flagged from ml.ml_fairness "
        "where model_version = ? order by attribute, group_name",
        (model_version(),),
    )


# --------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------

DRIFT_COMMAND = "diamond drift check"


def drift_history() -> pd.DataFrame:
    """Every deciding check of every drift run, oldest first."""
    require("governance", "drift_history", command=DRIFT_COMMAND)
    return frame(
        "select run_id, checked_at, monitor, monitor_kind, relation, column_name, "
        "check_name, statistic, threshold, p_value, verdict, is_deciding, "
        "reference_window, current_window from governance.drift_history "
        "order by checked_at, monitor, column_name"
    )


def drift_report() -> dict[str, Any]:
    """The report of the latest drift check."""
    return read_json("drift/report.json", DRIFT_COMMAND)


def drift_alerts() -> list[dict[str, Any]]:
    """Alerts raised by drift checks, newest first."""
    alerts = read_jsonl("drift/alerts.jsonl")
    return sorted(alerts, key=lambda a: str(a.get("created_at", "")), reverse=True)


# --------------------------------------------------------------------------
# Lineage
# --------------------------------------------------------------------------


def lineage_choices() -> list[str]:
    """Relations the lineage page can centre on, models first."""
    from governance.lineage.impact import display_name

    data = manifest()
    models = sorted(
        display_name(data, uid)
        for uid, node in data.get("nodes", {}).items()
        if node.get("resource_type") in ("model", "seed", "snapshot")
    )
    sources = sorted(display_name(data, uid) for uid in data.get("sources", {}))
    return models + sources


def lineage_graph(around: str, depth: int | None) -> dict[str, Any]:
    """The laid-out lineage graph around one relation, as plain data."""
    from governance.lineage.graph import build_graph, render_svg

    graph = build_graph(manifest(), around, depth)
    return {
        "title": graph.title,
        "focus": graph.focus,
        "nodes": [
            {
                "id": node.unique_id,
                "label": node.label,
                "layer": node.layer,
                "rank": node.rank,
                "row": node.row,
                "tests": node.tests,
                "pii_columns": list(node.pii_columns),
            }
            for node in graph.nodes.values()
        ],
        "edges": [list(edge) for edge in graph.edges],
        "svg": render_svg(graph),
    }


def pii_columns_of(ref: str) -> list[str]:
    """Columns of one relation that its meta marks as personal data."""
    from governance.lineage.impact import manifest_node, resolve

    data = manifest()
    unique_id, _ = resolve(data, ref)
    node = manifest_node(data, unique_id)
    return sorted(
        name
        for name, column in (node.get("columns") or {}).items()
        if (column.get("meta") or {}).get("contains_pii") is True
        or (column.get("meta") or {}).get("pii_type")
    )


def columns_of(ref: str) -> list[str]:
    """Every documented column of one relation, the personal ones first."""
    from governance.lineage.impact import manifest_node, resolve

    data = manifest()
    unique_id, _ = resolve(data, ref)
    names = sorted(manifest_node(data, unique_id).get("columns") or {})
    personal = set(pii_columns_of(ref))
    return sorted(names, key=lambda name: (name not in personal, name))


def _impact(ref: str) -> Any:
    from governance.lineage.impact import downstream

    catalog = target_dir() / "catalog.json"
    return downstream(
        manifest(), ref, catalog=str(catalog) if catalog.is_file() else None
    )


def column_flow(ref: str) -> dict[str, Any]:
    """The column-level graph downstream of ``relation.column``: nodes laid
    out by hops from it, and the edges between them."""
    impact = _impact(ref)
    by_depth: dict[int, int] = {}
    nodes = []
    for key, node in sorted(impact.nodes.items(), key=lambda i: (i[1].depth, i[0])):
        row = by_depth.get(node.depth, 0)
        by_depth[node.depth] = row + 1
        nodes.append(
            {
                "key": key,
                "label": f"{node.name}.{node.column}" if node.column else node.name,
                "depth": node.depth,
                "row": row,
                "resource_type": node.resource_type,
                "is_root": key == impact.root,
            }
        )
    edges = [
        [parent, child]
        for parent in sorted(impact.children)
        for child in impact.children[parent]
    ]
    return {"nodes": nodes, "edges": edges}


def column_impact(ref: str) -> pd.DataFrame:
    """Every column a column flows into downstream, with how it is changed."""
    impact = _impact(ref)
    rows = [
        {
            "depth": node.depth,
            "resource_type": node.resource_type,
            "relation": node.name,
            "column": node.column,
            "how": "; ".join(
                ", ".join(kinds) for kinds in node.transformations.values()
            ),
        }
        for node in impact.downstream_nodes()
    ]
    return pd.DataFrame(
        rows, columns=["depth", "resource_type", "relation", "column", "how"]
    )


# --------------------------------------------------------------------------
# Privacy and audit
# --------------------------------------------------------------------------

PII_COMMAND = "diamond pii scan"


def pii_findings() -> pd.DataFrame:
    """The last scan's personal-data columns, each with its dbt meta tags."""
    report = read_json("privacy/pii_report.json", PII_COMMAND)
    findings = pd.DataFrame(report.get("findings", []))
    if findings.empty:
        return findings
    tags = _column_tags(manifest())
    findings["schema"] = findings["relation"].str.split(".").str[0]
    keys = list(zip(findings["relation"], findings["column"], strict=True))
    findings["tagged_pii_type"] = [tags.get(k, {}).get("pii_type") for k in keys]
    findings["masking_policy"] = [tags.get(k, {}).get("masking_policy") for k in keys]
    findings["is_tagged"] = [k in tags for k in keys]
    return findings


def _column_tags(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(schema.relation, column) -> the personal-data meta of that column."""
    tags: dict[tuple[str, str], dict[str, Any]] = {}
    entries = [
        *data.get("nodes", {}).values(),
        *data.get("sources", {}).values(),
    ]
    for node in entries:
        if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
            continue
        relation = f"{node.get('schema')}.{node.get('identifier') or node['name']}"
        for name, column in (node.get("columns") or {}).items():
            meta = {
                **((column.get("config") or {}).get("meta") or {}),
                **(column.get("meta") or {}),
            }
            if (
                meta.get("contains_pii")
                or meta.get("contains_phi")
                or meta.get("pii_type")
            ):
                tags[(relation, name)] = meta
    return tags


def masking_policies() -> pd.DataFrame:
    """Every model column whose meta names a masking policy other than none."""
    from governance.privacy.actions import masking_applied

    return pd.DataFrame(
        masking_applied(manifest()), columns=["relation", "column", "policy"]
    )


def audit_status() -> dict[str, Any]:
    """The audit chain checked, against its warehouse mirror where there is one.

    Returns ``chain_ok`` (the file alone is intact), ``ok`` (and the mirror
    agrees), ``unmirrored`` (records appended since the last sync, which
    are not damage), ``records``, ``head_seq``, ``report`` (the text of
    ``diamond audit verify``) and ``problems`` (seq, kind and message).
    """
    from governance.audit import default_path, verify, verify_against_table

    path = default_path()
    if not path.is_file():
        raise NotBuiltError(f"the audit log {path}", "diamond run")
    chain = verify(path)
    result = (
        chain if target() == "athena" else verify_against_table(path, target=target())
    )
    problems = [
        {"seq": p.seq, "kind": p.kind, "message": p.message} for p in result.problems
    ]
    return {
        "chain_ok": chain.ok,
        "ok": result.ok,
        "unmirrored": sum(p["kind"] == "unmirrored" for p in problems),
        "records": result.records,
        "head_seq": result.head_seq,
        "path": str(path),
        "report": result.report(),
        "problems": problems,
    }


def audit_actions(limit: int = 200) -> pd.DataFrame:
    """The newest audit records: sequence, time, action, target, subject."""
    from governance.audit import AuditLog, default_path

    path = default_path()
    if not path.is_file():
        raise NotBuiltError(f"the audit log {path}", "diamond run")
    records = list(AuditLog(path).records())[-limit:]
    return pd.DataFrame(
        [
            {
                "seq": r.seq,
                "recorded_at": r.recorded_at,
                "action": r.action,
                "actor": r.actor,
                "target": r.target,
                "subject": r.subject,
            }
            for r in reversed(records)
        ],
        columns=["seq", "recorded_at", "action", "actor", "target", "subject"],
    )


# --------------------------------------------------------------------------
# The assistant
# --------------------------------------------------------------------------

RAG_COMMAND = "diamond rag index (then ask a question on the Assistant page)"


def rag_traces() -> pd.DataFrame:
    """One row per traced question, oldest first, with its latencies."""
    from rag.traces import read, traces_path

    traces = read(traces_path(target_dir()))
    rows = [
        {
            "trace_id": t.get("trace_id"),
            "asked_at": pd.to_datetime(t.get("asked_at"), utc=True, errors="coerce"),
            "question": t.get("question"),
            "answerer": t.get("answerer"),
            "total_ms": (t.get("timings_ms") or {}).get("total"),
            "refused": bool(t.get("refused")),
            "groundedness": t.get("groundedness"),
            "hallucinated": bool(t.get("hallucinated")),
            "feedback": (t.get("feedback") or {}).get("score"),
        }
        for t in traces
    ]
    columns = [
        "trace_id",
        "asked_at",
        "question",
        "answerer",
        "total_ms",
        "refused",
        "groundedness",
        "hallucinated",
        "feedback",
    ]
    found = pd.DataFrame(rows, columns=columns)
    return found.sort_values("asked_at", kind="stable").reset_index(drop=True)


def rag_stats() -> dict[str, Any]:
    """p50/p95 latency, groundedness, hallucination and refusal rates."""
    from rag.traces import read, stats, traces_path

    return stats(read(traces_path(target_dir())))


def latency_over_time(traces: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """Rolling p50 and p95 of the total latency over the last ``window``
    questions, at each question's time."""
    timed = traces.dropna(subset=["asked_at", "total_ms"])
    rolling = timed["total_ms"].astype(float).rolling(window, min_periods=1)
    return pd.DataFrame(
        {
            "asked_at": timed["asked_at"],
            "p50_ms": rolling.quantile(0.5),
            "p95_ms": rolling.quantile(0.95),
        }
    )


def rag_eval() -> dict[str, Any]:
    """The last evaluation against the golden questions."""
    return read_json("rag/eval.json", "diamond rag eval")


#: Latency figures of :func:`llm_figures`, with the label a chart gives them.
LLM_LATENCIES = {"total_ms_p50": "p50", "total_ms_p95": "p95"}
#: Rates of :func:`llm_figures`, with their labels.
LLM_RATES = {
    "groundedness": "groundedness",
    "hallucination_rate": "hallucination rate",
    "refusal_rate": "refusal rate",
}


def llm_figures() -> dict[str, dict[str, Any]]:
    """The assistant's latency and answer rates, by where they come from.

    Keys name the source: the traces of questions asked, and the last
    golden-set evaluation (which asks without tracing). Each holds the keys
    of :data:`LLM_LATENCIES` and :data:`LLM_RATES`. Raises
    :class:`NotBuiltError` when there is neither.
    """
    figures: dict[str, dict[str, Any]] = {}
    traced = rag_stats()
    if traced.get("questions"):
        figures[f"traces ({traced['questions']} questions)"] = traced
    try:
        evaluation = rag_eval()
    except NotBuiltError:
        evaluation = None
    if evaluation is not None:
        metrics = evaluation.get("metrics", {})
        outcomes = evaluation.get("outcomes", [])
        refused = [bool(o.get("refused")) for o in outcomes]
        figures[f"golden-set evaluation ({len(outcomes)} questions)"] = {
            "total_ms_p50": metrics.get("latency_ms_p50"),
            "total_ms_p95": metrics.get("latency_ms_p95"),
            "groundedness": metrics.get("faithfulness"),
            "hallucination_rate": metrics.get("hallucination_rate"),
            "refusal_rate": sum(refused) / len(refused) if refused else None,
        }
    if not figures:
        raise NotBuiltError(
            "an evaluation of the assistant (rag/eval.json) or a traced question",
            "diamond rag eval",
        )
    return figures


def finite(value: Any) -> float | None:
    """A number fit for display, or None for missing and NaN values."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
