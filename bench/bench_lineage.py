"""Benchmark building and writing the lineage events of one dbt build.

Times two producers on the same artifacts (``manifest.json``,
``run_results.json`` of a ``dbt build`` and ``catalog.json``), each writing
every event as JSON lines through the OpenLineage file transport:

* diamond's :func:`governance.lineage.emit.emit_dbt`;
* the reference dbt integration (openlineage-integration-common's
  ``DbtLocalArtifactProcessor``, the engine of ``dbt-ol``), run offline.

Both run in this process after a warm-up round, so imports and first-call
costs are left out; the best of ``--repeat`` rounds is reported, with the
event counts and the ratio. Diamond is timed twice: reusing the column
lineage cached under ``<target>/lineage/`` (the usual case: a build where
the models' SQL did not change) and resolving every model's column lineage
afresh. The goal is diamond's cached side under two seconds.

    python bench/bench_lineage.py --artifacts /path/to/target
    python bench/bench_lineage.py            # uses $DBT_TARGET_PATH

The artifacts must come from ``diamond run`` or ``diamond build`` on
DuckDB, and ``DIAMOND_DUCKDB_PATH`` must name the same warehouse file (both
producers derive the dataset namespace from it).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

from governance.lineage.columns import clear_cache
from governance.lineage.emit import emit_dbt
from governance.lineage.events import COLUMN_CACHE_FILE, PRODUCER
from governance.lineage.transport import default_target_dir, events_path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 2.0
ARTIFACTS = ("manifest.json", "run_results.json", "catalog.json")


def _copy(artifacts: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ARTIFACTS:
        if (artifacts / name).is_file():
            shutil.copy(artifacts / name, dest / name)
    return dest


def run_diamond(folder: Path) -> int:
    """Build and write diamond's events, reusing cached column lineage."""
    events_path(folder).unlink(missing_ok=True)
    return len(emit_dbt(folder))


def run_diamond_cold(folder: Path) -> int:
    """Build and write diamond's events with an empty column lineage cache."""
    (folder / "lineage" / COLUMN_CACHE_FILE).unlink(missing_ok=True)
    clear_cache()
    return run_diamond(folder)


def run_reference(folder: Path) -> int:
    """Build and write the reference integration's events."""
    out = folder / "reference.jsonl"
    out.unlink(missing_ok=True)
    processor = DbtLocalArtifactProcessor(
        producer=PRODUCER,
        job_namespace=os.environ.get("OPENLINEAGE_NAMESPACE", "diamond"),
        project_dir=str(ROOT),
        target=os.environ.get("DIAMOND_TARGET", "duckdb"),
        target_path=str(folder),
    )
    events = processor.parse().events()
    transport = FileTransport(FileConfig(log_file_path=str(out), append=True))
    client = OpenLineageClient(transport=transport)
    for event in events:
        client.emit(event)
    return len(events)


def best_of(action: Callable[[Path], int], folder: Path, repeat: int) -> tuple:
    """Warm up once, then return (best seconds, event count)."""
    action(folder)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        count = action(folder)
        times.append(time.perf_counter() - began)
    return min(times), count


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; exit 1 if over the goal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help="folder holding the dbt artifacts (default: $DBT_TARGET_PATH)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    artifacts = args.artifacts or default_target_dir()
    os.environ.pop("DIAMOND_RUN_ID", None)
    with tempfile.TemporaryDirectory(prefix="bench-lineage-") as scratch:
        ours_dir = _copy(artifacts, Path(scratch) / "diamond")
        theirs_dir = _copy(artifacts, Path(scratch) / "reference")
        cold, ours_events = best_of(run_diamond_cold, ours_dir, args.repeat)
        ours, _ = best_of(run_diamond, ours_dir, args.repeat)
        theirs, theirs_events = best_of(run_reference, theirs_dir, args.repeat)
    ratio = ours / theirs if theirs else float("inf")
    print("| producer | events | seconds |")
    print("|---|---:|---:|")
    print(f"| diamond, column lineage cached | {ours_events} | {ours:.2f} |")
    print(f"| diamond, column lineage resolved afresh | {ours_events} | {cold:.2f} |")
    print(f"| reference (DbtLocalArtifactProcessor) | {theirs_events} | {theirs:.2f} |")
    print(f"\nratio diamond (cached) / reference: {ratio:.2f}")
    print(f"ratio diamond (afresh) / reference: {cold / theirs:.2f}")
    within = ours <= GOAL_SECONDS
    print(f"goal: diamond under {GOAL_SECONDS:.0f} s: {'met' if within else 'missed'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
