-- Question: What are the best single batting seasons by OPS+, on-base plus
--   slugging measured against the player's league that season?
-- Answer shape: the top 25 qualified regular seasons, best first: player,
--   season, league, team, plate appearances, home runs, the raw slash
--   line, OPS and OPS+ (100 is league average).
-- Notes: OPS+ here is not adjusted for ballparks, so it runs close to,
--   not exactly at, published figures. A season qualifies with 3.1 plate
--   appearances per scheduled team game (502 over 162 games, scaled to
--   each league-season's length). A player traded between leagues is
--   measured against the league of his season row in the batting mart.
--   Nineteenth-century seasons are included; their leagues were thinner.

with batting_seasons as (

    select * from {{ ref('fct_batting_seasons') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

qualified_seasons as (

    select
        batting_seasons.player_id,
        players.full_name,
        batting_seasons.season,
        batting_seasons.league_id,
        batting_seasons.team_id,
        batting_seasons.plate_appearances,
        batting_seasons.home_runs,
        batting_seasons.batting_average,
        batting_seasons.on_base_percentage,
        batting_seasons.slugging_percentage,
        batting_seasons.on_base_plus_slugging,
        batting_seasons.ops_plus
    from batting_seasons
    inner join players
        on batting_seasons.player_id = players.player_id
    where
        batting_seasons.season_type = 'regular'
        and batting_seasons.is_qualified
        and batting_seasons.ops_plus is not null

),

ranked as (

    select
        *,
        rank() over (order by ops_plus desc) as ops_plus_rank
    from qualified_seasons

)

select * from ranked
where ops_plus_rank <= 25
order by ops_plus_rank, player_id, season
