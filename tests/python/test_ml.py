"""The next-season model: features, Marcel, training, explanations, fairness,
the model card and the Postgres path.

The suites read the warehouses the end-to-end fixtures build (`diamond run`
on DuckDB, then on Postgres); the tests that change data work on copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psycopg2
import pytest
from conftest import run_diamond
from test_lineage_events import _validate, spec_registry  # noqa: F401

from governance.lineage.events import PRODUCER
from ml import ModelError
from ml.data import ATTRIBUTES, FEATURES, MART_FEATURES, model_frame
from ml.relations import RELATIONS
from ml.settings import Settings
from ml.train import current_version, fit, load

FEATURE_COLUMNS = [c for c in MART_FEATURES]


def _tail(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr)[-4000:]


def _duck(env: dict[str, str]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(env["DIAMOND_DUCKDB_PATH"], read_only=True)


def _frame(env: dict[str, str], relation: str) -> pd.DataFrame:
    with _duck(env) as con:
        return con.execute(f"select * from ml.{relation}").df()


def _pg_frame(env: dict[str, str], relation: str) -> pd.DataFrame:
    con = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname=env["PGDATABASE"],
    )
    try:
        with con.cursor() as cur:
            cur.execute(f"select * from ml.{relation}")
            columns = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(duckdb_built) -> dict[str, str]:
    return duckdb_built


@pytest.fixture(scope="module")
def settings(built) -> Settings:
    manifest = json.loads(
        (Path(built["DBT_TARGET_PATH"]) / "manifest.json").read_text()
    )
    node = manifest["nodes"]["model.diamond.ml_training_runs"]
    return Settings.from_config(node["config"]["ml_settings"])


@pytest.fixture(scope="module")
def frame(built) -> pd.DataFrame:
    return model_frame(
        _frame(built, "ml_next_season_features"),
        _frame(built, "ml_marcel_projections"),
    )


# --------------------------------------------------------------------------
# The feature mart


def test_run_trains_the_model_as_a_step(built, duckdb_run) -> None:
    assert "model training" in duckdb_run.stderr
    assert "against Marcel" in duckdb_run.stderr
    for relation in RELATIONS:
        assert not _frame(built, relation).empty, relation


def test_feature_rows_follow_the_playing_time_rule(built) -> None:
    features = _frame(built, "ml_next_season_features")
    seasons = _frame(built, "ml_hitter_seasons").set_index(["player_id", "season"])
    sample = features.sample(300, random_state=1)
    for row in sample.itertuples():
        before = seasons.loc[(row.player_id, row.target_season - 1)]
        needed = 200 * before.league_games_per_team / 162
        assert before.plate_appearances >= needed - 1e-9
        assert row.lag1_plate_appearances == before.plate_appearances
        if row.split != "forecast":
            after = seasons.loc[(row.player_id, row.target_season)]
            assert row.target_on_base_plus_slugging == pytest.approx(
                after.on_base_plus_slugging
            )
    assert set(features.loc[features.split == "forecast", "target_season"]) == {2021}
    shortened = features.loc[features.split == "shortened", "target_season"]
    assert set(shortened) == {1981, 1994, 2020}
    assert features.loc[features.target_season == 2020, "split"].eq("shortened").all()


def test_no_feature_is_taken_from_the_target_season(built, tmp_path) -> None:
    """Change what happened in 2010 and rebuild the features: the rows that
    project 2010 keep every feature and Marcel's projection; only their
    outcome moves."""
    copy = tmp_path / "diamond.duckdb"  # the file name is the catalog name
    shutil.copy(built["DIAMOND_DUCKDB_PATH"], copy)
    env = {**built, "DIAMOND_DUCKDB_PATH": str(copy)}
    env["DBT_TARGET_PATH"] = str(tmp_path / "target")
    with duckdb.connect(str(copy)) as con:
        before = con.execute(
            "select * from ml.ml_next_season_features where target_season <= 2010"
        ).df()
        marcel_before = con.execute(
            "select * from ml.ml_marcel_projections where target_season <= 2010"
        ).df()
        con.execute(
            "update ml.ml_hitter_seasons set home_runs = home_runs * 2 + 1, "
            "walks = walks + 10, on_base_plus_slugging = on_base_plus_slugging "
            "+ 0.25, ops_plus = ops_plus + 50 where season = 2010"
        )
    rebuilt = run_diamond(
        env,
        "dbt",
        "--target",
        "duckdb",
        "--",
        "run",
        "--select",
        "ml_next_season_features",
        "ml_marcel_projections",
    )
    assert rebuilt.returncode == 0, _tail(rebuilt)
    with duckdb.connect(str(copy), read_only=True) as con:
        after = con.execute(
            "select * from ml.ml_next_season_features where target_season <= 2010"
        ).df()
        marcel_after = con.execute(
            "select * from ml.ml_marcel_projections where target_season <= 2010"
        ).df()
    key = ["player_id", "target_season"]
    before = before.sort_values(key).reset_index(drop=True)
    after = after.sort_values(key).reset_index(drop=True)
    assert len(before) == len(after) > 1000
    pd.testing.assert_frame_equal(before[FEATURE_COLUMNS], after[FEATURE_COLUMNS])
    moved = (
        before["target_on_base_plus_slugging"] != after["target_on_base_plus_slugging"]
    )
    assert moved.any()
    assert set(before.loc[moved, "target_season"]) == {2010}
    pd.testing.assert_frame_equal(
        marcel_before.sort_values(key).reset_index(drop=True),
        marcel_after.sort_values(key).reset_index(drop=True),
    )


def test_features_exclude_outcomes_and_audited_attributes() -> None:
    assert not [f for f in FEATURES if f.startswith("target_")]
    assert not set(FEATURES) & set(ATTRIBUTES)


# --------------------------------------------------------------------------
# Marcel


def _marcel_sql(env: dict[str, str]) -> str:
    path = (
        Path(env["DBT_TARGET_PATH"])
        / "compiled/diamond/models/marts/ml/ml_marcel_projections.sql"
    )
    return path.read_text()


def test_marcel_matches_a_worked_example(built, tmp_path) -> None:
    """The compiled Marcel model, run on three seasons of one hitter in a
    league of two hitters and a pitcher, gives the projection worked out by
    hand below."""
    database = tmp_path / "diamond.duckdb"  # compiled refs name "diamond"
    events = ["singles", "doubles", "triples", "home_runs", "walks"]
    events += ["hit_by_pitch", "sacrifice_flies", "sacrifice_hits"]
    # player, season, pitcher, PA, 1B, 2B, HR, BB (no 3B, HBP, SF, SH)
    lines = [
        ("hero", 1999, False, 600, 100, 30, 20, 60),
        ("hero", 1998, False, 500, 90, 25, 15, 50),
        ("hero", 1997, False, 400, 70, 20, 10, 40),
        ("mate", 1999, False, 1000, 150, 50, 25, 80),
        ("mate", 1998, False, 1000, 150, 50, 25, 80),
        ("mate", 1997, False, 1000, 150, 50, 25, 80),
        ("arm", 1999, True, 50, 5, 0, 0, 1),
        ("arm", 1998, True, 50, 5, 0, 0, 1),
        ("arm", 1997, True, 50, 5, 0, 0, 1),
    ]
    with duckdb.connect(str(database)) as con:
        con.execute("create schema ml")
        con.execute(
            "create table ml.ml_next_season_features as "
            "select 'hero' as player_id, 2000 as target_season, 31 as age"
        )
        columns = ", ".join(f"{e} integer" for e in events)
        con.execute(
            "create table ml.ml_hitter_seasons (player_id varchar, season "
            f"integer, is_pitcher boolean, plate_appearances integer, {columns})"
        )
        for who, season, pitcher, pa, b1, b2, hr, bb in lines:
            con.execute(
                "insert into ml.ml_hitter_seasons values "
                "(?, ?, ?, ?, ?, ?, 0, ?, ?, 0, 0, 0)",
                [who, season, pitcher, pa, b1, b2, hr, bb],
            )
        (row,) = (
            con.execute(
                f"select * from ({_marcel_sql(built)}) where player_id = 'hero'"
            )
            .df()
            .to_dict("records")
        )

    # League rates of non-pitchers per season: hero + mate.
    league = {
        1999: {"1b": 250 / 1600, "2b": 80 / 1600, "hr": 45 / 1600, "bb": 140 / 1600},
        1998: {"1b": 240 / 1500, "2b": 75 / 1500, "hr": 40 / 1500, "bb": 130 / 1500},
        1997: {"1b": 220 / 1400, "2b": 70 / 1400, "hr": 35 / 1400, "bb": 120 / 1400},
    }
    # Weights 5/4/3 on 1999/1998/1997: 5*600 + 4*500 + 3*400 = 6200 PA.
    weighted_pa = 6200
    own = {
        "1b": 5 * 100 + 4 * 90 + 3 * 70,  # 1070
        "2b": 5 * 30 + 4 * 25 + 3 * 20,  # 310
        "hr": 5 * 20 + 4 * 15 + 3 * 10,  # 190
        "bb": 5 * 60 + 4 * 50 + 3 * 40,  # 620
    }
    rates = {}
    for event in own:
        expected_league = (
            5 * 600 * league[1999][event]
            + 4 * 500 * league[1998][event]
            + 3 * 400 * league[1997][event]
        )
        # 1200 PA of the league's rate (per PA of the player's weighted PA).
        regressed = (own[event] + 1200 * expected_league / weighted_pa) / (
            weighted_pa + 1200
        )
        rates[event] = regressed * (1 + (29 - 31) * 0.003)  # age 31: 0.994
    hits = rates["1b"] + rates["2b"] + rates["hr"]
    at_bats = 1 - rates["bb"]
    obp = hits + rates["bb"]  # (H + BB + HBP) / (PA - SH), per PA
    slg = (rates["1b"] + 2 * rates["2b"] + 4 * rates["hr"]) / at_bats

    assert row["age_factor"] == pytest.approx(0.994, abs=1e-12)
    assert row["reliability"] == pytest.approx(6200 / 7400, abs=1e-12)
    assert row["projected_plate_appearances"] == pytest.approx(
        0.5 * 600 + 0.1 * 500 + 200
    )
    assert row["projected_on_base_percentage"] == pytest.approx(obp, abs=1e-12)
    assert row["projected_slugging_percentage"] == pytest.approx(slg, abs=1e-12)
    assert row["projected_on_base_plus_slugging"] == pytest.approx(obp + slg, abs=1e-12)


def test_marcel_beats_last_season_and_the_model_beats_marcel(built) -> None:
    metrics = _frame(built, "ml_metrics")
    test = metrics[metrics.split == "test"].set_index("predictor")
    assert set(test["rows"]) == {test.loc["model", "rows"]}  # identical rows
    assert test.loc["marcel", "mae"] < test.loc["last_season", "mae"]
    assert test.loc["model", "mae"] < test.loc["marcel", "mae"]
    assert test.loc["model", "mae_improvement_over_marcel"] > 0
    predictions = _frame(built, "ml_predictions")
    scored = predictions[(predictions.split == "test")].dropna(
        subset=["actual_ops", "marcel_ops", "last_season_ops"]
    )
    assert len(scored) == test.loc["model", "rows"]
    mae = (scored.actual_ops - scored.predicted_ops).abs().mean()
    assert mae == pytest.approx(test.loc["model", "mae"])


# --------------------------------------------------------------------------
# Training: reproducible, registered, hashed


def test_retraining_reproduces_the_registered_version(
    built, frame, settings, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DIAMOND_ML_DIR", str(tmp_path))
    monkeypatch.setenv("DIAMOND_TARGET", "duckdb")
    registry = _frame(built, "ml_training_runs")
    entry = current_version(registry)
    first = fit(frame, settings)
    second = fit(frame, settings)
    assert first.version == second.version == entry["model_version"]
    assert (
        first.registry["training_data_fingerprint"].iloc[0]
        == entry["training_data_fingerprint"]
    )
    left = first.estimator.predict(frame[list(FEATURES)])
    right = second.estimator.predict(frame[list(FEATURES)])
    np.testing.assert_array_equal(left, right)
    stored = _frame(built, "ml_predictions").sort_values(["player_id", "target_season"])
    mine = left + frame["marcel_on_base_plus_slugging"].to_numpy()
    np.testing.assert_allclose(stored["predicted_ops"].to_numpy(), mine, rtol=1e-12)


def test_registry_records_the_artifact_and_its_hash(built) -> None:
    entry = current_version(_frame(built, "ml_training_runs"))
    path = Path(entry["artifact_path"])
    assert path.is_file()
    assert Path(built["DIAMOND_DUCKDB_PATH"]).parent in path.parents
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["artifact_sha256"]
    assert json.loads(entry["features"]) == list(FEATURES)
    assert json.loads(entry["parameters"])["random_state"] == 20250401
    scores = json.loads(entry["metrics"])
    metrics = _frame(built, "ml_metrics").set_index(["split", "predictor"])
    for split in ("train", "validation", "test"):
        assert scores[split]["mae"] == pytest.approx(
            metrics.loc[(split, "model"), "mae"], abs=1e-6
        )
        assert scores[split]["marcel_mae"] == pytest.approx(
            metrics.loc[(split, "marcel"), "mae"], abs=1e-6
        )
    assert len(entry["code_hash"]) == 64


def test_a_changed_model_file_is_refused(built, tmp_path) -> None:
    entry = current_version(_frame(built, "ml_training_runs")).copy()
    copy = tmp_path / "model.joblib"
    shutil.copy(entry["artifact_path"], copy)
    entry["artifact_path"] = str(copy)
    load(entry)  # the untouched copy loads
    with copy.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="changed after training"):
        load(entry)


def test_missing_feature_column_is_named(built) -> None:
    features = _frame(built, "ml_next_season_features").drop(columns=["lag1_walk_rate"])
    with pytest.raises(ModelError) as caught:
        model_frame(features, _frame(built, "ml_marcel_projections"))
    assert "ml_next_season_features has no column lag1_walk_rate" in str(caught.value)


def test_empty_feature_mart_is_refused(built) -> None:
    features = _frame(built, "ml_next_season_features").head(0)
    with pytest.raises(ModelError, match="has no rows"):
        model_frame(features, _frame(built, "ml_marcel_projections"))


def test_dbt_reports_an_empty_train_split_clearly(built, tmp_path) -> None:
    copy = tmp_path / "diamond.duckdb"
    shutil.copy(built["DIAMOND_DUCKDB_PATH"], copy)
    env = {
        **built,
        "DIAMOND_DUCKDB_PATH": str(copy),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
    }
    result = run_diamond(
        env,
        "dbt",
        "--target",
        "duckdb",
        "--",
        "build",
        "--select",
        "ml_next_season_features",
        "ml_training_runs",
        "--vars",
        "{ml_first_target_season: 2013}",
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "no labelled rows in the train split" in output
    assert "ml_next_season_features" in output


# --------------------------------------------------------------------------
# Explanations


def test_shap_contributions_add_up_to_the_prediction(built) -> None:
    shap = _frame(built, "ml_shap_contributions")
    predictions = _frame(built, "ml_predictions").set_index(
        ["player_id", "target_season"]
    )
    assert set(shap["split"]) == {"test", "forecast"}
    assert shap.groupby(["player_id", "target_season"]).size().eq(len(FEATURES)).all()
    totals = shap.groupby(["player_id", "target_season"]).agg(
        shap=("shap_value", "sum"),
        base=("base_value", "first"),
        marcel=("marcel_ops", "first"),
    )
    rebuilt = totals["marcel"] + totals["base"] + totals["shap"]
    expected = predictions.loc[totals.index, "predicted_ops"]
    np.testing.assert_allclose(rebuilt.to_numpy(), expected.to_numpy(), atol=1e-6)
    first = shap[shap.contribution_rank == 1].set_index(["player_id", "target_season"])
    biggest = (
        shap.assign(size=shap.shap_value.abs())
        .groupby(["player_id", "target_season"])["size"]
        .max()
    )
    np.testing.assert_allclose(first["shap_value"].abs(), biggest.loc[first.index])


def test_feature_importance_ranks_mean_absolute_shap(built) -> None:
    importance = _frame(built, "ml_feature_importance").sort_values("importance_rank")
    assert list(importance["importance_rank"]) == list(range(1, len(FEATURES) + 1))
    assert importance["mean_abs_shap"].is_monotonic_decreasing
    assert importance["share_of_total"].sum() == pytest.approx(1.0)
    shap = _frame(built, "ml_shap_contributions")
    test = shap[shap.split == "test"]
    top = importance.iloc[0]
    assert test.loc[test.feature == top.feature, "shap_value"].abs().mean() == (
        pytest.approx(top.mean_abs_shap)
    )


def test_lime_explains_a_sample_and_measures_agreement(built, settings) -> None:
    lime = _frame(built, "ml_lime_explanations")
    explained = lime.groupby(["player_id", "target_season"])
    assert explained.ngroups == settings.lime_sample_rows
    assert set(lime["feature"]) <= set(FEATURES)
    overlap = explained["top3_overlap_with_shap"].first()
    assert overlap.between(0, 1).all()
    # The two methods should broadly agree on what drives a prediction.
    assert overlap.mean() >= 1 / 3


def test_plots_are_written(built) -> None:
    entry = current_version(_frame(built, "ml_training_runs"))
    folder = Path(entry["artifact_path"]).parent
    summary = folder / "shap_summary.png"
    assert summary.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    players = list(folder.glob("shap_player_*_2021.png"))
    assert len(players) == 1


# --------------------------------------------------------------------------
# Fairness


def test_fairness_intervals_gaps_and_flags(built) -> None:
    fairness = _frame(built, "ml_fairness")
    assert set(fairness["attribute"]) == set(ATTRIBUTES)
    assert (fairness.mae_ci_low <= fairness.mae).all()
    assert (fairness.mae <= fairness.mae_ci_high).all()
    for attribute, groups in fairness.groupby("attribute"):
        counted = groups[groups.in_gap]
        gap = counted.mae.max() - counted.mae.min() if len(counted) > 1 else 0.0
        assert groups.attribute_mae_gap.iloc[0] == pytest.approx(gap), attribute
        assert groups.is_flagged.iloc[0] == (gap > groups.max_mae_gap.iloc[0])
    test_rows = _frame(built, "ml_predictions").query("split == 'test'")
    by_hand = fairness.query("attribute == 'bats'")["rows"].sum()
    assert by_hand == len(test_rows.dropna(subset=["actual_ops"]))


def test_a_tight_threshold_flags_the_gaps(built, settings) -> None:
    from ml.fairness import audit

    strict = Settings(**{**settings.__dict__, "fairness_max_mae_gap": 0.0})
    result = audit(
        _frame(built, "ml_predictions"),
        _frame(built, "ml_next_season_features"),
        strict,
    )
    several = result[result.in_gap].groupby("attribute").size() > 1
    flagged = result.groupby("attribute")["is_flagged"].first()
    assert (flagged[several[several].index]).all()


# --------------------------------------------------------------------------
# Model card


def test_model_card_describes_the_model_in_service(built) -> None:
    cards = _frame(built, "ml_model_cards")
    entry = current_version(_frame(built, "ml_training_runs"))
    card = cards.set_index("model_version").loc[entry["model_version"]]
    text = Path(card["markdown_path"]).read_text()
    assert hashlib.sha256(text.encode()).hexdigest() == card["markdown_sha256"]
    assert entry["model_version"] in text
    assert entry["artifact_sha256"] in text
    assert entry["training_data_fingerprint"] in text
    assert "EU AI Act" in text and "salary" in text
    assert "lower" in text and bool(card["beats_marcel_on_test"])
    for heading in ("Intended use", "Out of scope", "Fairness", "Limitations"):
        assert f"## {heading}" in text
    html = Path(card["html_path"]).read_text()
    assert "<table>" in html and "shap_summary.png" in html


# --------------------------------------------------------------------------
# Lineage


def test_training_is_a_lineage_job_with_the_model_file(
    built,
    spec_registry,  # noqa: F811
) -> None:
    path = Path(built["DBT_TARGET_PATH"]) / "lineage" / "events.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    training = [e for e in events if e["job"]["name"] == "diamond.ml.train"]
    assert [e["eventType"] for e in training[-2:]] == ["START", "COMPLETE"]
    entry = current_version(_frame(built, "ml_training_runs"))
    outputs = {o["name"]: o for o in training[-1]["outputs"]}
    artifact = outputs[str(Path(entry["artifact_path"]).resolve())]
    assert artifact["facets"]["version"]["datasetVersion"] == entry["artifact_sha256"]
    assert any(name.endswith(".ml.ml_predictions") for name in outputs)
    inputs = {i["name"] for i in training[-1]["inputs"]}
    assert any(name.endswith(".ml.ml_next_season_features") for name in inputs)
    assert "parent" in training[-1]["run"]["facets"]
    # The client adds a tags facet of its own (its version) as it emits;
    # the facets diamond wrote are the ones checked for their producer.
    for event in training[-2:]:
        assert event["run"]["facets"].pop("tags")["_producer"] != PRODUCER
    _validate(training[-2:], spec_registry)


# --------------------------------------------------------------------------
# Postgres: the same relations from `diamond ml train`


@pytest.mark.postgres
def test_postgres_trains_the_same_model(built, postgres_run) -> None:
    assert postgres_run.returncode == 0, _tail(postgres_run)
    assert "model training" in postgres_run.stderr
    duck = current_version(_frame(built, "ml_training_runs"))
    pg = current_version(_pg_frame(built, "ml_training_runs"))
    assert pg["model_version"] == duck["model_version"]
    assert "/ml/postgres/" in pg["artifact_path"]
    key = ["split", "predictor"]
    left = _frame(built, "ml_metrics").sort_values(key).reset_index(drop=True)
    right = _pg_frame(built, "ml_metrics").sort_values(key).reset_index(drop=True)
    np.testing.assert_allclose(left["mae"], right["mae"], rtol=1e-9)
    for relation in RELATIONS:
        assert list(_pg_frame(built, relation).columns) == list(
            _frame(built, relation).columns
        ), relation


@pytest.mark.postgres
def test_postgres_training_without_features_says_what_to_run(
    built, postgres_run, scratch_dsn, tmp_path
) -> None:
    database = scratch_dsn.rsplit("dbname=", 1)[1].split()[0]
    # A target folder of its own: the failed attempt's lineage and audit
    # records must not land among the build's.
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy(Path(built["DBT_TARGET_PATH"]) / "manifest.json", target)
    env = {
        **built,
        "PGDATABASE": database,
        "DBT_TARGET_PATH": str(target),
        "DIAMOND_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    result = run_diamond(env, "ml", "train", "--target", "postgres")
    assert result.returncode == 1
    assert "ml.ml_next_season_features does not exist" in result.stderr
    assert "diamond build --target postgres" in result.stderr
    events = (target / "lineage" / "events.jsonl").read_text().splitlines()
    assert [json.loads(e)["eventType"] for e in events] == ["START", "FAIL"]


def test_lineage_runs_from_the_release_to_predictions_and_the_index(built) -> None:
    """One connected graph: the release file, raw, staging, marts, the
    feature mart, the model file and predictions, then the model card and
    the assistant's index that reads it."""
    path = Path(built["DBT_TARGET_PATH"]) / "lineage" / "events.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    edges: dict[str, set[str]] = {}
    for event in events:
        if event["eventType"] != "COMPLETE":
            continue
        for source in event.get("inputs") or []:
            for sink in event.get("outputs") or []:
                edges.setdefault(source["name"], set()).add(sink["name"])
    ingest = [e for e in events if e["job"]["name"] == "diamond.ingest"]
    release = ingest[-1]["inputs"][0]["name"]
    reached, queue = {release}, [release]
    while queue:
        for nxt in edges.get(queue.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    entry = current_version(_frame(built, "ml_training_runs"))
    for suffix in (
        ".raw.batting",
        ".staging.stg_lahman__batting_stints",
        ".marts.fct_batting_seasons",
        ".ml.ml_next_season_features",
        ".ml.ml_predictions",
    ):
        assert any(name.endswith(suffix) for name in reached), suffix
    assert str(Path(entry["artifact_path"]).resolve()) in reached
    card = str((Path(entry["artifact_path"]).parent / "model_card.md").resolve())
    assert card in reached
    assert any(name.endswith("/rag/index") for name in reached), sorted(reached)[-5:]


def test_every_step_outside_dbt_is_a_valid_lineage_job(
    built,
    spec_registry,  # noqa: F811
) -> None:
    path = Path(built["DBT_TARGET_PATH"]) / "lineage" / "events.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    jobs = ("diamond.ml.train", "diamond.rag.index", "diamond.drift.check")
    for job in jobs:
        mine = [e for e in events if e["job"]["name"] == job]
        assert {e["eventType"] for e in mine} >= {"START", "COMPLETE"}, job
        last = mine[-2:]
        assert all("parent" in e["run"]["facets"] for e in last), job
        for event in last:
            event["run"]["facets"].pop("tags", None)  # added by the client
        _validate(last, spec_registry)
