"""Alert delivery: stdout, JSON lines and a webhook on a local HTTP server
that succeeds, fails then succeeds, or always fails; plus the runbook
rules the alerts are graded by."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from diamond.errors import ConfigError
from governance.drift import alerts
from governance.drift.incidents import RUNBOOK, load_rules, parse_rules


class Webhook:
    """A local HTTP server answering ``failures`` requests with 503, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.bodies: list[dict] = []
        self.attempts = 0
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                hook.attempts += 1
                if hook.attempts <= hook.failures:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.bodies.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def webhook(request: pytest.FixtureRequest) -> Iterator[Webhook]:
    hook = Webhook(getattr(request, "param", 0))
    yield hook
    hook.close()


def make_alert(monitor: str = "fct_batting_seasons") -> alerts.Alert:
    return alerts.Alert(
        severity="SEV3",
        trigger="drift.dataset",
        monitor=monitor,
        relation="marts.fct_batting_seasons",
        owner="analytics",
        summary="7 of 8 column(s) drifted",
        evidence={
            "drift_share": 0.875,
            "z": float("inf"),
            "reference_window": "2015..2019",
            "current_window": "2020",
        },
        run_id="run-1",
        target="duckdb",
        first_actions=["Compare the windows."],
        incident_id="INC-1",
    )


def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sinks: str, url: str | None = None
) -> alerts.Settings:
    monkeypatch.setenv("DIAMOND_ALERT_SINKS", sinks)
    monkeypatch.setenv("DIAMOND_ALERT_RETRIES", "3")
    if url:
        monkeypatch.setenv("DIAMOND_ALERT_WEBHOOK_URL", url)
    return alerts.settings_from_env(tmp_path)


def test_webhook_gets_a_slack_body(monkeypatch, tmp_path, webhook, capsys) -> None:
    settings = configure(monkeypatch, tmp_path, "stdout,jsonl,webhook", webhook.url)
    report = alerts.deliver([make_alert()], settings, sleep=lambda _: None)
    assert report.delivered == {"stdout": 1, "jsonl": 1, "webhook": 1}
    assert not report.failures
    (body,) = webhook.bodies
    assert body["text"].startswith("[SEV3] fct_batting_seasons")
    assert body["blocks"][0]["type"] == "header"
    text = json.dumps(body["blocks"])
    assert "run-1" in text and "2015..2019" in text and "INC-1" in text
    saved = json.loads((tmp_path / "drift" / "alerts.jsonl").read_text())
    assert saved["evidence"]["z"] == "inf"
    assert "ALERT [SEV3] fct_batting_seasons" in capsys.readouterr().out


@pytest.mark.parametrize("webhook", [2], indirect=True)
def test_webhook_failing_then_succeeding_is_retried(monkeypatch, tmp_path, webhook):
    settings = configure(monkeypatch, tmp_path, "webhook", webhook.url)
    pauses: list[float] = []
    report = alerts.deliver([make_alert()], settings, sleep=pauses.append)
    assert report.delivered == {"webhook": 1}
    assert report.failures == []
    assert webhook.attempts == 3
    # Backoff doubles between attempts.
    assert pauses == [0.5, 1.0]
    assert not (tmp_path / "drift" / "alert_spool.jsonl").exists()


@pytest.mark.parametrize("webhook", [10**6], indirect=True)
def test_webhook_always_failing_spools_and_spares_other_sinks(
    monkeypatch, tmp_path, webhook
) -> None:
    settings = configure(monkeypatch, tmp_path, "webhook,jsonl", webhook.url)
    report = alerts.deliver(
        [make_alert("a"), make_alert("b")], settings, sleep=lambda _: None
    )
    assert report.delivered == {"jsonl": 2}
    assert [f.sink for f in report.failures] == ["webhook", "webhook"]
    assert "503" in report.failures[0].error
    assert report.spooled == 2
    assert webhook.attempts == 6
    assert "2 alert(s) waiting in the spool" in report.summary()
    spool = tmp_path / "drift" / "alert_spool.jsonl"
    assert len(spool.read_text().splitlines()) == 2
    # Next run, the webhook recovers: spooled alerts go first, then the new.
    webhook.failures = 0
    report = alerts.deliver([make_alert("c")], settings, sleep=lambda _: None)
    assert report.resent == 2
    assert report.spooled == 0
    assert [b["text"].split()[1] for b in webhook.bodies] == ["a:", "b:", "c:"]
    assert spool.read_text() == ""


