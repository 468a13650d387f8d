with stints as (

    select * from {{ ref('int_batting_stints_unioned') }}

),

with_rates as (

    select
        player_id,
        season,
        season_type,
        stint_key,
        stint,
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
        grounded_into_double_plays,
        cast({{ plate_appearances() }} as integer) as plate_appearances,
        cast({{ total_bases() }} as integer) as total_bases,
        {{ batting_average() }} as batting_average,
        {{ on_base_percentage() }} as on_base_percentage,
        {{ slugging_percentage() }} as slugging_percentage,
        {{ on_base_plus_slugging() }} as on_base_plus_slugging,
        {{ isolated_power() }} as isolated_power,
        {{ batting_average_on_balls_in_play() }}
            as batting_average_on_balls_in_play
    from stints

)

select * from with_rates
