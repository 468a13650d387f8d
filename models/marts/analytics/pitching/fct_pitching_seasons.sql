{#- The player's last three seasons of this season type: this one and up to
    two before it that the player actually pitched in. -#}
{%- set last_three_seasons -%}
    over (
        partition by player_id, season_type
        order by season
        rows between 2 preceding and current row
    )
{%- endset -%}
{%- set season_order -%}
    over (partition by player_id, season_type order by season)
{%- endset -%}

with seasons as (

    select * from {{ ref('int_pitching_seasons_aggregated') }}

),

league_seasons as (

    select * from {{ ref('int_league_seasons_aggregated') }}

),

with_league as (

    select
        seasons.*,
        league_seasons.earned_run_average as league_earned_run_average,
        league_seasons.fip_constant,
        case
            when seasons.season_type = 'regular'
                then {{ safe_divide(
                    var('min_outs_for_rate_leaders')
                    ~ ' * league_seasons.games_per_team',
                    var('rate_leader_schedule_games', 162)
                ) }}
        end as qualifying_outs
    from seasons
    left join league_seasons
        on
            seasons.season = league_seasons.season
            and seasons.league_id = league_seasons.league_id

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
            as fielding_independent_pitching,
        coalesce(outs_pitched >= qualifying_outs, false) as is_qualified
    from with_league

),

with_league_relative as (

    select
        *,
        case
            when season_type = 'regular'
                then {{ era_plus(
                    'earned_run_average', 'league_earned_run_average'
                ) }}
        end as era_plus
    from with_rates

),

ranked as (

    select
        *,
        {{ league_season_rank('wins') }} as wins_rank,
        {{ league_season_rank('strikeouts') }} as strikeouts_rank,
        {{ league_season_rank('saves') }} as saves_rank,
        {{ league_season_rank(
            'earned_run_average', order='asc', qualified_only=true
        ) }} as earned_run_average_rank,
        {{ league_season_rank(
            'walks_hits_per_inning', order='asc', qualified_only=true
        ) }} as walks_hits_per_inning_rank,
        {{ league_season_rank('era_plus', qualified_only=true) }}
            as era_plus_rank
    from with_league_relative

),

rolling_totals as (

    select
        *,
        sum(outs_pitched) {{ last_three_seasons }} as rolling_outs_pitched,
        sum(earned_runs) {{ last_three_seasons }} as rolling_earned_runs,
        sum(strikeouts) {{ last_three_seasons }} as rolling_strikeouts,
        lag(season) {{ season_order }} as previous_season,
        lag(strikeouts) {{ season_order }} as previous_strikeouts,
        lag(earned_run_average) {{ season_order }}
            as previous_earned_run_average
    from ranked

),

windowed as (

    select
        *,
        {{ earned_run_average('rolling_earned_runs', 'rolling_outs_pitched') }}
            as rolling_three_season_earned_run_average,
        {{ strikeouts_per_nine('rolling_strikeouts', 'rolling_outs_pitched') }}
            as rolling_three_season_strikeouts_per_nine,
        case
            when previous_season = season - 1
                then strikeouts - previous_strikeouts
        end as strikeouts_change,
        case
            when previous_season = season - 1
                then earned_run_average - previous_earned_run_average
        end as earned_run_average_change
    from rolling_totals

),

final as (

    select
        cast(player_id as varchar) as player_id,
        season,
        cast(season_type as varchar) as season_type,
        cast(league_id as varchar) as league_id,
        cast(team_id as varchar) as team_id,
        team_count,
        league_count,
        stint_count,
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
        innings_pitched,
        earned_run_average,
        walks_hits_per_inning,
        strikeouts_per_nine,
        walks_per_nine,
        fielding_independent_pitching,
        fip_constant,
        league_earned_run_average,
        era_plus,
        qualifying_outs,
        is_qualified,
        wins_rank,
        strikeouts_rank,
        saves_rank,
        earned_run_average_rank,
        walks_hits_per_inning_rank,
        era_plus_rank,
        rolling_three_season_earned_run_average,
        rolling_three_season_strikeouts_per_nine,
        cast(strikeouts_change as integer) as strikeouts_change,
        earned_run_average_change
    from windowed

)

select * from final
