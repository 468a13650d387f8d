with stints as (

    select * from {{ ref('int_batting_stints_unioned') }}

),

totals as (

    select
        player_id,
        season_type,
        cast(min(season) as integer) as first_season,
        cast(max(season) as integer) as last_season,
        cast(count(distinct season) as integer) as season_count,
        cast(count(distinct team_id) as integer) as team_count,
        cast(sum(games) as integer) as games,
        cast(sum(at_bats) as integer) as at_bats,
        cast(sum(runs) as integer) as runs,
        cast(sum(hits) as integer) as hits,
        cast(sum(doubles) as integer) as doubles,
        cast(sum(triples) as integer) as triples,
        cast(sum(home_runs) as integer) as home_runs,
        cast(sum(runs_batted_in) as integer) as runs_batted_in,
        cast(sum(stolen_bases) as integer) as stolen_bases,
        cast(sum(caught_stealing) as integer) as caught_stealing,
        cast(sum(walks) as integer) as walks,
        cast(sum(strikeouts) as integer) as strikeouts,
        cast(sum(intentional_walks) as integer) as intentional_walks,
        cast(sum(hit_by_pitch) as integer) as hit_by_pitch,
        cast(sum(sacrifice_hits) as integer) as sacrifice_hits,
        cast(sum(sacrifice_flies) as integer) as sacrifice_flies,
        cast(
            sum(grounded_into_double_plays) as integer
        ) as grounded_into_double_plays
    from stints
    group by
        player_id,
        season_type

),

with_rates as (

    select
        *,
        cast({{ plate_appearances() }} as integer) as plate_appearances,
        cast({{ total_bases() }} as integer) as total_bases,
        {{ batting_average() }} as batting_average,
        {{ on_base_percentage() }} as on_base_percentage,
        {{ slugging_percentage() }} as slugging_percentage,
        {{ on_base_plus_slugging() }} as on_base_plus_slugging,
        {{ isolated_power() }} as isolated_power,
        {{ batting_average_on_balls_in_play() }}
            as batting_average_on_balls_in_play
    from totals

)

select * from with_rates
