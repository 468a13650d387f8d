"""Ingest refuses every kind of bad release and leaves stored data alone.

The packaged release is loaded into both scratch warehouses once. Then each
bad release (the packaged one with one member broken) is offered to each
warehouse. Every attempt must:

* raise ``IngestError`` whose message names the file, the line and column
  where they are known, and says what to do;
* leave the raw tables exactly as the good load left them (row counts of
  every table and a hash of every row of the broken table, queried from
  the warehouse);
* append one ``failed`` row to ``raw.load_log`` carrying the same message,
  without touching the rows already there.

The broken files are chosen early in the load order where that does not
matter to the case, so each failure is found within a second or two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from diamond.errors import IngestError
from diamond.ingest import ingest
from diamond.lahman import TABLES_BY_FILE

if TYPE_CHECKING:
    from conftest import PackagedRelease

TARGETS = ("duckdb", "postgres")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _drop_column(data: bytes, header: str) -> bytes:
    lines = _lines(data)
    index = lines[0].decode().split(",").index(header)
    kept = []
    for line in lines:
        fields = line.split(b",")
        if len(fields) > index:
            del fields[index]
        kept.append(b",".join(fields))
    return b"\n".join(kept)


def _rename_column(data: bytes, old: str, new: str) -> bytes:
    header, rest = data.split(b"\n", 1)
    fields = header.decode().split(",")
    fields[fields.index(old)] = new
    return ",".join(fields).encode() + b"\n" + rest


def _set_cell(data: bytes, line: int, header: str, value: bytes) -> bytes:
    lines = _lines(data)
    index = lines[0].decode().split(",").index(header)
    fields = lines[line - 1].split(b",")
    fields[index] = value
    lines[line - 1] = b",".join(fields)
    return b"\n".join(lines)


def _copy_line(data: bytes, source: int, onto: int) -> bytes:
    lines = _lines(data)
    lines[onto - 1] = lines[source - 1]
    return b"\n".join(lines)


@dataclass(frozen=True)
class BadRelease:
    """One way a release can be broken, and what the error must say."""

    name: str
    #: The core file that is broken, or None when the archive itself is.
    file: str | None
    build: Callable[[PackagedRelease, Path], Path]
    #: Patterns the error message must contain (regular expressions).
    expected: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


def _zip_with(file: str, change: Callable[[bytes], bytes | None]):
    def build(packaged: PackagedRelease, folder: Path) -> Path:
        return packaged.write_zip(
            folder / "release.zip", {file: change(packaged.csv(file))}
        )

    return build


def _truncated(packaged: PackagedRelease, folder: Path) -> Path:
    whole = packaged.path.read_bytes()
    path = folder / "truncated.zip"
    path.write_bytes(whole[: len(whole) // 2])
    return path


BAD_RELEASES = (
    BadRelease(
        "truncated_zip",
        None,
        _truncated,
        (
            r"truncated\.zip: not a readable zip archive",
            r"truncated or corrupt: download it again",
        ),
    ),
    BadRelease(
        "missing_file",
        "Parks.csv",
        _zip_with("Parks.csv", lambda _: None),
        (
            r"release\.zip: the release lacks Parks\.csv",
            r"Point --source at a complete",
        ),
    ),
    BadRelease(
        "missing_column",
        "People.csv",
        _zip_with("People.csv", lambda data: _drop_column(data, "weight")),
        (
            r"People\.csv line 1: missing column\(s\) weight\.",
            r"Rename the columns back, or add the new layout",
        ),
    ),
    BadRelease(
        "renamed_column",
        "AllstarFull.csv",
        _zip_with(
            "AllstarFull.csv", lambda data: _rename_column(data, "gameID", "game_id")
        ),
        (
            r"AllstarFull\.csv line 1: missing column\(s\) gameID; "
            r"unexpected column\(s\) game_id",
            r"Rename the columns back",
        ),
    ),
    BadRelease(
        "wrong_type",
        "Teams.csv",
        _zip_with("Teams.csv", lambda data: _set_cell(data, 101, "yearID", b"18x2")),
        (
            r"Teams\.csv line 101, column yearID \(expected INTEGER\)",
            r"invalid value '18x2'",
            r"Fix the value in the file, or restore the original release",
        ),
    ),
    BadRelease(
        "duplicate_key",
        "TeamsFranchises.csv",
        _zip_with("TeamsFranchises.csv", lambda data: _copy_line(data, 3, 41)),
        (
            r"TeamsFranchises\.csv: failed expect_column_values_to_be_unique"
            r"\(column=franch_id\) on 2 row\(s\), e\.g\. \['ANA', 'ANA'\]",
            r"primary key \(franch_id\) repeats at lines 3, 41",
            r"Fix the file or restore the original release",
        ),
    ),
    BadRelease(
        "undecodable_bytes",
        "People.csv",
        # "José" saved as Latin-1: the é is one byte that UTF-8 rejects.
        _zip_with(
            "People.csv", lambda data: _set_cell(data, 1001, "nameFirst", b"Jos\xe9")
        ),
        (
            r"People\.csv line 1001, column nameFirst: bytes e9 are not valid UTF-8",
            r"Re-save the file as UTF-8",
        ),
    ),
    BadRelease(
        "empty_file",
        "AllstarFull.csv",
        _zip_with("AllstarFull.csv", lambda _: b""),
        (
            r"AllstarFull\.csv is empty: expected a header line \(playerID,",
            r"Restore the file from the original release",
        ),
    ),
    BadRelease(
        "header_only",
        "Appearances.csv",
        _zip_with("Appearances.csv", lambda data: data.split(b"\n", 1)[0] + b"\n"),
        (
            r"Appearances\.csv has a header but no rows",
            r"Restore the file from the original release",
        ),
    ),
)


@pytest.fixture(scope="module")
def built_releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bad releases already written, by case name: both targets share one."""
    return {}


