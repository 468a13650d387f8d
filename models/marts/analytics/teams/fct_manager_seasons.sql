with manager_stints as (

    select * from {{ ref('int_manager_stints_reconciled') }}

),

team_seasons as (

    select * from {{ ref('stg_lahman__team_seasons') }}

),

{#
    A manager can hold several stints with one team in one season (he hands
    the job to someone and takes it back); they add up to one row here. The
    standings rank is the one at the end of his last stint.
#}
last_stint as (

    select
        team_season_id,
        player_id,
        standings_rank,
        row_number() over (
            partition by team_season_id, player_id
            order by manager_order desc
        ) as stint_recency
    from manager_stints

),

seasons as (

    select
        team_season_id,
        player_id,
        min(season) as season,
        min(team_id) as team_id,
        min(league_id) as league_id,
        count(*) as stints,
        min(manager_order) as first_manager_order,
        sum(games) as games,
        sum(wins) as wins,
        sum(losses) as losses,
        max(case when is_player_manager then 1 else 0 end)
        = 1 as is_player_manager,
        max(case when is_record_from_team_season then 1 else 0 end)
        = 1 as is_record_from_team_season
    from manager_stints
    group by
        team_season_id,
        player_id

),

final as (

    select
        cast(seasons.player_id as varchar) as player_id,
        cast(seasons.team_season_id as varchar) as team_season_id,
        cast(seasons.season as integer) as season,
        cast(seasons.team_id as varchar) as team_id,
        cast(seasons.league_id as varchar) as league_id,
        cast(seasons.stints as integer) as stints,
        cast(seasons.first_manager_order as integer) as first_manager_order,
        seasons.first_manager_order = 1 as is_opening_day_manager,
        seasons.is_player_manager,
        cast(seasons.games as integer) as games,
        cast(seasons.wins as integer) as wins,
        cast(seasons.losses as integer) as losses,
        cast(
            {{ safe_divide('seasons.wins', 'seasons.wins + seasons.losses') }}
            as {{ type_double() }}
        ) as win_pct,
        cast(
            {{ safe_divide('seasons.games', 'team_seasons.games') }}
            as {{ type_double() }}
        ) as share_of_team_games,
        cast(last_stint.standings_rank as integer) as final_standings_rank,
        seasons.is_record_from_team_season
    from seasons
    inner join last_stint
        on
            seasons.team_season_id = last_stint.team_season_id
            and seasons.player_id = last_stint.player_id
            and last_stint.stint_recency = 1
    left join team_seasons
        on
            seasons.season = team_seasons.season
            and seasons.team_id = team_seasons.team_id

)

select * from final
