with regular_stints as (

    select * from {{ ref('stg_lahman__batting_stints') }}

),

postseason_series as (

    select * from {{ ref('stg_lahman__postseason_batting_series') }}

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
        games,
        at_bats,
        runs,
        hits,
        doubles,
        triples,
        home_runs,
        runs_batted_in,
        stolen_bases,
        caught_stealing,
        walks,
        strikeouts,
        intentional_walks,
        hit_by_pitch,
        sacrifice_hits,
        sacrifice_flies,
        grounded_into_double_plays
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
        games,
        at_bats,
        runs,
        hits,
        doubles,
        triples,
        home_runs,
        runs_batted_in,
        stolen_bases,
        caught_stealing,
        walks,
        strikeouts,
        intentional_walks,
        hit_by_pitch,
        sacrifice_hits,
        sacrifice_flies,
        grounded_into_double_plays
    from postseason_series

),

unioned as (

    select * from regular_lines
    union all
    select * from postseason_lines

)

select * from unioned
