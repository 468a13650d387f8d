"""Alerts and the sinks that deliver them: stdout, a JSON-lines file and a
Slack-compatible webhook.

Sinks are chosen by environment variables, each with one default:

==============================  ==========================================
Variable                        Default
==============================  ==========================================
``DIAMOND_ALERT_SINKS``         ``stdout,jsonl`` (add ``webhook``)
``DIAMOND_ALERT_WEBHOOK_URL``   none; required when ``webhook`` is listed
``DIAMOND_ALERT_JSONL``         ``<target>/drift/alerts.jsonl``
``DIAMOND_ALERT_SPOOL``         ``<target>/drift/alert_spool.jsonl``
``DIAMOND_ALERT_RETRIES``       ``3`` attempts per alert and sink
``DIAMOND_ALERT_BACKOFF``       ``0.5`` seconds, doubled after each attempt
``DIAMOND_ALERT_TIMEOUT``       ``5`` seconds per webhook request
==============================  ==========================================

A sink that fails is retried a bounded number of times with backoff; if it
still fails the alert is written to the spool and re-sent, before any new
alert, the next time alerts are delivered. One sink failing never stops
the others, and every failure is in the returned report.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from diamond.errors import ConfigError

log = logging.getLogger(__name__)

SINKS = ("stdout", "jsonl", "webhook")
ALERTS_FILE = "alerts.jsonl"
SPOOL_FILE = "alert_spool.jsonl"


def json_safe(value: Any) -> Any:
    """``value`` with infinite or NaN floats turned into strings, so it can
    go into strict JSON (the audit log refuses NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return json_safe(value.item())
    return value


@dataclass
class Alert:
    """One thing someone must look at, with the evidence to start from."""

    severity: str
    trigger: str
    monitor: str
    relation: str
    owner: str
    summary: str
    evidence: dict[str, Any]
    run_id: str | None
    target: str
    first_actions: list[str] = field(default_factory=list)
    incident_id: str | None = None
    alert_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**data)

    def headline(self) -> str:
        return f"[{self.severity}] {self.monitor}: {self.summary}"

    def slack(self) -> dict[str, Any]:
        """A Slack-compatible message: plain ``text`` for clients that show
        only that, and ``blocks`` with the evidence."""
        facts = [
            f"*Severity:* {self.severity}",
            f"*Trigger:* `{self.trigger}`",
            f"*Relation:* `{self.relation}`",
            f"*Owner:* {self.owner}",
            f"*Run id:* `{self.run_id or '-'}`",
            f"*Incident:* {self.incident_id or '-'}",
        ]
        evidence = json.dumps(self.to_dict()["evidence"], sort_keys=True)
        if len(evidence) > 2800:
            evidence = evidence[:2797] + "..."
        actions = "\n".join(f"• {a}" for a in self.first_actions) or "-"
        return {
            "text": self.headline(),
            "blocks": [
                {
                    "type": "header",
                    "text": {"type": "plain_text", "text": self.headline()[:150]},
                },
                {
                    "type": "section",
                    "fields": [{"type": "mrkdwn", "text": fact} for fact in facts],
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"*First actions*\n{actions}"},
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"*Evidence*\n```{evidence}```"},
                },
            ],
        }


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> None:
        """Deliver one alert or raise."""


class StdoutSink:
    name = "stdout"

    def send(self, alert: Alert) -> None:
        print(f"ALERT {alert.headline()} (incident {alert.incident_id})", flush=True)


class JsonlSink:
    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(alert.to_dict(), sort_keys=True) + "\n")


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        body = json.dumps(alert.slack()).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            status = response.status
        if not 200 <= status < 300:
            msg = f"webhook {self.url} answered HTTP {status}"
            raise OSError(msg)


@dataclass
class Failure:
    sink: str
    alert_id: str
    error: str


@dataclass
class DeliveryReport:
    """What was delivered where, and what was spooled for next time."""

    delivered: dict[str, int] = field(default_factory=dict)
    resent: int = 0
    failures: list[Failure] = field(default_factory=list)
    spooled: int = 0

    def summary(self) -> str:
        sent = ", ".join(f"{k}: {v}" for k, v in sorted(self.delivered.items()))
        text = f"alerts delivered ({sent or 'none'})"
        if self.resent:
            text += f", {self.resent} spooled alert(s) re-sent"
        if self.failures:
            failed = "; ".join(f"{f.sink}: {f.error}" for f in self.failures)
            text += (
                f"; {len(self.failures)} delivery failure(s), {self.spooled} "
                f"alert(s) waiting in the spool ({failed})"
            )
        return text


