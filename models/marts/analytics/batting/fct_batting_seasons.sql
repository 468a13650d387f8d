{#- The player's last three seasons of this season type: this one and up to
    two before it that the player actually played. -#}
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

    select * from {{ ref('int_batting_seasons_aggregated') }}

),

league_seasons as (

    select * from {{ ref('int_league_seasons_aggregated') }}

),

with_rates as (

    select
        *,
        {{ plate_appearances() }} as plate_appearances,
        {{ total_bases() }} as total_bases,
        {{ batting_average() }} as batting_average,
        {{ on_base_percentage() }} as on_base_percentage,
        {{ slugging_percentage() }} as slugging_percentage,
        {{ on_base_plus_slugging() }} as on_base_plus_slugging,
        {{ isolated_power() }} as isolated_power,
        {{ batting_average_on_balls_in_play() }}
            as batting_average_on_balls_in_play
    from seasons

),

with_league as (

    select
        with_rates.*,
        league_seasons.on_base_percentage as league_on_base_percentage,
        league_seasons.slugging_percentage as league_slugging_percentage,
        case
            when with_rates.season_type = 'regular'
                then {{ safe_divide(
                    var('min_plate_appearances_for_rate_leaders')
                    ~ ' * league_seasons.games_per_team',
                    var('rate_leader_schedule_games', 162)
                ) }}
        end as qualifying_plate_appearances
    from with_rates
    left join league_seasons
        on
            with_rates.season = league_seasons.season
            and with_rates.league_id = league_seasons.league_id

),

with_league_relative as (

    select
        *,
        case
            when season_type = 'regular'
                then {{ ops_plus(
                    'on_base_percentage',
                    'slugging_percentage',
                    'league_on_base_percentage',
                    'league_slugging_percentage'
                ) }}
        end as ops_plus,
        coalesce(
            plate_appearances >= qualifying_plate_appearances, false
        ) as is_qualified
    from with_league

),

ranked as (

    select
        *,
        {{ league_season_rank('home_runs') }} as home_runs_rank,
        {{ league_season_rank('runs_batted_in') }} as runs_batted_in_rank,
        {{ league_season_rank('stolen_bases') }} as stolen_bases_rank,
        {{ league_season_rank('batting_average', qualified_only=true) }}
            as batting_average_rank,
        {{ league_season_rank('on_base_plus_slugging', qualified_only=true) }}
            as on_base_plus_slugging_rank,
        {{ league_season_rank('ops_plus', qualified_only=true) }}
            as ops_plus_rank
    from with_league_relative

),

rolling_totals as (

    select
        *,
        sum(at_bats) {{ last_three_seasons }} as rolling_at_bats,
        sum(hits) {{ last_three_seasons }} as rolling_hits,
        sum(doubles) {{ last_three_seasons }} as rolling_doubles,
        sum(triples) {{ last_three_seasons }} as rolling_triples,
        sum(home_runs) {{ last_three_seasons }} as rolling_home_runs,
        sum(walks) {{ last_three_seasons }} as rolling_walks,
        sum(hit_by_pitch) {{ last_three_seasons }} as rolling_hit_by_pitch,
        sum(sacrifice_flies) {{ last_three_seasons }}
            as rolling_sacrifice_flies,
        lag(season) {{ season_order }} as previous_season,
        lag(home_runs) {{ season_order }} as previous_home_runs,
        lag(batting_average) {{ season_order }}
            as previous_batting_average,
        lag(on_base_plus_slugging) {{ season_order }}
            as previous_on_base_plus_slugging
    from ranked

),

windowed as (

    select
        *,
        {{ batting_average('rolling_hits', 'rolling_at_bats') }}
            as rolling_three_season_batting_average,
        {{ on_base_plus_slugging(
            hits='rolling_hits',
            doubles='rolling_doubles',
            triples='rolling_triples',
            home_runs='rolling_home_runs',
            walks='rolling_walks',
            hit_by_pitch='rolling_hit_by_pitch',
            at_bats='rolling_at_bats',
            sacrifice_flies='rolling_sacrifice_flies'
        ) }} as rolling_three_season_on_base_plus_slugging,
        case
            when previous_season = season - 1
                then home_runs - previous_home_runs
        end as home_runs_change,
        case
            when previous_season = season - 1
                then batting_average - previous_batting_average
        end as batting_average_change,
        case
            when previous_season = season - 1
                then on_base_plus_slugging - previous_on_base_plus_slugging
        end as on_base_plus_slugging_change
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
        cast(plate_appearances as integer) as plate_appearances,
        cast(total_bases as integer) as total_bases,
        batting_average,
        on_base_percentage,
        slugging_percentage,
        on_base_plus_slugging,
        isolated_power,
        batting_average_on_balls_in_play,
        league_on_base_percentage,
        league_slugging_percentage,
        ops_plus,
        qualifying_plate_appearances,
        is_qualified,
        home_runs_rank,
        runs_batted_in_rank,
        stolen_bases_rank,
        batting_average_rank,
        on_base_plus_slugging_rank,
        ops_plus_rank,
        rolling_three_season_batting_average,
        rolling_three_season_on_base_plus_slugging,
        cast(home_runs_change as integer) as home_runs_change,
        batting_average_change,
        on_base_plus_slugging_change
    from windowed

)

select * from final
