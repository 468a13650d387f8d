"""The assistant's corpus: chunking, ids, metadata and the shipped data files.

These tests need neither the embedding model nor dbt: they run on small
hand-written manifests and documents, plus the guide and golden set that
ship with the package.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.corpus import (
    LAHMAN_ATTRIBUTION,
    CorpusContext,
    collect,
    lahman_readme,
    manifest_chunks,
    markdown_chunks,
    markdown_files,
    model_cards,
)
from rag.errors import RagError
from rag.evaluate import GOLDEN_PATH, load_golden
from rag.retrieval import rrf
from rag.text import sentences, slugify, tokens
from rag.traces import percentile, stats

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "rag" / "guide"


def _context(tmp_path: Path) -> CorpusContext:
    return CorpusContext(project_dir=ROOT, target_dir=tmp_path, docs_url="http://docs")


def _manifest() -> dict:
    """A two-model manifest with a group, personal columns and tests."""
    return {
        "metadata": {"project_name": "diamond"},
        "groups": {
            "group.diamond.analytics": {
                "name": "analytics",
                "owner": {"name": "Analytics engineering", "email": "a@x.example"},
            }
        },
        "nodes": {
            "model.diamond.dim_people": {
                "unique_id": "model.diamond.dim_people",
                "resource_type": "model",
                "name": "dim_people",
                "schema": "marts",
                "original_file_path": "models/marts/dim_people.sql",
                "description": "One row per person.",
                "group": "analytics",
                "access": "public",
                "config": {"materialized": "table", "contract": {"enforced": True}},
                "columns": {
                    "person_id": {"name": "person_id", "description": "Key."},
                    "email": {
                        "name": "email",
                        "description": "Contact address.",
                        "meta": {
                            "contains_pii": True,
                            "pii_type": "email",
                            "masking_policy": "email_domain",
                        },
                    },
                },
            },
            "model.diamond.fct_visits": {
                "unique_id": "model.diamond.fct_visits",
                "resource_type": "model",
                "name": "fct_visits",
                "schema": "marts",
                "original_file_path": "models/marts/fct_visits.sql",
                "description": "",
                "config": {},
                "columns": {},
            },
            "test.diamond.unique_dim_people_person_id": {
                "unique_id": "test.diamond.unique_dim_people_person_id",
                "resource_type": "test",
                "name": "unique_dim_people_person_id",
                "column_name": "person_id",
                "attached_node": "model.diamond.dim_people",
                "test_metadata": {"name": "unique", "kwargs": {}},
            },
        },
        "sources": {},
        "exposures": {},
        "macros": {},
        "parent_map": {"model.diamond.fct_visits": ["model.diamond.dim_people"]},
        "child_map": {
            "model.diamond.dim_people": [
                "model.diamond.fct_visits",
                "test.diamond.unique_dim_people_person_id",
            ]
        },
    }


def test_manifest_chunks_carry_owner_tests_personal_data_neighbours_and_links(
    tmp_path: Path,
) -> None:
    chunks = {c.id: c for c in manifest_chunks(_manifest(), _context(tmp_path))}
    overview = chunks["models/marts/dim_people.sql#dim-people"]
    assert "Analytics engineering <a@x.example>" in overview.text
    assert "Downstream of dim_people: model fct_visits" in overview.text
    assert "unique_dim_people" not in overview.text  # tests are not neighbours
    assert overview.link == "http://docs/#!/model/model.diamond.dim_people"
    assert overview.kind == "dbt_model"
    assert overview.meta["unique_id"] == "model.diamond.dim_people"
    personal = chunks["models/marts/dim_people.sql#dim-people-personal-data"]
    assert "`email` holds personal data (contains_pii), pii_type email" in (
        personal.text
    )
    assert "masking policy email_domain" in personal.text
    assert (
        "unique on person_id"
        in chunks["models/marts/dim_people.sql#dim-people-tests"].text
    )
    visits = chunks["models/marts/fct_visits.sql#fct-visits"]
    assert "It has no description yet." in visits.text
    assert "Upstream of fct_visits: model dim_people" in visits.text


def test_chunk_ids_are_stable_unique_and_slugged(tmp_path: Path) -> None:
    text = (
        "# Title\n\nIntro.\n\n## Same\n\nOne.\n\n## Same\n\nTwo.\n\n"
        "```\n# not a heading\n```\n"
    )
    first = markdown_chunks(text, "docs/a.md", "project_doc")
    again = markdown_chunks(text, "docs/a.md", "project_doc")
    assert [c.id for c in first] == [c.id for c in again]
    assert [c.id for c in first] == [
        "docs/a.md#title",
        "docs/a.md#same",
        "docs/a.md#same-2",
    ]
    assert "# not a heading" in first[-1].text
    assert all(c.title == "Title" for c in first)


def test_long_sections_split_between_items_never_inside_one(tmp_path: Path) -> None:
    items = "\n".join(
        f"- item {n} says something\n  that continues here." for n in range(80)
    )
    chunks = markdown_chunks(f"# Doc\n\n## List\n\n{items}\n", "d.md", "project_doc")
    assert len(chunks) > 1
    assert [c.id for c in chunks][:2] == ["d.md#list", "d.md#list-part-2"]
    for chunk in chunks:
        assert len(chunk.text) <= 1000
        for sentence in sentences(chunk.text):
            assert sentence.endswith("here."), sentence


def test_duplicate_chunk_ids_across_sources_are_an_error(tmp_path: Path) -> None:
    def twice(_: CorpusContext):
        return markdown_chunks("# A\n\ntext", "x.md", "project_doc") * 2

    with pytest.raises(RagError, match=r"two corpus chunks share the id 'x.md#a'"):
        collect(_context(tmp_path), [twice])


def test_markdown_sources_take_what_exists_and_target_documents(tmp_path: Path) -> None:
    cards = tmp_path / "ml"
    cards.mkdir()
    (cards / "card.md").write_text(
        "# Model card\n\nIt predicts OPS.\n", encoding="utf-8"
    )
    source = markdown_files(["ml/**/*.md", "nothing/*.md"], "model_card", base="target")
    [chunk] = source(_context(tmp_path))
    assert chunk.id == "target/ml/card.md#model-card"
    assert chunk.kind == "model_card"


def test_model_cards_are_read_from_the_ml_artifact_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIAMOND_ML_DIR", str(tmp_path / "ml"))
    assert model_cards(_context(tmp_path)) == []
    folder = tmp_path / "ml" / "duckdb" / "v1"
    folder.mkdir(parents=True)
    (folder / "model_card.md").write_text(
        "# Model card v1\n\n## Intended use\n\nNext-season OPS.\n", encoding="utf-8"
    )
    [chunk] = model_cards(_context(tmp_path))
    assert chunk.id == "ml-artifacts/duckdb/v1/model_card.md#intended-use"
    assert chunk.kind == "model_card"


def test_lahman_readme_is_read_from_the_zip_with_attribution(tmp_path: Path) -> None:
    chunks = {c.id: c for c in lahman_readme(_context(tmp_path))}
    batting = chunks[
        "lahman/baseballdatabank-2021.2/core/readme2014.txt#2-2-batting-table"
    ]
    assert "- 2B: Doubles" in batting.text
    assert "- HR: Homeruns" in batting.text
    assert batting.attribution == LAHMAN_ATTRIBUTION
    assert any(c.endswith("README.txt#baseball-databank") for c in chunks)


def test_guide_has_forty_entries_each_in_own_words() -> None:
    entries = []
    for path in sorted(GUIDE.glob("*.md")):
        entries += re.findall(r"^## (.+)$", path.read_text(encoding="utf-8"), re.M)
    assert len(entries) >= 40
    for needed in ("OBP", "OPS", "ERA", "WHIP", "FIP", "Designated hitter", "Balk"):
        assert any(needed.lower() in e.lower() for e in entries), needed
    for needed in ("1981", "1994", "National Association", "salaries", "60 games"):
        assert any(needed.lower() in e.lower() for e in entries), needed


def test_golden_set_is_large_enough_and_names_real_sources(tmp_path: Path) -> None:
    questions = load_golden()
    assert len(questions) >= 60
    refused = [q for q in questions if q.refuse]
    assert len(refused) >= 10
    assert any("World Series" in q.question for q in refused)
    assert any("France" in q.question for q in refused)
    guide = collect(
        _context(tmp_path),
        [markdown_files(["rag/guide/*.md"], "guide", base="package")],
    )
    guide_ids = {c.id for c in guide}
    for question in questions:
        for source in question.sources:
            if source.startswith("rag/guide/"):
                assert source in guide_ids, (question.id, source)


def test_golden_set_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "golden.yml"
    bad.write_text("questions:\n  - id: a\n    question: What?\n", encoding="utf-8")
    with pytest.raises(RagError, match="question a needs `sources` or `refuse: true`"):
        load_golden(bad)
    with pytest.raises(RagError, match="cannot read the golden set"):
        load_golden(tmp_path / "missing.yml")
    assert GOLDEN_PATH.is_file()


def test_tokens_keep_model_names_whole_and_drop_question_words() -> None:
    assert tokens("Who owns fct_batting_seasons?") == [
        "own",
        "fct_batting_seasons",
        "fct",
        "batting",
        "season",
    ]
    assert "ops+" in tokens("What is OPS+?")
    assert slugify("Strikeouts and walks per nine innings (K/9, BB/9)") == (
        "strikeouts-and-walks-per-nine-innings-k-9-bb-9"
    )


def test_sentences_keep_table_rows_with_their_headers() -> None:
    text = (
        "Intro, e.g. this. fct_x is next.\n\n"
        "| policy | result |\n|---|---|\n| `zip3` | three digits |"
    )
    assert sentences(text) == [
        "Intro, e.g. this.",
        "fct_x is next.",
        "policy: `zip3`; result: three digits",
    ]


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert max(fused, key=fused.get) == 1
    assert fused[2] == pytest.approx(1 / 62)


def test_stats_of_traces() -> None:
    traces = [
        {"timings_ms": {"total": 10.0}, "refused": False, "groundedness": 1.0},
        {"timings_ms": {"total": 30.0}, "refused": True, "groundedness": 1.0},
        {
            "timings_ms": {"total": 20.0},
            "refused": False,
            "groundedness": 0.5,
            "hallucinated": True,
            "feedback": {"score": -1},
        },
    ]
    figures = stats(traces)
    assert figures["questions"] == 3
    assert figures["total_ms_p50"] == 20.0
    assert figures["refusal_rate"] == pytest.approx(1 / 3)
    assert figures["groundedness"] == pytest.approx(0.75)
    assert figures["hallucination_rate"] == pytest.approx(1 / 3)
    assert figures["feedback_mean"] == -1
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert stats([]) == {"questions": 0}
