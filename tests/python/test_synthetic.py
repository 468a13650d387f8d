"""The synthetic regulated tables: determinism, formats that must follow
real-world rules (Luhn, SSN issuing rules, HIPAA ZIP3), linkage to the
roster, the contract with the table specs and the size settings."""

from __future__ import annotations

import ipaddress
import re
from datetime import date

import pyarrow as pa
import pytest

from diamond import synthetic
from diamond.contracts import ARROW_TYPES
from diamond.errors import ConfigError

FAN_SIZE = 600
STINT_SIZE = 400


def make_roster() -> pa.Table:
    """A roster shaped like Lahman appearances, with seasons before and
    after 1990 so the preference for modern seasons is observable."""
    players, years, teams = [], [], []
    team_codes = ["BOS", "NYA", "CHN", "LAN", "SFN", "SEA"]
    for index in range(80):
        player = f"player{index:02d}"
        first = 1980 + index % 20
        for offset in range(4):
            players.append(player)
            years.append(first + offset)
            teams.append(team_codes[(index + offset) % len(team_codes)])
    return pa.table(
        {
            "player_id": pa.array(players, pa.string()),
            "year_id": pa.array(years, pa.int32()),
            "team_id": pa.array(teams, pa.string()),
        }
    )


@pytest.fixture(scope="module")
def roster() -> pa.Table:
    return make_roster()


@pytest.fixture(scope="module")
def tables(roster: pa.Table) -> dict[str, pa.Table]:
    return synthetic.generate(roster, seed=11, fans=FAN_SIZE, medical_stints=STINT_SIZE)


def column(tables: dict[str, pa.Table], table: str, name: str) -> list:
    return tables[table].column(name).to_pylist()


def test_same_settings_give_identical_tables(roster, tables):
    again = synthetic.generate(
        roster, seed=11, fans=FAN_SIZE, medical_stints=STINT_SIZE
    )
    assert again.keys() == tables.keys()
    for name, table in tables.items():
        assert again[name].equals(table), name


def test_roster_row_order_does_not_change_output(roster, tables):
    shuffled = roster.take(list(reversed(range(roster.num_rows))))
    again = synthetic.generate(
        shuffled, seed=11, fans=FAN_SIZE, medical_stints=STINT_SIZE
    )
    for name, table in tables.items():
        assert again[name].equals(table), name


def test_different_seed_gives_different_values(roster, tables):
    other = synthetic.generate(
        roster, seed=12, fans=FAN_SIZE, medical_stints=STINT_SIZE
    )
    for table, name in [
        ("fan_accounts", "email"),
        ("fan_accounts", "card_number"),
        ("player_medical_stints", "medical_record_number"),
    ]:
        assert column(other, table, name) != column(tables, table, name)


def test_one_table_size_leaves_the_other_unchanged(roster, tables):
    other = synthetic.generate(roster, seed=11, fans=10, medical_stints=STINT_SIZE)
    assert other["player_medical_stints"].equals(tables["player_medical_stints"])
    assert other["fan_accounts"].num_rows == 10


def test_tables_match_their_specs(tables):
    assert [s.name for s in synthetic.SYNTHETIC_TABLES] == list(tables)
    for spec in synthetic.SYNTHETIC_TABLES:
        table = tables[spec.name]
        assert tuple(table.column_names) == spec.column_names
        for col in spec.columns:
            assert table.schema.field(col.name).type == ARROW_TYPES[col.type]
    assert tables["fan_accounts"].num_rows == FAN_SIZE
    assert tables["player_medical_stints"].num_rows == STINT_SIZE


def test_specs_follow_the_brief():
    fans, stints = synthetic.FAN_ACCOUNTS, synthetic.PLAYER_MEDICAL_STINTS
    assert fans.file == "synthetic/fan_accounts.csv"
    assert fans.primary_key == ("fan_id",)
    assert stints.primary_key == ("stint_id",)
    assert stints.references == (("player_id", "people", "player_id"),)
    assert fans.column("date_of_birth").type == "DATE"
    assert stints.column("year_id").type == "INTEGER"


def test_primary_keys_are_unique_and_present(tables):
    for spec in synthetic.SYNTHETIC_TABLES:
        (key,) = spec.primary_key
        values = column(tables, spec.name, key)
        assert None not in values
        assert len(set(values)) == len(values)
    assert all(
        re.fullmatch(r"FAN\d{7}", v) for v in column(tables, "fan_accounts", "fan_id")
    )


def test_every_card_passes_luhn_with_a_real_issuer_prefix(tables):
    cards = column(tables, "fan_accounts", "card_number")
    for card in cards:
        assert re.fullmatch(r"\d{16}", card)
        assert synthetic.luhn_valid(card), card
        assert card[0] == "4" or 51 <= int(card[:2]) <= 55
    assert {card[0] for card in cards} == {"4", "5"}


