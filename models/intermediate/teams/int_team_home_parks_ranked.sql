with home_park_seasons as (

    select * from {{ ref('stg_lahman__home_park_seasons') }}

),

ranked as (

    select
        {{ team_season_id('season', 'team_id') }} as team_season_id,
        season,
        team_id,
        park_id,
        league_id,
        first_game_date,
        last_game_date,
        games as home_games,
        gate_openings,
        attendance,
        row_number() over (
            partition by season, team_id
            order by games desc, first_game_date asc, park_id asc
        ) as park_rank
    from home_park_seasons

)

select * from ranked
