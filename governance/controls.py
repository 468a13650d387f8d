"""Controls that act on the AI parts of diamond: kill switches and pins.

Two kinds of control are kept in one small JSON file:

- a kill switch for the next-season ``model`` and for the ``assistant``:
  in service or not, with the reason, who flipped it and when;
- a model-version pin per target, which overrides "the newest trained
  version" so that a bad model can be rolled back without retraining.

The file is ``$DIAMOND_CONTROLS``, by default ``controls.json`` beside the
DuckDB warehouse file (where the audit log and the model files also live).
It is read at the moment a control matters, not at build time: a switch
flipped after a build takes effect on the next question or the next read
of the model, with no rebuild. Writes go to a temporary file in the same
folder that then replaces the old one, under an exclusive lock, so a
reader never sees half a file and two writers never lose each other's
change. Every change is recorded in the audit log with the state before
and after.

A missing file means every switch is on and no version is pinned; a file
that cannot be read is an error rather than a silent "on", because a
switch someone turned off must not come back on by accident.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from diamond.errors import DiamondError
from diamond.settings import TARGETS, duckdb_path

#: What a kill switch can take out of service.
SWITCHES = ("model", "assistant")
FORMAT = 1


class ControlError(DiamondError):
    """The control store cannot be read or a control cannot be changed."""


def controls_path() -> Path:
    """The control file: ``$DIAMOND_CONTROLS`` or ``controls.json`` beside
    the DuckDB warehouse file."""
    raw = os.environ.get("DIAMOND_CONTROLS")
    if raw:
        return Path(raw).expanduser().resolve()
    return duckdb_path().parent / "controls.json"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _actor() -> str:
    from governance.audit.log import _default_actor

    return _default_actor()


def _empty() -> dict[str, Any]:
    return {"format": FORMAT, "kill_switches": {}, "model_pins": {}}


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return _empty()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        msg = (
            f"cannot read the control file {path}: {exc}. Restore it from the "
            "audit log (`diamond audit show` lists every control change) or "
            "delete it to put every control back to its default (in service, "
            "no pin)."
        )
        raise ControlError(msg) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        msg = (
            f"the control file {path} is not a diamond control file of format "
            f"{FORMAT}; restore it or delete it to reset every control"
        )
        raise ControlError(msg)
    data.setdefault("kill_switches", {})
    data.setdefault("model_pins", {})
    return data


def load() -> dict[str, Any]:
    """The whole control state, as stored (defaults are not filled in)."""
    return _read(controls_path())


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked() -> Iterator[tuple[Path, dict[str, Any]]]:
    """The control state under an exclusive lock; written back on exit."""
    path = controls_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            data = _read(path)
            yield path, data
            _write(path, data)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_switch(name: str) -> None:
    if name not in SWITCHES:
        msg = f"unknown kill switch {name!r}: choose one of {', '.join(SWITCHES)}"
        raise ControlError(msg)


def switch_state(name: str) -> dict[str, Any]:
    """A kill switch's state: ``in_service`` plus reason, by and at when it
    was ever changed."""
    _check_switch(name)
    stored = load()["kill_switches"].get(name)
    if stored is None:
        return {"in_service": True, "reason": None, "by": None, "at": None}
    return dict(stored)


def in_service(name: str) -> bool:
    """Whether ``model`` or ``assistant`` is in service."""
    return bool(switch_state(name)["in_service"])


def model_in_service() -> bool:
    """Whether the next-season model's outputs may be shown as forecasts.

    Consumers (the dashboard, a notebook) call this before presenting
    ``ml.ml_predictions``; when it is false they show that the model is out
    of service, and the Marcel projection beside each prediction is the
    fallback the incident runbook names.
    """
    return in_service("model")


def assistant_in_service() -> bool:
    """Whether the assistant may answer questions."""
    return in_service("assistant")


def set_switch(name: str, on: bool, *, reason: str) -> dict[str, Any]:
    """Turn a kill switch on (in service) or off; return the new state.

    The change, with the state before and after, is appended to the audit
    log as ``control.kill_switch``.
    """
    from governance.audit import record

    _check_switch(name)
    if not isinstance(reason, str) or not reason.strip():
        msg = (
            f"say why the {name} is switched {'on' if on else 'off'}: pass "
            "--reason TEXT (it goes into the audit log)"
        )
        raise ControlError(msg)
    with _locked() as (path, data):
        old = data["kill_switches"].get(name) or {"in_service": True}
        new = {
            "in_service": bool(on),
            "reason": reason.strip(),
            "by": _actor(),
            "at": _now(),
        }
        data["kill_switches"][name] = new
        # Recorded while the lock is held, so the audit order is the order
        # in which the changes were made.
        record(
            "control.kill_switch",
            subject=name,
            details={"old": old, "new": new, "file": str(path)},
            run_id=os.environ.get("DIAMOND_RUN_ID"),
        )
    return new


def pinned_version(target: str) -> str | None:
    """The model version pinned on ``target``, if any."""
    pin = load()["model_pins"].get(target)
    return pin["model_version"] if pin else None


def pin_model(
    target: str,
    version: str,
    known_versions: list[str],
    *,
    current: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Pin ``version`` as the model in service on ``target``.

    ``known_versions`` are the versions of the target's registry
    (``ml.ml_training_runs``); any other version is refused. Recorded in the
    audit log as ``ml.rollback``, with the version in service before.
    """
    from governance.audit import record

    if target not in TARGETS:
        msg = f"unknown target {target!r}: choose one of {', '.join(TARGETS)}"
        raise ControlError(msg)
    if version not in known_versions:
        listed = ", ".join(known_versions) or "none (train a model first)"
        msg = (
            f"model version {version!r} is not in the registry "
            f"ml.ml_training_runs on {target}; known versions: {listed}. "
            "Pick one of them (`diamond governance status` shows the one in "
            "service)."
        )
        raise ControlError(msg)
    with _locked() as (path, data):
        old = data["model_pins"].get(target)
        new = {
            "model_version": version,
            "reason": reason,
            "by": _actor(),
            "at": _now(),
        }
        data["model_pins"][target] = new
        record(
            "ml.rollback",
            target=target,
            subject=version,
            details={
                "from_version": current,
                "to_version": version,
                "old_pin": old,
                "new_pin": new,
                "file": str(path),
            },
            run_id=os.environ.get("DIAMOND_RUN_ID"),
        )
    return new


def unpin_model(target: str, *, reason: str | None = None) -> dict[str, Any] | None:
    """Remove the pin on ``target`` so the newest version serves again;
    return the pin removed (None when there was none). Audited as
    ``ml.unpin``."""
    from governance.audit import record

    with _locked() as (path, data):
        old = data["model_pins"].pop(target, None)
        if old is not None:
            record(
                "ml.unpin",
                target=target,
                subject=old["model_version"],
                details={"old_pin": old, "reason": reason, "file": str(path)},
                run_id=os.environ.get("DIAMOND_RUN_ID"),
            )
    return old