def test_luhn_helper_rejects_a_changed_digit():
    assert synthetic.luhn_valid("4111111111111111")
    assert not synthetic.luhn_valid("4111111111111112")
    assert not synthetic.luhn_valid("41111x1111111111")


def test_national_ids_follow_ssn_issuing_rules(tables):
    for ssn in column(tables, "fan_accounts", "national_id"):
        match = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", ssn)
        assert match, ssn
        area, group, serial = match.groups()
        assert area not in ("000", "666")
        assert not area.startswith("9")
        assert group != "00"
        assert serial != "0000"


def test_contact_columns_have_realistic_formats(tables):
    phones = column(tables, "fan_accounts", "phone")
    shapes = {re.sub(r"\d", "d", p) for p in phones}
    assert {"(ddd) ddd-dddd", "ddd-ddd-dddd", "+d ddd ddd dddd"} <= shapes
    assert all(re.fullmatch(r"[^@\s]+@[a-z0-9.-]+\.[a-z]+", e) for e in column(
        tables, "fan_accounts", "email"))  # fmt: skip
    states = column(tables, "fan_accounts", "state")
    assert all(re.fullmatch(r"[A-Z]{2}", s) for s in states)
    zips = column(tables, "fan_accounts", "zip_code")
    assert all(re.fullmatch(r"\d{5}", z) for z in zips)
    ips = column(tables, "fan_accounts", "ip_address")
    assert any(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip) for ip in ips)
    assert any(":" in ip for ip in ips)
    # Addresses a fan could really connect from: no private or reserved ones.
    assert all(ipaddress.ip_address(ip).is_global for ip in ips if ":" not in ip)


def test_some_zip_codes_are_in_low_population_areas(tables):
    zips = column(tables, "fan_accounts", "zip_code")
    low = sum(z[:3] in synthetic.LOW_POPULATION_ZIP3 for z in zips)
    # About 3%, plus whatever Faker's own ZIPs happen to land there.
    assert 0.01 <= low / len(zips) <= 0.08


def test_ages_are_adult_with_a_few_over_89(tables):
    ref = synthetic.REFERENCE_DATE
    ages = [
        ref.year - b.year - ((ref.month, ref.day) < (b.month, b.day))
        for b in column(tables, "fan_accounts", "date_of_birth")
    ]
    assert min(ages) >= 18
    assert max(ages) <= 95
    over_89 = sum(age > 89 for age in ages)
    assert 0 < over_89 < 0.1 * len(ages)
    for born, signed in zip(
        column(tables, "fan_accounts", "date_of_birth"),
        column(tables, "fan_accounts", "signup_date"),
        strict=True,
    ):
        assert born < signed <= ref


def test_favorite_teams_come_from_the_latest_roster_season(roster, tables):
    latest = max(roster.column("year_id").to_pylist())
    current = {
        t
        for t, y in zip(
            roster.column("team_id").to_pylist(),
            roster.column("year_id").to_pylist(),
            strict=True,
        )
        if y == latest
    }
    assert set(column(tables, "fan_accounts", "favorite_team_id")) <= current


def test_most_support_notes_embed_that_fans_own_pii(tables):
    fans = tables["fan_accounts"].to_pylist()
    with_pii = 0
    for fan in fans:
        note = fan["support_notes"]
        own = (fan["email"], fan["phone"], fan["card_number"], fan["full_name"],
               fan["national_id"], fan["card_number"][-4:])  # fmt: skip
        if any(value in note for value in own):
            with_pii += 1
    assert 0.7 <= with_pii / len(fans) < 1.0


def test_medical_stints_link_to_roster_rows(roster, tables):
    known = set(
        zip(
            roster.column("player_id").to_pylist(),
            roster.column("year_id").to_pylist(),
            roster.column("team_id").to_pylist(),
            strict=True,
        )
    )
    stints = tables["player_medical_stints"].to_pylist()
    for stint in stints:
        assert (stint["player_id"], stint["year_id"], stint["team_id"]) in known
        # The roster has modern seasons, so only those are used.
        assert stint["year_id"] >= synthetic.MODERN_SEASON


def test_old_rosters_still_get_stints():
    roster = pa.table(
        {
            "player_id": ["ruthba01", "gehrilo01"],
            "year_id": pa.array([1927, 1927], pa.int32()),
            "team_id": ["NYA", "NYA"],
        }
    )
    made = synthetic.generate(roster, fans=3, medical_stints=5)
    assert set(made["player_medical_stints"].column("year_id").to_pylist()) == {1927}


