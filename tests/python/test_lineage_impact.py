"""Impact analysis and the lineage graph: unit tests on a small synthetic
manifest, then the same functions on the artifacts of a real scratch build."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import namedtuple
from pathlib import Path

import pytest

from governance.lineage.graph import build_graph, layer_of, write_graph
from governance.lineage.impact import (
    LineageLookupError,
    downstream,
    invert_column_graph,
    resolve,
)

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

#: The shape governance.lineage.columns gives upstream fields.
UpstreamField = namedtuple("UpstreamField", "unique_id column transformations")

SOURCE = "source.p.lahman.people"
TEAMS = "source.p.lahman.teams"
STG = "model.p.stg_lahman__people"
INT = "model.p.int_players_joined"
DIM = "model.p.dim_players"
FCT = "model.p.fct_teams"
EXPOSURE = "exposure.p.dashboard"
TEST_DATE = "test.p.not_null_dim_players_birth_date.abc"
TEST_ID = "test.p.unique_stg_lahman__people_player_id.def"


def _model(name: str, layer: str, columns: dict[str, dict]) -> dict:
    return {
        "resource_type": "model",
        "name": name,
        "alias": name,
        "database": "wh",
        "schema": layer,
        "fqn": ["p", layer, name],
        "path": f"{layer}/{name}.sql",
        "columns": {c: {"name": c, "meta": meta} for c, meta in columns.items()},
    }


def _test(name: str, column: str, attached: str) -> dict:
    return {
        "resource_type": "test",
        "name": name,
        "column_name": column,
        "attached_node": attached,
        "columns": {},
    }


def synthetic_manifest() -> dict:
    """Two sources, four models, two tests and an exposure."""
    pii = {"contains_pii": True}
    parents = {
        STG: [SOURCE],
        INT: [STG],
        DIM: [INT],
        FCT: [TEAMS],
        TEST_DATE: [DIM],
        TEST_ID: [STG],
        EXPOSURE: [DIM],
    }
    children: dict[str, list[str]] = {SOURCE: [], TEAMS: []}
    for child, ups in parents.items():
        children.setdefault(child, [])
        for parent in ups:
            children.setdefault(parent, []).append(child)
    return {
        "metadata": {"project_name": "p", "adapter_type": "duckdb"},
        "nodes": {
            STG: _model(
                "stg_lahman__people",
                "staging",
                {"player_id": {}, "birth_year": pii, "birth_date": pii},
            ),
            INT: _model(
                "int_players_joined",
                "intermediate",
                {"player_id": {}, "birth_date": {"pii_type": "date_of_birth"}},
            ),
            DIM: _model(
                "dim_players",
                "marts",
                {
                    "player_id": {},
                    "birth_date": {
                        "contains_pii": True,
                        "pii_type": "date_of_birth",
                        "masking_policy": "redact",
                    },
                },
            ),
            FCT: _model("fct_teams", "marts", {"team_id": {}}),
            TEST_DATE: _test("not_null_dim_players_birth_date", "birth_date", DIM),
            TEST_ID: _test("unique_stg_lahman__people_player_id", "player_id", STG),
        },
        "sources": {
            uid: {
                "resource_type": "source",
                "source_name": "lahman",
                "name": table,
                "identifier": table,
                "database": "wh",
                "schema": "raw",
                "fqn": ["p", "lahman", table],
                "columns": columns,
            }
            for uid, table, columns in (
                (SOURCE, "people", {"birth_year": {"meta": pii}}),
                (TEAMS, "teams", {}),
            )
        },
        "exposures": {
            EXPOSURE: {"resource_type": "exposure", "name": "dashboard"},
        },
        "parent_map": {**parents, SOURCE: [], TEAMS: []},
        "child_map": children,
    }


def synthetic_columns() -> dict:
    """Column lineage as governance.lineage.columns would report it."""
    direct = [{"type": "DIRECT", "subtype": "IDENTITY"}]
    derived = [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]
    return {
        (STG, "player_id"): [UpstreamField(SOURCE, "player_id", direct)],
        (STG, "birth_year"): [UpstreamField(SOURCE, "birth_year", direct)],
        (STG, "birth_date"): [
            UpstreamField(SOURCE, "birth_year", derived),
            UpstreamField(SOURCE, "birth_month", derived),
        ],
        (INT, "player_id"): [
            UpstreamField(STG, "player_id", direct),
            UpstreamField(
                STG, "birth_year", [{"type": "INDIRECT", "subtype": "FILTER"}]
            ),
        ],
        (INT, "birth_date"): [UpstreamField(STG, "birth_date", direct)],
        (DIM, "player_id"): [UpstreamField(INT, "player_id", direct)],
        (DIM, "birth_date"): [UpstreamField(INT, "birth_date", direct)],
    }


# --------------------------------------------------------------------------
# Naming relations
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("stg_lahman__people", (STG, None)),
        ("staging.stg_lahman__people", (STG, None)),
        ("wh.staging.stg_lahman__people", (STG, None)),
        (STG, (STG, None)),
        ("lahman.people", (SOURCE, None)),
        ("raw.people", (SOURCE, None)),
        ("people", (SOURCE, None)),
        ("raw.people.birth_year", (SOURCE, "birth_year")),
        ("Stg_Lahman__People.Birth_Date", (STG, "birth_date")),
        (f"{STG}.birth_date", (STG, "birth_date")),
    ],
)
def test_resolve_accepts_every_spelling(ref: str, expected: tuple) -> None:
    assert resolve(synthetic_manifest(), ref) == expected


def test_unknown_relation_lists_close_matches() -> None:
    with pytest.raises(LineageLookupError) as raised:
        resolve(synthetic_manifest(), "stg_lahman__peple")
    message = str(raised.value)
    assert "'stg_lahman__peple'" in message
    assert "stg_lahman__people" in message


def test_unknown_column_lists_close_matches() -> None:
    with pytest.raises(LineageLookupError, match="did you mean birth_year"):
        downstream(
            synthetic_manifest(), "raw.people.birth_yr", columns=synthetic_columns()
        )


def test_too_many_dotted_parts_is_an_error() -> None:
    with pytest.raises(LineageLookupError, match="no model"):
        resolve(synthetic_manifest(), "raw.people.birth_year.extra")


# --------------------------------------------------------------------------
# Relation level
# --------------------------------------------------------------------------


def test_relation_impact_follows_the_child_map() -> None:
    impact = downstream(synthetic_manifest(), "lahman.people")
    assert impact.level == "relation"
    assert impact.unique_ids() == {STG, INT, DIM, TEST_DATE, TEST_ID, EXPOSURE}
    assert impact.unique_ids("model") == {STG, INT, DIM}
    assert impact.nodes[DIM].depth == 3
    assert impact.nodes[EXPOSURE].parents == [DIM]
    assert impact.summary() == {"exposure": 1, "model": 3, "test": 2}
    assert FCT not in impact.unique_ids()


def test_relation_impact_of_a_leaf_is_empty() -> None:
    impact = downstream(synthetic_manifest(), "fct_teams")
    assert impact.downstream_nodes() == []
    assert impact.to_text().splitlines() == [
        "fct_teams [model]",
        "0 downstream: nothing",
    ]


def test_text_tree_and_json() -> None:
    impact = downstream(synthetic_manifest(), "stg_lahman__people")
    assert impact.to_text().splitlines() == [
        "stg_lahman__people [model]",
        "|-- int_players_joined [model]",
        "|   `-- dim_players [model]",
        "|       |-- dashboard [exposure]",
        "|       `-- not_null_dim_players_birth_date [test]",
        "`-- unique_stg_lahman__people_player_id [test]",
        "5 downstream: 1 exposure, 2 model, 2 test",
    ]
    data = json.loads(impact.to_json())
    assert data["root"]["unique_id"] == STG
    assert {n["unique_id"] for n in data["nodes"]} == impact.unique_ids()
    assert {"from": INT, "to": DIM} in data["edges"]


# --------------------------------------------------------------------------
# Column level
# --------------------------------------------------------------------------


def test_column_impact_follows_direct_flows_tests_and_exposures() -> None:
    impact = downstream(
        synthetic_manifest(), "raw.people.birth_year", columns=synthetic_columns()
    )
    assert impact.level == "column"
    assert impact.columns() == {
        (STG, "birth_year"),
        (STG, "birth_date"),
        (INT, "birth_date"),
        (DIM, "birth_date"),
    }
    assert impact.unique_ids("test") == {TEST_DATE}
    assert impact.unique_ids("exposure") == {EXPOSURE}
    birth_date = impact.nodes[f"{STG}.birth_date"]
    assert birth_date.transformations == {
        f"{SOURCE}.birth_year": ["DIRECT/TRANSFORMATION"]
    }
    text = impact.to_text()
    assert text.splitlines()[0] == "lahman.people.birth_year [source]"
    assert "stg_lahman__people.birth_date [model] (DIRECT/TRANSFORMATION)" in text
    data = impact.to_dict()
    assert data["root"]["column"] == "birth_year"


def test_indirect_flows_only_on_request() -> None:
    manifest, columns = synthetic_manifest(), synthetic_columns()
    direct = downstream(manifest, "stg_lahman__people.birth_year", columns=columns)
    assert direct.columns() == set()
    wide = downstream(
        manifest,
        "stg_lahman__people.birth_year",
        columns=columns,
        include_indirect=True,
    )
    assert wide.columns() == {(INT, "player_id"), (DIM, "player_id")}
    assert wide.nodes[f"{INT}.player_id"].transformations == {
        f"{STG}.birth_year": ["INDIRECT/FILTER"]
    }


def test_column_tests_hang_under_their_column() -> None:
    impact = downstream(
        synthetic_manifest(), "raw.people.player_id", columns=synthetic_columns()
    )
    assert impact.nodes[TEST_ID].parents == [f"{STG}.player_id"]


def test_invert_accepts_dicts_tuples_and_plain_labels() -> None:
    graph = {
        ("b", "x"): [{"unique_id": "a", "column": "X", "transformations": None}],
        ("c", "y"): [("b", "x", ["DIRECT"])],
        ("d", "z"): [UpstreamField("c", "y", "INDIRECT")],
    }
    assert invert_column_graph(graph) == {
        ("a", "x"): [("b", "x", [])],
        ("b", "x"): [("c", "y", ["DIRECT"])],
    }


# --------------------------------------------------------------------------
# Graph
# --------------------------------------------------------------------------


def _svg(path: Path) -> ET.Element:
    text = path.read_text()
    return ET.fromstring(text[text.index("<svg") : text.index("</svg>") + 6])


def _external_urls(path: Path) -> set[str]:
    found = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", path.read_text()))
    return found - {"http://www.w3.org/2000/svg", "//www.w3.org/2000/svg"}


def test_layers_from_folders() -> None:
    manifest = synthetic_manifest()
    assert layer_of(manifest["nodes"][STG]) == "staging"
    assert layer_of(manifest["nodes"][INT]) == "intermediate"
    assert layer_of(manifest["nodes"][DIM]) == "marts"
    assert layer_of(manifest["sources"][SOURCE]) == "source"
    assert layer_of(manifest["exposures"][EXPOSURE]) == "exposure"


def test_whole_graph_layout_and_marks(tmp_path: Path) -> None:
    path = tmp_path / "out" / "graph.html"
    graph = write_graph(synthetic_manifest(), None, path)
    assert set(graph.nodes) == {SOURCE, TEAMS, STG, INT, DIM, FCT, EXPOSURE}
    assert {n: graph.nodes[n].rank for n in (SOURCE, STG, INT, DIM, EXPOSURE)} == {
        SOURCE: 0,
        STG: 1,
        INT: 2,
        DIM: 3,
        EXPOSURE: 4,
    }
    assert (SOURCE, STG) in graph.edges
    assert {n.unique_id for n in graph.nodes.values() if n.has_pii} == {
        SOURCE,
        STG,
        INT,
        DIM,
    }
    assert graph.nodes[DIM].pii_columns == ["birth_date (date_of_birth, redact)"]
    assert graph.nodes[DIM].tests == 1

    svg = _svg(path)
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("data-id"): g for g in svg.iter(f"{ns}g") if g.get("data-id")}
    assert set(groups) == set(graph.nodes)
    assert "pii" in groups[DIM].get("class").split()
    assert "pii" not in groups[FCT].get("class").split()
    assert groups[STG].get("data-layer") == "staging"
    assert len([p for p in svg.iter(f"{ns}path") if p.get("class") == "edge"]) == 5
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Lineage of p</title>" in page
    assert "Legend" in page
    assert "<script" not in page
    assert _external_urls(path) == set()


def test_neighbourhood_graph_with_depth(tmp_path: Path) -> None:
    manifest = synthetic_manifest()
    near = build_graph(manifest, "int_players_joined", depth=1)
    assert set(near.nodes) == {STG, INT, DIM}
    assert near.focus == INT
    everything = build_graph(manifest, "int_players_joined")
    assert set(everything.nodes) == {SOURCE, STG, INT, DIM, EXPOSURE}
    path = tmp_path / "near.html"
    write_graph(manifest, "int_players_joined", path, depth=1)
    assert "around int_players_joined (1 hop(s))" in path.read_text()
    focus = [g for g in _svg(path).iter() if "focus" in (g.get("class") or "")]
    assert [g.get("data-id") for g in focus] == [INT]


def test_graph_errors(tmp_path: Path) -> None:
    with pytest.raises(LineageLookupError, match="did you mean"):
        write_graph(synthetic_manifest(), "dim_player", tmp_path / "x.html")
    with pytest.raises(LineageLookupError, match="depth"):
        build_graph(synthetic_manifest(), "dim_players", depth=-1)
    with pytest.raises(LineageLookupError, match="diamond run"):
        build_graph(tmp_path / "missing" / "manifest.json")


# --------------------------------------------------------------------------
# A real scratch build
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def built_target(duckdb_build: dict[str, Path]) -> Path:
    """Artifacts of ``diamond run`` and ``diamond docs`` on a scratch DuckDB."""
    return duckdb_build["target"]


def _closure(child_map: dict, start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for child in child_map.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


@pytest.mark.slow
def test_real_relation_impact_of_raw_people(built_target: Path) -> None:
    manifest_path = built_target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    people = "source.diamond.lahman.people"
    impact = downstream(manifest_path, "raw.people")
    assert impact.root == people
    assert impact.unique_ids() == _closure(manifest["child_map"], people)
    assert {
        "model.diamond.stg_lahman__people",
        "model.diamond.dim_players",
    } <= impact.unique_ids("model")
    assert impact.unique_ids("exposure")
    assert impact.unique_ids("test")
    assert downstream(manifest, "lahman.people").unique_ids() == impact.unique_ids()
    staging = downstream(manifest, "stg_lahman__people")
    assert staging.unique_ids() < impact.unique_ids()
    text = impact.to_text()
    assert text.splitlines()[0] == "lahman.people [source]"
    assert re.search(r"^[|`]-- stg_lahman__people \[model\]$", text, re.M)
    assert json.loads(impact.to_json())["summary"]["model"] >= 2


@pytest.mark.slow
def test_real_unknown_names_suggest_close_matches(built_target: Path) -> None:
    manifest = built_target / "manifest.json"
    with pytest.raises(LineageLookupError, match="stg_lahman__people"):
        downstream(manifest, "stg_lahman__peopel")
    with pytest.raises(LineageLookupError, match="birth_year"):
        downstream(
            manifest,
            "raw.people.birth_yaer",
            catalog=built_target / "catalog.json",
        )


@pytest.mark.slow
def test_real_column_impact_of_birth_year(built_target: Path) -> None:
    impact = downstream(
        built_target / "manifest.json",
        "raw.people.birth_year",
        catalog=built_target / "catalog.json",
    )
    columns = impact.columns()
    assert ("model.diamond.stg_lahman__people", "birth_year") in columns
    assert ("model.diamond.stg_lahman__people", "birth_date") in columns
    assert any(uid == "model.diamond.dim_players" for uid, _ in columns)
    assert ("model.diamond.stg_lahman__people", "player_id") not in columns
    assert "stg_lahman__people.birth_date [model]" in impact.to_text()


@pytest.mark.slow
def test_real_graph_whole_and_around_people(built_target: Path, tmp_path: Path) -> None:
    manifest = json.loads((built_target / "manifest.json").read_text())
    whole = write_graph(manifest, None, tmp_path / "all.html")
    models = {u for u, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert models | set(manifest["sources"]) <= set(whole.nodes)
    layers = {n.layer for n in whole.nodes.values()}
    assert {"source", "staging", "intermediate", "marts", "exposure"} <= layers
    assert whole.nodes["model.diamond.stg_lahman__people"].has_pii
    for parent, child in whole.edges:
        assert whole.nodes[parent].rank < whole.nodes[child].rank
    svg = _svg(tmp_path / "all.html")
    assert svg.get("width") and int(svg.get("width")) > 0
    assert _external_urls(tmp_path / "all.html") == set()

    near = write_graph(manifest, "stg_lahman__people", tmp_path / "near.html", depth=1)
    assert "source.diamond.lahman.people" in near.nodes
    assert "model.diamond.dim_players" in near.nodes
    assert set(near.nodes) < set(whole.nodes)
