"""Benchmark the whole ``diamond run``, step by step, with and without the
warm-ups (the dbt parse beside the ingest, the assistant's embeddings
beside the build).

Each run starts from nothing: a new DuckDB file, target folder, cache and
model folder, so the release is validated, parsed, embedded and trained
from scratch, as on a first ``make run``. Prints one Markdown table with
each step's own seconds (as ``diamond run`` reports them) and the wall time
of the whole command, for both ways, and the speed-up.

    python bench/bench_run.py              # about 4 minutes on 2 cores
    python bench/bench_run.py --repeat 2   # the best of two runs each way
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STEP_DONE = re.compile(r"step \d+/\d+ \((?P<name>[^)]+)\) done in (?P<s>[\d.]+)s")


def one_run(folder: Path, warm_ups: bool) -> tuple[float, dict[str, float]]:
    """Wall seconds of one ``diamond run`` from nothing, and each step's."""
    env = {
        **os.environ,
        "DIAMOND_DUCKDB_PATH": str(folder / "diamond.duckdb"),
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
        "DIAMOND_CACHE_DIR": str(folder / "cache"),
        "DIAMOND_WARM_UPS": "1" if warm_ups else "0",
    }
    for name in ("DIAMOND_RUN_ID", "DIAMOND_ML_DIR", "DIAMOND_AUDIT_LOG"):
        env.pop(name, None)
    began = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "diamond"), "run", "--target", "duckdb"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        msg = "diamond run failed; its output is above"
        raise SystemExit(msg)
    steps = {m["name"]: float(m["s"]) for m in STEP_DONE.finditer(done.stderr)}
    return wall, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs each way")
    args = parser.parse_args()
    best: dict[bool, tuple[float, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="diamond-bench-run-") as tmp:
        for attempt in range(args.repeat):
            # Alternate, so that neither way always runs on a warmer disk cache.
            for warm_ups in (True, False) if attempt % 2 == 0 else (False, True):
                folder = Path(tmp) / f"{attempt}-{'warm' if warm_ups else 'cold'}"
                wall, steps = one_run(folder, warm_ups)
                if warm_ups not in best or wall < best[warm_ups][0]:
                    best[warm_ups] = (wall, steps)
    (with_wall, with_steps), (without_wall, without_steps) = best[True], best[False]
    print("| step | with warm-ups (s) | one after another (s) |")
    print("|---|---:|---:|")
    for name in without_steps:
        print(f"| {name} | {with_steps.get(name, 0):.1f} | {without_steps[name]:.1f} |")
    print(f"| **`diamond run`, wall** | **{with_wall:.1f}** | **{without_wall:.1f}** |")
    print(f"\nspeed-up from the warm-ups: {without_wall / with_wall:.2f}x")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_run.json").write_text(
        json.dumps(
            {
                "with_warm_ups": {"wall": with_wall, "steps": with_steps},
                "one_after_another": {"wall": without_wall, "steps": without_steps},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
