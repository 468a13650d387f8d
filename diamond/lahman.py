"""The raw contract of the Lahman / baseballdatabank release.

One :class:`TableSpec` per CSV file in the release's ``core/`` folder says what
the file must look like (its header, in order), what each column is called in
the warehouse, its type, its primary key and which other tables it points to.
Ingest validates every file against this contract before anything is loaded,
and the dbt sources describe the same columns; a test keeps the two in step.

Warehouse column names are lowercase snake_case so that the same SQL runs on
DuckDB, Postgres and Athena without quoting: ``playerID`` becomes
``player_id``, ``2B`` becomes ``doubles`` and ``park.key`` becomes
``park_key``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Logical column types, named as DuckDB spells them. Each warehouse maps
#: them to its own spelling in :data:`WAREHOUSE_TYPES`.
LOGICAL_TYPES = ("VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "DATE")

WAREHOUSE_TYPES: dict[str, dict[str, str]] = {
    "duckdb": {t: t for t in LOGICAL_TYPES},
    "postgres": {
        "VARCHAR": "text",
        "INTEGER": "integer",
        "BIGINT": "bigint",
        "DOUBLE": "double precision",
        "DATE": "date",
    },
    # Glue / Hive type names, which is what Athena's catalog stores.
    "athena": {
        "VARCHAR": "string",
        "INTEGER": "int",
        "BIGINT": "bigint",
        "DOUBLE": "double",
        "DATE": "date",
    },
}

# Names that snake-casing alone would get wrong or leave unreadable.
_SPECIAL_NAMES = {
    "2B": "doubles",
    "GIDP": "gidp",
    "WCWin": "wc_win",
    "WSWin": "ws_win",
    "Ghome": "g_home",
    "Glf": "g_lf",
    "Gcf": "g_cf",
    "Grf": "g_rf",
    "3B": "triples",
    "G": "g",
    "GS": "gs",
    "IPouts": "ip_outs",
    "InnOuts": "inn_outs",
    "BAOpp": "ba_opp",
    "teamIDBR": "team_id_br",
    "teamIDlahman45": "team_id_lahman45",
    "teamIDretro": "team_id_retro",
    "teamIDwinner": "team_id_winner",
    "lgIDwinner": "lg_id_winner",
    "teamIDloser": "team_id_loser",
    "lgIDloser": "lg_id_loser",
    "NAassoc": "na_assoc",
    "plyrMgr": "plyr_mgr",
    "retroID": "retro_id",
    "bbrefID": "bbref_id",
}


def snake_case(header: str) -> str:
    """Return the warehouse name for a CSV header.

    >>> snake_case("playerID"), snake_case("2B"), snake_case("span.first")
    ('player_id', 'doubles', 'span_first')
    """
    if header in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[header]
    name = header.replace(".", "_")
    name = re.sub(r"ID", "_id", name)
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    name = re.sub(r"_+", "_", name).strip("_")
    return name.lower()


@dataclass(frozen=True)
class Column:
    """One column of a raw table: its CSV header, warehouse name and type."""

    header: str
    type: str

    @property
    def name(self) -> str:
        return snake_case(self.header)


@dataclass(frozen=True)
class TableSpec:
    """The contract one CSV file of the release must meet."""

    name: str
    file: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    #: Key columns that may be null in real data (checked for uniqueness but
    #: not for presence), with the reason in ``notes``.
    nullable_key: tuple[str, ...] = ()
    season_column: str | None = None
    #: (column, table, column) triples checked for referential sanity.
    references: tuple[tuple[str, str, str], ...] = ()
    notes: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(c.name for c in self.columns)
        object.__setattr__(self, "column_names", names)
        for key in (*self.primary_key, *(r[0] for r in self.references)):
            if key not in names:
                msg = f"{self.name}: key column {key!r} is not one of {names}"
                raise ValueError(msg)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        msg = f"{self.name} has no column {name!r}"
        raise KeyError(msg)


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse ``"playerID:V yearID:I ..."`` into columns (V, I, B, D, T)."""
    codes = {"V": "VARCHAR", "I": "INTEGER", "B": "BIGINT", "D": "DOUBLE", "T": "DATE"}
    out = []
    for item in spec.split():
        header, code = item.rsplit(":", 1)
        out.append(Column(header, codes[code]))
    return tuple(out)


