"""The dashboard and the dbt docs site, driven in a real browser.

The dashboard (``app/Home.py``) is served by Streamlit against the scratch
warehouses that ``diamond run`` builds once per session: DuckDB (the
``duckdb_built`` fixture) and Postgres (``postgres_built``). Every page is
opened in headless Chromium through Playwright on both: it must load
without a Streamlit exception and show its key element, and on Postgres
the figures shown must be the Postgres warehouse's. Widgets are driven
beyond their defaults (league filters, a player's career, a prediction
explained, a personal column traced downstream) and what the page then
shows is checked against the warehouse and the dbt manifest, read here
directly. The assistant must answer a question with a source and take a
verdict; a second server over an empty target folder must explain, page by
page, which command produces the missing data. ``diamond app --charts``
must write every PNG chart whose data exists and name each one it skips.
``diamond docs --serve`` is checked the same way. Screenshots of every page
are kept as test artifacts in ``$DIAMOND_TEST_ARTIFACTS`` (default: a
``test-artifacts`` folder under pytest's temporary directory).

Chromium is Debian's (``apt-get install -y chromium``), never a browser
downloaded by Playwright; without it the tests fail and say how to install
it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from conftest import (
    BIN,
    ROOT,
    free_port,
    run_diamond,
    serve_docs,
    serving,
)
from playwright.sync_api import expect

#: (address, title shown as the page's h1, text of its key element, Plotly
#: charts it must draw at least). Every page ends with a footer starting
#: with FOOTER, so its appearance means the page's script ran to the end.
PAGES = [
    ("", "diamond", "What is built", 0),
    ("league", "League trends", "Payroll against wins", 3),
    ("players", "Players and teams", "Career batting lines", 0),
    ("model", "Model", "Model card: next-season OPS", 3),
    ("fairness", "Fairness", "Attribute", 2),
    ("drift", "Drift", "Every alert raised", 1),
    ("lineage", "Lineage", "Personal data in this neighbourhood", 1),
    ("privacy", "Privacy and audit", "Masking policies", 2),
    ("assistant", "Assistant", "Try What is WHIP?", 0),
    ("observability", "LLM observability", "Evaluation on the golden questions", 0),
]
EXCEPTION = '[data-testid="stException"]'
NOTE = '[data-testid="stAlert"]'
FOOTER = "Page drawn at"
PLOTLY = '[data-testid="stPlotlyChart"]'
CAPTION = "stCaptionContainer"
PAGE_TIMEOUT_MS = 90_000
#: How long a page may take to rerun after a widget changes.
RERUN_TIMEOUT_MS = 60_000
#: Every PNG `diamond app --charts` can write, in its order.
CHARTS = (
    "league_trends",
    "runs_by_era",
    "payroll_vs_wins",
    "model_metrics",
    "shap_summary",
    "fairness",
    "drift_history",
    "drift_verdicts",
    "llm_observability",
)
#: The charts whose data a `diamond run` that trained the model always has.
CORE_CHARTS = CHARTS[:6]


def _serve_app(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = [
        *(sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "Home.py")),
        *("--server.port", str(port), "--server.address", "127.0.0.1"),
        *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
    ]
    with serving(command, env, port, "/_stcore/health", 60) as base:
        yield base


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go."""
    configured = os.environ.get("DIAMOND_TEST_ARTIFACTS")
    folder = (
        Path(configured) if configured else tmp_path_factory.mktemp("test-artifacts")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium under Playwright."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(
            "chromium is not installed, and the dashboard tests need a real "
            "browser: install Debian's package with `apt-get install -y "
            "chromium` (Playwright's own browser download is not used)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


def _app_env(built: dict[str, str], target: str) -> dict[str, str]:
    env = {**built, "DIAMOND_TARGET": target}
    env.pop("DIAMOND_RUN_ID", None)
    return env


@pytest.fixture(scope="module")
def app_env(duckdb_built: dict[str, str]) -> dict[str, str]:
    return _app_env(duckdb_built, "duckdb")


@pytest.fixture(scope="module")
def app_url(app_env: dict[str, str]) -> Iterator[str]:
    """The dashboard over the built scratch warehouse."""
    yield from _serve_app(app_env)


@pytest.fixture(scope="module")
def postgres_env(postgres_built: dict[str, str]) -> dict[str, str]:
    return _app_env(postgres_built, "postgres")


@pytest.fixture(scope="module")
def postgres_url(postgres_env: dict[str, str]) -> Iterator[str]:
    """The dashboard over the Postgres scratch warehouse."""
    yield from _serve_app(postgres_env)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    opened = context.new_page()
    opened.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield opened
    finally:
        context.close()


def _drawn(page) -> None:
    """Wait until the page's script has run to its end (every page closes
    with the same footer) or has stopped on an exception."""
    page.locator(EXCEPTION).or_(page.get_by_text(FOOTER)).first.wait_for()


def _charts(page, at_least: int) -> None:
    """Wait for ``at_least`` Plotly charts; the chart component's code is
    fetched on first use, so a chart shows as a placeholder for a moment."""
    if at_least:
        page.locator(PLOTLY).nth(at_least - 1).wait_for()


def _open(page, url: str, title: str) -> None:
    page.goto(url)
    page.locator("h1", has_text=title).first.wait_for()


def _rows(env: dict[str, str], sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Rows of one query on the warehouse the dashboard in ``env`` reads,
    asked here directly rather than through the dashboard's code. ``?``
    marks parameters on both engines."""
    if env.get("DIAMOND_TARGET", "duckdb") == "postgres":
        con = psycopg2.connect(
            host=env.get("PGHOST", "127.0.0.1"),
            port=env.get("PGPORT", "5432"),
            user=env.get("PGUSER", "postgres"),
            password=env.get("PGPASSWORD") or None,
            dbname=env["PGDATABASE"],
        )
        try:
            with con.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), tuple(params))
                return list(cur.fetchall())
        finally:
            con.close()
    con = duckdb.connect(env["DIAMOND_DUCKDB_PATH"], read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _choose(page, key: str, option: str, typed: str | None = None) -> None:
    """Pick ``option`` in the select box or multiselect whose widget key is
    ``key``, typing ``typed`` (default: the option) to narrow the list, as
    a reader does; the lists are virtual, so an option far down is not in
    the page until the list is narrowed."""
    field = page.locator(f".st-key-{key}").get_by_role("combobox")
    field.click()
    field.fill(typed or option)
    page.get_by_role("option", name=option, exact=True).click()


def _caption(page, start: str):
    """The first caption holding ``start``, the opening words of one of the
    captions the pages keep as test hooks."""
    return page.get_by_test_id(CAPTION).filter(has_text=start).first


def _shows(page, start: str, text: str) -> None:
    """Wait until the caption opening with ``start`` contains ``text``."""
    expect(_caption(page, start)).to_contain_text(text, timeout=RERUN_TIMEOUT_MS)


def _chart(page, key: str, ready: str, read: str, arg: Any = None) -> Any:
    """``read`` (a JavaScript function of a Plotly graph element) on the
    chart with widget key ``key``, once ``ready`` (a function of the element
    and ``arg``) holds for it. While a page reruns Streamlit may show the
    chart being replaced beside its successor, so each is tried."""
    handle = page.wait_for_function(
        f"""(arg) => {{
            const charts = document.querySelectorAll(".st-key-{key} .js-plotly-plot");
            for (const el of charts) {{
                if (el.data && el.layout && ({ready})(el, arg)) {{
                    return {{value: ({read})(el)}};
                }}
            }}
            return null;
        }}""",
        arg=arg,
        timeout=RERUN_TIMEOUT_MS,
    )
    return handle.json_value()["value"]


def _check_page(
    url: str,
    page,
    artifacts: Path,
    warehouse: str,
    page_spec: tuple[str, str, str, int],
) -> None:
    path, title, marker, charts = page_spec
    _open(page, f"{url}/{path}", title)
    _drawn(page)
    if not page.query_selector_all(EXCEPTION):
        _charts(page, charts)
    shot = f"app-{warehouse}-{path or 'home'}.png"
    page.screenshot(path=str(artifacts / shot), full_page=True)
    errors = [e.inner_text() for e in page.query_selector_all(EXCEPTION)]
    assert not errors, f"/{path} shows a Streamlit exception:\n" + "\n".join(errors)
    assert page.get_by_text(marker).count(), f"/{path} does not show {marker!r}"
    assert len(page.query_selector_all(PLOTLY)) >= charts
    # Each page's header names the warehouse it read.
    # The pages catch a failing query and say so in a note instead of
    # raising, so a warehouse the dashboard cannot read shows up here.
    notes = page.locator(NOTE).all_inner_texts()
    unread = [n for n in notes if "cannot be read" in n or "Not built yet" in n]
    assert not unread, f"/{path} on {warehouse} lacks data: {unread}"
    captions = page.get_by_test_id(CAPTION).all_inner_texts()
    assert any(c.endswith(f"Warehouse: {warehouse}.") for c in captions), (
        f"/{path} does not say it reads {warehouse}: {captions}"
    )


@pytest.mark.parametrize(
    ("path", "title", "marker", "charts"), PAGES, ids=[p[0] or "home" for p in PAGES]
)
def test_page_loads_and_shows_its_key_element(
    app_url, page, artifacts, path, title, marker, charts
) -> None:
    _check_page(app_url, page, artifacts, "duckdb", (path, title, marker, charts))


@pytest.mark.parametrize(
    ("path", "title", "marker", "charts"), PAGES, ids=[p[0] or "home" for p in PAGES]
)
def test_page_loads_on_postgres(
    postgres_url, page, artifacts, path, title, marker, charts
) -> None:
    _check_page(
        postgres_url, page, artifacts, "postgres", (path, title, marker, charts)
    )


def test_postgres_figures_come_from_postgres(
    postgres_url, postgres_env, app_env, page
) -> None:
    newest = (
        "select model_version, trained_at from ml.ml_training_runs "
        "order by trained_at desc, model_version limit 1"
    )
    version, trained = _rows(postgres_env, newest)[0]
    _, trained_on_duckdb = _rows(app_env, newest)[0]
    # Each run trains its own model, so the training time tells the two
    # warehouses apart even where their data are equal.
    assert f"{trained:%Y-%m-%d %H:%M:%S}" != f"{trained_on_duckdb:%Y-%m-%d %H:%M:%S}"
    _open(page, f"{postgres_url}/model", "Model")
    _drawn(page)
    expect(page.get_by_text("Model in service:")).to_contain_text(
        f"{version}, trained {trained:%Y-%m-%d %H:%M:%S}"
    )

    player_id, hits, home_runs = _rows(
        postgres_env,
        "select player_id, hits, home_runs from marts.fct_batting_careers "
        "where season_type = 'regular' order by hits desc, player_id limit 1",
    )[0]
    _open(page, f"{postgres_url}/players", "Players and teams")
    _drawn(page)
    _shows(page, "Career of", f"{player_id}: ")
    _shows(page, "Career of", f"{hits} hits, {home_runs} home runs")
    assert not page.query_selector_all(EXCEPTION)


def test_league_filters_reach_the_payroll_chart(
    app_url, app_env, page, artifacts
) -> None:
    first, last = _rows(
        app_env,
        "select min(season), max(season) from marts.fct_team_seasons "
        "where payroll_usd is not null",
    )[0]
    teams = [
        team
        for (team,) in _rows(
            app_env,
            "select team_id from marts.fct_team_seasons where payroll_usd is not "
            "null group by team_id order by count(*) desc, team_id limit 2",
        )
    ]
    _open(page, f"{app_url}/league", "League trends")
    _drawn(page)
    # The default window is the last seasons of every team: widen it to the
    # first season with a payroll, pull its end back, and keep two teams.
    thumbs = page.locator(".st-key-payroll_seasons input[type=range]")
    thumbs.nth(0).press("Home")
    _shows(page, "Shown:", f"{first}-{last}, teams: all.")
    for _ in range(3):
        thumbs.nth(1).press("ArrowLeft")
    start, end = first, last - 3
    _shows(page, "Shown:", f"{start}-{end}, teams: all.")
    for team in teams:
        _choose(page, "payroll_teams", team)
    page.keyboard.press("Escape")
    chosen = _rows(
        app_env,
        "select team_id, season from marts.fct_team_seasons where payroll_usd is "
        f"not null and team_id in ({', '.join('?' for _ in teams)}) "
        "and season between ? and ? order by season, team_id",
        (*teams, start, end),
    )
    _shows(
        page,
        "Shown:",
        f"Shown: {len(chosen)} team-seasons, {start}-{end}, teams: {', '.join(teams)}.",
    )
    # The scatter's points (team and season are its hover data) must be
    # exactly the chosen team-seasons; the caption alone could say so while
    # the chart lagged behind.
    points = _chart(
        page,
        "payroll_chart",
        "(el, n) => el.data[0].customdata.length === n",
        "el => el.data[0].customdata.map(p => [p[0], p[1]])",
        len(chosen),
    )
    page.screenshot(path=str(artifacts / "app-league-filtered.png"), full_page=True)
    assert sorted(map(tuple, points)) == sorted(
        (team, int(season)) for team, season in chosen
    )
    assert not page.query_selector_all(EXCEPTION)


def test_players_page_shows_the_chosen_career(
    app_url, app_env, page, artifacts
) -> None:
    leaders = _rows(
        app_env,
        "select c.player_id, p.full_name, c.first_season, c.last_season, "
        "c.season_count, c.games, c.hits, c.home_runs "
        "from marts.fct_batting_careers as c "
        "left join marts.dim_players as p on p.player_id = c.player_id "
        "where c.season_type = 'regular' order by c.hits desc, c.player_id limit 2",
    )
    # The second: the first is what the page shows before anything is chosen.
    player_id, name, first, last, seasons, games, hits, home_runs = leaders[1]
    label = f"{name or player_id} ({first}-{last})"
    _open(page, f"{app_url}/players", "Players and teams")
    _drawn(page)
    _shows(page, "Career of", f"{leaders[0][0]}: ")
    _choose(page, "player", label, typed=name or player_id)
    _shows(
        page,
        "Career of",
        f"Career of {label}, {player_id}: {seasons} seasons, {games} games, "
        f"{hits} hits, {home_runs} home runs",
    )
    seasons_played = [
        season
        for (season,) in _rows(
            app_env,
            "select season from marts.fct_batting_seasons "
            "where player_id = ? and season_type = 'regular' order by season",
            (player_id,),
        )
    ]
    # The chart's first line (OPS) has a point for each of those seasons.
    points = _chart(
        page,
        "player_chart",
        "(el, label) => el.layout.title.text.includes(label)",
        "el => Array.from(el._fullData[0].x)",
        label,
    )
    page.screenshot(path=str(artifacts / "app-players-chosen.png"), full_page=True)
    assert points == seasons_played
    assert not page.query_selector_all(EXCEPTION)


def test_model_page_explains_the_chosen_player(
    app_url, app_env, page, artifacts
) -> None:
    [(version,)] = _rows(
        app_env,
        "select model_version from ml.ml_training_runs "
        "order by trained_at desc, model_version limit 1",
    )
    [(season,)] = _rows(
        app_env,
        "select max(target_season) from ml.ml_shap_contributions "
        "where model_version = ?",
        (version,),
    )
    explained = _rows(
        app_env,
        "select e.player_id, p.full_name, r.predicted_ops, e.split "
        "from (select distinct player_id, target_season, split "
        "from ml.ml_shap_contributions where model_version = ? "
        "and target_season = ?) as e "
        "join ml.ml_predictions as r on r.player_id = e.player_id "
        "and r.target_season = e.target_season and r.model_version = ? "
        "left join marts.dim_players as p on p.player_id = e.player_id "
        "order by r.predicted_ops desc, e.player_id limit 2",
        (version, season, version),
    )
    player_id, name, predicted, split = explained[1]
    [(marcel,)] = _rows(
        app_env,
        "select max(marcel_ops) from ml.ml_shap_contributions "
        "where model_version = ? and player_id = ? and target_season = ?",
        (version, player_id, season),
    )
    label = f"{name or player_id} (predicted OPS {predicted:.3f}, {split})"
    _open(page, f"{app_url}/model", "Model")
    _drawn(page)
    _shows(page, "Explained:", f"Explained: {explained[0][0]} in {season}")
    _choose(page, "explained_player", label, typed=name or player_id)
    _shows(
        page,
        "Explained:",
        f"Explained: {player_id} in {season}, predicted OPS {predicted:.3f} in "
        f"ml.ml_predictions, Marcel {marcel:.3f}",
    )
    # The waterfall is of that prediction, ending at the model's value.
    title = _chart(
        page,
        "shap_player",
        "(el, label) => el.layout.title.text.includes(label)",
        "el => el.layout.title.text",
        label,
    )
    assert f"Marcel {marcel:.3f}, model " in title
    page.screenshot(path=str(artifacts / "app-model-explained.png"), full_page=True)
    assert not page.query_selector_all(EXCEPTION)


def test_model_kill_switch_withholds_the_forecasts(
    app_env, browser, tmp_path, artifacts
) -> None:
    # A control file and audit log of its own, so the shared build's stay
    # as the other suites expect them.
    env = {
        **app_env,
        "DIAMOND_CONTROLS": str(tmp_path / "controls.json"),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }

    def switch(state: str) -> None:
        done = run_diamond(
            env,
            *("governance", "kill-switch", "model", state),
            *("--reason", f"dashboard test: {state}"),
        )
        assert done.returncode == 0, done.stderr[-3000:]

    switch("off")
    served = _serve_app(env)
    url = next(served)
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        _open(page, f"{url}/model", "Model")
        _drawn(page)
        notice = page.locator(NOTE).filter(has_text="The model is out of service (")
        expect(notice).to_contain_text("dashboard test: off")
        page.get_by_text("Marcel's projections, in place of the model's").wait_for()
        [(season, players)] = _rows(
            env,
            "select target_season, count(*) from ml.ml_predictions "
            "where model_version = (select model_version from ml.ml_training_runs "
            "order by trained_at desc, model_version limit 1) "
            "group by target_season order by target_season desc limit 1",
        )
        _shows(
            page,
            "Marcel's projections:",
            f"Marcel's projections: {players} players in {season}",
        )
        page.get_by_text("Withheld while the model is out of service.").wait_for()
        assert not page.get_by_text("Explained:").count()
        page.screenshot(path=str(artifacts / "app-model-out-of-service.png"))
        assert not page.query_selector_all(EXCEPTION)

        # Read on every page view: back in service without a restart.
        switch("on")
        page.reload()
        _drawn(page)
        page.get_by_text("Model in service:").wait_for()
        _caption(page, "Explained:").wait_for()
        assert not notice.count()
    finally:
        context.close()
        served.close()


def test_dashboard_reads_the_version_in_service(app_env, monkeypatch) -> None:
    """The version the Model page names (and whose Marcel projections it
    shows out of service) is the one in service: with no pin, the newest."""
    # The dashboard is a Streamlit script folder, not an installed package.
    monkeypatch.syspath_prepend(str(ROOT))
    from app import data

    for name in ("DIAMOND_TARGET", "DIAMOND_DUCKDB_PATH", "DBT_TARGET_PATH"):
        monkeypatch.setenv(name, app_env[name])
    [(newest,)] = _rows(
        app_env,
        "select model_version from ml.ml_training_runs "
        "order by trained_at desc, model_version limit 1",
    )
    assert data.model_version() == newest
    projections = data.marcel_projections()
    assert "predicted_ops" not in projections
    expected = _rows(
        app_env,
        "select player_id, target_season, marcel_ops from ml.ml_predictions "
        "where model_version = ? order by target_season, player_id",
        (newest,),
    )
    shown = projections.sort_values(["target_season", "player_id"])
    assert list(
        shown[["player_id", "target_season", "marcel_ops"]].itertuples(index=False)
    ) == [tuple(r) for r in expected]


def test_lineage_traces_the_chosen_column_downstream(
    app_url, app_env, page, artifacts
) -> None:
    from governance.lineage.impact import downstream

    relation = "stg_lahman__people"
    target = Path(app_env["DBT_TARGET_PATH"])
    manifest = json.loads((target / "manifest.json").read_text())
    [node] = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"] == relation
    ]
    personal = sorted(
        name
        for name, column in node["columns"].items()
        if (column.get("meta") or {}).get("contains_pii") is True
        or (column.get("meta") or {}).get("pii_type")
    )
    # Not the first: that is the page's default.
    column = personal[1]
    catalog = target / "catalog.json"
    impact = downstream(
        manifest,
        f"{relation}.{column}",
        catalog=str(catalog) if catalog.is_file() else None,
    )
    reached = sorted({n.name for n in impact.downstream_nodes()})
    assert reached, f"nothing downstream of {relation}.{column} in the manifest"

    _open(page, f"{app_url}/lineage", "Lineage")
    _drawn(page)
    _choose(page, "lineage_relation", relation)
    page.get_by_text(f"Column of {relation} (personal ones first)").wait_for()
    _choose(page, "lineage_column", f"{column} (personal)", typed=column)
    page.get_by_role("button", name="Trace it downstream").click()
    _shows(
        page,
        "Downstream of",
        f"Downstream of {relation}.{column}: "
        f"{len(impact.downstream_nodes())} node(s) in {len(reached)} "
        f"relation(s): {', '.join(reached)}.",
    )
    # The column-level graph: the chosen column and every node downstream.
    labels = _chart(
        page,
        "column_flow",
        "(el, label) => el.data.length == 2 && el.data[1].text.includes(label)",
        "el => el.data[1].text",
        f"{relation}.{column}",
    )
    assert sorted(labels) == sorted(
        f"{n.name}.{n.column}" if n.column else n.name for n in impact.nodes.values()
    )
    page.screenshot(path=str(artifacts / "app-lineage-traced.png"), full_page=True)
    assert not page.query_selector_all(EXCEPTION)


def test_assistant_answers_with_a_source_and_takes_feedback(
    app_url, app_env, page, artifacts
) -> None:
    _open(page, f"{app_url}/assistant", "Assistant")
    question = page.get_by_test_id("stChatInputTextArea")
    question.fill("What is WHIP?")
    question.press("Enter")
    answer = page.get_by_test_id("stChatMessage").nth(1)
    answer.get_by_text("Sources", exact=True).wait_for()
    assert "walks plus hits" in answer.inner_text().lower()
    assert "rag/guide/pitching.md#whip" in answer.inner_text()
    answer.locator("button").first.click()
    page.get_by_text("feedback recorded").wait_for()
    page.screenshot(path=str(artifacts / "app-assistant-answer.png"), full_page=True)
    assert not page.query_selector_all(EXCEPTION)
    traces = Path(app_env["DBT_TARGET_PATH"]) / "rag" / "traces.jsonl"
    records = [json.loads(line) for line in traces.read_text().splitlines() if line]
    asked = [r for r in records if r.get("question") == "What is WHIP?"]
    assert asked, "the question left no trace"
    verdicts = [
        r
        for r in records
        if r.get("kind") == "feedback" and r["trace_id"] == asked[-1]["trace_id"]
    ]
    assert verdicts and verdicts[-1]["score"] == 1


def test_observability_counts_the_traced_question(app_url, page, artifacts) -> None:
    _open(page, f"{app_url}/observability", "LLM observability")
    page.get_by_text("p95 latency").first.wait_for()
    _drawn(page)
    _charts(page, 2)
    page.screenshot(path=str(artifacts / "app-observability-traced.png"))
    assert not page.query_selector_all(EXCEPTION)


def test_pages_explain_missing_data(tmp_path, browser, artifacts) -> None:
    env = {
        **os.environ,
        "DIAMOND_TARGET": "duckdb",
        "DIAMOND_DUCKDB_PATH": str(tmp_path / "none" / "diamond.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    served = _serve_app(env)
    url = next(served)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        for path, title, _, _ in PAGES:
            _open(page, f"{url}/{path}", title)
            _drawn(page)
            page.screenshot(path=str(artifacts / f"app-empty-{path or 'home'}.png"))
            assert not page.query_selector_all(EXCEPTION), f"/{path}"
            notes = " ".join(n.inner_text() for n in page.query_selector_all(NOTE))
            # Each page names the command that produces what it lacks.
            assert "diamond " in notes, f"/{path} explains nothing: {notes!r}"
        context.close()
    finally:
        served.close()


def test_diamond_app_command_serves_the_dashboard(app_env, browser) -> None:
    port = free_port()
    command = [str(BIN / "diamond"), "app", "--port", str(port), "--target", "duckdb"]
    # `diamond app` becomes the server, so stopping it stops Streamlit.
    with serving(command, app_env, port, "/_stcore/health", 60) as url:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        _open(page, f"{url}/league", "League trends")
        _drawn(page)
        assert not page.query_selector_all(EXCEPTION)
        context.close()


def _chart_data(env: dict[str, str]) -> set[str]:
    """The charts whose data the build in ``env`` holds, found from the
    warehouse and the target folder rather than from the chart code."""
    target = Path(env["DBT_TARGET_PATH"])
    present = set(CORE_CHARTS)
    [(history,)] = _rows(
        env,
        "select count(*) from information_schema.tables "
        "where table_schema = 'governance' and table_name = 'drift_history'",
    )
    if history and _rows(
        env, "select 1 from governance.drift_history where is_deciding limit 1"
    ):
        present.add("drift_history")
    report = target / "drift" / "report.json"
    if report.is_file() and json.loads(report.read_text()).get("results"):
        present.add("drift_verdicts")
    traces = target / "rag" / "traces.jsonl"
    if (target / "rag" / "eval.json").is_file() or (
        traces.is_file() and traces.read_text().strip()
    ):
        present.add("llm_observability")
    return present


def test_run_writes_the_charts(duckdb_run, duckdb_built) -> None:
    """`diamond run` itself leaves the PNGs (this suite's own chart test,
    below, writes them again afterwards)."""
    expected = _chart_data(duckdb_built)
    match = re.search(r"wrote (\d+) chart\(s\) to (\S+)", duckdb_run.stderr)
    assert match, duckdb_run.stderr[-3000:]
    assert int(match.group(1)) == len(expected)
    assert re.search(r"step \d+/\d+ \(dashboard charts\) done", duckdb_run.stderr)
    # The run's target folder was copied aside as soon as it finished.
    folder = Path(duckdb_built["DBT_TARGET_PATH"]) / "charts"
    assert sorted(p.stem for p in folder.glob("*.png")) == sorted(expected)


def test_charts_written_as_png(duckdb_built) -> None:
    scratch = duckdb_built
    done = run_diamond(scratch, "app", "--charts", timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    folder = Path(scratch["DBT_TARGET_PATH"]) / "charts"
    expected = _chart_data(scratch)
    written = sorted(p.name for p in folder.glob("*.png"))
    assert written == sorted(f"{name}.png" for name in expected), done.stderr
    for name in written:
        content = (folder / name).read_bytes()
        assert content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) > 10_000
    for name in set(CHARTS) - expected:
        assert f"chart {name}.png skipped" in done.stderr, done.stderr


def test_charts_name_what_they_skip(tmp_path) -> None:
    # A warehouse with nothing built in it, so each chart's own gap is
    # named rather than the missing file.
    empty = tmp_path / "diamond.duckdb"
    duckdb.connect(str(empty)).close()
    env = {
        **os.environ,
        "DIAMOND_TARGET": "duckdb",
        "DIAMOND_DUCKDB_PATH": str(empty),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    env.pop("DIAMOND_RUN_ID", None)
    done = run_diamond(env, "app", "--charts", timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stderr.splitlines()
    commands = {
        "drift_history": "diamond drift check",
        "drift_verdicts": "diamond drift check",
        "llm_observability": "diamond rag eval",
    }
    for name in CHARTS:
        [line] = [line for line in lines if f"chart {name}.png skipped" in line]
        # Each says what to run to produce the missing data.
        assert f"run `{commands.get(name, 'diamond ')}" in line, line
    assert "wrote 0 chart(s)" in done.stderr
    assert not list((tmp_path / "target" / "charts").glob("*.png"))


def test_docs_site_renders_in_browser(
    duckdb_built, browser, artifacts, tmp_path
) -> None:
    scratch = duckdb_built
    # A copy of the build's target folder, so that `docs generate` can
    # overwrite run_results.json without the other suites seeing it.
    docs_target = tmp_path / "target"
    shutil.copytree(
        scratch["DBT_TARGET_PATH"],
        docs_target,
        ignore=shutil.ignore_patterns("rag", "charts", "lineage"),
    )
    env = {**scratch, "DBT_TARGET_PATH": str(docs_target)}
    with serve_docs(env) as site:
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(f"{site}/#!/model/model.diamond.dim_players")
        page.locator(".model-title, h1", has_text="dim_players").first.wait_for()
        page.get_by_text("birth_country").first.wait_for()
        page.screenshot(path=str(artifacts / "dbt-docs-dim_players.png"))
        assert "dbt" in page.title().lower()
        context.close()
