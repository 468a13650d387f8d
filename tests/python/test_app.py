"""The dashboard and the dbt docs site, driven in a real browser.

The dashboard (``app/Home.py``) is served by Streamlit against the scratch
warehouse that ``diamond run`` builds once per session (the ``duckdb_run``
fixture), and every page is opened in headless Chromium through
Playwright: it must load without a Streamlit exception and show its key
element. The assistant must answer a question with a source and take a
verdict; a second server over an empty target folder must explain, page by
page, which command produces the missing data. ``diamond docs --serve`` is
checked the same way. Screenshots of every page are kept as test artifacts
in ``$DIAMOND_TEST_ARTIFACTS`` (default: a ``test-artifacts`` folder under
pytest's temporary directory).

Chromium is Debian's (``apt-get install -y chromium``), never a browser
downloaded by Playwright; without it the tests fail and say how to install
it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BIN, ROOT, run_diamond

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
PAGE_TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, server: subprocess.Popen, seconds: float) -> None:
    """Wait until ``url`` answers 200, failing early if the server died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read() if server.stdout else ""
            pytest.fail(f"the server exited with {server.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {seconds:.0f}s")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def _serve_app(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app" / "Home.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", server, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)


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


@pytest.fixture(scope="module")
def app_env(duckdb_built: dict[str, str]) -> dict[str, str]:
    env = {**duckdb_built, "DIAMOND_TARGET": "duckdb"}
    env.pop("DIAMOND_RUN_ID", None)
    return env


@pytest.fixture(scope="module")
def app_url(app_env: dict[str, str]) -> Iterator[str]:
    """The dashboard over the built scratch warehouse."""
    yield from _serve_app(app_env)


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


@pytest.mark.parametrize(
    ("path", "title", "marker", "charts"), PAGES, ids=[p[0] or "home" for p in PAGES]
)
def test_page_loads_and_shows_its_key_element(
    app_url, page, artifacts, path, title, marker, charts
) -> None:
    _open(page, f"{app_url}/{path}", title)
    _drawn(page)
    if not page.query_selector_all(EXCEPTION):
        _charts(page, charts)
    page.screenshot(path=str(artifacts / f"app-{path or 'home'}.png"), full_page=True)
    errors = [e.inner_text() for e in page.query_selector_all(EXCEPTION)]
    assert not errors, f"/{path} shows a Streamlit exception:\n" + "\n".join(errors)
    assert page.get_by_text(marker).count(), f"/{path} does not show {marker!r}"
    assert len(page.query_selector_all(PLOTLY)) >= charts


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
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "diamond"), "app", "--port", str(port), "--target", "duckdb"],
        cwd=ROOT,
        env=app_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", server, 60)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        _open(page, f"http://127.0.0.1:{port}/league", "League trends")
        _drawn(page)
        assert not page.query_selector_all(EXCEPTION)
        context.close()
    finally:
        # `diamond app` becomes the server, so stopping it stops Streamlit.
        _stop(server)


def test_charts_written_as_png(duckdb_built) -> None:
    scratch = duckdb_built
    done = run_diamond(scratch, "app", "--charts", timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    folder = Path(scratch["DBT_TARGET_PATH"]) / "charts"
    written = sorted(p.name for p in folder.glob("*.png"))
    assert written == sorted(
        f"{name}.png"
        for name in (
            "league_trends",
            "runs_by_era",
            "payroll_vs_wins",
            "model_metrics",
            "shap_summary",
            "fairness",
        )
    )
    for name in written:
        content = (folder / name).read_bytes()
        assert content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) > 10_000


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
    port = _free_port()
    server = subprocess.Popen(
        [
            str(BIN / "diamond"),
            "docs",
            "--target",
            "duckdb",
            "--serve",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/catalog.json", server, 240)
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(f"http://127.0.0.1:{port}/#!/model/model.diamond.dim_players")
        page.locator(".model-title, h1", has_text="dim_players").first.wait_for()
        page.get_by_text("birth_country").first.wait_for()
        page.screenshot(path=str(artifacts / "dbt-docs-dim_players.png"))
        assert "dbt" in page.title().lower()
        context.close()
    finally:
        _stop(server)
