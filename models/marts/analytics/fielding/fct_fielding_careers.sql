with stints as (

    select * from {{ ref('int_fielding_stints_unioned') }}

),

totals as (

    select
        player_id,
        season_type,
        position,
        cast(min(season) as integer) as first_season,
        cast(max(season) as integer) as last_season,
        cast(count(distinct season) as integer) as season_count,
        cast(count(distinct team_id) as integer) as team_count,
        cast(sum(games) as integer) as games,
        cast(sum(games_started) as integer) as games_started,
        cast(sum(outs_played) as integer) as outs_played,
        cast(sum(putouts) as integer) as putouts,
        cast(sum(assists) as integer) as assists,
        cast(sum(errors) as integer) as errors,
        cast(sum(double_plays) as integer) as double_plays,
        cast(sum(triple_plays) as integer) as triple_plays,
        cast(sum(passed_balls) as integer) as passed_balls,
        cast(sum(wild_pitches) as integer) as wild_pitches,
        cast(sum(stolen_bases_allowed) as integer) as stolen_bases_allowed,
        cast(sum(caught_stealing) as integer) as caught_stealing
    from stints
    group by
        player_id,
        season_type,
        position

),

with_rates as (

    select
        *,
        {{ innings_from_outs('outs_played') }} as innings_played,
        cast(putouts + assists + errors as integer) as total_chances,
        {{ fielding_percentage() }} as fielding_percentage,
        {{ range_factor_per_nine() }} as range_factor_per_nine,
        {{ range_factor_per_game() }} as range_factor_per_game
    from totals

)

select * from with_rates
