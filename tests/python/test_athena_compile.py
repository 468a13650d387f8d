"""dbt compiles the project for Athena, and the SQL avoids what Athena rejects.

``dbt compile --target athena --no-populate-cache`` runs with dummy AWS
credentials and ``AWS_ENDPOINT_URL`` aimed at a local port nobody listens
on: compiling must not need the warehouse, and if some macro tries to reach
it the run fails at once instead of waiting on the network.

Every compiled model and analysis is then read with sqlglot's Athena
(Trino) dialect and checked for constructs DuckDB or Postgres accept but
Athena does not: ``::`` casts, ``QUALIFY``, ``GROUP BY ALL``, ``ILIKE`` and
``EXCLUDE`` / ``REPLACE`` / ``RENAME`` star modifiers. The check covers
whatever models exist when it runs.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")


def athena_problems(sql: str) -> list[str]:
    """Constructs in ``sql`` that Athena rejects, each with its line, or why
    the text does not parse as Athena SQL at all."""
    problems = []
    try:
        tokens = Dialect.get_or_raise("athena").tokenize(sql)
    except TokenError as exc:
        return [f"cannot be read as Athena SQL: {exc}"]
    for token in tokens:
        word = token.text.lower()
        if token.token_type == TokenType.DCOLON:
            problems.append(f"`::` cast at line {token.line}")
        elif token.token_type == TokenType.ILIKE:
            problems.append(f"ILIKE at line {token.line}")
        elif token.token_type == TokenType.QUALIFY or (
            token.token_type == TokenType.VAR and word == "qualify"
        ):
            problems.append(f"QUALIFY at line {token.line}")
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first['line']}" if "line" in first else ""
        reason = first.get("description", str(exc))
        problems.append(f"does not parse as Athena SQL{where}: {reason}")
        return problems
    for group in tree.find_all(exp.Group):
        if group.args.get("all") and not group.expressions:
            problems.append("GROUP BY ALL")
    for star in tree.find_all(exp.Star):
        for arg, name in (
            ("except_", "EXCLUDE"),
            ("except", "EXCLUDE"),
            ("replace", "REPLACE"),
            ("rename", "RENAME"),
        ):
            if star.args.get(arg):
                problems.append(f"`* {name} (...)` star modifier")
    return problems


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select a::integer as b from t", "`::` cast"),
        ("select a from t where b ilike 'x%'", "ILIKE"),
        (
            "select a from t qualify row_number() over (order by a) = 1",
            "QUALIFY",
        ),
        ("select a, count(*) as n from t group by all", "GROUP BY ALL"),
        ("select * exclude (a) from t", "EXCLUDE"),
        ("select t.* exclude (a) from t", "EXCLUDE"),
        ("select * replace (a + 1 as a) from t", "REPLACE"),
    ],
)
def test_checker_finds_each_construct(sql: str, construct: str) -> None:
    """The checker itself notices every construct it is meant to catch."""
    found = athena_problems(sql)
    assert any(construct in problem for problem in found), (sql, found)


def test_checker_accepts_portable_sql() -> None:
    """Casts, strings and comments that merely mention the constructs, and
    Trino's own ``group by all <columns>``, are not reported."""
    sql = """
        -- a::b, qualify, ilike and group by all in a comment
        with source as (select * from "awsdatacatalog"."raw"."batting")
        select
            cast(year_id as integer) as season,
            'a::b ilike' as note,
            lower(team_id) like 'bo%' as is_boston,
            count(*) as stints
        from source
        group by all cast(year_id as integer), 'a::b ilike', lower(team_id)
    """
    assert athena_problems(sql) == []


@dataclass
class Compiled:
    """The outcome of one ``dbt compile --target athena``."""

    returncode: int
    output: str
    target: Path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """Compile the project for Athena into a temporary target folder."""
    tmp = tmp_path_factory.mktemp("athena_compile")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "DBT_", "DIAMOND_"))
    }
    env |= {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = tmp / "target"
    run = subprocess.run(
        [
            str(DBT),
            "compile",
            "--target",
            "athena",
            "--no-populate-cache",
            "--project-dir",
            str(PROJECT),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp / "logs"),
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Compiled(run.returncode, run.stdout + run.stderr, target)


def test_compile_for_athena_succeeds(compiled: Compiled) -> None:
    """dbt compiles the whole project for Athena without a warehouse."""
    assert compiled.returncode == 0, (
        "dbt compile --target athena failed:\n" + compiled.output[-6000:]
    )


def _compiled_nodes(
    compiled: Compiled, types: tuple[str, ...], language: str = "sql"
) -> list[dict]:
    manifest = json.loads((compiled.target / "manifest.json").read_text())
    return sorted(
        (
            node
            for node in manifest["nodes"].values()
            if node["resource_type"] in types
            and node.get("compiled")
            and node.get("language", "sql") == language
        ),
        key=lambda node: node["unique_id"],
    )


def _report(nodes: list[dict]) -> list[str]:
    return [
        f"{node['unique_id']} ({node['original_file_path']}): {problem}"
        for node in nodes
        for problem in athena_problems(node["compiled_code"])
    ]


def test_models_and_analyses_avoid_constructs_athena_rejects(
    compiled: Compiled,
) -> None:
    """No compiled model or analysis uses a construct Athena rejects."""
    assert compiled.returncode == 0, "compile failed; see the test above"
    nodes = _compiled_nodes(compiled, ("model", "analysis"))
    assert any(n["resource_type"] == "model" for n in nodes), "no model compiled"
    report = _report(nodes)
    assert not report, "Athena would reject:\n" + "\n".join(report)


def test_data_tests_avoid_constructs_athena_rejects(compiled: Compiled) -> None:
    """The data tests ``dbt build`` runs on Athena are held to the same rule
    (generic tests in tests/generic compile into each of them)."""
    assert compiled.returncode == 0, "compile failed; see the test above"
    report = _report(_compiled_nodes(compiled, ("test",)))
    assert not report, "Athena would reject:\n" + "\n".join(report)


def test_python_models_compile_to_python_for_spark(compiled: Compiled) -> None:
    """dbt-athena runs Python models on Spark: each compiles, offline, to a
    Python script that parses and calls the ml package."""
    assert compiled.returncode == 0, "compile failed; see the test above"
    nodes = _compiled_nodes(compiled, ("model",), language="python")
    assert len(nodes) >= 8, [n["name"] for n in nodes]
    for node in nodes:
        tree = ast.parse(node["compiled_code"], filename=node["original_file_path"])
        imported = set()
        for item in ast.walk(tree):
            if isinstance(item, ast.ImportFrom) and item.module:
                imported.add(item.module.split(".")[0])
            elif isinstance(item, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in item.names}
        assert "ml" in imported, node["unique_id"]
