with stints as (

    select * from {{ ref('int_pitching_stints_unioned') }}

),

league_seasons as (

    select * from {{ ref('int_league_seasons_aggregated') }}

),

with_league as (

    select
        stints.*,
        league_seasons.fip_constant
    from stints
    left join league_seasons
        on
            stints.season = league_seasons.season
            and stints.league_id = league_seasons.league_id

),

totals as (

    select
        player_id,
        season_type,
        cast(min(season) as integer) as first_season,
        cast(max(season) as integer) as last_season,
        cast(count(distinct season) as integer) as season_count,
        cast(count(distinct team_id) as integer) as team_count,
        cast(sum(wins) as integer) as wins,
        cast(sum(losses) as integer) as losses,
        cast(sum(games) as integer) as games,
        cast(sum(games_started) as integer) as games_started,
        cast(sum(complete_games) as integer) as complete_games,
        cast(sum(shutouts) as integer) as shutouts,
        cast(sum(saves) as integer) as saves,
        cast(sum(games_finished) as integer) as games_finished,
        cast(sum(outs_pitched) as integer) as outs_pitched,
        cast(sum(batters_faced) as integer) as batters_faced,
        cast(sum(hits_allowed) as integer) as hits_allowed,
        cast(sum(runs_allowed) as integer) as runs_allowed,
        cast(sum(earned_runs) as integer) as earned_runs,
        cast(sum(home_runs_allowed) as integer) as home_runs_allowed,
        cast(sum(walks_allowed) as integer) as walks_allowed,
        cast(
            sum(intentional_walks_allowed) as integer
        ) as intentional_walks_allowed,
        cast(sum(strikeouts) as integer) as strikeouts,
        cast(sum(hit_batters) as integer) as hit_batters,
        cast(sum(wild_pitches) as integer) as wild_pitches,
        cast(sum(balks) as integer) as balks,
        {#- Each season's constant weighted by the outs pitched in it, over
            the seasons that have one. -#}
        {{ safe_divide(
            'sum(fip_constant * outs_pitched)',
            'sum(case when fip_constant is not null then outs_pitched end)'
        ) }} as fip_constant
    from with_league
    group by
        player_id,
        season_type

),

with_rates as (

    select
        *,
        {{ innings_from_outs() }} as innings_pitched,
        {{ earned_run_average() }} as earned_run_average,
        {{ walks_hits_per_inning() }} as walks_hits_per_inning,
        {{ strikeouts_per_nine() }} as strikeouts_per_nine,
        {{ walks_per_nine() }} as walks_per_nine,
        {{ fielding_independent_pitching('fip_constant') }}
            as fielding_independent_pitching
    from totals

)

select * from with_rates