def test_unreachable_webhook_is_reported_not_raised(monkeypatch, tmp_path) -> None:
    settings = configure(
        monkeypatch, tmp_path, "webhook,stdout", "http://127.0.0.1:9/nothing-listens"
    )
    report = alerts.deliver([make_alert()], settings, sleep=lambda _: None)
    assert report.delivered == {"stdout": 1}
    assert report.spooled == 1
    # A spooled alert for a sink no longer configured is kept, not dropped.
    settings = configure(monkeypatch, tmp_path, "stdout")
    report = alerts.deliver([], settings, sleep=lambda _: None)
    assert report.spooled == 1


@pytest.mark.parametrize(
    ("sinks", "url", "message"),
    [
        ("webhook", None, "DIAMOND_ALERT_WEBHOOK_URL is not set"),
        ("stdout,pager", None, "unknown sink 'pager'"),
    ],
)
def test_bad_sink_settings_are_clear(monkeypatch, tmp_path, sinks, url, message):
    monkeypatch.delenv("DIAMOND_ALERT_WEBHOOK_URL", raising=False)
    with pytest.raises(ConfigError, match=message):
        configure(monkeypatch, tmp_path, sinks, url)
    monkeypatch.setenv("DIAMOND_ALERT_SINKS", "stdout")
    monkeypatch.setenv("DIAMOND_ALERT_RETRIES", "zero")
    with pytest.raises(ConfigError, match="DIAMOND_ALERT_RETRIES"):
        alerts.settings_from_env(tmp_path)


# --------------------------------------------------------------------------
# The runbook is the source of the rules
# --------------------------------------------------------------------------

TRIGGERS_RAISED_BY_CODE = {
    "drift.dataset",
    "drift.column",
    "drift.prediction",
    "drift.performance",
    "health.row_count",
    "health.null_rate",
    "health.schema",
    # Raised by the privacy check, the build, the assistant's evaluation and
    # audit verification (governance/incidents.py).
    "privacy.leak",
    "privacy.pii_scan_hit",
    "privacy.policy_violation",
    "assistant.hallucination_spike",
    "dbt.contract_failure",
    "dbt.test_failure",
    "audit.verify_failure",
}


def test_runbook_rules_parse_and_cover_every_trigger() -> None:
    rules = load_rules()
    assert list(rules.ranks) == ["SEV1", "SEV2", "SEV3", "SEV4"]
    # Every trigger the code raises has a rule, and every rule a raiser.
    assert set(rules.triggers) == TRIGGERS_RAISED_BY_CODE
    assert rules.at_least("SEV1", "SEV2") and not rules.at_least("SEV3", "SEV2")


def test_runbook_tables_agree_with_the_rule_block() -> None:
    """The human-readable trigger table and the machine-readable block say
    the same severity for every trigger."""
    rules = load_rules()
    text = RUNBOOK.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([a-z_.]+)` \| [^|]+ \| (SEV\d) \|", text, re.M))
    assert table, "the trigger table was not found"
    assert table == {k: v.severity for k, v in rules.triggers.items()}
    for severity in rules.ranks:
        assert f"| {severity} |" in text
    for group in ("data_platform", "analytics", "privacy", "ml"):
        assert group in text
    assert "72" in text and "GDPR" in text


def test_edited_runbook_changes_the_rules(tmp_path: Path) -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    edited = text.replace(
        "  drift.column:\n    severity: SEV4", "  drift.column:\n    severity: SEV2"
    )
    assert edited != text
    rules = parse_rules(edited, tmp_path / "runbook.md")
    assert rules.rule("drift.column").severity == "SEV2"
    with pytest.raises(ConfigError, match=r"no rule for trigger 'drift\.nothing'"):
        rules.rule("drift.nothing")
    broken = text.replace("# diamond:incident-rules", "# something else")
    with pytest.raises(ConfigError, match="exactly one"):
        parse_rules(broken, tmp_path / "runbook.md")
    bad_severity = text.replace("    severity: SEV4", "    severity: SEV7")
    with pytest.raises(ConfigError, match=r"drift\.column needs a severity"):
        parse_rules(bad_severity, tmp_path / "runbook.md")
