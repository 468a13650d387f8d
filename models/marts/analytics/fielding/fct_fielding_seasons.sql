{#- The player's last three seasons at this position and season type: this
    one and up to two before it that the player actually played there. -#}
{%- set last_three_seasons -%}
    over (
        partition by player_id, season_type, position
        order by season
        rows between 2 preceding and current row
    )
{%- endset -%}
{%- set season_order -%}
    over (partition by player_id, season_type, position order by season)
{%- endset -%}

with seasons as (

    select * from {{ ref('int_fielding_seasons_aggregated') }}

),

with_rates as (

    select
        *,
        {{ innings_from_outs('outs_played') }} as innings_played,
        putouts + assists + errors as total_chances,
        {{ fielding_percentage() }} as fielding_percentage,
        {{ range_factor_per_nine() }} as range_factor_per_nine,
        {{ range_factor_per_game() }} as range_factor_per_game
    from seasons

),

rolling_totals as (

    select
        *,
        sum(putouts) {{ last_three_seasons }} as rolling_putouts,
        sum(assists) {{ last_three_seasons }} as rolling_assists,
        sum(errors) {{ last_three_seasons }} as rolling_errors,
        sum(games) {{ last_three_seasons }} as rolling_games,
        lag(season) {{ season_order }} as previous_season,
        lag(fielding_percentage) {{ season_order }}
            as previous_fielding_percentage,
        lag(range_factor_per_game) {{ season_order }}
            as previous_range_factor_per_game
    from with_rates

),

windowed as (

    select
        *,
        {{ fielding_percentage(
            'rolling_putouts', 'rolling_assists', 'rolling_errors'
        ) }} as rolling_three_season_fielding_percentage,
        {{ range_factor_per_game(
            'rolling_putouts', 'rolling_assists', 'rolling_games'
        ) }} as rolling_three_season_range_factor_per_game,
        case
            when previous_season = season - 1
                then fielding_percentage - previous_fielding_percentage
        end as fielding_percentage_change,
        case
            when previous_season = season - 1
                then range_factor_per_game - previous_range_factor_per_game
        end as range_factor_per_game_change
    from rolling_totals

),

final as (

    select
        cast(player_id as varchar) as player_id,
        season,
        cast(season_type as varchar) as season_type,
        position,
        cast(league_id as varchar) as league_id,
        cast(team_id as varchar) as team_id,
        team_count,
        league_count,
        stint_count,
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
        innings_played,
        cast(total_chances as integer) as total_chances,
        fielding_percentage,
        range_factor_per_nine,
        range_factor_per_game,
        rolling_three_season_fielding_percentage,
        rolling_three_season_range_factor_per_game,
        fielding_percentage_change,
        range_factor_per_game_change
    from windowed

)

select * from final
