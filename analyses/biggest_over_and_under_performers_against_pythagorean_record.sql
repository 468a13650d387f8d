-- Question: Which teams won far more, or far fewer, games than their runs
--   scored and allowed predicted?
-- Answer shape: 20 rows, the 10 team-seasons furthest above their
--   Pythagorean expectation and the 10 furthest below: team, season,
--   actual and expected wins, the gap, run differential and how the
--   postseason went.
-- Notes: expected wins use the project's Pythagorean exponent (the
--   pythagorean_exponent var, 1.83 by default) over decided games. Gaps
--   are in wins, so long seasons have more room for them; seasons with
--   fewer than the analysis_min_decisions var (100 by default) decided
--   games are left out, which drops most schedules before 1885 and the
--   60-game 2020 season (the strike years 1981 and 1994 stay in). Luck in
--   close games, bullpens and mid-season trades all feed the gap.

{%- set min_decisions = var('analysis_min_decisions', 100) %}

with team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

full_seasons as (

    select
        team_seasons.team_season_id,
        team_seasons.season,
        team_seasons.team_id,
        teams.team_name,
        team_seasons.wins,
        team_seasons.losses,
        team_seasons.pythagorean_wins,
        team_seasons.wins_above_pythagorean,
        team_seasons.run_differential,
        team_seasons.postseason_result
    from team_seasons
    inner join teams
        on team_seasons.team_season_id = teams.team_season_id
    where
        team_seasons.wins + team_seasons.losses >= {{ min_decisions }}
        and team_seasons.wins_above_pythagorean is not null

),

ranked as (

    select
        *,
        row_number() over (
            order by wins_above_pythagorean desc, team_season_id asc
        ) as over_rank,
        row_number() over (
            order by wins_above_pythagorean asc, team_season_id asc
        ) as under_rank
    from full_seasons

),

extremes as (

    select
        'over' as direction,
        over_rank as direction_rank,
        season,
        team_id,
        team_name,
        wins,
        losses,
        pythagorean_wins,
        wins_above_pythagorean,
        run_differential,
        postseason_result
    from ranked
    where over_rank <= 10

    union all

    select
        'under' as direction,
        under_rank as direction_rank,
        season,
        team_id,
        team_name,
        wins,
        losses,
        pythagorean_wins,
        wins_above_pythagorean,
        run_differential,
        postseason_result
    from ranked
    where under_rank <= 10

)

select * from extremes
order by direction, direction_rank
