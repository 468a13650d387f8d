with team_seasons as (

    select * from {{ ref('stg_lahman__team_seasons') }}

),

home_parks as (

    select * from {{ ref('int_team_home_parks_ranked') }}

),

keyed_team_seasons as (

    select
        {{ team_season_id('season', 'team_id') }} as team_season_id,
        *
    from team_seasons

),

home_park_summary as (

    select
        team_season_id,
        max(case when park_rank = 1 then park_id end) as park_id,
        max(case when park_rank = 1 then home_games end) as park_home_games,
        count(*) as home_parks_used
    from home_parks
    group by team_season_id

),

final as (

    select
        cast(teams.team_season_id as varchar) as team_season_id,
        cast(teams.season as integer) as season,
        cast(teams.team_id as varchar) as team_id,
        cast(teams.franchise_id as varchar) as franchise_id,
        cast(teams.team_name as varchar) as team_name,
        cast(teams.league_id as varchar) as league_id,
        cast(teams.division_id as varchar) as division_id,
        cast(teams.park_name as varchar) as park_name,
        cast(parks.park_id as varchar) as park_id,
        cast(parks.park_home_games as integer) as park_home_games,
        cast(coalesce(parks.home_parks_used, 0) as integer)
            as home_parks_used,
        cast(teams.bbref_team_id as varchar) as bbref_team_id,
        cast(teams.retro_team_id as varchar) as retro_team_id,
        cast(teams.lahman45_team_id as varchar) as lahman45_team_id
    from keyed_team_seasons as teams
    left join home_park_summary as parks
        on teams.team_season_id = parks.team_season_id

)

select * from final
