with team_series as (

    select * from {{ ref('int_postseason_series_unpivoted') }}

),

ordered as (

    select
        *,
        row_number() over (
            partition by team_season_id
            order by postseason_stage desc
        ) as depth_order
    from team_series

),

totals as (

    select
        team_season_id,
        cast(count(*) as integer) as postseason_series_played,
        cast(
            sum(case when is_series_winner then 1 else 0 end) as integer
        ) as postseason_series_won,
        cast(sum(games_won) as integer) as postseason_games_won,
        cast(sum(games_lost) as integer) as postseason_games_lost
    from team_series
    group by team_season_id

),

deepest as (

    select
        team_season_id,
        season,
        team_id,
        postseason_round as last_postseason_round,
        postseason_stage as last_postseason_stage,
        case
            when is_series_winner then 'won'
            when is_series_drawn then 'drew'
            else 'lost'
        end
        || ' '
        || case postseason_stage
            when 1 then 'wild card series'
            when 2 then 'division series'
            when 3 then 'league championship series'
            when 4 then 'world series'
        end as postseason_result
    from ordered
    where depth_order = 1

),

aggregated as (

    select
        deepest.team_season_id,
        deepest.season,
        deepest.team_id,
        totals.postseason_series_played,
        totals.postseason_series_won,
        totals.postseason_games_won,
        totals.postseason_games_lost,
        deepest.last_postseason_round,
        deepest.last_postseason_stage,
        deepest.postseason_result
    from deepest
    inner join totals
        on deepest.team_season_id = totals.team_season_id

)

select * from aggregated
