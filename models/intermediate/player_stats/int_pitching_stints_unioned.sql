with regular_stints as (

    select * from {{ ref('stg_lahman__pitching_stints') }}

),

postseason_series as (

    select * from {{ ref('stg_lahman__postseason_pitching_series') }}

),

regular_lines as (

    select
        player_id,
        season,
        cast('regular' as varchar) as season_type,
        cast(stint as varchar) as stint_key,
        stint,
        cast(null as varchar) as postseason_round,
        team_id,
        league_id,
        wins,
        losses,
        games,
        games_started,
        complete_games,
        shutouts,
        saves,
        games_finished,
        outs_pitched,
        batters_faced,
        hits_allowed,
        runs_allowed,
        earned_runs,
        home_runs_allowed,
        walks_allowed,
        intentional_walks_allowed,
        strikeouts,
        hit_batters,
        wild_pitches,
        balks,
        sacrifice_hits_allowed,
        sacrifice_flies_allowed,
        double_plays_induced
    from regular_stints

),

postseason_lines as (

    select
        player_id,
        season,
        cast('postseason' as varchar) as season_type,
        postseason_round as stint_key,
        cast(null as integer) as stint,
        postseason_round,
        team_id,
        league_id,
        wins,
        losses,
        games,
        games_started,
        complete_games,
        shutouts,
        saves,
        games_finished,
        outs_pitched,
        batters_faced,
        hits_allowed,
        runs_allowed,
        earned_runs,
        home_runs_allowed,
        walks_allowed,
        intentional_walks_allowed,
        strikeouts,
        hit_batters,
        wild_pitches,
        balks,
        sacrifice_hits_allowed,
        sacrifice_flies_allowed,
        double_plays_induced
    from postseason_series

),

unioned as (

    select * from regular_lines
    union all
    select * from postseason_lines

)

select * from unioned
