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
page, which command produces the missing data (never that data cannot be
read), and a server aimed at Athena must say on each page that it reads
DuckDB or Postgres. After a full build ``diamond app --charts`` must write
every PNG chart. No SQL in ``app/`` may read the raw or staging schemas,
so personal data reach the pages only as the masked marts give them.
``diamond docs --serve`` is checked the same way. Screenshots of every page,
and of the page a failing test left open, are kept as test artifacts in
``$DIAMOND_TEST_ARTIFACTS`` (default: a ``test-artifacts`` folder under
pytest's temporary directory).

Chromium is Debian's (``apt-get install -y chromium``), never a browser
downloaded by Playwright; without it the tests fail and say how to install
it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
from playwright.sync_api import Error as PlaywrightError
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
#: Opening words of the note on data not produced yet, and words of the
#: one on data that exists but cannot be read (app/ui.py).
NOT_BUILT = "Not built yet"
UNREADABLE = "cannot be read"
#: Words of the note every page shows when its warehouse is Athena.
NOT_QUERIED = "reads the DuckDB or Postgres warehouse"
METRIC = "stMetric"
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
#: Schemas the dashboard's SQL may name: the masked marts, the model's
#: outputs, governance records and the catalogue. Never raw, staging or
#: intermediate, which hold personal data unmasked.
READABLE_SCHEMAS = {"marts", "ml", "governance", "information_schema"}


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


def _shot(page, artifacts: Path, name: str, *, full_page: bool = True) -> None:
    """Save what ``page`` shows as ``<artifacts>/<name>.png``."""
    safe = re.sub(r"[^\w.-]+", "-", name).strip("-")
    page.screenshot(path=str(artifacts / f"{safe}.png"), full_page=full_page)


def _failure_shot(page, artifacts: Path, name: str) -> None:
    """Like :func:`_shot` for a test that failed; a page too broken to be
    photographed must not hide the failure that matters."""
    try:
        _shot(page, artifacts, f"failed-{name}")
    except PlaywrightError as error:
        print(f"no screenshot of the failed {name}: {error}", file=sys.stderr)


@contextmanager
def _browsing(browser, artifacts: Path, name: str, height: int = 2400) -> Iterator[Any]:
    """A page in a context of its own; if the block fails, what the page
    showed then is kept as ``failed-<name>.png`` before the error goes on."""
    context = browser.new_context(viewport={"width": 1400, "height": height})
    opened = context.new_page()
    opened.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield opened
    except BaseException:
        _failure_shot(opened, artifacts, name)
        raise
    finally:
        context.close()


@pytest.fixture
def page(browser, artifacts, request):
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    opened = context.new_page()
    opened.set_default_timeout(PAGE_TIMEOUT_MS)
    failed = request.session.testsfailed
    try:
        yield opened
        # The test's own report is logged before its fixtures are torn
        # down, so a failure of this test has been counted by now.
        if request.session.testsfailed > failed:
            _failure_shot(opened, artifacts, request.node.name)
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


def _newest_version(env: dict[str, str]) -> str:
    """The model version trained last, which the pages show unless pinned."""
    [(version,)] = _rows(
        env,
        "select model_version from ml.ml_training_runs "
        "order by trained_at desc, model_version limit 1",
    )
    return version


def _dashboard_data(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The dashboard's data module, imported as its pages import it."""
    # The dashboard is a Streamlit script folder, not an installed package.
    monkeypatch.syspath_prepend(str(ROOT))
    from app import data

    return data


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


def _metric(page, label: str) -> str:
    """The value shown by the metric tile labelled ``label``."""
    tile = page.get_by_test_id(METRIC).filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return tile.get_by_test_id("stMetricValue").inner_text().strip()


def _everything_built(page, env: dict[str, str]) -> None:
    """After a full `diamond run` every part the home page lists is built."""
    rows = page.get_by_test_id("stTable").locator("tbody tr")
    parts = {
        row.locator("th").inner_text().strip(): row.locator("td").last.inner_text()
        for row in rows.all()
    }
    assert parts, "the home page lists no part of the platform"
    missing = sorted(part for part, built in parts.items() if built.strip() != "yes")
    assert not missing, f"after a full build the home page says not built: {missing}"


def _audit_chain_intact(page, env: dict[str, str]) -> None:
    """The audit log the build wrote verifies; records appended by later
    commands and not yet mirrored are allowed, damage is not."""
    expect(page.locator(NOTE).filter(has_text="Audit chain intact")).to_have_count(1)
    assert not page.get_by_text("Audit verification FAILED").count()


def _every_monitor_judged(page, env: dict[str, str]) -> None:
    """The verdicts tile counts every monitor of the build's drift check."""
    report = Path(env["DBT_TARGET_PATH"]) / "drift" / "report.json"
    results = json.loads(report.read_text())["results"]
    assert results, f"{report} holds no monitor result"
    assert _metric(page, "Monitors") == str(len(results))


def _evaluation_charted(page, env: dict[str, str]) -> None:
    """The golden-set evaluation of `diamond run` is drawn, not only listed."""
    page.locator(".st-key-eval_chart .js-plotly-plot").wait_for()
    assert not page.locator(NOTE).filter(has_text="Below the thresholds").count()


#: Checks of what a page shows beyond its key element, by address.
PAGE_CHECKS: dict[str, Callable[[Any, dict[str, str]], None]] = {
    "": _everything_built,
    "privacy": _audit_chain_intact,
    "drift": _every_monitor_judged,
    "observability": _evaluation_charted,
}


def _check_page(
    url: str,
    page,
    artifacts: Path,
    env: dict[str, str],
    page_spec: tuple[str, str, str, int],
) -> None:
    path, title, marker, charts = page_spec
    warehouse = env["DIAMOND_TARGET"]
    _open(page, f"{url}/{path}", title)
    _drawn(page)
    if not page.query_selector_all(EXCEPTION):
        _charts(page, charts)
    _shot(page, artifacts, f"app-{warehouse}-{path or 'home'}")
    errors = [e.inner_text() for e in page.query_selector_all(EXCEPTION)]
    assert not errors, f"/{path} shows a Streamlit exception:\n" + "\n".join(errors)
    assert page.get_by_text(marker).count(), f"/{path} does not show {marker!r}"
    assert len(page.query_selector_all(PLOTLY)) >= charts
    # The pages catch a failing query and say so in a note instead of
    # raising, so a warehouse the dashboard cannot read shows up here.
    notes = page.locator(NOTE).all_inner_texts()
    unread = [n for n in notes if UNREADABLE in n or NOT_BUILT in n]
    assert not unread, f"/{path} on {warehouse} lacks data: {unread}"
    # Each page's header names the warehouse it read.
    captions = page.get_by_test_id(CAPTION).all_inner_texts()
    assert any(c.endswith(f"Warehouse: {warehouse}.") for c in captions), (
        f"/{path} does not say it reads {warehouse}: {captions}"
    )
    if path in PAGE_CHECKS:
        PAGE_CHECKS[path](page, env)


@pytest.mark.parametrize(
    ("path", "title", "marker", "charts"), PAGES, ids=[p[0] or "home" for p in PAGES]
)
def test_page_loads_and_shows_its_key_element(
    app_url, app_env, page, artifacts, path, title, marker, charts
) -> None:
    _check_page(app_url, page, artifacts, app_env, (path, title, marker, charts))


@pytest.mark.parametrize(
    ("path", "title", "marker", "charts"), PAGES, ids=[p[0] or "home" for p in PAGES]
)
def test_page_loads_on_postgres(
    postgres_url, postgres_env, page, artifacts, path, title, marker, charts
) -> None:
    _check_page(
        postgres_url, page, artifacts, postgres_env, (path, title, marker, charts)
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


def test_league_choice_reaches_the_trend_chart(
    app_url, app_env, page, artifacts
) -> None:
    # Besides the two leagues shown by default, the one with most seasons.
    [(extra,)] = _rows(
        app_env,
        "select league_id from marts.fct_league_seasons where league_id is not "
        "null and league_id not in ('AL', 'NL') group by league_id "
        "order by count(*) desc, league_id limit 1",
    )
    chosen = ["AL", "NL", extra]
    seasons: dict[str, list[int]] = {}
    for league, season in _rows(
        app_env,
        "select league_id, season from marts.fct_league_seasons "
        "where league_id in (?, ?, ?) order by league_id, season",
        chosen,
    ):
        seasons.setdefault(league, []).append(int(season))
    _open(page, f"{app_url}/league", "League trends")
    _drawn(page)
    _choose(page, "leagues", extra)
    page.keyboard.press("Escape")
    # One line per league in each panel (home runs, strikeouts), each with
    # a point for every season of that league.
    lines = _chart(
        page,
        "trend_chart",
        "(el, n) => new Set(el._fullData.map(t => t.name)).size === n",
        "el => el._fullData.map(t => [t.name, Array.from(t.x)])",
        len(chosen),
    )
    _shot(page, artifacts, "app-league-chosen")
    assert sorted(name for name, _ in lines) == sorted(chosen * 2)
    for name, points in lines:
        assert sorted(int(x) for x in points) == seasons[name], name
    assert not page.query_selector_all(EXCEPTION)


def test_players_name_search_finds_the_player(
    app_url, app_env, page, artifacts
) -> None:
    careers = (
        "select c.player_id, p.full_name, c.first_season, c.last_season "
        "from marts.fct_batting_careers as c "
        "left join marts.dim_players as p on p.player_id = c.player_id "
        "where c.season_type = 'regular' "
        "and lower(coalesce(p.full_name, c.player_id)) like ? "
        "order by c.hits desc, c.player_id limit 1"
    )
    # The tenth name of the leaders, as the masked mart gives it: the search
    # runs on what the mart holds, never on a raw name.
    tenth = _rows(app_env, careers.replace("limit 1", "limit 10"), ("%",))[-1]
    typed = (tenth[1] or tenth[0]).split()[-1].lower()
    player_id, name, first, last = _rows(app_env, careers, (f"%{typed}%",))[0]
    _open(page, f"{app_url}/players", "Players and teams")
    _drawn(page)
    field = page.locator(".st-key-player_name input")
    field.fill(typed)
    field.press("Enter")
    _shows(
        page,
        "Career of",
        f"Career of {name or player_id} ({first}-{last}), {player_id}: ",
    )
    _shot(page, artifacts, "app-players-searched")
    field.fill("no player is called this")
    field.press("Enter")
    page.get_by_text("No player matches that name.").wait_for()
    expect(_caption(page, "Career of")).to_have_count(0)
    assert not page.query_selector_all(EXCEPTION)


def test_players_leaders_and_team_seasons_follow_their_widgets(
    app_url, app_env, page, artifacts
) -> None:
    [(first, last)] = _rows(
        app_env, "select min(season), max(season) from marts.fct_team_seasons"
    )
    categories = [
        c
        for (c,) in _rows(
            app_env,
            "select distinct category from marts.fct_season_leaders "
            "where season = ? order by category",
            (last,),
        )
    ]
    # Not home runs: that is the default.
    category = next(c for c in categories if c != "home_runs")
    leaders = _rows(
        app_env,
        "select player_id, league_id, team_id from marts.fct_season_leaders "
        "where season = ? and category = ? "
        "order by league_id, category_rank, player_id",
        (last, category),
    )
    assert leaders, f"no {category} leaders in {last}"
    _open(page, f"{app_url}/players", "Players and teams")
    _drawn(page)
    page.get_by_role("tab", name="Season leaders").click()
    _choose(page, "leaders_category", category)
    player_id, league, team = leaders[0]
    _shows(
        page,
        "Leaders:",
        f"Leaders: {len(leaders)} rows; first {player_id} ({league}, {team})",
    )

    season = last - 1
    teams = _rows(
        app_env,
        "select team_id, wins from marts.fct_team_seasons where season = ? "
        "order by wins desc, team_id",
        (season,),
    )
    assert season >= first and teams
    page.get_by_role("tab", name="Team seasons").click()
    page.locator(".st-key-team_season input[type=range]").press("ArrowLeft")
    _shows(
        page,
        "Team seasons:",
        f"Team seasons: {len(teams)} teams in {season}; most wins "
        f"{teams[0][0]} ({teams[0][1]}).",
    )
    _shot(page, artifacts, "app-players-team-season")
    assert not page.query_selector_all(EXCEPTION)


def test_fairness_attribute_redraws_its_groups(
    app_url, app_env, page, artifacts
) -> None:
    version = _newest_version(app_env)
    groups: dict[str, list[str]] = {}
    for attribute, group in _rows(
        app_env,
        "select attribute, group_name from ml.ml_fairness "
        "where model_version = ? order by attribute, group_name",
        (version,),
    ):
        groups.setdefault(attribute, []).append(group)
    assert len(groups) >= 2, f"ml.ml_fairness audits {sorted(groups)} only"
    # Not the first: that is the page's default.
    attribute = sorted(groups)[1]
    _open(page, f"{app_url}/fairness", "Fairness")
    _drawn(page)
    _choose(page, "fairness_attribute", attribute)
    shown = _chart(
        page,
        "fairness_chart",
        # Streamlit's theme wraps titles in <b>, so no startsWith.
        "(el, a) => el.layout.title.text.includes(`MAE by ${a} (`)",
        "el => Array.from(el._fullData[0].x)",
        attribute,
    )
    _shot(page, artifacts, "app-fairness-chosen")
    assert shown == groups[attribute]
    assert not page.query_selector_all(EXCEPTION)


def test_drift_monitor_redraws_its_history(app_url, app_env, page, artifacts) -> None:
    checks: dict[str, list[str]] = {}
    for monitor, column, check in _rows(
        app_env,
        "select monitor, column_name, check_name from governance.drift_history "
        "where is_deciding",
    ):
        checks.setdefault(monitor, []).append(f"{column or '(relation)'} · {check}")
    assert len(checks) >= 2, f"drift history of {sorted(checks)} only"
    # Not the first: that is the page's default.
    monitor = sorted(checks)[1]
    _open(page, f"{app_url}/drift", "Drift")
    _drawn(page)
    _choose(page, "drift_monitor", monitor)
    # One line per check of the monitor, a point per deciding result.
    lines = _chart(
        page,
        "drift_history_chart",
        "(el, m) => el.layout.title.text.includes(`>${m}: each check`)",
        "el => el._fullData.map(t => [t.name, t.x.length])",
        monitor,
    )
    _shot(page, artifacts, "app-drift-chosen")
    expected = {series: checks[monitor].count(series) for series in checks[monitor]}
    assert dict(lines) == expected
    assert not page.query_selector_all(EXCEPTION)


def test_lineage_hops_resize_the_graph(app_url, app_env, page, artifacts) -> None:
    from governance.lineage.graph import build_graph

    manifest = json.loads(
        (Path(app_env["DBT_TARGET_PATH"]) / "manifest.json").read_text()
    )
    size = {
        hops: (len(graph.nodes), len(graph.edges))
        for hops in (2, 3)
        for graph in [build_graph(manifest, "dim_players", hops)]
    }
    assert size[3] != size[2], f"a third hop adds nothing around dim_players: {size}"
    _open(page, f"{app_url}/lineage", "Lineage")
    _drawn(page)
    _shows(page, f"{size[2][0]} relations", f"{size[2][1]} edges")
    page.locator(".st-key-lineage_depth input[type=range]").press("ArrowRight")
    _shows(page, f"{size[3][0]} relations", f"{size[3][1]} edges")
    _shot(page, artifacts, "app-lineage-three-hops")
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
    version = _newest_version(app_env)
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
    try:
        with _browsing(browser, artifacts, "model-out-of-service") as page:
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
        served.close()


def test_dashboard_reads_the_version_in_service(app_env, monkeypatch) -> None:
    """The version the Model page names (and whose Marcel projections it
    shows out of service) is the one in service: with no pin, the newest."""
    data = _dashboard_data(monkeypatch)
    for name in ("DIAMOND_TARGET", "DIAMOND_DUCKDB_PATH", "DBT_TARGET_PATH"):
        monkeypatch.setenv(name, app_env[name])
    newest = _newest_version(app_env)
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


def _trace(question: str, total_ms: float, *, refused: bool) -> dict[str, Any]:
    """A trace as the assistant writes one (rag.assistant.Assistant._trace)."""
    from rag import traces

    return {
        "trace_id": traces.new_trace_id(),
        "asked_at": traces.now(),
        "question": question,
        "answerer": "extractive",
        "model": None,
        "index_version": "dashboard-test",
        "refused": refused,
        "groundedness": 0.0 if refused else 0.75,
        "hallucinated": False,
        "timings_ms": {
            "retrieve": total_ms / 2,
            "fuse": 1.0,
            "answer": total_ms / 2 - 1.0,
            "total": total_ms,
        },
        "usage": {},
        "retrieved": [],
        "citations": [],
        "answer": "",
        "warnings": [],
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def test_observability_counts_the_traced_question(
    app_url, app_env, page, artifacts
) -> None:
    from rag import traces

    target = Path(app_env["DBT_TARGET_PATH"])
    # Traces of its own, so the tiles move whatever ran before: a slow
    # answer and a refusal. Only the file, which the page reads: a write to
    # the warehouse copy could meet the server's read-only connections.
    written = [
        _trace("How slow can an answer be?", 4321.0, refused=False),
        _trace("Who will win the next World Series?", 12.5, refused=True),
    ]
    for trace in written:
        assert not traces.record(trace, target, warehouse=False)
    everything = traces.read(traces.traces_path(target))
    assert {t["trace_id"] for t in written} <= {t["trace_id"] for t in everything}
    expected = traces.stats(everything)

    _open(page, f"{app_url}/observability", "LLM observability")
    _drawn(page)
    _charts(page, 2)
    shown = {
        label: _metric(page, label)
        for label in (
            "Questions",
            "p50 latency",
            "p95 latency",
            "Groundedness",
            "Hallucination rate",
            "Refusal rate",
        )
    }
    assert shown == {
        "Questions": str(expected["questions"]),
        "p50 latency": _ms(expected["total_ms_p50"]),
        "p95 latency": _ms(expected["total_ms_p95"]),
        "Groundedness": _rate(expected["groundedness"]),
        "Hallucination rate": _rate(expected["hallucination_rate"]),
        "Refusal rate": _rate(expected["refusal_rate"]),
    }

    # The rolling window: at its smallest, the newest point of the p95 line
    # is the p95 of the last five questions' latencies.
    page.locator(".st-key-latency_window input[type=range]").press("Home")
    timed = sorted(
        (
            t
            for t in everything
            if isinstance((t.get("timings_ms") or {}).get("total"), int | float)
        ),
        key=lambda t: t["asked_at"],
    )
    last = traces.percentile([t["timings_ms"]["total"] for t in timed[-5:]], 95)
    newest = _chart(
        page,
        "latency_chart",
        "el => el.layout.title.text.includes('over the last 5 questions')",
        "el => el._fullData.filter(t => t.name === 'p95_ms').map("
        "t => t.y[t.y.length - 1])",
    )
    _shot(page, artifacts, "app-observability-traced")
    assert newest == [pytest.approx(last)]
    assert not page.query_selector_all(EXCEPTION)


def _visit_every_page(
    url: str, browser, artifacts: Path, name: str, check: Callable[[Any, str], None]
) -> None:
    """Open every page at ``url``, save it as ``app-<name>-<page>.png`` and
    run ``check`` (the page, its address) on it."""
    with _browsing(browser, artifacts, name, height=1600) as page:
        for path, title, _, _ in PAGES:
            _open(page, f"{url}/{path}", title)
            _drawn(page)
            _shot(page, artifacts, f"app-{name}-{path or 'home'}", full_page=False)
            errors = page.locator(EXCEPTION).all_inner_texts()
            assert not errors, f"/{path} shows a Streamlit exception: {errors}"
            check(page, path)


def test_pages_explain_missing_data(tmp_path, browser, artifacts) -> None:
    env = {
        **os.environ,
        "DIAMOND_TARGET": "duckdb",
        "DIAMOND_DUCKDB_PATH": str(tmp_path / "none" / "diamond.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }

    def explains(page, path: str) -> None:
        notes = page.locator(NOTE).all_inner_texts()
        # Missing data is named with the command producing it, and never
        # passed off as data that exists but cannot be read.
        missing = [n for n in notes if n.startswith(f"{NOT_BUILT}:")]
        assert missing, f"/{path} explains nothing: {notes!r}"
        assert all("Produce it with diamond " in n for n in missing), missing
        unread = [n for n in notes if UNREADABLE in n]
        assert not unread, f"/{path} cannot read data that is absent: {unread}"

    served = _serve_app(env)
    try:
        _visit_every_page(next(served), browser, artifacts, "empty", explains)
    finally:
        served.close()


def test_pages_on_athena_say_what_they_read(tmp_path, browser, artifacts) -> None:
    env = {
        **os.environ,
        "DIAMOND_TARGET": "athena",
        "DIAMOND_DUCKDB_PATH": str(tmp_path / "none" / "diamond.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }

    def says_once(page, path: str) -> None:
        notes = page.locator(NOTE).all_inner_texts()
        told = [n for n in notes if NOT_QUERIED in n]
        assert len(told) == 1, f"/{path} should say once what it reads: {notes!r}"
        assert "diamond app --target duckdb" in told[0], told[0]
        unread = [n for n in notes if UNREADABLE in n]
        assert not unread, f"/{path} tries to query Athena: {unread}"

    served = _serve_app(env)
    try:
        _visit_every_page(next(served), browser, artifacts, "athena", says_once)
    finally:
        served.close()


def test_only_duckdb_and_postgres_are_queried(monkeypatch, tmp_path) -> None:
    data = _dashboard_data(monkeypatch)
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "diamond.duckdb"))
    duckdb.connect(str(tmp_path / "diamond.duckdb")).close()
    monkeypatch.setenv("DIAMOND_TARGET", "athena")
    note = data.target_note()
    assert note is not None and NOT_QUERIED in note
    assert "diamond app --target duckdb" in note and "DIAMOND_TARGET" in note
    with pytest.raises(data.UnqueriedTargetError):
        data.frame("select 1 as one")
    monkeypatch.setenv("DIAMOND_TARGET", "duckdb")
    assert data.target_note() is None
    assert data.frame("select 1 as one")["one"].tolist() == [1]
    monkeypatch.setenv("DIAMOND_TARGET", "postgres")
    assert data.target_note() is None


def test_sections_tell_missing_from_unreadable_from_broken(monkeypatch) -> None:
    """A section whose data is missing names the command producing it; one
    whose data cannot be read says so; any other error is a fault of the
    page and stops it where a reader (and the browser tests) can see it."""
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("DIAMOND_TARGET", "duckdb")
    # AppTest runs the script as __main__ and leaves it there; processes
    # that later tests spawn would then re-run that script, not pytest.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        from app import data, ui

        def missing() -> None:
            raise data.NotBuiltError("marts.fct_league_seasons", "diamond run")

        def locked() -> None:
            raise OSError("locked by a build")

        def broken() -> None:
            return {}["no such column"]

        ui.attempt(missing, fresh=True)
        ui.attempt(locked, fresh=True)
        ui.attempt(broken, fresh=True)
        ui.footer()

    run = AppTest.from_function(script).run(timeout=60)
    assert [note.value for note in run.info] == [
        f"{NOT_BUILT}: **marts.fct_league_seasons**. Produce it with "
        "`diamond run`, then reload this page."
    ]
    [unread] = [note.value for note in run.warning]
    assert UNREADABLE in unread and "locked by a build" in unread
    assert [error.message for error in run.exception] == ["'no such column'"]
    assert not [c for c in run.caption if FOOTER in c.value]


def test_diamond_app_command_serves_the_dashboard(app_env, browser, artifacts) -> None:
    port = free_port()
    command = [str(BIN / "diamond"), "app", "--port", str(port), "--target", "duckdb"]
    # `diamond app` becomes the server, so stopping it stops Streamlit.
    with (
        serving(command, app_env, port, "/_stcore/health", 60) as url,
        _browsing(browser, artifacts, "diamond-app") as page,
    ):
        _open(page, f"{url}/league", "League trends")
        _drawn(page)
        assert not page.query_selector_all(EXCEPTION)


def test_run_writes_the_charts(duckdb_run, duckdb_built) -> None:
    """`diamond run` itself leaves every PNG: a full build produces the data
    of each chart (this suite's own chart test, below, writes them again
    afterwards)."""
    match = re.search(r"wrote (\d+) chart\(s\) to (\S+)", duckdb_run.stderr)
    assert match, duckdb_run.stderr[-3000:]
    skipped = re.findall(r"chart \S+ skipped: .*", duckdb_run.stderr)
    assert not skipped, skipped
    assert int(match.group(1)) == len(CHARTS)
    assert re.search(r"step \d+/\d+ \(dashboard charts\) done", duckdb_run.stderr)
    # The run's target folder was copied aside as soon as it finished.
    folder = Path(duckdb_built["DBT_TARGET_PATH"]) / "charts"
    assert sorted(p.stem for p in folder.glob("*.png")) == sorted(CHARTS)


def test_charts_written_as_png(duckdb_built) -> None:
    scratch = duckdb_built
    done = run_diamond(scratch, "app", "--charts", timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "skipped" not in done.stderr, done.stderr
    folder = Path(scratch["DBT_TARGET_PATH"]) / "charts"
    written = sorted(p.name for p in folder.glob("*.png"))
    assert written == sorted(f"{name}.png" for name in CHARTS), done.stderr
    for name in written:
        content = (folder / name).read_bytes()
        assert content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) > 10_000


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


#: A relation named in SQL: the schema after ``from`` or ``join``.
_READ = re.compile(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)\.[a-z_]", re.IGNORECASE)
#: Helpers of app/data.py whose first argument is a schema they read.
_SCHEMA_READERS = {"require", "relations"}


def _schemas_read(source: str) -> set[str]:
    """Every schema the Python ``source`` names in SQL text, or passes to a
    helper that reads a schema by name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        # Adjacent literals arrive joined; an f-string's literal parts one
        # by one, which still keeps each ``from schema.`` whole.
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= {m.lower() for m in _READ.findall(node.value)}
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            first = node.args[0]
            if (
                name in _SCHEMA_READERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.add(first.value.lower())
    return found


def test_app_reads_only_masked_schemas() -> None:
    """Personal data reach the dashboard only as the masked marts give them:
    no SQL in app/ names raw, staging or intermediate."""
    # The scan itself must see a read of raw, or its silence means nothing.
    planted = (
        'sql = "select p.name_first from raw.people as p "\n'
        'other = f"select 1 from {x} join staging.stg_people on true"\n'
        'require("intermediate", "int_people")\n'
    )
    assert _schemas_read(planted) == {"raw", "staging", "intermediate"}
    sources = sorted((ROOT / "app").rglob("*.py"))
    read = {
        path.relative_to(ROOT).as_posix(): _schemas_read(path.read_text())
        for path in sources
    }
    assert "marts" in read["app/data.py"], "the scan finds no query at all"
    outside = {path: sorted(s - READABLE_SCHEMAS) for path, s in read.items()}
    assert not any(outside.values()), f"app/ reads unmasked schemas: {outside}"


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
    with (
        serve_docs(env) as site,
        _browsing(browser, artifacts, "dbt-docs", height=1200) as page,
    ):
        page.goto(f"{site}/#!/model/model.diamond.dim_players")
        page.locator(".model-title, h1", has_text="dim_players").first.wait_for()
        page.get_by_text("birth_country").first.wait_for()
        page.screenshot(path=str(artifacts / "dbt-docs-dim_players.png"))
        assert "dbt" in page.title().lower()
