with franchises as (

    select * from {{ ref('stg_lahman__franchises') }}

),

team_seasons as (

    select * from {{ ref('stg_lahman__team_seasons') }}

),

team_postseasons as (

    select * from {{ ref('int_team_postseasons_aggregated') }}

),

latest_team as (

    select
        franchise_id,
        team_id as latest_team_id,
        team_name as latest_team_name,
        row_number() over (
            partition by franchise_id
            order by season desc, team_id asc
        ) as recency
    from team_seasons

),

history as (

    select
        team_seasons.franchise_id,
        min(team_seasons.season) as first_season,
        max(team_seasons.season) as last_season,
        count(*) as team_seasons,
        sum(
            case when team_postseasons.team_season_id is not null then 1 end
        ) as postseason_appearances,
        sum(
            case when team_seasons.is_league_champion then 1 end
        ) as pennants,
        sum(
            case when team_seasons.is_world_series_winner then 1 end
        ) as world_series_titles
    from team_seasons
    left join team_postseasons
        on
            team_seasons.season = team_postseasons.season
            and team_seasons.team_id = team_postseasons.team_id
    group by team_seasons.franchise_id

),

final as (

    select
        cast(franchises.franchise_id as varchar) as franchise_id,
        cast(franchises.franchise_name as varchar) as franchise_name,
        cast(coalesce(franchises.is_active, false) as boolean) as is_active,
        cast(franchises.national_association_franchise_id as varchar)
            as national_association_franchise_id,
        cast(latest_team.latest_team_id as varchar) as latest_team_id,
        cast(latest_team.latest_team_name as varchar) as latest_team_name,
        cast(history.first_season as integer) as first_season,
        cast(history.last_season as integer) as last_season,
        cast(coalesce(history.team_seasons, 0) as integer) as team_seasons,
        cast(coalesce(history.postseason_appearances, 0) as integer)
            as postseason_appearances,
        cast(coalesce(history.pennants, 0) as integer) as pennants,
        cast(coalesce(history.world_series_titles, 0) as integer)
            as world_series_titles
    from franchises
    left join history
        on franchises.franchise_id = history.franchise_id
    left join latest_team
        on
            franchises.franchise_id = latest_team.franchise_id
            and latest_team.recency = 1

)

select * from final
