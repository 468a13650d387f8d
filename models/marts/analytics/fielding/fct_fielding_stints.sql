with stints as (

    select * from {{ ref('int_fielding_stints_unioned') }}

),

with_rates as (

    select
        player_id,
        season,
        season_type,
        stint_key,
        position,
        stint,
        postseason_round,
        team_id,
        league_id,
        games,
        games_started,
        outs_played,
        putouts,
        assists,
        errors,
        double_plays,
        triple_plays,
        passed_balls,
        wild_pitches,
        stolen_bases_allowed,
        caught_stealing,
        zone_rating,
        {{ innings_from_outs('outs_played') }} as innings_played,
        cast(putouts + assists + errors as integer) as total_chances,
        {{ fielding_percentage() }} as fielding_percentage,
        {{ range_factor_per_nine() }} as range_factor_per_nine,
        {{ range_factor_per_game() }} as range_factor_per_game
    from stints

)

select * from with_rates