@pytest.fixture
def bad_source(
    request: pytest.FixtureRequest,
    packaged,
    built_releases: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    case: BadRelease = request.param
    if case.name not in built_releases:
        folder = tmp_path_factory.mktemp(case.name)
        built_releases[case.name] = case.build(packaged, folder)
    return built_releases[case.name]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("case", "bad_source"),
    [(case, case) for case in BAD_RELEASES],
    ids=[case.name for case in BAD_RELEASES],
    indirect=["bad_source"],
)
def test_bad_release_is_refused_and_changes_nothing(
    target: str,
    case: BadRelease,
    bad_source: Path,
    warehouses,
    baseline,
) -> None:
    warehouse = warehouses[target]
    counts_before = warehouse.row_counts()
    log_before = warehouse.load_log()

    with pytest.raises(IngestError) as raised:
        ingest(target, str(bad_source))

    message = str(raised.value)
    for pattern in case.expected:
        assert re.search(pattern, message), f"{pattern!r} not in: {message}"

    # The data the good load stored are still there, queryable and equal.
    assert warehouse.row_counts() == counts_before
    assert counts_before == {t: c for t, (c, _) in baseline[target].items()}
    if case.file is not None:
        name = TABLES_BY_FILE[case.file].name
        assert warehouse.fingerprints([name]) == {name: baseline[target][name]}

    # The attempt is logged as failed, after the untouched earlier rows.
    log_after = warehouse.load_log()
    assert log_after[: len(log_before)] == log_before
    assert len(log_after) == len(log_before) + 1
    attempt = log_after[-1]
    assert attempt["status"] == "failed"
    assert attempt["error"] == message
    assert attempt["source"] == str(bad_source)
    assert attempt["validation_success"] is False


@pytest.mark.parametrize("target", TARGETS)
def test_good_load_is_still_the_newest_loaded_row(target: str, warehouses) -> None:
    """After every failure above, the last successful load is the good one."""
    rows = warehouses[target].load_log()
    loaded = [row for row in rows if row["status"] == "loaded"]
    assert len(loaded) == 1
    assert rows[0] == loaded[0]
    assert {row["status"] for row in rows[1:]} <= {"failed"}


def test_a_bad_release_named_by_a_folder_is_refused_too(
    packaged, tmp_path, warehouses, baseline
) -> None:
    """Folder sources go through the same checks as zips."""
    folder = packaged.write_folder(
        tmp_path, {"People.csv": _drop_column(packaged.csv("People.csv"), "bats")}
    )
    with pytest.raises(IngestError, match=r"People\.csv line 1: missing column"):
        ingest("duckdb", str(folder))
    assert warehouses["duckdb"].row_counts() == {
        t: c for t, (c, _) in baseline["duckdb"].items()
    }


def test_missing_source_is_refused_and_logged(tmp_path, warehouses, baseline) -> None:
    missing = tmp_path / "nowhere.zip"
    with pytest.raises(IngestError, match=r"nowhere\.zip: no such file or folder"):
        ingest("postgres", str(missing))
    attempt = warehouses["postgres"].load_log()[-1]
    assert attempt["status"] == "failed"
    assert attempt["source"] == str(missing)
    assert attempt["source_fingerprint"] is None