_BATTING_STATS = (
    "G:I AB:I R:I H:I 2B:I 3B:I HR:I RBI:I SB:I CS:I BB:I SO:I IBB:I HBP:I "
    "SH:I SF:I GIDP:I"
)
_PITCHING_STATS = (
    "W:I L:I G:I GS:I CG:I SHO:I SV:I IPouts:I H:I ER:I HR:I BB:I SO:I "
    "BAOpp:D ERA:D IBB:I WP:I HBP:I BK:I BFP:I GF:I R:I SH:I SF:I GIDP:I"
)
_FIELDING_STATS = "G:I GS:I InnOuts:I PO:I A:I E:I DP:I PB:I WP:I SB:I CS:I ZR:D"
_PEOPLE = ("player_id", "people", "player_id")
_TEAMS = ("team_id", "teams", "team_id")

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "allstar_full",
        "AllstarFull.csv",
        _cols(
            "playerID:V yearID:I gameNum:I gameID:V teamID:V lgID:V GP:I startingPos:I"
        ),
        season_column="year_id",
        references=(_PEOPLE,),
        notes="No natural key: the 2021.2 release repeats 31 rows exactly "
        "and lists the cancelled 1945 game without a game id.",
    ),
    TableSpec(
        "appearances",
        "Appearances.csv",
        _cols(
            "yearID:I teamID:V lgID:V playerID:V G_all:I GS:I G_batting:I "
            "G_defense:I G_p:I G_c:I G_1b:I G_2b:I G_3b:I G_ss:I G_lf:I "
            "G_cf:I G_rf:I G_of:I G_dh:I G_ph:I G_pr:I"
        ),
        ("year_id", "team_id", "player_id"),
        season_column="year_id",
        references=(_PEOPLE, _TEAMS),
    ),
    TableSpec(
        "awards_managers",
        "AwardsManagers.csv",
        _cols("playerID:V awardID:V yearID:I lgID:V tie:V notes:V"),
        ("player_id", "award_id", "year_id", "lg_id"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "awards_players",
        "AwardsPlayers.csv",
        _cols("playerID:V awardID:V yearID:I lgID:V tie:V notes:V"),
        ("player_id", "award_id", "year_id", "lg_id", "notes"),
        nullable_key=("lg_id", "notes"),
        season_column="year_id",
        references=(_PEOPLE,),
        notes="Positional awards repeat per position (notes), and one 2017 "
        "award has no league.",
    ),
    TableSpec(
        "awards_share_managers",
        "AwardsShareManagers.csv",
        _cols(
            "awardID:V yearID:I lgID:V playerID:V pointsWon:I pointsMax:I votesFirst:I"
        ),
        ("award_id", "year_id", "lg_id", "player_id"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "awards_share_players",
        "AwardsSharePlayers.csv",
        _cols(
            "awardID:V yearID:I lgID:V playerID:V pointsWon:D pointsMax:I votesFirst:D"
        ),
        ("award_id", "year_id", "lg_id", "player_id"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "batting",
        "Batting.csv",
        _cols(f"playerID:V yearID:I stint:I teamID:V lgID:V {_BATTING_STATS}"),
        ("player_id", "year_id", "stint"),
        season_column="year_id",
        references=(_PEOPLE, _TEAMS),
    ),
    TableSpec(
        "batting_post",
        "BattingPost.csv",
        _cols(f"yearID:I round:V playerID:V teamID:V lgID:V {_BATTING_STATS}"),
        ("year_id", "round", "player_id"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "college_playing",
        "CollegePlaying.csv",
        _cols("playerID:V schoolID:V yearID:I"),
        ("player_id", "school_id", "year_id"),
        season_column="year_id",
        references=(_PEOPLE, ("school_id", "schools", "school_id")),
    ),
    TableSpec(
        "fielding",
        "Fielding.csv",
        _cols(f"playerID:V yearID:I stint:I teamID:V lgID:V POS:V {_FIELDING_STATS}"),
        ("player_id", "year_id", "stint", "pos"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "fielding_of",
        "FieldingOF.csv",
        _cols("playerID:V yearID:I stint:I Glf:I Gcf:I Grf:I"),
        ("player_id", "year_id", "stint"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "fielding_of_split",
        "FieldingOFsplit.csv",
        _cols(f"playerID:V yearID:I stint:I teamID:V lgID:V POS:V {_FIELDING_STATS}"),
        ("player_id", "year_id", "stint", "pos"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "fielding_post",
        "FieldingPost.csv",
        _cols(
            "playerID:V yearID:I teamID:V lgID:V round:V POS:V G:I GS:I "
            "InnOuts:I PO:I A:I E:I DP:I TP:I PB:I SB:I CS:I"
        ),
        ("player_id", "year_id", "round", "pos"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "hall_of_fame",
        "HallOfFame.csv",
        _cols(
            "playerID:V yearID:I votedBy:V ballots:I needed:I votes:I "
            "inducted:V category:V needed_note:V"
        ),
        ("player_id", "year_id", "voted_by"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "home_games",
        "HomeGames.csv",
        _cols(
            "year.key:I league.key:V team.key:V park.key:V span.first:T "
            "span.last:T games:I openings:I attendance:B"
        ),
        ("year_key", "league_key", "team_key", "park_key"),
        season_column="year_key",
        references=(("park_key", "parks", "park_key"),),
    ),
    TableSpec(
        "managers",
        "Managers.csv",
        _cols(
            "playerID:V yearID:I teamID:V lgID:V inseason:I G:I W:I L:I "
            "rank:I plyrMgr:V"
        ),
        ("player_id", "year_id", "team_id", "inseason"),
        season_column="year_id",
        references=(_PEOPLE, _TEAMS),
    ),
    TableSpec(
        "managers_half",
        "ManagersHalf.csv",
        _cols(
            "playerID:V yearID:I teamID:V lgID:V inseason:I half:I G:I W:I L:I rank:I"
        ),
        ("player_id", "year_id", "team_id", "half"),
        season_column="year_id",
        references=(_PEOPLE, _TEAMS),
    ),
    TableSpec(
        "parks",
        "Parks.csv",
        _cols("park.key:V park.name:V park.alias:V city:V state:V country:V"),
        ("park_key",),
    ),
    TableSpec(
        "people",
        "People.csv",
        _cols(
            "playerID:V birthYear:I birthMonth:I birthDay:I birthCountry:V "
            "birthState:V birthCity:V deathYear:I deathMonth:I deathDay:I "
            "deathCountry:V deathState:V deathCity:V nameFirst:V nameLast:V "
            "nameGiven:V weight:I height:I bats:V throws:V debut:T "
            "finalGame:T retroID:V bbrefID:V"
        ),
        ("player_id",),
    ),
    TableSpec(
        "pitching",
        "Pitching.csv",
        _cols(f"playerID:V yearID:I stint:I teamID:V lgID:V {_PITCHING_STATS}"),
        ("player_id", "year_id", "stint"),
        season_column="year_id",
        references=(_PEOPLE, _TEAMS),
    ),
    TableSpec(
        "pitching_post",
        "PitchingPost.csv",
        _cols(f"playerID:V yearID:I round:V teamID:V lgID:V {_PITCHING_STATS}"),
        ("player_id", "year_id", "round"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "salaries",
        "Salaries.csv",
        _cols("yearID:I teamID:V lgID:V playerID:V salary:B"),
        ("year_id", "team_id", "player_id"),
        season_column="year_id",
        references=(_PEOPLE,),
    ),
    TableSpec(
        "schools",
        "Schools.csv",
        _cols("schoolID:V name_full:V city:V state:V country:V"),
        ("school_id",),
    ),
    TableSpec(
        "series_post",
        "SeriesPost.csv",
        _cols(
            "yearID:I round:V teamIDwinner:V lgIDwinner:V teamIDloser:V "
            "lgIDloser:V wins:I losses:I ties:I"
        ),
        ("year_id", "round"),
        season_column="year_id",
    ),
    TableSpec(
        "teams",
        "Teams.csv",
        _cols(
            "yearID:I lgID:V teamID:V franchID:V divID:V Rank:I G:I Ghome:I "
            "W:I L:I DivWin:V WCWin:V LgWin:V WSWin:V R:I AB:I H:I 2B:I 3B:I "
            "HR:I BB:I SO:I SB:I CS:I HBP:I SF:I RA:I ER:I ERA:D CG:I SHO:I "
            "SV:I IPouts:I HA:I HRA:I BBA:I SOA:I E:I DP:I FP:D name:V park:V "
            "attendance:B BPF:I PPF:I teamIDBR:V teamIDlahman45:V "
            "teamIDretro:V"
        ),
        ("year_id", "team_id"),
        season_column="year_id",
        references=(("franch_id", "teams_franchises", "franch_id"),),
    ),
    TableSpec(
        "teams_franchises",
        "TeamsFranchises.csv",
        _cols("franchID:V franchName:V active:V NAassoc:V"),
        ("franch_id",),
    ),
    TableSpec(
        "teams_half",
        "TeamsHalf.csv",
        _cols("yearID:I lgID:V teamID:V Half:I divID:V DivWin:V Rank:I G:I W:I L:I"),
        ("year_id", "team_id", "half"),
        season_column="year_id",
        references=(_TEAMS,),
    ),
)

TABLES_BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}
TABLES_BY_FILE: dict[str, TableSpec] = {t.file: t for t in TABLES}


def load_order() -> list[TableSpec]:
    """Tables ordered so that every referenced table comes first."""
    done: list[TableSpec] = []
    seen: set[str] = set()

    def visit(spec: TableSpec) -> None:
        if spec.name in seen:
            return
        seen.add(spec.name)
        for _, table, _ in spec.references:
            if table != spec.name:
                visit(TABLES_BY_NAME[table])
        done.append(spec)

    for spec in TABLES:
        visit(spec)
    return done
