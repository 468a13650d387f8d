-- Question: How has the number of home runs per game changed decade by
--   decade?
-- Answer shape: one row per decade from the 1870s to the 2020s: seasons
--   and team-games covered, home runs and runs per team per game, the
--   share of runs that home runs account for as a rough guide (each home
--   run drives in at least one run), and the change in home runs per game
--   from the decade before.
-- Notes: a game counts once for each team that played it, so the rates
--   are per team per game (double them for both teams together). Every
--   league the release treats as major is counted: the National
--   Association of 1871-1875 (which some historians do not count), the
--   American Association, and the Union, Players' and Federal Leagues.
--   The 2020s hold only the 60-game 2020 season.

with league_seasons as (

    select * from {{ ref('fct_league_seasons') }}

),

by_decade as (

    select
        season - mod(season, 10) as decade,
        count(distinct season) as seasons,
        sum(team_games) as team_games,
        sum(home_runs) as home_runs,
        sum(runs) as runs
    from league_seasons
    group by season - mod(season, 10)

),

with_rates as (

    select
        *,
        {{ safe_divide('home_runs', 'team_games') }} as home_runs_per_game,
        {{ safe_divide('runs', 'team_games') }} as runs_per_game,
        {{ safe_divide('home_runs', 'runs') }} as home_runs_per_run
    from by_decade

),

with_change as (

    select
        *,
        home_runs_per_game
        - lag(home_runs_per_game) over (order by decade)
            as home_runs_per_game_change
    from with_rates

)

select * from with_change
order by decade