@dataclass
class Settings:
    sinks: list[Sink]
    spool: Path
    attempts: int
    backoff: float


def _number(name: str, default: str, kind: type) -> Any:
    raw = os.environ.get(name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0 or (kind is int and value < 1):
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value


def settings_from_env(target_dir: Path) -> Settings:
    """The sinks and retry policy the environment asks for."""
    folder = Path(target_dir) / "drift"
    names = [
        n.strip().lower()
        for n in os.environ.get("DIAMOND_ALERT_SINKS", "stdout,jsonl").split(",")
        if n.strip()
    ]
    sinks: list[Sink] = []
    for name in names:
        if name == "stdout":
            sinks.append(StdoutSink())
        elif name == "jsonl":
            path = os.environ.get("DIAMOND_ALERT_JSONL") or folder / ALERTS_FILE
            sinks.append(JsonlSink(Path(path)))
        elif name == "webhook":
            url = os.environ.get("DIAMOND_ALERT_WEBHOOK_URL")
            if not url:
                msg = (
                    "DIAMOND_ALERT_SINKS lists webhook but DIAMOND_ALERT_WEBHOOK_URL "
                    "is not set; set it to the webhook's https URL"
                )
                raise ConfigError(msg)
            sinks.append(WebhookSink(url, _number("DIAMOND_ALERT_TIMEOUT", "5", float)))
        else:
            msg = (
                f"DIAMOND_ALERT_SINKS names unknown sink {name!r}; use any of "
                f"{', '.join(SINKS)}"
            )
            raise ConfigError(msg)
    spool = Path(os.environ.get("DIAMOND_ALERT_SPOOL") or folder / SPOOL_FILE)
    return Settings(
        sinks,
        spool,
        _number("DIAMOND_ALERT_RETRIES", "3", int),
        _number("DIAMOND_ALERT_BACKOFF", "0.5", float),
    )


def _read_spool(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning(
                "skipping unreadable line %s of the alert spool %s", number, path
            )
    return entries


def _write_spool(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(path.suffix + ".tmp")
    scratch.write_text(
        "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries),
        encoding="utf-8",
    )
    os.replace(scratch, path)


def _attempt(
    sink: Sink,
    alert: Alert,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> str | None:
    """None when delivered, else the last error."""
    error = ""
    for attempt in range(attempts):
        try:
            sink.send(alert)
            return None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = str(exc) or type(exc).__name__
            log.warning(
                "alert sink %s failed (attempt %s of %s): %s",
                sink.name,
                attempt + 1,
                attempts,
                error,
            )
            if attempt + 1 < attempts:
                sleep(backoff * 2**attempt)
    return error


def deliver(
    alerts: Sequence[Alert],
    settings: Settings,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send spooled alerts, then ``alerts``, to every sink; spool failures."""
    report = DeliveryReport()
    pending = _read_spool(settings.spool)
    by_name = {sink.name: sink for sink in settings.sinks}
    keep: list[dict[str, Any]] = []
    for entry in pending:
        sink = by_name.get(entry.get("sink", ""))
        if sink is None:
            # The sink is not configured this time; keep the alert for the
            # run that configures it again.
            keep.append(entry)
            continue
        alert = Alert.from_dict(entry["alert"])
        error = _attempt(sink, alert, settings.attempts, settings.backoff, sleep)
        if error is None:
            report.resent += 1
            report.delivered[sink.name] = report.delivered.get(sink.name, 0) + 1
        else:
            report.failures.append(Failure(sink.name, alert.alert_id, error))
            keep.append({**entry, "error": error})
    for alert in alerts:
        for sink in settings.sinks:
            error = _attempt(sink, alert, settings.attempts, settings.backoff, sleep)
            if error is None:
                report.delivered[sink.name] = report.delivered.get(sink.name, 0) + 1
                continue
            report.failures.append(Failure(sink.name, alert.alert_id, error))
            keep.append({"sink": sink.name, "alert": alert.to_dict(), "error": error})
    if keep or pending:
        _write_spool(settings.spool, keep)
    report.spooled = len(keep)
    return report
