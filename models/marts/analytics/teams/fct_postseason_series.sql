with series as (

    select * from {{ ref('stg_lahman__postseason_series') }}

),

final as (

    select
        cast(season as integer) as season,
        cast(postseason_round as varchar) as postseason_round,
        cast({{ postseason_stage('postseason_round') }} as integer)
            as postseason_stage,
        cast(winning_team_id as varchar) as winning_team_id,
        cast(winning_league_id as varchar) as winning_league_id,
        cast(
            {{ team_season_id('season', 'winning_team_id') }} as varchar
        ) as winning_team_season_id,
        cast(losing_team_id as varchar) as losing_team_id,
        cast(losing_league_id as varchar) as losing_league_id,
        cast(
            {{ team_season_id('season', 'losing_team_id') }} as varchar
        ) as losing_team_season_id,
        cast(wins as integer) as winner_games_won,
        cast(losses as integer) as loser_games_won,
        cast(coalesce(tied_games, 0) as integer) as tied_games,
        cast(wins + losses + coalesce(tied_games, 0) as integer)
            as games_played,
        wins = losses as is_drawn
    from series

)

select * from final
