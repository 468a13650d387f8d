"""Warm-ups: child processes that `diamond run` starts ahead of a step."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from diamond import background


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_wait_lets_a_warm_up_finish_its_output(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    code = f"import time; time.sleep(0.5); open({str(out)!r}, 'w').write('done')"
    background.start("writer", _child(code))
    assert not out.exists()
    background.wait("writer")
    assert out.read_text() == "done"
    # Waiting again, or for a name never started, is a no-op.
    background.wait("writer")
    background.wait("never started")


def test_a_warm_up_of_the_same_name_is_started_once(tmp_path: Path) -> None:
    out = tmp_path / "count.txt"
    code = f"open({str(out)!r}, 'a').write('x')"
    background.start("once", _child(f"import time; time.sleep(0.3); {code}"))
    background.start("once", _child(code))
    background.wait("once")
    assert out.read_text() == "x"


def test_stop_all_ends_warm_ups_still_running(tmp_path: Path) -> None:
    out = tmp_path / "late.txt"
    code = f"import time; time.sleep(30); open({str(out)!r}, 'w').write('late')"
    background.start("slow", _child(code))
    began = time.perf_counter()
    background.stop_all()
    assert time.perf_counter() - began < 10
    assert not out.exists()
    # Nothing is left to wait for.
    background.wait("slow")


def test_a_failing_warm_up_is_silent(capfd) -> None:
    background.start("broken", _child("raise SystemExit('broken on purpose')"))
    background.wait("broken")
    assert "broken on purpose" not in capfd.readouterr().err


def test_warm_ups_can_be_turned_off(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "off.txt"
    monkeypatch.setenv("DIAMOND_WARM_UPS", "0")
    background.start("off", _child(f"open({str(out)!r}, 'w').write('ran')"))
    background.wait("off")
    assert not out.exists()
