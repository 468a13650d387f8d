{#
    One row per hitter and season to project: what was known before that
    season (the three seasons before it, age, position, league and park)
    and, once it has been played, the OPS the player reached in it.

    A row exists when the player had enough plate appearances in the season
    before (the ml_min_plate_appearances var, scaled to the schedule, so a
    60-game season asks for proportionally fewer) and either enough in the
    projected season too, or the projected season has not been played yet
    (a forecast). Lags are calendar seasons: a season the player missed
    counts as no playing time, as in Marcel. Every feature comes from
    seasons before the target season; tests check it.
#}
{%- set schedule_games = var('rate_leader_schedule_games', 162) -%}

with hitter_seasons as (

    select * from {{ ref('ml_hitter_seasons') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

latest as (

    select max(season) as season from hitter_seasons

),

playing_time as (

    select
        player_id,
        season,
        plate_appearances >= {{ var('ml_min_plate_appearances') }}
        * coalesce(league_games_per_team, {{ schedule_games }})
        / {{ schedule_games }} as has_enough_playing_time
    from hitter_seasons

),

projected as (

    select
        base.player_id,
        latest.season as latest_season,
        base.season + 1 as target_season
    from playing_time as base
    cross join latest
    left join playing_time as projected_season
        on
            base.player_id = projected_season.player_id
            and base.season + 1 = projected_season.season
    where
        base.has_enough_playing_time
        and base.season + 1 >= {{ var('ml_first_target_season') }}
        and (
            coalesce(projected_season.has_enough_playing_time, false)
            or base.season = latest.season
        )

),

joined as (

    select
        projected.player_id,
        projected.target_season,
        projected.latest_season,
        players.bats,
        players.birth_country,
        players.first_season,
        lag1.league_id as lag1_league_id,
        lag1.primary_position as lag1_primary_position,
        lag1.team_count as lag1_team_count,
        lag1.games as lag1_games,
        lag1.plate_appearances as lag1_plate_appearances,
        lag1.on_base_percentage as lag1_on_base_percentage,
        lag1.slugging_percentage as lag1_slugging_percentage,
        lag1.on_base_plus_slugging as lag1_on_base_plus_slugging,
        lag1.isolated_power as lag1_isolated_power,
        lag1.batting_average_on_balls_in_play
            as lag1_batting_average_on_balls_in_play,
        lag1.ops_plus as lag1_ops_plus,
        lag1.league_on_base_plus_slugging
            as lag1_league_on_base_plus_slugging,
        lag1.batting_park_factor as lag1_batting_park_factor,
        lag1.is_shortened_season as is_shortened_feature_season,
        lag2.on_base_plus_slugging as lag2_on_base_plus_slugging,
        lag2.ops_plus as lag2_ops_plus,
        lag3.on_base_plus_slugging as lag3_on_base_plus_slugging,
        lag3.ops_plus as lag3_ops_plus,
        outcome.on_base_plus_slugging as target_on_base_plus_slugging,
        outcome.plate_appearances as target_plate_appearances,
        coalesce(outcome.is_shortened_season, false)
            as is_shortened_target_season,
        projected.target_season
        - players.birth_year
        - case
            when extract(month from players.birth_date) >= 7 then 1 else 0
        end as age,
        {{ safe_divide('lag1.walks', 'lag1.plate_appearances') }}
            as lag1_walk_rate,
        {{ safe_divide('lag1.strikeouts', 'lag1.plate_appearances') }}
            as lag1_strikeout_rate,
        {{ safe_divide('lag1.home_runs', 'lag1.plate_appearances') }}
            as lag1_home_run_rate,
        {{ safe_divide('lag1.stolen_bases', 'lag1.games') }}
            as lag1_stolen_bases_per_game,
        {{ safe_divide('lag1.league_games_per_team', schedule_games) }}
            as lag1_schedule_share,
        coalesce(lag2.plate_appearances, 0) as lag2_plate_appearances,
        coalesce(lag3.plate_appearances, 0) as lag3_plate_appearances
    from projected
    inner join hitter_seasons as lag1
        on
            projected.player_id = lag1.player_id
            and projected.target_season - 1 = lag1.season
    left join hitter_seasons as lag2
        on
            projected.player_id = lag2.player_id
            and projected.target_season - 2 = lag2.season
    left join hitter_seasons as lag3
        on
            projected.player_id = lag3.player_id
            and projected.target_season - 3 = lag3.season
    left join hitter_seasons as outcome
        on
            projected.player_id = outcome.player_id
            and projected.target_season = outcome.season
    left join players
        on projected.player_id = players.player_id

),

final as (

    select
        cast(player_id as varchar) as player_id,
        cast(target_season as integer) as target_season,
        cast(
            case
                when target_season > latest_season then 'forecast'
                when is_shortened_target_season then 'shortened'
                when target_season <= {{ var('ml_train_last_season') }}
                    then 'train'
                when target_season <= {{ var('ml_validation_last_season') }}
                    then 'validation'
                when target_season <= {{ var('ml_test_last_season') }}
                    then 'test'
                else 'monitoring'
            end as varchar
        ) as split,
        cast(age as integer) as age,
        cast(target_season - first_season as integer) as seasons_since_debut,
        cast(lag1_league_id as varchar) as lag1_league_id,
        cast(lag1_primary_position as varchar) as lag1_primary_position,
        cast(lag1_team_count as integer) as lag1_team_count,
        cast(lag1_games as integer) as lag1_games,
        cast(lag1_plate_appearances as integer) as lag1_plate_appearances,
        cast(lag2_plate_appearances as integer) as lag2_plate_appearances,
        cast(lag3_plate_appearances as integer) as lag3_plate_appearances,
        cast(lag1_on_base_percentage as {{ type_double() }})
            as lag1_on_base_percentage,
        cast(lag1_slugging_percentage as {{ type_double() }})
            as lag1_slugging_percentage,
        cast(lag1_on_base_plus_slugging as {{ type_double() }})
            as lag1_on_base_plus_slugging,
        cast(lag2_on_base_plus_slugging as {{ type_double() }})
            as lag2_on_base_plus_slugging,
        cast(lag3_on_base_plus_slugging as {{ type_double() }})
            as lag3_on_base_plus_slugging,
        cast(lag1_ops_plus as {{ type_double() }}) as lag1_ops_plus,
        cast(lag2_ops_plus as {{ type_double() }}) as lag2_ops_plus,
        cast(lag3_ops_plus as {{ type_double() }}) as lag3_ops_plus,
        cast(lag1_isolated_power as {{ type_double() }})
            as lag1_isolated_power,
        cast(lag1_batting_average_on_balls_in_play as {{ type_double() }})
            as lag1_batting_average_on_balls_in_play,
        cast(lag1_walk_rate as {{ type_double() }}) as lag1_walk_rate,
        cast(lag1_strikeout_rate as {{ type_double() }})
            as lag1_strikeout_rate,
        cast(lag1_home_run_rate as {{ type_double() }})
            as lag1_home_run_rate,
        cast(lag1_stolen_bases_per_game as {{ type_double() }})
            as lag1_stolen_bases_per_game,
        cast(lag1_league_on_base_plus_slugging as {{ type_double() }})
            as lag1_league_on_base_plus_slugging,
        cast(lag1_batting_park_factor as integer) as lag1_batting_park_factor,
        cast(lag1_schedule_share as {{ type_double() }})
            as lag1_schedule_share,
        is_shortened_feature_season,
        is_shortened_target_season,
        cast(target_on_base_plus_slugging as {{ type_double() }})
            as target_on_base_plus_slugging,
        cast(target_plate_appearances as integer) as target_plate_appearances,
        cast({{ birth_region('birth_country') }} as varchar) as birth_region,
        cast(coalesce(bats, 'unknown') as varchar) as bats,
        cast(
            coalesce({{ baseball_era('first_season') }}, 'unknown') as varchar
        ) as debut_era,
        cast({{ age_band('age') }} as varchar) as age_band
    from joined

)

select * from final
