{#
    One row per player and regular season with the batting line the
    projection models start from: counting stats, rates, where the player
    stood on the field and the run environment of his league and park.
    Pitchers are marked, so league averages can leave out their hitting,
    as the Marcel method prescribes.
#}
with batting_seasons as (

    select * from {{ ref('fct_batting_seasons') }}
    where season_type = 'regular'

),

fielding_seasons as (

    select * from {{ ref('fct_fielding_seasons') }}
    where season_type = 'regular'

),

league_seasons as (

    select * from {{ ref('fct_league_seasons') }}

),

team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

positions_ranked as (

    select
        player_id,
        season,
        position,
        row_number() over (
            partition by player_id, season
            order by games desc, position asc
        ) as position_rank
    from fielding_seasons

),

primary_positions as (

    select
        player_id,
        season,
        position
    from positions_ranked
    where position_rank = 1

),

joined as (

    select
        batting_seasons.player_id,
        batting_seasons.season,
        batting_seasons.league_id,
        batting_seasons.team_id,
        batting_seasons.team_count,
        batting_seasons.games,
        batting_seasons.plate_appearances,
        batting_seasons.at_bats,
        batting_seasons.hits,
        batting_seasons.doubles,
        batting_seasons.triples,
        batting_seasons.home_runs,
        batting_seasons.stolen_bases,
        batting_seasons.strikeouts,
        batting_seasons.on_base_percentage,
        batting_seasons.slugging_percentage,
        batting_seasons.on_base_plus_slugging,
        batting_seasons.isolated_power,
        batting_seasons.batting_average_on_balls_in_play,
        batting_seasons.ops_plus,
        primary_positions.position as primary_position,
        league_seasons.games_per_team as league_games_per_team,
        league_seasons.on_base_plus_slugging as league_on_base_plus_slugging,
        team_seasons.batting_park_factor,
        batting_seasons.hits
        - batting_seasons.doubles
        - batting_seasons.triples
        - batting_seasons.home_runs as singles,
        coalesce(batting_seasons.walks, 0) as walks,
        coalesce(batting_seasons.hit_by_pitch, 0) as hit_by_pitch,
        coalesce(batting_seasons.sacrifice_flies, 0) as sacrifice_flies,
        coalesce(batting_seasons.sacrifice_hits, 0) as sacrifice_hits,
        coalesce(primary_positions.position = 'P', false) as is_pitcher
    from batting_seasons
    left join primary_positions
        on
            batting_seasons.player_id = primary_positions.player_id
            and batting_seasons.season = primary_positions.season
    left join league_seasons
        on
            batting_seasons.season = league_seasons.season
            and batting_seasons.league_id = league_seasons.league_id
    left join team_seasons
        on
            batting_seasons.season = team_seasons.season
            and batting_seasons.team_id = team_seasons.team_id

),

final as (

    select
        cast(player_id as varchar) as player_id,
        cast(season as integer) as season,
        cast(league_id as varchar) as league_id,
        cast(team_id as varchar) as team_id,
        cast(team_count as integer) as team_count,
        cast(primary_position as varchar) as primary_position,
        is_pitcher,
        cast(games as integer) as games,
        cast(plate_appearances as integer) as plate_appearances,
        cast(at_bats as integer) as at_bats,
        cast(hits as integer) as hits,
        cast(singles as integer) as singles,
        cast(doubles as integer) as doubles,
        cast(triples as integer) as triples,
        cast(home_runs as integer) as home_runs,
        cast(walks as integer) as walks,
        cast(hit_by_pitch as integer) as hit_by_pitch,
        cast(sacrifice_flies as integer) as sacrifice_flies,
        cast(sacrifice_hits as integer) as sacrifice_hits,
        cast(stolen_bases as integer) as stolen_bases,
        cast(strikeouts as integer) as strikeouts,
        cast(on_base_percentage as {{ type_double() }})
            as on_base_percentage,
        cast(slugging_percentage as {{ type_double() }})
            as slugging_percentage,
        cast(on_base_plus_slugging as {{ type_double() }})
            as on_base_plus_slugging,
        cast(isolated_power as {{ type_double() }}) as isolated_power,
        cast(batting_average_on_balls_in_play as {{ type_double() }})
            as batting_average_on_balls_in_play,
        cast(ops_plus as {{ type_double() }}) as ops_plus,
        cast(league_games_per_team as {{ type_double() }})
            as league_games_per_team,
        cast(league_on_base_plus_slugging as {{ type_double() }})
            as league_on_base_plus_slugging,
        cast(batting_park_factor as integer) as batting_park_factor,
        coalesce(
            league_games_per_team
            < {{ var('ml_shortened_season_share') }}
            * {{ var('rate_leader_schedule_games', 162) }},
            false
        ) as is_shortened_season
    from joined

)

select * from final
