"""Severity rules and first actions, read from the incident-response runbook.

The rules live in one fenced YAML block of
``governance/runbooks/incident-response.md`` (the block whose first line
is ``# diamond:incident-rules``), so the page people read during an
incident and the code that grades alerts are the same text. Each alert
opens an incident: one ``incident.open`` record in the audit log carrying
the severity, owner, first actions and evidence.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from diamond.errors import ConfigError

RUNBOOK = Path(__file__).resolve().parents[1] / "runbooks" / "incident-response.md"
MARKER = "# diamond:incident-rules"
_FENCE = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Rule:
    """What the runbook says about one trigger."""

    trigger: str
    severity: str
    owner: str | None
    first_actions: tuple[str, ...]
    #: Hours the law allows before the authority is told (a breach).
    breach_clock_hours: int | None = None


@dataclass(frozen=True)
class Rules:
    """The whole rule block: severities by rank, and a rule per trigger."""

    ranks: dict[str, int]
    triggers: dict[str, Rule]
    default_owner: str
    source: Path

    def rule(self, trigger: str) -> Rule:
        """The rule of ``trigger``; a trigger the runbook lacks is an error,
        since an alert nobody wrote a response for must not pass silently."""
        try:
            return self.triggers[trigger]
        except KeyError:
            msg = (
                f"the runbook {self.source} has no rule for trigger {trigger!r}; "
                f"add it under `triggers:` (known: {', '.join(sorted(self.triggers))})"
            )
            raise ConfigError(msg) from None

    def rank(self, severity: str) -> int:
        """1 for the most severe; unknown severities are an error."""
        try:
            return self.ranks[severity.upper()]
        except KeyError:
            msg = (
                f"unknown severity {severity!r}; the runbook {self.source} "
                f"defines {', '.join(self.ranks)}"
            )
            raise ConfigError(msg) from None

    def at_least(self, severity: str, bar: str) -> bool:
        """Whether ``severity`` is as severe as ``bar`` or more."""
        return self.rank(severity) <= self.rank(bar)


def parse_rules(text: str, source: Path) -> Rules:
    """The rules of a runbook's text; errors name the file and the problem."""
    blocks = [b for b in _FENCE.findall(text) if b.lstrip().startswith(MARKER)]
    if len(blocks) != 1:
        msg = (
            f"{source} must hold exactly one ```yaml block starting with "
            f"`{MARKER}`; found {len(blocks)}"
        )
        raise ConfigError(msg)
    try:
        data = yaml.safe_load(blocks[0])
    except yaml.YAMLError as exc:
        msg = f"the incident rules in {source} are not valid YAML: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, dict) or not {"severities", "triggers"} <= set(data):
        msg = f"the incident rules in {source} need `severities` and `triggers`"
        raise ConfigError(msg)
    ranks = {}
    for name, spec in data["severities"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("rank"), int):
            raise ConfigError(f"{source}: severity {name} needs an integer `rank`")
        ranks[str(name).upper()] = spec["rank"]
    triggers = {}
    for trigger, spec in data["triggers"].items():
        if not isinstance(spec, dict) or spec.get("severity") not in ranks:
            msg = (
                f"{source}: trigger {trigger} needs a severity among {', '.join(ranks)}"
            )
            raise ConfigError(msg)
        actions = spec.get("first_actions") or []
        if not actions or not all(isinstance(a, str) for a in actions):
            raise ConfigError(f"{source}: trigger {trigger} lists no first_actions")
        clock = spec.get("breach_clock_hours")
        if clock is not None and (not isinstance(clock, int) or clock <= 0):
            msg = (
                f"{source}: trigger {trigger} needs a positive whole breach_clock_hours"
            )
            raise ConfigError(msg)
        triggers[trigger] = Rule(
            trigger, spec["severity"], spec.get("owner"), tuple(actions), clock
        )
    return Rules(
        ranks, triggers, str(data.get("default_owner", "data_platform")), source
    )


@lru_cache(maxsize=4)
def _cached(path: Path, mtime: float) -> Rules:
    return parse_rules(path.read_text(encoding="utf-8"), path)


def load_rules(path: Path | None = None) -> Rules:
    """The rules of the runbook at ``path`` (default: the project's)."""
    path = Path(path) if path else RUNBOOK
    if not path.is_file():
        raise ConfigError(f"the incident-response runbook {path} is missing")
    return _cached(path, path.stat().st_mtime)


def open_incident(alert: Any, target: str) -> str:
    """Record an ``incident.open`` audit record for ``alert``; return its id."""
    from governance.audit import record

    incident_id = f"INC-{uuid.uuid4().hex[:12]}"
    record(
        "incident.open",
        target=target,
        run_id=alert.run_id,
        subject=incident_id,
        details={
            "alert_id": alert.alert_id,
            "severity": alert.severity,
            "trigger": alert.trigger,
            "owner": alert.owner,
            "monitor": alert.monitor,
            "relation": alert.relation,
            "summary": alert.summary,
            "first_actions": list(alert.first_actions),
            "evidence": alert.evidence,
            "runbook": "governance/runbooks/incident-response.md",
        },
    )
    return incident_id
