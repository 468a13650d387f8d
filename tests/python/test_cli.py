"""The `diamond` command line: help, argument errors and settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from diamond import cli, settings
from diamond.errors import ConfigError

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("run", "Ingest the release, build and test every dbt model"),
        ("ingest", "Validate every CSV of a release against its contract"),
        ("build", "Run `dbt build` with this project's profile"),
        ("docs", "--serve"),
        ("status", "--limit"),
        ("dbt", "Pass a command to dbt"),
        ("lineage", "Lineage from the dbt artifacts"),
        ("pii scan", "--sample-rows"),
        ("privacy check", "tagged column reaches a schema outside raw"),
        ("privacy erase", "fan:<fan_id>"),
        ("privacy lakeformation", "AWS Lake Formation"),
        ("audit verify", "compare it with the warehouse mirror"),
        ("governance incidents", "incident.open records of the audit log"),
    ],
)
def test_every_subcommand_explains_itself(command: str, expected: str) -> None:
    result = subprocess.run(
        [str(BIN / "diamond"), *command.split(), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert expected in " ".join(result.stdout.split())
    # These read artifacts or the audit log, not a warehouse.
    if command not in ("lineage", "privacy lakeformation", "governance incidents"):
        assert "--target" in result.stdout


def test_top_level_help_lists_every_subcommand(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "ingest", "build", "docs", "status", "lineage", "dbt"):
        assert f"\n    {name}" in out


def test_unknown_target_is_refused_with_the_choices(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ingest", "--target", "sqlite"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "sqlite" in err and "duckdb" in err and "postgres" in err


def test_target_from_environment_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("DIAMOND_TARGET", "oracle")
    with pytest.raises(ConfigError, match="unknown target 'oracle'"):
        settings.check_target(None)
    monkeypatch.setenv("DIAMOND_TARGET", "postgres")
    assert settings.check_target(None) == "postgres"
    assert settings.check_target("athena") == "athena"


def test_bad_pgport_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("PGPORT", "five")
    with pytest.raises(ConfigError, match="PGPORT='five'"):
        settings.PostgresSettings.from_env()


def test_relative_duckdb_path_is_anchored_to_the_project(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", "scratch/test.duckdb")
    path = settings.duckdb_path()
    assert path == settings.project_dir() / "scratch" / "test.duckdb"
    path.parent.rmdir()


def test_dbt_subcommand_without_arguments_asks_for_one(capsys) -> None:
    assert cli.main(["dbt"]) == 2
    assert "give a dbt command" in capsys.readouterr().err


def test_failing_ingest_exits_1_with_the_reason(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DIAMOND_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    missing = tmp_path / "missing.zip"
    assert cli.main(["ingest", "--source", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "no such file or folder" in err and str(missing) in err
