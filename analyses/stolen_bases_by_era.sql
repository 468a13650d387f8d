-- Question: How much have teams run, and how well, in each era?
-- Answer shape: one row per era, oldest first: team-games, stolen bases
--   per team per game, the success rate where caught stealing was
--   recorded and the share of stolen bases that rate rests on, and the
--   era's best single season (player, season and steals).
-- Notes: regular seasons only. Before 1898 a runner was credited with a
--   stolen base for taking an extra base on a hit or out, which inflates
--   nineteenth-century totals. Caught stealing is missing for many
--   players and seasons before the 1950s, so the success rate uses only
--   batting lines that hold both counts; the coverage column says how
--   much of the era that is. A tie for the best season goes to the
--   earlier season, then the player id that sorts first.

with batting_seasons as (

    select * from {{ ref('fct_batting_seasons') }}

),

team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

player_seasons as (

    select
        {{ baseball_era('season') }} as era,
        player_id,
        season,
        stolen_bases,
        caught_stealing
    from batting_seasons
    where
        season_type = 'regular'
        and stolen_bases is not null

),

team_games as (

    select
        {{ baseball_era('season') }} as era,
        sum(games) as team_games
    from team_seasons
    group by {{ baseball_era('season') }}

),

by_era as (

    select
        era,
        sum(stolen_bases) as stolen_bases,
        sum(
            case when caught_stealing is not null then stolen_bases end
        ) as stolen_bases_with_caught_stealing,
        sum(caught_stealing) as caught_stealing
    from player_seasons
    group by era

),

best_seasons as (

    select
        era,
        player_id,
        season,
        stolen_bases,
        row_number() over (
            partition by era
            order by stolen_bases desc, season asc, player_id asc
        ) as era_rank
    from player_seasons

),

final as (

    select
        by_era.era,
        team_games.team_games,
        by_era.stolen_bases,
        {{ safe_divide('by_era.stolen_bases', 'team_games.team_games') }}
            as stolen_bases_per_game,
        {{ safe_divide(
            'by_era.stolen_bases_with_caught_stealing',
            'by_era.stolen_bases_with_caught_stealing'
            ~ ' + by_era.caught_stealing'
        ) }} as stolen_base_success_rate,
        {{ safe_divide(
            'by_era.stolen_bases_with_caught_stealing', 'by_era.stolen_bases'
        ) }} as success_rate_coverage,
        players.full_name as best_season_player,
        best_seasons.season as best_season,
        best_seasons.stolen_bases as best_season_stolen_bases
    from by_era
    inner join team_games
        on by_era.era = team_games.era
    inner join best_seasons
        on
            by_era.era = best_seasons.era
            and best_seasons.era_rank = 1
    inner join players
        on best_seasons.player_id = players.player_id

)

select * from final
order by era
