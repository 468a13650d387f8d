with parks as (

    select * from {{ ref('stg_lahman__parks') }}

),

home_parks as (

    select * from {{ ref('int_team_home_parks_ranked') }}

),

usage as (

    select
        park_id,
        min(season) as first_season,
        max(season) as last_season,
        min(first_game_date) as first_game_date,
        max(last_game_date) as last_game_date,
        count(distinct season) as home_game_seasons,
        count(distinct team_id) as home_teams,
        sum(home_games) as home_games,
        sum(attendance) as total_attendance
    from home_parks
    group by park_id

),

final as (

    select
        cast(parks.park_id as varchar) as park_id,
        cast(parks.park_name as varchar) as park_name,
        cast(parks.park_aliases as varchar) as park_aliases,
        cast(parks.city as varchar) as city,
        cast(parks.state as varchar) as state,
        cast(parks.country as varchar) as country,
        cast(usage.first_season as integer) as first_season,
        cast(usage.last_season as integer) as last_season,
        cast(usage.first_game_date as date) as first_game_date,
        cast(usage.last_game_date as date) as last_game_date,
        cast(coalesce(usage.home_game_seasons, 0) as integer)
            as home_game_seasons,
        cast(coalesce(usage.home_teams, 0) as integer) as home_teams,
        cast(coalesce(usage.home_games, 0) as integer) as home_games,
        cast(coalesce(usage.total_attendance, 0) as bigint)
            as total_attendance
    from parks
    left join usage
        on parks.park_id = usage.park_id

)

select * from final
