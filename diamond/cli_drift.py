"""The ``diamond drift`` commands: check monitors, list them, re-send alerts.

``cmd_drift_check`` is also a step of ``diamond run``: drift alone never
fails it (a drifted dataset is news, not a broken pipeline) unless
``--fail-on`` or ``DIAMOND_DRIFT_FAIL_ON`` names a severity; a check that
cannot run (bad meta, unreachable warehouse) fails with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from diamond.cli import _add_group, _add_target, _say
from diamond.errors import ConfigError

#: Exit status when an alert reaches the ``--fail-on`` severity, apart from
#: 1 (the check could not run) so schedulers can tell the two apart.
EXIT_ALERT = 3


def cmd_drift_check(args: argparse.Namespace) -> int:
    """Run the drift and health checks; 3 when an alert reaches --fail-on."""
    from diamond.settings import check_target
    from governance.drift.incidents import load_rules
    from governance.drift.run import run_check

    target = check_target(getattr(args, "target", None))
    if target == "athena":
        _say(
            "drift checks are not run on athena: querying it needs AWS. Run "
            "`diamond drift check --target duckdb` (or postgres) over the "
            "same release"
        )
        return 0
    fail_on = getattr(args, "fail_on", None) or os.environ.get("DIAMOND_DRIFT_FAIL_ON")
    rules = load_rules()
    if fail_on:
        fail_on = fail_on.upper()
        rules.rank(fail_on)
    report = run_check(
        target,
        monitor_names=getattr(args, "monitor", None),
        current=getattr(args, "current", None),
        reference=getattr(args, "reference", None),
        write_history=not getattr(args, "no_history", False),
        progress=None if getattr(args, "json", False) else _say,
    )
    statuses: dict[str, int] = {}
    for result in report.results:
        statuses[result.status] = statuses.get(result.status, 0) + 1
    if getattr(args, "json", False):
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    for result in report.results:
        if result.status == "not_built":
            _say(f"{result.monitor}: not built yet ({result.relation})")
    summary = ", ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
    _say(
        f"drift check {report.run_id}: {summary or 'no monitors declared'}; "
        f"{len(report.alerts)} alert(s); results in {report.folder}"
    )
    if report.delivery:
        _say(report.delivery.summary())
    worst = report.worst(rules)
    if fail_on and worst and rules.at_least(worst, fail_on):
        _say(f"failing: an alert of severity {worst} reaches --fail-on {fail_on}")
        return EXIT_ALERT
    return 0


def cmd_drift_monitors(args: argparse.Namespace) -> int:
    """Print the monitors the manifest declares."""
    from governance.drift.config import load_monitors
    from governance.lineage.transport import default_target_dir

    monitors = load_monitors(default_target_dir())
    for m in monitors.drift:
        columns = ", ".join(f"{c.name}:{c.kind}" for c in m.columns) or "-"
        print(
            f"{m.name}\t{m.kind}\t{m.relation}\t{m.window_column} "
            f"{m.current.describe() if m.current else '-'} vs "
            f"{m.reference.describe() if m.reference else '-'}\t{columns}"
        )
    for h in monitors.health:
        print(f"{h.model}\thealth\t{h.relation}\t{', '.join(h.checks)}")
    if not monitors.drift and not monitors.health:
        _say("no monitors declared: add drift or health meta to a model")
    return 0


def cmd_drift_resend(args: argparse.Namespace) -> int:
    """Re-send the alerts waiting in the spool."""
    from governance.drift.alerts import deliver, settings_from_env
    from governance.lineage.transport import default_target_dir

    report = deliver([], settings_from_env(default_target_dir()))
    _say(report.summary())
    return 1 if report.spooled else 0


def _severity(text: str) -> str:
    from governance.drift.incidents import load_rules

    try:
        load_rules().rank(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.upper()


def add_drift_commands(sub: Any) -> None:
    """Add ``diamond drift check|monitors|resend`` to the subcommands."""
    drift_sub = _add_group(
        sub,
        "drift",
        help="drift and health checks of the monitored marts, with alerts",
        description="Compare each monitored relation's current window with "
        "its reference window (KS, Wasserstein, PSI, chi-squared, "
        "Jensen-Shannon), check row counts, null rates and schemas against "
        "earlier builds, keep the results in governance.drift_history and "
        "raise alerts graded by governance/runbooks/incident-response.md.",
        dest="drift_command",
    )
    check = drift_sub.add_parser(
        "check",
        help="run every monitor declared in the dbt meta",
        description="Run the drift and health monitors declared in the dbt "
        "meta. Exit 0 even when data drifted, unless --fail-on names a "
        "severity that an alert reaches (exit 3); exit 1 when the check "
        "cannot run.",
    )
    _add_target(check)
    check.add_argument(
        "--monitor",
        nargs="+",
        metavar="NAME",
        help="only these monitors (see `diamond drift monitors`)",
    )
    check.add_argument(
        "--current",
        metavar="WINDOW",
        help="current window for every drift monitor: latest, a value (2020), "
        "a range (2019:2020) or a list (a,b)",
    )
    check.add_argument(
        "--reference", metavar="WINDOW", help="reference window, written like --current"
    )
    check.add_argument(
        "--fail-on",
        type=_severity,
        metavar="SEV",
        help="exit 3 when an alert is this severe or more, e.g. SEV2 "
        "(default: $DIAMOND_DRIFT_FAIL_ON, else never)",
    )
    check.add_argument(
        "--no-history",
        action="store_true",
        help="do not append to governance.drift_history",
    )
    check.add_argument("--json", action="store_true", help="print the report")
    check.set_defaults(func=cmd_drift_check)
    monitors = drift_sub.add_parser("monitors", help="list the declared monitors")
    monitors.set_defaults(func=cmd_drift_monitors)
    resend = drift_sub.add_parser(
        "resend", help="re-send alerts spooled after a sink failure"
    )
    resend.set_defaults(func=cmd_drift_resend)