def test_medical_values_are_consistent(tables):
    stints = tables["player_medical_stints"].to_pylist()
    mrn_of: dict[str, str] = {}
    for stint in stints:
        assert re.fullmatch(r"MRN-\d{8}", stint["medical_record_number"])
        assert re.fullmatch(r"HP[A-Z0-9]{10}", stint["health_plan_id"])
        assert re.fullmatch(r"Dr\. [A-Z][\w'-]+ [A-Z][\w'-]+", stint["physician_name"])
        # One record number per player, across all his stints.
        assert (
            mrn_of.setdefault(stint["player_id"], stint["medical_record_number"])
            == (stint["medical_record_number"])
        )
        injured: date = stint["injury_date"]
        assert injured.year == stint["year_id"]
        assert stint["days_missed"] > 0
        if stint["return_date"] is not None:
            assert (stint["return_date"] - injured).days == stint["days_missed"]
    assert len(set(mrn_of.values())) == len(mrn_of)
    season_ending = sum(s["return_date"] is None for s in stints)
    assert 0 < season_ending < len(stints)
    assert len({s["diagnosis"] for s in stints}) >= 10


def test_clinical_notes_sometimes_mention_identifiers(tables):
    stints = tables["player_medical_stints"].to_pylist()
    mentioning = sum(
        s["medical_record_number"] in s["clinical_notes"]
        or s["physician_name"] in s["clinical_notes"]
        for s in stints
    )
    assert 0.3 <= mentioning / len(stints) < 1.0


def test_labels_cover_every_column_with_the_shared_vocabulary():
    expected = {
        (spec.name, name)
        for spec in synthetic.SYNTHETIC_TABLES
        for name in spec.column_names
    }
    assert set(synthetic.LABELS) == expected
    vocabulary = {
        "person_name", "email", "phone", "street_address", "city", "zip_code",
        "date_of_birth", "date", "ssn", "credit_card", "ip_address",
        "medical_record_number", "health_plan_id", "free_text_pii",
    }  # fmt: skip
    assert {v for v in synthetic.LABELS.values() if v} == vocabulary
    assert synthetic.LABELS["fan_accounts", "signup_date"] is None
    assert synthetic.LABELS["player_medical_stints", "physician_name"] == (
        "person_name"
    )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"fans": -1}, "fans"),
        ({"medical_stints": -5}, "medical_stints"),
        ({"fans": 2.5}, "fans"),
        ({"seed": "seven"}, "seed"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_sizes_name_the_argument(roster, kwargs, argument):
    with pytest.raises(ConfigError, match=rf"^{argument} must"):
        synthetic.generate(roster, **kwargs)


def test_zero_sizes_give_empty_tables_with_the_right_schema(roster):
    made = synthetic.generate(roster, fans=0, medical_stints=0)
    assert made["fan_accounts"].num_rows == 0
    assert made["player_medical_stints"].num_rows == 0
    assert made["fan_accounts"].schema.field("date_of_birth").type == pa.date32()


def test_bad_rosters_are_rejected():
    with pytest.raises(
        ConfigError, match=r"roster is missing column\(s\) \['team_id'\]"
    ):
        synthetic.generate(pa.table({"player_id": ["a"], "year_id": [2000]}))
    empty = pa.table(
        {
            "player_id": pa.array([], pa.string()),
            "year_id": pa.array([], pa.int32()),
            "team_id": pa.array([], pa.string()),
        }
    )
    with pytest.raises(ConfigError, match="roster has no complete"):
        synthetic.generate(empty)
    with pytest.raises(ConfigError, match=r"roster must be a pyarrow\.Table"):
        synthetic.generate([("a", 2000, "BOS")])  # type: ignore[arg-type]


def test_settings_default_without_environment(monkeypatch):
    for name in (
        "DIAMOND_SYNTHETIC_SEED",
        "DIAMOND_SYNTHETIC_FANS",
        "DIAMOND_SYNTHETIC_MEDICAL_STINTS",
    ):
        monkeypatch.delenv(name, raising=False)
    assert synthetic.settings_from_env() == (7, 2000, 1500)


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("DIAMOND_SYNTHETIC_SEED", "42")
    monkeypatch.setenv("DIAMOND_SYNTHETIC_FANS", " 10 ")
    monkeypatch.setenv("DIAMOND_SYNTHETIC_MEDICAL_STINTS", "0")
    assert synthetic.settings_from_env() == (42, 10, 0)


@pytest.mark.parametrize(
    "variable",
    [
        "DIAMOND_SYNTHETIC_SEED",
        "DIAMOND_SYNTHETIC_FANS",
        "DIAMOND_SYNTHETIC_MEDICAL_STINTS",
    ],
)
@pytest.mark.parametrize("value", ["many", "-3", "1.5"])
def test_bad_settings_name_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=rf"^{variable} must"):
        synthetic.settings_from_env()


def test_generator_version_names_faker():
    import faker

    assert faker.VERSION in synthetic.GENERATOR_VERSION
