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
        double_plays_induced,
        fip_constant,
        {{ innings_from_outs() }} as innings_pitched,
        {{ earned_run_average() }} as earned_run_average,
        {{ walks_hits_per_inning() }} as walks_hits_per_inning,
        {{ strikeouts_per_nine() }} as strikeouts_per_nine,
        {{ walks_per_nine() }} as walks_per_nine,
        {{ fielding_independent_pitching('fip_constant') }}
            as fielding_independent_pitching
    from with_league

)

select * from with_rates
