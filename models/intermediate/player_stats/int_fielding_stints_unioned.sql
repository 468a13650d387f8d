with regular_stints as (

    select * from {{ ref('stg_lahman__fielding_stints') }}

),

postseason_series as (

    select * from {{ ref('stg_lahman__postseason_fielding_series') }}

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
        position,
        games,
        games_started,
        outs_played,
        putouts,
        assists,
        errors,
        double_plays,
        cast(null as integer) as triple_plays,
        passed_balls,
        wild_pitches,
        stolen_bases_allowed,
        caught_stealing,
        zone_rating
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
        position,
        games,
        games_started,
        outs_played,
        putouts,
        assists,
        errors,
        double_plays,
        triple_plays,
        passed_balls,
        cast(null as integer) as wild_pitches,
        stolen_bases_allowed,
        caught_stealing,
        cast(null as {{ type_double() }}) as zone_rating
    from postseason_series

),

unioned as (

    select * from regular_lines
    union all
    select * from postseason_lines

)

select * from unioned
