with league_seasons as (

    select * from {{ ref('int_league_seasons_aggregated') }}

),

final as (

    select
        cast(league_id as varchar) as league_id,
        season,
        team_count,
        team_games,
        games_per_team,
        batter_count,
        pitcher_count,
        plate_appearances,
        at_bats,
        runs,
        hits,
        doubles,
        triples,
        home_runs,
        walks,
        strikeouts,
        hit_by_pitch,
        sacrifice_hits,
        sacrifice_flies,
        stolen_bases,
        outs_pitched,
        hits_allowed,
        runs_allowed,
        earned_runs,
        home_runs_allowed,
        walks_allowed,
        hit_batters,
        pitcher_strikeouts,
        batting_average,
        on_base_percentage,
        slugging_percentage,
        on_base_plus_slugging,
        earned_run_average,
        runs_per_game,
        home_runs_per_game,
        strikeouts_per_game,
        fip_constant
    from league_seasons

)

select * from final
